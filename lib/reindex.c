/*
 * reindex.c - upstream's REINDEX DATABASE (spec 2.3 step 9), as the
 * database's owner: one statement on one connection, or the same indexes
 * split by table across several connections
 *
 * Upstream runs REINDEX (VERBOSE) DATABASE, and REINDEX DATABASE again
 * without VERBOSE if that fails. gmdb runs it as the database's owner (the
 * index expressions are the owner's code). REINDEX DATABASE reindexes one
 * table after the other, each in a transaction of its own, on one CPU.
 * With jobs > 1 gmdb reindexes the same tables with REINDEX TABLE, the
 * largest first, on jobs connections of the owner at once: each table's
 * indexes (its TOAST table's with them) in one transaction, as REINDEX
 * DATABASE does, so a table is reindexed entirely or not at all.
 *
 * Which tables: those REINDEX DATABASE would take (sql/reindex-tables.sql).
 * REINDEX TABLE, unlike REINDEX DATABASE, needs the table's owner's
 * rights; the database's owner has them for its own tables. The system
 * catalogs (reindexed by REINDEX DATABASE before PostgreSQL 16) and
 * information_schema's tables belong to the bootstrap superuser and have
 * indexes on plain columns with built-in operator classes, whose rebuild
 * runs nobody's code: the superuser reindexes those, one after the other
 * and before the rest (pg_class first), as PostgreSQL's own order does.
 * Any other table (another role's, or a superuser's with an index
 * expression or predicate) and the split is not made: REINDEX DATABASE on
 * one owner connection, as with jobs = 1.
 *
 * If a table fails, the tables still running finish (each whole or not
 * at all), none is started, and REINDEX DATABASE without VERBOSE runs
 * on one owner connection, as upstream's retry does: the step fails
 * only if that fails too. A signal cancels what runs and fails the step.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct watch {
	struct gm_step *st;
	char last[200];
	size_t done, n;
};

/* The server's notices, logged as every connection logs them; the last
 * "... was reindexed" names the progress. */
static void reindex_notice(void *arg, const PGresult *res)
{
	struct watch *w = arg;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg && strstr(msg, "was reindexed"))
		snprintf(w->last, sizeof(w->last), "%s", msg);
	gm_conn_log_notice(NULL, res);
}

static void reindex_tick(void *data)
{
	struct watch *w = data;
	if (w->n)
		gm_step_progress(w->st, "%zu of %zu tables%s%s", w->done, w->n, w->last[0] ? "; " : "", w->last);
	else
		gm_step_progress(w->st, "%s", w->last[0] ? w->last : "started");
}

/* REINDEX (VERBOSE) DATABASE on one owner connection, then without
 * VERBOSE if that fails (upstream's retry); verbose false: that one only. */
static int reindex_whole(const char *db, const char *owner, bool verbose, struct gm_step *st, struct gm_error *err)
{
	struct watch w = { st, { 0 }, 0, 0 };
	PGconn *oc = gm_owner_open(db, owner, "postgres@gnumed_vX", 0, err);
	char *q;
	int rc = GM_EFAIL;

	if (!oc)
		return GM_EFAIL;
	if (verbose) {
		q = gm_sqlf(oc, "REINDEX (VERBOSE) DATABASE %I", db);
		/* a progress line names the table REINDEX (VERBOSE) did last */
		PQsetNoticeReceiver(oc, reindex_notice, &w);
		rc = gm_db_exec_watch(oc, q, reindex_tick, &w, err);
		PQsetNoticeReceiver(oc, gm_conn_log_notice, NULL);
		free(q);
		if (rc < 0)
			gm_log(GM_LOG_WARNING, "%s; trying again without VERBOSE, as upstream does", err->message);
	}
	if (rc < 0) {
		q = gm_sqlf(oc, "REINDEX DATABASE %I", db);
		rc = gm_session_autocommit(oc, q, err);
		free(q);
	}
	gm_conn_close(oc);
	return rc;
}

struct table {
	char *nsp, *rel;
	bool super;
};

/* What the split works through: tables[0 .. n_super) on the superuser's
 * connection, one after the other; the rest on the owner's connections. */
struct plan {
	struct table *tables;
	size_t n, n_super;
};

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->tables[i].nsp);
		free(p->tables[i].rel);
	}
	free(p->tables);
	memset(p, 0, sizeof(*p));
}

/* The tables, read on an owner connection; GM_ECHECK with a reason (in
 * *why) when the split cannot be made. */
static int make_plan(PGconn *oc, struct plan *p, char **why, struct gm_error *err)
{
	PGresult *res = gm_db_query(oc, gm_sql("reindex-tables"), 0, NULL, err);
	int rows;

	if (!res)
		return GM_EFAIL;
	rows = PQntuples(res);
	p->tables = gm_xcalloc((size_t)rows + 1, sizeof(*p->tables));
	for (int i = 0; i < rows; i++) {
		const char *who = PQgetvalue(res, i, 2);
		if (strcmp(who, "owner") != 0 && strcmp(who, "super") != 0) {
			*why = gm_xasprintf("the database owner may not REINDEX TABLE \"%s.%s\", and it is not a superuser's "
					    "table without index expressions", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
			PQclear(res);
			return GM_ECHECK;
		}
		p->tables[p->n].nsp = gm_xstrdup(PQgetvalue(res, i, 0));
		p->tables[p->n].rel = gm_xstrdup(PQgetvalue(res, i, 1));
		p->tables[p->n].super = strcmp(who, "super") == 0;
		if (p->tables[p->n].super) {
			if (p->n != p->n_super) {
				*why = gm_xstrdup("the superuser's tables are not listed first");
				p->n++;
				PQclear(res);
				return GM_ECHECK;
			}
			p->n_super++;
		}
		p->n++;
	}
	PQclear(res);
	return GM_OK;
}

/* The result of conn's statement; its error, if any, into err (the first). */
static int finish_one(PGconn *conn, const struct table *t, bool *failed, struct gm_error *err)
{
	PGresult *res;
	int rc = GM_OK;

	if (PQconsumeInput(conn) == 0) {
		if (!*failed)
			gm_error_from_conn(err, GM_EFAIL, conn, "lost the connection");
		*failed = true;
		return GM_EFAIL;
	}
	if (PQisBusy(conn))
		return 1;
	while ((res = PQgetResult(conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == GM_OK) {
			rc = GM_EFAIL;
			if (!*failed) {
				gm_error_from_result(err, GM_EFAIL, res, "command failed");
				gm_error_prefix(err, "table \"%s.%s\"", t->nsp, t->rel);
			}
			*failed = true;
		}
		PQclear(res);
	}
	if (rc == GM_OK)
		gm_log(GM_LOG_DEBUG, "table \"%s.%s\" was reindexed", t->nsp, t->rel);
	return rc;
}

/* The owner's tables on k connections, largest first. */
static int run_parallel(PGconn **conns, int k, struct plan *p, struct watch *w, struct gm_error *err)
{
	const struct table **cur = gm_xcalloc((size_t)k, sizeof(*cur));
	struct pollfd *fds = gm_xcalloc((size_t)k, sizeof(*fds));
	size_t next = p->n_super;
	bool failed = false, cancelled = false;
	double tick = gm_now();

	for (;;) {
		int busy = 0;
		for (int i = 0; i < k; i++) {
			if (!cur[i] && !failed && !gm_signals_caught() && next < p->n) {
				const struct table *t = &p->tables[next++];
				char *q = gm_sqlf(conns[i], "REINDEX (VERBOSE) TABLE %I.%I", t->nsp, t->rel);
				gm_log(GM_LOG_SQL, "%s", q);
				if (!PQsendQueryParams(conns[i], q, 0, NULL, NULL, NULL, NULL, 0)) {
					gm_error_from_conn(err, GM_EFAIL, conns[i], "could not send a command");
					failed = true;
				} else {
					cur[i] = t;
				}
				free(q);
			}
			fds[i].fd = cur[i] ? PQsocket(conns[i]) : -1;
			fds[i].events = POLLIN;
			fds[i].revents = 0;
			busy += cur[i] != NULL;
		}
		if (!busy)
			break;
		if (gm_signals_caught() && !cancelled) {
			char buf[256];
			for (int i = 0; i < k; i++) {
				PGcancel *c = cur[i] ? PQgetCancel(conns[i]) : NULL;
				if (c) {
					PQcancel(c, buf, sizeof(buf));
					PQfreeCancel(c);
				}
			}
			cancelled = true;
		}
		if (poll(fds, (nfds_t)k, 1000) < 0 && errno != EINTR)
			break;
		if (gm_now() - tick >= 1.0) {
			reindex_tick(w);
			tick = gm_now();
		}
		for (int i = 0; i < k; i++) {
			if (!cur[i] || !(fds[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (finish_one(conns[i], cur[i], &failed, err) != 1) {
				cur[i] = NULL;
				w->done++;
			}
		}
	}
	free(cur);
	free(fds);
	if (gm_signals_caught())
		return gm_signals_check(err);
	return failed ? GM_EFAIL : GM_OK;
}

/* The split: GM_ECHECK (and *why) when it cannot be made. */
static int reindex_split(const char *db, const char *owner, int jobs, struct watch *w, char **why, struct gm_error *err)
{
	struct plan p = { NULL, 0, 0 };
	PGconn **conns = gm_xcalloc((size_t)jobs, sizeof(*conns));
	PGconn *sc = NULL;
	int k = 0, rc;

	conns[k] = gm_owner_open(db, owner, "postgres@gnumed_vX", 0, err);
	if (!conns[k]) {
		rc = GM_EFAIL;
		goto out;
	}
	k++;
	rc = make_plan(conns[0], &p, why, err);
	if (rc < 0)
		goto out;
	w->n = p.n;
	gm_log(GM_LOG_INFO, "reindexing %zu tables: %zu of the superuser's, one after the other, then %zu of the "
			    "owner's on up to %d connections", p.n, p.n_super, p.n - p.n_super, jobs);
	/* the superuser's: system catalogs and information_schema's tables */
	if (p.n_super > 0) {
		sc = gm_session_open(db, "postgres@gnumed_vX", err);
		if (!sc)
			rc = GM_EFAIL;
		if (sc)
			PQsetNoticeReceiver(sc, reindex_notice, w);
		for (size_t i = 0; rc == GM_OK && i < p.n_super; i++) {
			char *q = gm_sqlf(sc, "REINDEX (VERBOSE) TABLE %I.%I", p.tables[i].nsp, p.tables[i].rel);
			rc = gm_session_autocommit(sc, q, err);
			free(q);
			if (rc < 0)
				gm_error_prefix(err, "table \"%s.%s\"", p.tables[i].nsp, p.tables[i].rel);
			else
				gm_log(GM_LOG_DEBUG, "table \"%s.%s\" was reindexed", p.tables[i].nsp, p.tables[i].rel);
			w->done++;
			reindex_tick(w);
			if (rc == GM_OK)
				rc = gm_signals_check(err);
		}
		gm_conn_close(sc);
	}
	/* the owner's, largest first, on up to jobs connections */
	while (rc == GM_OK && k < jobs && (size_t)k < p.n - p.n_super) {
		struct gm_error cerr = GM_ERROR_INIT;

		conns[k] = gm_owner_open(db, owner, "postgres@gnumed_vX", 0, &cerr);
		if (!conns[k]) {
			/* no slot for one more (max_connections, the owner's or
			 * the database's connection limit): on those there are */
			gm_log(GM_LOG_INFO, "reindexing on %d connection%s: %s", k, k == 1 ? "" : "s",
			       cerr.message ? cerr.message : "?");
			gm_error_release(&cerr);
			break;
		}
		k++;
	}
	for (int i = 0; i < k; i++)
		PQsetNoticeReceiver(conns[i], reindex_notice, w);
	if (rc == GM_OK)
		rc = run_parallel(conns, k, &p, w, err);
out:
	for (int i = 0; i < k; i++)
		gm_conn_close(conns[i]);
	free(conns);
	plan_release(&p);
	return rc;
}

int gm_reindex_database(const char *db, const char *owner, int jobs, struct gm_step *st, struct gm_error *err)
{
	struct watch w = { st, { 0 }, 0, 0 };
	char *why = NULL;
	int rc;

	if (jobs <= 0)
		jobs = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs <= 1)
		return reindex_whole(db, owner, true, st, err);
	rc = reindex_split(db, owner, jobs, &w, &why, err);
	if (rc == GM_ECHECK) {
		/* nothing was reindexed yet */
		gm_log(GM_LOG_INFO, "reindexing on one connection: %s", why);
		gm_error_release(err);
		rc = reindex_whole(db, owner, true, st, err);
	} else if (rc < 0 && !gm_signals_caught()) {
		gm_log(GM_LOG_WARNING, "%s; trying again without VERBOSE, as upstream does", err->message);
		gm_error_release(err);
		rc = reindex_whole(db, owner, false, st, err);
	}
	free(why);
	return rc;
}
