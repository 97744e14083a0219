/* Unit tests: the temporary peer grant's pure parts (lib/peer.c): the lines
 * it adds, finding and removing exactly them, role names, runs alive */
#include "gmdb-int.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAP "gmdb-4242-0123abcd"
#define STAMP "2026-12-01T16:00:00Z"
#define TAIL ": temporary owner access; removed when the run ends, or by \"gm-upgrade_server --recover\"\n"
#define HBA_BLOCK "# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=" MAP "\n"
#define IDENT_BLOCK "# gmdb-peer " MAP " pid 4242 started " STAMP TAIL MAP " postgres \"gm-dbo\"\n"

static struct gm_error err = GM_ERROR_INIT;

static char *block(enum gm_peer_file kind, const char *map, long long pid, const char *role)
{
	struct gm_buf b = GM_BUF_INIT;
	gm_peer_block_text(kind, map, pid, STAMP, "postgres", role, &b);
	return gm_buf_detach(&b);
}

static char *cat(const char *a, const char *b)
{
	return gm_xasprintf("%s%s", a, b);
}

/* text without map's blocks */
static char *without(enum gm_peer_file kind, const char *text, size_t len, const char *map, size_t *removed)
{
	struct gm_buf out = GM_BUF_INIT;
	*removed = gm_peer_remove(kind, text, len, map, NULL, NULL, &out);
	return gm_buf_detach(&out);
}

static void round_trip(enum gm_peer_file kind, const char *orig, size_t len, const char *what)
{
	char *b = block(kind, MAP, 4242, "gm-dbo");
	struct gm_buf with = GM_BUF_INIT, out = GM_BUF_INIT;
	size_t n;

	gm_buf_adds(&with, b);
	gm_buf_add(&with, orig, len);
	n = gm_peer_remove(kind, with.data, with.len, MAP, NULL, NULL, &out);
	is_int(n, 1, "%s: one block removed", what);
	ok(out.len == len && memcmp(gm_buf_str(&out), orig, len) == 0, "%s: every other byte as before", what);
	is_int(gm_peer_top(kind, with.data, with.len), strlen(b), "%s: the block is on top", what);
	gm_buf_release(&with);
	gm_buf_release(&out);
	free(b);
}

struct pids { long long dead[4]; size_t n; };

static bool dead_pid(const struct gm_peer_block *b, void *data)
{
	struct pids *p = data;
	for (size_t i = 0; i < p->n; i++)
		if (p->dead[i] == b->pid)
			return true;
	return false;
}

#define ORIG "local all all peer\r\n# no newline"

/* The file helpers both gm-hba-lock and the grant use (pgconf-file.c). */
static void file_helpers(void)
{
	char dir[] = "/tmp/gmdb-test-peer.XXXXXX", *path, *link, *data = NULL, *entries;
	struct stat st, st2;
	size_t len;
	int rc, fd = -1;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	path = gm_xasprintf("%s/pg_hba.conf", dir);
	link = gm_xasprintf("%s/link.conf", dir);
	{
		FILE *f = fopen(path, "w");
		fputs(ORIG, f);
		fclose(f);
	}
	chmod(path, 0640);
	rc = gm_pgconf_read(path, "test", true, &data, &len, &st, &err);
	ok(rc == GM_OK && len == sizeof(ORIG) - 1 && memcmp(data, ORIG, len) == 0,
	   "read: the exact bytes");
	is_int(gm_pgconf_unchanged(path, data, len, "test", &err), GM_OK, "unchanged: the same bytes");
	is_int(gm_pgconf_unchanged(path, data, len - 1, "test", &err), GM_ECHECK, "unchanged: another length is a change");
	ok(err.message && strstr(err.message, "changed while test was reading it"), "and says so");
	gm_error_release(&err);
	is_int(gm_pgconf_replace(path, "new\n", 4, &st, &err), GM_OK, "replace");
	stat(path, &st2);
	ok((st2.st_mode & 07777) == 0640 && st2.st_uid == st.st_uid && st2.st_gid == st.st_gid && st2.st_ino != st.st_ino,
	   "replace: a new file with the old one's owner, group and mode");
	is_int(gm_pgconf_unchanged(path, data, len, "test", &err), GM_ECHECK, "unchanged: other bytes are a change");
	gm_error_release(&err);
	is_int(gm_pgconf_put_back(path, data, len, &st, &err), GM_OK, "put back");
	free(data);
	data = NULL;
	rc = gm_pgconf_read(path, "test", true, &data, &len, &st2, &err);
	ok(rc == GM_OK && len == sizeof(ORIG) - 1 && memcmp(data, ORIG, len) == 0,
	   "put back: the exact bytes again");
	free(data);
	data = NULL;
	entries = gm_xasprintf("ls -A %s | grep -c gmdb >/dev/null", dir);
	ok(system(entries) != 0, "no temporary file is left behind");
	free(entries);
	if (symlink(path, link) == 0) {
		is_int(gm_pgconf_read(link, "test", false, &data, &len, &st2, &err), GM_ECHECK, "read: a symbolic link is refused");
		ok(err.message && strstr(err.message, "is a symbolic link"), "and says so");
		gm_error_release(&err);
	}
	is_int(gm_pgconf_lock_dir(path, &fd, &err), GM_OK, "the directory lock is taken");
	{
		int fd2 = open(dir, O_RDONLY | O_DIRECTORY);
		ok(fd2 >= 0 && flock(fd2, LOCK_EX | LOCK_NB) < 0, "and held against others");
		gm_pgconf_unlock_dir(fd);
		ok(fd2 >= 0 && flock(fd2, LOCK_EX | LOCK_NB) == 0, "and released");
		if (fd2 >= 0)
			close(fd2);
	}
	unlink(link);
	unlink(path);
	rmdir(dir);
	free(link);
	free(path);
}

/* the text's length without its NUL terminator (NUL bytes inside count) */
#define RT(kind, text, what) round_trip(kind, text, sizeof(text) - 1, what)

int main(void)
{
	char *b, *t, *r;
	size_t n;

	/* the lines */
	b = block(GM_PEER_HBA, MAP, 4242, "gm-dbo");
	is_str(b, HBA_BLOCK, "pg_hba.conf: a marker naming gmdb, map, pid, start and what removes it, then the rule");
	free(b);
	b = block(GM_PEER_IDENT, MAP, 4242, "gm-dbo");
	is_str(b, IDENT_BLOCK, "pg_ident.conf: the same marker, then map, OS user, quoted role");
	free(b);
	b = block(GM_PEER_HBA, MAP, 4242, "all");
	ok(strstr(b, "local all \"all\" peer map=") != NULL, "a role named all is quoted (not the keyword)");
	free(b);
	b = block(GM_PEER_HBA, MAP, 4242, "+staff, @x #y");
	ok(strstr(b, "local all \"+staff, @x #y\" peer map=") != NULL, "+, @, comma and # stay inside the quotes");
	free(b);

	/* role names */
	is_int(gm_peer_check_role("gm-dbo", &err), GM_OK, "gm-dbo is fine");
	is_int(gm_peer_check_role("Ärzte Team", &err), GM_OK, "non-ASCII and a space are fine (quoted)");
	is_int(gm_peer_check_role("a\"b", &err), GM_ECHECK, "a double quote is refused");
	ok(err.message && strstr(err.message, "cannot be written into pg_hba.conf safely"), "with a message");
	ok(err.hint && strstr(err.hint, ".pgpass"), "and a hint");
	gm_error_release(&err);
	is_int(gm_peer_check_role("a\nlocal all all trust", &err), GM_ECHECK, "a newline is refused");
	is_int(gm_peer_check_role("a\rb", &err), GM_ECHECK, "a carriage return is refused");
	is_int(gm_peer_check_role("a\tb", &err), GM_ECHECK, "a tab is refused");
	gm_error_release(&err);
	is_int(gm_peer_check_role("/.*", &err), GM_ECHECK, "a name starting with / (a pattern on PostgreSQL 16+) is refused");
	gm_error_release(&err);
	is_int(gm_peer_check_role("+gm-logins", &err), GM_ECHECK, "a name starting with + (a group) is refused");
	gm_error_release(&err);
	is_int(gm_peer_check_role("@file", &err), GM_ECHECK, "a name starting with @ (a file) is refused");
	gm_error_release(&err);
	is_int(gm_peer_check_role("a/b+c@d", &err), GM_OK, "/, + and @ inside a name are fine (quoted)");
	is_int(gm_peer_check_role("a\x7f", &err), GM_ECHECK, "DEL is refused");
	is_int(gm_peer_check_role("", &err), GM_ECHECK, "an empty name is refused");
	is_int(gm_peer_check_role(NULL, &err), GM_ECHECK, "no name is refused");
	is_int(gm_peer_check_role("0123456789012345678901234567890123456789012345678901234567890123", &err), GM_ECHECK,
	       "64 bytes are refused (PostgreSQL keeps 63)");
	is_int(gm_peer_check_role("012345678901234567890123456789012345678901234567890123456789012", &err), GM_OK,
	       "63 bytes are fine");
	gm_error_release(&err);

	/* adding and removing: every other byte stays */
	RT(GM_PEER_HBA, "local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n", "a plain file");
	RT(GM_PEER_HBA, "local all all peer\r\nhost all all ::1/128 md5\r\n", "CRLF");
	RT(GM_PEER_HBA, "local all all peer\n# no newline at the end", "no newline at the end");
	RT(GM_PEER_HBA, "", "an empty file");
	RT(GM_PEER_HBA, "host all all \\\n  10.0.0.0/8 md5\n", "a continued record");
	RT(GM_PEER_IDENT, "# MAPNAME SYSTEM-USERNAME PG-USERNAME\nmymap root postgres", "pg_ident.conf without a final newline");
	RT(GM_PEER_HBA, "a\0b\n", "a NUL byte");

	/* lines that merely look like ours stay */
	{
		static const char *const lookalikes[] = {
			/* no rule line after the marker */
			"# gmdb-peer " MAP " pid 4242 started " STAMP TAIL,
			/* CRLF (an editor's) */
			"# gmdb-peer " MAP " pid 4242 started " STAMP ": temporary owner access; removed when the run ends, or by \"gm-upgrade_server --recover\"\r\n"
			"local all \"gm-dbo\" peer map=" MAP "\r\n",
			/* another map in the rule */
			"# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=gmdb-4242-ffffffff\n",
			/* the rule changed */
			"# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all all trust\n",
			"# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"gm-dbo\" trust map=" MAP "\n",
			"# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=" MAP " \n",
			"# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=" MAP,
			/* the marker changed */
			"# gmdb-peer " MAP " pid 4242 started " STAMP ": temporary owner access\nlocal all \"gm-dbo\" peer map=" MAP "\n",
			"#gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=" MAP "\n",
			"# gmdb-peer " MAP " pid 04242 started " STAMP TAIL "local all \"gm-dbo\" peer map=" MAP "\n",
			"# gmdb-peer " MAP " pid 4242 started 2026-12-01 16:00:00Z" TAIL "local all \"gm-dbo\" peer map=" MAP "\n",
			"# gmdb-peer gmdb-x-0123abcd pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=gmdb-x-0123abcd\n",
			"# gmdb-peer mymap pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=mymap\n",
			/* a user's own line with our map */
			"local all \"gm-dbo\" peer map=" MAP "\n",
			/* something between marker and rule */
			"# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "\nlocal all \"gm-dbo\" peer map=" MAP "\n",
			" # gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"gm-dbo\" peer map=" MAP "\n",
			NULL
		};
		for (int i = 0; lookalikes[i]; i++) {
			const char *l = lookalikes[i];
			struct gm_peer_block *bl;
			size_t nb;
			r = without(GM_PEER_HBA, l, strlen(l), MAP, &n);
			ok(n == 0 && strcmp(r, l) == 0, "a look-alike stays (%d)", i + 1);
			free(r);
			gm_peer_scan(GM_PEER_HBA, l, strlen(l), &bl, &nb);
			is_int(nb, 0, "and is not found as a block (%d)", i + 1);
			gm_peer_blocks_free(bl, nb);
			is_int(gm_peer_top(GM_PEER_HBA, l, strlen(l)), 0, "and is not a block on top (%d)", i + 1);
		}
	}
	/* an ident block is not an hba block, and the reverse */
	r = without(GM_PEER_HBA, IDENT_BLOCK, strlen(IDENT_BLOCK), MAP, &n);
	ok(n == 0 && strcmp(r, IDENT_BLOCK) == 0, "pg_hba.conf: an ident block is not taken for one of its own");
	free(r);
	r = without(GM_PEER_IDENT, HBA_BLOCK, strlen(HBA_BLOCK), MAP, &n);
	ok(n == 0 && strcmp(r, HBA_BLOCK) == 0, "pg_ident.conf: an hba block is not taken for one of its own");
	free(r);
	/* a role with a quote inside a look-alike rule line is not ours */
	{
		const char *l = "# gmdb-peer " MAP " pid 4242 started " STAMP TAIL "local all \"a\"b\" peer map=" MAP "\n";
		r = without(GM_PEER_HBA, l, strlen(l), MAP, &n);
		ok(n == 0 && strcmp(r, l) == 0, "a rule line with a quote in the role is not ours");
		free(r);
	}

	/* several runs: only the map asked for goes, wherever it is */
	{
		char *a = block(GM_PEER_HBA, "gmdb-1-aaaaaaaa", 1, "gm-dbo");
		char *c = block(GM_PEER_HBA, "gmdb-3-cccccccc", 3, "other role");
		char *text = gm_xasprintf("%s%slocal all all peer\n%s# end", a, c, a);
		char *want = gm_xasprintf("%slocal all all peer\n# end", c);
		struct gm_peer_block *bl;
		size_t nb;

		gm_peer_scan(GM_PEER_HBA, text, strlen(text), &bl, &nb);
		is_int(nb, 3, "scan finds the three blocks");
		ok(nb == 3 && bl[1].pid == 3 && strcmp(bl[1].role, "other role") == 0 && strcmp(bl[1].map, "gmdb-3-cccccccc") == 0 &&
		   strcmp(bl[1].started, STAMP) == 0 && bl[1].offset == strlen(a) && bl[1].len == strlen(c),
		   "with map, pid, start, role, offset and length");
		gm_peer_blocks_free(bl, nb);
		is_int(gm_peer_top(GM_PEER_HBA, text, strlen(text)), strlen(a) + strlen(c), "the top run is the first two");
		r = without(GM_PEER_HBA, text, strlen(text), "gmdb-1-aaaaaaaa", &n);
		is_int(n, 2, "both blocks of one map are removed");
		is_str(r, want, "the other run's block and the user's lines stay");
		free(r);
		free(want);

		/* leftovers of dead pids */
		{
			struct pids dead = { { 3 }, 1 };
			struct gm_buf out = GM_BUF_INIT;
			n = gm_peer_remove(GM_PEER_HBA, text, strlen(text), NULL, dead_pid, &dead, &out);
			is_int(n, 1, "the dead run's block is removed");
			want = gm_xasprintf("%s%slocal all all peer\n%s# end", a, "", a);
			is_str(gm_buf_str(&out), want, "the live runs' blocks stay");
			free(want);
			gm_buf_release(&out);
		}
		free(text);
		free(a);
		free(c);
	}

	/* the same role granted to two runs: each removes its own */
	{
		char *a = block(GM_PEER_IDENT, "gmdb-1-aaaaaaaa", 1, "gm-dbo");
		char *c = block(GM_PEER_IDENT, "gmdb-2-bbbbbbbb", 2, "gm-dbo");
		t = cat(a, c);
		r = without(GM_PEER_IDENT, t, strlen(t), "gmdb-2-bbbbbbbb", &n);
		is_str(r, a, "pg_ident.conf: the other run's map stays");
		free(r);
		free(t);
		free(a);
		free(c);
	}

	/* runs alive */
	{
		pid_t child = fork();
		int status;
		if (child == 0)
			_exit(0);
		waitpid(child, &status, 0);
		ok(!gm_peer_run_alive((long long)child, STAMP), "a pid that ended is not alive");
		ok(!gm_peer_run_alive(0, STAMP), "pid 0 is not alive");
		ok(!gm_peer_run_alive(-5, STAMP), "a negative pid is not alive");
		ok(!gm_peer_run_alive(4194304LL * 1024, STAMP), "an impossible pid is not alive");
		ok(!gm_peer_run_alive((long long)getpid(), "2001-01-01T00:00:00Z"),
		   "this pid with another start time is another run (the pid was reused)");
		/* this process: its start is within the last minute */
		{
			bool found = false;
			time_t now = time(NULL);
			for (time_t t0 = now - 60; t0 <= now + 1 && !found; t0++) {
				char s[21];
				struct tm tm;
				gmtime_r(&t0, &tm);
				strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
				found = gm_peer_run_alive((long long)getpid(), s);
			}
			ok(found, "this pid with its own start time is alive");
		}
	}

	file_helpers();
	return tap_done();
}
