/*
 * audit-master.c - the audit trail DDL of upstream's development tree
 * (ncqgm/gnumed master 8a85b32, the future gnumed-server 23):
 * bootstrap/gmAuditSchemaGenerator.py with its templates moved to
 * bootstrap/gmAuditSchemaDefs.py, byte for byte
 *
 * What changed from 22.x's generator (audit.c): the header has no psql
 * "\set" item; the log table's item is always there (an empty one when
 * the log table exists), without the COMMENTs on its columns; the triggers
 * come in three variants, chosen by the database: v23's (named
 * audit.ft_ins__SCHEMA__TABLE, writing the renamed log columns
 * row_version, version_created_when, version_created_by, src_row_pk_audit,
 * src_table_oid, version_logged_why, plus a unique index on
 * (src_row_pk_audit, row_version) per log table) when audit.audit_trail
 * has a column src_row_pk_audit; else v21/v22's when
 * gm.account_is_dbowner_or_staff() exists; else pre-v21's. Each variant
 * is preceded by a comment item naming it. The templates below are
 * gmAuditSchemaDefs.py's, unchanged.
 */
#include "gmdb-int.h"
#include "audit-int.h"

#include <stdlib.h>
#include <string.h>

/* SQL_TEMPLATE_INSERT_v23 */
static const char tpl_insert_v23[] =
	"-- old style\n"
	"DROP FUNCTION IF EXISTS audit.ft_ins_%(src_tbl)s() cascade;\n"
	"\n"
	"-- with schema\n"
	"DROP FUNCTION IF EXISTS audit.ft_ins__%(src_schema)s__%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_ins__%(src_schema)s__%(src_tbl)s()\n"
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
	"\tNEW.row_version := 1;\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_ins__%(src_schema)s__%(src_tbl)s\n"
	"\tBEFORE INSERT ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_ins__%(src_schema)s__%(src_tbl)s();\n";

/* SQL_TEMPLATE_INSERT_v21 */
static const char tpl_insert_v21[] =
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
	"\tNEW.row_version := 0;\t\t\t\t-- changes in v23\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_ins_%(src_tbl)s\n"
	"\tBEFORE INSERT ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_ins_%(src_tbl)s();\n";

/* SQL_TEMPLATE_INSERT_NO_INSERTER_CHECK */
static const char tpl_insert_no_inserter_check[] =
	"DROP FUNCTION IF EXISTS audit.ft_ins_%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_ins_%(src_tbl)s()\n"
	"\tRETURNS trigger\n"
	"\tLANGUAGE 'plpgsql'\n"
	"\tSECURITY DEFINER\n"
	"\tAS '\n"
	"BEGIN\n"
	"\tNEW.row_version := 0;\t\t\t\t-- changes in v23\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_ins_%(src_tbl)s\n"
	"\tBEFORE INSERT ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_ins_%(src_tbl)s();\n";

/* SQL_TEMPLATE_UPDATE_v23 */
static const char tpl_update_v23[] =
	"-- old style\n"
	"DROP FUNCTION IF EXISTS audit.ft_upd_%(src_tbl)s() cascade;\n"
	"\n"
	"-- with schema\n"
	"DROP FUNCTION IF EXISTS audit.ft_upd__%(src_schema)s__%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_upd__%(src_schema)s__%(src_tbl)s()\n"
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
	"\t-- stash away OLD row before UPDATE\n"
	"\tINSERT INTO audit.%(log_tbl)s (\n"
	"\t\trow_version, version_created_when, version_created_by, src_row_pk_audit, src_table_oid, version_logged_why,\n"
	"\t\t%(cols_clause)s\n"
	"\t) VALUES (\n"
	"\t\tOLD.row_version, OLD.modified_when, OLD.modified_by, OLD.pk_audit, TG_RELID, TG_OP,\n"
	"\t\t%(vals_clause)s\n"
	"\t);\n"
	"\tNEW.row_version := OLD.row_version + 1;\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_upd__%(src_schema)s__%(src_tbl)s\n"
	"\tBEFORE UPDATE ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_upd__%(src_schema)s__%(src_tbl)s();\n";

/* SQL_TEMPLATE_UPDATE_v21 */
static const char tpl_update_v21[] =
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
	"\t-- stash away OLD row before UPDATE\n"
	"\tINSERT INTO audit.%(log_tbl)s (\n"
	"\t\torig_version, orig_when, orig_by, orig_tableoid, audit_action,\n"
	"\t\t%(cols_clause)s\n"
	"\t) VALUES (\n"
	"\t\tOLD.row_version, OLD.modified_when, OLD.modified_by, TG_RELID, TG_OP,\n"
	"\t\t%(vals_clause)s\n"
	"\t);\n"
	"\tNEW.row_version := OLD.row_version + 1;\n"
	"\tNEW.modified_when := CURRENT_TIMESTAMP;\n"
	"\tNEW.modified_by := SESSION_USER;\n"
	"\treturn NEW;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_upd_%(src_tbl)s\n"
	"\tBEFORE UPDATE ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_upd_%(src_tbl)s();\n";

/* SQL_TEMPLATE_UPDATE_NO_UPDATER_CHECK */
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

/* SQL_TEMPLATE_DELETE_v23 */
static const char tpl_delete_v23[] =
	"-- old style\n"
	"DROP FUNCTION IF EXISTS audit.ft_del_%(src_tbl)s() cascade;\n"
	"\n"
	"-- with schema\n"
	"DROP FUNCTION IF EXISTS audit.ft_del__%(src_schema)s__%(src_tbl)s() cascade;\n"
	"\n"
	"CREATE FUNCTION audit.ft_del__%(src_schema)s__%(src_tbl)s()\n"
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
	"\t-- stash away OLD row before DELETE\n"
	"\tINSERT INTO audit.%(log_tbl)s (\n"
	"\t\trow_version, version_created_when, version_created_by, src_row_pk_audit, src_table_oid, version_logged_why,\n"
	"\t\t%(cols_clause)s\n"
	"\t) VALUES (\n"
	"\t\tOLD.row_version, OLD.modified_when, OLD.modified_by, OLD.pk_audit, TG_RELID, TG_OP,\n"
	"\t\t%(vals_clause)s\n"
	"\t);\n"
	"\treturn OLD;\n"
	"END;';\n"
	"\n"
	"CREATE TRIGGER zt_del__%(src_schema)s__%(src_tbl)s\n"
	"\tBEFORE DELETE ON %(src_schema)s.%(src_tbl)s\n"
	"\tFOR EACH ROW EXECUTE PROCEDURE audit.ft_del__%(src_schema)s__%(src_tbl)s();\n";

/* SQL_TEMPLATE_DELETE_v21 */
static const char tpl_delete_v21[] =
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
	"\t-- stash away OLD row before DELETE\n"
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

/* SQL_TEMPLATE_DELETE_NO_DELETER_CHECK */
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

/* SQL_TEMPLATE_CREATE_AUDIT_TRAIL_TABLE */
static const char tpl_create_audit_trail_table[] =
	"\n"
	"create table %(log_schema)s.%(log_tbl)s (\n"
	"\t%(log_cols)s\n"
	") inherits (%(log_schema)s.%(log_base_tbl)s);\n";

/* SQL_TEMPLATE__index__pk_audit__row_version */
static const char tpl_index_pk_audit_row_version[] =
	"\n"
	"drop index if exists audit.idx_uniq__audit__%(log_tbl)s__pk_audit_per_row_ver cascade;\n"
	"\n"
	"create unique index idx_uniq__audit__%(log_tbl)s__pk_audit_per_row_ver\n"
	"       on audit.%(log_tbl)s(src_row_pk_audit, row_version);\n";

/* trigger_ddl(): the variant's comment, insert, update and delete (and
 * v23's index), each followed by an empty item, as master's list has them */
static int trigger_ddl(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
		       struct gm_buf *out, struct gm_error *err)
{
	struct gm_strv names = GM_STRV_INIT, base = GM_STRV_INIT;
	char *log_tbl = gm_xasprintf("%s%s", GM_AUDIT_LOG_TABLE_PREFIX, table);
	char *cols_clause = NULL, *vals_clause = NULL;
	bool v21 = false, v23;
	int rc;

	rc = gm_audit_columns(conn, schema, table, &names, NULL, err);
	if (rc < 0)
		goto out;
	gm_audit_clauses(&names, skip, &cols_clause, &vals_clause);
	rc = gm_audit_columns(conn, GM_AUDIT_SCHEMA, GM_AUDIT_TRAIL_PARENT_TABLE, &base, NULL, err);
	if (rc < 0)
		goto out;
	v23 = gm_audit_strv_has(&base, "src_row_pk_audit");
	rc = gm_audit_exists(conn, "audit-function-exists", "gm", "account_is_dbowner_or_staff", &v21, err);
	if (rc < 0) {
		gm_error_prefix(err, "could not check for gm.account_is_dbowner_or_staff()");
		goto out;
	}
	{
		struct gm_audit_args a = {
			.src_tbl = table, .src_schema = schema, .log_tbl = log_tbl,
			.cols_clause = cols_clause, .vals_clause = vals_clause,
		};
		const char *items[8];
		size_t n = 0;

		if (v23) {
			items[n++] = "-- creating v23 audit schema script";
			items[n++] = tpl_insert_v23;
			items[n++] = "";
			items[n++] = tpl_update_v23;
			items[n++] = "";
			items[n++] = tpl_delete_v23;
			items[n++] = tpl_index_pk_audit_row_version;
		} else if (v21) {
			items[n++] = "-- creating v21/v22 audit schema script";
			items[n++] = tpl_insert_v21;
			items[n++] = "";
			items[n++] = tpl_update_v21;
			items[n++] = "";
			items[n++] = tpl_delete_v21;
		} else {
			items[n++] = "-- creating pre-v21 audit schema script";
			items[n++] = tpl_insert_no_inserter_check;
			items[n++] = "";
			items[n++] = tpl_update_no_updater_check;
			items[n++] = "";
			items[n++] = tpl_delete_no_deleter_check;
		}
		items[n++] = "";
		for (size_t i = 0; i < n; i++) {
			struct gm_buf item = GM_BUF_INIT;
			/* the comment and the empty items are not templates */
			if (strchr(items[i], '%'))
				gm_audit_pyformat(&item, items[i], &a);
			else
				gm_buf_adds(&item, items[i]);
			gm_audit_emit(out, gm_buf_str(&item));
			gm_buf_release(&item);
		}
	}
out:
	gm_strv_release(&names);
	gm_strv_release(&base);
	free(cols_clause);
	free(vals_clause);
	free(log_tbl);
	return rc;
}

/* create_audit_ddl()'s loop body: the log table's item, the triggers, the separator */
static int table_master(PGconn *conn, const char *schema, const char *table, const struct gm_strv *skip,
			struct gm_buf *out, struct gm_error *err)
{
	char *item = NULL;
	int rc = gm_audit_log_table(conn, schema, table, skip, tpl_create_audit_trail_table, &item, err);

	if (rc < 0)
		return rc;
	gm_audit_emit(out, item ? item : "");
	free(item);
	rc = trigger_ddl(conn, schema, table, skip, out, err);
	if (rc < 0)
		return rc;
	gm_audit_emit(out, GM_AUDIT_SEPARATOR);
	return GM_OK;
}

static const char *const header_master[] = { "set check_function_bodies to on;\n\n", NULL };

const struct gm_audit_generator gm_audit_generator_master = { "master 8a85b32", header_master, table_master };
