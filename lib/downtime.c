/*
 * downtime.c - the downtime procedure around an upgrade or a fixup, its
 * recovery after a crash, and retiring the old database
 *
 * gm-upgrade_server FROM TO --downtime walks upstream's runbook (spec 9,
 * 12): the known hash checked, an upgrade notice in the source's banner,
 * the source's connection limit at 0 (ordinary roles cannot start new
 * sessions; superusers can), remote access locked (pg_hba.conf), remote
 * sessions ended after a grace period, the upgrade, and then the notice out
 * of the new database's banner, a "replaced by" notice in the source's,
 * the connection limit and remote access restored. gm-fixup_server
 * --downtime does the same around a fixup, with a snapshot clone of the
 * database to roll a failed fixup back to.
 *
 * Every change to the outside world is recorded in the journal (journal.c)
 * <state>/procedure.state (fsync, then rename) before it is made. A failure,
 * SIGINT or SIGTERM undoes what was recorded, in reverse order; after a
 * crash (kill -9), --recover does the same from the file. Every undo looks
 * at the current state first, so undoing twice is harmless. The procedure
 * itself holds an flock on <state>/procedure.lock while it runs: a state
 * file without that lock held is an unfinished procedure.
 *
 * The procedure stays root (pg_hba.conf is root's to write) and connects
 * as the postgres OS user without dropping root (GM_CONN_KEEP_ROOT); the
 * work that drops root for good (reading the schema hash, the upgrade or
 * fixup itself) runs in forked children, which die with the procedure
 * (PR_SET_PDEATHSIG: SIGTERM, which makes an upgrade drop its half-made
 * target).
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LABEL "gmdb downtime"
/* The comment on a finished target until the procedure is done with it:
 * it starts with the build mark, so that anything gmdb does with a target
 * left behind treats it as half-made. */
#define PROCEDURE_MARK GM_BUILD_MARK " (downtime procedure: not finished yet)"
#define SNAPSHOT_MARK "gmdb: snapshot before a fixup"
#define SNAPSHOT_SUFFIX "_gmdb_snapshot"

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static PGconn *open_db(const char *db, struct gm_error *err)
{
	return gm_conn_open_ex(db, NULL, LABEL, GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT, err);
}

/* What the banner and its triggers are: the owner's, touched as the owner. */
static PGconn *open_db_owner(const char *db, struct gm_error *err)
{
	return gm_owner_open(db, NULL, LABEL, GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT, err);
}

/* A connection to the cluster, not to one of the databases worked on. */
static PGconn *open_cluster(struct gm_error *err)
{
	struct gm_error first = GM_ERROR_INIT;
	PGconn *c = open_db("postgres", &first);
	if (!c)
		c = open_db("template1", err);
	gm_error_release(&first);
	return c;
}

static char *utc_stamp(time_t t)
{
	struct tm tm;
	char buf[64];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	return gm_xstrdup(buf);
}

/* GMDB_TEST_CRASH_AT=<step>: die the hard way right after that step. */
static void crash_point(const char *step)
{
	const char *at = getenv("GMDB_TEST_CRASH_AT");
	if (!at || strcmp(at, step) != 0)
		return;
	gm_log(GM_LOG_WARNING, "GMDB_TEST_CRASH_AT=%s: killing this process (a test of the recovery)", step);
	gm_log_close();
	fflush(NULL);
	raise(SIGKILL);
}

/* 1 when database db exists (*comment: its comment or NULL), 0 when not. */
static int db_exists(PGconn *c, const char *db, char **comment, struct gm_error *err)
{
	const char *p[1] = { db };
	PGresult *res = gm_db_query(c, "SELECT pg_catalog.shobj_description(d.oid, 'pg_database') "
				       "FROM pg_catalog.pg_database d WHERE d.datname = $1", 1, p, err);
	int rc;
	if (comment)
		*comment = NULL;
	if (!res)
		return GM_EFAIL;
	rc = PQntuples(res) == 1;
	if (rc && comment && !PQgetisnull(res, 0, 0))
		*comment = gm_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

static bool has_build_mark(const char *comment)
{
	return comment && strncmp(comment, GM_BUILD_MARK, strlen(GM_BUILD_MARK)) == 0;
}

/* Sessions on db other than ours, one line each in list. */
static int sessions_on(PGconn *c, const char *db, struct gm_buf *list, int *n, struct gm_error *err)
{
	const char *p[1] = { db };
	PGresult *res = gm_db_query(c, gm_sql("sessions-on-database"), 1, p, err);
	*n = 0;
	if (!res)
		return GM_EFAIL;
	*n = PQntuples(res);
	for (int i = 0; i < *n; i++)
		gm_buf_addf(list, "\n  pid %s, user \"%s\", application \"%s\", from %s, since %s", PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
	PQclear(res);
	return GM_OK;
}

/* ------------------------------------------------------------------ */
/* Children: the work that drops root for good                         */
/* ------------------------------------------------------------------ */

typedef int (*child_fn)(void *arg, struct gm_buf *result, struct gm_error *err);

static void put_field(struct gm_buf *b, const char *s)
{
	gm_buf_addc(b, s ? '1' : '0');
	if (s)
		gm_buf_adds(b, s);
	gm_buf_add(b, "", 1);
}

static char *get_field(const char **p, const char *end)
{
	const char *s = *p;
	size_t n;
	if (s >= end)
		return NULL;
	n = strnlen(s, (size_t)(end - s));
	*p = s + n + 1;
	return s[0] == '1' ? gm_xstrndup(s + 1, n - 1) : NULL;
}

/*
 * Run fn in a child process, which drops root for good and dies with this
 * one. With ps, the child's process id is recorded (key child_pid) before
 * it may start. SIGINT and SIGTERM caught meanwhile are passed on to it.
 * The child's rc, error and result (a string) come back through a pipe.
 */
static int run_child(child_fn fn, void *arg, struct gm_journal *ps, const char *crash_step, char **result,
		     struct gm_error *err)
{
	int go[2], back[2], status = 0, rc;
	pid_t parent = getpid(), pid;
	struct gm_buf in = GM_BUF_INIT;
	int forwarded = 0;

	if (result)
		*result = NULL;
	if (pipe2(go, O_CLOEXEC) < 0)
		return gm_error_set(err, GM_EFAIL, "could not make a pipe: %s", strerror(errno));
	if (pipe2(back, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		return gm_error_set(err, GM_EFAIL, "could not make a pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = gm_error_set(err, GM_EFAIL, "could not start a process: %s", strerror(errno));
		close(go[0]);
		close(go[1]);
		close(back[0]);
		close(back[1]);
		return rc;
	}
	if (pid == 0) {
		struct gm_buf out = GM_BUF_INIT, res = GM_BUF_INIT;
		struct gm_error cerr = GM_ERROR_INIT;
		char c;
		int crc;
		if (ps && ps->lock_fd >= 0)
			close(ps->lock_fd);  /* the procedure's lock is the parent's alone */
		close(go[1]);
		close(back[0]);
		/* root is dropped here, before the death signal is set up: a change
		 * of credentials clears it */
		crc = gm_privs_drop(&cerr);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent || read(go[0], &c, 1) != 1)
			_exit(1);
		close(go[0]);
		if (crc == GM_OK)
			crc = fn(arg, &res, &cerr);
		/* the temporary owner access ends before the parent goes on, and
		 * the child's sessions are gone */
		gm_owner_release();
		gm_conn_wait_closed();
		gm_buf_addf(&out, "%d", crc);
		gm_buf_add(&out, "", 1);
		put_field(&out, cerr.message);
		put_field(&out, cerr.detail);
		put_field(&out, cerr.hint);
		put_field(&out, cerr.sqlstate);
		put_field(&out, res.len ? res.data : NULL);
		if (write(back[1], out.data, out.len) < 0)
			_exit(1);
		fflush(NULL);
		_exit(gm_exit_status(crc));
	}
	close(go[0]);
	close(back[1]);
	rc = GM_OK;
	if (ps) {
		rc = gm_journal_setf(ps, "child_pid", err, "%ld", (long)pid);
		if (rc < 0) {
			kill(pid, SIGKILL);
			close(go[1]);
		}
	}
	if (rc == GM_OK) {
		if (write(go[1], "g", 1) != 1)
			gm_log(GM_LOG_DEBUG, "could not start the child: %s", strerror(errno));
		close(go[1]);
		if (crash_step) {
			/* let the child get into its work first */
			if (getenv("GMDB_TEST_CRASH_AT") && strcmp(getenv("GMDB_TEST_CRASH_AT"), crash_step) == 0)
				sleep(3);
			crash_point(crash_step);
		}
	}
	for (;;) {
		char buf[4096];
		ssize_t n = read(back[0], buf, sizeof(buf));
		if (n > 0) {
			gm_buf_add(&in, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR) {
			if (gm_signals_caught() && !forwarded++)
				kill(pid, gm_signals_caught());
			continue;
		}
		break;
	}
	close(back[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			break;
		if (gm_signals_caught() && !forwarded++)
			kill(pid, gm_signals_caught());
	}
	if (rc < 0)
		goto out;
	if (in.len == 0) {
		rc = gm_error_set(err, GM_EFAIL, "the child process ended without a result (%s %d)",
				  WIFSIGNALED(status) ? "signal" : "exit status",
				  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	} else {
		const char *p = in.data, *end = in.data + in.len;
		char *msg, *detail, *hint, *state;
		rc = atoi(p);
		p += strlen(p) + 1;
		msg = get_field(&p, end);
		detail = get_field(&p, end);
		hint = get_field(&p, end);
		state = get_field(&p, end);
		if (result)
			*result = get_field(&p, end);
		if (rc < 0) {
			gm_error_set(err, rc, "%s", msg ? msg : "the operation failed");
			if (detail)
				gm_error_detail(err, "%s", detail);
			if (hint)
				gm_error_hint(err, "%s", hint);
			free(err->sqlstate);
			err->sqlstate = state;
			state = NULL;
		}
		free(msg);
		free(detail);
		free(hint);
		free(state);
	}
out:
	gm_buf_release(&in);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The procedure                                                       */
/* ------------------------------------------------------------------ */

enum proc_kind { PROC_UPGRADE, PROC_FIXUP };

struct proc {
	enum proc_kind kind;
	int from, to;           /* fixup: from = the version */
	char *source;           /* the database brought down */
	char *target;           /* upgrade: the new database */
	char *snapshot;         /* fixup: the snapshot */
	const char *tablespace; /* upgrade: upstream's target tablespace, or NULL */
	const struct gm_downtime_opts *o;
	const struct gm_upgrade_opts *uo;
	const struct gm_fixup_opts *fo;
	struct gm_journal ps;
	time_t started;
	const char *state;      /* for the JSON: what the procedure left */
	char *work_json;        /* the upgrade's or fixup's own JSON summary */
};

static int record(struct proc *p, const char *step, struct gm_error *err)
{
	return gm_journal_set(&p->ps, "intent", step, err);
}

/* Record step, then put notice n into the source's banner. */
static int put_notice(struct proc *p, const char *step, const struct gm_banner_notice *n, struct gm_error *err)
{
	PGconn *c;
	int rc;

	if ((rc = record(p, step, err)) < 0)
		return rc;
	if (!(c = open_db_owner(p->source, err)))
		return GM_EFAIL;
	rc = gm_banner_notice_conn(c, n, err);
	gm_conn_close(c);
	return rc;
}

static int step_notice(struct proc *p, struct gm_error *err)
{
	struct gm_banner_notice n = { .kind = p->kind == PROC_UPGRADE ? GM_BANNER_NOTICE_UPGRADE : GM_BANNER_NOTICE_FIXUP,
				      .from = p->from, .to = p->to, .when = p->started };
	return put_notice(p, "notice", &n, err);
}

/* The advance announcement: a message in the inbox of every active staff
 * member (their running clients show it at once) and the planned-downtime
 * notice in the banner, then the wait. Both recorded first; the notice step
 * that follows replaces the planned notice with the one of the procedure. */
static int step_announce(struct proc *p, struct gm_error *err)
{
	time_t start = time(NULL) + (time_t)p->o->announce * 60;
	struct gm_announcement a = { .database = p->source, .when = start, .minutes = p->o->duration,
				     .from = p->kind == PROC_UPGRADE ? p->from : 0, .to = p->to };
	struct gm_banner_notice n = { .kind = GM_BANNER_NOTICE_PLANNED, .when = start, .minutes = p->o->duration,
				      .from = a.from, .to = a.to };
	struct gm_strv staff = GM_STRV_INIT;
	PGconn *c;
	int rc;

	if ((rc = record(p, "announce", err)) < 0)
		return rc;
	if (!(c = open_db_owner(p->source, err)))
		return GM_EFAIL;
	rc = gm_announce_conn(c, &a, &staff, err);
	gm_conn_close(c);
	if (rc == GM_OK)
		gm_log(GM_LOG_PROGRESS, "announced in the inbox of %zu active staff member%s of \"%s\"", staff.n,
		       staff.n == 1 ? "" : "s", p->source);
	gm_strv_release(&staff);
	if (rc == GM_OK)
		rc = put_notice(p, "notice", &n, err);
	if (rc == GM_OK && p->o->announce > 0) {
		struct gm_step st;
		gm_step_begin(&st, "waiting %d minute%s before locking anyone out (^C undoes the announcement)",
			      p->o->announce, p->o->announce == 1 ? "" : "s");
		while (rc == GM_OK && time(NULL) < start) {
			sleep(1);
			rc = gm_signals_check(err);
			gm_step_progress(&st, "%ld s to go", (long)(start - time(NULL)));
		}
		gm_step_end(&st, rc, NULL);
	}
	return rc;
}

static int unannounce_db(const char *db, struct gm_error *err)
{
	PGconn *c = open_db_owner(db, err);
	int rc, n = 0;
	if (!c)
		return GM_EFAIL;
	rc = gm_unannounce_conn(c, &n, err);
	gm_conn_close(c);
	if (rc == GM_OK && n)
		gm_log(GM_LOG_INFO, "took %d announcement(s) out of the inboxes of \"%s\"", n, db);
	return rc;
}

static int step_connlimit(struct proc *p, struct gm_error *err)
{
	PGconn *c = open_cluster(err);
	const char *params[1] = { p->source };
	char *old = NULL;
	int rc;

	if (!c)
		return GM_EFAIL;
	rc = gm_db_value(c, "SELECT datconnlimit FROM pg_catalog.pg_database WHERE datname = $1", 1, params, &old, err);
	if (rc == GM_OK && !old)
		rc = gm_error_set(err, GM_EFAIL, "database \"%s\" does not exist", p->source);
	if (rc == GM_OK)
		rc = gm_journal_set(&p->ps, "connlimit_old", old, err);
	if (rc == GM_OK)
		rc = record(p, "connlimit", err);
	if (rc == GM_OK)
		rc = gm_db_execf(c, err, "ALTER DATABASE %I CONNECTION LIMIT 0", p->source);
	if (rc == GM_OK)
		gm_log(GM_LOG_INFO, "connection limit of \"%s\": 0 (was %s): only superusers can connect", p->source, old);
	free(old);
	gm_conn_close(c);
	return rc;
}

static void hba_opts(struct gm_hba_opts *h, const struct proc *p)
{
	memset(h, 0, sizeof(*h));
	h->command = GM_HBA_LOCK;
	h->grace = p ? p->o->grace : 0;
	h->ends_sessions_later = true;
}

static int step_hba_lock(struct proc *p, struct gm_error *err)
{
	struct gm_hba_opts h;
	int locked, rc;

	hba_opts(&h, p);
	locked = gm_hba_is_locked(&h, err);
	if (locked < 0)
		return locked;
	if ((rc = gm_journal_set(&p->ps, "hba_was_locked", locked ? "1" : "0", err)) < 0)
		return rc;
	if ((rc = record(p, "hba-lock", err)) < 0)
		return rc;
	if (locked) {
		gm_log(GM_LOG_NOTICE, "remote access was locked already: it stays locked afterwards");
		return GM_OK;
	}
	return gm_hba_lock(&h, err);
}

/* Remote sessions ended after the grace period; local sessions on the
 * source listed (the clone, the snapshot need none). */
static int step_sessions(struct proc *p, struct gm_error *err)
{
	struct gm_hba_opts h;
	struct gm_buf who = GM_BUF_INIT;
	PGconn *c;
	int rc, n = 0;

	hba_opts(&h, p);
	h.terminate = true;
	rc = gm_hba_lock(&h, err);
	if (rc < 0)
		return rc;
	if ((rc = gm_signals_check(err)) < 0)
		return rc;
	if (!(c = open_cluster(err)))
		return GM_EFAIL;
	/* ended sessions take a moment to go */
	for (int tries = 0;; tries++) {
		gm_buf_reset(&who);
		rc = sessions_on(c, p->source, &who, &n, err);
		if (rc < 0 || n == 0 || tries >= 30)
			break;
		usleep(100000);
	}
	gm_conn_close(c);
	if (rc == GM_OK && n) {
		rc = gm_error_set(err, GM_ECHECK, "%d session%s still open on \"%s\"", n, n == 1 ? " is" : "s are",
				  p->source);
		gm_error_detail(err, "The %s cannot start while there are any:%s",
				p->kind == PROC_UPGRADE ? "clone" : "snapshot", gm_buf_str(&who));
		gm_error_hint(err, "Close those programs (or end them with SELECT pg_terminate_backend(PID)) and run again.");
	}
	gm_buf_release(&who);
	return rc;
}

/* What a template copy leaves out: the database's settings and its ACL
 * (the comment and the connection limit are the procedure's own business). */
static int copy_attributes(PGconn *c, const char *from, const char *to, struct gm_error *err)
{
	const char *params[2] = { from, to };
	PGresult *res;
	int rc = GM_OK;

	/* the database's own settings (pg_db_role_setting, role 0) and the
	 * per-role ones in it, as ALTER statements; the ACL as GRANTs */
	res = gm_db_query(c, gm_sql("downtime-copy-attributes"), 2, params, err);
	if (!res)
		return GM_EFAIL;
	for (int i = 0; rc == GM_OK && i < PQntuples(res); i++)
		rc = gm_db_exec(c, PQgetvalue(res, i, 0), err);
	PQclear(res);
	return rc;
}

static int step_snapshot(struct proc *p, struct gm_error *err)
{
	PGconn *c = open_cluster(err);
	const char *params[1] = { p->source };
	char *owner = NULL, *size = NULL, *comment = NULL;
	int rc;

	if (!c)
		return GM_EFAIL;
	/* the room for it and local sessions were checked before the first
	 * change (check_snapshot) */
	rc = gm_db_value(c, "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname = $1", 1,
			 params, &owner, err);
	if (rc == GM_OK)
		rc = gm_db_value(c, "SELECT pg_catalog.pg_database_size($1)", 1, params, &size, err);
	if (rc == GM_OK)
		rc = db_exists(c, p->snapshot, NULL, err);
	if (rc == 1) {
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" exists already", p->snapshot);
		gm_error_hint(err, "A snapshot kept from an earlier fixup (--keep-snapshot)? Drop it (dropdb) when it is "
				   "not needed any more, and run again.");
	}
	if (rc == GM_OK) {
		/* the comment the database gets back if it is rolled back to the
		 * snapshot (which carries gmdb's mark meanwhile) */
		rc = db_exists(c, p->source, &comment, err);
		if (rc >= 0)
			rc = gm_journal_set(&p->ps, comment ? "source_comment" : "source_comment_null", comment ? comment : "1", err);
	}
	if (rc == GM_OK)
		rc = record(p, "snapshot", err);
	if (rc == GM_OK) {
		char *q = gm_sqlf(c, "CREATE DATABASE %I TEMPLATE %I OWNER %I", p->snapshot, p->source, owner);
		struct gm_step st;
		gm_step_begin(&st, "making a snapshot of \"%s\" (\"%s\")", p->source, p->snapshot);
		rc = gm_db_exec(c, q, err);
		gm_step_end(&st, rc, NULL);
		free(q);
	}
	if (rc == GM_OK)
		rc = gm_db_comment_database(c, p->snapshot, SNAPSHOT_MARK, err);
	if (rc == GM_OK)
		rc = copy_attributes(c, p->source, p->snapshot, err);
	if (rc < 0)
		gm_error_prefix(err, "could not make a snapshot of \"%s\"", p->source);
	free(owner);
	free(size);
	free(comment);
	gm_conn_close(c);
	return rc < 0 ? rc : GM_OK;
}

/* With --json, the child's own summary comes back as its result (the
 * procedure prints one JSON document, with it inside). */
static FILE *json_stream(bool json, char **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	return json ? open_memstream(buf, len) : NULL;
}

static void json_result(FILE *m, char **buf, struct gm_buf *result)
{
	if (!m)
		return;
	fclose(m);  /* sets *buf */
	if (*buf)
		gm_buf_adds(result, *buf);
	free(*buf);
}

static int upgrade_child(void *arg, struct gm_buf *result, struct gm_error *err)
{
	struct proc *p = arg;
	struct gm_upgrade_opts uo = *p->uo;
	char *buf;
	size_t len;
	int rc;

	uo.yes = true;
	uo.in_procedure = true;
	uo.final_mark = PROCEDURE_MARK;
	uo.json_to = json_stream(uo.json, &buf, &len);
	rc = gm_upgrade_run(&uo, err);
	json_result(uo.json_to, &buf, result);
	return rc;
}

static int fixup_child(void *arg, struct gm_buf *result, struct gm_error *err)
{
	struct proc *p = arg;
	struct gm_fixup_opts fo = *p->fo;
	char *buf;
	size_t len;
	int rc;

	/* a signal, or the procedure's death (SIGTERM), ends the fixup the
	 * clean way (gm_fixup_run): its statement cancelled, its temporary
	 * owner access and python3's directory taken back; the procedure then
	 * puts the snapshot back */
	fo.database = p->source;
	fo.version = p->from;
	fo.found_said = true;
	fo.in_procedure = true;
	fo.json_to = json_stream(fo.json, &buf, &len);
	rc = gm_fixup_run(&fo, err);
	json_result(fo.json_to, &buf, result);
	return rc;
}

static int step_work(struct proc *p, struct gm_error *err)
{
	int rc;
	if (p->kind == PROC_UPGRADE) {
		/* the upgrade makes the group role named after the target if it
		 * is missing: an undo takes it out again */
		PGconn *c = open_cluster(err);
		const char *params[1] = { p->target };
		char *n = NULL;
		if (!c)
			return GM_EFAIL;
		rc = gm_db_value(c, "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params, &n, err);
		gm_conn_close(c);
		if (rc == GM_OK)
			rc = gm_journal_set(&p->ps, "target_role_existed", n && strcmp(n, "0") != 0 ? "1" : "0", err);
		free(n);
		if (rc < 0)
			return rc;
		if ((rc = gm_journal_set(&p->ps, "target", p->target, err)) < 0 || (rc = record(p, "upgrade", err)) < 0)
			return rc;
		return run_child(upgrade_child, p, &p->ps, "upgrade-started", &p->work_json, err);
	}
	if ((rc = record(p, "fixup", err)) < 0)
		return rc;
	return run_child(fixup_child, p, &p->ps, "fixup-started", &p->work_json, err);
}

/* What an undo did, one line each, for --recover to say (did may be NULL). */
static void did_add(struct gm_buf *did, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void did_add(struct gm_buf *did, const char *fmt, ...)
{
	va_list ap;
	char *line;
	if (!did)
		return;
	va_start(ap, fmt);
	line = gm_xvasprintf(fmt, ap);
	va_end(ap);
	gm_buf_addf(did, "  %s\n", line);
	free(line);
}

static int unnotice(const char *db, struct gm_buf *did, struct gm_error *err)
{
	PGconn *c = open_db_owner(db, err);
	bool removed = false;
	int rc;
	if (!c)
		return GM_EFAIL;
	rc = gm_banner_unnotice_conn(c, &removed, err);
	gm_conn_close(c);
	if (rc == GM_OK && removed)
		did_add(did, "took the notice out of the banner of \"%s\"", db);
	return rc;
}

static int step_replaced_notice(struct proc *p, struct gm_error *err)
{
	struct gm_banner_notice n = { .kind = GM_BANNER_NOTICE_REPLACED, .database = p->target };
	return put_notice(p, "replaced-notice", &n, err);
}

static int restore_connlimit(const struct gm_journal *ps, const char *db, struct gm_buf *did, struct gm_error *err)
{
	const char *old = gm_journal_get(ps, "connlimit_old");
	const char *params[1] = { db };
	char *now = NULL;
	PGconn *c;
	int rc, v;

	if (!old || gm_parse_uint(old[0] == '-' ? old + 1 : old, 1 << 30, &v) < 0)
		return gm_error_set(err, GM_EFAIL, "the journal has no usable old connection limit of \"%s\"", db);
	if (!(c = open_cluster(err)))
		return GM_EFAIL;
	rc = gm_db_value(c, "SELECT datconnlimit FROM pg_catalog.pg_database WHERE datname = $1", 1, params, &now, err);
	if (rc == GM_OK && now && strcmp(now, old) != 0) {
		rc = gm_db_execf(c, err, "ALTER DATABASE %I CONNECTION LIMIT %d", db, old[0] == '-' ? -v : v);
		if (rc == GM_OK)
			gm_log(GM_LOG_INFO, "connection limit of \"%s\" back to %s", db, old);
		if (rc == GM_OK)
			did_add(did, "set the connection limit of \"%s\" back to %s (from %s)", db, old, now);
	}
	free(now);
	gm_conn_close(c);
	return rc;
}

static int step_connlimit_restore(struct proc *p, struct gm_error *err)
{
	int rc = record(p, "connlimit-restore", err);
	return rc < 0 ? rc : restore_connlimit(&p->ps, p->source, NULL, err);
}

static int step_hba_unlock(struct proc *p, struct gm_error *err)
{
	struct gm_hba_opts h;
	const char *was = gm_journal_get(&p->ps, "hba_was_locked");
	int rc = record(p, "hba-unlock", err);
	if (rc < 0)
		return rc;
	if (was && strcmp(was, "1") == 0)
		return GM_OK;
	hba_opts(&h, NULL);
	h.command = GM_HBA_UNLOCK;
	return gm_hba_unlock(&h, err);
}

/* ------------------------------------------------------------------ */
/* Undo and finish (the failure path and --recover share them)          */
/* ------------------------------------------------------------------ */

/* Wait for a child of a crashed procedure to finish its own cleanup. */
static void wait_for_child(const struct gm_journal *ps)
{
	const char *pid = gm_journal_get(ps, "child_pid");
	long n = pid ? atol(pid) : 0;
	bool said = false;

	if (n <= 1)
		return;
	for (int i = 0; i < 1200 && kill((pid_t)n, 0) == 0; i++) {
		char *path = gm_xasprintf("/proc/%ld/stat", n), *text = NULL;
		bool zombie = false;
		if (gm_read_file(path, &text, NULL, NULL) == GM_OK && text) {
			const char *rp = strrchr(text, ')');
			zombie = rp && (rp[2] == 'Z' || rp[2] == 'X');
		}
		free(path);
		free(text);
		if (zombie)
			break;
		if (!said)
			gm_log(GM_LOG_NOTICE, "waiting for process %ld of the procedure to finish its own cleanup", n);
		said = true;
		usleep(100000);
	}
}

/* The new database, and the group role named after it that the upgrade
 * made (the journal says whether it was there before). */
static int drop_target(const struct gm_journal *ps, struct gm_buf *did, struct gm_error *err)
{
	const char *target = gm_journal_get(ps, "target"), *existed = gm_journal_get(ps, "target_role_existed");
	const char *params[1] = { target };
	PGconn *c;
	char *comment = NULL, *role = NULL;
	int rc;

	if (!target)
		return GM_OK;
	if (!(c = open_cluster(err)))
		return GM_EFAIL;
	rc = db_exists(c, target, &comment, err);
	if (rc == 1 && has_build_mark(comment)) {
		struct gm_step st;
		gm_step_begin(&st, "dropping the new database \"%s\"", target);
		rc = gm_db_execf(c, err, "DROP DATABASE %I", target);
		gm_step_end(&st, rc, NULL);
		if (rc == GM_OK)
			did_add(did, "dropped the new database \"%s\"", target);
	} else if (rc == 1) {
		gm_log(GM_LOG_WARNING, "database \"%s\" does not carry gmdb's build mark: left alone", target);
		did_add(did, "left database \"%s\" alone: it does not carry gmdb's build mark", target);
	}
	if (rc >= 0 && existed && strcmp(existed, "0") == 0 &&
	    gm_db_value(c, "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1", 1, params, &role, err) == GM_OK &&
	    role && strcmp(role, "0") != 0) {
		struct gm_error rerr = GM_ERROR_INIT;
		if (gm_db_execf(c, &rerr, "DROP ROLE %I", target) == GM_OK) {
			did_add(did, "dropped the group role \"%s\" the upgrade made", target);
		} else {
			gm_log(GM_LOG_WARNING, "could not drop the group role \"%s\" the upgrade made: %s", target,
			       rerr.message);
			did_add(did, "left the group role \"%s\" the upgrade made: %s", target, rerr.message);
		}
		gm_error_release(&rerr);
	}
	free(role);
	free(comment);
	gm_conn_close(c);
	return rc < 0 ? rc : GM_OK;
}

/* A failed fixup: the database as it was, from the snapshot. */
static int restore_snapshot(const struct gm_journal *ps, bool fixup_ran, struct gm_buf *did, struct gm_error *err)
{
	const char *db = gm_journal_get(ps, "source"), *snap = gm_journal_get(ps, "snapshot");
	PGconn *c;
	char *comment = NULL;
	int rc, snap_there;

	if (!db || !snap)
		return gm_error_set(err, GM_EFAIL, "the journal names no database or snapshot");
	if (!(c = open_cluster(err)))
		return GM_EFAIL;
	snap_there = db_exists(c, snap, NULL, err);
	rc = snap_there < 0 ? GM_EFAIL : GM_OK;
	if (rc == GM_OK && snap_there && !fixup_ran) {
		/* the database was not touched: the snapshot goes */
		struct gm_step st;
		gm_step_begin(&st, "dropping the snapshot \"%s\"", snap);
		rc = gm_db_execf(c, err, "DROP DATABASE %I", snap);
		gm_step_end(&st, rc, NULL);
		if (rc == GM_OK)
			did_add(did, "dropped the snapshot \"%s\" (\"%s\" was not changed)", snap, db);
	} else if (rc == GM_OK && snap_there) {
		struct gm_step st;
		gm_step_begin(&st, "rolling \"%s\" back to its snapshot", db);
		rc = db_exists(c, db, NULL, err);
		if (rc == 1)
			rc = gm_db_execf(c, err, "DROP DATABASE %I", db);
		if (rc >= 0) {
			rc = gm_db_execf(c, err, "ALTER DATABASE %I RENAME TO %I", snap, db);
		}
		gm_step_end(&st, rc < 0 ? rc : GM_OK, NULL);
		if (rc >= 0)
			did_add(did, "rolled \"%s\" back to its snapshot \"%s\"", db, snap);
	}
	/* the comment back (the snapshot carried the mark) */
	if (rc >= 0 && (rc = db_exists(c, db, &comment, err)) == 1 && comment && strcmp(comment, SNAPSHOT_MARK) == 0)
		rc = gm_db_comment_database(c, db, gm_journal_get(ps, "source_comment"), err);
	free(comment);
	gm_conn_close(c);
	return rc < 0 ? rc : GM_OK;
}

/*
 * Undo everything recorded, in reverse order; every undo checks first.
 * Goes on after a failed undo (the others are still worth doing) and
 * returns the first failure.
 */
static int undo_all(struct gm_journal *ps, struct gm_buf *did, struct gm_error *err)
{
	const char *kind = gm_journal_get(ps, "procedure"), *db = gm_journal_get(ps, "source");
	struct gm_error uerr = GM_ERROR_INIT;
	int rc = GM_OK, r;
	bool fixup = kind && strcmp(kind, "fixup") == 0;

#define UNDO(what, call)                                                                  \
	do {                                                                              \
		r = (call);                                                               \
		if (r < 0) {                                                              \
			gm_log(GM_LOG_WARNING, "could not %s: %s", what,                  \
			       uerr.message ? uerr.message : "failed");                   \
			if (rc == GM_OK) {                                                \
				rc = r;                                                   \
				gm_error_set(err, r, "could not %s: %s", what,            \
					     uerr.message ? uerr.message : "failed");     \
			}                                                                 \
		}                                                                         \
		gm_error_release(&uerr);                                                  \
	} while (0)

	wait_for_child(ps);
	if (!fixup && gm_journal_has(ps, "intent", "upgrade"))
		UNDO("drop the new database", drop_target(ps, did, &uerr));
	if (fixup && gm_journal_has(ps, "intent", "snapshot"))
		UNDO("roll the database back to its snapshot",
		     restore_snapshot(ps, gm_journal_has(ps, "intent", "fixup"), did, &uerr));
	if (gm_journal_has(ps, "intent", "hba-lock")) {
		const char *was = gm_journal_get(ps, "hba_was_locked");
		if (!was || strcmp(was, "1") != 0) {
			struct gm_hba_opts h;
			bool locked;
			hba_opts(&h, NULL);
			h.command = GM_HBA_UNLOCK;
			locked = gm_hba_is_locked(&h, NULL) == 1;
			UNDO("re-open remote access", gm_hba_unlock(&h, &uerr));
			if (locked && r == GM_OK)
				did_add(did, "re-opened remote access (pg_hba.conf is the original again)");
		}
	}
	if (gm_journal_has(ps, "intent", "connlimit") && db)
		UNDO("restore the connection limit", restore_connlimit(ps, db, did, &uerr));
	if (gm_journal_has(ps, "intent", "notice") && db)
		UNDO("take the notice out of the banner", unnotice(db, did, &uerr));
	if (gm_journal_has(ps, "intent", "announce") && db)
		UNDO("take the announcement out of the inboxes", unannounce_db(db, &uerr));
#undef UNDO
	return rc;
}

/* The procedure got through: what is left to do after the commit. */
static int finish(struct gm_journal *ps, struct gm_error *err)
{
	const char *kind = gm_journal_get(ps, "procedure");
	PGconn *c;
	char *comment = NULL;
	int rc;

	if (!(c = open_cluster(err)))
		return GM_EFAIL;
	if (kind && strcmp(kind, "upgrade") == 0) {
		const char *target = gm_journal_get(ps, "target");
		rc = target ? db_exists(c, target, &comment, err) : 0;
		if (rc == 1 && comment && strcmp(comment, PROCEDURE_MARK) == 0)
			rc = gm_db_comment_database(c, target, gm_journal_get(ps, "build_record"), err);
	} else {
		const char *snap = gm_journal_get(ps, "snapshot"), *keep = gm_journal_get(ps, "keep_snapshot");
		rc = snap ? db_exists(c, snap, &comment, err) : 0;
		if (rc == 1 && keep && strcmp(keep, "1") == 0) {
			/* kept: the database as it was before the fixup, notice, limit
			 * and comment included */
			gm_log(GM_LOG_NOTICE, "the snapshot \"%s\" is kept (--keep-snapshot): drop it when it is not needed "
					      "any more (dropdb \"%s\")", snap, snap);
			rc = unnotice(snap, NULL, err);
			if (rc == GM_OK && gm_journal_has(ps, "intent", "announce"))
				rc = unannounce_db(snap, err);
			if (rc == GM_OK)
				rc = restore_connlimit(ps, snap, NULL, err);
			if (rc == GM_OK)
				rc = gm_db_comment_database(c, snap, gm_journal_get(ps, "source_comment"), err);
		} else if (rc == 1 && comment && strcmp(comment, SNAPSHOT_MARK) == 0) {
			/* a large database's files take a while to go */
			struct gm_step st;
			gm_step_begin(&st, "dropping the snapshot \"%s\"", snap);
			rc = gm_db_execf(c, err, "DROP DATABASE %I", snap);
			gm_step_end(&st, rc, NULL);
		}
	}
	free(comment);
	gm_conn_close(c);
	return rc < 0 ? rc : GM_OK;
}

/* ------------------------------------------------------------------ */
/* The end screen                                                      */
/* ------------------------------------------------------------------ */

static const char *sysconf_dir(void)
{
	const char *env = getenv("GMDB_SYSCONF_DIR");
	return env && *env ? env : "/etc";
}

/* The value of GM_DATABASE in upstream's backup configuration (a shell
 * file), or NULL. */
static char *backup_database(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	char *value = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t"), *end;
		if (strncmp(p, "GM_DATABASE", 11) != 0)
			continue;
		p += 11;
		p += strspn(p, " \t");
		if (*p != '=')
			continue;
		p++;
		p += strspn(p, " \t");
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '"' || *p == '\'') {
			char q = *p++;
			if ((end = strchr(p, q)))
				*end = '\0';
		} else {
			p[strcspn(p, " \t#;")] = '\0';
		}
		free(value);
		value = gm_xstrdup(p);
	}
	fclose(f);
	return value;
}

/* The database settings of the [profile ...] groups of a GNUmed client
 * configuration file, one "  [profile X] database = Y" line each. */
static void client_profiles(const char *path, FILE *out)
{
	FILE *f = fopen(path, "r");
	char line[1024], group[256] = "";

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t"), *eq;
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '[') {
			snprintf(group, sizeof(group), "%s", p);
			continue;
		}
		if (strncmp(group, "[profile", 8) != 0 || strncmp(p, "database", 8) != 0)
			continue;
		eq = p + 8 + strspn(p + 8, " \t");
		if (*eq != '=')
			continue;
		eq++;
		eq += strspn(eq, " \t");
		fprintf(out, "    (now: %s database = %s)\n", group, eq);
	}
	fclose(f);
}

/* The scheduled jobs known to work on GNUmed databases: before the
 * downtime (pause them) or after it (resume them). */
static void print_jobs(FILE *out, bool after)
{
	char *cron = gm_xasprintf("%s/cron.daily/gnumed-server", sysconf_dir());
	if (access(cron, F_OK) == 0)
		fprintf(out, "Scheduled job that works on GNUmed databases: %s (gnumed-server's nightly backup): %s.\n", cron,
			after ? "if you paused it, resume it" : "pause it until the procedure is done (meanwhile the database "
								"refuses its sessions)");
	free(cron);
}

static void end_screen(const struct proc *p, FILE *out)
{
	char *client = gm_xasprintf("%s/gnumed/gnumed-client.conf", sysconf_dir());
	char *backup = gm_xasprintf("%s/gnumed/gnumed-backup.conf", sysconf_dir());
	char *current = backup_database(backup);

	fprintf(out, "\nThe downtime procedure is done: \"%s\" (v%d) replaces \"%s\" (v%d).\n", p->target, p->to,
		p->source, p->from);
	fprintf(out, "Remote access is open again; \"%s\" is kept as it was, its banner says that \"%s\" replaced it.\n\n",
		p->source, p->target);
	fprintf(out, "Point the GNUmed clients at \"%s\": in every [profile ...] group of %s\n"
		     "and of each user's ~/.gnumed/gnumed.conf, set\n"
		     "    database = %s\n", p->target, client, p->target);
	client_profiles(client, out);
	fputc('\n', out);
	fprintf(out, "Point the backup job at \"%s\": in %s set\n    GM_DATABASE=\"%s\"\n", p->target, backup, p->target);
	if (current)
		fprintf(out, "(it is GM_DATABASE=\"%s\" now%s)\n", current,
			strcmp(current, p->target) == 0 ? ": nothing to do" : "");
	else if (access(backup, F_OK) == 0)
		fprintf(out, "(%s cannot be read here, or has no GM_DATABASE)\n", backup);
	else
		fprintf(out, "(there is no %s on this machine)\n", backup);
	print_jobs(out, true);
	{
		char *args = gm_conn_where_args();
		fprintf(out, "\nWhen nobody needs \"%s\" any more, retire it:\n    gm-upgrade_server --retire %d%s\n",
			p->source, p->from, args);
		free(args);
	}
	free(client);
	free(backup);
	free(current);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

struct resolve_arg {
	const struct gm_fixup_opts *fo;
};

static int resolve_child(void *arg, struct gm_buf *result, struct gm_error *err)
{
	struct resolve_arg *a = arg;
	char *db = NULL;
	int version = -1;
	int rc = gm_fixup_resolve(a->fo, &db, &version, err);
	if (rc == GM_OK)
		gm_buf_addf(result, "%d %s", version, db);
	free(db);
	return rc;
}

/* The source is there: else exit 3 for an upgrade (a check of
 * gm-upgrade_server --check), 1 for a fixup (gm-fixup_server's own). */
static int source_exists(PGconn *c, const struct proc *p, struct gm_error *err)
{
	int rc = db_exists(c, p->source, NULL, err);

	if (rc != 0)
		return rc < 0 ? rc : GM_OK;
	rc = gm_error_set(err, p->kind == PROC_UPGRADE ? GM_ECHECK : GM_EFAIL, "database \"%s\" does not exist",
			  p->source);
	if (p->kind == PROC_UPGRADE)
		gm_error_hint(err, "An upgrade from v%d starts from \"%s\": check the versions (psql -l lists the "
				   "server's databases).", p->from, p->source);
	else
		gm_error_hint(err, "Name the database with -d DATABASE (psql -l lists the server's databases).");
	return rc;
}

/* What the whole procedure writes (the clone or the snapshot, the
 * changes, WAL, the backup) against what is free, before anything is
 * changed (space.c). */
static int check_space(struct proc *p, struct gm_error *err)
{
	struct gm_space_opts so = { .database = p->source, .clone = true, .changes = true };
	struct gm_space sp;
	struct gm_buf lines = GM_BUF_INIT;
	PGconn *c, *db = NULL;
	int rc = GM_EFAIL;

	so.clone_tablespace = p->tablespace;
	if (p->kind == PROC_UPGRADE && !p->uo->no_backup) {
		so.backup_dir = gm_upgrade_backup_dir(p->uo);
		so.backup_compress = p->uo->backup_compress;
	}
	gm_space_init(&sp);
	if ((c = open_cluster(err)) && (rc = source_exists(c, p, err)) == GM_OK && (db = open_db(p->source, err)))
		rc = gm_space_measure(c, db, &so, &sp, err);
	else if (rc == GM_OK)
		rc = GM_EFAIL;
	gm_conn_close(db);
	gm_conn_close(c);
	if (rc == GM_OK)
		rc = gm_space_verdict(&sp, &lines, err);
	if (lines.len)
		gm_log(rc == GM_ECHECK || sp.not_measured ? GM_LOG_WARNING : GM_LOG_INFO, "free space:\n%s", gm_buf_str(&lines));
	gm_buf_release(&lines);
	gm_space_release(&sp);
	return rc;
}

/* Every check of gm-upgrade_server --check, in a child that drops root as
 * the upgrade will (sessions from the network are the procedure's to end). */
static int check_child(void *arg, struct gm_buf *result, struct gm_error *err)
{
	struct proc *p = arg;
	struct gm_upgrade_opts uo = *p->uo;
	(void)result;
	uo.check = false;
	uo.downtime_check = true;
	return gm_upgrade_run(&uo, err);
}

/* A fixup's snapshot: local sessions on the database (the snapshot needs
 * none; the procedure ends only those from the network), a snapshot of the
 * same name (its room: check_space). */
static int check_snapshot(struct proc *p, struct gm_error *err)
{
	PGconn *c = open_cluster(err);
	const char *params[1] = { p->source };
	struct gm_buf who = GM_BUF_INIT;
	PGresult *res;
	int rc, n = 0;

	if (!c)
		return GM_EFAIL;
	/* A session gmdb itself has just closed (the announcement's, say) is
	 * gone from the server a moment after the client: while any of gmdb's
	 * are among them, look again for up to 5 s before counting them (a
	 * foreign session beside them is still named alone). */
	for (int tries = 0;; tries++) {
		int own = 0;
		n = 0;
		gm_buf_reset(&who);
		res = gm_db_query(c, gm_sql("sessions-on-database"), 1, params, err);
		rc = res ? GM_OK : GM_EFAIL;
		for (int i = 0; res && i < PQntuples(res); i++)
			if (strcmp(PQgetvalue(res, i, 5), "t") != 0) {
				n++;
				own += strncmp(PQgetvalue(res, i, 2), "gmdb", 4) == 0;
				gm_buf_addf(&who, "\n  pid %s, user \"%s\", application \"%s\", from %s, since %s",
					    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
					    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
			}
		PQclear(res);
		if (rc < 0 || n == 0 || own == 0 || tries >= 50)
			break;
		usleep(100000);
	}
	if (rc == GM_OK && n) {
		rc = gm_error_set(err, GM_ECHECK, "%d local session%s open on \"%s\"", n, n == 1 ? " is" : "s are",
				  p->source);
		gm_error_detail(err, "The procedure ends only sessions from the network, and the snapshot cannot be made "
				     "while there are any:%s", gm_buf_str(&who));
		gm_error_hint(err, "Close those programs (or end them with SELECT pg_terminate_backend(PID)) and run again.");
	}
	if (rc == GM_OK && (rc = db_exists(c, p->snapshot, NULL, err)) == 1) {
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" exists already", p->snapshot);
		gm_error_hint(err, "A snapshot kept from an earlier fixup (--keep-snapshot)? Drop it (dropdb) when it is "
				   "not needed any more, and run again.");
	}
	gm_buf_release(&who);
	gm_conn_close(c);
	return rc < 0 ? rc : GM_OK;
}

/*
 * Every check before anything is changed: for an upgrade all those of
 * gm-upgrade_server --check (the source's hash, the target, --replace-target,
 * local sessions, free space, the backup directory, ...), for a fixup those
 * of gm-fixup_server --check and the snapshot's; then the banner.
 */
static int preflight(struct proc *p, struct gm_error *err)
{
	PGconn *c;
	char *banner = NULL;
	int rc;

	/* remote access is locked over the local socket only */
	if ((rc = gm_hba_check_host(err)) < 0)
		return rc;
	/* the whole procedure's space (the clone or snapshot, WAL, the backup)
	 * first: its figures say more than the upgrade's own check */
	if ((rc = check_space(p, err)) < 0)
		return rc;
	if (p->kind == PROC_UPGRADE) {
		/* as root, before the check drops it: as the plain run does */
		if ((rc = gm_upgrade_prepare_backup_dir(p->uo, err)) < 0)
			return rc;
		rc = run_child(check_child, p, NULL, NULL, NULL, err);
		if (rc < 0) {
			if (!err->hint)
				gm_error_hint(err, "\"gm-upgrade_server --check %d %d\" lists every check.", p->from, p->to);
			return rc;
		}
		gm_log(GM_LOG_PROGRESS, "every check of gm-upgrade_server --check %d %d passed", p->from, p->to);
	} else if ((rc = check_snapshot(p, err)) < 0) {
		return rc;
	}
	if (!(c = open_db_owner(p->source, err)))
		return GM_EFAIL;
	rc = gm_banner_get_conn(c, &banner, err);
	gm_conn_close(c);
	if (rc == GM_OK && gm_banner_strip(banner, NULL, NULL) != 0) {
		rc = gm_error_set(err, GM_ECHECK, "the logon banner of \"%s\" starts with a gmdb notice already", p->source);
		gm_error_hint(err, "Take it out first (gm-banner %s unnotice), or look at it with gm-banner %s show.", p->source,
			      p->source);
	}
	free(banner);
	return rc < 0 ? rc : GM_OK;
}

/* The server the procedure works on, in the journal: --recover finds it
 * there from any shell, and makes sure it is that server (its data
 * directory). */
static int record_server(struct gm_journal *ps, struct gm_error *err)
{
	PGconn *c = open_cluster(err);
	const char *host, *port;
	char *dir = NULL;
	int rc;

	if (!c)
		return GM_EFAIL;
	rc = gm_db_value(c, "SELECT pg_catalog.current_setting('data_directory')", 0, NULL, &dir, err);
	gm_conn_close(c);
	gm_conn_where(&host, &port);
	if (rc == GM_OK && host)
		rc = gm_journal_set(ps, "server_host", host, err);
	if (rc == GM_OK && port)
		rc = gm_journal_set(ps, "server_port", port, err);
	if (rc == GM_OK && dir)
		rc = gm_journal_set(ps, "server_data_directory", dir, err);
	free(dir);
	return rc;
}

/* "...:\n    gm-upgrade_server --recover -h H -p P", the command on a line
 * of its own, to be run as printed. */
static void hint_recover(struct gm_error *err, const struct gm_journal *ps, const char *before)
{
	char *cmd = gm_journal_recover_command(ps);
	gm_error_hint(err, "%s as root, run:\n    %s", before, cmd);
	free(cmd);
}

static int refuse_if_unfinished(struct gm_journal *ps, struct gm_error *err)
{
	int rc = gm_journal_read(ps, err);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		char *what = gm_journal_describe(ps);
		gm_error_set(err, GM_ECHECK, "an unfinished downtime procedure is recorded (%s, started %s, process %s)", what,
			     gm_journal_get(ps, "started") ? gm_journal_get(ps, "started") : "?",
			     gm_journal_get(ps, "pid") ? gm_journal_get(ps, "pid") : "?");
		gm_error_detail(err, "The journal is \"%s\".", ps->path);
		hint_recover(err, ps, "Undo what that procedure did first:");
		free(what);
		gm_journal_mute_warning();
		return GM_ECHECK;
	}
	return GM_OK;
}

/* One step: a progress line (title NULL: none), the step, and the test's
 * crash point after it. */
static int run_step(struct proc *p, int rc, const char *name, char *title, int (*fn)(struct proc *, struct gm_error *),
		    struct gm_error *err)
{
	struct gm_step st;

	if (rc == GM_OK)
		rc = gm_signals_check(err);
	if (rc == GM_OK) {
		gm_log(GM_LOG_DEBUG, "downtime step %s", name);
		if (title)
			gm_step_begin(&st, "%s", title);
		rc = fn(p, err);
		if (title)
			gm_step_end(&st, rc, NULL);
		if (rc == GM_OK)
			crash_point(name);
	}
	free(title);
	return rc;
}

static int step_unnotice_target(struct proc *p, struct gm_error *err)
{
	int rc = record(p, "unnotice-target", err);
	return rc < 0 ? rc : unnotice(p->target, NULL, err);
}

static int step_unannounce_target(struct proc *p, struct gm_error *err)
{
	int rc = record(p, "unannounce-target", err);
	return rc < 0 ? rc : unannounce_db(p->target, err);
}

static int step_unannounce_source(struct proc *p, struct gm_error *err)
{
	int rc = record(p, "unannounce", err);
	return rc < 0 ? rc : unannounce_db(p->source, err);
}

/* The new database's build record (build.c), taken now, while remote access
 * is still locked and after the procedure's last write to it; the comment
 * gets it when the procedure is done (finish). Without one, a later
 * --replace-target never drops the database. */
static int step_build_record(struct proc *p, struct gm_error *err)
{
	struct gm_error rerr = GM_ERROR_INIT;
	PGconn *c = open_db(p->target, &rerr);
	char *text = NULL;
	int rc = GM_OK;

	if (c && gm_build_record(c, p->from, p->to, p->source, &text, &rerr) == GM_OK)
		rc = gm_journal_set(&p->ps, "build_record", text, err);
	else
		gm_log(GM_LOG_WARNING, "no build record on \"%s\" (%s): --replace-target will not drop it", p->target,
		       rerr.message ? rerr.message : "?");
	gm_conn_close(c);
	gm_error_release(&rerr);
	free(text);
	return rc;
}

static int step_unnotice_source(struct proc *p, struct gm_error *err)
{
	int rc = record(p, "unnotice", err);
	return rc < 0 ? rc : unnotice(p->source, NULL, err);
}

static int procedure(struct proc *p, struct gm_error *err)
{
	struct gm_step st;
	char *stamp;
	int rc;

	p->started = time(NULL);
	p->state = "nothing changed";
	gm_journal_init(&p->ps, NULL);
	gm_signals_install();
	/* the owner connections of this run (banner, the upgrade's or fixup's
	 * own) step through the connection limit 0 it sets on the source */
	gm_owner_limited_database(p->source);
	rc = gm_journal_lock(&p->ps, err);
	if (rc == GM_OK)
		rc = refuse_if_unfinished(&p->ps, err);
	if (rc < 0)
		goto out;
	gm_journal_forget(&p->ps);

	gm_step_begin(&st, "checking \"%s\" before the downtime", p->source);
	rc = preflight(p, err);
	gm_step_end(&st, rc, NULL);
	if (rc < 0) {
		gm_error_hint(err, "%s%sNothing was changed.", err->hint ? err->hint : "", err->hint ? " " : "");
		goto out;
	}
	print_jobs(stderr, false);
	if (p->kind == PROC_UPGRADE && !p->uo->yes && gm_cli_interactive()) {
		char answer[16] = "";
		fprintf(stderr, "Bring \"%s\" down (remote access locked, its sessions ended) and upgrade it into \"%s\"? [y/N] ",
			p->source, p->target);
		if (!fgets(answer, sizeof(answer), stdin) || (strcmp(answer, "y\n") != 0 && strcmp(answer, "yes\n") != 0)) {
			rc = gm_error_set(err, GM_EFAIL, "not confirmed: nothing was changed");
			goto out;
		}
	}

	stamp = utc_stamp(p->started);
	rc = gm_journal_set(&p->ps, "procedure", p->kind == PROC_UPGRADE ? "upgrade" : "fixup", err);
	if (rc == GM_OK)
		rc = gm_journal_setf(&p->ps, "from", err, "%d", p->from);
	if (rc == GM_OK)
		rc = gm_journal_setf(&p->ps, "to", err, "%d", p->to);
	if (rc == GM_OK)
		rc = gm_journal_set(&p->ps, "source", p->source, err);
	if (rc == GM_OK)
		rc = gm_journal_set(&p->ps, "started", stamp, err);
	if (rc == GM_OK)
		rc = gm_journal_setf(&p->ps, "pid", err, "%ld", (long)getpid());
	if (rc == GM_OK && p->snapshot)
		rc = gm_journal_set(&p->ps, "snapshot", p->snapshot, err);
	if (rc == GM_OK && p->kind == PROC_FIXUP)
		rc = gm_journal_set(&p->ps, "keep_snapshot", p->o->keep_snapshot ? "1" : "0", err);
	if (rc == GM_OK)
		rc = record_server(&p->ps, err);
	free(stamp);

	{
		bool up = p->kind == PROC_UPGRADE;
		if (p->o->announce >= 0)
			rc = run_step(p, rc, "announce", gm_xasprintf("announcing the downtime of \"%s\" (in %d minute%s)",
								     p->source, p->o->announce, p->o->announce == 1 ? "" : "s"),
				      step_announce, err);
		rc = run_step(p, rc, "notice", gm_xasprintf("putting the %s notice into the banner of \"%s\"",
							   up ? "upgrade" : "fixup", p->source), step_notice, err);
		rc = run_step(p, rc, "connlimit", gm_xasprintf("refusing new sessions of ordinary roles on \"%s\" "
							      "(connection limit 0)", p->source), step_connlimit, err);
		rc = run_step(p, rc, "hba-lock", gm_xstrdup("locking remote access"), step_hba_lock, err);
		rc = run_step(p, rc, "sessions", gm_xasprintf("ending remote sessions (after %d s), looking for local ones on \"%s\"",
							      p->o->grace, p->source), step_sessions, err);
		if (!up)
			rc = run_step(p, rc, "snapshot", NULL, step_snapshot, err);
		rc = run_step(p, rc, up ? "upgrade-done" : "fixup-done", NULL, step_work, err);
		if (up) {
			rc = run_step(p, rc, "unnotice-target", gm_xasprintf("taking the notice out of the banner of \"%s\"",
									     p->target), step_unnotice_target, err);
			if (p->o->announce >= 0)
				rc = run_step(p, rc, "unannounce-target", gm_xasprintf("taking the announcement out of the "
										       "inboxes of \"%s\"", p->target),
					      step_unannounce_target, err);
			rc = run_step(p, rc, "build-record", gm_xasprintf("recording the state \"%s\" was built in", p->target),
				      step_build_record, err);
			rc = run_step(p, rc, "replaced-notice", gm_xasprintf("saying in the banner of \"%s\" that \"%s\" replaced it",
									     p->source, p->target), step_replaced_notice, err);
		} else {
			rc = run_step(p, rc, "unnotice", gm_xasprintf("taking the notice out of the banner of \"%s\"", p->source),
				      step_unnotice_source, err);
		}
		if (p->o->announce >= 0)
			rc = run_step(p, rc, "unannounce", gm_xasprintf("taking the announcement out of the inboxes of \"%s\"",
									p->source), step_unannounce_source, err);
		rc = run_step(p, rc, "connlimit-restore", gm_xasprintf("restoring the connection limit of \"%s\"", p->source),
			      step_connlimit_restore, err);
		rc = run_step(p, rc, "hba-unlock", gm_xstrdup("re-opening remote access"), step_hba_unlock, err);
	}

	if (rc == GM_OK) {
		/* the point of no return: from here on, a crash is finished, not undone */
		rc = record(p, "commit", err);
		p->state = "unfinished";
		if (rc == GM_OK && (rc = finish(&p->ps, err)) < 0) {
			hint_recover(err, &p->ps, "Everything else is done; to finish it,");
			gm_journal_mute_warning();
		}
		if (rc == GM_OK)
			rc = gm_journal_remove(&p->ps, err);
		if (rc == GM_OK)
			p->state = "done";
		/* with --json, stdout is the JSON's */
		if (rc == GM_OK && p->kind == PROC_UPGRADE)
			end_screen(p, p->uo->json ? stderr : stdout);
		else if (rc == GM_OK)
			fprintf(p->fo->json ? stderr : stdout, "The downtime procedure is done: \"%s\" (v%d) is fixed up, access "
				"is open again.\n", p->source, p->from);
		goto out;
	}

	/* undo, as found: what was recorded, in reverse */
	if (gm_signals_caught() && !(err->message && strstr(err->message, "signal"))) {
		char *was = gm_xstrdup(err->message ? err->message : "");
		gm_error_set(err, GM_EFAIL, "interrupted by signal %d: %s", gm_signals_caught(), was);
		free(was);
	}
	if (p->ps.keys.n) {
		struct gm_error uerr = GM_ERROR_INIT;
		char *trouble = NULL;
		const char *tool = p->kind == PROC_UPGRADE ? "gm-upgrade_server" : "gm-fixup_server";
		char *next;
		int undone;
		gm_log(GM_LOG_NOTICE, "the downtime procedure failed: undoing what it did");
		p->state = "unfinished";
		undone = undo_all(&p->ps, NULL, &uerr);
		/* a full disk, a server that went down: say what to do first */
		next = undone == GM_OK ? gm_xasprintf("run the procedure again")
				       : gm_xasprintf("run \"%s --recover\": it undoes what the procedure did (it could not "
						      "now: %s)", tool, uerr.message ? uerr.message : "?");
		gm_space_server_failed(err, next, &trouble);
		free(next);
		if (trouble && undone < 0) {
			free(err->hint);
			err->hint = trouble;
			trouble = NULL;
			gm_journal_mute_warning();
		} else if (trouble) {
			gm_journal_remove(&p->ps, NULL);
			p->state = "undone";
			free(err->hint);
			err->hint = gm_xasprintf("%s Everything the procedure did is undone.", trouble);
		} else if (undone == GM_OK) {
			gm_journal_remove(&p->ps, NULL);
			p->state = "undone";
			gm_error_hint(err, "%s%sEverything is as it was before the procedure: banner, connection limit, remote access%s.",
				      err->hint ? err->hint : "", err->hint ? " " : "",
				      p->kind == PROC_UPGRADE ? ", no new database" : ", the database (from its snapshot)");
		} else {
			char *why = gm_xasprintf("Not everything could be undone (%s): fix that, then,",
						 uerr.message ? uerr.message : "?");
			hint_recover(err, &p->ps, why);
			free(why);
			gm_journal_mute_warning();
		}
		gm_error_release(&uerr);
		free(trouble);
	}
out:
	gm_journal_release(&p->ps);
	return rc;
}

/*
 * --json: one document for the whole procedure, on every path, also when
 * it stopped before its first change: what it was, its result, what it
 * left ("done", "nothing changed", "undone", "unfinished": --recover), the
 * error and hint, and the upgrade's or fixup's own summary (null when it
 * did not run).
 */
static void print_procedure_json(const struct proc *p, int rc, const struct gm_error *err)
{
	FILE *out = stdout;
	bool up = p->kind == PROC_UPGRADE;

	fputs("{\n  \"procedure\": ", out);
	gm_json_string(out, up ? "upgrade" : "fixup");
	fputs(",\n  \"source\": ", out);
	gm_json_string(out, p->source);
	fputs(up ? ",\n  \"target\": " : ",\n  \"snapshot\": ", out);
	gm_json_string(out, up ? p->target : p->snapshot);
	if (p->source)
		fprintf(out, ",\n  \"from\": %d,\n  \"to\": %d", p->from, p->to);
	else
		fputs(",\n  \"from\": null,\n  \"to\": null", out);
	fprintf(out, ",\n  \"result\": \"%s\",\n  \"state\": ", rc == GM_OK ? "ok" : "failed");
	gm_json_string(out, p->state ? p->state : "nothing changed");
	fprintf(out, ",\n  \"exit_status\": %d,\n  \"error\": ", gm_exit_status(rc));
	gm_json_string(out, rc < 0 && err ? err->message : NULL);
	fputs(",\n  \"hint\": ", out);
	gm_json_string(out, rc < 0 && err ? err->hint : NULL);
	fputs(",\n  \"log_file\": ", out);
	gm_json_string(out, gm_log_file_path());
	fprintf(out, ",\n  \"%s\": ", up ? "upgrade" : "fixup");
	if (p->work_json && *p->work_json) {
		size_t n = strlen(p->work_json);
		while (n && (p->work_json[n - 1] == '\n' || p->work_json[n - 1] == ' '))
			n--;
		fwrite(p->work_json, 1, n, out);
	} else {
		fputs("null", out);
	}
	fputs("\n}\n", out);
	fflush(out);
}

int gm_downtime_upgrade(const struct gm_upgrade_opts *uo, const struct gm_downtime_opts *o, struct gm_error *err)
{
	struct proc p;
	struct gm_engine e;
	char *conf;
	int rc;

	memset(&p, 0, sizeof(p));
	p.kind = PROC_UPGRADE;
	p.from = uo->from;
	p.to = uo->to;
	p.o = o;
	p.uo = uo;
	gm_engine_init(&e);
	conf = gm_xasprintf("update_db-v%d_v%d.conf", uo->from, uo->to);
	{
		char *path = gm_xasprintf("%s/bootstrap/%s", gm_upstream_dir(uo->upstream_dir), conf);
		if (access(path, R_OK) != 0)
			rc = gm_error_set(err, GM_EUSAGE, "upstream's tree has no upgrade from v%d to v%d (no %s)", uo->from,
					  uo->to, path);
		else if ((rc = gm_hashes_from_tree(gm_upstream_dir(uo->upstream_dir), err)) == GM_OK)
			rc = gm_engine_prepare(&e, gm_upstream_dir(uo->upstream_dir), conf, NULL, err);
		free(path);
	}
	free(conf);
	if (rc == GM_OK) {
		p.source = gm_xstrdup(e.template_db);
		p.target = gm_xstrdup(e.target);
		p.tablespace = e.tablespace;
		rc = procedure(&p, err);
	}
	if (uo->json)
		print_procedure_json(&p, rc, err);
	gm_engine_release(&e);
	free(p.source);
	free(p.target);
	free(p.work_json);
	return rc;
}

int gm_downtime_fixup(const struct gm_fixup_opts *fo, const struct gm_downtime_opts *o, struct gm_error *err)
{
	struct proc p;
	struct resolve_arg a = { fo };
	char *res = NULL, *sp;
	int rc;

	memset(&p, 0, sizeof(p));
	p.kind = PROC_FIXUP;
	p.o = o;
	p.fo = fo;
	gm_signals_install();
	rc = run_child(resolve_child, &a, NULL, NULL, &res, err);
	if (rc == GM_OK && (!res || !(sp = strchr(res, ' '))))
		rc = gm_error_set(err, GM_EFAIL, "could not find the database to fix");
	if (rc == GM_OK) {
		p.from = p.to = atoi(res);
		p.source = gm_xstrdup(sp + 1);
		p.snapshot = gm_xasprintf("%s" SNAPSHOT_SUFFIX, p.source);
		if (strlen(p.snapshot) > 63)
			rc = gm_error_set(err, GM_EUSAGE, "the snapshot's name \"%s\" is too long for PostgreSQL", p.snapshot);
	}
	if (rc == GM_OK)
		rc = procedure(&p, err);
	if (fo->json)
		print_procedure_json(&p, rc, err);
	free(res);
	free(p.source);
	free(p.snapshot);
	free(p.work_json);
	return rc;
}

/*
 * What --recover acts on must make sense as a whole, not only parse: the
 * records this gmdb writes, a known procedure, the names undo needs.
 * GM_ECHECK (with what to check by hand) otherwise.
 */
static int check_journal(const struct gm_journal *j, struct gm_error *err)
{
	static const char *const keys[] = { "procedure", "from", "to", "source", "started", "pid", "snapshot",
					    "keep_snapshot", "intent", "child_pid", "connlimit_old", "hba_was_locked",
					    "target", "source_comment", "source_comment_null", "build_record", "target_role_existed",
					    "server_host",
					    "server_port", "server_data_directory", NULL };
	static const char *const intents[] = { "notice", "connlimit", "hba-lock", "snapshot", "upgrade", "fixup",
					       "unnotice-target", "replaced-notice", "unnotice", "connlimit-restore", "announce",
					       "unannounce-target", "unannounce",
					       "hba-unlock", "commit", NULL };
	const char *kind = gm_journal_get(j, "procedure");
	char *problem = NULL;

	for (size_t i = 0; i < j->keys.n && !problem; i++) {
		const char *const *k;
		for (k = keys; *k && strcmp(*k, j->keys.v[i]) != 0; k++)
			;
		if (!*k)
			problem = gm_xasprintf("it records \"%s\", which this gmdb does not know", j->keys.v[i]);
		else if (strcmp(*k, "intent") == 0) {
			for (k = intents; *k && strcmp(*k, j->vals.v[i]) != 0; k++)
				;
			if (!*k)
				problem = gm_xasprintf("it records a step \"%s\", which this gmdb does not know", j->vals.v[i]);
		}
	}
	if (!problem && (!kind || (strcmp(kind, "upgrade") != 0 && strcmp(kind, "fixup") != 0)))
		problem = gm_xstrdup("it does not say which procedure it is (upgrade or fixup)");
	if (!problem && !gm_journal_get(j, "source"))
		problem = gm_xstrdup("it does not name the database the procedure worked on");
	if (!problem && strcmp(kind, "fixup") == 0 && !gm_journal_get(j, "snapshot"))
		problem = gm_xstrdup("it does not name the fixup's snapshot");
	if (!problem && gm_journal_has(j, "intent", "upgrade") && !gm_journal_get(j, "target"))
		problem = gm_xstrdup("it does not name the upgrade's target");
	if (!problem && gm_journal_has(j, "intent", "connlimit") && !gm_journal_get(j, "connlimit_old"))
		problem = gm_xstrdup("it does not record the connection limit it changed");
	if (!problem)
		return GM_OK;
	gm_error_set(err, GM_ECHECK, "could not understand the journal \"%s\": %s", j->path, problem);
	gm_error_hint(err, "Check by hand what the procedure may have left: the logon banner of its databases "
			   "(gm-banner DATABASE show; gm-banner DATABASE unnotice), their connection limit (ALTER "
			   "DATABASE ... CONNECTION LIMIT), remote access (gm-hba-lock status; gm-hba-lock unlock), a "
			   "target gnumed_vN or snapshot DATABASE_gmdb_snapshot left behind. Then remove the journal by hand.");
	free(problem);
	return GM_ECHECK;
}

/* Take out the temporary peer grants of runs that are gone (a killed
 * upgrade or fixup child): they name no run that could take them back. */
static void peer_leftovers(void)
{
	struct gm_error perr = GM_ERROR_INIT;
	PGconn *c = open_cluster(&perr);

	if (c)
		gm_owner_take_out_leftovers(c);
	else
		gm_log(GM_LOG_WARNING, "could not look for temporary owner access left behind: %s", perr.message);
	gm_conn_close(c);
	gm_error_release(&perr);
}

/*
 * The server the journal is about (format 2 records it): its host and port
 * unless -h / -p name others, and in any case its data directory must be
 * the recorded one, so that a shell whose PGHOST or PGPORT name another
 * cluster undoes nothing there. GM_ECHECK when it is another server.
 */
static int find_server(struct gm_journal *ps, struct gm_error *err)
{
	const char *host = gm_journal_get(ps, "server_host"), *port = gm_journal_get(ps, "server_port");
	const char *dir = gm_journal_get(ps, "server_data_directory");
	char *have = NULL;
	PGconn *c;
	int rc;

	if (!gm_conn_opts.host && host)
		gm_conn_opts.host = gm_xstrdup(host);
	if (!gm_conn_opts.port && port)
		gm_conn_opts.port = gm_xstrdup(port);
	if (!dir)
		return GM_OK;  /* format 1: the options and the environment say which */
	if (!(c = open_cluster(err))) {
		gm_error_prefix(err, "could not connect to the server the journal names (%s%s%s)", host ? host : "",
				port ? ", port " : "", port ? port : "");
		return GM_EFAIL;
	}
	rc = gm_db_value(c, "SELECT pg_catalog.current_setting('data_directory')", 0, NULL, &have, err);
	gm_conn_close(c);
	if (rc == GM_OK && (!have || strcmp(have, dir) != 0)) {
		char *args = gm_server_args(host, port);
		rc = gm_error_set(err, GM_ECHECK, "the journal is about the server with the data directory %s, not %s",
				  dir, have ? have : "?");
		gm_error_detail(err, "Nothing was undone or changed; the journal \"%s\" is kept.", ps->path);
		gm_error_hint(err, "Leave out -h and -p (the journal names the server%s), or give that server's.", args);
		free(args);
	}
	free(have);
	return rc;
}

int gm_downtime_recover(struct gm_error *err)
{
	struct gm_buf did = GM_BUF_INIT;
	struct gm_journal ps;
	bool recorded;
	char *what = NULL;
	int rc;

	gm_journal_mute_warning();
	gm_journal_init(&ps, NULL);
	gm_signals_install();
	rc = gm_journal_lock(&ps, err);
	if (rc < 0)
		goto out;
	rc = gm_journal_read(&ps, err);
	recorded = rc == 1;
	if (rc == 1)
		rc = check_journal(&ps, err);
	if (rc == GM_ECHECK)
		gm_error_detail(err, "The journal \"%s\" is kept as it is; nothing was undone or changed.", ps.path);
	/* the journal's server (a journal that cannot be used is not followed) */
	if (rc >= 0) {
		struct gm_error serr = GM_ERROR_INIT;
		int src = find_server(&ps, &serr);
		if (src < 0) {
			gm_error_release(err);
			*err = serr;
			rc = src;
			goto out;
		}
	}
	/* what killed runs (a plain upgrade's too) left in pg_hba.conf goes
	 * first, whatever the journal says */
	peer_leftovers();
	if (rc == 0 && !recorded) {
		gm_log(GM_LOG_NOTICE, "no unfinished downtime procedure is recorded (%s): nothing to do", ps.path);
		goto out;
	}
	if (rc < 0)
		goto out;
	what = gm_journal_describe(&ps);
	gm_owner_limited_database(gm_journal_get(&ps, "source"));
	if (gm_journal_has(&ps, "intent", "commit")) {
		gm_log(GM_LOG_NOTICE, "the %s (started %s) had got through: finishing it", what,
		       gm_journal_get(&ps, "started") ? gm_journal_get(&ps, "started") : "?");
		rc = finish(&ps, err);
	} else {
		gm_log(GM_LOG_NOTICE, "undoing the unfinished %s (started %s, process %s)", what,
		       gm_journal_get(&ps, "started") ? gm_journal_get(&ps, "started") : "?",
		       gm_journal_get(&ps, "pid") ? gm_journal_get(&ps, "pid") : "?");
		rc = undo_all(&ps, &did, err);
	}
	if (rc == GM_OK)
		rc = gm_journal_remove(&ps, err);
	if (rc == GM_OK && gm_journal_has(&ps, "intent", "commit"))
		printf("recovered: the %s is finished; the journal is gone\n", what);
	else if (rc == GM_OK)
		printf("recovered: the %s is undone, everything is as it was before it; the journal is gone\n%s%s", what,
		       did.len ? "What --recover undid:\n" : "There was nothing left to undo.\n", gm_buf_str(&did));
	else
		hint_recover(err, &ps, "Fix the cause; then, to do what is still to do,");
out:
	free(what);
	gm_buf_release(&did);
	gm_journal_release(&ps);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Retire                                                              */
/* ------------------------------------------------------------------ */

int gm_downtime_retire(int version, bool undo, struct gm_error *err)
{
	char *db = gm_xasprintf("gnumed_v%d", version);
	PGconn *c = NULL;
	struct gm_found *found = NULL;
	struct gm_buf who = GM_BUF_INIT;
	size_t n = 0;
	int rc, newest = -1, mine = -2, nsess = 0;
	bool root = geteuid() == 0;  /* before connecting drops root */

	c = gm_conn_open("template1", LABEL, err);
	if (!c) {
		rc = GM_EFAIL;
		goto out;
	}
	rc = db_exists(c, db, NULL, err);
	if (rc == 0)
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" does not exist", db);
	if (rc < 0)
		goto out;
	if (undo) {
		rc = gm_db_execf(c, err, "ALTER DATABASE %I WITH ALLOW_CONNECTIONS true", db);
		if (rc == GM_OK)
			printf("\"%s\" accepts connections again\n", db);
		goto out;
	}
	rc = gm_discover(&found, &n, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (found[i].version > newest)
			newest = found[i].version;
		if (strcmp(found[i].name, db) == 0)
			mine = found[i].version;
	}
	if (mine == -2) {
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" is not a GNUmed database that accepts connections", db);
		goto out;
	}
	if (mine < 0 || mine >= newest) {
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" is the newest GNUmed database of the cluster%s", db,
				  mine < 0 ? " (or its schema hash is unknown)" : "");
		gm_error_hint(err, "Retire an old database only once a newer one has replaced it.");
		goto out;
	}
	rc = sessions_on(c, db, &who, &nsess, err);
	if (rc == GM_OK && nsess) {
		rc = gm_error_set(err, GM_ECHECK, "%d session%s open on \"%s\"", nsess, nsess == 1 ? " is" : "s are", db);
		gm_error_detail(err, "Who is still using it:%s", gm_buf_str(&who));
		gm_error_hint(err, "Point those programs at the new database (v%d), then run again.", newest);
	}
	if (rc == GM_OK)
		rc = gm_db_execf(c, err, "ALTER DATABASE %I WITH ALLOW_CONNECTIONS false", db);
	if (rc == GM_OK) {
		char *args = gm_conn_where_args(), *user = gm_shell_quote(gm_conn_user());
		printf("\"%s\" (v%d) is retired: it refuses connections; nothing in it was changed or dropped\n", db, mine);
		printf("undo: gm-upgrade_server --unretire %d%s\n", version, args);
		if (root)
			printf("  or: runuser -u postgres -- psql%s -d template1 -c 'ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS true'\n",
			       args, db);
		else
			printf("  or: psql%s -U %s -d template1 -c 'ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS true'\n",
			       args, user, db);
		free(args);
		free(user);
	}
out:
	gm_found_release(found, n);
	gm_buf_release(&who);
	gm_conn_close(c);
	free(db);
	return rc;
}
