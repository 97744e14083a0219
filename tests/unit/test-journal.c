/* Unit tests: the downtime procedure's journal (lib/journal.c): its format,
 * and every way a journal can be damaged, forged or planted */
#include "gmdb-int.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;
static struct gm_error err = GM_ERROR_INIT;

static char *at(const char *name)
{
	return gm_xasprintf("%s/%s", tmpdir, name);
}

static void put_bytes(const char *name, const char *data, size_t len)
{
	char *p = at(name);
	FILE *f;
	unlink(p);
	f = fopen(p, "w");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
	free(p);
}

static char *get(const char *name)
{
	char *p = at(name), *text = NULL;
	gm_read_file(p, &text, NULL, NULL);
	free(p);
	return text;
}

static bool says(const char *what)
{
	return err.message && strstr(err.message, what);
}

/* Parse text; GM_OK or the error in err. */
static int parse(const char *text, size_t len, struct gm_strv *k, struct gm_strv *v)
{
	gm_error_release(&err);
	return gm_journal_parse(text, len, "/x/procedure.state", k, v, &err);
}

static int read_file_journal(void)
{
	struct gm_journal j;
	int rc;
	gm_journal_init(&j, tmpdir);
	gm_error_release(&err);
	rc = gm_journal_read(&j, &err);
	gm_journal_release(&j);
	return rc;
}

/* The text with a fresh checksum, as a forger (or a bug) would make it. */
static char *with_sum(const char *body)
{
	char sum[65];
	gm_sha256_hex(body, strlen(body), sum);
	return gm_xasprintf("%ssha256=%s\n", body, sum);
}

static void refused(const char *text, size_t len, const char *what, const char *name)
{
	struct gm_strv k = GM_STRV_INIT, v = GM_STRV_INIT;
	int rc = parse(text, len, &k, &v);
	is_int(rc, GM_ECHECK, "%s: refused", name);
	ok(says(what), "%s: says \"%s\": %s", name, what, err.message ? err.message : "(none)");
	ok(says("/x/procedure.state"), "%s: names the journal", name);
	ok(err.hint && strstr(err.hint, "by hand") && strstr(err.hint, "CONNECTION LIMIT") &&
	   strstr(err.hint, "gm-hba-lock") && strstr(err.hint, "snapshot") && strstr(err.hint, "banner"),
	   "%s: the hint says what to check by hand", name);
	is_int(k.n, 0, "%s: no records come back", name);
	gm_strv_release(&k);
	gm_strv_release(&v);
}

int main(void)
{
	static const char *const odd[][2] = {
		{ "plain", "gnumed_v22" },
		{ "newline", "two\nlines\n" },
		{ "equals", "a=b==c=" },
		{ "backslash", "C:\\new\\\\ \\n \\x41" },
		{ "empty", "" },
		{ "control", "tab\there\rcr\x01\x1f\x7f end" },
		{ "utf8", "Gr\xc3\xbc\xc3\x9f Gott \xe2\x82\xac" },
		{ "hashstart", "# not a comment" },
		{ "intent", "notice" },
		{ "intent", "connlimit" },
	};
	size_t n_odd = sizeof(odd) / sizeof(odd[0]);
	char tmpl[] = "/tmp/gmdb-test-journal.XXXXXX";
	struct gm_journal j;
	struct gm_buf b = GM_BUF_INIT;
	struct gm_strv k = GM_STRV_INIT, v = GM_STRV_INIT;
	char *s, *full;
	size_t full_len;
	int rc;

	printf("TAP version 13\n");
	tmpdir = mkdtemp(tmpl);
	if (!tmpdir) {
		printf("Bail out! no temporary directory\n");
		return 1;
	}

	/* the format in memory */
	for (size_t i = 0; i < n_odd; i++) {
		gm_strv_push(&k, odd[i][0]);
		gm_strv_push(&v, odd[i][1]);
	}
	gm_journal_format(&k, &v, &b);
	ok(strncmp(b.data, "gmdb-journal 2\n", 15) == 0, "the first line is the format and its version (2)");
	ok(b.len > 72 && strncmp(b.data + b.len - 72, "sha256=", 7) == 0 && b.data[b.len - 1] == '\n',
	   "the last line is the checksum");
	ok(memchr(b.data, '\t', b.len) == NULL && memchr(b.data, '\r', b.len) == NULL, "control characters are escaped");
	full = gm_buf_detach(&b);
	full_len = strlen(full);
	gm_strv_release(&k);
	gm_strv_release(&v);
	rc = parse(full, full_len, &k, &v);
	is_int(rc, GM_OK, "it reads back");
	is_int(k.n, n_odd, "every record");
	for (size_t i = 0; i < n_odd && i < k.n; i++) {
		is_str(k.v[i], odd[i][0], "key %zu", i);
		is_str(v.v[i], odd[i][1], "value %zu (%s) round trip", i, odd[i][0]);
	}
	gm_strv_release(&k);
	gm_strv_release(&v);

	/* every damage */
	refused("", 0, "it is empty", "empty");
	{
		bool all = true;
		size_t first_bad = 0;
		for (size_t n = 1; n < full_len; n++) {
			struct gm_strv k2 = GM_STRV_INIT, v2 = GM_STRV_INIT;
			if (parse(full, n, &k2, &v2) != GM_ECHECK || k2.n) {
				all = false;
				first_bad = n;
			}
			gm_strv_release(&k2);
			gm_strv_release(&v2);
			if (!all)
				break;
		}
		ok(all, "every truncation (1 .. %zu bytes of %zu) is refused%s", full_len - 1, full_len,
		   all ? "" : gm_xasprintf(" (not at %zu)", first_bad));
	}
	refused(full, full_len - 1, "truncated", "the last newline missing");
	refused(full, 40, "truncated", "cut in the middle");
	refused(full, 15, "truncated", "only the version line");
	{
		char *t = gm_xstrdup(full);
		char *p = strstr(t, "gnumed_v22");
		p[9] = '3';
		refused(t, full_len, "checksum does not match", "one byte changed");
		free(t);
		t = gm_xstrdup(full);
		t[full_len - 3] = t[full_len - 3] == '0' ? '1' : '0';
		refused(t, full_len, "checksum does not match", "the checksum changed");
		free(t);
		t = gm_xasprintf("%sintent=commit\n", full);
		refused(t, strlen(t), "something follows its checksum line", "a record appended");
		free(t);
		t = gm_xasprintf("%sjunk", full);
		refused(t, strlen(t), "something follows its checksum line", "junk bytes appended");
		free(t);
		t = gm_xstrdup(full);
		t[20] = '\0';
		refused(t, full_len, "NUL", "a NUL byte");
		free(t);
	}
	{
		unsigned char rnd[512];
		unsigned seed = 13;
		for (size_t i = 0; i < sizeof(rnd); i++) {
			seed = seed * 1103515245u + 12345u;
			rnd[i] = (unsigned char)(seed >> 16);
		}
		rnd[0] = 0x9c;  /* not text */
		refused((const char *)rnd, sizeof(rnd), "does not start with", "random bytes");
		memcpy(rnd, "gmdb-journal 1\n", 15);
		for (size_t i = 15; i < sizeof(rnd); i++)
			if (!rnd[i])
				rnd[i] = 'x';
		rnd[sizeof(rnd) - 1] = '\n';
		refused((const char *)rnd, sizeof(rnd), "not its checksum", "random bytes after a version line");
	}
	refused("gmdb-journal 3\nprocedure=upgrade\nsha256=0\n", 42, "written by a newer gmdb", "a newer format");
	{
		/* format 1 (before the server records) is still read */
		struct gm_strv k1 = GM_STRV_INIT, v1 = GM_STRV_INIT;
		s = with_sum("gmdb-journal 1\nprocedure=upgrade\nsource=gnumed_v21\n");
		is_int(parse(s, strlen(s), &k1, &v1), GM_OK, "a journal of format 1 is read");
		is_int(k1.n, 2, "with its records");
		free(s);
		gm_strv_release(&k1);
		gm_strv_release(&v1);
	}
	refused("gmdb-journal x\n", 15, "format version gmdb does not know", "a version that is no number");
	refused("gmdb-journal 0\n", 15, "an older gmdb", "an older format");
	s = with_sum("gmdb-journal 1\nprocedure=upgrade\nthis is no record\n");
	refused(s, strlen(s), "line 3 is not a record", "a line that is no record (checksum right)");
	free(s);
	s = with_sum("gmdb-journal 1\nProcedure=upgrade\n");
	refused(s, strlen(s), "line 2 is not a record", "a key gmdb never writes");
	free(s);
	s = with_sum("gmdb-journal 1\nsource=a\\qb\n");
	refused(s, strlen(s), "line 2 has a bad escape", "a bad escape (checksum right)");
	free(s);
	s = with_sum("gmdb-journal 1\nsource=a\\x00b\n");
	refused(s, strlen(s), "bad escape", "an escaped NUL");
	free(s);
	s = with_sum("gmdb-journal 1\nsource=ab\\\n");
	refused(s, strlen(s), "bad escape", "a backslash at the end");
	free(s);
	{
		/* what gmdb 0.x (before the format version) wrote */
		const char *old = "# gmdb: an unfinished downtime procedure; \"gm-upgrade_server --recover\" undoes it\n"
				  "procedure=upgrade\nfrom=21\nto=22\nsource=gnumed_v21\nintent=notice\n";
		refused(old, strlen(old), "written by an older gmdb", "a journal of an older gmdb");
		ok(err.detail && strstr(err.detail, "intent="), "it says how to read it by hand: %s",
		   err.detail ? err.detail : "(none)");
	}

	/* the file */
	gm_journal_init(&j, tmpdir);
	rc = gm_journal_read(&j, &err);
	is_int(rc, 0, "no journal: 0");
	rc = gm_journal_lock(&j, &err);
	is_int(rc, GM_OK, "the lock is taken");
	{
		struct gm_journal j2;
		gm_journal_init(&j2, tmpdir);
		gm_error_release(&err);
		rc = gm_journal_lock(&j2, &err);
		is_int(rc, GM_ELOCKED, "a second lock is refused while the first is held");
		gm_journal_release(&j2);
	}
	for (size_t i = 0; i < n_odd; i++) {
		rc = gm_journal_set(&j, odd[i][0], odd[i][1], &err);
		if (rc < 0)
			break;
	}
	is_int(rc, GM_OK, "records written");
	{
		struct gm_journal j2;
		gm_journal_init(&j2, tmpdir);
		rc = gm_journal_read(&j2, &err);
		is_int(rc, 1, "read back from the file");
		is_int(j2.keys.n, n_odd, "every record");
		is_str(gm_journal_get(&j2, "newline"), "two\nlines\n", "a value with newlines");
		is_str(gm_journal_get(&j2, "intent"), "connlimit", "a repeated key: the last value");
		ok(gm_journal_has(&j2, "intent", "notice") && gm_journal_has(&j2, "intent", "connlimit") &&
		   !gm_journal_has(&j2, "intent", "commit"), "every intent is there");
		gm_journal_release(&j2);
	}
	s = at("procedure.state");
	{
		struct stat st;
		ok(lstat(s, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644, "the journal's mode is 0644");
	}
	free(s);

	/* planted: the fixed temporary name of older versions, and the journal itself */
	put_bytes("canary", "secret\n", 7);
	s = at("canary");
	{
		char *p = at("procedure.state.new");
		if (symlink(s, p) < 0)
			perror("symlink");
		free(p);
	}
	rc = gm_journal_set(&j, "intent", "hba-lock", &err);
	is_int(rc, GM_OK, "a link at procedure.state.new does not matter");
	free(get("canary"));
	{
		char *c = get("canary");
		is_str(c, "secret\n", "its target is untouched");
		free(c);
	}
	{
		char *p = at("procedure.state");
		unlink(p);
		if (symlink(s, p) < 0)
			perror("symlink");
		rc = read_file_journal();
		is_int(rc, GM_ECHECK, "a link as the journal is refused");
		ok(says("it is a symbolic link") && says(p), "...naming it: %s", err.message);
		ok(err.hint && strstr(err.hint, "by hand"), "...saying what to check by hand");
		rc = gm_journal_set(&j, "intent", "upgrade", &err);
		is_int(rc, GM_OK, "writing replaces the link");
		{
			char *c = get("canary");
			is_str(c, "secret\n", "and leaves its target alone");
			free(c);
		}
		unlink(p);
		if (mkfifo(p, 0666) < 0)
			perror("mkfifo");
		rc = read_file_journal();
		is_int(rc, GM_ECHECK, "a FIFO as the journal is refused, without waiting");
		ok(says("it is a FIFO"), "%s", err.message);
		unlink(p);
		mkdir(p, 0755);
		rc = read_file_journal();
		is_int(rc, GM_ECHECK, "a directory as the journal is refused");
		ok(says("it is a directory"), "%s", err.message);
		gm_error_release(&err);
		rc = gm_journal_set(&j, "intent", "upgrade", &err);
		is_int(rc, GM_ECHECK, "and not written over");
		ok(says("it is a directory") && says(p), "%s", err.message ? err.message : "(none)");
		rmdir(p);
		if (getuid() == 0) {
			put_bytes("procedure.state", full, full_len);
			if (chown(p, 65534, 65534) < 0)
				perror("chown");
			rc = read_file_journal();
			is_int(rc, GM_ECHECK, "a journal of another user is refused");
			ok(says("it belongs to"), "%s", err.message);
		} else {
			ok(1, "# SKIP owners need root");
			ok(1, "# SKIP owners need root");
		}
		put_bytes("procedure.state", full, full_len);
		{
			char *h = at("hard");
			if (link(p, h) < 0)
				perror("link");
			rc = read_file_journal();
			is_int(rc, GM_ECHECK, "a journal with another hard link is refused");
			unlink(h);
			free(h);
		}
		put_bytes("procedure.state", "", 0);
		rc = read_file_journal();
		is_int(rc, GM_ECHECK, "an empty journal file is refused");
		ok(says("it is empty") && says(p), "%s", err.message);
		put_bytes("procedure.state", full, full_len);
		rc = read_file_journal();
		is_int(rc, 1, "an intact journal file is read");
		rc = gm_journal_remove(&j, &err);
		is_int(rc, GM_OK, "removed");
		ok(access(p, F_OK) != 0, "it is gone");
		free(p);
	}
	free(s);
	gm_journal_release(&j);

	free(full);
	gm_error_release(&err);
	{
		char *cmd = gm_xasprintf("rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
		free(cmd);
	}
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
