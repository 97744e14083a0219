/*
 * gm-fingerprint_db - is this database the version it claims?
 */
#include "gmdb.h"

#include <stdlib.h>

int main(int argc, const char **argv)
{
	struct gm_fingerprint_opts opts = { .expect_version = -1 };
	struct gm_error err = GM_ERROR_INIT;
	int with_dump = 0, tables = 0, verify = 0, json = 0;
	char *output = NULL, *expect = NULL;
	const char *password;
	poptContext ctx;
	int rc;

	struct poptOption options[] = {
		{ "output", 'o', POPT_ARG_STRING, &output, 0,
		  "also write the fingerprint to FILE", "FILE" },
		{ "with-dump", '\0', POPT_ARG_NONE, &with_dump, 0,
		  "append the structure text the schema hash is computed from", NULL },
		{ "tables", 't', POPT_ARG_NONE, &tables, 0,
		  "add the row count of every table in the hashed schemas", NULL },
		{ "verify-hash", '\0', POPT_ARG_NONE, &verify, 0,
		  "recompute the v19-and-up hash from the catalogs and compare", NULL },
		{ "expect-version", 'e', POPT_ARG_STRING, &expect, 0,
		  "exit 3 unless the schema hash is the known hash of version N", "N" },
		{ "json", 'j', POPT_ARG_NONE, &json, 0,
		  "print JSON (with every table's row count)", NULL },
		GM_POPT_CONNECTION,
		GM_POPT_COMMON,
		POPT_AUTOHELP
		POPT_TABLEEND
	};

	rc = gm_cli_parse(&ctx, "gm-fingerprint_db", argc, argv, options, "[OPTION...] DATABASE [PASSWORD]");
	if (rc != GM_OK)
		return gm_exit_status(rc);

	opts.database = poptGetArg(ctx);
	password = poptGetArg(ctx);
	if (!opts.database)
		rc = gm_cli_usage_error("no database name given");
	else if (poptPeekArg(ctx))
		rc = gm_cli_usage_error("too many arguments (first extra: \"%s\")", poptPeekArg(ctx));
	else if ((rc = gm_hashes_from_tree(gm_upstream_dir(NULL), &err)) < 0)
		; /* the tree contradicts gmdb's table */
	else if (expect && (gm_parse_uint(expect, 9999, &opts.expect_version) < 0 ||
			    !gm_hash_for_version(opts.expect_version)))
		rc = gm_cli_usage_error("no known schema hash for version \"%s\" (known: 2 to %d)", expect,
					gm_hash_latest_version());
	if (rc == GM_OK && password)
		gm_cli_upstream_password(password); /* upstream's DATABASE PASSWORD form */
	if (rc == GM_OK) {
		opts.with_dump = with_dump;
		opts.tables = tables;
		opts.verify_hash = verify;
		opts.json = json;
		opts.output = output;
		rc = gm_fingerprint_run(&opts, &err);
	}
	rc = gm_cli_finish(rc, &err);
	poptFreeContext(ctx);
	return rc;
}
