/* Unit tests: gm-hba-lock's pure parts, the pg_hba.conf rewriting and SHA-256 */
#include "gmdb-int.h"
#include "tap.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define M GM_HBA_MARK

static struct gm_hba_rewrite_info info;
static struct gm_error err = GM_ERROR_INIT;
static int rc;

/* The rewritten text without the lines gm_hba_rewrite() adds on top. */
static char *body(const char *text)
{
	struct gm_buf out = GM_BUF_INIT;
	const char *p;
	char *r;

	gm_error_release(&err);
	rc = gm_hba_rewrite(text, strlen(text), "/etc/pg_hba.conf", "# a header\n", &out, &info, &err);
	if (rc < 0) {
		ok(out.len == 0, "nothing is written on error");
		gm_buf_release(&out);
		return NULL;
	}
	p = gm_buf_str(&out);
	for (size_t i = 0; i < info.header_lines && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	r = gm_xstrdup(p ? p : "(fewer lines than header_lines)");
	gm_buf_release(&out);
	return r;
}

static void rewrites(const char *in, const char *want, size_t disabled, size_t kept, const char *what)
{
	char *got = body(in);
	is_str(got, want, "%s", what);
	is_int(info.disabled, disabled, "%s: %zu network record(s) disabled", what, disabled);
	is_int(info.kept, kept, "%s: %zu other record(s) kept", what, kept);
	free(got);
}

static void refuses(const char *in, const char *line, const char *what)
{
	char *got = body(in);
	ok(got == NULL && rc == GM_ECHECK, "%s: refused with GM_ECHECK", what);
	ok(err.message && strstr(err.message, "\"/etc/pg_hba.conf\"") && strstr(err.message, line),
	   "%s: the message names the file and %s (%s)", what, line, err.message ? err.message : "no message");
	ok(err.hint != NULL, "%s: with a hint", what);
	free(got);
}

static void sha(const char *data, size_t len, const char *want, const char *what)
{
	char hex[65];
	gm_sha256_hex(data, len, hex);
	is_str(hex, want, "SHA-256 of %s", what);
}

int main(void)
{
	/* the head of the result */
	{
		struct gm_buf out = GM_BUF_INIT;
		const char *in = "local all all peer\n";
		rc = gm_hba_rewrite(in, strlen(in), "f", "# Locked by test\n# second line", &out, &info, &err);
		is_int(rc, GM_OK, "a plain file is rewritten");
		ok(strncmp(gm_buf_str(&out), "# Remote access is locked by gm-hba-lock", 40) == 0,
		   "the result starts with the explanation");
		ok(strstr(gm_buf_str(&out), "\n# Locked by test\n# second line\n") != NULL,
		   "the header follows, a missing final newline added");
		ok(strstr(gm_buf_str(&out), "\nhost    all           all    all    reject\n"
					    "host    replication   all    all    reject\n"
					    "local all all peer\n") != NULL,
		   "the two reject rules come before the first original line");
		is_int(info.header_lines, 7, "header_lines counts the added lines (3 + 2 header + 2 rules)");
		gm_buf_release(&out);
	}
	{
		struct gm_buf out = GM_BUF_INIT;
		gm_buf_adds(&out, "kept:");
		rc = gm_hba_rewrite("", 0, "f", NULL, &out, &info, &err);
		is_int(rc, GM_OK, "an empty file is rewritten");
		ok(strncmp(gm_buf_str(&out), "kept:# Remote access", 20) == 0, "the result is appended to out");
		is_int(info.header_lines, 5, "without a header: 3 lines of explanation and the 2 rules");
		ok(out.len > 5 && out.data[out.len - 1] == '\n', "and it ends with a newline");
		gm_buf_release(&out);
	}

	/* comments and blank lines */
	rewrites("# TYPE DATABASE USER ADDRESS METHOD\n\n   \n\t# host all all all trust\n#host all all all trust\n",
		 "# TYPE DATABASE USER ADDRESS METHOD\n\n   \n\t# host all all all trust\n#host all all all trust\n",
		 0, 0, "comments and blank lines stay");

	/* local lines are never touched */
	rewrites("local   all   postgres   peer\nlocal samerole +gm-logins md5\n  local all all trust # socket\n",
		 "local   all   postgres   peer\nlocal samerole +gm-logins md5\n  local all all trust # socket\n",
		 0, 3, "local lines stay byte for byte");

	/* every network kind */
	rewrites("host all all 0.0.0.0/0 md5\n", M "host all all 0.0.0.0/0 md5\n", 1, 0, "host");
	rewrites("hostssl all all ::/0 scram-sha-256\n", M "hostssl all all ::/0 scram-sha-256\n", 1, 0, "hostssl");
	rewrites("hostnossl all all 10.0.0.0/8 md5\n", M "hostnossl all all 10.0.0.0/8 md5\n", 1, 0, "hostnossl");
	rewrites("hostgssenc all all all gss\n", M "hostgssenc all all all gss\n", 1, 0, "hostgssenc");
	rewrites("hostnogssenc all all all md5\n", M "hostnogssenc all all all md5\n", 1, 0, "hostnogssenc");
	rewrites("host replication all 192.168.1.0/24 md5\n", M "host replication all 192.168.1.0/24 md5\n", 1, 0,
		 "host replication");
	rewrites("\t  host\tall\tall\t::1/128\ttrust\n", M "\t  host\tall\tall\t::1/128\ttrust\n", 1, 0,
		 "indented, tab-separated");
	rewrites("\"host\" all all all md5\n", M "\"host\" all all all md5\n", 1, 0, "a quoted record type");
	rewrites("host all all all md5 # from anywhere\n", M "host all all all md5 # from anywhere\n", 1, 0,
		 "a trailing comment");
	rewrites("host samerole +gm-logins 192.168.0.0/16 md5\n", M "host samerole +gm-logins 192.168.0.0/16 md5\n",
		 1, 0, "upstream's remote GNUmed line");

	/* mixed: only the network records change, order kept */
	rewrites("# header\nlocal all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n"
		 "local all all peer\nhostssl all all ::/0 md5\n# end\n",
		 "# header\nlocal all postgres peer\n" M "host all all 127.0.0.1/32 scram-sha-256\n"
		 "local all all peer\n" M "hostssl all all ::/0 md5\n# end\n",
		 2, 2, "a mixed file");

	/* not network kinds: kept for the server to judge */
	rewrites("hostess all all all md5\n", "hostess all all all md5\n", 0, 1, "\"hostess\" is not host");
	rewrites("HOST all all all md5\n", "HOST all all all md5\n", 0, 1, "record types are case-sensitive");
	rewrites("hosts,local all all md5\n", "hosts,local all all md5\n", 0, 1, "a token ends at a comma");

	/* continuation lines */
	rewrites("host all all \\\n   10.0.0.0/8 md5\nlocal all all peer\n",
		 M "host all all \\\n" M "   10.0.0.0/8 md5\nlocal all all peer\n", 1, 1,
		 "a continued host record: every physical line commented out");
	rewrites("host \\\n all \\\n all \\\n all md5\n",
		 M "host \\\n" M " all \\\n" M " all \\\n" M " all md5\n", 1, 0, "a record over four lines");
	rewrites("local all \\\nhost trust\n", "local all \\\nhost trust\n", 0, 1,
		 "a continued local record whose second line starts with host stays");
	rewrites("# a note \\\nhost all all all trust\nlocal all all peer\n",
		 "# a note \\\nhost all all all trust\nlocal all all peer\n", 0, 1,
		 "a comment ending in a backslash swallows the next line, as the server reads it");
	rewrites("\\\nhost all all all md5\n", M "\\\n" M "host all all all md5\n", 1, 0,
		 "a lone backslash line continues into a host record");
	rewrites("host all all all md5 \\", M "host all all all md5 \\", 1, 0,
		 "a backslash on the last line continues nothing");
	rewrites("host all all all md5 \\ \nlocal all all peer\n", M "host all all all md5 \\ \nlocal all all peer\n",
		 1, 1, "a backslash followed by a blank is no continuation");

	/* line ends */
	rewrites("host all all all md5\r\nlocal all all peer\r\n", M "host all all all md5\r\nlocal all all peer\r\n",
		 1, 1, "CRLF line ends are kept");
	rewrites("host all all \\\r\n all md5\r\n", M "host all all \\\r\n" M " all md5\r\n", 1, 0,
		 "a continuation before CRLF");
	rewrites("local all all peer\nhost all all all md5", "local all all peer\n" M "host all all all md5", 1, 1,
		 "no newline at the end: none added");

	/* @file inclusions: the record goes as a whole, whatever the file lists */
	rewrites("host @databases.txt @/etc/users all md5\nlocal @databases.txt all peer\n",
		 M "host @databases.txt @/etc/users all md5\nlocal @databases.txt all peer\n", 1, 1,
		 "@file fields: host record disabled, local record kept");

	/* include directives: refused, naming file and line */
	refuses("local all all peer\ninclude other.conf\n", "line 2", "include");
	refuses("# c\n\n   include_if_exists /etc/hba.d/x.conf\n", "line 3", "include_if_exists");
	refuses("include_dir hba.d\n", "line 1", "include_dir");
	refuses("\"include\" other.conf\n", "line 1", "a quoted include");
	refuses("host all \\\n all all md5\ninclude x\n", "line 3", "an include after a continued record");
	refuses("local all all peer\ninclude x\n", "include", "include named in the message");
	rewrites("local include all peer\n# include x\n", "local include all peer\n# include x\n", 0, 1,
		 "include as a database name or in a comment is no directive");

	/* SHA-256 (FIPS 180-4 examples and the block boundaries) */
	sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "\"\"");
	sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "\"abc\"");
	sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "the 56-byte example");
	{
		const char *s = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
		sha(s, strlen(s), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1", "the 112-byte example");
		char *a = gm_xmalloc(1000000);
		memset(a, 'a', 1000000);
		sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million \"a\"");
		sha(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318", "55 \"a\"");
		sha(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb", "64 \"a\"");
		free(a);
	}
	/* gm_hba_is_locked() reads the state directory only (root or postgres) */
	if (geteuid() == 0) {
		char dir[] = "/tmp/gmdb-test-hba.XXXXXX";
		struct gm_hba_opts o = { .state_dir = dir };
		char *sub, *state, *cmd;
		FILE *f;

		ok(mkdtemp(dir) != NULL, "a temporary state directory");
		sub = gm_xasprintf("%s/hba-lock", dir);
		state = gm_xasprintf("%s/state", sub);
		is_int(gm_hba_is_locked(&o, &err), 0, "no hba-lock directory: not locked");
		ok(mkdir(sub, 0700) == 0, "an empty hba-lock directory");
		is_int(gm_hba_is_locked(&o, &err), 0, "no state file: not locked");
		f = fopen(state, "w");
		fputs("path=/etc/postgresql/15/main/pg_hba.conf\nlocked_at=2026-11-24 21:00:00 UTC\n"
		      "original_sha256=aa\nlocked_sha256=bb\n", f);
		fclose(f);
		is_int(gm_hba_is_locked(&o, &err), 1, "a state file: locked");
		f = fopen(state, "w");
		fputs("path=/etc/postgresql/15/main/pg_hba.conf\n", f);
		fclose(f);
		is_int(gm_hba_is_locked(&o, &err), GM_EFAIL, "an incomplete state file: an error");
		ok(err.message && strstr(err.message, "is incomplete"), "which says so");
		cmd = gm_xasprintf("rm -rf '%s'", dir);
		ok(system(cmd) == 0, "the temporary state directory removed");
		free(cmd);
		free(sub);
		free(state);
	} else {
		for (int i = 0; i < 8; i++)
			printf("ok %d # SKIP not root (CI runs as root)\n", ++tap_n);
	}
	gm_error_release(&err);
	return tap_done();
}
