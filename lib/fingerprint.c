/*
 * fingerprint.c - what gm-fingerprint_db finds out about a database
 *
 * Upstream's fingerprint (spec 8.1), taken in one read-only transaction so
 * that nothing is written and all figures belong to one snapshot.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void gm_fingerprint_init(struct gm_fingerprint *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->version = -1;
	fp->size_bytes = -1;
}

void gm_fingerprint_release(struct gm_fingerprint *fp)
{
	if (!fp)
		return;
	free(fp->database);
	free(fp->size);
	free(fp->hash);
	free(fp->pg_version);
	free(fp->encoding);
	free(fp->collate);
	free(fp->ctype);
	for (size_t i = 0; i < fp->n_items; i++)
		free(fp->items[i].value);
	free(fp->items);
	free(fp->structure);
	for (size_t i = 0; i < fp->n_tables; i++) {
		free(fp->tables[i].schema);
		free(fp->tables[i].name);
	}
	free(fp->tables);
	free(fp->computed_hash);
	gm_fingerprint_init(fp);
}

/* Labels live as long as the library: point items at these. */
static const char *const count_labels[] = {
	"Patients", "Contacts", "Episodes", "Issues", "Results", "Vaccinations",
	"Documents", "Objects", "Organizations", "Organizational units",
	"Most recent .modified_when", "Most recent .audit_when",
	/* a v23 database's (upstream's development tree renamed the audit columns) */
	"   Earliest .modified_when", "   Earliest .version_logged_when", "Most recent .version_logged_when",
};
#define N_COUNTS (sizeof(count_labels) / sizeof(count_labels[0]))

static char *dup_value(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : gm_xstrdup(PQgetvalue(res, row, col));
}

static int read_basics(PGconn *conn, struct gm_fingerprint *fp, struct gm_error *err)
{
	PGresult *res = gm_db_query(conn, gm_sql("fingerprint-basics"), 0, NULL, err);
	if (!res)
		return GM_EFAIL;
	fp->database = dup_value(res, 0, 0);
	fp->size = dup_value(res, 0, 1);
	fp->size_bytes = atoll(PQgetvalue(res, 0, 2));
	fp->pg_version = dup_value(res, 0, 3);
	fp->encoding = dup_value(res, 0, 4);
	fp->collate = dup_value(res, 0, 5);
	fp->ctype = dup_value(res, 0, 6);
	bool gnumed = strcmp(PQgetvalue(res, 0, 7), "t") == 0;
	PQclear(res);
	if (!gnumed) {
		gm_error_set(err, GM_ECHECK, "database \"%s\" is not a GNUmed database", fp->database);
		gm_error_detail(err, "It has no schema \"gm\".");
		return GM_ECHECK;
	}
	return GM_OK;
}

static void take_counts(PGresult *res, struct gm_fingerprint *fp)
{
	fp->items = gm_xcalloc(N_COUNTS, sizeof(*fp->items));
	fp->n_items = 0;
	for (int i = 0; i < PQntuples(res) && fp->n_items < N_COUNTS; i++) {
		const char *label = NULL;
		for (size_t l = 0; l < N_COUNTS && !label; l++)
			if (strcmp(count_labels[l], PQgetvalue(res, i, 0)) == 0)
				label = count_labels[l];
		if (!label)
			continue;
		fp->items[fp->n_items].label = label;
		fp->items[fp->n_items].value = dup_value(res, i, 2);
		if (strcmp(PQgetvalue(res, i, 1), "t") != 0)
			gm_log(GM_LOG_INFO, "database \"%s\" has no table for \"%s\"", fp->database, label);
		fp->n_items++;
	}
}

static int read_counts(PGconn *conn, struct gm_fingerprint *fp, struct gm_error *err)
{
	PGresult *res = gm_db_query(conn, gm_sql("fingerprint-counts"), 0, NULL, err);
	if (!res) {
		gm_error_prefix(err, "could not count the rows of database \"%s\"", fp->database);
		return GM_EFAIL;
	}
	take_counts(res, fp);
	PQclear(res);
	return GM_OK;
}

static int read_tables(PGconn *conn, struct gm_fingerprint *fp, struct gm_error *err)
{
	PGresult *res = gm_db_query(conn, gm_sql("fingerprint-tables"), 0, NULL, err);
	if (!res) {
		gm_error_prefix(err, "could not count the rows of every table");
		return GM_EFAIL;
	}
	fp->n_tables = (size_t)PQntuples(res);
	fp->tables = gm_xcalloc(fp->n_tables, sizeof(*fp->tables));
	for (size_t i = 0; i < fp->n_tables; i++) {
		fp->tables[i].schema = dup_value(res, (int)i, 0);
		fp->tables[i].name = dup_value(res, (int)i, 1);
		fp->tables[i].rows = atoll(PQgetvalue(res, (int)i, 2));
	}
	PQclear(res);
	return GM_OK;
}

/* The fingerprint's session and its one read-only transaction, the basics
 * read (*rc); NULL where it could not connect. The hash function, the
 * counted tables: the owner's, read as the owner (as upstream's
 * gm-fingerprint_db connects as gm-dbo). */
static PGconn *open_read(const char *database, const char *owner, struct gm_fingerprint *fp, int *rc,
			 struct gm_error *err)
{
	PGconn *conn = gm_owner_open(database, owner, "gm-fingerprint_db", GM_CONN_SAFE_PATH, err);

	*rc = conn ? gm_db_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err) : GM_EFAIL;
	if (*rc == GM_OK)
		*rc = read_basics(conn, fp, err);
	return conn;
}

int gm_fingerprint_take(const struct gm_fingerprint_opts *opts, struct gm_fingerprint *fp,
			struct gm_error *err)
{
	PGconn *conn;
	int rc;

	conn = open_read(opts->database, opts->owner, fp, &rc, err);
	if (!conn)
		return GM_EFAIL;
	if (rc == GM_OK && opts->known_hash) {
		fp->hash = gm_xstrdup(opts->known_hash);
	} else if (rc == GM_OK) {
		rc = gm_schema_hash(conn, -1, &fp->hash, &fp->hash_repaired, err);
		if (rc < 0)
			gm_error_prefix(err, "database \"%s\"", fp->database);
	}
	if (rc == GM_OK) {
		fp->version = gm_version_for_hash(fp->hash);
		rc = read_counts(conn, fp, err);
	}
	if (rc == GM_OK && (opts->tables || opts->json))
		rc = read_tables(conn, fp, err);
	if (rc == GM_OK && (opts->verify_hash || (opts->with_dump && fp->hash_repaired))) {
		char *text = NULL;
		rc = gm_structure_v19(conn, &text, &fp->computed_hash, err);
		if (fp->hash_repaired) {
			fp->structure = text;
			text = NULL;
		}
		free(text);
		fp->verified = rc == GM_OK && opts->verify_hash;
	}
	if (rc == GM_OK && opts->with_dump && !fp->structure) {
		PGresult *res;
		gm_db_exec(conn, GM_HASH_SEARCH_PATH, NULL);
		res = gm_db_query(conn, "SELECT gm.concat_table_structure()", 0, NULL, err);
		gm_db_exec(conn, "SET LOCAL search_path TO pg_catalog, pg_temp", NULL);
		if (!res) {
			gm_error_prefix(err, "could not read the schema structure");
			rc = GM_EFAIL;
		} else {
			fp->structure = dup_value(res, 0, 0);
			PQclear(res);
		}
	}
	gm_db_exec(conn, "ROLLBACK", NULL);
	gm_conn_close(conn);
	return rc;
}

struct gm_fingerprint_pending {
	PGconn *conn;
	bool sent; /* the counts' query */
	struct gm_fingerprint fp;
};

struct gm_fingerprint_pending *gm_fingerprint_begin(const char *database, const char *owner, struct gm_error *err)
{
	struct gm_fingerprint_pending *p = gm_xcalloc(1, sizeof(*p));
	int rc;

	gm_fingerprint_init(&p->fp);
	p->conn = open_read(database, owner, &p->fp, &rc, err);
	if (rc == GM_OK) {
		gm_log(GM_LOG_SQL, "%s", gm_sql("fingerprint-counts"));
		if (!(p->sent = PQsendQuery(p->conn, gm_sql("fingerprint-counts"))))
			rc = gm_error_from_conn(err, GM_EFAIL, p->conn, "could not count the rows of database \"%s\"",
						p->fp.database);
	}
	if (rc < 0) {
		gm_fingerprint_end(p, NULL, NULL, NULL);
		return NULL;
	}
	return p;
}

int gm_fingerprint_end(struct gm_fingerprint_pending *p, const char *known_hash, struct gm_fingerprint *fp,
		       struct gm_error *err)
{
	PGresult *res, *last = NULL;
	int rc = GM_OK;

	if (!p)
		return GM_EFAIL;
	if (!known_hash && p->sent) {
		PGcancel *c = PQgetCancel(p->conn);
		char buf[256];
		if (c)
			PQcancel(c, buf, sizeof(buf));
		PQfreeCancel(c);
	}
	while (p->sent && (res = PQgetResult(p->conn))) {
		PQclear(last);
		last = res;
	}
	if (!known_hash) {
		/* cancelled */
	} else if (PQresultStatus(last) != PGRES_TUPLES_OK) {
		rc = last ? gm_error_from_result(err, GM_EFAIL, last, "could not count the rows of database \"%s\"",
						 p->fp.database)
			  : gm_error_from_conn(err, GM_EFAIL, p->conn, "could not count the rows of database \"%s\"",
					       p->fp.database);
	} else {
		take_counts(last, &p->fp);
		p->fp.hash = gm_xstrdup(known_hash);
		p->fp.version = gm_version_for_hash(known_hash);
		*fp = p->fp;
		gm_fingerprint_init(&p->fp);
	}
	PQclear(last);
	if (p->conn) {
		gm_db_exec(p->conn, "ROLLBACK", NULL);
		gm_conn_close(p->conn);
	}
	gm_fingerprint_release(&p->fp);
	free(p);
	return rc;
}

/* the values come from the database (its name, its settings): shown, not obeyed */
#define LINE(out, label, value)                                      \
	do {                                                          \
		char *printable_ = gm_printable(value);               \
		fprintf(out, "%20s: %s\n", label, printable_);        \
		free(printable_);                                     \
	} while (0)

void gm_fingerprint_print_text(const struct gm_fingerprint *fp, bool tables, FILE *out)
{
	fprintf(out, "Fingerprinting GNUmed database ...\n\n");
	LINE(out, "Name (DB)", fp->database);
	LINE(out, "Size (DB)", fp->size);
	if (fp->version >= 0 && strcmp(gm_hash_source(fp->version), "gmdb's table") != 0)
		fprintf(out, "%20s: %s (v%d, known from %s)\n", "Schema hash", fp->hash, fp->version,
			gm_hash_source(fp->version));
	else if (fp->version >= 0)
		fprintf(out, "%20s: %s (v%d)\n", "Schema hash", fp->hash, fp->version);
	else
		LINE(out, "Schema hash", fp->hash);
	LINE(out, "Version (PG)", fp->pg_version);
	LINE(out, "Encoding (PG)", fp->encoding);
	LINE(out, "LC_COLLATE (PG)", fp->collate);
	LINE(out, "LC_CTYPE (PG)", fp->ctype);
	for (size_t i = 0; i < fp->n_items; i++)
		LINE(out, fp->items[i].label, fp->items[i].value ? fp->items[i].value : "None");
	if (fp->verified)
		fprintf(out, "%20s: %s (%s)\n", "Recomputed hash", fp->computed_hash,
			strcmp(fp->computed_hash, fp->hash) == 0 ? "agrees" : "DISAGREES");
	if (tables && fp->n_tables) {
		fprintf(out, "\nRows per table:\n");
		for (size_t i = 0; i < fp->n_tables; i++)
			fprintf(out, "%12lld  %s.%s\n", fp->tables[i].rows, fp->tables[i].schema, fp->tables[i].name);
	}
	/* upstream prints the text as one more line, trailing newline and all */
	if (fp->structure)
		fprintf(out, "\n%s\n", fp->structure);
}

void gm_fingerprint_print_json(const struct gm_fingerprint *fp, FILE *out)
{
	fputs("{\n  \"database\": ", out);
	gm_json_string(out, fp->database);
	fputs(",\n  \"size\": ", out);
	gm_json_string(out, fp->size);
	fprintf(out, ",\n  \"size_bytes\": %lld,\n  \"schema_hash\": ", fp->size_bytes);
	gm_json_string(out, fp->hash);
	if (fp->version >= 0) {
		fprintf(out, ",\n  \"schema_version\": %d,\n  \"schema_hash_known_from\": ", fp->version);
		gm_json_string(out, gm_hash_source(fp->version));
	}
	else
		fputs(",\n  \"schema_version\": null", out);
	fprintf(out, ",\n  \"hash_function_repaired\": %s", fp->hash_repaired ? "true" : "false");
	fputs(",\n  \"server_version\": ", out);
	gm_json_string(out, fp->pg_version);
	fputs(",\n  \"encoding\": ", out);
	gm_json_string(out, fp->encoding);
	fputs(",\n  \"lc_collate\": ", out);
	gm_json_string(out, fp->collate);
	fputs(",\n  \"lc_ctype\": ", out);
	gm_json_string(out, fp->ctype);
	fputs(",\n  \"counts\": {", out);
	for (size_t i = 0; i < fp->n_items; i++) {
		fputs(i ? ",\n    " : "\n    ", out);
		gm_json_string(out, fp->items[i].label);
		fputs(": ", out);
		if (fp->items[i].value && i < 10)
			fputs(fp->items[i].value, out);
		else
			gm_json_string(out, fp->items[i].value);
	}
	fputs("\n  }", out);
	if (fp->verified) {
		fputs(",\n  \"recomputed_hash\": ", out);
		gm_json_string(out, fp->computed_hash);
		fprintf(out, ",\n  \"hashes_agree\": %s", strcmp(fp->computed_hash, fp->hash) == 0 ? "true" : "false");
	}
	fputs(",\n  \"tables\": [", out);
	for (size_t i = 0; i < fp->n_tables; i++) {
		fputs(i ? ",\n    {\"schema\": " : "\n    {\"schema\": ", out);
		gm_json_string(out, fp->tables[i].schema);
		fputs(", \"table\": ", out);
		gm_json_string(out, fp->tables[i].name);
		fprintf(out, ", \"rows\": %lld}", fp->tables[i].rows);
	}
	fputs(fp->n_tables ? "\n  ]" : "]", out);
	if (fp->structure) {
		fputs(",\n  \"structure\": ", out);
		gm_json_string(out, fp->structure);
	}
	fputs("\n}\n", out);
}

static void print_fp(const struct gm_fingerprint_opts *opts, const struct gm_fingerprint *fp, FILE *out)
{
	if (opts->json)
		gm_fingerprint_print_json(fp, out);
	else
		gm_fingerprint_print_text(fp, opts->tables, out);
}

int gm_fingerprint_run(const struct gm_fingerprint_opts *opts, struct gm_error *err)
{
	struct gm_fingerprint fp;
	FILE *file = NULL;
	int rc;

	/* The output file is the invoking user's: open it before dropping root. */
	if (opts->output) {
		int fd = open(opts->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || !(file = fdopen(fd, "w"))) {
			if (fd >= 0)
				close(fd);
			return gm_error_set(err, GM_EFAIL, "could not open output file \"%s\": %s",
					    opts->output, strerror(errno));
		}
	}
	gm_fingerprint_init(&fp);
	rc = gm_fingerprint_take(opts, &fp, err);
	if (rc == GM_OK) {
		print_fp(opts, &fp, stdout);
		if (file)
			print_fp(opts, &fp, file);
		if (fp.hash_repaired)
			gm_log(GM_LOG_NOTICE, "note: the schema hash was computed with upstream's repaired "
					      "v19-and-up function; \"gm-fixup_server\" installs the repair");
	}
	if (file && fclose(file) != 0 && rc == GM_OK)
		rc = gm_error_set(err, GM_EFAIL, "could not write output file \"%s\": %s", opts->output, strerror(errno));
	if (rc == GM_OK && fp.verified && strcmp(fp.computed_hash, fp.hash) != 0) {
		rc = gm_error_set(err, GM_ECHECK, "the recomputed schema hash of database \"%s\" disagrees with its own function",
				  fp.database);
		gm_error_detail(err, "gm.concat_table_structure() gives %s, the catalogs give %s.", fp.hash, fp.computed_hash);
		if (fp.version >= 0 && fp.version < 19)
			gm_error_hint(err, "The recomputation is the v19-and-up hash; this is a v%d database.", fp.version);
	}
	if (rc == GM_OK && opts->expect_version >= 0 && fp.version != opts->expect_version) {
		const char *want = gm_hash_for_version(opts->expect_version);
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" does not have the schema hash of v%d", fp.database,
				  opts->expect_version);
		if (fp.version >= 0)
			gm_error_detail(err, "Its hash %s is the known hash of v%d (v%d's is %s).", fp.hash, fp.version,
					opts->expect_version, want ? want : "unknown");
		else
			gm_error_detail(err, "Its hash %s matches no known version (v%d's is %s).", fp.hash,
					opts->expect_version, want ? want : "unknown");
	}
	gm_fingerprint_release(&fp);
	return rc;
}
