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

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
 * Run one check query the way gmPG2.run_ro_queries() runs it on upstream's
 * non-autocommit connection: in the open transaction (one is begun if
 * none is open), rolled back after an error only. Returns true with the value
 * of row 0 column 0 (*value NULL for SQL NULL) and its type, or false with
 * *problem set.
 */
static bool run_query(PGconn *conn, const char *sql, char **value, unsigned *type, char **problem)
{
	PGresult *res;
	bool got = false;

	*value = NULL;
	*type = 0;
	*problem = NULL;
	if (PQtransactionStatus(conn) == PQTRANS_IDLE) {
		res = PQexec(conn, "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY");
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			*problem = pg_problem(res, conn);
			PQclear(res);
			return false;
		}
		PQclear(res);
	}
	gm_log(GM_LOG_SQL, "%s", sql);
	/* PQexec as psycopg2 sends it: several statements allowed, the last one's result counts */
	res = PQexec(conn, sql);
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		if (PQntuples(res) > 0 && PQnfields(res) > 0) {
			if (!PQgetisnull(res, 0, 0))
				*value = gm_xstrdup(PQgetvalue(res, 0, 0));
			*type = PQftype(res, 0);
			got = true;
		} else {
			*problem = gm_xstrdup(PQnfields(res) > 0 ? "the query returned no rows"
								 : "the query returned no columns");
		}
		break;
	case PGRES_COMMAND_OK:
	case PGRES_EMPTY_QUERY:
		*problem = gm_xstrdup("the query returned no result set");
		break;
	default:
		*problem = pg_problem(res, conn);
		PQclear(res);
		res = PQexec(conn, "ROLLBACK");
		break;
	}
	PQclear(res);
	return got;
}

static PGconn *open_side(const char *db, const char *label, struct gm_error *err)
{
	/* the checks read the owner's views and call the owner's functions:
	 * as the owner, never as the superuser */
	PGconn *conn = gm_owner_open(db, NULL, label, 0, err);
	PGresult *res;

	if (!conn)
		return NULL;
	/* upstream's sessions (spec 2.2); failures are ignored as upstream ignores them */
	res = PQexec(conn, "SET plpgsql.extra_warnings TO 'all'");
	PQclear(res);
	res = PQexec(conn, "SET plpgsql.extra_errors TO 'all'");
	PQclear(res);
	return conn;
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

/* A pair's definition and its old query: false (c->problem set) if the
 * check fails already */
static bool run_old(PGconn *old_conn, const char *def, const char *new_sql, struct gm_check *c)
{
	struct gm_error split_err = GM_ERROR_INIT;
	char *problem;

	memset(c, 0, sizeof(*c));
	c->new_sql = gm_xstrdup(new_sql);
	if (gm_plausibility_split(def, &c->tag, &c->old_sql, &split_err) < 0) {
		c->tag = gm_xstrdup("?");   /* what upstream's log calls it */
		c->problem = gm_xstrdup(split_err.message);
		gm_error_release(&split_err);
		return false;
	}
	if (!run_query(old_conn, c->old_sql, &c->old_value, &c->old_type, &problem)) {
		c->problem = gm_xasprintf("SQL error in the old database: %s", problem);
		free(problem);
		return false;
	}
	return true;
}

/* The new query of a check whose old side succeeded, and the comparison */
static void run_new(PGconn *new_conn, struct gm_check *c)
{
	unsigned new_type;
	char *problem;

	if (!run_query(new_conn, c->new_sql, &c->new_value, &new_type, &problem)) {
		c->problem = gm_xasprintf("SQL error in the new database: %s", problem);
		free(problem);
		return;
	}
	if (!gm_plausibility_equal(c->old_value, c->old_type, c->new_value, new_type)) {
		bool same_text = c->old_value && c->new_value && strcmp(c->old_value, c->new_value) == 0;
		c->problem = gm_xasprintf("data mismatch: expected %s (in old database), found %s (in new database)%s",
					  c->old_value ? c->old_value : "NULL", c->new_value ? c->new_value : "NULL",
					  same_text ? ", values of types that never compare equal" : "");
		if (same_text) {
			char *p = gm_xasprintf("%s (type OIDs %u and %u)", c->problem, c->old_type, new_type);
			free(c->problem);
			c->problem = p;
		}
		return;
	}
	c->passed = true;
}

static void run_pair(PGconn *old_conn, PGconn *new_conn, const char *def, const char *new_sql,
		     struct gm_check *c)
{
	if (run_old(old_conn, def, new_sql, c))
		run_new(new_conn, c);
}

static void log_result(const struct gm_check *c)
{
	if (c->passed)
		gm_log(GM_LOG_INFO, "plausibility check [%s] succeeded", c->tag);
	else
		gm_log(GM_LOG_INFO, "plausibility check [%s] failed: %s", c->tag, c->problem);
}

void gm_plausibility_master_items(const struct gm_strv *items, struct gm_strv *out)
{
	for (size_t i = 0; items && i < items->n; i++)
		if (strncmp(items->v[i], "--", 2) != 0)
			gm_strv_push(out, items->v[i]);
		else
			gm_log(GM_LOG_DEBUG, "plausibility check comment: %s", items->v[i]);
}

int gm_plausibility_old_side(const char *old_db, const struct gm_strv *items, struct gm_check **checks, size_t *n,
			     struct gm_error *err)
{
	PGconn *old_conn;
	struct gm_check *list;
	size_t count = 0;

	*checks = NULL;
	*n = 0;
	if (!items)
		return GM_OK;
	if (items->n % 2)
		return gm_error_set(err, GM_EUSAGE, "odd number of plausibility check items (%zu)", items->n);
	old_conn = open_side(old_db, "plausibility check: old", err);
	if (!old_conn)
		return GM_EFAIL;
	list = gm_xcalloc(items->n / 2 + 1, sizeof(*list));
	for (size_t i = 0; i + 1 < items->n; i += 2) {
		if (strncmp(items->v[i], "--", 2) == 0)
			continue;
		run_old(old_conn, items->v[i], items->v[i + 1], &list[count++]);
	}
	gm_conn_close(old_conn);
	*checks = list;
	*n = count;
	return GM_OK;
}

int gm_plausibility_new_side(const char *new_db, struct gm_check *checks, size_t n, struct gm_error *err)
{
	PGconn *new_conn;
	size_t failed = 0;

	if (!checks) /* no list: nothing to run, no connection (an empty list still connects) */
		return GM_OK;
	new_conn = open_side(new_db, "plausibility check: new", err);
	if (!new_conn)
		return GM_EFAIL;
	for (size_t i = 0; i < n; i++) {
		struct gm_check *c = &checks[i];
		if (!c->problem && !c->passed)
			run_new(new_conn, c);
		log_result(c);
		if (!c->passed)
			failed++;
	}
	gm_conn_close(new_conn);
	if (failed)
		return gm_error_set(err, GM_ECHECK, "%zu of %zu plausibility checks failed", failed, n);
	return GM_OK;
}

int gm_plausibility_run(const char *old_db, const char *new_db, const struct gm_strv *items,
			struct gm_check **checks, size_t *n, struct gm_error *err)
{
	PGconn *old_conn, *new_conn;
	struct gm_check *list = NULL;
	size_t count = 0, failed = 0;
	int rc = GM_OK;

	*checks = NULL;
	*n = 0;
	if (!items) {
		gm_log(GM_LOG_INFO, "no plausibility checks defined");
		return GM_OK;
	}
	if (items->n % 2)
		return gm_error_set(err, GM_EUSAGE, "odd number of plausibility check items (%zu)", items->n);
	old_conn = open_side(old_db, "plausibility check: old", err);
	if (!old_conn)
		return GM_EFAIL;
	new_conn = open_side(new_db, "plausibility check: new", err);
	if (!new_conn) {
		gm_conn_close(old_conn);
		return GM_EFAIL;
	}
	list = gm_xcalloc(items->n / 2 + 1, sizeof(*list));
	for (size_t i = 0; i + 1 < items->n; i += 2) {
		struct gm_check *c = &list[count];

		if (strncmp(items->v[i], "--", 2) == 0) {
			gm_log(GM_LOG_DEBUG, "plausibility check skipped: %s", items->v[i]);
			continue;
		}
		run_pair(old_conn, new_conn, items->v[i], items->v[i + 1], c);
		count++;
		log_result(c);
		if (!c->passed)
			failed++;
	}
	gm_conn_close(old_conn);
	gm_conn_close(new_conn);
	if (failed)
		rc = gm_error_set(err, GM_ECHECK, "%zu of %zu plausibility checks failed", failed, count);
	*checks = list;
	*n = count;
	return rc;
}
