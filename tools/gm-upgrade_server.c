/*
 * gm-upgrade_server - upgrade a GNUmed database to the next schema version
 * in a new database, leaving the old one as it was
 */
#include "gmdb.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, const char **argv)
{
	struct gm_upgrade_opts opts = { .from = -1, .to = -1 };
	struct gm_error err = GM_ERROR_INIT;
	char *upstream = NULL, *log_file = NULL, *backup_dir = NULL;
	char **ignore = NULL;
	int check = 0, replace = 0, no_backup = 0, json = 0, yes = 0, jobs = 0;
	const char *args[4];
	int nargs = 0, rc;
	poptContext ctx;

	struct poptOption options[] = {
		{ "check", 'c', POPT_ARG_NONE, &check, 0,
		  "check every precondition, change nothing", NULL },
		{ "replace-target", '\0', POPT_ARG_NONE, &replace, 0,
		  "drop an existing target database first (never one in use)", NULL },
		{ "no-backup", '\0', POPT_ARG_NONE, &no_backup, 0,
		  "do not back up the source database first", NULL },
		{ "backup-dir", '\0', POPT_ARG_STRING, &backup_dir, 0,
		  "where the backup goes (default: /var/lib/gmdb/backups)", "DIR" },
		{ "jobs", 'j', POPT_ARG_INT, &jobs, 0,
		  "parallel jobs of the backup (default: one per CPU)", "N" },
		{ "json", '\0', POPT_ARG_NONE, &json, 0,
		  "print a summary as JSON", NULL },
		{ "yes", 'y', POPT_ARG_NONE, &yes, 0,
		  "do not ask for confirmation on a terminal", NULL },
		{ "ignore-check", '\0', POPT_ARG_ARGV, &ignore, 0,
		  "report a failure of upstream's plausibility check TAG, but go on (repeatable)", "TAG" },
		{ "upstream-dir", '\0', POPT_ARG_STRING, &upstream, 0,
		  "upstream's tree (default: /var/lib/gnumed/server)", "DIR" },
		{ "log-file", '\0', POPT_ARG_STRING, &log_file, 0,
		  "write the log to FILE (default: a new file in /var/log/gnumed/server)", "FILE" },
		GM_POPT_CONNECTION,
		GM_POPT_COMMON,
		POPT_AUTOHELP
		POPT_TABLEEND
	};

	rc = gm_cli_parse(&ctx, "gm-upgrade_server", argc, argv, options, "[OPTION...] FROM TO");
	if (rc != GM_OK)
		return gm_exit_status(rc);

	for (const char *a; (a = poptGetArg(ctx)) != NULL;) {
		/* upstream's "gm-upgrade_server 21 22 [no-backup] [quiet]" */
		if (nargs >= 2 && strcmp(a, "no-backup") == 0)
			no_backup = 1;
		else if (nargs >= 2 && strcmp(a, "quiet") == 0)
			gm_log_set_verbosity(-1);
		else if (nargs < 4)
			args[nargs++] = a;
		else
			nargs++;
	}
	if (nargs < 2)
		rc = gm_cli_usage_error("two versions are needed: FROM and TO (e.g. 21 22)");
	else if (nargs > 2)
		rc = gm_cli_usage_error("too many arguments (first extra: \"%s\")", args[2]);
	else if (gm_parse_uint(args[0][0] == 'v' ? args[0] + 1 : args[0], 9999, &opts.from) < 0 || opts.from < 2)
		rc = gm_cli_usage_error("invalid version \"%s\" (a schema version such as 21)", args[0]);
	else if (gm_parse_uint(args[1][0] == 'v' ? args[1] + 1 : args[1], 9999, &opts.to) < 0)
		rc = gm_cli_usage_error("invalid version \"%s\" (a schema version such as 22)", args[1]);
	else if (opts.to != opts.from + 1)
		rc = gm_cli_usage_error("upstream upgrades one version at a time: %d %d, not %d %d", opts.from,
					opts.from + 1, opts.from, opts.to);
	else if (jobs < 0 || jobs > 64)
		rc = gm_cli_usage_error("--jobs must be between 1 and 64 (0: one per CPU)");
	else if (no_backup && backup_dir)
		rc = gm_cli_usage_error("--no-backup and --backup-dir exclude each other");
	if (rc == GM_OK && !check)
		rc = gm_run_open_log(log_file, "gm-upgrade_server", &err);
	if (rc == GM_OK) {
		opts.upstream_dir = upstream;
		opts.check = check;
		opts.replace_target = replace;
		opts.no_backup = no_backup;
		opts.backup_dir = backup_dir;
		opts.jobs = jobs;
		opts.json = json;
		opts.yes = yes;
		opts.ignore_checks = (const char *const *)ignore;
		rc = gm_upgrade_run(&opts, &err);
	}
	rc = gm_cli_finish(rc, &err);
	for (char **t = ignore; t && *t; t++)
		free(*t);
	free(ignore);
	poptFreeContext(ctx);
	return rc;
}
