/*
 * audit.c - the audit trail DDL, generated from the catalogs exactly as
 * upstream's gmAuditSchemaGenerator.create_audit_ddl() generates it
 * (spec 6.2-6.4): the machinery every generation of upstream's generator
 * shares (the catalog reads, the log table check, the templates' Python
 * formatting), and 22.x's generator; master's is in audit-master.c
 *
 * Upstream returns a list of items; its engine writes each one followed by
 * ";\n" to audit-trail-schema.sql and runs that file. gm_audit_generate()
 * returns that file's text, byte for byte. The templates below are
 * upstream's, unchanged, with their Python %(name)s placeholders (and %%
 * for a literal %), filled in by pyformat().
 *
 * What upstream reads, it reads through information_schema, which only shows
 * what the session's role may see: the caller runs this on the session the
 * DDL is meant for (upstream: the superuser's connection after SET SESSION
 * AUTHORIZATION to the database owner).
 */
#include "gmdb-int.h"
#include "audit-int.h"

#include <stdlib.h>
#include <string.h>

static const char tpl_insert[] =
	"DROP FUNCTION IF EXISTS audit.ft_ins_%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_ins_%(src_tbl)s()\n"
	"\tRETURNS trigger\n"
	"\tLANGUAGE 'plpgsql'\n"
	"\tSECURITY DEFINER\n"
	"\tAS '\n"
	"DECLARE\n"
	"\t_is_allowed_inserter boolean;\n"
	"BEGIN\n"
	"\t-- is the session user allowed to insert data ?\n"
	"\tSELECT gm.account_is_dbowner_or_staff(SESSION_USER) INTO STRICT _is_allowed_inserter;\n"
	"\tIF _is_allowed_inserter IS FALSE THEN\n"
	"\t\tRAISE EXCEPTION\n"
	"\t\t\t''INSERT: gm.account_is_dbowner_or_staff(NAME): <%%> is neither database owner, nor <postgres>, nor on staff'', SESSION_USER\n"
	"\t\t\tUSING ERRCODE = ''integrity_constraint_violation''\n"
	"\t\t;\n"
	"\t\treturn NEW;\n"
	"\tEND IF;\n"
	"\n"
	"\tNEW.row_version := 0;\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_ins_%(src_tbl)s\n"
	"\tBEFORE INSERT ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_ins_%(src_tbl)s();\n";

static const char tpl_insert_no_inserter_check[] =
	"DROP FUNCTION IF EXISTS audit.ft_ins_%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_ins_%(src_tbl)s()\n"
	"\tRETURNS trigger\n"
	"\tLANGUAGE 'plpgsql'\n"
	"\tSECURITY DEFINER\n"
	"\tAS '\n"
	"BEGIN\n"
	"\tNEW.row_version := 0;\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_ins_%(src_tbl)s\n"
	"\tBEFORE INSERT ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_ins_%(src_tbl)s();\n";

static const char tpl_update[] =
	"DROP FUNCTION IF EXISTS audit.ft_upd_%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_upd_%(src_tbl)s()\n"
	"\tRETURNS trigger\n"
	"\tLANGUAGE 'plpgsql'\n"
	"\tSECURITY DEFINER\n"
	"\tAS '\n"
	"DECLARE\n"
	"\t_is_allowed_updater boolean;\n"
	"BEGIN\n"
	"\t-- is the session user allowed to update data ?\n"
	"\tSELECT gm.account_is_dbowner_or_staff(SESSION_USER) INTO STRICT _is_allowed_updater;\n"
	"\tIF _is_allowed_updater IS FALSE THEN\n"
	"\t\tRAISE EXCEPTION\n"
	"\t\t\t''UPDATE: gm.account_is_dbowner_or_staff(NAME): <%%> is neither database owner, nor <postgres>, nor on staff'', SESSION_USER\n"
	"\t\t\tUSING ERRCODE = ''integrity_constraint_violation''\n"
	"\t\t;\n"
	"\t\treturn NEW;\n"
	"\tEND IF;\n"
	"\n"
	"\tNEW.row_version := OLD.row_version + 1;\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\tINSERT INTO audit.%(log_tbl)s (\n"
	"\t\torig_version, orig_when, orig_by, orig_tableoid, audit_action,\n"
	"\t\t%(cols_clause)s\n"
	"\t) VALUES (\n"
	"\t\tOLD.row_version, OLD.modified_when, OLD.modified_by, TG_RELID, TG_OP,\n"
	"\t\t%(vals_clause)s\n"
	"\t);\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_upd_%(src_tbl)s\n"
	"\tBEFORE UPDATE ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_upd_%(src_tbl)s();\n";

static const char tpl_update_no_updater_check[] =
	"DROP FUNCTION IF EXISTS audit.ft_upd_%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_upd_%(src_tbl)s()\n"
	"\tRETURNS trigger\n"
	"\tLANGUAGE 'plpgsql'\n"
	"\tSECURITY DEFINER\n"
	"\tAS '\n"
	"BEGIN\n"
	"\tNEW.row_version := OLD.row_version + 1;\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\tINSERT INTO audit.%(log_tbl)s (\n"
	"\t\torig_version, orig_when, orig_by, orig_tableoid, audit_action,\n"
	"\t\t%(cols_clause)s\n"
	"\t) VALUES (\n"
	"\t\tOLD.row_version, OLD.modified_when, OLD.modified_by, TG_RELID, TG_OP,\n"
	"\t\t%(vals_clause)s\n"
	"\t);\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_upd_%(src_tbl)s\n"
	"\tBEFORE UPDATE ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_upd_%(src_tbl)s();\n";

static const char tpl_delete[] =
	"DROP FUNCTION IF EXISTS audit.ft_del_%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_del_%(src_tbl)s()\n"
	"\tRETURNS trigger\n"
	"\tLANGUAGE 'plpgsql'\n"
	"\tSECURITY DEFINER\n"
	"\tAS '\n"
	"DECLARE\n"
	"\t_is_allowed_deleter boolean;\n"
	"BEGIN\n"
	"\t-- is the session user allowed to delete data ?\n"
	"\tSELECT gm.account_is_dbowner_or_staff(SESSION_USER) INTO STRICT _is_allowed_deleter;\n"
	"\tIF _is_allowed_deleter IS FALSE THEN\n"
	"\t\tRAISE EXCEPTION\n"
	"\t\t\t''DELETE: gm.account_is_dbowner_or_staff(NAME): <%%> is neither database owner, nor <postgres>, nor on staff'', SESSION_USER\n"
	"\t\t\tUSING ERRCODE = ''integrity_constraint_violation''\n"
	"\t\t;\n"
	"\t\treturn OLD;\n"
	"\tEND IF;\n"
	"\n"
	"\tINSERT INTO audit.%(log_tbl)s (\n"
	"\t\torig_version, orig_when, orig_by, orig_tableoid, audit_action,\n"
	"\t\t%(cols_clause)s\n"
	"\t) VALUES (\n"
	"\t\tOLD.row_version, OLD.modified_when, OLD.modified_by, TG_RELID, TG_OP,\n"
	"\t\t%(vals_clause)s\n"
	"\t);\n"
	"\treturn OLD;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_del_%(src_tbl)s\n"
	"\tBEFORE DELETE ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_del_%(src_tbl)s();\n";

static const char tpl_delete_no_deleter_check[] =
	"DROP FUNCTION IF EXISTS audit.ft_del_%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_del_%(src_tbl)s()\n"
	"\tRETURNS trigger\n"
	"\tLANGUAGE 'plpgsql'\n"
	"\tSECURITY DEFINER\n"
	"\tAS '\n"
	"BEGIN\n"
	"\tINSERT INTO audit.%(log_tbl)s (\n"
	"\t\torig_version, orig_when, orig_by, orig_tableoid, audit_action,\n"
	"\t\t%(cols_clause)s\n"
	"\t) VALUES (\n"
	"\t\tOLD.row_version, OLD.modified_when, OLD.modified_by, TG_RELID, TG_OP,\n"
	"\t\t%(vals_clause)s\n"
	"\t);\n"
	"\treturn OLD;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_del_%(src_tbl)s\n"
	"\tBEFORE DELETE ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_del_%(src_tbl)s();\n";

static const char tpl_create_audit_trail_table[] =
	"\n"
	"create table %(log_schema)s.%(log_tbl)s (\n"
	"\t%(log_cols)s\n"
	") inherits (%(log_schema)s.%(log_base_tbl)s);\n"
	"\n"
	"COMMENT ON COLUMN %(log_schema)s.%(log_tbl)s.orig_version is\n"
	"\t'the .row_version in the original row before the audited action took place, should be equal to .row_version';\n"
	"\n"
	"COMMENT ON COLUMN %(log_schema)s.%(log_tbl)s.orig_when is\n"
	"\t'the .modified_when in the original row before the audited action took place, should be equal to .modified_when';\n"
	"\n"
	"COMMENT ON COLUMN %(log_schema)s.%(log_tbl)s.orig_by is\n"
	"\t'the .modified_by in the original row before the audited action took place, should be equal to .modified_by';\n"
	"\n"
	"COMMENT ON COLUMN %(log_schema)s.%(log_tbl)s.orig_tableoid is\n"
	"\t'the TG_RELID when the audit trigger was run';\n";

static const char *tpl_value(const struct gm_audit_args *a, const char *name, size_t len)
{
	static const struct { const char *name; size_t off; } keys[] = {
		{ "src_tbl", offsetof(struct gm_audit_args, src_tbl) },
		{ "src_schema", offsetof(struct gm_audit_args, src_schema) },
		{ "log_tbl", offsetof(struct gm_audit_args, log_tbl) },
		{ "cols_clause", offsetof(struct gm_audit_args, cols_clause) },
		{ "vals_clause", offsetof(struct gm_audit_args, vals_clause) },
		{ "log_schema", offsetof(struct gm_audit_args, log_schema) },
		{ "log_base_tbl", offsetof(struct gm_audit_args, log_base_tbl) },
		{ "log_cols", offsetof(struct gm_audit_args, log_cols) },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0)
			return *(const char *const *)((const char *)a + keys[i].off);
	return NULL;
}

/* Python's "template % dict" for the %(name)s and %% a template uses. The
 * templates are constants, so a bad placeholder is a programming error. */
void gm_audit_pyformat(struct gm_buf *out, const char *tpl, const struct gm_audit_args *a)
{
	const char *p = tpl;

	while (*p) {
		const char *pct = strchr(p, '%');
		const char *end, *val;

		if (!pct) {
			gm_buf_adds(out, p);
			return;
		}
		gm_buf_add(out, p, (size_t)(pct - p));
		if (pct[1] == '%') {
			gm_buf_addc(out, '%');
			p = pct + 2;
			continue;
		}
		end = pct[1] == '(' ? strchr(pct + 2, ')') : NULL;
		val = end && end[1] == 's' ? tpl_value(a, pct + 2, (size_t)(end - pct - 2)) : NULL;
		if (!val) {
			fputs("libgmdb: bad audit template placeholder\n", stderr);
			abort();
		}
		gm_buf_adds(out, val);
		p = end + 2;
	}
}

void gm_audit_emit(struct gm_buf *out, const char *item)
{
	gm_buf_adds(out, item);
	gm_buf_adds(out, ";\n");
}

/*
 * The catalog reads of one generation, made at once. Upstream asks, for
 * each audited table, whether it and its log table exist and what columns
 * each has, a query at a time through information_schema: about six
 * queries a table, 2-3 ms each. The same rows of the same views, read
 * once for every table of the schemas involved (the audited tables', the
 * audit schema) in the generation's snapshot, answer every one of those
 * questions alike; nothing is written while the DDL is generated. A
 * question about a schema not read at once is asked as upstream asks it.
 * Set while generate() runs (which runs in one thread).
 */
struct cached_table {
	const char *schema, *table;
	int first, n;  /* its rows in cache.cols; n 0: a base table without columns read */
};
static struct {
	bool on;
	struct gm_strv schemas;
	PGresult *cols, *tables;
	struct cached_table *col_index, *table_index;
	size_t n_col_index, n_table_index;
	char *fn_schema, *fn_name;  /* the last function asked after, and the answer */
	bool fn_exists;
} cache;

static int cached_cmp(const void *a, const void *b)
{
	const struct cached_table *x = a, *y = b;
	int c = strcmp(x->schema, y->schema);
	return c ? c : strcmp(x->table, y->table);
}

static const struct cached_table *cached_find(const struct cached_table *index, size_t n, const char *schema,
					      const char *table)
{
	struct cached_table key = { .schema = schema, .table = table };
	return n ? bsearch(&key, index, n, sizeof(*index), cached_cmp) : NULL;
}

/* Whether schema.table's question is answered from the cache. Not for a
 * name longer than PostgreSQL's 63 bytes: the per-table query compares it
 * as a name, cut to 63 bytes, where the cache would compare it whole. */
static bool cached(const char *schema, const char *table)
{
	return cache.on && strlen(schema) < 64 && strlen(table) < 64 && gm_audit_strv_has(&cache.schemas, schema);
}

static void cache_release(void)
{
	PQclear(cache.cols);
	PQclear(cache.tables);
	free(cache.col_index);
	free(cache.table_index);
	gm_strv_release(&cache.schemas);
	free(cache.fn_schema);
	free(cache.fn_name);
	memset(&cache, 0, sizeof(cache));
}

/* The schemas as a text[] literal: every element double-quoted, with " and
 * \ escaped by a backslash. */
static char *text_array(const struct gm_strv *v)
{
	struct gm_buf b = GM_BUF_INIT;
	gm_buf_addc(&b, '{');
	for (size_t i = 0; i < v->n; i++) {
		gm_buf_adds(&b, i ? ",\"" : "\"");
		for (const char *c = v->v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				gm_buf_addc(&b, '\\');
			gm_buf_addc(&b, *c);
		}
		gm_buf_addc(&b, '"');
	}
	gm_buf_addc(&b, '}');
	return gm_buf_detach(&b);
}

/* Read the columns and base tables of the schemas of the registered
 * tables (res: audit-registered-tables) and of the audit schema. */
static int cache_fill(PGconn *conn, const PGresult *res, struct gm_error *err)
{
	char *arr;
	const char *params[1];
	size_t k = 0;

	gm_strv_push(&cache.schemas, GM_AUDIT_SCHEMA);
	for (int i = 0; i < PQntuples(res); i++)
		if (!gm_audit_strv_has(&cache.schemas, PQgetvalue(res, i, 0)))
			gm_strv_push(&cache.schemas, PQgetvalue(res, i, 0));
	arr = text_array(&cache.schemas);
	params[0] = arr;
	cache.cols = gm_db_query(conn, gm_sql("audit-columns-all"), 1, params, err);
	cache.tables = cache.cols ? gm_db_query(conn, gm_sql("audit-tables-all"), 1, params, err) : NULL;
	free(arr);
	if (!cache.cols || !cache.tables) {
		gm_error_prefix(err, "could not read the columns of the tables to audit");
		return GM_EFAIL;
	}
	/* the rows come grouped by table, in ordinal order within one */
	cache.col_index = gm_xcalloc((size_t)PQntuples(cache.cols) + 1, sizeof(*cache.col_index));
	for (int i = 0; i < PQntuples(cache.cols); i++) {
		const char *schema = PQgetvalue(cache.cols, i, 0), *table = PQgetvalue(cache.cols, i, 1);
		if (k && strcmp(cache.col_index[k - 1].schema, schema) == 0 && strcmp(cache.col_index[k - 1].table, table) == 0) {
			cache.col_index[k - 1].n++;
			continue;
		}
		cache.col_index[k++] = (struct cached_table){ schema, table, i, 1 };
	}
	cache.n_col_index = k;
	qsort(cache.col_index, k, sizeof(*cache.col_index), cached_cmp);
	cache.table_index = gm_xcalloc((size_t)PQntuples(cache.tables) + 1, sizeof(*cache.table_index));
	for (int i = 0; i < PQntuples(cache.tables); i++)
		cache.table_index[i] = (struct cached_table){ PQgetvalue(cache.tables, i, 0), PQgetvalue(cache.tables, i, 1), 0, 0 };
	cache.n_table_index = (size_t)PQntuples(cache.tables);
	qsort(cache.table_index, cache.n_table_index, sizeof(*cache.table_index), cached_cmp);
	cache.on = true;
	return GM_OK;
}

int gm_audit_exists(PGconn *conn, const char *sql_name, const char *a, const char *b, bool *out,
			struct gm_error *err)
{
	const char *params[2] = { a, b };
	char *val = NULL;
	int rc;

	if (strcmp(sql_name, "audit-table-exists") == 0 && cached(a, b)) {
		*out = cached_find(cache.table_index, cache.n_table_index, a, b) != NULL;
		return GM_OK;
	}
	if (cache.on && strcmp(sql_name, "audit-function-exists") == 0 && cache.fn_schema &&
	    strcmp(cache.fn_schema, a) == 0 && strcmp(cache.fn_name, b) == 0) {
		*out = cache.fn_exists;
		return GM_OK;
	}
	rc = gm_db_value(conn, gm_sql(sql_name), 2, params, &val, err);
	*out = rc == GM_OK && val && strcmp(val, "t") == 0;
	free(val);
	if (rc == GM_OK && cache.on && strcmp(sql_name, "audit-function-exists") == 0) {
		free(cache.fn_schema);
		free(cache.fn_name);
		cache.fn_schema = gm_xstrdup(a);
		cache.fn_name = gm_xstrdup(b);
		cache.fn_exists = *out;
	}
	return rc;
}

/*
 * The columns of schema.table in ordinal order (gmPG2.get_col_defs /
 * get_col_names): names, and (if types is not NULL) upstream's type
 * spelling, the udt_name with a leading "_" turned into a trailing "[]".
 */
/*
 * Upstream writes schema, table, column and type names into the DDL and
 * into the trigger functions' bodies unquoted. A name that does not read
 * the same unquoted (upper case, spaces, quotes, semicolons, a reserved
 * word) makes upstream's DDL fail or mean something else; gmdb refuses it
 * before generating anything, so nothing a name says is ever run.
 * Set while generate() runs.
 */
static const struct gm_strv *reserved_words;

static int refuse_name(const char *what, const char *name, const char *schema, const char *table,
		       struct gm_error *err)
{
	gm_error_set(err, GM_ECHECK, "the %s \"%s\" of the audited table \"%s.%s\" cannot be written unquoted, "
				     "as upstream's audit DDL writes it", what, name, schema, table);
	gm_error_hint(err, "Rename it, or take the table out of audit.audited_tables.");
	return GM_ECHECK;
}

int gm_audit_columns(PGconn *conn, const char *schema, const char *table, struct gm_strv *names,
			struct gm_strv *types, struct gm_error *err)
{
	const char *params[2] = { schema, table };
	PGresult *res = NULL;
	int first = 0, end, col = 0;

	if (cached(schema, table)) {
		/* the rows of audit-columns-all for this table: columns 2 and 3 */
		const struct cached_table *t = cached_find(cache.col_index, cache.n_col_index, schema, table);
		first = t ? t->first : 0;
		end = t ? t->first + t->n : 0;
		col = 2;
	} else {
		res = gm_db_query(conn, gm_sql("audit-columns"), 2, params, err);
		if (!res) {
			gm_error_prefix(err, "could not read the columns of \"%s.%s\"", schema, table);
			return GM_EFAIL;
		}
		end = PQntuples(res);
	}
	const PGresult *rows = res ? res : cache.cols;
	for (int i = first; i < end; i++) {
		const char *name = PQgetvalue(rows, i, col), *udt = PQgetvalue(rows, i, col + 1);
		if (reserved_words && !gm_sql_ident_plain(name, reserved_words)) {
			refuse_name("column", name, schema, table, err);
			PQclear(res);
			return GM_ECHECK;
		}
		/* type names may be keywords (time, timestamp): characters only */
		if (reserved_words && types && !gm_sql_ident_plain(udt[0] == '_' ? udt + 1 : udt, NULL)) {
			refuse_name("column type", udt, schema, table, err);
			PQclear(res);
			return GM_ECHECK;
		}
		gm_strv_push(names, name);
		if (!types)
			continue;
		if (udt[0] == '_')
			gm_strv_push_owned(types, gm_xasprintf("%s[]", udt + 1));
		else
			gm_strv_push(types, udt);
	}
	PQclear(res);
	return GM_OK;
}

bool gm_audit_strv_has(const struct gm_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

/* Upstream's column definitions "\tname type", minus the names in skip. */
static void col_defs(const struct gm_strv *names, const struct gm_strv *types, const struct gm_strv *skip,
		     struct gm_strv *defs)
{
	for (size_t i = 0; i < names->n; i++)
		if (!skip || !gm_audit_strv_has(skip, names->v[i]))
			gm_strv_push_owned(defs, gm_xasprintf("\t%s %s", names->v[i], types->v[i]));
}

/* Column definitions for a message: "name type, name type". */
static char *join_defs(const struct gm_strv *defs)
{
	struct gm_buf b = GM_BUF_INIT;
	for (size_t i = 0; i < defs->n; i++)
		gm_buf_addf(&b, "%s%s", i ? ", " : "", defs->v[i] + 1);
	if (!b.data)
		gm_buf_adds(&b, "");
	return gm_buf_detach(&b);
}

/*
 * audit_trail_table_ddl(): if audit.log_<table> does not exist yet, *item
 * is its CREATE TABLE (tpl_create filled in); else *item is NULL, after a
 * check that it has every audited column with the same type.
 */
int gm_audit_log_table(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
		       const char *tpl_create, char **item, struct gm_error *err)
{
	struct gm_strv names = GM_STRV_INIT, types = GM_STRV_INIT, audited = GM_STRV_INIT;
	struct gm_strv lnames = GM_STRV_INIT, ltypes = GM_STRV_INIT, logged = GM_STRV_INIT;
	char *log_tbl = gm_xasprintf("%s%s", GM_AUDIT_LOG_TABLE_PREFIX, table);
	bool exists;
	int rc;

	*item = NULL;
	rc = gm_audit_columns(conn, schema, table, &names, &types, err);
	if (rc < 0)
		goto out;
	col_defs(&names, &types, skip, &audited);
	rc = gm_audit_exists(conn, "audit-table-exists", GM_AUDIT_SCHEMA, log_tbl, &exists, err);
	if (rc < 0) {
		gm_error_prefix(err, "could not check whether \"%s.%s\" exists", GM_AUDIT_SCHEMA, log_tbl);
		goto out;
	}
	if (exists) {
		rc = gm_audit_columns(conn, GM_AUDIT_SCHEMA, log_tbl, &lnames, &ltypes, err);
		if (rc < 0)
			goto out;
		col_defs(&lnames, &ltypes, NULL, &logged);
		for (size_t i = 0; i < audited.n; i++) {
			if (gm_audit_strv_has(&logged, audited.v[i]))
				continue;
			/* "\tname type": udt names have no spaces, column names may */
			const char *def = audited.v[i] + 1, *sp = strrchr(def, ' ');
			char *have = join_defs(&logged), *want = join_defs(&audited);
			rc = gm_error_set(err, GM_ECHECK,
					  "the audit log table \"%s.%s\" does not fit \"%s.%s\": it has no column \"%.*s\" of type %s",
					  GM_AUDIT_SCHEMA, log_tbl, schema, table, (int)(sp - def), def, sp + 1);
			gm_error_detail(err, "%s.%s: %s\n%s.%s: %s", schema, table, want, GM_AUDIT_SCHEMA, log_tbl,
					have);
			free(have);
			free(want);
			goto out;
		}
		goto out;
	}
	{
		char *log_cols = gm_strv_join(&audited, ",\n\t");
		struct gm_audit_args a = {
			.log_schema = GM_AUDIT_SCHEMA, .log_base_tbl = GM_AUDIT_TRAIL_PARENT_TABLE,
			.log_tbl = log_tbl, .log_cols = log_cols,
		};
		struct gm_buf b = GM_BUF_INIT;

		gm_log(GM_LOG_INFO, "creating the audit log table \"%s.%s\"", GM_AUDIT_SCHEMA, log_tbl);
		gm_audit_pyformat(&b, tpl_create, &a);
		*item = gm_buf_detach(&b);
		free(log_cols);
	}
out:
	gm_strv_release(&names);
	gm_strv_release(&types);
	gm_strv_release(&audited);
	gm_strv_release(&lnames);
	gm_strv_release(&ltypes);
	gm_strv_release(&logged);
	free(log_tbl);
	return rc;
}

void gm_audit_clauses(const struct gm_strv *names, const struct gm_strv *skip, char **cols_clause,
		      char **vals_clause)
{
	struct gm_strv cols = GM_STRV_INIT, vals = GM_STRV_INIT;

	for (size_t i = 0; i < names->n; i++) {
		if (gm_audit_strv_has(skip, names->v[i]))
			continue;
		gm_strv_push(&cols, names->v[i]);
		gm_strv_push_owned(&vals, gm_xasprintf("OLD.%s", names->v[i]));
	}
	*cols_clause = gm_strv_join(&cols, ", ");
	*vals_clause = gm_strv_join(&vals, ", ");
	gm_strv_release(&cols);
	gm_strv_release(&vals);
}

/* 22.x: the log table's items, if it is created */
static int log_table_ddl(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
			 struct gm_buf *out, struct gm_error *err)
{
	char *item = NULL;
	int rc = gm_audit_log_table(conn, schema, table, skip, tpl_create_audit_trail_table, &item, err);

	if (rc == GM_OK && item) {
		gm_audit_emit(out, item);
		gm_audit_emit(out, "");
		gm_audit_emit(out, GM_AUDIT_SEPARATOR);
	}
	free(item);
	return rc;
}

/* 22.x's trigger_ddl(): the insert, update and delete trigger functions and triggers. */
static int trigger_ddl(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
		       struct gm_buf *out, struct gm_error *err)
{
	struct gm_strv names = GM_STRV_INIT;
	char *log_tbl = gm_xasprintf("%s%s", GM_AUDIT_LOG_TABLE_PREFIX, table);
	char *cols_clause = NULL, *vals_clause = NULL;
	bool checked;
	int rc;

	rc = gm_audit_columns(conn, schema, table, &names, NULL, err);
	if (rc < 0)
		goto out;
	gm_audit_clauses(&names, skip, &cols_clause, &vals_clause);
	rc = gm_audit_exists(conn, "audit-function-exists", "gm", "account_is_dbowner_or_staff", &checked, err);
	if (rc < 0) {
		gm_error_prefix(err, "could not check for gm.account_is_dbowner_or_staff()");
		goto out;
	}
	{
		struct gm_audit_args a = {
			.src_tbl = table, .src_schema = schema, .log_tbl = log_tbl,
			.cols_clause = cols_clause, .vals_clause = vals_clause,
		};
		const char *tpls[3] = {
			checked ? tpl_insert : tpl_insert_no_inserter_check,
			checked ? tpl_update : tpl_update_no_updater_check,
			checked ? tpl_delete : tpl_delete_no_deleter_check,
		};
		for (int i = 0; i < 3; i++) {
			struct gm_buf item = GM_BUF_INIT;
			gm_audit_pyformat(&item, tpls[i], &a);
			gm_audit_emit(out, gm_buf_str(&item));
			gm_audit_emit(out, "");
			gm_buf_release(&item);
		}
		gm_audit_emit(out, GM_AUDIT_SEPARATOR);
	}
out:
	gm_strv_release(&names);
	free(cols_clause);
	free(vals_clause);
	free(log_tbl);
	return rc;
}

static int table_22(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
		    struct gm_buf *out, struct gm_error *err)
{
	int rc = log_table_ddl(conn, schema, table, skip, out, err);

	return rc < 0 ? rc : trigger_ddl(conn, schema, table, skip, out, err);
}

static const char *const header_22[] = { "\\set check_function_bodies 1\n", "set check_function_bodies to on;\n\n", NULL };

/* upstream's gmAuditSchemaGenerator.py of 22.x (gnumed-server 22.19 to 22.35) */
const struct gm_audit_generator gm_audit_generator_22 = { "22.x", header_22, table_22 };

/* create_audit_ddl(): the header, then each registered table's items */
static int generate(PGconn *conn, const struct gm_audit_generator *gen, struct gm_buf *out, struct gm_error *err)
{
	struct gm_strv skip = GM_STRV_INIT, reserved = GM_STRV_INIT;
	PGresult *res;
	int rc = GM_OK;

	if (gm_sql_reserved_words(conn, &reserved, err) < 0)
		return GM_EFAIL;
	res = gm_db_query(conn, gm_sql("audit-registered-tables"), 0, NULL, err);
	if (!res) {
		gm_error_prefix(err, "could not read the tables registered for auditing");
		return GM_EFAIL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return gm_error_set(err, GM_ECHECK, "no tables are registered for auditing in audit.audited_tables");
	}
	rc = cache_fill(conn, res, err);
	if (rc < 0)
		goto out;
	rc = gm_audit_columns(conn, GM_AUDIT_SCHEMA, GM_AUDIT_FIELDS_TABLE, &skip, NULL, err);
	if (rc < 0)
		goto out;
	for (size_t i = 0; gen->header[i]; i++)
		gm_audit_emit(out, gen->header[i]);
	for (int i = 0; i < PQntuples(res); i++) {
		const char *schema = PQgetvalue(res, i, 0), *table = PQgetvalue(res, i, 1);
		bool exists;

		rc = gm_audit_exists(conn, "audit-table-exists", schema, table, &exists, err);
		if (rc < 0) {
			gm_error_prefix(err, "could not check whether \"%s.%s\" exists", schema, table);
			goto out;
		}
		if (!exists) {
			rc = gm_error_set(err, GM_ECHECK, "the table \"%s.%s\" registered for auditing does not exist",
					  schema, table);
			goto out;
		}
		if (!gm_sql_ident_plain(schema, &reserved) || !gm_sql_ident_plain(table, &reserved)) {
			rc = refuse_name(gm_sql_ident_plain(schema, &reserved) ? "name" : "schema name",
					 gm_sql_ident_plain(schema, &reserved) ? table : schema, schema, table, err);
			goto out;
		}
		reserved_words = &reserved;
		rc = gen->table(conn, schema, table, &skip, out, err);
		if (rc < 0)
			goto out;
	}
out:
	reserved_words = NULL;
	cache_release();
	PQclear(res);
	gm_strv_release(&skip);
	gm_strv_release(&reserved);
	return rc;
}

int gm_audit_generate_by(PGconn *conn, const struct gm_audit_generator *gen, char **ddl, struct gm_error *err)
{
	struct gm_buf out = GM_BUF_INIT;
	bool own_tx = PQtransactionStatus(conn) == PQTRANS_IDLE;
	const char *enc;
	int rc;

	*ddl = NULL;
	enc = PQparameterStatus(conn, "client_encoding");
	if (!enc || strcmp(enc, "UTF8") != 0)
		return gm_error_set(err, GM_EUSAGE, "the audit trail DDL needs a connection with client encoding UTF8");
	/* One snapshot for all catalog reads, as upstream has inside its
	 * transaction; nothing is written either way. */
	if (gm_db_exec(conn, own_tx ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "SAVEPOINT gm_audit",
		       err) < 0)
		return GM_EFAIL;
	gm_log(GM_LOG_DEBUG, "audit trail DDL: %s's generator", gen->name);
	rc = generate(conn, gen, &out, err);
	if (own_tx)
		gm_db_exec(conn, "ROLLBACK", NULL);
	else if (rc < 0)
		gm_db_exec(conn, "ROLLBACK TO SAVEPOINT gm_audit", NULL);
	else
		gm_db_exec(conn, "RELEASE SAVEPOINT gm_audit", NULL);
	if (rc < 0) {
		gm_buf_release(&out);
		gm_error_prefix(err, "could not generate the audit trail DDL");
		return rc;
	}
	*ddl = gm_buf_detach(&out);
	return GM_OK;
}

int gm_audit_generate(PGconn *conn, char **ddl, struct gm_error *err)
{
	return gm_audit_generate_by(conn, &gm_audit_generator_22, ddl, err);
}
