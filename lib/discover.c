/*
 * discover.c - which GNUmed databases does the cluster have, and which
 * version is each (by its schema hash, never by its name)?
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>

void gm_found_clear(struct gm_found *f)
{
	free(f->name);
	free(f->hash);
	free(f->problem);
	free(f->event_triggers);
	memset(f, 0, sizeof(*f));
}

void gm_found_release(struct gm_found *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++)
		gm_found_clear(&f[i]);
	free(f);
}

/*
 * An event trigger fires on DDL as whoever runs it: on a server before
 * PostgreSQL 17 in gmdb's superuser sessions too (from 17 on they start
 * with event_triggers=off, lib/conn.c), where its function, or what that
 * calls through upstream's search_path, may be the owner's. And upstream's
 * engine would fire it where gmdb would not. A GNUmed database has none:
 * gmdb stops before changing anything, and says how to go on.
 */
int gm_found_event_triggers_refused(const struct gm_found *f, struct gm_error *err)
{
	if (!f->event_triggers)
		return GM_OK;
	gm_error_set(err, GM_ECHECK, "database \"%s\" has enabled event triggers, which would fire on the DDL this run executes: %s",
		     f->name, f->event_triggers);
	gm_error_detail(err, "A GNUmed database has none; gmdb does not run upstream's SQL beside them.");
	gm_error_hint(err, "Disable them for the run (ALTER EVENT TRIGGER name DISABLE) and enable them again after it.");
	return GM_ECHECK;
}

/*
 * Whether dbname is a GNUmed database and its schema hash. The hash
 * function is the owner's: it is called as the owner, with pg_catalog
 * first (owner_session false), or in a session set up as the owner
 * session of upstream's engine (true), which also reads the shortcut's
 * fingerprint (*fp) and says who the session is (*user). Definitions
 * gmdb knows are not called but read from the catalogs
 * (gm_schema_hash_known): then *fp is NULL, as the hash proves nothing
 * about the function for the shortcut.
 */
static int identify(const char *dbname, struct gm_found *f, bool owner_session, char **fp, char **user,
		    struct gm_error *err)
{
	PGconn *c;
	char *has_gm = NULL;
	bool from_catalogs = false;
	int rc;

	memset(f, 0, sizeof(*f));
	f->name = gm_xstrdup(dbname);
	f->version = -1;
	c = gm_conn_open(dbname, "gmdb discovery", err);
	if (!c)
		return GM_EFAIL;
	rc = gm_db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (rc == GM_OK)
		rc = gm_db_value(c, "SELECT pg_catalog.to_regnamespace('gm') IS NOT NULL", 0, NULL, &has_gm, err);
	/* enabled (origin or always; replica ones fire only in replication
	 * sessions), but login ones, which fire at login only */
	if (rc == GM_OK)
		rc = gm_db_value(c,
				 "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(e.evtname) OPERATOR(pg_catalog.||) ' (' "
				 "OPERATOR(pg_catalog.||) e.evtevent OPERATOR(pg_catalog.||) ')', ', ' "
				 "ORDER BY e.evtname) FROM pg_catalog.pg_event_trigger e "
				 "WHERE e.evtenabled OPERATOR(pg_catalog.=) ANY ('{O,A}'::pg_catalog.\"char\"[]) "
				 "AND e.evtevent OPERATOR(pg_catalog.<>) 'login'",
				 0, NULL, &f->event_triggers, err);
	gm_db_exec(c, "ROLLBACK", NULL);
	gm_conn_close(c);
	if (rc == GM_OK && strcmp(has_gm, "t") == 0) {
		struct gm_error herr = GM_ERROR_INIT;
		f->gnumed = true;
		c = owner_session ? gm_owner_session(dbname, NULL, "gmdb discovery", &herr)
				  : gm_owner_open(dbname, NULL, "gmdb discovery", GM_CONN_SAFE_PATH, &herr);
		if (c && gm_db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &herr) == GM_OK &&
		    (!owner_session || gm_db_value(c, gm_sql("shortcut-fingerprint"), 0, NULL, fp, &herr) == GM_OK) &&
		    gm_schema_hash_known(c, -1, &f->hash, &f->hash_repaired, &from_catalogs, &herr) == GM_OK) {
			f->version = gm_version_for_hash(f->hash);
			if (owner_session)
				*user = gm_xstrdup(PQuser(c));
			if (owner_session && from_catalogs) {
				free(*fp);
				*fp = NULL;
			}
		} else {
			f->problem = gm_xstrdup(herr.message ? herr.message : "could not compute the schema hash");
			if (owner_session) {
				free(*fp);
				*fp = NULL;
			}
		}
		if (c)
			gm_db_exec(c, "ROLLBACK", NULL);
		gm_conn_close(c);
		gm_error_release(&herr);
	}
	free(has_gm);
	return rc;
}

int gm_identify(const char *dbname, struct gm_found *f, struct gm_error *err)
{
	return identify(dbname, f, false, NULL, NULL, err);
}

int gm_identify_as_owner_session(const char *dbname, struct gm_found *f, char **fp, char **user, struct gm_error *err)
{
	*fp = *user = NULL;
	return identify(dbname, f, true, fp, user, err);
}

int gm_discover(struct gm_found **out, size_t *n, struct gm_error *err)
{
	PGconn *c;
	PGresult *res;
	struct gm_found *f;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	c = gm_conn_open("template1", "gmdb discovery", err);
	if (!c)
		return GM_EFAIL;
	res = gm_db_query(c, gm_sql("discover-databases"), 0, NULL, err);
	gm_conn_close(c);
	if (!res)
		return GM_EFAIL;
	f = gm_xcalloc((size_t)PQntuples(res) + 1, sizeof(*f));
	for (int i = 0; i < PQntuples(res); i++) {
		struct gm_error ierr = GM_ERROR_INIT;
		if (gm_identify(PQgetvalue(res, i, 0), &f[k], &ierr) < 0) {
			gm_log(GM_LOG_INFO, "skipping database \"%s\": %s", PQgetvalue(res, i, 0), ierr.message);
			gm_found_clear(&f[k]);
			gm_error_release(&ierr);
			continue;
		}
		gm_error_release(&ierr);
		if (f[k].gnumed)
			k++;
		else
			gm_found_clear(&f[k]);
	}
	PQclear(res);
	*out = f;
	*n = k;
	return GM_OK;
}
