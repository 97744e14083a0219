/*
 * conn.c - reaching the cluster: privileges, connections, query helpers
 *
 * Run as root with no other database user asked for, the tools reach the
 * cluster the way upstream does: as the postgres superuser over the local
 * socket (peer authentication), after becoming the postgres OS user for good.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <pthread.h>
#include <sys/select.h>
#include <unistd.h>

static bool privs_done;
static char *default_user;
static char *prompted_password;

static const char *requested_user(void)
{
	if (gm_conn_opts.user && *gm_conn_opts.user)
		return gm_conn_opts.user;
	if (getenv("PGUSER") && *getenv("PGUSER"))
		return getenv("PGUSER");
	return NULL;
}

int gm_privs_drop(struct gm_error *err)
{
	const char *u = requested_user();
	struct passwd *pw;

	if (privs_done)
		return GM_OK;
	if (geteuid() != 0 && getuid() == 0)
		return GM_OK; /* root acting as postgres for a moment (gm_conn_as_postgres): not for good */
	if (geteuid() != 0 || (u && strcmp(u, "postgres") != 0)) {
		privs_done = true;
		return GM_OK;
	}
	errno = 0;
	pw = getpwnam("postgres");
	if (!pw)
		return gm_error_set(err, GM_EFAIL, "could not find the OS user \"postgres\"%s%s",
				    errno ? ": " : "", errno ? strerror(errno) : "");
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		return gm_error_set(err, GM_EFAIL, "could not become the OS user \"postgres\": %s",
				    strerror(errno));
	if (setuid(0) == 0)
		return gm_error_set(err, GM_EFAIL, "could not drop root privileges for good");
	/* root's session's home and cache are not postgres's */
	setenv("HOME", pw->pw_dir, 1);
	unsetenv("XDG_CACHE_HOME");
	free(default_user);
	default_user = gm_xstrdup("postgres");
	privs_done = true;
	gm_log(GM_LOG_DEBUG, "running as the OS user \"postgres\" from now on");
	return GM_OK;
}

const char *gm_conn_user(void)
{
	const char *u = requested_user();
	if (u)
		return u;
	if (default_user)
		return default_user;
	struct passwd *pw = getpwuid(geteuid());
	default_user = gm_xstrdup(pw ? pw->pw_name : "postgres");
	return default_user;
}

static char *prompt_password(const char *user)
{
	struct termios old, quiet;
	char buf[1024];
	FILE *tty = fopen("/dev/tty", "r+");
	bool echo_off;

	if (!tty)
		return NULL;
	fprintf(tty, "Password for user %s: ", user);
	fflush(tty);
	echo_off = tcgetattr(fileno(tty), &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	if (!fgets(buf, sizeof(buf), tty))
		buf[0] = '\0';
	if (echo_off)
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	buf[strcspn(buf, "\r\n")] = '\0';
	return gm_xstrdup(buf);
}

/*
 * The switches every connection starts with, whatever the database's owner
 * gave the database (ALTER DATABASE ... SET, applied at login but weaker
 * than a client's switches):
 *   role=none: a database setting "role" would make the session act as that
 *     role; the superuser's session would then run as the owner;
 *   event_triggers=off, for the run's own user where it is a superuser, on
 *     PostgreSQL 17 and later: a login event trigger runs at login, before
 *     a safe search_path is set, as whoever logs in (and a DDL one beside
 *     every step).
 * An older server refuses a switch it does not know, and an ordinary user
 * the second one: the server's version, and whether the run's user is a
 * superuser (its role's rolsuper, which no setting of a database's
 * changes), are learnt from the run's first session on a maintenance
 * database (postgres, else template1; opened for that alone where the
 * first session of the run's own user goes elsewhere). Where neither can be
 * reached or read, the run's own sessions try both switches and go without
 * the second one only where the server refuses it by name. Learnt before
 * any thread of the run connects (the main thread connects first).
 */
#define OPTS_ALL "-c role=none"
#define OPTS_SUPER OPTS_ALL " -c event_triggers=off"
static pthread_mutex_t learn_mutex = PTHREAD_MUTEX_INITIALIZER;
static enum { LEARN_NOT_YET, LEARN_BUSY, LEARNT, LEARN_FAILED } learn_state;
static bool super_opts;

static bool is_maintenance(const char *dbname)
{
	return strcmp(dbname, "postgres") == 0 || strcmp(dbname, "template1") == 0;
}

static void learnt_as(int state, bool super)
{
	pthread_mutex_lock(&learn_mutex);
	learn_state = state;
	super_opts = super;
	pthread_mutex_unlock(&learn_mutex);
}

/* From conn, a session of the run's own user: true if it could tell. */
static bool learn(PGconn *conn)
{
	const char *p[1] = { PQuser(conn) };
	char *v = NULL;
	bool super;

	if (gm_db_value(conn, "SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) $1",
			1, p, &v, NULL) < 0 || !v) {
		free(v);
		return false;
	}
	super = strcmp(v, "t") == 0;
	free(v);
	learnt_as(LEARNT, PQserverVersion(conn) >= 170000 && super);
	gm_log(GM_LOG_DEBUG, "server %d, \"%s\" %s superuser: sessions start with \"%s\"", PQserverVersion(conn),
	       PQuser(conn), super ? "a" : "no", gm_conn_options(true));
	return true;
}

const char *gm_conn_options(bool own)
{
	bool s;

	pthread_mutex_lock(&learn_mutex);
	s = own && (learn_state == LEARN_FAILED || (learn_state == LEARNT && super_opts));
	pthread_mutex_unlock(&learn_mutex);
	return s ? OPTS_SUPER : OPTS_ALL;
}

static PGconn *connect_once(const char *dbname, const char *user, const char *label, const char *password,
			    const char *options, unsigned flags)
{
	const char *keys[13], *vals[13];
	int n = 0;

	if (gm_conn_opts.host) { keys[n] = "host"; vals[n++] = gm_conn_opts.host; }
	if (gm_conn_opts.port) {
		keys[n] = "port";
		vals[n++] = gm_conn_opts.port;
	} else if ((!getenv("PGPORT") || !*getenv("PGPORT")) && getenv("GM_DB_PORT") && *getenv("GM_DB_PORT")) {
		/* upstream's engine and wrappers take the port from GM_DB_PORT */
		keys[n] = "port";
		vals[n++] = getenv("GM_DB_PORT");
	}
	keys[n] = "user"; vals[n++] = user;
	keys[n] = "dbname"; vals[n++] = dbname;
	if (password) { keys[n] = "password"; vals[n++] = password; }
	keys[n] = "application_name"; vals[n++] = label ? label : gm_log_progname();
	keys[n] = "fallback_application_name"; vals[n++] = gm_log_progname();
	keys[n] = "client_encoding"; vals[n++] = "UTF8";
	/* PGOPTIONS (or a service file's options) would set anything, the
	 * search_path the schema hash depends on too: ignored, replaced by
	 * gmdb's own (gm_conn_options) */
	keys[n] = "options"; vals[n++] = options;
	if (flags & GM_CONN_BRIEF) { keys[n] = "connect_timeout"; vals[n++] = "5"; }
	keys[n] = NULL; vals[n] = NULL;
	return PQconnectdbParams(keys, vals, 0);
}

/* libpq's messages may span lines; a one-line error reads better. */
static char *one_line(const char *msg)
{
	struct gm_buf b = GM_BUF_INIT;
	for (const char *p = msg; *p; p++) {
		if (*p == '\n' || *p == '\t') {
			if (p[1] && b.len && b.data[b.len - 1] != ' ')
				gm_buf_adds(&b, " ");
		} else {
			gm_buf_addc(&b, *p);
		}
	}
	gm_buf_rtrim(&b);
	return gm_buf_detach(&b);
}

/*
 * GM_CONN_KEEP_ROOT: peer authentication sees the effective uid of the
 * process at connect() time, so root becomes the postgres OS user for the
 * connect only (effective ids; the real and saved ids stay root's) and is
 * root again afterwards.
 */
static bool keeps_root(unsigned flags)
{
	const char *u = requested_user();
	return (flags & GM_CONN_KEEP_ROOT) && geteuid() == 0 && (!u || strcmp(u, "postgres") == 0);
}

static int as_postgres(bool enter, struct gm_error *err)
{
	static gid_t saved_egid;
	struct passwd *pw;

	if (!enter) {
		if (seteuid(0) < 0 || setegid(saved_egid) < 0)
			return gm_error_set(err, GM_EFAIL, "could not become root again: %s", strerror(errno));
		return GM_OK;
	}
	saved_egid = getegid();
	errno = 0;
	pw = getpwnam("postgres");
	if (!pw)
		return gm_error_set(err, GM_EFAIL, "could not find the OS user \"postgres\"%s%s",
				    errno ? ": " : "", errno ? strerror(errno) : "");
	if (setegid(pw->pw_gid) < 0 || seteuid(pw->pw_uid) < 0) {
		int e = errno;
		as_postgres(false, NULL);
		return gm_error_set(err, GM_EFAIL, "could not act as the OS user \"postgres\": %s", strerror(e));
	}
	return GM_OK;
}

int gm_conn_as_postgres(bool enter, struct gm_error *err)
{
	return as_postgres(enter, err);
}

/* The first connection's server (see gm_conn_where). */
static char *where_host, *where_port;

void gm_conn_where(const char **host, const char **port)
{
	const char *h = where_host, *p = where_port;

	if (!h) {
		h = gm_conn_opts.host ? gm_conn_opts.host : getenv("PGHOST");
		if (h && !*h)
			h = NULL;
	}
	if (!p && !where_host) {
		p = gm_conn_opts.port ? gm_conn_opts.port : getenv("PGPORT");
		if ((!p || !*p) && getenv("GM_DB_PORT") && *getenv("GM_DB_PORT"))
			p = getenv("GM_DB_PORT");
		if (p && !*p)
			p = NULL;
	}
	*host = h;
	*port = p;
}

char *gm_conn_where_args(void)
{
	const char *h, *p;
	gm_conn_where(&h, &p);
	return gm_server_args(h, p);
}

/* What the server says on any of gmdb's connections (NOTICE, INFO,
 * WARNING: REINDEX (VERBOSE)'s lines, the owner's RAISE NOTICE) goes to
 * the log, not to the admin's terminal. */
void gm_conn_log_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	(void)arg;
	gm_log(sev && strcmp(sev, "WARNING") == 0 ? GM_LOG_INFO : GM_LOG_DEBUG, "server: %s%s%s", sev ? sev : "",
	       sev ? ": " : "", msg ? msg : PQresultErrorMessage(res));
}

/* How many connections this process opened to each database (the early
 * plausibility checks tell their own sessions on the source from others'). */
static struct opened {
	char *db;
	long n;
} *opened;
static size_t n_opened;

static void count_opened(const char *db)
{
	for (size_t i = 0; i < n_opened; i++)
		if (strcmp(opened[i].db, db) == 0) {
			opened[i].n++;
			return;
		}
	opened = gm_xrealloc(opened, (n_opened + 1) * sizeof(*opened));
	opened[n_opened].db = gm_xstrdup(db);
	opened[n_opened++].n = 1;
}

long gm_conn_opened(const char *db)
{
	for (size_t i = 0; i < n_opened; i++)
		if (strcmp(opened[i].db, db) == 0)
			return opened[i].n;
	return 0;
}

static PGconn *open_conn(const char *dbname, const char *user, const char *label, unsigned flags, bool own,
			 struct gm_error *err);
/*
 * The backends of the sessions this process closed (the latest CLOSED_MAX:
 * the checks' two sides close up to 2 x 64 with --jobs 64), for
 * gm_conn_wait_closed. Lock-free: sessions close in the checks' threads
 * too, and children fork beside them; by the time it reads them those
 * threads have been joined. A slot claimed but not written yet reads as 0
 * or an older pid: no match, or at worst the wait's 5 s.
 */
#define CLOSED_MAX 256
static int closed_pids[CLOSED_MAX];
static size_t n_closed;

void gm_conn_note_closed(int pid)
{
	if (pid > 0) {
		size_t i = __atomic_fetch_add(&n_closed, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&closed_pids[i % CLOSED_MAX], pid, __ATOMIC_RELEASE);
	}
}

void gm_conn_finish(PGconn *conn)
{
	if (conn && PQstatus(conn) == CONNECTION_OK)
		gm_conn_note_closed(PQbackendPID(conn));
	PQfinish(conn);
}


/* Before the run's first session of its own user (gm_conn_options): to
 * dbname if that is a maintenance database (*here: learn from it), else
 * learnt now from a session opened for it. */
static void learn_first(const char *dbname, const char *user, const char *label, unsigned flags, bool *here)
{
	static const char *const dbs[] = { "postgres", "template1" };

	*here = false;
	pthread_mutex_lock(&learn_mutex);
	if (learn_state != LEARN_NOT_YET) {
		pthread_mutex_unlock(&learn_mutex);
		return;
	}
	learn_state = LEARN_BUSY;
	pthread_mutex_unlock(&learn_mutex);
	if (is_maintenance(dbname)) {
		*here = true;
		return;
	}
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		struct gm_error e = GM_ERROR_INIT;
		PGconn *c = open_conn(dbs[i], user, label, flags & ~(unsigned)GM_CONN_SAFE_PATH, false, &e);
		bool done = c && learn(c);

		if (!c)
			gm_log(GM_LOG_DEBUG, "%s", e.message ? e.message : "?");
		gm_error_release(&e);
		gm_conn_finish(c);
		if (done)
			return;
	}
	gm_log(GM_LOG_DEBUG, "could not learn the server's version from a maintenance database: trying \"%s\"",
	       OPTS_SUPER);
	learnt_as(LEARN_FAILED, false);
}

/*
 * The output format of DateStyle as psycopg2 leaves it on each of
 * upstream's connections: one that does not start with "ISO" (set by the
 * server's configuration, or a database's or role's ALTER ... SET) is set
 * to ISO, its day/month order kept. Upstream's SQL turns timestamps into
 * text (clock_timestamp()::text in the rows it writes): they read as
 * upstream's would.
 */
static bool iso_dates(PGconn *conn)
{
	const char *ds = PQparameterStatus(conn, "DateStyle");
	PGresult *res;
	bool ok;

	if (ds && strncmp(ds, "ISO", 3) == 0)
		return true;
	res = PQexec(conn, "SET datestyle TO 'ISO'");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	gm_log(ok ? GM_LOG_DEBUG : GM_LOG_WARNING, "DateStyle \"%s\": set to ISO, as upstream's connections have it%s",
	       ds ? ds : "?", ok ? "" : ": could not");
	PQclear(res);
	return ok;
}

/*
 * A session on the maintenance database (postgres, template1), where the
 * run does its cluster-wide work (CREATE, DROP and ALTER DATABASE, roles),
 * is read-write whatever default_transaction_read_only the server's
 * configuration or a role gives it: upstream's engine makes the same
 * changes in read-write transactions or, around CREATE and DROP DATABASE,
 * in autocommit sessions psycopg2 sets read-write. A GNUmed database's own
 * default (ALTER DATABASE ... SET default_transaction_read_only, on a
 * database that is not a maintenance one) stays.
 */
static bool read_write(PGconn *conn)
{
	const char *ro = PQparameterStatus(conn, "default_transaction_read_only");
	PGresult *res;
	bool ok;

	if (!is_maintenance(PQdb(conn)) || (ro && strcmp(ro, "off") == 0))
		return true;
	res = PQexec(conn, "SET default_transaction_read_only TO off");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	gm_log(ok ? GM_LOG_DEBUG : GM_LOG_WARNING, "default_transaction_read_only \"%s\" on \"%s\": set to off%s",
	       ro ? ro : "?", PQdb(conn), ok ? "" : ": could not");
	PQclear(res);
	return ok;
}

static PGconn *open_conn(const char *dbname, const char *user, const char *label, unsigned flags, bool own,
			 struct gm_error *err)
{
	PGconn *conn;
	const char *password;
	bool may_prompt = !(flags & (GM_CONN_NO_PROMPT | GM_CONN_NO_ASK));
	bool learn_here = false;
	const char *options, *sa;

	/* first: its session may ask for the password */
	if (own)
		learn_first(dbname, user, label, flags, &learn_here);
	password = gm_conn_opts.password ? gm_conn_opts.password : prompted_password;
	if (flags & GM_CONN_NO_PROMPT)
		password = NULL; /* the run's password is the superuser's */
	if (may_prompt && !password && gm_conn_opts.ask_password && gm_cli_interactive())
		password = prompted_password = prompt_password(user);
	options = gm_conn_options(own);
	gm_log(GM_LOG_DEBUG, "connecting to database \"%s\" as \"%s\" (%s)", dbname, user, label ? label : gm_log_progname());
	conn = connect_once(dbname, user, label, password, options, flags);
	if (may_prompt && PQstatus(conn) == CONNECTION_BAD && PQconnectionNeedsPassword(conn) && !password &&
	    !gm_conn_opts.no_password && gm_cli_interactive()) {
		gm_conn_finish(conn);
		password = prompted_password = prompt_password(user);
		conn = connect_once(dbname, user, label, password, options, flags);
	}
	if (PQstatus(conn) == CONNECTION_BAD && strcmp(options, OPTS_SUPER) == 0 &&
	    strstr(PQerrorMessage(conn), "event_triggers")) {
		/* not learnt: an older server, or no superuser (the message
		 * names the setting in any language) */
		gm_conn_finish(conn);
		learnt_as(LEARNT, false);
		options = OPTS_ALL;
		gm_log(GM_LOG_DEBUG, "the server refuses event_triggers: sessions start with \"%s\"", options);
		conn = connect_once(dbname, user, label, password, options, flags);
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		if (learn_here)
			learnt_as(LEARN_NOT_YET, false);  /* the next session learns */
		char *msg = one_line(PQerrorMessage(conn));
		gm_error_set(err, GM_EFAIL, "could not connect to database \"%s\": %s", dbname, msg);
		if (PQconnectionNeedsPassword(conn))
			gm_error_hint(err, "Give the password in ~/.pgpass or PGPASSFILE, or run as root to connect as postgres over the local socket.");
		free(msg);
		gm_conn_finish(conn);
		return NULL;
	}
	/* a session acting as another role from its start: the database's
	 * settings would have to make it so (PostgreSQL ignores a database's
	 * session_authorization today; role is outweighed above) */
	sa = PQparameterStatus(conn, "session_authorization");
	if (sa && strcmp(sa, PQuser(conn)) != 0) {
		gm_error_set(err, GM_EFAIL, "could not connect to database \"%s\": its session acts as role \"%s\", not \"%s\"",
			     dbname, sa, PQuser(conn));
		gm_error_hint(err, "See what ALTER DATABASE ... SET gave it: psql -c '\\drds'");
		gm_conn_finish(conn);
		if (learn_here)
			learnt_as(LEARN_NOT_YET, false);
		return NULL;
	}
	if (learn_here && !learn(conn))
		learnt_as(LEARN_FAILED, false);
	PQsetNoticeReceiver(conn, gm_conn_log_notice, NULL);
	gm_log(GM_LOG_DEBUG, "connected to database \"%s\" as \"%s\" (backend %d)", dbname, PQuser(conn), PQbackendPID(conn));
	count_opened(dbname);
	if (!where_host && PQhost(conn) && *PQhost(conn)) {
		/* the server this run works on, for the commands its hints print */
		where_host = gm_xstrdup(PQhost(conn));
		where_port = PQport(conn) && *PQport(conn) ? gm_xstrdup(PQport(conn)) : NULL;
	}
	if (!iso_dates(conn)) {
		gm_error_from_conn(err, GM_EFAIL, conn, "could not set DateStyle to ISO on database \"%s\"", dbname);
		gm_conn_finish(conn);
		return NULL;
	}
	if (!read_write(conn)) {
		gm_error_from_conn(err, GM_EFAIL, conn, "could not make the session on database \"%s\" read-write", dbname);
		gm_conn_finish(conn);
		return NULL;
	}
	if (flags & GM_CONN_SAFE_PATH) {
		PGresult *res = PQexec(conn, "SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)");
		if (PQresultStatus(res) != PGRES_TUPLES_OK) {
			gm_error_from_result(err, GM_EFAIL, res, "could not set a safe search_path");
			PQclear(res);
			gm_conn_finish(conn);
			return NULL;
		}
		PQclear(res);
	}
	return conn;
}

/*
 * The pool (gm_conn_pool_begin): sessions of the run's own user closed
 * while it is on are kept, reset (DISCARD ALL: settings back to those the
 * session started with, no temporary objects, locks, prepared statements
 * or role), and given to the next open of the same database by the same
 * thread. Only the thread that began it uses it; only sessions opened with
 * no user named (the run's own user's: never one gm_owner_open opened as
 * the owner; any code that ran in a kept one ran as that same role).
 */
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static int pool_depth;
static pthread_t pool_thread;
#define POOL_MAX GM_CONN_POOL_MAX
/* where sessions for template1 go while the pool is on: a kept session on
 * template1, the default template, would make another user's CREATE
 * DATABASE wait and fail (lock.c's sessions are there too) */
#define MAINTENANCE_DB "postgres"
static bool no_maintenance_db; /* it could not be reached: template1, not kept */
static PGconn *parked[POOL_MAX];
static size_t n_parked;
static PGconn **poolable; /* opened while the pool was on, with no user named */
static size_t n_poolable;
static size_t n_reused; /* sessions given again since the pool began */

/* Is the pool on for this thread? Called with pool_mutex held. */
static bool pool_mine(void)
{
	return pool_depth > 0 && pthread_equal(pool_thread, pthread_self());
}

/*
 * A child forked while the pool is on shares the parked sessions' sockets
 * with its parent: it must neither take one (two processes speaking on one
 * session) nor close one (libpq's Terminate would end the parent's
 * session). Today's forks while the pool is on (lib/run.c's, lib/upgrade.c's
 * pg_dump) exec at once, and lib/downtime.c's worker forks before any pool
 * begins; this keeps any later one safe too. The child forgets the pool
 * without touching a session: their sockets close at its exec (libpq opens
 * them close-on-exec) or its exit. That covers the kept sessions only: a
 * session in use at the fork is the parent's, and the child must not close
 * it. The mutex is held across the fork, so that the child never inherits
 * it locked by another thread.
 */
static void pool_atfork_prepare(void)
{
	pthread_mutex_lock(&pool_mutex);
}

static void pool_atfork_parent(void)
{
	pthread_mutex_unlock(&pool_mutex);
}

static void pool_atfork_child(void)
{
	pool_depth = 0;
	n_parked = 0;
	poolable = NULL; /* the child's copy, left to its exec or exit */
	n_poolable = 0;
	pthread_mutex_unlock(&pool_mutex);
}

static void pool_atfork_register(void)
{
	pthread_atfork(pool_atfork_prepare, pool_atfork_parent, pool_atfork_child);
}

void gm_conn_pool_begin(void)
{
	static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
	bool first;

	pthread_once(&atfork_once, pool_atfork_register);
	pthread_mutex_lock(&pool_mutex);
	first = pool_depth++ == 0;
	if (first) {
		pool_thread = pthread_self();
		n_reused = 0;
	}
	pthread_mutex_unlock(&pool_mutex);
	if (first)
		gm_log(GM_LOG_DEBUG, "session pool on: the run's own sessions are kept and reused");
}

PGconn *gm_conn_open_maintenance(const char *label, unsigned flags, struct gm_error *err)
{
	PGconn *c = NULL;

	if (!no_maintenance_db) {
		c = gm_conn_open_ex(MAINTENANCE_DB, NULL, label, flags, err);
		if (c)
			return c;
		gm_error_release(err);
	}
	return gm_conn_open_ex("template1", NULL, label, flags, err);
}

/* Wait, on c, up to 5 s for the backends pids[0..n) to leave
 * pg_stat_activity (a closed session's backend takes some milliseconds to
 * exit): a count of a database's sessions right after must not see them.
 * A signal caught meanwhile ends the wait (*interrupted).
 * c's own backend never counts (its pid may be one of them again: the
 * system reuses process ids); another's that reuses one makes it wait the
 * 5 s, no worse. */
long gm_conn_wait_gone(PGconn *c, const int *pids, size_t n, bool *interrupted)
{
	struct gm_buf list = GM_BUF_INIT;
	const char *p[1];
	long left = 0;
	double until = gm_now() + 5.0;
	int signals = gm_signals_count();

	if (interrupted)
		*interrupted = false;
	if (!c || n == 0)
		return 0;
	gm_buf_addc(&list, '{');
	for (size_t i = 0; i < n; i++)
		gm_buf_addf(&list, "%s%d", i ? "," : "", pids[i]);
	gm_buf_addc(&list, '}');
	p[0] = gm_buf_str(&list);
	for (;;) {
		char *v = NULL;
		if (gm_db_value(c, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity "
				   "WHERE pid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.int4[]) "
				   "AND pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()",
				1, p, &v, NULL) != GM_OK || !v)
			left = 0;  /* cannot tell: not waited for */
		else
			left = atol(v);
		free(v);
		if (left > 0 && gm_signals_count() != signals) {
			if (interrupted)
				*interrupted = true;
			break;
		}
		if (left == 0 || gm_now() >= until)
			break;
		usleep(10000);
	}
	gm_buf_release(&list);
	return left;
}

void gm_conn_wait_closed(void)
{
	size_t total = __atomic_load_n(&n_closed, __ATOMIC_ACQUIRE), n = total < CLOSED_MAX ? total : CLOSED_MAX;
	int pids[CLOSED_MAX];
	struct gm_error err = GM_ERROR_INIT;
	PGconn *c;
	long left;
	/* on the maintenance database (its own backend is not waited for);
	 * it asks for no password at the end of a run, gives up on a server
	 * it cannot reach within 5 s (a run that failed because the network
	 * went away must not hang on it), and a run that kept root
	 * (gm-hba-lock) keeps it */
	const unsigned flags = GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT | GM_CONN_NO_ASK | GM_CONN_BRIEF;

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		pids[i] = __atomic_load_n(&closed_pids[i], __ATOMIC_ACQUIRE);
	c = gm_conn_open_maintenance("gmdb", flags, &err);
	if (!c) {
		gm_log(GM_LOG_DEBUG, "not waiting for the backends of the run's closed sessions to end: %s",
		       err.message ? err.message : "?");
	} else {
		bool interrupted;
		left = gm_conn_wait_gone(c, pids, n, &interrupted);
		if (interrupted)
			gm_log(GM_LOG_INFO, "%ld of the run's closed sessions still have a backend: not waiting for them "
					    "any longer (signal %d)", left, gm_signals_caught());
		else if (left > 0)
			gm_log(GM_LOG_INFO, "%ld of the run's closed sessions still had a backend after 5 s: they end by themselves",
			       left);
		PQfinish(c);
	}
	gm_error_release(&err);
}

size_t gm_conn_pool_flush(const char *db, int *pids, size_t max)
{
	size_t n = 0, kept = 0;

	pthread_mutex_lock(&pool_mutex);
	for (size_t i = 0; i < n_parked; i++) {
		if (db && strcmp(PQdb(parked[i]), db) != 0) {
			parked[kept++] = parked[i];
			continue;
		}
		if (pids && n < max)
			pids[n] = PQbackendPID(parked[i]);
		n++;
		gm_conn_finish(parked[i]);
	}
	n_parked = kept;
	pthread_mutex_unlock(&pool_mutex);
	return n < max ? n : max;
}

void gm_conn_pool_end(void)
{
	PGconn *waiter = NULL;
	int pids[POOL_MAX];
	size_t n, reused;

	pthread_mutex_lock(&pool_mutex);
	if (pool_depth == 0 || --pool_depth > 0) {
		pthread_mutex_unlock(&pool_mutex);
		return;
	}
	free(poolable);
	poolable = NULL;
	n_poolable = 0;
	/* one kept session on the maintenance database waits for the others'
	 * backends to be gone: what comes next (the clone, a count of the
	 * target's sessions) must not meet them */
	for (size_t i = 0; i < n_parked; i++)
		if (strcmp(PQdb(parked[i]), MAINTENANCE_DB) == 0) {
			waiter = parked[i];
			parked[i] = parked[--n_parked];
			break;
		}
	reused = n_reused;
	pthread_mutex_unlock(&pool_mutex);
	n = gm_conn_pool_flush(NULL, pids, POOL_MAX);
	gm_conn_wait_gone(waiter, pids, n, NULL);
	if (waiter)
		gm_conn_finish(waiter);
	gm_log(GM_LOG_DEBUG, "session pool off: %zu sessions reused, %zu kept sessions closed", reused, n + (waiter != NULL));
}

/* conn, opened (or taken from the pool) with no user named: the pool may
 * keep it when closed (never one on template1). */
static void pool_note(PGconn *conn)
{
	if (!conn || strcmp(PQdb(conn), "template1") == 0)
		return;
	pthread_mutex_lock(&pool_mutex);
	if (pool_mine()) {
		poolable = gm_xrealloc(poolable, (n_poolable + 1) * sizeof(*poolable));
		poolable[n_poolable++] = conn;
	}
	pthread_mutex_unlock(&pool_mutex);
}

/* A parked session of database dbname for this thread, set up as a new one
 * with flags and label would be; NULL if there is none (or it broke). */
static PGconn *pool_take(const char *dbname, const char *user, const char *label, unsigned flags)
{
	PGconn *conn = NULL;
	PGresult *res;
	const char *p[1] = { label ? label : gm_log_progname() };

	pthread_mutex_lock(&pool_mutex);
	if (pool_mine())
		for (size_t i = n_parked; i-- > 0;)
			if (strcmp(PQdb(parked[i]), dbname) == 0 && strcmp(PQuser(parked[i]), user) == 0) {
				conn = parked[i];
				parked[i] = parked[--n_parked];
				break;
			}
	pthread_mutex_unlock(&pool_mutex);
	if (!conn)
		return NULL;
	res = PQexecParams(conn,
			   (flags & GM_CONN_SAFE_PATH)
				   ? "SELECT pg_catalog.set_config('application_name', $1, false), "
				     "pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false)"
				   : "SELECT pg_catalog.set_config('application_name', $1, false)",
			   1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQtransactionStatus(conn) != PQTRANS_IDLE || !iso_dates(conn) ||
	    !read_write(conn)) {
		PQclear(res);
		gm_conn_finish(conn);
		return NULL;
	}
	PQclear(res);
	PQsetNoticeReceiver(conn, gm_conn_log_notice, NULL);
	pthread_mutex_lock(&pool_mutex);
	n_reused++;
	pthread_mutex_unlock(&pool_mutex);
	gm_log(GM_LOG_DEBUG, "reusing a session on database \"%s\" (backend %d)", dbname, PQbackendPID(conn));
	pool_note(conn);
	return conn;
}

/* Park conn if the pool takes it: true if it did. */
static bool pool_park(PGconn *conn)
{
	bool mine = false;
	PGresult *res;

	pthread_mutex_lock(&pool_mutex);
	for (size_t i = 0; i < n_poolable; i++)
		if (poolable[i] == conn) {
			mine = pool_mine();
			poolable[i] = poolable[--n_poolable];
			break;
		}
	pthread_mutex_unlock(&pool_mutex);
	if (!mine || PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
		return false;
	res = PQexec(conn, "DISCARD ALL");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		PQclear(res);
		return false;
	}
	PQclear(res);
	pthread_mutex_lock(&pool_mutex);
	if (pool_mine() && n_parked < POOL_MAX) {
		parked[n_parked++] = conn;
		conn = NULL;
	}
	pthread_mutex_unlock(&pool_mutex);
	return conn == NULL;
}

/* Is the pool on for this thread? */
static bool pool_on(void)
{
	bool on;

	pthread_mutex_lock(&pool_mutex);
	on = pool_mine();
	pthread_mutex_unlock(&pool_mutex);
	return on;
}

PGconn *gm_conn_open_ex(const char *dbname, const char *user, const char *label, unsigned flags,
			struct gm_error *err)
{
	PGconn *conn;

	/* the run's own cluster-wide reads while the pool is on: on the
	 * maintenance database, where a kept session is in nobody's way */
	if (!user && strcmp(dbname, "template1") == 0 && !no_maintenance_db && pool_on()) {
		struct gm_error merr = GM_ERROR_INIT;
		conn = gm_conn_open_ex(MAINTENANCE_DB, NULL, label, flags, &merr);
		if (!conn) {
			gm_log(GM_LOG_DEBUG, "no session on \"%s\" (%s): template1 it is, not kept", MAINTENANCE_DB,
			       merr.message ? merr.message : "?");
			no_maintenance_db = true;
		}
		gm_error_release(&merr);
		if (conn)
			return conn;
	}

	if (keeps_root(flags)) {
		if (!user && (conn = pool_take(dbname, "postgres", label, flags)))
			return conn;
		if (as_postgres(true, err) < 0)
			return NULL;
		gm_log(GM_LOG_DEBUG, "connecting as the OS user \"postgres\", staying root");
		/* the run's own user also where a caller names it */
		conn = open_conn(dbname, user ? user : "postgres", label, flags, !user || strcmp(user, "postgres") == 0,
				 err);
		if (as_postgres(false, err) < 0) {
			gm_conn_close(conn);
			return NULL;
		}
		if (!user)
			pool_note(conn);
		return conn;
	}
	if (gm_privs_drop(err) < 0)
		return NULL;
	if (!user && (conn = pool_take(dbname, gm_conn_user(), label, flags)))
		return conn;
	conn = open_conn(dbname, user ? user : gm_conn_user(), label, flags, !user || strcmp(user, gm_conn_user()) == 0,
			 err);
	if (!user)
		pool_note(conn);
	return conn;
}

PGconn *gm_conn_open(const char *dbname, const char *label, struct gm_error *err)
{
	return gm_conn_open_ex(dbname, NULL, label, GM_CONN_SAFE_PATH, err);
}

void gm_conn_close(PGconn *conn)
{
	if (conn && !pool_park(conn))
		gm_conn_finish(conn);
}

PGresult *gm_db_run(PGconn *conn, const char *sql, int nparams, const char *const *params,
		    struct gm_error *err)
{
	PGresult *res;
	ExecStatusType st;

	gm_log(GM_LOG_SQL, "%s", sql);
	for (int i = 0; i < nparams; i++)
		gm_log(GM_LOG_DEBUG, "  $%d = %s", i + 1, params[i] ? params[i] : "NULL");
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	gm_error_from_result(err, GM_EFAIL, res, "query failed");
	if (!res)
		gm_error_from_conn(err, GM_EFAIL, conn, "query failed");
	PQclear(res);
	return NULL;
}

PGresult *gm_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
		      struct gm_error *err)
{
	PGresult *res = gm_db_run(conn, sql, nparams, params, err);
	if (res && PQresultStatus(res) != PGRES_TUPLES_OK) {
		gm_error_set(err, GM_EFAIL, "query returned no result set");
		PQclear(res);
		return NULL;
	}
	return res;
}

int gm_db_exec(PGconn *conn, const char *sql, struct gm_error *err)
{
	PGresult *res;

	gm_log(GM_LOG_SQL, "%s", sql);
	/* the extended protocol: one statement, never a second one appended */
	res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(res);
		return GM_OK;
	}
	if (res)
		gm_error_from_result(err, GM_EFAIL, res, "command failed");
	else
		gm_error_from_conn(err, GM_EFAIL, conn, "command failed");
	PQclear(res);
	return GM_EFAIL;
}

int gm_db_value(PGconn *conn, const char *sql, int nparams, const char *const *params,
		char **out, struct gm_error *err)
{
	PGresult *res = gm_db_query(conn, sql, nparams, params, err);
	*out = NULL;
	if (!res)
		return GM_EFAIL;
	if (PQntuples(res) < 1 || PQnfields(res) < 1) {
		PQclear(res);
		return gm_error_set(err, GM_EFAIL, "query returned no rows");
	}
	if (!PQgetisnull(res, 0, 0))
		*out = gm_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return GM_OK;
}

char *gm_db_ident(PGconn *conn, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));
	char *r;
	if (!q) {
		fputs("libgmdb: could not quote an identifier\n", stderr);
		abort();
	}
	r = gm_xstrdup(q);
	PQfreemem(q);
	return r;
}

char *gm_db_literal(PGconn *conn, const char *value)
{
	char *q = PQescapeLiteral(conn, value, strlen(value));
	char *r;
	if (!q) {
		fputs("libgmdb: could not quote a literal\n", stderr);
		abort();
	}
	r = gm_xstrdup(q);
	PQfreemem(q);
	return r;
}

int gm_db_comment_database(PGconn *conn, const char *db, const char *text, struct gm_error *err)
{
	return gm_db_execf(conn, err, "COMMENT ON DATABASE %I IS %L", db, text);
}

int gm_db_server_version(PGconn *conn)
{
	return PQserverVersion(conn);
}

int gm_db_exec_watch(PGconn *conn, const char *sql, void (*tick)(void *data), void *data,
		     struct gm_error *err)
{
	PGresult *res, *failed = NULL;
	int rc = GM_OK;

	gm_log(GM_LOG_SQL, "%s", sql);
	if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return gm_error_from_conn(err, GM_EFAIL, conn, "could not send a command");
	for (;;) {
		while (PQisBusy(conn)) {
			fd_set rfds;
			struct timeval tv = { 1, 0 };
			int sock = PQsocket(conn);
			FD_ZERO(&rfds);
			FD_SET(sock, &rfds);
			if (select(sock + 1, &rfds, NULL, NULL, &tv) == 0) {
				if (tick)
					tick(data);
				continue;
			}
			if (!PQconsumeInput(conn))
				return gm_error_from_conn(err, GM_EFAIL, conn, "lost the connection");
		}
		res = PQgetResult(conn);
		if (!res)
			break;
		if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK && !failed) {
			failed = res;
			continue;
		}
		PQclear(res);
	}
	if (failed) {
		rc = gm_error_from_result(err, GM_EFAIL, failed, "command failed");
		PQclear(failed);
	}
	return rc;
}
