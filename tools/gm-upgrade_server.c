/*
 * gm-upgrade_server - upgrade a GNUmed database to the next schema version
 * in a new database, leaving the old one as it was
 */
#include "config.h"  /* the configured directories, for --help */
#include "gmdb.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, const char **argv)
{
	struct gm_upgrade_opts opts = { .from = -1, .to = -1 };
	struct gm_error err = GM_ERROR_INIT;
	struct gm_downtime_opts dopts = { .grace = 60, .announce = -1 };
	int announce = -1, duration = -1;
	char *backup_dir = NULL, *retire = NULL, *unretire = NULL;
	int downtime = 0, recover = 0, grace = -1, retire_version = -1, list_backups = 0, prune = -1, rehearse = 0;
	char **ignore = NULL;
	int check = 0, replace = 0, no_backup = 0, json = 0, yes = 0, jobs = 0, compress = 0;
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
		  "where the backup goes (default: GMDB_BACKUP_DIR, else " GM_STATE_DIR "/backups)", "DIR" },
		{ "backup-compress", '\0', POPT_ARG_INT, &compress, 0,
		  "gzip level of the backup, 1 (fast) to 9 (small); default 0: not compressed, as upstream's", "LEVEL" },
		{ "jobs", 'j', POPT_ARG_INT, &jobs, 0,
		  "parallel jobs of the backup, connections of the reindex and the plausibility checks (default: one per CPU)", "N" },
		{ "downtime", '\0', POPT_ARG_NONE, &downtime, 0,
		  "the whole downtime procedure around the upgrade (notice, access locked, sessions ended, ...)", NULL },
		{ "grace", '\0', POPT_ARG_INT, &grace, 0,
		  "--downtime: seconds remote sessions get before they are ended (default: 60)", "SECONDS" },
		{ "announce", '\0', POPT_ARG_INT, &announce, 0,
		  "--downtime: first tell the users (their inboxes, the banner) and wait MINUTES before locking them out", "MINUTES" },
		{ "duration", '\0', POPT_ARG_INT, &duration, 0,
		  "--announce: say that the downtime takes about MINUTES", "MINUTES" },
		{ "rehearse", '\0', POPT_ARG_NONE, &rehearse, 0,
		  "the upgrade on a copy made while everyone works: will it succeed, how long, how much space", NULL },
		{ "recover", '\0', POPT_ARG_NONE, &recover, 0,
		  "undo an unfinished downtime procedure (after a crash)", NULL },
		{ "retire", '\0', POPT_ARG_STRING, &retire, 0,
		  "make the replaced database gnumed_vFROM refuse connections (never drops it)", "FROM" },
		{ "unretire", '\0', POPT_ARG_STRING, &unretire, 0,
		  "let a retired database accept connections again", "FROM" },
		{ "list-backups", '\0', POPT_ARG_NONE, &list_backups, 0,
		  "list the backups in the backup directory (database, versions, when, size)", NULL },
		{ "prune-backups", '\0', POPT_ARG_INT, &prune, 0,
		  "remove all but the newest N complete backups of each database (with --check: only list them)", "N" },
		{ "json", '\0', POPT_ARG_NONE, &json, 0,
		  "print a summary as JSON", NULL },
		{ "yes", 'y', POPT_ARG_NONE, &yes, 0,
		  "do not ask for confirmation on a terminal", NULL },
		{ "ignore-check", '\0', POPT_ARG_ARGV, &ignore, 0,
		  "report a failure of upstream's plausibility check TAG, but go on (repeatable)", "TAG" },
		GM_POPT_RUN,
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
	if (recover + !!retire + !!unretire + downtime + list_backups + (prune >= 0) + rehearse > 1 ||
	    ((recover || retire || unretire || list_backups || rehearse) && check))
		rc = gm_cli_usage_error("--recover, --retire, --unretire, --downtime, --rehearse, --list-backups, "
					"--prune-backups and --check exclude each other (but --prune-backups --check)");
	else if (rehearse && replace)
		rc = gm_cli_usage_error("--rehearse leaves the target alone: no --replace-target");
	else if ((recover || retire || unretire) && nargs)
		rc = gm_cli_usage_error("--recover, --retire and --unretire take no FROM TO arguments");
	else if ((list_backups || prune >= 0) && nargs)
		rc = gm_cli_usage_error("--list-backups and --prune-backups take no FROM TO arguments");
	else if (prune != -1 && (prune < 1 || prune > 10000))
		rc = gm_cli_usage_error("--prune-backups keeps between 1 and 10000 backups of each database");
	else if ((list_backups || prune >= 0) && no_backup)
		rc = gm_cli_usage_error("--no-backup goes with an upgrade");
	else if (list_backups || prune >= 0)
		;
	else if ((retire || unretire) &&
		 (gm_parse_version(retire ? retire : unretire, &retire_version) < 0 || retire_version < 2))
		rc = gm_cli_usage_error("invalid version \"%s\" (a schema version such as 21)", retire ? retire : unretire);
	else if (grace >= 0 && !downtime)
		rc = gm_cli_usage_error("--grace goes with --downtime");
	else if ((rc = gm_cli_check_announce(downtime, announce, duration)) != GM_OK)
		;
	else if (grace > 86400)
		rc = gm_cli_usage_error("--grace must be between 0 and 86400 seconds");
	else if (recover || retire || unretire)
		;
	else if (nargs < 2)
		rc = gm_cli_usage_error("two versions are needed: FROM and TO (e.g. 21 22)");
	else if (nargs > 2)
		rc = gm_cli_usage_error("too many arguments (first extra: \"%s\")", args[2]);
	else if (gm_parse_version(args[0], &opts.from) < 0 || opts.from < 2)
		rc = gm_cli_usage_error("invalid version \"%s\" (a schema version such as 21)", args[0]);
	else if (gm_parse_version(args[1], &opts.to) < 0)
		rc = gm_cli_usage_error("invalid version \"%s\" (a schema version such as 22)", args[1]);
	else if (opts.to != opts.from + 1)
		rc = gm_cli_usage_error("upstream upgrades one version at a time: %d %d, not %d %d", opts.from,
					opts.from + 1, opts.from, opts.to);
	else if (jobs < 0 || jobs > 64)
		rc = gm_cli_usage_error("--jobs must be between 1 and 64 (0: one per CPU)");
	else if (no_backup && backup_dir)
		rc = gm_cli_usage_error("--no-backup and --backup-dir exclude each other");
	else if (compress < 0 || compress > 9)
		rc = gm_cli_usage_error("--backup-compress takes a gzip level from 0 (none) to 9");
	else if (no_backup && compress)
		rc = gm_cli_usage_error("--no-backup and --backup-compress exclude each other");
	if (rc == GM_OK && !check && !retire && !unretire && !list_backups)
		rc = gm_run_open_log(gm_run_opts.log_file, "gm-upgrade_server", &err);
	if (rc == GM_OK && (list_backups || prune >= 0)) {
		opts.backup_dir = backup_dir;
		if (list_backups)
			rc = gm_backups_list(gm_upgrade_backup_dir(&opts), json, stdout, &err);
		else
			rc = gm_backups_prune(gm_upgrade_backup_dir(&opts), prune, check, stdout, &err);
	} else if (rc == GM_OK && recover) {
		rc = gm_downtime_recover(&err);
	} else if (rc == GM_OK && (retire || unretire)) {
		rc = gm_downtime_retire(retire_version, unretire != NULL, &err);
	} else if (rc == GM_OK) {
		opts.upstream_dir = gm_run_opts.upstream_dir;
		opts.check = check;
		opts.replace_target = replace;
		opts.no_backup = no_backup;
		opts.backup_dir = backup_dir;
		opts.jobs = jobs;
		opts.backup_compress = compress;
		opts.json = json;
		opts.yes = yes;
		opts.ignore_checks = (const char *const *)ignore;
		if (grace >= 0)
			dopts.grace = grace;
		dopts.announce = announce;
		dopts.duration = duration > 0 ? duration : 0;
		if (rehearse) {
			struct gm_rehearse_opts ro = { .upstream_dir = opts.upstream_dir, .from = opts.from, .to = opts.to,
						       .no_backup = no_backup, .backup_dir = gm_upgrade_backup_dir(&opts),
						       .jobs = jobs, .backup_compress = compress, .json = json,
						       .ignore_checks = opts.ignore_checks };
			rc = gm_rehearse(&ro, &err);
		} else {
			rc = downtime ? gm_downtime_upgrade(&opts, &dopts, &err) : gm_upgrade_run(&opts, &err);
		}
	}
	rc = gm_cli_finish(rc, &err);
	for (char **t = ignore; t && *t; t++)
		free(*t);
	free(ignore);
	free(retire);
	free(unretire);
	poptFreeContext(ctx);
	return rc;
}
