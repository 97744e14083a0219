/*
 * plausibility-run - test driver: run gm_plausibility_run() on two databases
 *
 *   plausibility-run [-m] [-s|-e] OLD_DB NEW_DB ITEMS_FILE
 *
 * -m: the list is master's (its "--" comment lines dropped first);
 * -s: in two halves (gm_plausibility_run_old, then gm_plausibility_finish);
 * -e: as gm-upgrade_server runs them: the old side started in the
 *     background (gm_plausibility_start_old), the new side beside it
 *     (gm_plausibility_run_new), then wait_old and finish.
 * ITEMS_FILE holds the conf list's items, one a line (as upstream's conf reader
 * hands them over: stripped). Prints one line per check run:
 *   ok|FAIL <TAB> tag <TAB> old value <TAB> new value <TAB> problem
 * (values "NULL" for SQL NULL or none fetched), then exits with
 * the tools' exit status for the result (0 all passed, 3 a check failed).
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct gm_error err = GM_ERROR_INIT;
	struct gm_strv items = GM_STRV_INIT;
	struct gm_check *checks = NULL;
	size_t n = 0;
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	bool master = false, halves = false, early = false;
	int rc;

	gm_log_init("plausibility-run");
	while (argc > 1 && (strcmp(argv[1], "-m") == 0 || strcmp(argv[1], "-s") == 0 || strcmp(argv[1], "-e") == 0)) {
		if (argv[1][1] == 'm')
			master = true;
		else if (argv[1][1] == 'e')
			early = true;
		else
			halves = true;
		argv++;
		argc--;
	}
	if (argc != 4) {
		fputs("usage: plausibility-run [-m] [-s|-e] OLD_DB NEW_DB ITEMS_FILE\n", stderr);
		return GM_EXIT_USAGE;
	}
	in = fopen(argv[3], "r");
	if (!in) {
		perror(argv[3]);
		return GM_EXIT_FAIL;
	}
	while ((len = getline(&line, &cap, in)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		gm_strv_push(&items, line);
	}
	free(line);
	fclose(in);
	if (master) {
		struct gm_strv all = items, empty = GM_STRV_INIT;
		items = empty;
		gm_plausibility_master_items(&all, &items);
		gm_strv_release(&all);
	}
	if (early) {
		struct gm_plausibility *p;
		rc = gm_plausibility_prepare(&items, &p, &err);
		if (rc == GM_OK && (rc = gm_plausibility_start_old(p, argv[1], &err)) == GM_OK &&
		    (rc = gm_plausibility_run_new(p, argv[2], 2, &err)) == GM_OK && gm_plausibility_wait_old(p) < 0)
			rc = gm_error_set(&err, GM_EFAIL, "interrupted");
		if (rc == GM_OK)
			rc = gm_plausibility_finish(p, argv[1], argv[2], 2, &checks, &n, &err);
		gm_plausibility_free(p);
	} else if (halves) {
		/* the old side first and on its own, as for master's fixed-up
		 * clone, then the new side */
		struct gm_plausibility *p;
		rc = gm_plausibility_prepare(&items, &p, &err);
		if (rc == GM_OK && (rc = gm_plausibility_run_old(p, argv[1], 1, &err)) == GM_OK)
			rc = gm_plausibility_finish(p, NULL, argv[2], 1, &checks, &n, &err);
		gm_plausibility_free(p);
	} else {
		rc = gm_plausibility_run(argv[1], argv[2], &items, &checks, &n, &err);
	}
	for (size_t i = 0; i < n; i++) {
		const struct gm_check *c = &checks[i];
		printf("%s\t%s\t%s\t%s\t%s\n", c->passed ? "ok" : "FAIL", c->tag,
		       c->old_value ? c->old_value : "NULL", c->new_value ? c->new_value : "NULL",
		       c->problem ? c->problem : "");
	}
	gm_checks_free(checks, n);
	gm_strv_release(&items);
	return gm_cli_finish(rc, &err);
}
