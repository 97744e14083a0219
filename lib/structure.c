/*
 * structure.c - GNUmed's schema hash: calling the database's function the
 * way upstream does, and recomputing the v19-and-up text independently
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>

/* gm_structure_v19; *null_line (may be NULL) tells whether a line was NULL
 * (printed as an empty one), which would make the function's text NULL */
static int structure_v19(PGconn *conn, char **text, char **hash, bool *null_line, struct gm_error *err)
{
	struct gm_buf b = GM_BUF_INIT;
	PGresult *res;
	const char *param[1];
	int rc;

	*text = NULL;
	if (hash)
		*hash = NULL;
	if (gm_db_exec(conn, GM_HASH_SEARCH_PATH, err) < 0)
		return GM_EFAIL;
	res = gm_db_query(conn, gm_sql("structure-v19"), 0, NULL, err);
	gm_db_exec(conn, "SET LOCAL search_path TO pg_catalog, pg_temp", NULL);
	if (!res) {
		gm_error_prefix(err, "could not read the schema structure from the catalogs");
		return GM_EFAIL;
	}
	if (null_line)
		*null_line = false;
	for (int i = 0; i < PQntuples(res); i++) {
		if (null_line && PQgetisnull(res, i, 3))
			*null_line = true;
		gm_buf_adds(&b, PQgetvalue(res, i, 3));
		gm_buf_addc(&b, '\n');
	}
	PQclear(res);
	if (!b.data)
		gm_buf_adds(&b, "");
	if (hash) {
		param[0] = b.data;
		rc = gm_db_value(conn, "SELECT pg_catalog.md5($1)", 1, param, hash, err);
		if (rc < 0) {
			gm_buf_release(&b);
			return rc;
		}
	}
	*text = gm_buf_detach(&b);
	return GM_OK;
}

int gm_structure_v19(PGconn *conn, char **text, char **hash, struct gm_error *err)
{
	return structure_v19(conn, text, hash, NULL, err);
}

int gm_schema_hash(PGconn *conn, int version, char **hash, bool *repaired, struct gm_error *err)
{
	PGresult *res;
	char *sql;
	int rc = GM_OK;

	*hash = NULL;
	if (repaired)
		*repaired = false;
	if (gm_db_exec(conn, "SAVEPOINT gm_hash", err) < 0 ||
	    gm_db_exec(conn, GM_HASH_SEARCH_PATH, err) < 0)
		return GM_EFAIL;
	sql = version < 0 ? gm_xstrdup("SELECT md5(gm.concat_table_structure())")
			  : gm_xasprintf("SELECT md5(gm.concat_table_structure(%d::integer))", version);
	gm_log(GM_LOG_SQL, "%s", sql);
	res = PQexec(conn, sql);
	free(sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		*hash = PQgetisnull(res, 0, 0) ? NULL : gm_xstrdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		if (!*hash) {
			gm_db_exec(conn, "ROLLBACK TO SAVEPOINT gm_hash", NULL);
			return gm_error_set(err, GM_ECHECK, "the schema hash function returned NULL");
		}
		gm_db_exec(conn, "RELEASE SAVEPOINT gm_hash", NULL);
		gm_db_exec(conn, "SET LOCAL search_path TO pg_catalog, pg_temp", NULL);
		return GM_OK;
	}
	{
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
		bool broken_v19 = state && strcmp(state, "42725") == 0 && context &&
				  strstr(context, "gm.concat_table_structure_v19_and_up()");
		if (!broken_v19) {
			gm_error_from_result(err, GM_EFAIL, res, "could not compute the schema hash");
			if (state && strcmp(state, "42883") == 0)
				gm_error_hint(err, "This does not look like a GNUmed database.");
			PQclear(res);
			gm_db_exec(conn, "ROLLBACK TO SAVEPOINT gm_hash", NULL);
			return GM_EFAIL;
		}
	}
	PQclear(res);
	gm_log(GM_LOG_WARNING, "the database's gm.concat_table_structure_v19_and_up() is broken on this "
			       "server (SQLSTATE 42725): computing its repaired form without writing to the database");
	if (gm_db_exec(conn, "ROLLBACK TO SAVEPOINT gm_hash", err) < 0)
		return GM_EFAIL;
	{
		char *text = NULL;
		rc = gm_structure_v19(conn, &text, hash, err);
		free(text);
	}
	if (rc == GM_OK && repaired)
		*repaired = true;
	return rc;
}

int gm_schema_hash_known(PGconn *conn, int version, char **hash, bool *repaired, bool *from_catalogs,
			 struct gm_error *err)
{
	struct gm_error cerr = GM_ERROR_INIT;
	const char *why = NULL;
	char *fp = NULL, *refused = NULL, *text = NULL;
	bool null_line = false, ok = false;

	if (from_catalogs)
		*from_catalogs = false;
	if (gm_exact() || (version >= 0 && version < 19))
		return gm_schema_hash(conn, version, hash, repaired, err);
	*hash = NULL;
	if (gm_db_exec(conn, "SAVEPOINT gm_hash_known", err) < 0)
		return GM_EFAIL;
	/* in this transaction, as the catalogs below will be read, under the
	 * hash's search path */
	if (gm_db_value(conn, gm_sql("shortcut-fingerprint"), 0, NULL, &fp, &cerr) < 0)
		why = "could not read the definitions";
	else if (!gm_shortcut_known(fp))
		why = "definitions not known";
	else if (gm_db_exec(conn, GM_HASH_SEARCH_PATH, &cerr) < 0 ||
		 gm_db_value(conn, gm_sql("hash-catalog-gate"), 0, NULL, &refused, &cerr) < 0)
		why = "could not check the session";
	else if (refused)
		why = refused;
	else if (structure_v19(conn, &text, hash, &null_line, &cerr) < 0)
		why = "could not read the catalogs";
	else if (null_line)
		why = "a NULL line";
	else
		ok = true;
	if (ok) {
		gm_log(GM_LOG_INFO, "schema hash %s read from the catalogs (definitions %s, as their owner)", *hash, fp);
		gm_db_exec(conn, "RELEASE SAVEPOINT gm_hash_known", NULL);
		if (repaired)
			*repaired = false;
		if (from_catalogs)
			*from_catalogs = true;
	} else {
		gm_log(GM_LOG_INFO, "schema hash: calling the function (%s%s%s)", why, cerr.message ? ": " : "",
		       cerr.message ? cerr.message : "");
		free(*hash);
		*hash = NULL;
		/* also takes back the search path */
		gm_db_exec(conn, "ROLLBACK TO SAVEPOINT gm_hash_known", NULL);
		gm_db_exec(conn, "RELEASE SAVEPOINT gm_hash_known", NULL);
	}
	gm_error_release(&cerr);
	free(fp);
	free(refused);
	free(text);
	return ok ? GM_OK : gm_schema_hash(conn, version, hash, repaired, err);
}
