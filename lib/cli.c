/*
 * cli.c - what every tool's command line has in common: the shared popt
 * tables (connection, common options), parsing, usage errors, exit statuses
 */
#include "gmdb-int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gm_conn_opts gm_conn_opts;
struct gm_common_opts gm_common_opts;

struct poptOption gm_conn_option_table[] = {
	{ "host", 'h', POPT_ARG_STRING, &gm_conn_opts.host, 0,
	  "database server host or socket directory (default: PGHOST, else the local socket)", "HOSTNAME" },
	{ "port", 'p', POPT_ARG_STRING, &gm_conn_opts.port, 0,
	  "database server port (default: PGPORT, else 5432)", "PORT" },
	{ "username", 'U', POPT_ARG_STRING, &gm_conn_opts.user, 0,
	  "database user (default: PGUSER; as root: postgres, over the local socket)", "USERNAME" },
	{ "no-password", 'w', POPT_ARG_NONE, &gm_conn_opts.no_password, 0,
	  "never prompt for a password", NULL },
	{ "password", 'W', POPT_ARG_NONE, &gm_conn_opts.ask_password, 0,
	  "prompt for a password (on a terminal only)", NULL },
	POPT_TABLEEND
};

struct gm_run_opts gm_run_opts;

struct poptOption gm_run_option_table[] = {
	{ "upstream-dir", '\0', POPT_ARG_STRING, &gm_run_opts.upstream_dir, 0,
	  "upstream's tree (default: GMDB_UPSTREAM_DIR, else " GM_UPSTREAM_DIR ")", "DIR" },
	{ "log-file", '\0', POPT_ARG_STRING, &gm_run_opts.log_file, 0,
	  "write the log to FILE (default: a new file in GMDB_LOG_DIR, else " GM_LOG_DIR ")", "FILE" },
	POPT_TABLEEND
};

struct poptOption gm_common_option_table[] = {
	{ "verbose", 'v', POPT_ARG_NONE, NULL, 'v',
	  "say more: the SQL run and each step's details (twice: debugging)", NULL },
	{ "quiet", 'q', POPT_ARG_NONE, &gm_common_opts.quiet, 0,
	  "print only warnings and errors", NULL },
	{ "version", 'V', POPT_ARG_NONE, &gm_common_opts.version, 0,
	  "print the version and exit", NULL },
	POPT_TABLEEND
};

int gm_cli_check_announce(bool downtime, int announce, int duration)
{
	if ((announce != -1 || duration != -1) && !downtime)
		return gm_cli_usage_error("--announce and --duration go with --downtime");
	if (duration != -1 && announce == -1)
		return gm_cli_usage_error("--duration goes with --announce");
	if (announce < -1 || announce > 24 * 60 || duration < -1 || duration > 7 * 24 * 60)
		return gm_cli_usage_error("--announce takes 0 to %d minutes, --duration 0 to %d", 24 * 60, 7 * 24 * 60);
	return GM_OK;
}

int gm_cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	char *msg;
	va_start(ap, fmt);
	msg = gm_xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: error: %s\n", gm_log_progname(), msg);
	fprintf(stderr, "hint: Try \"%s --help\" for more information.\n", gm_log_progname());
	free(msg);
	return GM_EUSAGE;
}

int gm_cli_parse(poptContext *ctx, const char *progname, int argc, const char **argv,
		 const struct poptOption *table, const char *arguments)
{
	int c;

	gm_log_init(progname);
	*ctx = poptGetContext(gm_log_progname(), argc, argv, table, 0);
	if (arguments)
		poptSetOtherOptionHelp(*ctx, arguments);  /* callers pass "[OPTION...] ARGS" */
	while ((c = poptGetNextOpt(*ctx)) > 0) {
		if (c == 'v')
			gm_common_opts.verbose++;
	}
	if (c < -1) {
		int rc = gm_cli_usage_error("%s: %s", poptBadOption(*ctx, POPT_BADOPTION_NOALIAS),
					    poptStrerror(c));
		poptFreeContext(*ctx);
		*ctx = NULL;
		return rc;
	}
	if (gm_common_opts.version) {
		printf("%s (gmdb) %s\n", gm_log_progname(), PACKAGE_VERSION);
		poptFreeContext(*ctx);
		*ctx = NULL;
		return 1;
	}
	if (gm_common_opts.quiet && gm_common_opts.verbose) {
		poptFreeContext(*ctx);
		*ctx = NULL;
		return gm_cli_usage_error("--quiet and --verbose exclude each other");
	}
	gm_log_set_verbosity(gm_common_opts.quiet ? -1 : gm_common_opts.verbose);
	return GM_OK;
}

int gm_cli_finish(int rc, struct gm_error *err)
{
	/* a backend ends a moment after its client closes the session (on a
	 * busy server not at once): whatever comes next, the admin's next
	 * step or a script's, finds none of the run's left. The temporary
	 * owner access is taken back first (else at exit): its sessions
	 * count too */
	gm_owner_release();
	gm_conn_wait_closed();
	gm_journal_warn_unfinished();
	if (rc < 0 && err && err->message)
		gm_log_report(err);
	else if (rc < 0 && rc != GM_EUSAGE)
		fprintf(stderr, "%s: error: the operation failed\n", gm_log_progname());
	if (rc < 0 && gm_log_file_path())
		fprintf(stderr, "The log is in \"%s\".\n", gm_log_file_path());
	gm_error_release(err);
	gm_log_close();
	return gm_exit_status(rc);
}

int gm_parse_uint(const char *text, int max, int *out)
{
	char *end;
	long v;

	if (!text || !*text || *text == '-' || *text == '+')
		return GM_EUSAGE;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return GM_EUSAGE;
	*out = (int)v;
	return GM_OK;
}

int gm_parse_version(const char *text, int *out)
{
	return gm_parse_uint(text && text[0] == 'v' ? text + 1 : text, 9999, out);
}

void gm_cli_upstream_password(const char *password)
{
	static char gm_dbo[] = "gm-dbo";

	gm_log(GM_LOG_WARNING, "a password on the command line can be seen by other users of this machine");
	fprintf(stderr, "hint: Use ~/.pgpass or PGPASSFILE instead.\n");
	gm_conn_opts.password = gm_xstrdup(password);
	if (!gm_conn_opts.user)
		gm_conn_opts.user = gm_dbo;
}

bool gm_cli_interactive(void)
{
	return isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}
