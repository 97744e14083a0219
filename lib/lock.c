/*
 * lock.c - one gmdb run at a time per database, across the whole cluster
 *
 * A session-level advisory lock, taken with pg_try_advisory_lock() on a
 * connection of its own: a second run is told at once (GM_ELOCKED), and a
 * run that is killed cannot leave the lock behind, because the server
 * releases it with the connection.
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>

int gm_lock_acquire(const char *name, PGconn **holder, struct gm_error *err)
{
	const char *dbs[] = { "postgres", "template1" };
	const char *p[1] = { name };
	struct gm_error first = GM_ERROR_INIT;
	PGconn *c = NULL;
	char *got = NULL;
	int rc;

	*holder = NULL;
	for (size_t i = 0; i < 2 && !c; i++)
		c = gm_conn_open(dbs[i], "gmdb lock", i ? err : &first);
	if (!c) {
		gm_error_release(&first);
		gm_error_prefix(err, "could not take the lock for \"%s\"", name);
		return GM_EFAIL;
	}
	gm_error_release(&first);
	rc = gm_db_value(c, gm_sql("lock-try"), 1, p, &got, err);
	if (rc < 0) {
		gm_conn_close(c);
		gm_error_prefix(err, "could not take the lock for \"%s\"", name);
		return rc;
	}
	if (strcmp(got, "t") != 0) {
		PGresult *res = gm_db_query(c, gm_sql("lock-holder"), 1, p, NULL);
		gm_error_set(err, GM_ELOCKED, "another gmdb run is working on \"%s\"", name);
		if (res && PQntuples(res) > 0)
			gm_error_detail(err, "It is \"%s\", server process %s, started %s.", PQgetvalue(res, 0, 0),
					PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
		gm_error_hint(err, "Wait for it to finish; a run that was killed releases its lock by itself.");
		PQclear(res);
		free(got);
		gm_conn_close(c);
		return GM_ELOCKED;
	}
	free(got);
	*holder = c;
	return GM_OK;
}

void gm_lock_release(PGconn *holder)
{
	gm_conn_close(holder);
}
