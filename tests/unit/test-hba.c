/* Unit tests: gm-hba-lock's pure parts, the pg_hba.conf rewriting and SHA-256 */
#include "gmdb-int.h"
#include "tap.h"

#include <stdbool.h>
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

/* Is every line of s (n bytes) a comment the server reads as nothing but a
 * comment: starting with "#", no control character, not ending in a
 * backslash (the server's continuation), at most GM_HBA_COMMENT_MAX wide,
 * ended by a newline? */
static bool safe_comments(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n') {
			if (s[start] != '#' || i - start > GM_HBA_COMMENT_MAX || (i > start && s[i - 1] == '\\'))
				return false;
			start = i + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return false;
		}
	}
	return start == n;
}

static void comments(const char *text, const char *want, size_t lines, const char *what)
{
	struct gm_buf out = GM_BUF_INIT;
	size_t got = gm_hba_comment(&out, text);
	is_str(gm_buf_str(&out), want, "comment: %s", what);
	is_int(got, lines, "comment: %s: %zu line(s)", what, lines);
	ok(safe_comments(gm_buf_str(&out), out.len), "comment: %s: comments only", what);
	gm_buf_release(&out);
}

/*
 * Lock a small file with header on top, then read the result back with
 * the module's own record recognition (gm_hba_rewrite over it again):
 * exactly the two reject rules and the one local rule are records, the
 * reject rules each on a line of its own.
 */
static const char *const small_file = "# the original\nlocal all all peer\nhost all all 0.0.0.0/0 md5\n";

static bool header_is_harmless(const char *header, size_t header_lines, const char *what, bool quiet)
{
	struct gm_buf once = GM_BUF_INIT, twice = GM_BUF_INIT;
	struct gm_hba_rewrite_info i1, i2;
	bool good = true;
	const char *p;
	size_t n = 0;

	gm_error_release(&err);
	good &= gm_hba_rewrite(small_file, strlen(small_file), "f", header, &once, &i1, &err) == GM_OK;
	good &= i1.disabled == 1 && i1.kept == 1;
	good &= i1.header_lines == 3 + header_lines + 2;
	/* the added lines: comments only, then the two rules */
	p = gm_buf_str(&once);
	for (size_t l = 0; l < 3 + header_lines && p; l++, p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n = (size_t)(strchr(p, '\n') - gm_buf_str(&once)) + 1;
	good &= p && safe_comments(gm_buf_str(&once), n);
	good &= p && strncmp(p, "host    all           all    all    reject\n"
			       "host    replication   all    all    reject\n# the original\n", 96) == 0;
	good &= gm_hba_rewrite(gm_buf_str(&once), once.len, "f", NULL, &twice, &i2, &err) == GM_OK;
	good &= i2.disabled == 2 && i2.kept == 1;
	good &= strstr(gm_buf_str(&twice), "\n" M "host    all           all    all    reject\n"
					   M "host    replication   all    all    reject\n") != NULL;
	if (!quiet || !good) {
		ok(good, "header %s: the locked file has exactly the two reject rules and the local rule", what);
		if (!good)
			printf("#   disabled %zu kept %zu header_lines %zu; read again: disabled %zu kept %zu\n%s",
			       i1.disabled, i1.kept, i1.header_lines, i2.disabled, i2.kept, gm_buf_str(&once));
	}
	gm_buf_release(&once);
	gm_buf_release(&twice);
	return good;
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

	/* comment lines gmdb writes: never anything but a comment */
	comments(NULL, "", 0, "NULL");
	comments("", "", 0, "empty");
	comments("a header", "# a header\n", 1, "a plain line gets \"# \"");
	comments("# Locked by x", "# Locked by x\n", 1, "a line starting with # stays");
	comments("a\nb\n", "# a\n# b\n", 2, "two lines, the final newline ends the second");
	comments("\n", "#\n", 1, "an empty line");
	comments("a\n\nb", "# a\n#\n# b\n", 3, "an empty line between");
	comments("a\nhost all all 0.0.0.0/0 trust", "# a\n# host all all 0.0.0.0/0 trust\n", 2,
		 "an embedded newline cannot start a rule");
	comments("gm-hba-lock lock -d x\\", "# gm-hba-lock lock -d x\\x5c\n", 1, "a trailing backslash");
	comments("x\\\\", "# x\\\\x5c\n", 1, "two trailing backslashes: the last one escaped");
	comments("x\\ \t ", "# x\\x5c\n", 1, "a backslash before trailing blanks");
	comments("\\", "# \\x5c\n", 1, "a lone backslash");
	comments("#\\", "#\\x5c\n", 1, "# and a backslash");
	comments("a\\b c:\\d", "# a\\b c:\\d\n", 1, "backslashes inside a line stay");
	comments("a\\\nb\\\n", "# a\\x5c\n# b\\x5c\n", 2, "a backslash at the end of every line");
	comments("x\\\r", "# x\\\\x0d\n", 1, "a backslash before CR");
	comments("a\rb", "# a\\x0db\n", 1, "a CR inside");
	comments("a\r\nb\r\n", "# a\\x0d\n# b\\x0d\n", 2, "CRLF line ends");
	comments("\t tabbed\tline", "# \\x09 tabbed\\x09line\n", 1, "tabs");
	comments("\x1b[31mred\x1b[0m \a\b\v\f \x7f", "# \\x1b[31mred\\x1b[0m \\x07\\x08\\x0b\\x0c \\x7f\n", 1,
		 "escape sequences, bell, backspace, VT, FF, DEL");
	comments("gr\xc3\xbc\xc3\x9f" "e", "# gr\xc3\xbc\xc3\x9f" "e\n", 1, "UTF-8 stays");
	{
		char in[400], want[400];
		memset(in, 'x', 300);
		in[300] = '\0';
		memset(want, 0, sizeof(want));
		strcpy(want, "# ");
		memset(want + 2, 'x', GM_HBA_COMMENT_MAX - 5);
		strcat(want, "...\n");
		comments(in, want, 1, "a long line is cut with ...");
		memset(in, 'x', GM_HBA_COMMENT_MAX - 2);
		strcpy(in + GM_HBA_COMMENT_MAX - 2, "\\");
		memset(want, 0, sizeof(want));
		strcpy(want, "# ");
		memset(want + 2, 'x', GM_HBA_COMMENT_MAX - 5);
		strcat(want, "...\n");
		comments(in, want, 1, "a line one byte too wide, ending in a backslash");
		memset(in, 'x', GM_HBA_COMMENT_MAX - 2);
		in[GM_HBA_COMMENT_MAX - 2] = '\0';
		memset(want, 0, sizeof(want));
		strcpy(want, "# ");
		strcat(want, in);
		strcat(want, "\n");
		comments(in, want, 1, "a line exactly as wide as allowed stays whole");
		memset(in, 'x', GM_HBA_COMMENT_MAX - 6);
		strcpy(in + GM_HBA_COMMENT_MAX - 6, "\xc3\xa9yyy");
		memset(want, 0, sizeof(want));
		strcpy(want, "# ");
		memset(want + 2, 'x', GM_HBA_COMMENT_MAX - 6);
		strcat(want, "...\n");
		comments(in, want, 1, "a cut never splits a UTF-8 sequence");
		for (int i = 0; i < 100; i++)
			in[i] = '\x01';
		in[100] = '\0';
		memset(want, 0, sizeof(want));
		strcpy(want, "# ");
		for (int i = 0; i < (GM_HBA_COMMENT_MAX - 5) / 4; i++)
			strcat(want, "\\x01");
		strcat(want, "...\n");
		comments(in, want, 1, "a cut never splits an escape");
	}

	/* hostile headers: the locked file still has exactly its records */
	header_is_harmless("# Locked by run 1 of root: gm-hba-lock lock -d x\\\n", 1, "ending in a backslash", false);
	header_is_harmless("# Locked by run 1 of root: gm-hba-lock lock -d x\\", 1,
			   "ending in a backslash, no newline", false);
	header_is_harmless("# run of x\\  \t", 1, "a backslash before trailing blanks", false);
	header_is_harmless("# run of x\\\r", 1, "a backslash before CR", false);
	header_is_harmless("# a\\\n# b\\\n# c\\\n", 3, "three lines each ending in a backslash", false);
	header_is_harmless("# root (sudo from x\nlocal all all trust #): gm-hba-lock lock", 2,
			   "an embedded newline and a rule", false);
	header_is_harmless("# x\rhost all all all trust", 1, "a CR and a rule", false);
	header_is_harmless("# x\r\nhost all all all trust\r\n", 2, "CRLF and a rule", false);
	header_is_harmless("\t# tab\x01\x02\x1f\x7f", 1, "control bytes", false);
	header_is_harmless("host all all all trust", 1, "a header that is a rule", false);
	header_is_harmless("include /etc/passwd", 1, "a header that is an include", false);
	header_is_harmless("\n\n", 2, "empty lines", false);
	{
		char big[3000];
		memset(big, 'a', sizeof(big) - 2);
		big[sizeof(big) - 2] = '\\';
		big[sizeof(big) - 1] = '\0';
		header_is_harmless(big, 1, "3000 bytes ending in a backslash", false);
	}
	{
		/* random headers, weighted towards what the server treats specially */
		static const char special[] = "\\\\\\\n\r\t #\"hl,";
		unsigned long long x = 20261201;
		int bad = 0, runs = 3000;
		for (int r = 0; r < runs; r++) {
			char h[700];
			size_t n, lines = 0, start = 0;
			struct gm_buf c = GM_BUF_INIT;
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			n = (size_t)(x >> 33) % (sizeof(h) - 1);
			for (size_t i = 0; i < n; i++) {
				x = x * 6364136223846793005ULL + 1442695040888963407ULL;
				unsigned v = (unsigned)(x >> 33);
				h[i] = v % 3 == 0 ? special[(v >> 8) % (sizeof(special) - 1)] : (char)(1 + (v >> 8) % 255);
			}
			h[n] = '\0';
			for (size_t i = 0; i < n; i++)
				if (h[i] == '\n') {
					lines++;
					start = i + 1;
				}
			lines += start < n;
			if (gm_hba_comment(&c, h) != lines || !safe_comments(gm_buf_str(&c), c.len) ||
			    !header_is_harmless(h, lines, "(random)", true))
				bad++;
			gm_buf_release(&c);
		}
		is_int(bad, 0, "%d random headers (control bytes, backslashes, newlines): comments only, the records intact",
		       runs);
	}

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
