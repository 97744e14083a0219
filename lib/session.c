/*
 * session.c - connections set up the way upstream's engine sets up its own
 * (spec 2.2), and its transaction discipline
 *
 * Upstream's engine talks to PostgreSQL through psycopg2 connections that
 * are not in autocommit mode: every transaction starts implicitly with
 * "BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE" before the first
 * statement after a COMMIT or ROLLBACK. Its sessions set
 * plpgsql.extra_warnings/extra_errors to 'all' (which changes what
 * PL/pgSQL accepts), client_encoding UTF8 and the client's time zone.
 * Upstream's SQL was written and tested in such sessions, so gmdb runs it
 * in the same kind: the superuser's here, the owner's in owner.c
 * (gm_owner_session), which set themselves up with gm_session_setup().
 */
#include "gmdb-int.h"

#include <stdarg.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *client_tz;       /* what SET timezone gets, once detected */
static bool client_tz_numeric; /* an offset: "set time zone interval ..." */

/* Run a statement and COMMIT, ignoring failure (logged). */
static void try_and_commit(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	struct gm_error err = GM_ERROR_INIT;
	gm_session_begin(conn, NULL);
	PGresult *res = gm_db_run(conn, sql, nparams, params, &err);
	if (!res) {
		gm_log(GM_LOG_INFO, "ignored: %s", err.message);
		gm_db_exec(conn, "ROLLBACK", NULL);
	} else {
		PQclear(res);
		gm_db_exec(conn, "COMMIT", NULL);
	}
	gm_error_release(&err);
}

/*
 * The client's time zone as upstream detects it: $TZ, else the local zone's
 * name (tzname); the first one the server accepts (also as an abbreviation
 * it can expand), else the numeric offset.
 */
static void detect_timezone(PGconn *conn)
{
	struct gm_strv cand = GM_STRV_INIT;
	time_t now = time(NULL);
	struct tm lt;

	if (client_tz)
		return;
	tzset();
	localtime_r(&now, &lt);
	if (getenv("TZ") && *getenv("TZ"))
		gm_strv_push(&cand, getenv("TZ"));
	else
		gm_strv_push(&cand, tzname[lt.tm_isdst > 0 ? 1 : 0]);
	/* the candidates in order: the name, then its expansion, which is
	 * looked up (pg_timezone_names reads every zone file: 0.04-0.13 s)
	 * only when the server refuses the name */
	for (size_t i = 0, n = cand.n; i < cand.n && !client_tz; i++) {
		const char *p[1] = { cand.v[i] };
		PGresult *res = gm_db_run(conn, "SELECT pg_catalog.set_config('timezone', $1, false)", 1, p, NULL);
		char *name = NULL;
		if (res) {
			client_tz = gm_xstrdup(cand.v[i]);
			PQclear(res);
			break;
		}
		/* upstream's expansion of an abbreviation to a zone name */
		if (i < n && gm_db_value(conn, "SELECT DISTINCT ON (abbrev) name FROM pg_catalog.pg_timezone_names "
					       "WHERE abbrev = $1 AND name ~ '^[^/]+/[^/]+$' AND name !~ '^Etc/'",
					 1, p, &name, NULL) == GM_OK && name && strcmp(name, cand.v[i]) != 0)
			gm_strv_push(&cand, name);
		free(name);
	}
	if (!client_tz) {
		long off = lt.tm_gmtoff / 60;
		client_tz = gm_xasprintf("%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
		client_tz_numeric = true;
	}
	gm_log(GM_LOG_INFO, "client time zone: %s", client_tz);
	gm_strv_release(&cand);
}

PGconn *gm_session_open(const char *dbname, const char *label, struct gm_error *err)
{
	/* a superuser's session: not the database's own search_path, which
	 * its owner sets (operators of its own ahead of pg_catalog's) */
	return gm_session_setup(gm_conn_open_ex(dbname, NULL, label, GM_CONN_SAFE_PATH, err), dbname, err);
}

PGconn *gm_session_setup(PGconn *conn, const char *dbname, struct gm_error *err)
{
	const char *p[1];

	if (!conn)
		return NULL;
	detect_timezone(conn);
	try_and_commit(conn, "SET plpgsql.extra_warnings TO 'all'", 0, NULL);
	try_and_commit(conn, "SET plpgsql.extra_errors TO 'all'", 0, NULL);
	p[0] = client_tz;
	try_and_commit(conn, client_tz_numeric ? "SET TIME ZONE INTERVAL $1 HOUR TO MINUTE"
					       : "SELECT pg_catalog.set_config('timezone', $1, false)", 1, p);
	if (PQstatus(conn) != CONNECTION_OK) {
		gm_error_from_conn(err, GM_EFAIL, conn, "lost the connection to database \"%s\"", dbname);
		gm_conn_close(conn);
		return NULL;
	}
	return conn;
}

int gm_session_begin(PGconn *conn, struct gm_error *err)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return GM_OK;
	return gm_db_exec(conn, "BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE", err);
}

int gm_session_exec(PGconn *conn, const char *sql, struct gm_error *err)
{
	if (gm_session_begin(conn, err) < 0)
		return GM_EFAIL;
	return gm_db_exec(conn, sql, err);
}

int gm_session_execf(PGconn *conn, struct gm_error *err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (gm_session_begin(conn, err) < 0)
		return GM_EFAIL;
	va_start(ap, fmt);
	rc = gm_db_vexecf(conn, err, fmt, ap);
	va_end(ap);
	return rc;
}

PGresult *gm_session_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
			   struct gm_error *err)
{
	if (gm_session_begin(conn, err) < 0)
		return NULL;
	return gm_db_run(conn, sql, nparams, params, err);
}

int gm_session_commit(PGconn *conn, struct gm_error *err)
{
	if (PQtransactionStatus(conn) == PQTRANS_IDLE)
		return GM_OK;
	return gm_db_exec(conn, "COMMIT", err);
}

void gm_session_rollback(PGconn *conn)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		gm_db_exec(conn, "ROLLBACK", NULL);
}

int gm_session_autocommit(PGconn *conn, const char *sql, struct gm_error *err)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE && gm_db_exec(conn, "COMMIT", err) < 0)
		return GM_EFAIL;
	return gm_db_exec(conn, sql, err);
}
