/*
 * gm-banner - show or change the logon banner of a GNUmed database, and put
 * a downtime notice in front of it (and take it out again)
 */
#include "gmdb.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COMMANDS "show, set, clear, notice, unnotice, announce or unannounce"

int main(int argc, const char **argv)
{
	struct gm_banner_notice notice = { .kind = GM_BANNER_NOTICE_UPGRADE };
	struct gm_error err = GM_ERROR_INIT;
	int json = 0, planned = 0, in = -1, duration = -1;
	char *message = NULL;
	bool removed = false;
	char *fixup = NULL, *replaced_by = NULL, *text = NULL;
	const char *db, *cmd, *arg1, *arg2;
	poptContext ctx;
	int rc;

	struct poptOption options[] = {
		{ "json", 'j', POPT_ARG_NONE, &json, 0,
		  "show: print JSON (banner, notice and original text)", NULL },
		{ "fixup", '\0', POPT_ARG_STRING, &fixup, 0,
		  "notice: a fixup of version N is in progress", "N" },
		{ "replaced-by", '\0', POPT_ARG_STRING, &replaced_by, 0,
		  "notice: this database was replaced by database DB", "DB" },
		{ "planned", '\0', POPT_ARG_NONE, &planned, 0,
		  "notice: a downtime is planned (--in, --duration; FROM TO: for that upgrade)", NULL },
		{ "in", '\0', POPT_ARG_INT, &in, 0,
		  "notice --planned, announce: the downtime starts in MINUTES (default: now)", "MINUTES" },
		{ "duration", '\0', POPT_ARG_INT, &duration, 0,
		  "notice --planned, announce: it takes about MINUTES", "MINUTES" },
		{ "message", '\0', POPT_ARG_STRING, &message, 0,
		  "announce: a paragraph of your own after gmdb's text", "TEXT" },
		GM_POPT_CONNECTION,
		GM_POPT_COMMON,
		POPT_AUTOHELP
		POPT_TABLEEND
	};

	rc = gm_cli_parse(&ctx, "gm-banner", argc, argv, options,
			  "[OPTION...] DATABASE show|set TEXT|clear|notice [FROM TO]|unnotice|announce [FROM TO]|unannounce");
	if (rc != GM_OK)
		return gm_exit_status(rc);

	db = poptGetArg(ctx);
	cmd = poptGetArg(ctx);
	arg1 = poptGetArg(ctx);
	arg2 = poptGetArg(ctx);
	if (!db || !*db)
		rc = gm_cli_usage_error("no database name given");
	else if (!cmd)
		rc = gm_cli_usage_error("no command given (" COMMANDS ")");
	else if (strcmp(cmd, "show") != 0 && strcmp(cmd, "set") != 0 && strcmp(cmd, "clear") != 0 &&
		 strcmp(cmd, "notice") != 0 && strcmp(cmd, "unnotice") != 0 && strcmp(cmd, "announce") != 0 &&
		 strcmp(cmd, "unannounce") != 0)
		rc = gm_cli_usage_error("unknown command \"%s\" (" COMMANDS ")", cmd);
	else if (json && strcmp(cmd, "show") != 0)
		rc = gm_cli_usage_error("--json goes with \"show\" only");
	else if ((fixup || replaced_by) && strcmp(cmd, "notice") != 0)
		rc = gm_cli_usage_error("--%s goes with \"notice\" only", fixup ? "fixup" : "replaced-by");
	else if (planned && strcmp(cmd, "notice") != 0)
		rc = gm_cli_usage_error("--planned goes with \"notice\" only");
	else if ((in >= 0 || duration >= 0) && !planned && strcmp(cmd, "announce") != 0)
		rc = gm_cli_usage_error("--in and --duration go with \"notice --planned\" and \"announce\" only");
	else if (message && strcmp(cmd, "announce") != 0)
		rc = gm_cli_usage_error("--message goes with \"announce\" only");
	else if (in > 7 * 24 * 60 || in < -1 || duration > 7 * 24 * 60 || duration < -1)
		rc = gm_cli_usage_error("--in and --duration take 0 to %d minutes", 7 * 24 * 60);
	else if (planned && (fixup || replaced_by))
		rc = gm_cli_usage_error("notice: --planned and --%s exclude each other", fixup ? "fixup" : "replaced-by");
	else if ((planned || strcmp(cmd, "announce") == 0) && arg1 && !arg2)
		rc = gm_cli_usage_error("%s: give both FROM and TO, or neither", cmd);
	else if (strcmp(cmd, "set") == 0 && !arg1)
		rc = gm_cli_usage_error("set: no text given (use \"-\" to read it from standard input)");
	else if (strcmp(cmd, "notice") == 0 && fixup && replaced_by)
		rc = gm_cli_usage_error("notice: --fixup and --replaced-by exclude each other");
	else if (strcmp(cmd, "notice") == 0 && !fixup && !replaced_by && !planned && !arg2)
		rc = gm_cli_usage_error("notice: give FROM TO, --fixup N or --replaced-by DB");
	else if (strcmp(cmd, "notice") == 0 && (fixup || replaced_by) && arg1)
		rc = gm_cli_usage_error("notice: FROM TO and --%s exclude each other", fixup ? "fixup" : "replaced-by");
	else {
		/* how many arguments the command takes after its name */
		const char *const args[] = { arg1, arg2, poptPeekArg(ctx) };
		int takes = strcmp(cmd, "set") == 0 ? 1
			    : (strcmp(cmd, "notice") == 0 && !fixup && !replaced_by) || strcmp(cmd, "announce") == 0 ? 2 : 0;

		if (args[takes])
			rc = gm_cli_usage_error("too many arguments (first extra: \"%s\")", args[takes]);
	}
	if (rc == GM_OK && (planned || strcmp(cmd, "announce") == 0)) {
		notice.kind = GM_BANNER_NOTICE_PLANNED;
		notice.when = time(NULL) + (in > 0 ? in * 60 : 0);
		notice.minutes = duration > 0 ? duration : 0;
		if (arg1 && gm_parse_version(arg1, &notice.from) < 0)
			rc = gm_cli_usage_error("%s: \"%s\" is not a version number", cmd, arg1);
		else if (arg2 && gm_parse_version(arg2, &notice.to) < 0)
			rc = gm_cli_usage_error("%s: \"%s\" is not a version number", cmd, arg2);
		else if (arg1 && notice.to <= notice.from)
			rc = gm_cli_usage_error("%s: an upgrade goes to a higher version, not from v%d to v%d", cmd,
						notice.from, notice.to);
	} else if (rc == GM_OK && strcmp(cmd, "notice") == 0) {
		if (fixup) {
			notice.kind = GM_BANNER_NOTICE_FIXUP;
			if (gm_parse_version(fixup, &notice.from) < 0)
				rc = gm_cli_usage_error("--fixup: \"%s\" is not a version number", fixup);
		} else if (replaced_by) {
			notice.kind = GM_BANNER_NOTICE_REPLACED;
			notice.database = replaced_by;
		} else if (gm_parse_version(arg1, &notice.from) < 0) {
			rc = gm_cli_usage_error("notice: \"%s\" is not a version number", arg1);
		} else if (gm_parse_version(arg2, &notice.to) < 0) {
			rc = gm_cli_usage_error("notice: \"%s\" is not a version number", arg2);
		} else if (notice.to <= notice.from) {
			rc = gm_cli_usage_error("notice: an upgrade goes to a higher version, not from v%d to v%d",
						notice.from, notice.to);
		}
	}

	if (rc == GM_OK) {
		if (strcmp(cmd, "show") == 0) {
			rc = gm_banner_show(db, json, stdout, &err);
		} else if (strcmp(cmd, "set") == 0) {
			if (strcmp(arg1, "-") == 0)
				rc = gm_banner_read(stdin, &text, &err);
			if (rc == GM_OK)
				rc = gm_banner_set(db, text ? text : arg1, &err);
		} else if (strcmp(cmd, "clear") == 0) {
			rc = gm_banner_set(db, NULL, &err);
		} else if (strcmp(cmd, "notice") == 0) {
			rc = gm_banner_notice(db, &notice, &err);
		} else if (strcmp(cmd, "announce") == 0) {
			struct gm_announcement a = { .database = db, .when = notice.when, .minutes = notice.minutes,
						     .from = notice.from, .to = notice.to, .extra = message };
			rc = gm_announce(db, &a, stdout, &err);
		} else if (strcmp(cmd, "unannounce") == 0) {
			rc = gm_unannounce(db, stdout, &err);
		} else {
			rc = gm_banner_unnotice(db, &removed, &err);
			if (rc == GM_OK && !removed)
				gm_log(GM_LOG_NOTICE, "the logon banner of database \"%s\" has no notice from gmdb: nothing to do",
				       db);
		}
	}
	if (fflush(stdout) != 0 && rc == GM_OK)
		rc = gm_error_set(&err, GM_EFAIL, "could not write to standard output");
	rc = gm_cli_finish(rc, &err);
	free(text);
	free(fixup);        /* popt's copies */
	free(replaced_by);
	free(message);
	poptFreeContext(ctx);
	return rc;
}
