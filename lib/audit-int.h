/*
 * audit-int.h - what the generations of upstream's audit generator share
 * (audit.c) and each generation's own generator (audit.c: 22.x's;
 * audit-master.c: master's) builds on
 */
#ifndef GMDB_AUDIT_INT_H
#define GMDB_AUDIT_INT_H

#include "gmdb-int.h"

/* Upstream's fixed names (gmPG2's AUDIT_* constants, the same in every
 * generation; the engine's "audit trail ..." options are read but never
 * used by the generator, spec 6.2). */
#define GM_AUDIT_SCHEMA "audit"
#define GM_AUDIT_LOG_TABLE_PREFIX "log_"
#define GM_AUDIT_TRAIL_PARENT_TABLE "audit_trail"
#define GM_AUDIT_FIELDS_TABLE "audit_fields"
#define GM_AUDIT_SEPARATOR "-- ----------------------------------------------"

/* The values of a template's %(name)s placeholders. */
struct gm_audit_args {
	const char *src_tbl, *src_schema, *log_tbl, *cols_clause, *vals_clause;
	const char *log_schema, *log_base_tbl, *log_cols;
};

/* One generation of gmAuditSchemaGenerator.create_audit_ddl(): the items
 * before the first table, and the items of one registered table (which
 * exists and has plain names; skip: audit.audit_fields' columns). */
struct gm_audit_generator {
	const char *name;
	const char *const *header; /* NULL-terminated */
	int (*table)(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
		     struct gm_buf *out, struct gm_error *err);
};

/* Python's "template % dict" for a template's %(name)s and %% */
void gm_audit_pyformat(struct gm_buf *out, const char *tpl, const struct gm_audit_args *a);
/* one item of upstream's list, as its engine writes it to the file: item ";\n" */
void gm_audit_emit(struct gm_buf *out, const char *item);
/* sql_name (audit-table-exists, audit-function-exists) with $1 a, $2 b: *out */
int gm_audit_exists(PGconn *conn, const char *sql_name, const char *a, const char *b, bool *out,
		    struct gm_error *err);
/* gmPG2.get_col_defs / get_col_names: names and (types != NULL) upstream's type spellings */
int gm_audit_columns(PGconn *conn, const char *schema, const char *table, struct gm_strv *names,
		     struct gm_strv *types, struct gm_error *err);
bool gm_audit_strv_has(const struct gm_strv *sv, const char *s);
/* audit_trail_table_ddl(): *item the log table's CREATE TABLE from
 * tpl_create (malloc'ed), or NULL if it exists and has every audited column */
int gm_audit_log_table(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
		       const char *tpl_create, char **item, struct gm_error *err);
/* trigger_ddl()'s "col, col" and "OLD.col, OLD.col" (names minus skip), malloc'ed */
void gm_audit_clauses(const struct gm_strv *names, const struct gm_strv *skip, char **cols_clause,
		      char **vals_clause);

#endif
