/*
 * shortcut.c - the one place gmdb does less than upstream's SQL says, and
 * only where the database ends up exactly the same
 *
 * Nearly every upstream SQL file ends with
 *     select gm.log_script_insertion('<file>', '<version>');
 * In every known version that function deletes and inserts the file's row
 * of gm.schema_revision, logs the change into gm.access_log through
 * gm.log_other_access(), and then computes md5(gm.concat_table_structure())
 * - the schema hash, a read-only walk over the catalogs that takes most of
 * an upgrade's time - only to return it to a caller that throws it away.
 *
 * When the statement is exactly that call, and the current definitions of
 * log_script_insertion, log_other_access and the whole
 * concat_table_structure family are ones gmdb knows (their fingerprint is
 * in the table below), and the hash function has been seen to work in this
 * session with these very definitions, gmdb runs the same delete, insert
 * and log call without the hash. Anything else - another statement, a
 * definition changed by a script, an unknown version, a hash function that
 * fails - runs as written. GMDB_EXACT=1 turns the shortcut off.
 *
 * Seen to work where: by default in the statement's own transaction, the
 * first time a fingerprint comes up. A run may prove it earlier instead,
 * on a session set up as the owner session is (gm_owner_session: the same
 * role, settings, plpgsql checks) that reads the fingerprint and computes
 * the hash in one transaction: the fixup's identification of the database
 * where it calls the function (gm_identify_as_owner_session, then
 * gm_shortcut_proven; for definitions gmdb knows it reads the hash from
 * the catalogs instead, gm_schema_hash_known, which proves nothing), or a
 * session of its own while the constraints are revalidated
 * (gm_shortcut_prove_early), settled before anything writes to the
 * database (gm_shortcut_settle). The first statement whose definitions
 * have that very fingerprint, run as the same role, takes its outcome.
 * The database's state in between differs, as it does for every later
 * statement of the run, which takes the proof of the first one; a hash
 * that failed there, or another fingerprint, is proven in the
 * statement's transaction as before.
 */
#include "gmdb-int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Fingerprints (sql/shortcut-fingerprint.sql) of definitions read and
 * known to have no effect beyond the delete, insert and log call besides
 * the hash: those of the released databases and of the states the
 * upgrades pass through. */
static const char *const known[] = {
	"221105973220d3a8f79fba23854e0847", /* v19 ... v22, and every state of the 19-20, 20-21 and 21-22 upgrades */
	NULL
};

/*
 * The definitions of upstream's releases (sql/shortcut-fingerprint.sql),
 * v2 to v22, that upstream's superuser schema files call into (they end
 * with gm.log_script_insertion() or call gm.log_other_access()): the code
 * is upstream's, so running it as the superuser runs nothing the owner
 * wrote. Each is the fingerprint of the reference databases gmref_vN.
 */
static const char *const upstream_definitions[] = {
	"8b3b208f38a500da03e59a0fc3ee25ef", /* v2 ... v5 */
	"e68251383684c475a7364c2f784c1350", /* v6, v7 */
	"a6902d2584818955e217a99aaf6569b8", /* v8, v9 */
	"d308b418e6151d6919169007417f07d0", /* v10 */
	"c3d52c3048296041afa908322c9b3b73", /* v11 */
	"c2455b4438b7d8f3defa880d0f8e6898", /* v12 ... v15 */
	"e695b59c26cdd9b28c4b3bcdb37bc30e", /* v16 */
	"a38d4f9685286b88efbc7f6d63388d31", /* v17 */
	"a960208f95035e41271fae44358a9964", /* v18 */
	"221105973220d3a8f79fba23854e0847", /* v19 ... v22 */
	NULL
};

int gm_shortcut_check_superuser_calls(PGconn *conn, struct gm_error *err)
{
	char *fp = NULL;
	PGresult *res;
	int rc = gm_db_value(conn, gm_sql("shortcut-fingerprint"), 0, NULL, &fp, err);
	bool known_fp = false;

	if (rc < 0)
		return rc;
	for (size_t i = 0; fp && upstream_definitions[i]; i++)
		known_fp = known_fp || strcmp(fp, upstream_definitions[i]) == 0;
	if (!known_fp) {
		rc = gm_error_set(err, GM_ECHECK, "the superuser schema files call gm.log_script_insertion() and "
						  "gm.log_other_access(), whose definitions here are not upstream's");
		gm_error_detail(err, "Their fingerprint is %s. As the superuser they would run whatever the database "
				     "owner made of them.", fp ? fp : "NULL");
		gm_error_hint(err, "Compare the functions with those of upstream's release (psql: \\sf gm.log_script_insertion), "
				   "or run upstream's own engine if you trust the owner.");
		free(fp);
		return rc;
	}
	free(fp);
	{
		/* gm.is_null_or_blank_string(text) of v10 ... v22 (gm.access_log's
		 * CHECK constraint), measured like upstream_definitions */
		const char *p[1] = { "{d3498824c5b7181e4c519e6fb238baf5}" };
		res = gm_db_query(conn, gm_sql("superuser-files-hazards"), 1, p, err);
	}
	if (!res)
		return GM_EFAIL;
	if (PQntuples(res) > 0) {
		rc = gm_error_set(err, GM_ECHECK, "upstream's superuser schema files would run code of somebody else's "
						  "as the superuser: %s: %s%s%s%s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
				  PQgetisnull(res, 0, 2) ? "" : " (owned by \"",
				  PQgetisnull(res, 0, 2) ? "" : PQgetvalue(res, 0, 2), PQgetisnull(res, 0, 2) ? "" : "\")");
		gm_error_hint(err, "Upstream's gm.schema_revision and gm.access_log have none of it; look at what the "
				   "owner added, or run upstream's own engine if you trust the owner.");
	}
	PQclear(res);
	return rc;
}

struct gm_shortcut {
	PGconn **conn;
	PGconn *early;   /* the early proof's session, its hash running */
	char *proven_user; /* proven on another session, as this role */
	char *early_fp;  /* the fingerprint it read */
	int early_outcome; /* settled: 1 its hash worked, -1 it failed; 0 not (yet) */
	char *proven;    /* fingerprint whose hash function ran fine here */
	char *failed;    /* fingerprint whose hash function failed here */
	long taken, declined;
};

struct gm_shortcut *gm_shortcut_new(PGconn **conn)
{
	struct gm_shortcut *s = gm_xcalloc(1, sizeof(*s));
	s->conn = conn;
	return s;
}

void gm_shortcut_free(struct gm_shortcut *s)
{
	if (!s)
		return;
	if (s->taken || s->declined)
		gm_log(GM_LOG_INFO, "schema hash shortcut: taken %ld times, declined %ld times", s->taken, s->declined);
	gm_conn_close(s->early);
	free(s->early_fp);
	free(s->proven_user);
	free(s->proven);
	free(s->failed);
	free(s);
}

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* A plain '...' literal without quotes or backslashes inside. */
static const char *literal(const char *p, char **out)
{
	const char *q;

	if (*p != '\'')
		return NULL;
	q = strchr(p + 1, '\'');
	if (!q || q[1] == '\'')
		return NULL;
	for (const char *c = p + 1; c < q; c++)
		if (*c == '\\' || (unsigned char)*c < 0x20)
			return NULL;
	*out = gm_xstrndup(p + 1, (size_t)(q - p - 1));
	return q + 1;
}

/* Is statement exactly "select gm.log_script_insertion('A', 'B')"? */
static bool parse_call(const char *stmt, char **file, char **version)
{
	const char *p = skip_ws(stmt);

	*file = *version = NULL;
	if (strncasecmp(p, "select", 6) != 0 || !isspace((unsigned char)p[6]))
		return false;
	p = skip_ws(p + 6);
	if (strncmp(p, "gm.log_script_insertion", 23) != 0)
		return false;
	p = skip_ws(p + 23);
	if (*p++ != '(')
		return false;
	if (!(p = literal(skip_ws(p), file)))
		return false;
	p = skip_ws(p);
	if (*p++ != ',' || !(p = literal(skip_ws(p), version))) {
		free(*file);
		*file = NULL;
		return false;
	}
	p = skip_ws(p);
	if (*p++ != ')' || *skip_ws(p) != '\0') {
		free(*file);
		free(*version);
		*file = *version = NULL;
		return false;
	}
	return true;
}

static bool is_known(const char *fp)
{
	for (size_t i = 0; known[i]; i++)
		if (strcmp(known[i], fp) == 0)
			return true;
	return false;
}

bool gm_exact(void)
{
	const char *exact = getenv("GMDB_EXACT");
	return exact && strcmp(exact, "1") == 0;
}

bool gm_shortcut_known(const char *fp)
{
	return fp && is_known(fp);
}

/* Does the hash function work here, now? Tried in a savepoint. */
static bool hash_works(PGconn *conn)
{
	struct gm_error err = GM_ERROR_INIT;
	char *h = NULL;
	bool ok;

	if (gm_session_exec(conn, "SAVEPOINT gmdb_shortcut", &err) < 0) {
		gm_error_release(&err);
		return false;
	}
	ok = gm_db_value(conn, "SELECT pg_catalog.md5(gm.concat_table_structure())", 0, NULL, &h, &err) == GM_OK && h;
	gm_db_exec(conn, ok ? "RELEASE SAVEPOINT gmdb_shortcut" : "ROLLBACK TO SAVEPOINT gmdb_shortcut", NULL);
	if (!ok)
		gm_log(GM_LOG_INFO, "schema hash shortcut: the hash function fails here (%s): statements run as written",
		       err.message ? err.message : "?");
	free(h);
	gm_error_release(&err);
	return ok;
}

void gm_shortcut_prove_early(struct gm_shortcut *s, const char *db, const char *owner)
{
	struct gm_error err = GM_ERROR_INIT;
	PGconn *c;

	if (!s || s->early || s->proven || gm_exact())
		return;
	free(s->early_fp);
	s->early_fp = NULL;
	c = gm_owner_session(db, owner, "postgres@gnumed_vX", &err);
	if (c && gm_db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &err) == GM_OK &&
	    gm_db_value(c, gm_sql("shortcut-fingerprint"), 0, NULL, &s->early_fp, &err) == GM_OK && s->early_fp &&
	    is_known(s->early_fp)) {
		gm_log(GM_LOG_SQL, "SELECT pg_catalog.md5(gm.concat_table_structure())");
		if (PQsendQuery(c, "SELECT pg_catalog.md5(gm.concat_table_structure())")) {
			s->early = c;
			return;
		}
	}
	gm_log(GM_LOG_DEBUG, "schema hash shortcut: no early proof: %s",
	       err.message ? err.message : s->early_fp ? "definitions not known" : "-");
	gm_error_release(&err);
	gm_conn_close(c);
	free(s->early_fp);
	s->early_fp = NULL;
}

void gm_shortcut_proven(struct gm_shortcut *s, const char *fp, const char *user)
{

	if (!s || !fp || !user || s->proven || !is_known(fp) || gm_exact())
		return;
	s->proven = gm_xstrdup(fp);
	s->proven_user = gm_xstrdup(user);
	gm_log(GM_LOG_INFO, "schema hash shortcut: the hash function works with definitions %s "
			    "(proven as \"%s\" on the session set up as the owner session that identified the database)", fp, user);
}

void gm_shortcut_settle(struct gm_shortcut *s)
{
	PGresult *res;
	bool ok = true;

	if (!s || !s->early)
		return;
	while ((res = PQgetResult(s->early))) {
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
			if (ok)
				gm_log(GM_LOG_INFO, "schema hash shortcut: the early proof failed (%s)",
				       PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res) : "no hash");
			ok = false;
		}
		PQclear(res);
	}
	gm_conn_close(s->early);
	s->early = NULL;
	s->early_outcome = ok ? 1 : -1;
	gm_log(GM_LOG_INFO, "schema hash shortcut: the early proof's hash %s; its session has ended",
	       ok ? "worked" : "failed");
}

/* The early proof's outcome, for definitions fp: true if its hash worked
 * with these very definitions. Settles it first if need be; taken once. */
static bool early_proof(struct gm_shortcut *s, const char *fp)
{
	bool ok, same = s->early_fp && strcmp(s->early_fp, fp) == 0;

	gm_shortcut_settle(s);
	if (!s->early_outcome)
		return false;
	ok = s->early_outcome > 0;
	s->early_outcome = 0;
	if (ok && same)
		gm_log(GM_LOG_INFO, "schema hash shortcut: the hash function works with definitions %s "
				    "(proven on a session of its own, set up as the owner session)", fp);
	return ok && same;
}

char *gm_shortcut_rewrite(void *data, const char *statement)
{
	struct gm_shortcut *s = data;
	PGconn *conn = s && s->conn ? *s->conn : NULL;
	char *file, *version, *fp = NULL, *out = NULL;

	if (!conn || gm_exact() || !parse_call(statement, &file, &version))
		return NULL;
	/* in the statement's own transaction: what the call would see */
	if (gm_session_begin(conn, NULL) < 0 || gm_db_value(conn, gm_sql("shortcut-fingerprint"), 0, NULL, &fp, NULL) < 0 ||
	    !fp || !is_known(fp)) {
		gm_log(GM_LOG_DEBUG, "schema hash shortcut: definitions %s not known: run as written", fp ? fp : "?");
		goto decline;
	}
	if (s->failed && strcmp(s->failed, fp) == 0)
		goto decline;
	/* a proof of another session counts for the same role only */
	if (s->proven_user && strcmp(s->proven_user, PQuser(conn)) != 0) {
		gm_log(GM_LOG_INFO, "schema hash shortcut: proven as \"%s\", the files run as \"%s\": proving again",
		       s->proven_user, PQuser(conn));
		free(s->proven);
		free(s->proven_user);
		s->proven = s->proven_user = NULL;
	}
	if (!s->proven || strcmp(s->proven, fp) != 0) {
		if (!early_proof(s, fp) && !hash_works(conn)) {
			free(s->failed);
			s->failed = gm_xstrdup(fp);
			goto decline;
		}
		free(s->proven);
		free(s->proven_user);
		s->proven = gm_xstrdup(fp);
		s->proven_user = NULL;
	}
	/* the function's body without the hash; the literals are plain */
	out = gm_sqlf(*s->conn, "delete from gm.schema_revision where filename = %L::text; "
				"insert into gm.schema_revision (filename, version) values (%L::text, %L::text); "
				"select gm.log_other_access('database change script inserted: ' || %L::text || ' (' || %L::text || ')')",
		      file, file, version, file, version);
	s->taken++;
	free(fp);
	free(file);
	free(version);
	return out;
decline:
	s->declined++;
	free(fp);
	free(file);
	free(version);
	return NULL;
}
