/*
 * space.c - what a run will write on each file system, against what is
 * free there, measured before anything is changed
 *
 * A run writes, on the file systems of the server's machine:
 *  - the copy of the source (an upgrade's clone, a fixup's snapshot): the
 *    source's files, tablespace by tablespace (upstream's target
 *    tablespace, if it names one, instead of the source's default one);
 *  - the growth of the database upstream's steps change (the clone, or the
 *    fixed database itself): new rows, rewritten tables and indexes;
 *  - WAL in pg_wal: the clone (PostgreSQL 15 and later copy a template
 *    through the WAL, block by block), the steps and the REINDEX. pg_wal
 *    keeps at most max_wal_size + wal_keep_size of it, unless archiving or
 *    a replication slot without max_slot_wal_keep_size keeps all of it;
 *  - the backup (pg_dump -Fd, at --backup-compress's level) on the backup directory's file system.
 * The factors are measured on upstream's own upgrades of the reference
 * databases (bench/space.sh, bench/RESULTS.md) and rounded up. Places on
 * the same file system add up; each file system must have what the run
 * writes there plus a margin free.
 *
 * The files are looked at with statvfs(), on this machine: only when the
 * data directory seen here is the server's (its postmaster.pid names the
 * server's port and, to the second or so, start time). Otherwise what cannot be measured is said.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Shares of the source's size (percent), measured by bench/space.sh and
 * rounded up: see bench/RESULTS.md, "Space". */
#define GROWTH_PCT 50        /* the changed database grows by at most this */
#define STEPS_WAL_PCT 100    /* the steps and the REINDEX write this much WAL */
#define CLONE_WAL_PCT 105    /* a copy through the WAL (PostgreSQL 15 and later) */
#define BACKUP_PCT 120       /* pg_dump -Fd -Z1: 101 % measured (incompressible documents as hex, then gzip) */
#define BACKUP_RAW_PCT 210   /* pg_dump -Fd -Z0: 1.9 GiB (du) of a 1.12 GB practice, about 180 % (bytea as hex: twice its size) */
/* The margin kept free on every file system: 10 %, at least 64 MB. */
#define MARGIN_MIN (64ULL << 20)
#define MARGIN_PCT 10

static unsigned long long pct(unsigned long long bytes, unsigned p)
{
	return bytes / 100 * p + bytes % 100 * p / 100;
}

unsigned long long gm_space_margin(unsigned long long need)
{
	unsigned long long m = pct(need, MARGIN_PCT);
	return m < MARGIN_MIN ? MARGIN_MIN : m;
}

void gm_space_init(struct gm_space *sp)
{
	memset(sp, 0, sizeof(*sp));
}

void gm_space_release(struct gm_space *sp)
{
	if (!sp)
		return;
	for (size_t i = 0; i < sp->n_fs; i++) {
		free(sp->fs[i].path);
		gm_buf_release(&sp->fs[i].parts);
	}
	free(sp->fs);
	free(sp->not_measured);
	gm_space_init(sp);
}

static void not_measured(struct gm_space *sp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void not_measured(struct gm_space *sp, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	s = gm_xvasprintf(fmt, ap);
	va_end(ap);
	if (!sp->not_measured) {
		sp->not_measured = s;
	} else {
		char *both = gm_xasprintf("%s; %s", sp->not_measured, s);
		free(sp->not_measured);
		free(s);
		sp->not_measured = both;
	}
}

/* The nearest existing directory of path (a backup directory made later). */
static char *existing_dir(const char *path)
{
	char *p = gm_xstrdup(path);
	struct stat st;
	while (stat(p, &st) != 0) {
		char *slash = strrchr(p, '/');
		if (!slash || slash == p) {
			free(p);
			return gm_xstrdup("/");
		}
		*slash = '\0';
	}
	return p;
}

/* Add bytes written at path (what: for the report) to its file system. */
static void add_need(struct gm_space *sp, const char *path, const char *what, unsigned long long bytes)
{
	struct stat st;
	struct statvfs vfs;
	struct gm_space_fs *fs = NULL;
	char *dir = existing_dir(path);

	if (stat(dir, &st) < 0 || statvfs(dir, &vfs) < 0) {
		not_measured(sp, "the file system of %s cannot be examined: %s", path, strerror(errno));
		free(dir);
		return;
	}
	for (size_t i = 0; i < sp->n_fs && !fs; i++)
		if (sp->fs[i].dev == st.st_dev)
			fs = &sp->fs[i];
	if (!fs) {
		sp->fs = gm_xrealloc(sp->fs, (sp->n_fs + 1) * sizeof(*sp->fs));
		fs = &sp->fs[sp->n_fs++];
		memset(fs, 0, sizeof(*fs));
		fs->dev = st.st_dev;
		fs->path = gm_xstrdup(path);
		fs->avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	}
	fs->need += bytes;
	gm_buf_addf(&fs->parts, "%s%s %llu MB", fs->parts.len ? ", " : "", what, (bytes + (1 << 20) - 1) >> 20);
	free(dir);
}

/* Is the data directory seen here the one of the server c is connected
 * to? Its postmaster.pid names the server's port (line 4) and start time
 * (line 3). NULL when it is, else why not (caller frees). */
static char *same_server(const char *datadir, const char *port, const char *started)
{
	char *path = gm_xasprintf("%s/postmaster.pid", datadir), *text = NULL, *why = NULL;
	struct gm_error err = GM_ERROR_INIT;
	char *lines[5] = { NULL };

	if (gm_read_file(path, &text, NULL, &err) < 0) {
		why = gm_xasprintf("its data directory %s is not on this machine, or cannot be read from here (%s)", datadir,
				   err.message ? err.message : "?");
		goto out;
	}
	{
		char *save = NULL, *l = strtok_r(text, "\n", &save);
		for (int i = 0; l && i < 5; i++, l = strtok_r(NULL, "\n", &save))
			lines[i] = l;
	}
	/* the file is written a moment before the server notes its start time */
	if (!lines[2] || !lines[3] || llabs(atoll(lines[2]) - atoll(started)) > 5 || strcmp(lines[3], port) != 0)
		why = gm_xasprintf("the data directory %s on this machine belongs to another server than the one "
				   "connected to (a server on another host?)", datadir);
out:
	gm_error_release(&err);
	free(text);
	free(path);
	return why;
}

/* The tablespace's directory on the server ("": the data directory). */
static char *place_of(const char *datadir, const char *location)
{
	return gm_xstrdup(location && *location ? location : datadir);
}

int gm_space_measure(PGconn *cluster, PGconn *db, const struct gm_space_opts *o, struct gm_space *sp,
		     struct gm_error *err)
{
	const char *p[1] = { o->database };
	PGresult *srv = NULL, *ts = NULL;
	char *datadir = NULL, *why = NULL, *target_place = NULL;
	unsigned long long size, listed = 0, max_wal, keep_wal, steps_wal, clone_wal = 0, run_wal;
	long long slot_keep;
	bool unbounded;
	int server_version, rc = GM_OK;

	gm_space_init(sp);
	srv = gm_db_query(cluster, gm_sql("space-server"), 1, p, err);
	if (!srv)
		return GM_EFAIL;
	if (PQntuples(srv) != 1 || PQgetisnull(srv, 0, 9)) {
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" does not exist", o->database);
		goto out;
	}
	datadir = gm_xstrdup(PQgetvalue(srv, 0, 0));
	server_version = atoi(PQgetvalue(srv, 0, 3));
	max_wal = strtoull(PQgetvalue(srv, 0, 4), NULL, 10);
	keep_wal = strtoull(PQgetvalue(srv, 0, 5), NULL, 10);
	slot_keep = atoll(PQgetvalue(srv, 0, 6));
	unbounded = strcmp(PQgetvalue(srv, 0, 7), "off") != 0 || (atoll(PQgetvalue(srv, 0, 8)) > 0 && slot_keep < 0);
	size = strtoull(PQgetvalue(srv, 0, 9), NULL, 10);
	sp->source_bytes = size;

	/* WAL: what the run writes, and what pg_wal keeps of it */
	steps_wal = o->changes ? pct(size, STEPS_WAL_PCT) : 0;
	if (o->clone && server_version >= 150000)
		clone_wal = pct(size, CLONE_WAL_PCT);
	/* a rehearsal's copy is restored from a dump: written once, and once
	 * to the WAL */
	run_wal = steps_wal + clone_wal + (unsigned long long)o->extra_copies * size;
	sp->wal_written = run_wal;
	sp->wal_kept = unbounded || run_wal < max_wal + keep_wal ? run_wal : max_wal + keep_wal;
	sp->wal_unbounded = unbounded;
	sp->growth_bytes = o->changes ? pct(size, GROWTH_PCT) : 0;
	sp->backup_bytes = o->backup_dir ? pct(size, o->backup_compress > 0 ? BACKUP_PCT : BACKUP_RAW_PCT) : 0;
	sp->total = (o->clone ? size : 0) + sp->growth_bytes + sp->wal_kept + sp->backup_bytes +
		    (unsigned long long)o->extra_copies * size;

	if ((why = same_server(datadir, PQgetvalue(srv, 0, 1), PQgetvalue(srv, 0, 2)))) {
		not_measured(sp, "the server's free space cannot be measured: %s", why);
		if (o->backup_dir)
			add_need(sp, o->backup_dir, "backup", sp->backup_bytes);
		goto out;
	}

	/* the copy, tablespace by tablespace; the target's default one may be
	 * upstream's */
	if (o->clone_tablespace) {
		const char *tp[1] = { o->clone_tablespace };
		PGresult *r = gm_db_query(cluster, "SELECT pg_catalog.pg_tablespace_location(t.oid) FROM pg_catalog.pg_tablespace t "
						   "WHERE t.spcname = $1", 1, tp, err);
		if (!r) {
			rc = GM_EFAIL;
			goto out;
		}
		if (PQntuples(r) == 1)
			target_place = place_of(datadir, PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	/* only a copy is placed by tablespace (every relation's size: 0.07 to
	 * 0.19 s on the real v22 under load) */
	if (db && o->clone) {
		ts = gm_db_query(db, gm_sql("space-tablespaces"), 0, NULL, err);
		if (!ts) {
			rc = GM_EFAIL;
			goto out;
		}
	}
	if (o->clone) {
		const char *default_ts = PQgetvalue(srv, 0, 10);
		unsigned long long in_default = 0;
		for (int i = 0; ts && i < PQntuples(ts); i++) {
			unsigned long long b = strtoull(PQgetvalue(ts, i, 2), NULL, 10);
			listed += b;
			if (strcmp(PQgetvalue(ts, i, 0), default_ts) == 0) {
				in_default += b;
			} else {
				char *place = place_of(datadir, PQgetvalue(ts, i, 1));
				char *what = gm_xasprintf("tablespace %s: copy", PQgetvalue(ts, i, 0));
				add_need(sp, place, what, b);
				free(what);
				free(place);
			}
		}
		/* what the relations do not account for goes with the default */
		in_default += size > listed ? size - listed : 0;
		{
			char *place = target_place ? gm_xstrdup(target_place) : NULL;
			if (!place) {
				for (int i = 0; ts && i < PQntuples(ts) && !place; i++)
					if (strcmp(PQgetvalue(ts, i, 0), default_ts) == 0)
						place = place_of(datadir, PQgetvalue(ts, i, 1));
				if (!place)
					place = gm_xstrdup(datadir);
			}
			add_need(sp, place, "copy", in_default);
			free(place);
		}
	}
	if (o->extra_copies)
		add_need(sp, datadir, "rehearsal copy", (unsigned long long)o->extra_copies * size);
	if (sp->growth_bytes)
		add_need(sp, target_place ? target_place : datadir, "growth", sp->growth_bytes);
	if (sp->wal_kept) {
		char *wal = gm_xasprintf("%s/pg_wal", datadir);
		add_need(sp, wal, "WAL", sp->wal_kept);
		free(wal);
	}
	if (o->backup_dir)
		add_need(sp, o->backup_dir, "backup", sp->backup_bytes);
	sp->measured = !sp->not_measured;
out:
	free(why);
	free(datadir);
	free(target_place);
	PQclear(srv);
	PQclear(ts);
	return rc;
}

int gm_space_verdict(const struct gm_space *sp, struct gm_buf *lines, struct gm_error *err)
{
	int short_fs = 0;

	for (size_t i = 0; i < sp->n_fs; i++) {
		const struct gm_space_fs *fs = &sp->fs[i];
		unsigned long long margin = gm_space_margin(fs->need);
		bool enough = fs->avail >= fs->need + margin;
		gm_buf_addf(lines, "%s%s: %llu MB free on the file system of %s, the run writes up to %llu MB there (%s) "
			    "and keeps %llu MB free", lines->len ? "\n" : "", enough ? "ok" : "too little", fs->avail >> 20,
			    fs->path, (fs->need + (1 << 20) - 1) >> 20, gm_buf_str(&fs->parts), margin >> 20);
		if (!enough && !short_fs++) {
			gm_error_set(err, GM_ECHECK, "not enough free space on the file system of %s: %llu MB free, "
				     "%llu MB needed", fs->path, fs->avail >> 20, (fs->need + margin + (1 << 20) - 1) >> 20);
			gm_error_detail(err, "The run writes up to %llu MB there (%s); %llu MB more stay free as a margin.",
					(fs->need + (1 << 20) - 1) >> 20, gm_buf_str(&fs->parts), margin >> 20);
		}
	}
	if (sp->not_measured)
		gm_buf_addf(lines, "%snot measured: %s (the run writes about %llu MB in all)", lines->len ? "\n" : "",
			    sp->not_measured, (sp->total + (1 << 20) - 1) >> 20);
	if (sp->wal_unbounded)
		gm_buf_addf(lines, "%sWAL: archiving or a replication slot keeps WAL: all %llu MB the run writes are "
			    "counted", lines->len ? "\n" : "", (sp->wal_written + (1 << 20) - 1) >> 20);
	if (short_fs)
		gm_error_hint(err, "Make room there (or give the backup another directory with --backup-dir), then run again.");
	return short_fs ? GM_ECHECK : GM_OK;
}

/* ------------------------------------------------------------------ */
/* When the server fails anyway                                        */
/* ------------------------------------------------------------------ */

bool gm_space_server_failed(const struct gm_error *err, const char *what_next, char **hint)
{
	struct gm_error cerr = GM_ERROR_INIT;
	PGconn *c;
	bool full, lost, down = false;

	*hint = NULL;
	if (!err || !err->message)
		return false;
	full = (err->sqlstate && strcmp(err->sqlstate, "53100") == 0) || strstr(err->message, "No space left on device") ||
	       (err->detail && strstr(err->detail, "No space left on device"));
	/* the server ended the connection: a crash (a PANIC over a full pg_wal), a shutdown */
	lost = (err->sqlstate && (strcmp(err->sqlstate, "57P01") == 0 || strcmp(err->sqlstate, "57P02") == 0 ||
				  strcmp(err->sqlstate, "57P03") == 0 || strncmp(err->sqlstate, "08", 2) == 0)) ||
	       strstr(err->message, "server closed the connection") || strstr(err->message, "terminating connection");
	c = gm_conn_open_ex("template1", NULL, "gmdb check", GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT | GM_CONN_NO_PROMPT,
			    &cerr);
	if (!c)
		down = true;
	gm_conn_close(c);
	if (full && down)
		*hint = gm_xasprintf("The server ran out of disk space and does not accept connections (%s). First free space on the file system of "
				     "its data directory (and of pg_wal), then start the server, then %s.",
				     cerr.message ? cerr.message : "no connection", what_next);
	else if (full)
		*hint = gm_xasprintf("The server ran out of disk space. First free space on the file system of its data "
				     "directory (and of pg_wal), then %s.", what_next);
	else if (lost && !down)
		*hint = gm_xasprintf("The server ended the run's connection: it crashed or was shut down, and is up again "
				     "(its log says why: a full disk?). First make sure of the cause (free space on the file "
				     "system of its data directory and of pg_wal), then %s.", what_next);
	else if (down)
		*hint = gm_xasprintf("The server is down or cannot be reached (%s). First start it (its log says why it "
				     "stopped: a full disk?), then %s.", cerr.message ? cerr.message : "no connection",
				     what_next);
	gm_error_release(&cerr);
	return *hint != NULL;
}
