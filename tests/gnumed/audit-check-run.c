/*
 * audit-check-run - test driver: run gm_audit_check() on a database
 *
 *   audit-check-run DATABASE [ROLE]
 *   audit-check-run --known VERSION
 *
 * Connects as the tests' superuser (after SET SESSION AUTHORIZATION ROLE
 * when given, as gmdb's owner session is) and prints one line:
 * "TABLES UPDATED DELETED REFUSED EMPTY SEQUENCES_RESET BROKEN..." where
 * BROKEN are the schema.table names whose audit triggers failed, sorted;
 * what failed for each goes to stderr. --known prints the tables gmdb
 * knows upstream's own engine leaves broken in VERSION.
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	struct gm_error err = GM_ERROR_INIT;
	struct gm_audit_check ac;
	PGconn *conn;
	int rc = GM_OK;

	gm_log_init("audit-check-run");
	if (argc == 3 && strcmp(argv[1], "--known") == 0) {
		const char *k = gm_audit_check_known_defects(atoi(argv[2]));
		printf("%s\n", k ? k : "");
		return 0;
	}
	if (argc < 2 || argc > 3) {
		fputs("usage: audit-check-run DATABASE [ROLE]\n", stderr);
		return GM_EXIT_USAGE;
	}
	conn = gm_conn_open(argv[1], NULL, &err);
	if (!conn)
		return gm_cli_finish(GM_EFAIL, &err);
	if (argc == 3) {
		/* as gmdb's owner session: the role, and the database's search_path */
		char *sql = gm_sqlf(conn, "SET SESSION AUTHORIZATION %I", argv[2]);
		rc = gm_db_exec(conn, sql, &err);
		free(sql);
		if (rc == GM_OK)
			rc = gm_db_exec(conn, "RESET search_path", &err);
	}
	if (rc == GM_OK)
		rc = gm_audit_check(conn, &ac, &err);
	if (rc == GM_OK) {
		printf("%d %d %d %d %d %d", ac.tables, ac.updated, ac.deleted, ac.refused, ac.empty, ac.sequences_reset);
		for (size_t i = 0; i < ac.broken.n; i++)
			fprintf(stderr, "%s\n", ac.broken.v[i]);
		if (ac.broken_tables.n)
			qsort(ac.broken_tables.v, ac.broken_tables.n, sizeof(char *), cmp);
		for (size_t i = 0; i < ac.broken_tables.n; i++)
			printf(" %s", ac.broken_tables.v[i]);
		putchar('\n');
		gm_audit_check_release(&ac);
	}
	gm_conn_close(conn);
	return gm_cli_finish(rc, &err);
}
