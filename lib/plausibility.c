/*
 * plausibility.c - upstream's "upgrade plausibility checks" (spec 5)
 *
 * Upstream (bootstrap_gm_db_system.py, check_data_plausibility) takes the
 * list's items pairwise: "<tag>::::<old query>", then "<new query>". A pair
 * whose first item starts with "--" is skipped. Each query's row 0 column 0
 * is fetched through psycopg2 and the two Python objects are compared with
 * "!=". A query error, or a result without a row, fails that check only;
 * the remaining checks still run.
 *
 * Upstream's development tree (master 8a85b32) lists "--" comment lines
 * anywhere in the list and drops each one before pairing
 * (gm_plausibility_master_items). Its old side is the source its
 * upgrade-db.sh fixed up in place; gmdb fixes up the clone instead and so
 * runs the old side on the clone after the fixup, before the update
 * (gm_plausibility_old_side), and the new side at the end
 * (gm_plausibility_new_side): the same values, the fixed-up source being
 * what the clone is at that point, for every query that does not read the
 * database's name or settings or the cluster's roles.
 *
 * One difference on purpose: upstream's transactions are READ WRITE (and
 * whatever a check writes is rolled back when its connection closes);
 * here they are READ ONLY, so a check query that writes fails.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SEPARATOR "::::"

int gm_plausibility_split(const char *def, char **tag, char **old_sql, struct gm_error *err)
{
	const char *sep = strstr(def, SEPARATOR);

	*tag = *old_sql = NULL;
	if (!sep)
		return gm_error_set(err, GM_EUSAGE, "check definition error: no \"" SEPARATOR "\" in \"%s\"", def);
	/* Python's split() goes on after the separator, without overlap. */
	if (strstr(sep + strlen(SEPARATOR), SEPARATOR))
		return gm_error_set(err, GM_EUSAGE, "check definition error: more than one \"" SEPARATOR "\" in \"%s\"",
				    def);
	*tag = gm_xstrndup(def, (size_t)(sep - def));
	*old_sql = gm_xstrdup(sep + strlen(SEPARATOR));
	return GM_OK;
}

/* ------------------------------------------------------------------ */
/* Comparing values as Python compares what psycopg2 makes of them    */
/* ------------------------------------------------------------------ */

enum pyclass {
	PY_STR,       /* text types and every type psycopg2 has no caster for */
	PY_NUMBER,    /* int, float, Decimal and bool: compared by value */
	PY_DATE, PY_TIME, PY_TIMETZ, PY_DATETIME, PY_DATETIMETZ, PY_TIMEDELTA,
	PY_BYTES, PY_JSON, PY_LIST,
};

static enum pyclass pyclass_of(unsigned oid)
{
	switch (oid) {
	case 16: case 20: case 21: case 23: case 26: case 700: case 701: case 1700:
		return PY_NUMBER;
	case 1082:
		return PY_DATE;
	case 1083:
		return PY_TIME;
	case 1266:
		return PY_TIMETZ;
	case 1114:
		return PY_DATETIME;
	case 1184:
		return PY_DATETIMETZ;
	case 704: case 1186:
		return PY_TIMEDELTA;
	case 17:
		return PY_BYTES;
	case 114: case 3802:
		return PY_JSON;
	/* the arrays psycopg2 turns into lists */
	case 1000: case 1001: case 1002: case 1003: case 1005: case 1007: case 1009: case 1014:
	case 1015: case 1016: case 1021: case 1022: case 1028: case 1115: case 1182: case 1183:
	case 1185: case 1187: case 1231: case 1270: case 199: case 3807:
		return PY_LIST;
	default:
		return PY_STR;
	}
}

/* A number as 0.DIGITS x 10^exp, digits without leading or trailing zeros. */
struct decimal {
	enum { DEC_FINITE, DEC_POSINF, DEC_NEGINF, DEC_NAN, DEC_BAD } kind;
	bool neg;
	char *digits;   /* "" for zero */
	long exp;
};

static void decimal_parse(const char *s, struct decimal *d)
{
	struct gm_buf b = GM_BUF_INIT;
	long point = 0, e = 0;
	bool seen_point = false, any = false;
	const char *p = s;
	size_t lead = 0;

	d->kind = DEC_FINITE;
	d->neg = false;
	d->digits = NULL;
	d->exp = 0;
	if (*p == '-' || *p == '+')
		d->neg = *p++ == '-';
	if (strcmp(p, "NaN") == 0 || strcmp(p, "nan") == 0) {
		d->kind = DEC_NAN;
		return;
	}
	if (strcmp(p, "Infinity") == 0 || strcmp(p, "inf") == 0) {
		d->kind = d->neg ? DEC_NEGINF : DEC_POSINF;
		return;
	}
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			gm_buf_addc(&b, *p);
			if (!seen_point)
				point++;
			any = true;
		} else if (*p == '.' && !seen_point) {
			seen_point = true;
		} else {
			break;
		}
	}
	if (*p == 'e' || *p == 'E') {
		char *end;
		e = strtol(p + 1, &end, 10);
		p = end;
	}
	if (*p || !any) {
		d->kind = DEC_BAD;
		gm_buf_release(&b);
		return;
	}
	point += e;
	while (lead < b.len && b.data[lead] == '0') {
		lead++;
		point--;
	}
	while (b.len > lead && b.data[b.len - 1] == '0')
		b.len--;
	d->digits = gm_xstrndup(b.data + lead, b.len - lead);
	d->exp = d->digits[0] ? point : 0;
	if (!d->digits[0])
		d->neg = false;
	gm_buf_release(&b);
}

/*
 * Python's value of a number column: psycopg2 makes int of the integer
 * types, Decimal of numeric, float (parsed from the text) of float4/float8,
 * bool of boolean (True == 1). Floats are expanded to their exact decimal
 * value, as Python compares float and Decimal exactly.
 */
static void number_parse(const char *text, unsigned oid, struct decimal *d)
{
	if (oid == 16) {
		decimal_parse(strcmp(text, "t") == 0 ? "1" : "0", d);
	} else if (oid == 700 || oid == 701) {
		double v = strtod(text, NULL);
		if (isnan(v)) {
			decimal_parse("NaN", d);
		} else if (isinf(v)) {
			decimal_parse(v > 0 ? "Infinity" : "-Infinity", d);
		} else {
			char buf[1200];
			/* 767 significant digits suffice for any double; glibc prints them exactly */
			snprintf(buf, sizeof(buf), "%.800e", v);
			decimal_parse(buf, d);
		}
	} else {
		decimal_parse(text, d);
	}
}

static bool numbers_equal(const char *a, unsigned ta, const char *b, unsigned tb)
{
	struct decimal x, y;
	bool eq;

	number_parse(a, ta, &x);
	number_parse(b, tb, &y);
	if (x.kind == DEC_NAN || y.kind == DEC_NAN || x.kind == DEC_BAD || y.kind == DEC_BAD)
		eq = x.kind == DEC_BAD && y.kind == DEC_BAD && strcmp(a, b) == 0;
	else if (x.kind != y.kind)
		eq = false;
	else if (x.kind != DEC_FINITE)
		eq = true;
	else
		eq = x.neg == y.neg && x.exp == y.exp && strcmp(x.digits, y.digits) == 0;
	free(x.digits);
	free(y.digits);
	return eq;
}

/*
 * Other classes are compared by their text within the same class: exact
 * for everything the shipped checks return (counts, booleans, strings);
 * differently spelled but equal values of the rarer types (intervals like
 * "1 day" and "24:00:00", json with keys in another order, numeric arrays
 * "{1.0}" and "{1}") count as different here, where Python calls them equal.
 */
bool gm_plausibility_equal(const char *a, unsigned a_type, const char *b, unsigned b_type)
{
	enum pyclass ca, cb;

	if (!a || !b)
		return !a && !b;
	ca = pyclass_of(a_type);
	cb = pyclass_of(b_type);
	if (ca != cb)
		return false;
	if (ca == PY_NUMBER)
		return numbers_equal(a, a_type, b, b_type);
	return strcmp(a, b) == 0;
}

/* ------------------------------------------------------------------ */
/* Running the checks                                                  */
/* ------------------------------------------------------------------ */

static char *pg_problem(PGresult *res, PGconn *conn)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	struct gm_buf b = GM_BUF_INIT;

	gm_buf_adds(&b, msg ? msg : PQerrorMessage(conn));
	gm_buf_rtrim(&b);
	if (state)
		gm_buf_addf(&b, " (SQLSTATE %s)", state);
	return gm_buf_detach(&b);
}

/*
 * A check query runs the way gmPG2.run_ro_queries() runs it on upstream's
 * non-autocommit connection: in the open transaction (one is begun if
 * none is open), rolled back after an error only; row 0 column 0 is its
 * value. The queries of one side are spread over one or more connections
 * of that side (sent with PQsendQuery, the simple protocol psycopg2 uses:
 * several statements allowed, the last one's result counts), each with a
 * transaction of its own: the databases do not change while the checks
 * run (upgrade.c makes sure of it for the source), so every connection
 * sees the same data.
 */
struct job {
	const char *sql;
	bool run;         /* to be run on this side */
	bool done, got;
	char *value;      /* row 0 column 0, NULL for SQL NULL */
	unsigned type;
	char *problem;
	/* for another thread: JOB_PENDING until done, then JOB_GOT or
	 * JOB_FAILED, published after the fields above and secs */
	atomic_int outcome;
	atomic_bool claimed;   /* a connection of either thread has taken it */
	double started, secs;  /* when it was sent; how long it took */
};

enum { JOB_PENDING, JOB_GOT, JOB_FAILED };

struct side {
	PGconn **conns;
	PGcancel **cancels;
	int k;
	struct job *jobs;
	size_t n;
	const size_t *order; /* the jobs' indexes in the order to run them; NULL: list order */
	bool log_sql;      /* false in the background thread: the library logs from one thread */
	atomic_int *stop;  /* set: cancel what runs and give up */
	struct gm_buf notices; /* the background thread's server notices, logged after it */
};

/* The background thread's notice receiver: kept for the main thread to log
 * (a line each, led by W for a WARNING, logged at INFO as conn.c does). */
static void keep_notice(void *arg, const PGresult *res)
{
	struct side *s = arg;
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	struct gm_buf line = GM_BUF_INIT;

	gm_buf_addf(&line, "%c%s%s%s", sev && strcmp(sev, "WARNING") == 0 ? 'W' : 'D', sev ? sev : "", sev ? ": " : "",
		    msg ? msg : PQresultErrorMessage(res));
	for (char *c = line.data; c && *c; c++)
		if (*c == '\n')
			*c = ' ';
	gm_buf_adds(&s->notices, gm_buf_str(&line));
	gm_buf_addc(&s->notices, '\n');
	gm_buf_release(&line);
}

static void log_kept_notices(struct side *s)
{
	char *text = gm_buf_detach(&s->notices);
	for (char *l = text, *nl; l && *l; l = nl + 1) {
		nl = strchr(l, '\n');
		*nl = '\0';
		gm_log(l[0] == 'W' ? GM_LOG_INFO : GM_LOG_DEBUG, "server: %s", l + 1);
	}
	free(text);
}

static void job_reset(struct job *j)
{
	free(j->value);
	free(j->problem);
	j->value = j->problem = NULL;
	j->done = j->got = false;
	j->type = 0;
	j->secs = 0;
	atomic_store(&j->outcome, JOB_PENDING);
	atomic_store(&j->claimed, false);
}

static char *begin_transaction(PGconn *conn)
{
	PGresult *res;
	char *problem = NULL;

	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return NULL;
	res = PQexec(conn, "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		problem = pg_problem(res, conn);
	PQclear(res);
	return problem;
}

/* The outcome of a query whose last result is res (NULL: the connection failed). */
static void job_finish(struct job *j, PGconn *conn, PGresult *res)
{
	j->done = true;
	j->secs = gm_now() - j->started;
	switch (res ? PQresultStatus(res) : PGRES_FATAL_ERROR) {
	case PGRES_TUPLES_OK:
		if (PQntuples(res) > 0 && PQnfields(res) > 0) {
			if (!PQgetisnull(res, 0, 0))
				j->value = gm_xstrdup(PQgetvalue(res, 0, 0));
			j->type = PQftype(res, 0);
			j->got = true;
		} else {
			j->problem = gm_xstrdup(PQnfields(res) > 0 ? "the query returned no rows"
								  : "the query returned no columns");
		}
		break;
	case PGRES_COMMAND_OK:
	case PGRES_EMPTY_QUERY:
		j->problem = gm_xstrdup("the query returned no result set");
		break;
	default: {
		PGresult *rb;
		j->problem = pg_problem(res, conn);
		rb = PQexec(conn, "ROLLBACK");
		PQclear(rb);
		break;
	}
	}
	atomic_store(&j->outcome, j->got ? JOB_GOT : JOB_FAILED);
}

/* Send the next job to be run on conn; false when none is left. */
static struct job *dispatch(struct side *s, PGconn *conn, size_t *next)
{
	while (*next < s->n) {
		size_t i = (*next)++;
		struct job *j = &s->jobs[s->order ? s->order[i] : i];
		char *problem;

		/* claimed first: a job the other thread runs is not read here */
		if (!j->run || atomic_exchange(&j->claimed, true))
			continue;
		if ((problem = begin_transaction(conn))) {
			j->problem = problem;
			j->done = true;
			atomic_store(&j->outcome, JOB_FAILED);
			continue;
		}
		if (s->log_sql)
			gm_log(GM_LOG_SQL, "%s", j->sql);
		j->started = gm_now();
		if (!PQsendQuery(conn, j->sql)) {
			j->problem = pg_problem(NULL, conn);
			j->done = true;
			atomic_store(&j->outcome, JOB_FAILED);
			continue;
		}
		return j;
	}
	return NULL;
}

/* Run the side's jobs on its connections, in list order, as many at once
 * as there are connections. */
static void run_side(struct side *s)
{
	struct job **cur = gm_xcalloc((size_t)s->k, sizeof(*cur));
	PGresult **last = gm_xcalloc((size_t)s->k, sizeof(*last));
	struct pollfd *fds = gm_xcalloc((size_t)s->k, sizeof(*fds));
	size_t next = 0;

	for (;;) {
		int busy = 0;

		for (int i = 0; i < s->k; i++) {
			if (!cur[i] && !(s->stop && atomic_load(s->stop)))
				cur[i] = dispatch(s, s->conns[i], &next);
			fds[i].fd = cur[i] ? PQsocket(s->conns[i]) : -1;
			fds[i].events = POLLIN;
			fds[i].revents = 0;
			busy += cur[i] != NULL;
		}
		if (!busy)
			break;
		if (s->stop && atomic_load(s->stop)) {
			char buf[256];
			for (int i = 0; i < s->k; i++)
				if (cur[i] && s->cancels && s->cancels[i])
					PQcancel(s->cancels[i], buf, sizeof(buf));
		}
		if (poll(fds, (nfds_t)s->k, 200) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < s->k; i++) {
			if (!cur[i] || !(fds[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (!PQconsumeInput(s->conns[i])) {
				PQclear(last[i]);
				last[i] = NULL;
				job_finish(cur[i], s->conns[i], NULL);
				cur[i] = NULL;
				continue;
			}
			while (!PQisBusy(s->conns[i])) {
				PGresult *res = PQgetResult(s->conns[i]);
				if (!res) {
					job_finish(cur[i], s->conns[i], last[i]);
					PQclear(last[i]);
					last[i] = NULL;
					cur[i] = NULL;
					break;
				}
				/* as PQexec: the last result, but an error once there stays */
				if (last[i] && PQresultStatus(last[i]) == PGRES_FATAL_ERROR) {
					PQclear(res);
				} else {
					PQclear(last[i]);
					last[i] = res;
				}
			}
		}
	}
	for (int i = 0; i < s->k; i++)
		PQclear(last[i]);
	free(cur);
	free(last);
	free(fds);
}

static PGconn *open_side(const char *db, const char *role, const char *label, struct gm_error *err)
{
	/* the checks read the owner's views and call the owner's functions:
	 * as the owner (role, NULL: the database's), never as the superuser */
	PGconn *conn = gm_owner_open(db, role, label, 0, err);
	PGresult *res;

	if (!conn)
		return NULL;
	/* upstream's sessions (spec 2.2); failures are ignored as upstream ignores them */
	res = PQexec(conn, "SET plpgsql.extra_warnings TO 'all'");
	PQclear(res);
	res = PQexec(conn, "SET plpgsql.extra_errors TO 'all'");
	PQclear(res);
	/* Not upstream's: no JIT compilation. It changes neither a plan nor
	 * the order of a result's rows (so not which row is "row 0"), only
	 * how expressions are evaluated, and on these queries - views whose
	 * correlated subqueries run once per row - compiling cost more than
	 * it saved (bench/RESULTS.md, section 10). */
	res = PQexec(conn, "SET jit TO off");
	PQclear(res);
	/* Not upstream's either: the parameterised statements inside the
	 * functions the views call are planned once, for any argument
	 * (plan_cache_mode force_generic_plan), not anew for each call. The
	 * check's own query goes as it is, without parameters (PQsendQuery):
	 * planned directly, never through the plan cache, so its plan, and its
	 * row 0, stay. What changes: plpgsql's static statements, its FOR and
	 * OPEN ... EXECUTE ... USING, and on PostgreSQL 18 SQL functions'
	 * statements. A plan returns the same rows as any other; only a
	 * statement whose result hangs on row order (LIMIT without ORDER BY,
	 * an aggregate or a loop over unordered rows; SELECT INTO from several
	 * rows fails under upstream's extra_errors 'all' whatever the plan)
	 * could give another, and none is reachable from upstream's v21->v22
	 * and v22->v23 checks (their views reach i18n._() and
	 * get_curr_lang(), which read by unique keys). At 1 GB, 28 % off the
	 * source's side and 18 % off the target's (bench/RESULTS.md, section
	 * 19). Where the database or the owner set plan_cache_mode, that
	 * stays. */
	res = PQexec(conn, "SELECT pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', false) "
			   "WHERE pg_catalog.current_setting('plan_cache_mode') OPERATOR(pg_catalog.=) 'auto'");
	PQclear(res);
	return conn;
}

static int side_open(struct side *s, const char *db, const char *role, const char *label, int k,
		     struct gm_error *err)
{
	s->conns = gm_xcalloc((size_t)k, sizeof(*s->conns));
	s->cancels = gm_xcalloc((size_t)k, sizeof(*s->cancels));
	s->k = 0;
	for (int i = 0; i < k; i++) {
		if (!(s->conns[i] = open_side(db, role, label, err)))
			return GM_EFAIL;
		s->cancels[i] = PQgetCancel(s->conns[i]);
		s->k++;
	}
	return GM_OK;
}

static void side_close(struct side *s)
{
	for (int i = 0; i < s->k; i++) {
		PQfreeCancel(s->cancels[i]);
		gm_conn_close(s->conns[i]);
	}
	free(s->conns);
	free(s->cancels);
	s->conns = NULL;
	s->cancels = NULL;
	s->k = 0;
}

void gm_checks_free(struct gm_check *checks, size_t n)
{
	if (!checks)
		return;
	for (size_t i = 0; i < n; i++) {
		free(checks[i].tag);
		free(checks[i].old_sql);
		free(checks[i].new_sql);
		free(checks[i].old_value);
		free(checks[i].new_value);
		free(checks[i].problem);
	}
	free(checks);
}

/* ------------------------------------------------------------------ */
/* In two halves, one connection each (gm_plausibility_old_side/_new_side) */
/* ------------------------------------------------------------------ */



void gm_plausibility_master_items(const struct gm_strv *items, struct gm_strv *out)
{
	for (size_t i = 0; items && i < items->n; i++)
		if (strncmp(items->v[i], "--", 2) != 0)
			gm_strv_push(out, items->v[i]);
		else
			gm_log(GM_LOG_DEBUG, "plausibility check comment: %s", items->v[i]);
}

/* ------------------------------------------------------------------ */
/* A run of the checks, the old side possibly early                    */
/* ------------------------------------------------------------------ */

/*
 * A side run in a background thread (the old side's early run, the new
 * side's started before the checks' step): its connections are opened by
 * the main thread, which alone logs (the thread keeps its server notices
 * for the main thread to log) and alone takes signals; the main thread
 * waits for it, cancels it, joins it.
 */
struct bg {
	struct side side;
	pthread_t thread;
	bool running;              /* started, not joined yet */
	atomic_int stop;
	pthread_mutex_t mutex;
	pthread_cond_t cond;       /* on the monotonic clock */
	bool finished;             /* under mutex: the thread is through */
	size_t *order;             /* the side's order, owned; NULL: list order */
};

struct gm_plausibility {
	bool defined;              /* the conf has the option */
	struct gm_check *list;
	size_t n;
	struct job *old, *new;     /* one per check */
	struct bg early;           /* the old side's background run (start_old) */
	bool old_done;             /* the old side's results are there */
	char *early_db;            /* the database it runs on */
	struct bg late;            /* the new side's background run (start_new) */
	char *new_owner;           /* the new database's owner, NULL: looked up */
	bool new_connected;        /* a side has run on the new database */
};

static void bg_init(struct bg *b)
{
	/* timed waits on the monotonic clock: a step of the wall clock
	 * neither shortens nor stretches them */
	pthread_condattr_t attr;

	atomic_init(&b->stop, 0);
	pthread_mutex_init(&b->mutex, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &attr);
	pthread_condattr_destroy(&attr);
}

static void *bg_main(void *data)
{
	struct bg *b = data;

	run_side(&b->side);
	pthread_mutex_lock(&b->mutex);
	b->finished = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->mutex);
	return NULL;
}

/* Run jobs[0..n) in order (owned from here on; NULL: list order) on b's
 * open side, in a thread; on failure b's side is closed. */
static int bg_start(struct bg *b, struct job *jobs, size_t n, size_t *order, struct gm_error *err)
{
	sigset_t all, was;
	int rc;

	b->side.jobs = jobs;
	b->side.n = n;
	b->side.order = b->order = order;
	b->side.stop = &b->stop;
	gm_buf_init(&b->side.notices);
	for (int i = 0; i < b->side.k; i++)
		PQsetNoticeReceiver(b->side.conns[i], keep_notice, &b->side);
	for (size_t i = 0; i < n; i++)
		if (jobs[order ? order[i] : i].run)
			gm_log(GM_LOG_SQL, "%s", jobs[order ? order[i] : i].sql);
	b->finished = false;
	/* signals stay with the main thread, which ends the run */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &was);
	rc = pthread_create(&b->thread, NULL, bg_main, b);
	pthread_sigmask(SIG_SETMASK, &was, NULL);
	if (rc != 0) {
		side_close(&b->side);
		free(b->order);
		b->side.order = b->order = NULL;
		return gm_error_set(err, GM_EFAIL, "could not start the plausibility checks' thread: %s", strerror(rc));
	}
	b->running = true;
	return GM_OK;
}

/* b's thread joined, its connections closed, its notices logged;
 * cancelled first if cancel. */
static void bg_stop(struct bg *b, bool cancel)
{
	if (!b->running)
		return;
	if (cancel)
		atomic_store(&b->stop, 1);
	pthread_join(b->thread, NULL);
	b->running = false;
	side_close(&b->side);
	log_kept_notices(&b->side);
	free(b->order);
	b->side.order = b->order = NULL;
	atomic_store(&b->stop, 0);
}

/* Wait until b's thread is through (true) or a signal came (false). */
static bool bg_wait(struct bg *b)
{
	bool done;

	pthread_mutex_lock(&b->mutex);
	while (!b->finished && !gm_signals_caught()) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		pthread_cond_timedwait(&b->cond, &b->mutex, &until);
	}
	done = b->finished;
	pthread_mutex_unlock(&b->mutex);
	return done;
}

static void bg_destroy(struct bg *b)
{
	bg_stop(b, true);
	pthread_mutex_destroy(&b->mutex);
	pthread_cond_destroy(&b->cond);
}

int gm_plausibility_prepare(const struct gm_strv *items, struct gm_plausibility **pp, struct gm_error *err)
{
	struct gm_plausibility *p;

	*pp = NULL;
	if (items && items->n % 2)
		return gm_error_set(err, GM_EUSAGE, "odd number of plausibility check items (%zu)", items->n);
	p = gm_xcalloc(1, sizeof(*p));
	bg_init(&p->early);
	bg_init(&p->late);
	p->defined = items != NULL;
	if (items) {
		p->list = gm_xcalloc(items->n / 2 + 1, sizeof(*p->list));
		p->old = gm_xcalloc(items->n / 2 + 1, sizeof(*p->old));
		p->new = gm_xcalloc(items->n / 2 + 1, sizeof(*p->new));
		for (size_t i = 0; i + 1 < items->n; i += 2) {
			struct gm_check *c = &p->list[p->n];
			struct gm_error split_err = GM_ERROR_INIT;

			if (strncmp(items->v[i], "--", 2) == 0) {
				gm_log(GM_LOG_DEBUG, "plausibility check skipped: %s", items->v[i]);
				continue;
			}
			c->new_sql = gm_xstrdup(items->v[i + 1]);
			if (gm_plausibility_split(items->v[i], &c->tag, &c->old_sql, &split_err) < 0) {
				c->tag = gm_xstrdup("?");   /* what upstream's log calls it */
				c->problem = gm_xstrdup(split_err.message);
				gm_error_release(&split_err);
			} else {
				p->old[p->n].sql = c->old_sql;
				p->old[p->n].run = true;
			}
			p->new[p->n].sql = c->new_sql;
			p->n++;
		}
	}
	*pp = p;
	return GM_OK;
}

int gm_plausibility_start_old(struct gm_plausibility *p, const char *old_db, struct gm_error *err)
{
	if (!p->defined || p->early.running || p->old_done)
		return GM_OK;
	if (side_open(&p->early.side, old_db, NULL, "plausibility check: old", 1, err) < 0) {
		side_close(&p->early.side);
		return GM_EFAIL;
	}
	free(p->early_db);
	p->early_db = gm_xstrdup(old_db);
	return bg_start(&p->early, p->old, p->n, NULL, err);
}

bool gm_plausibility_old_running(const struct gm_plausibility *p)
{
	return p && p->early.running;
}

int gm_plausibility_wait_old(struct gm_plausibility *p)
{
	if (!p || !p->early.running)
		return GM_OK;
	if (!bg_wait(&p->early)) {
		gm_plausibility_discard_old(p);
		return GM_EFAIL;
	}
	bg_stop(&p->early, false);
	/* run_new may have left some to finish */
	p->old_done = true;
	for (size_t i = 0; i < p->n; i++)
		if (p->old[i].run && !p->old[i].done)
			p->old_done = false;
	return GM_OK;
}

void gm_plausibility_discard_old(struct gm_plausibility *p)
{
	bg_stop(&p->early, true);
	p->old_done = false;
	for (size_t i = 0; i < p->n; i++)
		job_reset(&p->old[i]);
}

static int run_on(struct gm_plausibility *p, struct job *jobs, const size_t *order, const char *db,
		  const char *label, int k, struct gm_error *err)
{
	struct side s = { 0 };
	size_t todo = 0;
	int rc;

	for (size_t i = 0; i < p->n; i++)
		todo += jobs[i].run && !atomic_load(&jobs[i].claimed);
	/* upstream connects even for an empty list; but once is enough */
	if (!todo && jobs == p->new && p->new_connected)
		return GM_OK;
	if (jobs == p->new)
		p->new_connected = true;
	k = (size_t)k > todo ? (int)(todo ? todo : 1) : k;
	rc = side_open(&s, db, jobs == p->new ? p->new_owner : NULL, label, k, err);
	if (rc == GM_OK) {
		s.jobs = jobs;
		s.n = p->n;
		s.order = order;
		s.log_sql = true;
		run_side(&s);
	}
	side_close(&s);
	return rc;
}

int gm_plausibility_run_old(struct gm_plausibility *p, const char *old_db, int jobs, struct gm_error *err)
{
	if (!p->defined)
		return GM_OK;
	if (gm_plausibility_wait_old(p) < 0)
		return gm_signals_check(err) < 0 ? GM_EFAIL : gm_error_set(err, GM_EFAIL, "interrupted");
	if (!p->old_done) {
		if (run_on(p, p->old, NULL, old_db, "plausibility check: old", jobs < 1 ? 1 : jobs, err) < 0)
			return GM_EFAIL;
		p->old_done = true;
	}
	return GM_OK;
}

/*
 * The order of the new side: the checks whose old query has not finished
 * yet first, in list order (the early side runs in list order, so they are
 * its last ones, or the one it is on), then the rest by how long their old
 * query took, longest first. The two queries of a check mostly read the
 * same rows, so the longest ones start first and no connection is left
 * with a long one at the end while the others idle.
 */
static int by_old_secs(const void *a, const void *b, void *arg)
{
	const struct job *old = arg;
	double x = old[*(const size_t *)a].secs, y = old[*(const size_t *)b].secs;
	return x < y ? 1 : x > y ? -1 : (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static size_t *new_order(struct gm_plausibility *p)
{
	size_t *order = gm_xcalloc(p->n + 1, sizeof(*order)), k = 0, known;
	bool *pending = gm_xcalloc(p->n + 1, sizeof(*pending));

	/* each outcome read once: the early side may finish one meanwhile,
	 * and a check counted on both sides would be run on neither */
	for (size_t i = 0; i < p->n; i++)
		if ((pending[i] = atomic_load(&p->old[i].outcome) == JOB_PENDING))
			order[k++] = i;
	known = k;
	for (size_t i = 0; i < p->n; i++)
		if (!pending[i])
			order[k++] = i;
	free(pending);
	qsort_r(order + known, k - known, sizeof(*order), by_old_secs, p->old);
	return order;
}


/* Wait for the new side's background run, then join it: GM_EFAIL when a
 * signal came first (it is then cancelled). */
static int wait_late(struct gm_plausibility *p)
{
	bool done;

	if (!p->late.running)
		return GM_OK;
	done = bg_wait(&p->late);
	bg_stop(&p->late, !done);
	return done ? GM_OK : GM_EFAIL;
}

void gm_plausibility_new_owner(struct gm_plausibility *p, const char *owner)
{
	free(p->new_owner);
	p->new_owner = owner ? gm_xstrdup(owner) : NULL;
}

int gm_plausibility_start_new(struct gm_plausibility *p, const char *new_db, int jobs, struct gm_error *err)
{
	size_t todo = 0;

	if (!p->defined || p->late.running)
		return GM_OK;
	/* as run_new: every check whose old query has not failed */
	for (size_t i = 0; i < p->n; i++) {
		p->new[i].run = p->old[i].run && atomic_load(&p->old[i].outcome) != JOB_FAILED;
		todo += p->new[i].run && !atomic_load(&p->new[i].claimed);
	}
	if (!todo)
		return GM_OK;
	if (jobs < 1)
		jobs = 1;
	if (side_open(&p->late.side, new_db, p->new_owner, "plausibility check: new",
		      (size_t)jobs > todo ? (int)todo : jobs, err) < 0) {
		side_close(&p->late.side);
		return GM_EFAIL;
	}
	p->new_connected = true;
	return bg_start(&p->late, p->new, p->n, new_order(p), err);
}

int gm_plausibility_run_new(struct gm_plausibility *p, const char *new_db, int jobs, struct gm_error *err)
{
	size_t *order, left = 0;
	int rc;

	if (!p->defined)
		return GM_OK;
	if (p->late.running) {
		/* start_new runs it */
		if (wait_late(p) < 0)
			return gm_signals_check(err) < 0 ? GM_EFAIL : gm_error_set(err, GM_EFAIL, "interrupted");
		rc = GM_OK;
	} else {
		/* every check whose old query has not failed (it may yet give a
		 * value); finish ignores those whose old query does not */
		for (size_t i = 0; i < p->n; i++)
			p->new[i].run = p->old[i].run && atomic_load(&p->old[i].outcome) != JOB_FAILED;
		order = new_order(p);
		rc = run_on(p, p->new, order, new_db, "plausibility check: new", jobs < 1 ? 1 : jobs, err);
		free(order);
	}
	/* what the early side has not started yet, on as many connections
	 * more (jobs are claimed: each runs once, on either side) */
	for (size_t i = 0; i < p->n && p->early.running; i++)
		left += p->old[i].run && !atomic_load(&p->old[i].claimed);
	if (rc == GM_OK && left)
		rc = run_on(p, p->old, NULL, p->early_db, "plausibility check: old", jobs < 1 ? 1 : jobs, err);
	return rc;
}

int gm_plausibility_finish(struct gm_plausibility *p, const char *old_db, const char *new_db, int jobs,
			   struct gm_check **checks, size_t *n, struct gm_error *err)
{
	size_t failed = 0;
	int rc = GM_OK;

	*checks = NULL;
	*n = 0;
	if (!p->defined) {
		gm_log(GM_LOG_INFO, "no plausibility checks defined");
		return GM_OK;
	}
	if (jobs < 1)
		jobs = 1;
	if (gm_plausibility_run_old(p, old_db, jobs, err) < 0)
		return GM_EFAIL;
	if (wait_late(p) < 0)
		return gm_signals_check(err) < 0 ? GM_EFAIL : gm_error_set(err, GM_EFAIL, "interrupted");
	/* as upstream: the new query runs only where the old one gave a value
	 * (run_new may have run some before the old side was through) */
	for (size_t i = 0; i < p->n; i++)
		p->new[i].run = p->old[i].got;
	{
		size_t *order = new_order(p);
		rc = run_on(p, p->new, order, new_db, "plausibility check: new", jobs, err);
		free(order);
		if (rc < 0)
			return GM_EFAIL;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct gm_check *c = &p->list[i];
		struct job *o = &p->old[i], *w = &p->new[i];

		if (c->problem) {
			/* the definition could not be split */
		} else if (!o->got) {
			c->problem = gm_xasprintf("SQL error in the old database: %s", o->problem ? o->problem : "?");
		} else if (!w->got) {
			c->problem = gm_xasprintf("SQL error in the new database: %s", w->problem ? w->problem : "?");
		} else {
			c->old_value = o->value;
			c->old_type = o->type;
			c->new_value = w->value;
			o->value = w->value = NULL;
			if (!gm_plausibility_equal(c->old_value, o->type, c->new_value, w->type)) {
				bool same_text = c->old_value && c->new_value && strcmp(c->old_value, c->new_value) == 0;
				c->problem = gm_xasprintf("data mismatch: expected %s (in old database), found %s (in new database)%s",
							  c->old_value ? c->old_value : "NULL",
							  c->new_value ? c->new_value : "NULL",
							  same_text ? ", values of types that never compare equal" : "");
				if (same_text) {
					char *q = gm_xasprintf("%s (type OIDs %u and %u)", c->problem, o->type, w->type);
					free(c->problem);
					c->problem = q;
				}
			} else {
				c->passed = true;
			}
		}
		if (c->passed) {
			gm_log(GM_LOG_INFO, "plausibility check [%s] succeeded (old %.2f s, new %.2f s)", c->tag, o->secs,
			       w->secs);
		} else {
			failed++;
			gm_log(GM_LOG_INFO, "plausibility check [%s] failed: %s", c->tag, c->problem);
		}
	}
	if (failed)
		rc = gm_error_set(err, GM_ECHECK, "%zu of %zu plausibility checks failed", failed, p->n);
	*checks = p->list;
	*n = p->n;
	p->list = NULL;
	p->n = 0;
	return rc;
}

void gm_plausibility_free(struct gm_plausibility *p)
{
	if (!p)
		return;
	bg_destroy(&p->early);
	bg_destroy(&p->late);
	free(p->new_owner);
	for (size_t i = 0; i < p->n; i++) {
		job_reset(&p->old[i]);
		job_reset(&p->new[i]);
	}
	/* the jobs' sql points into the list */
	gm_checks_free(p->list, p->n);
	free(p->early_db);
	free(p->old);
	free(p->new);
	free(p);
}

int gm_plausibility_run(const char *old_db, const char *new_db, const struct gm_strv *items,
			struct gm_check **checks, size_t *n, struct gm_error *err)
{
	struct gm_plausibility *p;
	int rc;

	*checks = NULL;
	*n = 0;
	if ((rc = gm_plausibility_prepare(items, &p, err)) < 0)
		return rc;
	rc = gm_plausibility_finish(p, old_db, new_db, 2, checks, n, err);
	gm_plausibility_free(p);
	return rc;
}
