/*
 * build.c - the build record: may --replace-target drop this database?
 *
 * A target that gmdb finished building carries, in its COMMENT ON
 * DATABASE, a record of the state it was finished in:
 *
 *   gmdb: built by gm-upgrade_server 21 22 from "gnumed_v21" on <time>;
 *   build record: database <OID>, next transaction <N>, rows sha256 <hex>
 *
 * N is the first transaction ID (64 bits, with its epoch) that had not
 * begun when the record was taken, and the SHA-256 is over "<table OID>
 * <row count>" of every table of the database, its own catalogs included
 * (build-tables.sql), in OID order, counted in the same snapshot.
 *
 * --replace-target drops such a database only when it is still the one the
 * record was made for, and nothing was written to it since:
 *
 *  - its OID is the recorded one (a database made anew or restored under
 *    the name has another);
 *  - no visible row of any of those tables was written (inserted, or made
 *    by an UPDATE) by a transaction that began after the record: every
 *    row's xmin is older than N. xmin is kept when a row is frozen (since
 *    PostgreSQL 9.4 freezing sets a flag and keeps the xmin), and it is 32
 *    bits, so it is compared modulo 2^32, which is sound while fewer than
 *    2^31 transactions ran since the record; after more, the record cannot
 *    tell and the database is treated as used;
 *  - every table still has the row count of the record, and the set of
 *    tables is the same (the digest): a DELETE or TRUNCATE leaves no row
 *    with a new xmin, but one row fewer; DDL changes the catalogs' rows.
 *
 * Why not the statistics: pg_stat_database and pg_stat_all_tables are
 * reset by a crash (and by pg_stat_reset()), so "no writes counted" proves
 * nothing. Why not commit timestamps: track_commit_timestamp is off unless
 * the admin turned it on. xmin and the row counts are in the data itself.
 *
 * What it cannot see: an UPDATE that a transaction begun before the record
 * committed after it (its new rows carry an old xmin). That is why no
 * record is made while anybody else is connected to the target, and why the
 * downtime procedure makes it while remote access is still locked.
 *
 * Every statement is a superuser's SELECT on the database's tables: it runs
 * none of the owner's code (no triggers or rules fire on SELECT, row level
 * security does not apply to a superuser, the search_path is pg_catalog,
 * pg_temp).
 */
#include "gmdb-int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORD_SEP "; build record: "
#define WRAP (UINT64_C(1) << 31)

struct counted {
	char *oid, *schema, *name;
	long long rows, newer;
};

/* Count the rows of every table in one snapshot; with build_next (not 0)
 * also the rows written by transactions that began at or after it. *next
 * and *dboid are the snapshot's. */
static int count_tables(PGconn *c, uint64_t build_next, struct counted **out, size_t *n, uint64_t *next,
			unsigned long *dboid, struct gm_error *err)
{
	PGresult *res, *tabs = NULL;
	struct counted *t = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = gm_db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
	if (rc < 0)
		return rc;
	res = gm_db_query(c, gm_sql("build-snapshot"), 0, NULL, err);
	if (!res) {
		rc = GM_EFAIL;
		goto out;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		rc = gm_error_set(err, GM_EFAIL, "could not read the database's OID and the next transaction ID");
		goto out;
	}
	*next = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	*dboid = strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	tabs = gm_db_query(c, gm_sql("build-tables"), 0, NULL, err);
	if (!tabs) {
		rc = GM_EFAIL;
		goto out;
	}
	t = calloc((size_t)PQntuples(tabs) + 1, sizeof(*t));
	if (!t)
		abort();
	for (int i = 0; i < PQntuples(tabs); i++, k++) {
		char *q, b32[32];
		const char *p[1] = { b32 };
		t[k].oid = gm_xstrdup(PQgetvalue(tabs, i, 0));
		t[k].schema = gm_xstrdup(PQgetvalue(tabs, i, 1));
		t[k].name = gm_xstrdup(PQgetvalue(tabs, i, 2));
		snprintf(b32, sizeof(b32), "%" PRIu64, build_next & UINT64_C(0xffffffff));
		/* xmin 0 to 2 are special (invalid, bootstrap, frozen): never new */
		q = gm_sqlf(c, "SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE "
			       "(xmin::pg_catalog.text)::pg_catalog.int8 >= 3 AND "
			       "(((xmin::pg_catalog.text)::pg_catalog.int8 - $1::pg_catalog.int8) %% 4294967296 + 4294967296) "
			       "%% 4294967296 < 2147483648) FROM ONLY %I.%I", t[k].schema, t[k].name);
		res = gm_db_query(c, q, 1, p, err);
		free(q);
		if (!res) {
			gm_error_prefix(err, "could not count the rows of %s.%s", t[k].schema, t[k].name);
			k++;
			rc = GM_EFAIL;
			goto out;
		}
		t[k].rows = atoll(PQgetvalue(res, 0, 0));
		t[k].newer = build_next ? atoll(PQgetvalue(res, 0, 1)) : 0;
		PQclear(res);
	}
	rc = GM_OK;
out:
	PQclear(tabs);
	gm_db_exec(c, rc == GM_OK ? "COMMIT" : "ROLLBACK", NULL);
	if (rc < 0) {
		for (size_t i = 0; i < k; i++) {
			free(t[i].oid);
			free(t[i].schema);
			free(t[i].name);
		}
		free(t);
		return rc;
	}
	*out = t;
	*n = k;
	return GM_OK;
}

static void free_counted(struct counted *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].oid);
		free(t[i].schema);
		free(t[i].name);
	}
	free(t);
}

static void digest(const struct counted *t, size_t n, char out[65])
{
	struct gm_buf b = GM_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		gm_buf_addf(&b, "%s %lld\n", t[i].oid, t[i].rows);
	gm_sha256_hex(b.data ? b.data : "", b.len, out);
	gm_buf_release(&b);
}

bool gm_build_is_record(const char *comment)
{
	return comment && strncmp(comment, GM_BUILT_MARK " ", strlen(GM_BUILT_MARK) + 1) == 0 &&
	       strstr(comment, RECORD_SEP) != NULL;
}

/* The record's figures; GM_ECHECK when the comment is no record gmdb wrote. */
static int parse_record(const char *comment, unsigned long *dboid, uint64_t *next, char sum[65])
{
	const char *r = NULL;
	char hex[65] = "";
	unsigned long long nx = 0;
	int used = 0;

	if (!gm_build_is_record(comment))
		return GM_ECHECK;
	for (const char *p = comment; (p = strstr(p, RECORD_SEP)); p++)
		r = p;
	r += strlen(RECORD_SEP);
	if (sscanf(r, "database %lu, next transaction %llu, rows sha256 %64[0-9a-f]%n", dboid, &nx, hex, &used) != 3 ||
	    r[used] != '\0' || strlen(hex) != 64)
		return GM_ECHECK;
	*next = nx;
	memcpy(sum, hex, 65);
	return GM_OK;
}

char *gm_build_describe(const char *comment)
{
	const char *r = NULL;
	if (!gm_build_is_record(comment))
		return NULL;
	for (const char *p = comment; (p = strstr(p, RECORD_SEP)); p++)
		r = p;
	return gm_xstrndup(comment + strlen("gmdb: "), (size_t)(r - comment) - strlen("gmdb: "));
}

int gm_build_record(PGconn *c, int from, int to, const char *source, char **record, struct gm_error *err)
{
	struct counted *t = NULL;
	size_t n = 0;
	uint64_t next = 0;
	unsigned long dboid = 0;
	char sum[65], stamp[64], *others = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	*record = NULL;
	/* another session could be writing: its rows could not be told from
	 * the build's */
	for (int tries = 0;; tries++) {
		/* a session of this run's that just ended may take a moment to go */
		free(others);
		others = NULL;
		rc = gm_db_value(c, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity "
				    "WHERE datname = pg_catalog.current_database() AND pid <> pg_catalog.pg_backend_pid()",
				 0, NULL, &others, err);
		if (rc < 0 || !others || strcmp(others, "0") == 0 || tries >= 20)
			break;
		usleep(100000);
	}
	if (rc == GM_OK && others && strcmp(others, "0") != 0)
		rc = gm_error_set(err, GM_ECHECK, "%s other session(s) are connected to database \"%s\"", others,
				  PQdb(c));
	free(others);
	if (rc == GM_OK)
		rc = count_tables(c, 0, &t, &n, &next, &dboid, err);
	if (rc < 0)
		return rc;
	digest(t, n, sum);
	free_counted(t, n);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
	*record = gm_xasprintf(GM_BUILT_MARK " %d %d from \"%s\" on %s" RECORD_SEP "database %lu, next transaction %" PRIu64
			       ", rows sha256 %s", from, to, source, stamp, dboid, next, sum);
	return GM_OK;
}

int gm_build_examine(PGconn *c, const char *comment, struct gm_buf *found, struct gm_error *err)
{
	struct counted *t = NULL;
	size_t n = 0, tables = 0, shown = 0;
	uint64_t build_next = 0, next = 0;
	unsigned long want_oid = 0, dboid = 0;
	char want[65], have[65];
	long long rows = 0;
	int rc;

	if (parse_record(comment, &want_oid, &build_next, want) < 0) {
		gm_buf_addf(found, "  it carries no build record of gmdb's (its comment is %s%s%s)", comment ? "\"" : "",
			    comment ? comment : "empty", comment ? "\"" : "");
		return 0;
	}
	rc = count_tables(c, build_next, &t, &n, &next, &dboid, err);
	if (rc < 0)
		return rc;
	if (dboid != want_oid) {
		gm_buf_addf(found, "  it is not the database the build record was made for (OID %lu, the record's %lu): "
				   "it was made anew or restored under this name", dboid, want_oid);
		rc = 0;
		goto out;
	}
	if (next < build_next || next - build_next >= WRAP) {
		gm_buf_addf(found, "  %" PRIu64 " transactions ran in the cluster since the build, too many to tell "
				   "old rows from new ones", next - build_next);
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!t[i].newer)
			continue;
		tables++;
		rows += t[i].newer;
		if (shown++ < 8)
			gm_buf_addf(found, "%s  %s.%s: %lld row%s written since the build", found->len ? "\n" : "", t[i].schema,
				    t[i].name, t[i].newer, t[i].newer == 1 ? "" : "s");
	}
	if (shown > 8)
		gm_buf_addf(found, "\n  ... %zu more tables with rows written since the build (%lld rows in all)", shown - 8,
			    rows);
	digest(t, n, have);
	if (!tables && strcmp(have, want) != 0)
		gm_buf_adds(found, "  no row is newer than the build, but the row counts are not the build's: rows were "
				   "deleted, or tables made or dropped, since the build");
	rc = found->len ? 0 : 1;
out:
	free_counted(t, n);
	return rc;
}
