/*
 * gm-fixup_server - apply upstream's fixups to a GNUmed database, in place
 */
#include "gmdb.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, const char **argv)
{
	struct gm_fixup_opts opts = { .version = -1 };
	struct gm_error err = GM_ERROR_INIT;
	char *database = NULL;
	struct gm_downtime_opts dopts = { .grace = 60, .announce = -1 };
	int announce = -1, duration = -1, rehearse = 0;
	int check = 0, list = 0, json = 0, downtime = 0, recover = 0, keep = 0, grace = -1, jobs = 0;
	const char *version, *extra;
	poptContext ctx;
	int rc;

	struct poptOption options[] = {
		{ "database", 'd', POPT_ARG_STRING, &database, 0,
		  "the database to fix (default: found by its schema hash)", "DATABASE" },
		{ "check", 'c', POPT_ARG_NONE, &check, 0,
		  "verify everything, change nothing", NULL },
		{ "list", 'l', POPT_ARG_NONE, &list, 0,
		  "print the files that would run, in order", NULL },
		{ "json", 'j', POPT_ARG_NONE, &json, 0,
		  "print a summary as JSON", NULL },
		{ "jobs", '\0', POPT_ARG_INT, &jobs, 0,
		  "connections of the reindex (default: one per CPU)", "N" },
		{ "downtime", '\0', POPT_ARG_NONE, &downtime, 0,
		  "the whole downtime procedure around the fixup, with a snapshot to roll back to", NULL },
		{ "grace", '\0', POPT_ARG_INT, &grace, 0,
		  "--downtime: seconds remote sessions get before they are ended (default: 60)", "SECONDS" },
		{ "rehearse", '\0', POPT_ARG_NONE, &rehearse, 0,
		  "the fixup on a copy made while everyone works: will it succeed, how long, how much space", NULL },
		{ "announce", '\0', POPT_ARG_INT, &announce, 0,
		  "--downtime: first tell the users (their inboxes, the banner) and wait MINUTES before locking them out", "MINUTES" },
		{ "duration", '\0', POPT_ARG_INT, &duration, 0,
		  "--announce: say that the downtime takes about MINUTES", "MINUTES" },
		{ "keep-snapshot", '\0', POPT_ARG_NONE, &keep, 0,
		  "--downtime: keep the snapshot DATABASE_gmdb_snapshot after a fixup that worked", NULL },
		{ "recover", '\0', POPT_ARG_NONE, &recover, 0,
		  "undo an unfinished downtime procedure (after a crash)", NULL },
		GM_POPT_RUN,
		GM_POPT_CONNECTION,
		GM_POPT_COMMON,
		POPT_AUTOHELP
		POPT_TABLEEND
	};

	rc = gm_cli_parse(&ctx, "gm-fixup_server", argc, argv, options, "[OPTION...] [VERSION]");
	if (rc != GM_OK)
		return gm_exit_status(rc);

	version = poptGetArg(ctx);
	extra = poptGetArg(ctx);
	if (extra && strcmp(extra, "quiet") == 0) {
		/* upstream's "gm-fixup_server VERSION quiet" */
		gm_log_set_verbosity(-1);
		extra = NULL;
	}
	if (extra)
		rc = gm_cli_usage_error("too many arguments (first extra: \"%s\")", extra);
	else if (version && (gm_parse_version(version, &opts.version) < 0 ||
			     opts.version < 2))
		rc = gm_cli_usage_error("invalid version \"%s\" (a schema version such as 22)", version);
	else if (check && list)
		rc = gm_cli_usage_error("--check and --list exclude each other");
	else if (rehearse && (downtime || recover || check || list || keep || grace >= 0))
		rc = gm_cli_usage_error("--rehearse excludes --downtime, --recover, --check, --list, --grace and --keep-snapshot");
	else if (downtime && (check || list))
		rc = gm_cli_usage_error("--downtime excludes --check and --list");
	else if (recover && (check || list || json))
		rc = gm_cli_usage_error("--recover excludes --check, --list and --json");
	else if (downtime && recover)
		rc = gm_cli_usage_error("--downtime and --recover exclude each other");
	else if (recover && (version || database))
		rc = gm_cli_usage_error("--recover takes no database or version");
	else if ((grace >= 0 || keep) && !downtime)
		rc = gm_cli_usage_error("--grace and --keep-snapshot go with --downtime");
	else if ((rc = gm_cli_check_announce(downtime, announce, duration)) != GM_OK)
		;
	else if (jobs < 0 || jobs > 64)
		rc = gm_cli_usage_error("--jobs must be between 1 and 64 (0: one per CPU)");
	else if (grace > 86400)
		rc = gm_cli_usage_error("--grace must be between 0 and 86400 seconds");
	if (rc == GM_OK && !check && !list)
		rc = gm_run_open_log(gm_run_opts.log_file, "gm-fixup_server", &err);
	if (rc == GM_OK) {
		opts.database = database;
		opts.upstream_dir = gm_run_opts.upstream_dir;
		opts.check = check;
		opts.list = list;
		opts.json = json;
		opts.jobs = jobs;
		if (grace >= 0)
			dopts.grace = grace;
		dopts.announce = announce;
		dopts.duration = duration > 0 ? duration : 0;
		dopts.keep_snapshot = keep;
		if (rehearse) {
			struct gm_rehearse_opts ro = { .upstream_dir = opts.upstream_dir, .fixup = true, .from = opts.version,
						       .database = database, .json = json, .jobs = jobs };
			rc = gm_rehearse(&ro, &err);
		} else if (recover)
			rc = gm_downtime_recover(&err);
		else if (downtime)
			rc = gm_downtime_fixup(&opts, &dopts, &err);
		else
			rc = gm_fixup_run(&opts, &err);
	}
	rc = gm_cli_finish(rc, &err);
	poptFreeContext(ctx);
	return rc;
}
