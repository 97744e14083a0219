/*
 * owner.c - connections that are the database owner, not a superuser
 *
 * Nearly everything in a GNUmed database belongs to its owner (gm-dbo), an
 * ordinary role whose password practice staff know. A superuser session
 * that runs the owner's SQL, calls the owner's functions, reads the owner's
 * views or writes to tables with the owner's triggers hands the owner the
 * superuser's rights: SET SESSION AUTHORIZATION does not help, the owner's
 * code can RESET it. So gmdb touches a GNUmed database's content only on
 * connections whose authenticated user is the owner:
 *
 *  1. a direct connection as the owner, with the run's host and port and
 *     the owner's password from ~/.pgpass (PGPASSFILE), never prompted;
 *  2. else, on the local server, a temporary peer grant (lib/peer.c): a
 *     line in pg_hba.conf and pg_ident.conf that lets this process's OS
 *     user in as the owner, removed again when the run ends (and after a
 *     crash by the next run or gm-upgrade_server --recover);
 *  3. else an error saying how to give the owner's password.
 *
 * Superuser connections read pg_catalog and run DDL that executes nobody's
 * code (databases, roles, comments, REINDEX).
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct grant {
	char *role;
	struct gm_peer *peer;
	pid_t pid; /* the process that made it: a forked child leaves it alone */
};

static struct grant *grants;
static size_t n_grants;
static bool at_exit_registered;
static bool recovered;
static bool recover_claimed; /* by one thread (the checks' open sessions too) */
static char *limited_db; /* whose connection limit 0 the downtime procedure set */

static PGconn *superuser_conn(const char *db, const char *label, unsigned flags, struct gm_error *err);

void gm_owner_limited_database(const char *db)
{
	free(limited_db);
	limited_db = db ? gm_xstrdup(db) : NULL;
}

/*
 * The downtime procedure keeps everybody but superusers out of its
 * database with CONNECTION LIMIT 0, and that keeps the owner connections
 * of gmdb's own run out too. For the moment of connecting, the limit is
 * raised to the sessions already there plus one, and put back to 0 at
 * once: only a local session that starts in that moment could slip in
 * (remote access is locked). A crash in between leaves a limit that
 * --recover puts back to the one the procedure recorded.
 */
struct gm_owner_gap {
	PGconn *su;
	char *db;
};

/* Open the gap: raise db's limit of 0 to the sessions there plus one.
 * *gap NULL (GM_OK) when db is not the procedure's or its limit is not 0. */
static int owner_gap_open(const char *db, unsigned flags, struct gm_owner_gap **gap, struct gm_error *err)
{
	const char *p[1] = { db };
	char *lim = NULL, *n = NULL;
	PGconn *su;
	int rc;

	*gap = NULL;
	if (!limited_db || strcmp(limited_db, db) != 0)
		return GM_OK;
	su = superuser_conn("template1", "gmdb owner access", flags, err);
	if (!su)
		return GM_EFAIL;
	rc = gm_db_value(su, "SELECT datconnlimit FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) "
			     "$1::pg_catalog.name", 1, p, &lim, err);
	if (rc == GM_OK && lim && strcmp(lim, "0") == 0) {
		rc = gm_db_value(su, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity "
				     "WHERE datname OPERATOR(pg_catalog.=) $1::pg_catalog.name", 1, p, &n, err);
		if (rc == GM_OK)
			rc = gm_db_execf(su, err, "ALTER DATABASE %I CONNECTION LIMIT %d", db, atoi(n) + 1);
		if (rc == GM_OK) {
			*gap = gm_xcalloc(1, sizeof(**gap));
			(*gap)->su = su;
			(*gap)->db = gm_xstrdup(db);
			su = NULL;
		}
	}
	free(lim);
	free(n);
	gm_conn_close(su);
	return rc;
}

int gm_owner_gap_open(const char *db, struct gm_owner_gap **gap, struct gm_error *err)
{
	return owner_gap_open(db, 0, gap, err);
}

int gm_owner_gap_close(struct gm_owner_gap *gap, struct gm_error *err)
{
	int rc;

	if (!gap)
		return GM_OK;
	rc = gm_db_execf(gap->su, err, "ALTER DATABASE %I CONNECTION LIMIT 0", gap->db);
	gm_conn_close(gap->su);
	free(gap->db);
	free(gap);
	return rc;
}

static PGconn *connect_through_limit(const char *db, const char *role, const char *label, unsigned cflags,
				     unsigned flags, struct gm_error *err)
{
	PGconn *conn = NULL;

	for (int attempt = 0; attempt < 3 && !conn; attempt++) {
		struct gm_owner_gap *gap = NULL;
		struct gm_error cerr = GM_ERROR_INIT;
		if (owner_gap_open(db, flags, &gap, err) < 0)
			return NULL;
		conn = gm_conn_open_ex(db, role, label, cflags, &cerr);
		if (gm_owner_gap_close(gap, err) < 0) {
			gm_conn_close(conn);
			gm_error_release(&cerr);
			return NULL;
		}
		if (!conn && (attempt == 2 || !gap))
			gm_error_set(err, GM_EFAIL, "%s", cerr.message ? cerr.message : "could not connect");
		gm_error_release(&cerr);
		if (!gap)
			break; /* no limit to step through: that was the real answer */
	}
	return conn;
}

/* Connect as role to db, through the procedure's connection limit. */
static PGconn *owner_connect(const char *db, const char *role, const char *label, unsigned cflags, unsigned flags,
			     struct gm_error *err)
{
	if (limited_db && strcmp(limited_db, db) == 0)
		return connect_through_limit(db, role, label, cflags, flags, err);
	return gm_conn_open_ex(db, role, label, cflags, err);
}

void gm_owner_release(void)
{
	for (size_t i = 0; i < n_grants; i++) {
		struct gm_error err = GM_ERROR_INIT;
		if (grants[i].pid != getpid()) {
			free(grants[i].role);
			continue;
		}
		if (gm_peer_revoke(grants[i].peer, &err) < 0)
			gm_log(GM_LOG_WARNING, "could not take back the temporary access as \"%s\": %s%s%s", grants[i].role,
			       err.message ? err.message : "?", err.hint ? "\nhint: " : "", err.hint ? err.hint : "");
		else
			gm_log(GM_LOG_DEBUG, "took back the temporary access as \"%s\"", grants[i].role);
		gm_error_release(&err);
		free(grants[i].role);
	}
	free(grants);
	grants = NULL;
	n_grants = 0;
}

static void release_at_exit(void)
{
	gm_owner_release();
}

static bool granted(const char *role)
{
	for (size_t i = 0; i < n_grants; i++)
		if (grants[i].pid == getpid() && strcmp(grants[i].role, role) == 0)
			return true;
	return false;
}

/* The superuser connections this module opens: GM_CONN_KEEP_ROOT passed on. */
static PGconn *superuser_conn(const char *db, const char *label, unsigned flags, struct gm_error *err)
{
	return gm_conn_open_ex(db, NULL, label, GM_CONN_SAFE_PATH | (flags & GM_CONN_KEEP_ROOT), err);
}

/* The owner of the database c is connected to (pg_database.datdba) and
 * whether it is a superuser, read on c, a superuser's connection to db
 * (every name qualified: its search_path may be the database's own). */
static int owner_on(PGconn *c, const char *db, char **role, bool *super, struct gm_error *err)
{
	PGresult *res;
	int rc = GM_OK;

	*role = NULL;
	*super = false;
	res = gm_db_query(c, "SELECT r.rolname, r.rolsuper FROM pg_catalog.pg_database d "
			     "JOIN pg_catalog.pg_authid r ON r.oid OPERATOR(pg_catalog.=) d.datdba "
			     "WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()",
			  0, NULL, err);
	if (!res) {
		rc = GM_EFAIL;
	} else if (PQntuples(res) != 1) {
		rc = gm_error_set(err, GM_EFAIL, "could not connect to database \"%s\": it does not exist", db);
	} else {
		*role = gm_xstrdup(PQgetvalue(res, 0, 0));
		*super = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	}
	PQclear(res);
	return rc;
}

/* The same on a superuser connection of its own to db. */
static int owner_of(const char *db, char **role, bool *super, unsigned flags, struct gm_error *err)
{
	/* on a connection to db itself: a failure is the server's word on db */
	PGconn *c = superuser_conn(db, "gmdb owner", flags, err);
	int rc;

	*role = NULL;
	*super = false;
	if (!c)
		return GM_EFAIL;
	rc = owner_on(c, db, role, super, err);
	gm_conn_close(c);
	return rc;
}

void gm_owner_take_out_leftovers(PGconn *conn)
{
	struct gm_error err = GM_ERROR_INIT;
	int n = 0;

	if (gm_peer_recover(conn, &n, &err) < 0)
		gm_log(GM_LOG_WARNING, "could not look for temporary owner access left behind: %s",
		       err.message ? err.message : "?");
	else if (n > 0)
		gm_log(GM_LOG_NOTICE, "took out the temporary owner access that %d ended run(s) left in pg_hba.conf", n);
	gm_error_release(&err);
	__atomic_store_n(&recovered, true, __ATOMIC_RELEASE);
}

static int grant(const char *db, const char *role, unsigned flags, struct gm_error *err)
{
	struct gm_peer *peer = NULL;
	PGconn *c;
	int rc;

	if (granted(role))
		return GM_OK;
	c = superuser_conn(db, "gmdb owner access", flags, err);
	if (!c)
		return GM_EFAIL;
	if (!__atomic_load_n(&recovered, __ATOMIC_ACQUIRE))
		gm_owner_take_out_leftovers(c);
	/* the grant is for the OS user of this moment: a root process that
	 * stays root connects as the postgres OS user (GM_CONN_KEEP_ROOT), so
	 * it grants as that user too */
	if ((flags & GM_CONN_KEEP_ROOT) && geteuid() == 0) {
		rc = gm_conn_as_postgres(true, err);
		if (rc == GM_OK) {
			rc = gm_peer_grant(c, role, &peer, err);
			if (gm_conn_as_postgres(false, rc < 0 ? NULL : err) < 0 && rc == GM_OK)
				rc = GM_EFAIL;
		}
	} else {
		rc = gm_peer_grant(c, role, &peer, err);
	}
	gm_conn_close(c);
	if (rc < 0)
		return rc;
	grants = gm_xrealloc(grants, (n_grants + 1) * sizeof(*grants));
	grants[n_grants].role = gm_xstrdup(role);
	grants[n_grants].peer = peer;
	grants[n_grants].pid = getpid();
	n_grants++;
	if (!at_exit_registered) {
		atexit(release_at_exit);
		at_exit_registered = true;
	}
	return GM_OK;
}

/* Who conn's session user is (caller frees *user) and whether it is a
 * superuser. */
static int session_identity(PGconn *conn, char **user, bool *super, struct gm_error *err)
{
	PGresult *res = gm_db_query(conn, "SELECT pg_catalog.session_user()::pg_catalog.text, r.rolsuper "
					  "FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) pg_catalog.session_user()",
				    0, NULL, err);

	*user = NULL;
	*super = false;
	if (!res)
		return GM_EFAIL;
	if (PQntuples(res) == 1) {
		*user = gm_xstrdup(PQgetvalue(res, 0, 0));
		*super = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	}
	PQclear(res);
	return GM_OK;
}

/* Check what conn is: session_user must be role (a superuser only if the
 * role is one). */
static int verify(PGconn *conn, const char *role, struct gm_error *err)
{
	char *user;
	bool super;
	int rc = session_identity(conn, &user, &super, err);

	if (rc == GM_OK && (!user || strcmp(user, role) != 0))
		rc = gm_error_set(err, GM_EFAIL, "the connection meant for \"%s\" is not that role's", role);
	else if (rc == GM_OK && super)
		gm_log(GM_LOG_WARNING, "the database owner \"%s\" is a superuser: what it owns runs with all rights anyway",
		       role);
	free(user);
	return rc;
}

/* the run's user (-U, PGUSER) was found to be a superuser (read and set by
 * the plausibility checks' threads too: atomically) */
static bool user_is_super;

PGconn *gm_owner_open(const char *db, const char *role, const char *label, unsigned flags, struct gm_error *err)
{
	struct gm_error first = GM_ERROR_INIT;
	char *owner = NULL;
	bool super = false;
	PGconn *conn = NULL;
	int rc;
	unsigned cflags = GM_CONN_NO_PROMPT | (flags & (GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT));
	const char *user = gm_conn_opts.user && *gm_conn_opts.user ? gm_conn_opts.user : getenv("PGUSER");

	if (user && *user) {
		/* A run as a user of the admin's choosing (-U, PGUSER): if that
		 * user is no superuser, its own rights are all the owner's code
		 * can get, so its own connection (password, prompt and all) will
		 * do. */
		bool super_user;
		char *who;
		/* a superuser once, a superuser for the run: with the role
		 * known, no connection is needed to tell */
		if (role && __atomic_load_n(&user_is_super, __ATOMIC_RELAXED))
			goto owner;
		conn = gm_conn_open_ex(db, NULL, label, flags & (GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT), err);
		if (!conn)
			return NULL;
		if (session_identity(conn, &who, &super_user, err) < 0) {
			gm_conn_close(conn);
			return NULL;
		}
		free(who);
		__atomic_store_n(&user_is_super, super_user, __ATOMIC_RELAXED);
		if (!super_user && (!role || strcmp(user, role) == 0))
			return conn;
		/* a superuser: the same connection says who owns db */
		if (super_user && !role) {
			rc = owner_on(conn, db, &owner, &super, err);
			/* nobody below the superuser owns this database: this
			 * connection is what the open below would make */
			if (rc == GM_OK && super)
				goto done;
			gm_conn_close(conn);
			conn = NULL;
			if (rc < 0)
				return NULL;
			role = owner;
		} else {
			gm_conn_close(conn);
			conn = NULL;
		}
	}
owner:
	if (!role) {
		if (owner_of(db, &owner, &super, flags, err) < 0)
			return NULL;
		role = owner;
		if (super) {
			/* nobody below the superuser owns this database */
			conn = gm_conn_open_ex(db, NULL, label, flags & (GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT), err);
			goto done;
		}
	}
	/* what runs that ended (killed, crashed) left in pg_hba.conf goes
	 * first, once per run: a run that connects directly, through a dead
	 * run's rule, would never grant, and never take it out */
	if (!__atomic_load_n(&recovered, __ATOMIC_ACQUIRE) && !__atomic_exchange_n(&recover_claimed, true, __ATOMIC_ACQ_REL)) {
		struct gm_error rerr = GM_ERROR_INIT;
		/* on the maintenance database: not one more session on db */
		PGconn *su = gm_conn_open_maintenance("gmdb owner access", GM_CONN_SAFE_PATH | (flags & GM_CONN_KEEP_ROOT),
						      &rerr);
		if (su) {
			gm_owner_take_out_leftovers(su);
			gm_conn_close(su);
		} else {
			gm_log(GM_LOG_DEBUG, "not looking for temporary owner access left behind: %s",
			       rerr.message ? rerr.message : "?");
		}
		gm_error_release(&rerr);
	}
	if (!granted(role)) {
		conn = owner_connect(db, role, label, cflags, flags, &first);
		if (conn)
			gm_log(GM_LOG_DEBUG, "connected to \"%s\" as its owner \"%s\" directly", db, role);
	}
	if (!conn) {
		if (grant(db, role, flags, err) < 0) {
			gm_error_prefix(err, "could not connect to \"%s\" as its owner \"%s\"", db, role);
			if (first.message)
				gm_error_detail(err, "Directly: %s", first.message);
			if (!err->hint)
				gm_error_hint(err, "gmdb touches a GNUmed database's content only as its owner. Put the "
						   "owner's password into ~/.pgpass of the user running gmdb (root: /root/.pgpass, "
						   "postgres: ~postgres/.pgpass), or run gmdb as root on the database server.");
			conn = NULL;
			goto done;
		}
		conn = owner_connect(db, role, label, cflags, flags, err);
		if (!conn) {
			gm_error_prefix(err, "could not connect as the owner \"%s\" through the temporary access", role);
			goto done;
		}
	}
	if (verify(conn, role, err) < 0) {
		gm_conn_close(conn);
		conn = NULL;
	}
done:
	gm_error_release(&first);
	free(owner);
	return conn;
}

/*
 * The owner session of upstream's engine (spec 2.3 step 12): upstream
 * connects as the superuser and does SET SESSION AUTHORIZATION to the
 * owner; gmdb connects as the owner. So that the session sees the same
 * settings, every setting that a role-level default (ALTER ROLE ... SET)
 * of the owner gives a value the superuser's session would not have is
 * set to the superuser's session's value.
 */
PGconn *gm_owner_session(const char *db, const char *role, const char *label, struct gm_error *err)
{
	PGconn *su, *conn;
	PGresult *mine;
	struct gm_error serr = GM_ERROR_INIT;
	const char *q = "SELECT name, setting FROM pg_catalog.pg_settings "
			"WHERE source OPERATOR(pg_catalog.=) ANY (ARRAY['user', 'database user']::pg_catalog.text[]) ORDER BY name";

	conn = gm_owner_open(db, role, label, 0, err);
	if (!conn)
		return NULL;
	mine = gm_db_query(conn, q, 0, NULL, err);
	if (!mine) {
		gm_conn_close(conn);
		return NULL;
	}
	/* the superuser's session with the database's own search_path (what
	 * upstream's has), for reading its settings only */
	if (PQntuples(mine) > 0 && (su = gm_conn_open_ex(db, NULL, label, 0, &serr)) != NULL) {
		for (int i = 0; i < PQntuples(mine); i++) {
			const char *p[1] = { PQgetvalue(mine, i, 0) };
			char *val = NULL;
			if (gm_db_value(su, "SELECT pg_catalog.current_setting($1)", 1, p, &val, NULL) == GM_OK && val) {
				const char *sp[2] = { p[0], val };
				PGresult *r = gm_db_run(conn, "SELECT pg_catalog.set_config($1, $2, false)", 2, sp, NULL);
				gm_log(GM_LOG_INFO, "%s: \"%s\" as upstream's session has it, not the owner's own \"%s\"%s", p[0],
				       val, PQgetvalue(mine, i, 1), r ? "" : " (could not set it)");
				PQclear(r);
			}
			free(val);
		}
		gm_conn_close(su);
	} else if (serr.message) {
		gm_log(GM_LOG_WARNING, "the owner's own settings stay: %s", serr.message);
	}
	gm_error_release(&serr);
	PQclear(mine);
	return gm_session_setup(conn, db, err);
}
