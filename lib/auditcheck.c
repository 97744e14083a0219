/*
 * auditcheck.c - does the new database's audit trail work?
 *
 * The schema hash and upstream's plausibility checks count tables and
 * rows; neither runs a trigger. A database whose audit triggers do not fit
 * its log tables (a generator gmdb does not reproduce, a bundle that
 * renamed a column) passes both and fails the practice's first edit. So
 * after the bundles, on the owner's connection (the triggers are the
 * owner's code and must not run with more rights), one row of every
 * audited table is updated and deleted inside a transaction that is
 * rolled back:
 *
 *  - an error of the triggers' own making (undefined column, table or
 *    function, a syntax error: SQLSTATE classes 42, 0A, 2F, 39, XX) marks
 *    the table broken, naming statement and PostgreSQL's message;
 *  - so does a statement that succeeds without writing a row into the
 *    audit trail (audit.audit_trail, the parent of every log table);
 *  - what the practice's own rules refuse (a foreign key, a business rule
 *    raised by a trigger, a rule that does nothing instead) is not the
 *    audit machinery's fault: counted, not failed; an empty table cannot be
 *    tried.
 *
 * The caller decides what a broken table means: upstream's own engine
 * leaves some in its v3 to v7 and v10 (gm_audit_check_known_defects).
 *
 * Nothing is left: the transaction is rolled back (the notifications the
 * triggers send are never delivered) and the sequences it advanced (the
 * audit trail's key) are set back to where they were.
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>

struct seqval {
	char *name, *value, *called;
};

static void free_seqs(struct seqval *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(s[i].name);
		free(s[i].value);
		free(s[i].called);
	}
	free(s);
}

/* The state of every sequence the session may read and set, read from the
 * sequence itself (pg_sequences hides is_called). GNUmed's sequences, the
 * audit trail's among them, are all the owner's; one the owner may not read
 * and set (someone else's) is not looked at, so that it cannot make the
 * check fail. */
static int read_seqs(PGconn *c, struct seqval **out, size_t *n, struct gm_error *err)
{
	PGresult *res = gm_db_query(c, "SELECT s.schemaname, s.sequencename FROM pg_catalog.pg_sequences s "
				       "WHERE pg_catalog.has_sequence_privilege(pg_catalog.format('%I.%I', s.schemaname, "
				       "s.sequencename), 'SELECT,UPDATE') ORDER BY 1, 2", 0, NULL, err);
	struct gm_buf q = GM_BUF_INIT;
	int rc = GM_OK;

	*out = NULL;
	*n = 0;
	if (!res)
		return GM_EFAIL;
	for (int i = 0; i < PQntuples(res); i++) {
		char *name = gm_sqlf(c, "%I.%I", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		char *part = gm_sqlf(c, "SELECT %L, last_value::text, is_called::text FROM %I.%I", name,
				     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		if (i)
			gm_buf_adds(&q, " UNION ALL ");
		gm_buf_adds(&q, part);
		free(part);
		free(name);
	}
	if (PQntuples(res) > 0) {
		PGresult *v = gm_db_query(c, gm_buf_str(&q), 0, NULL, err);
		if (!v) {
			rc = GM_EFAIL;
		} else {
			*out = gm_xcalloc((size_t)PQntuples(v), sizeof(**out));
			for (int i = 0; i < PQntuples(v); i++) {
				(*out)[i].name = gm_xstrdup(PQgetvalue(v, i, 0));
				(*out)[i].value = gm_xstrdup(PQgetvalue(v, i, 1));
				(*out)[i].called = gm_xstrdup(PQgetvalue(v, i, 2));
			}
			*n = (size_t)PQntuples(v);
			PQclear(v);
		}
	}
	gm_buf_release(&q);
	PQclear(res);
	return rc;
}

/* Is this error the audit machinery's own (a trigger that does not fit)? */
static bool machinery_error(const char *state)
{
	return state && (strncmp(state, "42", 2) == 0 || strncmp(state, "0A", 2) == 0 ||
			 strncmp(state, "2F", 2) == 0 || strncmp(state, "39", 2) == 0 || strncmp(state, "XX", 2) == 0);
}

/* The count of the audit trail's rows above a key, prepared once per check
 * (gm_audit_check): planned anew, each of the hundred or so counts planned
 * a scan of every log table (about 1.8 ms against 0.5 ms on the real v22). */
#define COUNT_STMT "gmdb_audit_check_count"

static int prepare_count(PGconn *c, const char *pk, struct gm_error *err)
{
	char *q = gm_sqlf(c, "SELECT count(*) FROM audit.audit_trail WHERE %I > $1::bigint", pk);
	PGresult *res;
	int rc = GM_OK;

	gm_log(GM_LOG_SQL, "PREPARE " COUNT_STMT " AS %s", q);
	res = PQprepare(c, COUNT_STMT, q, 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = gm_error_from_result(err, GM_EFAIL, res, "could not prepare the count of the audit trail");
	PQclear(res);
	free(q);
	return rc;
}

/* The number of audit rows with a key above base. */
static long audit_rows_since(PGconn *c, const char *base, struct gm_error *err)
{
	const char *p[1] = { base };
	PGresult *res;
	long n = -1;

	gm_log(GM_LOG_SQL, "EXECUTE " COUNT_STMT "(%s)", base);
	res = PQexecPrepared(c, COUNT_STMT, 1, p, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		n = atol(PQgetvalue(res, 0, 0));
	else
		gm_error_from_result(err, GM_EFAIL, res, "could not count the audit trail's rows");
	PQclear(res);
	return n;
}

static char *audit_max(PGconn *c, const char *pk, struct gm_error *err)
{
	char *q = gm_sqlf(c, "SELECT coalesce(max(%I), 0)::text FROM audit.audit_trail", pk), *v = NULL;
	if (gm_db_value(c, q, 0, NULL, &v, err) < 0) {
		free(v);
		v = NULL;
	}
	free(q);
	return v;
}

/* Run one statement on one row: GM_OK when it worked and was audited, or
 * the practice's rules refused it (*refused), or the audit machinery broke
 * (*broken: what, malloc'ed); GM_EFAIL when the check itself could not go on.
 * base is the audit trail's highest key when the table's savepoint was set
 * (every table's work is rolled back, so it is the same for all of them);
 * *since counts the rows above it so far, and this statement's are the
 * rows above it afterwards less those: one count of the audit trail (a scan
 * of every log table's key) per statement, where reading the highest key
 * again before each would be two. */
static int try_one(PGconn *c, const char *what, const char *schema, const char *table, const char *sql,
		   const char *base, long *since, bool *refused, char **broken, struct gm_error *err)
{
	struct gm_error e = GM_ERROR_INIT;
	int rc;
	long n;

	*refused = false;
	*broken = NULL;
	gm_db_exec(c, "SAVEPOINT gmdb_audit_check_stmt", NULL);
	{
		PGresult *res = gm_db_run(c, sql, 0, NULL, &e);
		rc = res ? GM_OK : GM_EFAIL;
		if (res && strcmp(PQcmdTuples(res), "0") == 0) {
			/* a rule (DO INSTEAD NOTHING) or a trigger kept the row as it
			 * was: the database's own rules, nothing was there to audit */
			gm_log(GM_LOG_DEBUG, "audit check: %s of a row of %s.%s changed no row", what, schema, table);
			*refused = true;
			PQclear(res);
			/* whatever its triggers wrote all the same is not the next
			 * statement's */
			n = audit_rows_since(c, base, err);
			if (n < 0)
				return GM_EFAIL;
			*since = n;
			return GM_OK;
		}
		PQclear(res);
	}
	if (rc < 0) {
		/* back to before the statement: the rows above base are *since again */
		gm_db_exec(c, "ROLLBACK TO SAVEPOINT gmdb_audit_check_stmt", NULL);
		rc = GM_OK;
		if (machinery_error(e.sqlstate)) {
			*broken = gm_xasprintf("%s of a row of %s.%s failed: %s%s%s%s", what, schema, table,
					       e.message ? e.message : "?", e.sqlstate ? " (SQLSTATE " : "",
					       e.sqlstate ? e.sqlstate : "", e.sqlstate ? ")" : "");
		} else {
			gm_log(GM_LOG_DEBUG, "audit check: %s of a row of %s.%s refused by the database's rules: %s (%s)", what,
			       schema, table, e.message ? e.message : "?", e.sqlstate ? e.sqlstate : "?");
			*refused = true;
		}
		gm_error_release(&e);
		return rc;
	}
	n = audit_rows_since(c, base, err);
	if (n < 0)
		return GM_EFAIL;
	if (n - *since <= 0)
		*broken = gm_xasprintf("%s of a row of %s.%s wrote no row into audit.audit_trail", what, schema, table);
	*since = n;
	return GM_OK;
}

/* The versions in which upstream's own engine leaves audit triggers that
 * do not fit (log tables lagging behind renamed columns such as
 * id_patient, patient_id, doc_id, id; registered tables without triggers),
 * with the tables it does so for in the databases upstream's bootstrapper
 * makes (the test suite's reference databases, tests/gnumed/audit-check.sh).
 * A practice's database may have rows where those have none, so in these
 * versions whatever the check finds is upstream's own: warned about, not
 * failed; the next versions repair them (v8, v11 and later are clean). */
static const struct {
	int version;
	const char *tables;
} known_defects[] = {
	{ 3, "blobs.doc_desc blobs.doc_med clin.health_issue clin.vaccination" },
	{ 4, "blobs.doc_desc blobs.doc_med clin.health_issue clin.vaccination" },
	{ 5, "blobs.doc_desc blobs.doc_med clin.allergy clin.health_issue clin.vaccination" },
	{ 6, "blobs.doc_desc blobs.doc_med cfg.report_query clin.allergy clin.health_issue clin.vaccination" },
	{ 7, "blobs.doc_desc blobs.doc_med cfg.report_query clin.allergy clin.health_issue clin.vaccination "
	     "ref.paperwork_templates" },
	{ 10, "blobs.doc_med clin.allergy clin.allergy_state clin.episode clin.health_issue gm.access_log" },
};

const char *gm_audit_check_known_defects(int version)
{
	for (size_t i = 0; i < sizeof(known_defects) / sizeof(known_defects[0]); i++)
		if (known_defects[i].version == version)
			return known_defects[i].tables;
	return NULL;
}

void gm_audit_check_release(struct gm_audit_check *ac)
{
	gm_strv_release(&ac->broken_tables);
	gm_strv_release(&ac->broken);
}

int gm_audit_check(PGconn *c, struct gm_audit_check *out, struct gm_error *err)
{
	PGresult *tables = NULL;
	struct seqval *before = NULL, *after = NULL;
	size_t nbefore = 0, nafter = 0;
	char *pk = NULL, *present = NULL, *base = NULL;
	bool prepared = false;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = gm_db_value(c, "SELECT (pg_catalog.to_regclass('audit.audit_trail') IS NOT NULL AND "
			    "pg_catalog.to_regclass('audit.audited_tables') IS NOT NULL)::text", 0, NULL, &present, err);
	if (rc < 0)
		return rc;
	if (strcmp(present, "true") != 0) {
		free(present);
		out->no_audit = true;
		return GM_OK;
	}
	free(present);
	/* the audit trail's key (upstream's pk_audit) */
	rc = gm_db_value(c, "SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
			    "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
			    "WHERE i.indrelid = 'audit.audit_trail'::regclass AND i.indisprimary", 0, NULL, &pk, err);
	if (rc < 0 || !pk || !*pk) {
		free(pk);
		return rc < 0 ? rc : gm_error_set(err, GM_ECHECK, "audit.audit_trail has no primary key to check against");
	}
	tables = gm_db_query(c,
			     "SELECT a.schema, a.table_name, "
			     "  (SELECT att.attname FROM pg_catalog.pg_attribute att WHERE att.attrelid = c.oid "
			     "     AND att.attnum > 0 AND NOT att.attisdropped "
			     /* a column the UPDATE may set to itself: not GENERATED ALWAYS
			      * AS IDENTITY (master's v23 has such keys), not generated */
			     "     ORDER BY (att.attidentity = 'a' OR att.attgenerated <> ''), att.attnum LIMIT 1) "
			     "FROM audit.audited_tables a "
			     "JOIN pg_catalog.pg_namespace n ON n.nspname = a.schema "
			     "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = a.table_name "
			     "ORDER BY 1, 2", 0, NULL, err);
	if (!tables) {
		free(pk);
		return GM_EFAIL;
	}
	rc = read_seqs(c, &before, &nbefore, err);
	if (rc == GM_OK && (rc = prepare_count(c, pk, err)) == GM_OK)
		prepared = true;
	if (rc == GM_OK)
		rc = gm_db_exec(c, "BEGIN READ WRITE", err);
	if (rc == GM_OK && !(base = audit_max(c, pk, err)))
		rc = GM_EFAIL;
	for (int i = 0; rc == GM_OK && i < PQntuples(tables); i++) {
		const char *s = PQgetvalue(tables, i, 0), *t = PQgetvalue(tables, i, 1), *col = PQgetvalue(tables, i, 2);
		char *q, *ctid = NULL;
		bool refused = false;

		out->tables++;
		q = gm_sqlf(c, "SELECT ctid::text FROM ONLY %I.%I LIMIT 1", s, t);
		{
			PGresult *r = gm_db_query(c, q, 0, NULL, err);
			free(q);
			if (!r) {
				rc = GM_EFAIL;
				break;
			}
			if (PQntuples(r) > 0)
				ctid = gm_xstrdup(PQgetvalue(r, 0, 0));
			PQclear(r);
		}
		if (!ctid || !*ctid) {
			out->empty++;
			free(ctid);
			continue;
		}
		gm_db_exec(c, "SAVEPOINT gmdb_audit_check", NULL);
		{
			char *broken = NULL, *name = gm_xasprintf("%s.%s", s, t);
			long since = 0;
			q = gm_sqlf(c, "UPDATE ONLY %I.%I SET %I = %I WHERE ctid = %L::tid", s, t, col, col, ctid);
			rc = try_one(c, "an UPDATE", s, t, q, base, &since, &refused, &broken, err);
			free(q);
			if (rc == GM_OK && !broken) {
				if (refused)
					out->refused++;
				else
					out->updated++;
				q = gm_sqlf(c, "DELETE FROM ONLY %I.%I WHERE ctid = (SELECT ctid FROM ONLY %I.%I LIMIT 1)", s,
					    t, s, t);
				rc = try_one(c, "a DELETE", s, t, q, base, &since, &refused, &broken, err);
				free(q);
				if (rc == GM_OK && !broken && refused)
					out->refused++;
				else if (rc == GM_OK && !broken)
					out->deleted++;
			}
			if (broken) {
				gm_strv_push(&out->broken_tables, name);
				gm_strv_push_owned(&out->broken, broken);
			}
			free(name);
		}
		gm_db_exec(c, "ROLLBACK TO SAVEPOINT gmdb_audit_check", NULL);
		free(ctid);
	}
	gm_db_exec(c, "ROLLBACK", NULL);
	if (prepared)
		gm_db_exec(c, "DEALLOCATE " COUNT_STMT, NULL);
	/* set back what the rolled back work advanced */
	{
		struct gm_error e2 = GM_ERROR_INIT;
		int rc2 = read_seqs(c, &after, &nafter, &e2);
		if (rc2 == GM_OK && nafter == nbefore)
			rc2 = gm_db_exec(c, "BEGIN READ WRITE", &e2);
		for (size_t i = 0; rc2 == GM_OK && i < nbefore && i < nafter; i++) {
			char *q;
			if (strcmp(before[i].value, after[i].value) == 0 && strcmp(before[i].called, after[i].called) == 0)
				continue;
			q = gm_sqlf(c, "SELECT pg_catalog.setval(%L::regclass, %L::bigint, %L::boolean)", before[i].name,
				    before[i].value, before[i].called);
			rc2 = gm_db_exec(c, q, &e2);
			free(q);
			out->sequences_reset++;
		}
		if (rc2 == GM_OK && nafter == nbefore)
			rc2 = gm_db_exec(c, "COMMIT", &e2);
		else if (rc2 == GM_OK)
			rc2 = gm_error_set(&e2, GM_EFAIL, "the sequences changed during the check");
		if (rc2 < 0) {
			gm_db_exec(c, "ROLLBACK", NULL);
			if (rc == GM_OK) {
				gm_error_release(err);
				*err = e2;
				gm_error_prefix(err, "could not set the sequences back after the audit check");
				rc = GM_EFAIL;
			} else {
				gm_error_release(&e2);
			}
		}
	}
	free_seqs(before, nbefore);
	free_seqs(after, nafter);
	PQclear(tables);
	free(pk);
	free(base);
	return rc;
}
