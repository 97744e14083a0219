/*
 * gm-hba-lock - lock remote access to the cluster, and unlock it
 */
#include "gmdb.h"

#include <stdlib.h>
#include <string.h>

int main(int argc, const char **argv)
{
	struct gm_hba_opts opts = { .command = GM_HBA_STATUS };
	struct gm_error err = GM_ERROR_INIT;
	int terminate = 0, force = 0, json = 0;
	char *grace = NULL, *dbname = NULL;
	const char *command;
	poptContext ctx;
	int rc;

	struct poptOption options[] = {
		{ "terminate", '\0', POPT_ARG_NONE, &terminate, 0,
		  "lock: end the sessions open from the network", NULL },
		{ "grace", '\0', POPT_ARG_STRING, &grace, 0,
		  "lock --terminate: wait SECONDS before ending them (default 0)", "SECONDS" },
		{ "force", 'f', POPT_ARG_NONE, &force, 0,
		  "unlock: put the original back even over a file changed since the lock", NULL },
		{ "json", 'j', POPT_ARG_NONE, &json, 0,
		  "status: print JSON", NULL },
		{ "dbname", 'd', POPT_ARG_STRING, &dbname, 0,
		  "database to connect to (default: postgres, else template1)", "DBNAME" },
		GM_POPT_CONNECTION,
		GM_POPT_COMMON,
		POPT_AUTOHELP
		POPT_TABLEEND
	};

	rc = gm_cli_parse(&ctx, "gm-hba-lock", argc, argv, options, "[OPTION...] lock|unlock|status");
	if (rc != GM_OK)
		return gm_exit_status(rc);

	command = poptGetArg(ctx);
	if (!command)
		rc = gm_cli_usage_error("no command given (lock, unlock or status)");
	else if (strcmp(command, "lock") == 0)
		opts.command = GM_HBA_LOCK;
	else if (strcmp(command, "unlock") == 0)
		opts.command = GM_HBA_UNLOCK;
	else if (strcmp(command, "status") == 0)
		opts.command = GM_HBA_STATUS;
	else
		rc = gm_cli_usage_error("unknown command \"%s\" (lock, unlock or status)", command);
	if (rc == GM_OK && poptPeekArg(ctx))
		rc = gm_cli_usage_error("too many arguments (first extra: \"%s\")", poptPeekArg(ctx));
	if (rc == GM_OK && grace && gm_parse_uint(grace, 86400, &opts.grace) < 0)
		rc = gm_cli_usage_error("invalid --grace \"%s\" (seconds, 0 to 86400)", grace);
	if (rc == GM_OK && grace && !terminate)
		rc = gm_cli_usage_error("--grace needs --terminate");
	if (rc == GM_OK && terminate && opts.command != GM_HBA_LOCK)
		rc = gm_cli_usage_error("--terminate goes with lock only");
	if (rc == GM_OK && force && opts.command != GM_HBA_UNLOCK)
		rc = gm_cli_usage_error("--force goes with unlock only");
	if (rc == GM_OK && json && opts.command != GM_HBA_STATUS)
		rc = gm_cli_usage_error("--json goes with status only");
	if (rc == GM_OK) {
		opts.terminate = terminate;
		opts.force = force;
		opts.json = json;
		opts.dbname = dbname;
		rc = gm_hba_run(&opts, &err);
	}
	rc = gm_cli_finish(rc, &err);
	poptFreeContext(ctx);
	free(grace);   /* popt's copies */
	free(dbname);
	return rc;
}
