/*
 * audit-ddl - test driver: print gm_audit_generate()'s DDL for a database
 *
 *   audit-ddl [-g master] DATABASE [ROLE]
 *
 * -g master: the generator of upstream's development tree (default: 22.x's).
 * Connects as the tests' superuser and, if ROLE is given, runs the
 * generator after SET SESSION AUTHORIZATION ROLE, as upstream's engine does
 * with gm-dbo. The DDL goes to stdout unchanged; errors to stderr, with the
 * tools' exit statuses.
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct gm_error err = GM_ERROR_INIT;
	PGconn *conn;
	const struct gm_audit_generator *gen = &gm_audit_generator_22;
	char *ddl = NULL;
	int rc;

	gm_log_init("audit-ddl");
	if (argc > 2 && strcmp(argv[1], "-g") == 0 && strcmp(argv[2], "master") == 0) {
		gen = &gm_audit_generator_master;
		argv += 2;
		argc -= 2;
	}
	if (argc < 2 || argc > 3) {
		fputs("usage: audit-ddl [-g master] DATABASE [ROLE]\n", stderr);
		return GM_EXIT_USAGE;
	}
	conn = gm_conn_open(argv[1], NULL, &err);
	if (!conn)
		return gm_cli_finish(GM_EFAIL, &err);
	rc = GM_OK;
	if (argc == 3) {
		char *role = gm_db_ident(conn, argv[2]);
		char *sql = gm_xasprintf("SET SESSION AUTHORIZATION %s", role);
		rc = gm_db_exec(conn, sql, &err);
		free(sql);
		free(role);
	}
	if (rc == GM_OK)
		rc = gm_audit_generate_by(conn, gen, &ddl, &err);
	if (rc == GM_OK && fwrite(ddl, 1, strlen(ddl), stdout) != strlen(ddl))
		rc = gm_error_set(&err, GM_EFAIL, "could not write the DDL");
	free(ddl);
	gm_conn_close(conn);
	return gm_cli_finish(rc, &err);
}
