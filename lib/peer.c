/*
 * peer.c - the temporary peer grant: lets this process's OS user log in as
 * a role (the database owner) over the local socket, for one run
 *
 * A grant adds two lines on top of pg_ident.conf, then two on top of
 * pg_hba.conf (first match wins):
 *
 *   # gmdb-peer gmdb-1234-9f86d081 pid 1234 started 2026-12-01T16:00:00Z: temporary owner access; ...
 *   local all "gm-dbo" peer map=gmdb-1234-9f86d081
 *
 *   # gmdb-peer gmdb-1234-9f86d081 pid 1234 started 2026-12-01T16:00:00Z: temporary owner access; ...
 *   gmdb-1234-9f86d081 postgres "gm-dbo"
 *
 * each file replaced atomically once the server has checked the candidate
 * (pgconf-file.c), then reloads the server. Revoking removes exactly those
 * bytes again, pg_hba.conf first. The marker names the run (its pid and
 * the time the process started); gm_peer_recover() removes the blocks of
 * runs that are gone (the pid is not running, or is another process that
 * started at another time), and nothing else: a block is only recognised
 * when both of its lines are byte for byte what a grant writes.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define TOOL "gmdb"
#define LABEL "gmdb-peer"
#define MARK_TAIL ": temporary owner access; removed when the run ends, or by \"gm-upgrade_server --recover\"\n"
#define MAX_NAME 63  /* NAMEDATALEN - 1 */

/* ------------------------------------------------------------------ */
/* The pure part: the lines and finding them again                     */
/* ------------------------------------------------------------------ */

int gm_peer_check_role(const char *role, struct gm_error *err)
{
	size_t n = role ? strlen(role) : 0;

	if (n == 0)
		return gm_error_set(err, GM_ECHECK, "no role name for the temporary peer grant");
	if (n > MAX_NAME) {
		gm_error_set(err, GM_ECHECK, "role name \"%.*s...\" is too long for PostgreSQL", 20, role);
		return GM_ECHECK;
	}
	if (role[0] == '/' || role[0] == '+' || role[0] == '@') {
		/* even quoted, PostgreSQL 16+ may read "/..." as a regular
		 * expression; "+" and "@" mean groups and files */
		gm_error_set(err, GM_ECHECK, "role name \"%s\" cannot be written into pg_hba.conf safely", role);
		gm_error_detail(err, "It starts with \"%c\", which the server's files may read as a pattern, a group "
				     "or a file.", role[0]);
		gm_error_hint(err, "Put the password of the role into ~/.pgpass instead of using a temporary peer grant.");
		return GM_ECHECK;
	}
	for (const unsigned char *p = (const unsigned char *)role; *p; p++) {
		if (*p == '"' || *p < 0x20 || *p == 0x7f) {
			gm_error_set(err, GM_ECHECK, "role name cannot be written into pg_hba.conf safely");
			gm_error_detail(err, "It contains a %s (byte %zu), which the server's files cannot quote.",
					*p == '"' ? "double quote" : "control character",
					(size_t)((const char *)p - role) + 1);
			gm_error_hint(err, "Put the password of the role into ~/.pgpass instead of using a temporary peer grant.");
			return GM_ECHECK;
		}
	}
	return GM_OK;
}

/* An OS user name written unquoted into pg_ident.conf (not a regular
 * expression, no spaces or quotes). */
static bool osuser_ok(const char *u)
{
	size_t n = strlen(u);
	if (n == 0 || n > MAX_NAME || u[0] == '/' || u[0] == '-')
		return false;
	return strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-$") == n;
}

static bool map_ok(const char *m, size_t n)
{
	size_t d, h;
	if (n < 7 || memcmp(m, "gmdb-", 5) != 0)
		return false;
	d = strspn(m + 5, "0123456789");
	if (d == 0 || d > 10 || 5 + d >= n || m[5 + d] != '-')
		return false;
	h = n - 6 - d;
	return h >= 8 && h <= 32 && strspn(m + 6 + d, "0123456789abcdef") >= h;
}

static bool stamp_ok(const char *s, size_t n)
{
	/* YYYY-MM-DDTHH:MM:SSZ */
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	if (n != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
			return false;
	return true;
}

static void marker_line(struct gm_buf *out, const char *map, long long pid, const char *started)
{
	gm_buf_addf(out, GM_PEER_MARK "%s pid %lld started %s" MARK_TAIL, map, pid, started);
}

static void rule_line(struct gm_buf *out, enum gm_peer_file kind, const char *map, const char *osuser,
		      const char *role)
{
	if (kind == GM_PEER_HBA)
		gm_buf_addf(out, "local all \"%s\" peer map=%s\n", role, map);
	else
		gm_buf_addf(out, "%s %s \"%s\"\n", map, osuser, role);
}

void gm_peer_block_text(enum gm_peer_file kind, const char *map, long long pid, const char *started,
			const char *osuser, const char *role, struct gm_buf *out)
{
	marker_line(out, map, pid, started);
	rule_line(out, kind, map, osuser, role);
}

/* The line at text[pos..]: its length with the newline; 0 if it has none. */
static size_t line_at(const char *text, size_t len, size_t pos)
{
	const char *nl = memchr(text + pos, '\n', len - pos);
	return nl ? (size_t)(nl - (text + pos)) + 1 : 0;
}

/* Is a block at text[pos..]? Fill b (strings malloc'ed) if so. */
static bool block_at(enum gm_peer_file kind, const char *text, size_t len, size_t pos, struct gm_peer_block *b)
{
	static const char mark[] = GM_PEER_MARK;
	size_t l1 = line_at(text, len, pos), l2, n;
	const char *s = text + pos, *e, *q;
	char *map = NULL, *started = NULL, *role = NULL, *osuser = NULL, *end;
	struct gm_buf want = GM_BUF_INIT;
	long long pid;
	bool found = false;

	if (l1 < sizeof(mark) || memcmp(s, mark, sizeof(mark) - 1) != 0)
		return false;
	l2 = line_at(text, len, pos + l1);
	if (l2 == 0)
		return false;
	/* the marker: map, pid, start time; the rest must be what a grant writes */
	s += sizeof(mark) - 1;
	e = memchr(s, ' ', l1 - (sizeof(mark) - 1));
	if (!e || !map_ok(s, (size_t)(e - s)))
		return false;
	map = gm_xstrndup(s, (size_t)(e - s));
	if (strncmp(e, " pid ", 5) != 0 || e[5] < '1' || e[5] > '9')
		goto out;
	errno = 0;
	pid = strtoll(e + 5, &end, 10);
	if (errno || pid <= 0 || strncmp(end, " started ", 9) != 0 || !stamp_ok(end + 9, 20))
		goto out;
	started = gm_xstrndup(end + 9, 20);
	marker_line(&want, map, pid, started);
	if (want.len != l1 || memcmp(want.data, text + pos, l1) != 0)
		goto out;
	/* the rule */
	s = text + pos + l1;
	if (kind == GM_PEER_HBA) {
		static const char pre[] = "local all \"";
		if (l2 < sizeof(pre) || memcmp(s, pre, sizeof(pre) - 1) != 0)
			goto out;
		s += sizeof(pre) - 1;
	} else {
		n = strlen(map);
		if (l2 < n + 2 || memcmp(s, map, n) != 0 || s[n] != ' ')
			goto out;
		s += n + 1;
		e = memchr(s, ' ', (size_t)(text + pos + l1 + l2 - s));
		if (!e)
			goto out;
		osuser = gm_xstrndup(s, (size_t)(e - s));
		if (!osuser_ok(osuser) || e[1] != '"')
			goto out;
		s = e + 2;
	}
	q = memchr(s, '"', (size_t)(text + pos + l1 + l2 - s));
	if (!q)
		goto out;
	role = gm_xstrndup(s, (size_t)(q - s));
	if (strlen(role) != (size_t)(q - s) || gm_peer_check_role(role, NULL) < 0)
		goto out;
	gm_buf_reset(&want);
	rule_line(&want, kind, map, osuser, role);
	if (want.len != l2 || memcmp(want.data, text + pos + l1, l2) != 0)
		goto out;
	found = true;
	b->offset = pos;
	b->len = l1 + l2;
	b->map = map;
	b->pid = pid;
	b->started = started;
	b->role = role;
	map = started = role = NULL;
out:
	gm_buf_release(&want);
	free(map);
	free(started);
	free(role);
	free(osuser);
	return found;
}

void gm_peer_scan(enum gm_peer_file kind, const char *text, size_t len, struct gm_peer_block **blocks, size_t *n)
{
	size_t pos = 0, alloc = 0;

	*blocks = NULL;
	*n = 0;
	while (pos < len) {
		struct gm_peer_block b;
		size_t l;
		if (block_at(kind, text, len, pos, &b)) {
			if (*n == alloc) {
				alloc = alloc ? 2 * alloc : 4;
				*blocks = gm_xrealloc(*blocks, alloc * sizeof(**blocks));
			}
			(*blocks)[(*n)++] = b;
			pos += b.len;
			continue;
		}
		l = line_at(text, len, pos);
		if (l == 0)
			break;
		pos += l;
	}
}

void gm_peer_blocks_free(struct gm_peer_block *blocks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(blocks[i].map);
		free(blocks[i].started);
		free(blocks[i].role);
	}
	free(blocks);
}

size_t gm_peer_remove(enum gm_peer_file kind, const char *text, size_t len, const char *map,
		      bool (*gone)(const struct gm_peer_block *b, void *data), void *data, struct gm_buf *out)
{
	struct gm_peer_block *blocks;
	size_t n, pos = 0, removed = 0;

	gm_peer_scan(kind, text, len, &blocks, &n);
	for (size_t i = 0; i < n; i++) {
		bool drop = map ? strcmp(blocks[i].map, map) == 0 : gone && gone(&blocks[i], data);
		if (!drop)
			continue;
		gm_buf_add(out, text + pos, blocks[i].offset - pos);
		pos = blocks[i].offset + blocks[i].len;
		removed++;
	}
	gm_buf_add(out, text + pos, len - pos);
	gm_peer_blocks_free(blocks, n);
	return removed;
}

size_t gm_peer_top(enum gm_peer_file kind, const char *text, size_t len)
{
	size_t pos = 0;
	struct gm_peer_block b;

	while (pos < len && block_at(kind, text, len, pos, &b)) {
		pos += b.len;
		free(b.map);
		free(b.started);
		free(b.role);
	}
	return pos;
}

/* ------------------------------------------------------------------ */
/* Runs: when a process started, whether a run is still alive          */
/* ------------------------------------------------------------------ */

static void format_stamp(time_t t, char out[21])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The wall-clock second process pid started at (from /proc), and whether
 * it is a zombie; GM_EFAIL if that cannot be read. */
static int proc_start(long long pid, time_t *start, bool *zombie)
{
	char path[64], *stat = NULL, *sys = NULL, *p, *save = NULL;
	unsigned long long ticks = 0, btime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	int field = 2, rc = GM_EFAIL;

	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	if (gm_read_file(path, &stat, NULL, NULL) < 0 || gm_read_file("/proc/stat", &sys, NULL, NULL) < 0 || hz <= 0)
		goto out;
	/* after the command in parentheses: field 3 (state) ... field 22 (starttime) */
	p = strrchr(stat, ')');
	if (!p)
		goto out;
	for (char *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 3)
			*zombie = strcmp(tok, "Z") == 0 || strcmp(tok, "X") == 0;
		if (field == 22) {
			ticks = strtoull(tok, NULL, 10);
			break;
		}
	}
	p = strstr(sys, "\nbtime ");
	if (field != 22 || !p)
		goto out;
	btime = strtoull(p + 7, NULL, 10);
	*start = (time_t)(btime + ticks / (unsigned long long)hz);
	rc = GM_OK;
out:
	free(stat);
	free(sys);
	return rc;
}

bool gm_peer_run_alive(long long pid, const char *started)
{
	struct tm tm;
	time_t then, start;
	bool zombie = false;
	char *end;

	if (pid <= 0 || pid != (long long)(pid_t)pid)
		return false;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return false;
	if (proc_start(pid, &start, &zombie) < 0)
		return true;  /* it exists and cannot be examined: leave its lines alone */
	if (zombie)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(started, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return true;
	then = timegm(&tm);
	/* the boot time /proc/stat gives moves by a second or so with the clock */
	return then - start <= 2 && start - then <= 2;
}

/* ------------------------------------------------------------------ */
/* The server and its files                                            */
/* ------------------------------------------------------------------ */

struct srvinfo {
	char *hba_file;
	char *ident_file;
};

static void srvinfo_release(struct srvinfo *si)
{
	free(si->hba_file);
	free(si->ident_file);
	memset(si, 0, sizeof(*si));
}

static int server_info(PGconn *conn, struct srvinfo *si, struct gm_error *err)
{
	PGresult *res;
	int rc = GM_ECHECK;

	memset(si, 0, sizeof(*si));
	if (!conn || PQstatus(conn) != CONNECTION_OK)
		return gm_error_set(err, GM_EFAIL, "no connection to the server for the temporary peer grant");
	if (PQserverVersion(conn) < 150000) {
		gm_error_set(err, GM_ECHECK, "the temporary peer grant needs PostgreSQL 15 or later");
		gm_error_detail(err, "The server is version %d; only 15 and later check pg_ident.conf "
				     "(pg_ident_file_mappings) before a reload.", PQserverVersion(conn));
		gm_error_hint(err, "Put the owner's password into ~/.pgpass instead.");
		return GM_ECHECK;
	}
	res = gm_db_query(conn, gm_sql("peer-server"), 0, NULL, err);
	if (!res) {
		gm_error_prefix(err, "could not find the server's pg_hba.conf and pg_ident.conf");
		return GM_EFAIL;
	}
	if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
		gm_error_set(err, GM_ECHECK, "the temporary peer grant needs a connection over the local socket");
		gm_error_detail(err, "The server is reached over TCP/IP: its pg_hba.conf may not be a file on this "
				     "machine, and peer authentication works only over the local socket.");
		gm_error_hint(err, "Leave out -h or give the socket directory (-h /var/run/postgresql), or put the "
				   "owner's password into ~/.pgpass.");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0) {
		gm_error_set(err, GM_ECHECK, "the temporary peer grant needs a superuser connection");
		gm_error_detail(err, "Only a superuser may read the server's files and reload it.");
		goto out;
	}
	si->hba_file = gm_xstrdup(PQgetvalue(res, 0, 0));
	si->ident_file = gm_xstrdup(PQgetvalue(res, 0, 1));
	if (si->hba_file[0] != '/' || si->ident_file[0] != '/') {
		gm_error_set(err, GM_ECHECK, "the server's hba_file \"%s\" or ident_file \"%s\" is not an absolute path",
			     si->hba_file, si->ident_file);
		goto out;
	}
	rc = GM_OK;
out:
	PQclear(res);
	if (rc < 0)
		srvinfo_release(si);
	return rc;
}

/* May this process replace path (a new file in its directory with the
 * old one's owner, renamed over it)? */
static int check_writable(const char *path, struct gm_error *err)
{
	char *dir = gm_xstrndup(path, (size_t)(strrchr(path, '/') - path));
	struct stat st;
	int rc = GM_OK, e = 0;

	if (stat(path, &st) < 0 || faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0 ||
	    faccessat(AT_FDCWD, *dir ? dir : "/", W_OK | X_OK, AT_EACCESS) < 0)
		e = errno;
	else if (geteuid() != 0 && st.st_uid != geteuid())
		e = EPERM;  /* the new file could not get the old one's owner */
	if (e) {
		struct passwd *pw = getpwuid(geteuid());
		rc = gm_error_set(err, GM_ECHECK, "file \"%s\" is not writable by this process", path);
		gm_error_detail(err, "The temporary peer grant replaces it, which the OS user \"%s\" may not do: %s.",
				pw ? pw->pw_name : "?", e == EPERM ? "the file belongs to another OS user" : strerror(e));
		gm_error_hint(err, "Run gmdb as root on the server's machine, or put the owner's password into ~/.pgpass.");
	}
	free(dir);
	return rc;
}

struct edit {
	enum gm_peer_file kind;
	const char *path;
	/* one of: add block on top, remove map's block, remove gone runs' blocks */
	const char *block;
	const char *map;
	struct gm_strv *gone_maps;  /* maps whose blocks were removed as gone */
	size_t removed;             /* blocks removed */
	bool changed;               /* the file was replaced (and stays so) */
};

static bool is_gone(const struct gm_peer_block *b, void *data)
{
	struct gm_strv *maps = data;
	if (gm_peer_run_alive(b->pid, b->started))
		return false;
	for (size_t i = 0; i < maps->n; i++)
		if (strcmp(maps->v[i], b->map) == 0)
			return true;
	gm_strv_push(maps, b->map);
	gm_log(GM_LOG_NOTICE, "removing the temporary owner access of a gmdb run that ended (pid %lld, started %s, "
	       "role \"%s\")", b->pid, b->started, b->role);
	return true;
}

static const char *what_file(enum gm_peer_file kind)
{
	return kind == GM_PEER_HBA ? "pg_hba.conf" : "pg_ident.conf";
}

/*
 * Edit one file: read it, make the candidate, and (if it differs) replace
 * the file with it, with ^C held, after seeing that nobody changed it
 * meanwhile. With conn (NULL: nothing is asked of the server) the server
 * must read what is replaced and then the candidate; with rollback, a
 * candidate it flags goes back to the original (GM_ECHECK, ed->changed
 * false); without, the flags are reported (GM_ECHECK) but the candidate
 * stays (ed->changed true).
 */
static int edit_file(PGconn *conn, struct edit *ed, bool rollback, struct gm_error *err)
{
	struct gm_buf cand = GM_BUF_INIT;
	struct stat st;
	char *orig = NULL, *detail = NULL;
	size_t orig_len;
	sigset_t sigs;
	int rc;

	ed->changed = false;
	ed->removed = 0;
	if ((ed->block && (rc = check_writable(ed->path, err)) < 0) ||
	    (rc = gm_pgconf_read(ed->path, TOOL, false, &orig, &orig_len, &st, err)) < 0)
		goto out;
	if (conn && (rc = gm_pgconf_server_sees(conn, ed->path, orig, orig_len, "the file gmdb reads", TOOL, err)) < 0)
		goto out;
	if (ed->block) {
		gm_buf_adds(&cand, ed->block);
		gm_buf_add(&cand, orig, orig_len);
	} else {
		ed->removed = gm_peer_remove(ed->kind, orig, orig_len, ed->map, is_gone, ed->gone_maps, &cand);
		if (ed->removed == 0)
			goto out;
		if ((rc = check_writable(ed->path, err)) < 0)
			goto out;
	}

	gm_pgconf_hold_signals(true, &sigs);
	rc = gm_pgconf_unchanged(ed->path, orig, orig_len, TOOL, err);
	if (rc == GM_OK && (rc = gm_pgconf_replace(ed->path, gm_buf_str(&cand), cand.len, &st, err)) == GM_OK)
		ed->changed = true;
	if (rc == GM_OK && conn)
		rc = gm_pgconf_server_sees(conn, ed->path, gm_buf_str(&cand), cand.len, "the edited file", TOOL, err);
	if (rc == GM_OK && conn)
		rc = gm_pgconf_file_errors(conn, ed->kind == GM_PEER_HBA ? "hba-errors" : "peer-ident-errors", ed->path,
					   ed->block ? 2 : 0, TOOL, &detail, err);
	if (rc == 1) {
		rc = gm_error_set(err, GM_ECHECK, "the server rejects %s \"%s\" %s", what_file(ed->kind), ed->path,
				  ed->block ? "with gmdb's temporary lines" : "without gmdb's temporary lines");
		gm_error_detail(err, "%s: %s", ed->kind == GM_PEER_HBA ? "pg_hba_file_rules" : "pg_ident_file_mappings",
				detail ? detail : "?");
		if (rollback)
			gm_error_hint(err, "The file was put back as it was and the server was not reloaded. Fix the "
					   "lines the server flags, or put the owner's password into ~/.pgpass.");
		else
			gm_error_hint(err, "gmdb's lines are removed, but the server will not load the file until the "
					   "lines it flags are fixed.");
	}
	if (rc < 0 && ed->changed && rollback) {
		struct gm_error err2 = GM_ERROR_INIT;
		if (gm_pgconf_put_back(ed->path, orig, orig_len, &st, &err2) == GM_OK) {
			ed->changed = false;
		} else {
			gm_log_report(&err2);
			gm_log(GM_LOG_WARNING, "file \"%s\" may still have gmdb's temporary lines: \"gm-upgrade_server "
			       "--recover\" removes them", ed->path);
		}
		gm_error_release(&err2);
	}
	gm_pgconf_hold_signals(false, &sigs);
out:
	gm_buf_release(&cand);
	free(orig);
	free(detail);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Grants                                                              */
/* ------------------------------------------------------------------ */

struct gm_peer {
	struct gm_peer *next;
	int refs;
	char *dbname, *user;   /* how the granting connection was made */
	char *hba_file, *ident_file;
	char *role, *osuser, *map, *started;
};

/* This process's grants (granting a role twice is one grant). */
static struct gm_peer *grants;

static void peer_free(struct gm_peer *p)
{
	struct gm_peer **pp;

	for (pp = &grants; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	free(p->dbname);
	free(p->user);
	free(p->hba_file);
	free(p->ident_file);
	free(p->role);
	free(p->osuser);
	free(p->map);
	free(p->started);
	free(p);
}

static char *new_map(void)
{
	unsigned char r[4];
	ssize_t n = getrandom(r, sizeof(r), 0);

	if (n != (ssize_t)sizeof(r)) {  /* cannot happen on Linux >= 3.17; be unique anyway */
		unsigned v = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16) ^ (unsigned)clock();
		memcpy(r, &v, sizeof(r));
	}
	return gm_xasprintf("gmdb-%ld-%02x%02x%02x%02x", (long)getpid(), r[0], r[1], r[2], r[3]);
}

static char *self_started(void)
{
	char buf[21];
	time_t t;
	bool zombie;

	if (proc_start((long long)getpid(), &t, &zombie) < 0)
		t = time(NULL);
	format_stamp(t, buf);
	return gm_xstrdup(buf);
}

/* Remove p's blocks, pg_hba.conf first (pg_ident.conf only once its line
 * is out of pg_hba.conf); with conn the server checks. The first error is
 * returned. *changed: whether a file was replaced. */
static int remove_blocks(PGconn *conn, const struct gm_peer *p, bool *changed, struct gm_error *err)
{
	struct edit hba = { GM_PEER_HBA, p->hba_file, NULL, p->map, NULL, 0, false };
	struct edit ident = { GM_PEER_IDENT, p->ident_file, NULL, p->map, NULL, 0, false };
	struct gm_error err2 = GM_ERROR_INIT;
	int rc1, rc2;

	rc1 = edit_file(conn, &hba, false, err);
	rc2 = rc1 == GM_OK || hba.changed ? edit_file(conn, &ident, false, rc1 < 0 ? &err2 : err) : GM_OK;
	if (rc1 < 0 && rc2 < 0)
		gm_log_report(&err2);
	gm_error_release(&err2);
	*changed = hba.changed || ident.changed;
	if (hba.removed + ident.removed == 0 && rc1 == GM_OK && rc2 == GM_OK)
		gm_log(GM_LOG_WARNING, "the temporary owner access for role \"%s\" (map %s) was removed already",
		       p->role, p->map);
	return rc1 < 0 ? rc1 : rc2;
}

/* The SQLSTATE in a connection failure message libpq wrote at
 * PQERRORS_VERBOSE ("...: FATAL:  28000: text"), the last one if libpq
 * tried several addresses; false if there is none (a failure of libpq's
 * own: no server message). */
static bool message_sqlstate(const char *msg, char state[6])
{
	bool found = false;

	for (const char *p = msg; (p = strstr(p, ":  ")); p++) {
		const char *s = p + 3;
		if (strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5 && s[5] == ':') {
			memcpy(state, s, 5);
			state[5] = '\0';
			found = true;
		}
	}
	return found;
}

/* PQconnectdbParams, with libpq's verbose error messages from the start:
 * the server's answer to the login then carries its SQLSTATE, whatever
 * language the server speaks (lc_messages of postgresql.conf: the login
 * is answered before any setting of the session's). */
static PGconn *connect_verbose(const char *const *keys, const char *const *vals, int timeout)
{
	PGconn *c = PQconnectStartParams(keys, vals, 0);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	time_t until = time(NULL) + timeout;

	if (!c || PQstatus(c) == CONNECTION_BAD)
		return c;
	PQsetErrorVerbosity(c, PQERRORS_VERBOSE);
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd fd = { PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0 };
		int left = (int)(until - time(NULL));
		int n = left > 0 ? poll(&fd, 1, left * 1000) : 0;
		if (n < 0 && errno == EINTR && !gm_signals_caught())
			continue;
		if (n <= 0)
			break;  /* timed out, interrupted: PQstatus is not CONNECTION_OK */
		st = PQconnectPoll(c);
	}
	return c;
}

/* Only a refusal by authentication (SQLSTATE class 28, or a password the
 * server asked for) counts against the grant, not, say, a connection
 * limit; never the message's text, which is in the server's language. */
int gm_peer_verify_login(PGconn *conn, const char *role, struct gm_error *err)
{
	const char *keys[] = { "host", "port", "dbname", "user", "application_name", "options", NULL };
	const char *vals[] = { PQhost(conn), PQport(conn), PQdb(conn), role, LABEL, gm_conn_options(false), NULL };
	PGconn *c = connect_verbose(keys, vals, 10);
	char state[6] = "";
	int rc = GM_OK;

	if (PQstatus(c) != CONNECTION_OK) {
		char *msg = gm_xstrdup(!c ? "out of memory" : *PQerrorMessage(c) ? PQerrorMessage(c) : "no answer within 10 s");
		char *cut = strstr(msg, "\nLOCATION:");
		bool known = message_sqlstate(msg, state);
		if (cut)
			*cut = '\0';  /* where in the server's source: not for the admin */
		if ((known && strncmp(state, "28", 2) == 0) || (c && PQconnectionNeedsPassword(c))) {
			rc = gm_error_set(err, GM_EFAIL, "the temporary peer grant for role \"%s\" does not work", role);
			gm_error_detail(err, "%s", msg);
		} else {
			gm_log(GM_LOG_INFO, "could not try the temporary peer grant for role \"%s\": %s", role, msg);
		}
		free(msg);
	}
	gm_conn_finish(c);
	return rc;
}

int gm_peer_grant(PGconn *conn, const char *role, struct gm_peer **out, struct gm_error *err)
{
	struct srvinfo si;
	struct gm_peer *p = NULL;
	struct gm_buf block = GM_BUF_INIT;
	struct edit ident = { GM_PEER_IDENT, NULL, NULL, NULL, NULL, 0, false };
	struct edit hba = { GM_PEER_HBA, NULL, NULL, NULL, NULL, 0, false };
	struct passwd *pw;
	int rc, lock = -1;

	*out = NULL;
	memset(&si, 0, sizeof(si));
	if ((rc = gm_peer_check_role(role, err)) < 0)
		return rc;
	errno = 0;
	pw = getpwuid(geteuid());
	if (!pw)
		return gm_error_set(err, GM_EFAIL, "could not find the name of the OS user %u%s%s", (unsigned)geteuid(),
				    errno ? ": " : "", errno ? strerror(errno) : "");
	if (!osuser_ok(pw->pw_name)) {
		gm_error_set(err, GM_ECHECK, "OS user name \"%s\" cannot be written into pg_ident.conf safely", pw->pw_name);
		gm_error_hint(err, "Put the owner's password into ~/.pgpass instead.");
		return GM_ECHECK;
	}
	if ((rc = server_info(conn, &si, err)) < 0)
		return rc;
	for (p = grants; p; p = p->next)
		if (strcmp(p->role, role) == 0 && strcmp(p->hba_file, si.hba_file) == 0 &&
		    strcmp(p->osuser, pw->pw_name) == 0) {
			p->refs++;
			gm_log(GM_LOG_DEBUG, "role \"%s\" is granted to this run already (map %s)", role, p->map);
			*out = p;
			srvinfo_release(&si);
			return GM_OK;
		}

	p = gm_xcalloc(1, sizeof(*p));
	p->refs = 1;
	p->dbname = gm_xstrdup(PQdb(conn));
	p->user = gm_xstrdup(PQuser(conn));
	p->hba_file = gm_xstrdup(si.hba_file);
	p->ident_file = gm_xstrdup(si.ident_file);
	p->role = gm_xstrdup(role);
	p->osuser = gm_xstrdup(pw->pw_name);
	p->map = new_map();
	p->started = self_started();

	if ((rc = gm_pgconf_lock_dir(p->hba_file, &lock, err)) < 0)
		goto fail;
	gm_log(GM_LOG_INFO, "granting the OS user \"%s\" access as role \"%s\" over the local socket (map %s)",
	       p->osuser, role, p->map);
	/* the map first: no pg_hba.conf line of ours names a map that is not there */
	ident.path = p->ident_file;
	gm_peer_block_text(GM_PEER_IDENT, p->map, (long long)getpid(), p->started, p->osuser, role, &block);
	ident.block = gm_buf_str(&block);
	if ((rc = edit_file(conn, &ident, true, err)) < 0)
		goto fail;
	hba.path = p->hba_file;
	gm_buf_reset(&block);
	gm_peer_block_text(GM_PEER_HBA, p->map, (long long)getpid(), p->started, p->osuser, role, &block);
	hba.block = gm_buf_str(&block);
	if ((rc = edit_file(conn, &hba, true, err)) < 0) {
		struct gm_error err2 = GM_ERROR_INIT;
		struct edit undo = { GM_PEER_IDENT, p->ident_file, NULL, p->map, NULL, 0, false };
		if (edit_file(conn, &undo, false, &err2) < 0)
			gm_log_report(&err2);
		gm_error_release(&err2);
		goto fail;
	}
	gm_pgconf_unlock_dir(lock);
	lock = -1;
	/* registered from here on: gm_peer_revoke() removes the lines */
	p->next = grants;
	grants = p;
	if ((rc = gm_pgconf_reload(conn, NULL, LABEL, err)) < 0 || (rc = gm_peer_verify_login(conn, role, err)) < 0) {
		struct gm_error err2 = GM_ERROR_INIT;
		if (gm_peer_revoke(p, &err2) < 0)
			gm_log_report(&err2);
		gm_error_release(&err2);
		p = NULL;
		goto out;
	}
	gm_log(GM_LOG_NOTICE, "temporary owner access: the OS user \"%s\" may log in as role \"%s\" over the local "
	       "socket until this run ends", p->osuser, role);
	*out = p;
	p = NULL;
	goto out;
fail:
	peer_free(p);
	p = NULL;
out:
	gm_pgconf_unlock_dir(lock);
	gm_buf_release(&block);
	srvinfo_release(&si);
	return rc;
}

/* A new superuser connection to the server p's files belong to, as the
 * granting one was made (to its database, else postgres or template1);
 * NULL (reported) if there is none. */
static PGconn *connect_again(const struct gm_peer *p)
{
	const char *const dbs[] = { p->dbname, "postgres", "template1" };
	struct gm_error err = GM_ERROR_INIT;
	struct srvinfo si;

	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		PGconn *c = gm_conn_open_ex(dbs[i], p->user, LABEL, GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT, &err);
		if (!c)
			continue;
		if (server_info(c, &si, &err) == GM_OK) {
			if (strcmp(si.hba_file, p->hba_file) == 0 && strcmp(si.ident_file, p->ident_file) == 0) {
				srvinfo_release(&si);
				gm_error_release(&err);
				return c;
			}
			gm_error_set(&err, GM_ECHECK, "the server reached now uses \"%s\", not \"%s\"", si.hba_file,
				     p->hba_file);
			srvinfo_release(&si);
		}
		gm_conn_close(c);
		break;
	}
	gm_log_report(&err);
	gm_error_release(&err);
	return NULL;
}

int gm_peer_revoke(struct gm_peer *p, struct gm_error *err)
{
	PGconn *conn;
	bool changed = false;
	int rc, lock = -1;

	if (!p)
		return GM_OK;
	if (--p->refs > 0)
		return GM_OK;
	/* a connection of its own: the caller's may be gone by now (an exit
	 * path), or in the middle of a failed or cancelled statement */
	conn = connect_again(p);
	if (!conn)
		gm_log(GM_LOG_WARNING, "removing the temporary owner access without the server's check");
	if ((rc = gm_pgconf_lock_dir(p->hba_file, &lock, err)) < 0)
		goto out;
	rc = remove_blocks(conn, p, &changed, err);
	gm_pgconf_unlock_dir(lock);
	if (changed && !conn) {
		if (rc == GM_OK) {
			rc = gm_error_set(err, GM_EFAIL, "could not make the server reload its configuration");
			gm_error_detail(err, "gmdb's temporary lines are removed from \"%s\" and \"%s\", but the server "
					     "keeps the grant until it loads them again.", p->hba_file, p->ident_file);
			gm_error_hint(err, "Reload the server (pg_ctlcluster VERSION CLUSTER reload).");
		}
	} else if (changed) {
		/* also after an error: whatever was removed must take effect */
		struct gm_error err2 = GM_ERROR_INIT;
		int rc2 = gm_pgconf_reload(conn, NULL, LABEL, rc < 0 ? &err2 : err);
		if (rc2 < 0 && rc == GM_OK)
			rc = rc2;
		else if (rc2 < 0)
			gm_log_report(&err2);
		gm_error_release(&err2);
	}
	if (rc == GM_OK)
		gm_log(GM_LOG_INFO, "temporary owner access as role \"%s\" removed", p->role);
out:
	peer_free(p);
	gm_conn_close(conn);
	return rc;
}

int gm_peer_recover(PGconn *conn, int *removed, struct gm_error *err)
{
	struct srvinfo si;
	struct gm_strv maps = GM_STRV_INIT;
	struct edit hba = { GM_PEER_HBA, NULL, NULL, NULL, &maps, 0, false };
	struct edit ident = { GM_PEER_IDENT, NULL, NULL, NULL, &maps, 0, false };
	struct gm_error err2 = GM_ERROR_INIT;
	int rc, rc2, lock = -1;

	*removed = 0;
	if ((rc = server_info(conn, &si, err)) == GM_ECHECK) {
		/* a server no run of this machine could have granted on */
		gm_log(GM_LOG_DEBUG, "no temporary owner access to look for: %s", err ? err->message : "");
		gm_error_release(err);
		return GM_OK;
	}
	if (rc < 0)
		return rc;
	hba.path = si.hba_file;
	ident.path = si.ident_file;
	if (faccessat(AT_FDCWD, si.hba_file, R_OK, AT_EACCESS) < 0 ||
	    faccessat(AT_FDCWD, si.ident_file, R_OK, AT_EACCESS) < 0) {
		gm_log(GM_LOG_DEBUG, "cannot look for temporary owner access that ended runs left behind: "
		       "this process may not read \"%s\" or \"%s\"", si.hba_file, si.ident_file);
		goto out;
	}
	if ((rc = gm_pgconf_lock_dir(si.hba_file, &lock, err)) < 0)
		goto out;
	/* pg_ident.conf only once pg_hba.conf's lines are out */
	rc = edit_file(conn, &hba, false, err);
	rc2 = rc == GM_OK || hba.changed ? edit_file(conn, &ident, false, rc < 0 ? &err2 : err) : GM_OK;
	if (rc == GM_OK)
		rc = rc2;
	else if (rc2 < 0)
		gm_log_report(&err2);
	gm_error_release(&err2);
	gm_pgconf_unlock_dir(lock);
	if (hba.changed || ident.changed) {
		rc2 = gm_pgconf_reload(conn, NULL, LABEL, rc < 0 ? &err2 : err);
		if (rc2 < 0 && rc == GM_OK)
			rc = rc2;
		else if (rc2 < 0)
			gm_log_report(&err2);
		gm_error_release(&err2);
	}
	*removed = rc == GM_OK ? (int)maps.n : 0;
	if (rc == GM_OK && maps.n)
		gm_log(GM_LOG_NOTICE, "removed what %zu gmdb run%s that ended left in \"%s\" and \"%s\"", maps.n,
		       maps.n == 1 ? "" : "s", si.hba_file, si.ident_file);
out:
	gm_strv_release(&maps);
	srvinfo_release(&si);
	return rc;
}
