/* Unit tests: safe files (lib/safefile.c) against planted links, FIFOs,
 * directories and hard links */
#include "gmdb-int.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

static char *at(const char *name)
{
	return gm_xasprintf("%s/%s", tmpdir, name);
}

static void put(const char *name, const char *text)
{
	char *p = at(name);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
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

static void plant_link(const char *name, const char *target)
{
	char *p = at(name), *t = at(target);
	unlink(p);
	if (symlink(t, p) < 0)
		perror("symlink");
	free(p);
	free(t);
}

static bool says(const struct gm_error *e, const char *what)
{
	return e->message && strstr(e->message, what);
}

int main(void)
{
	struct gm_safedir d = GM_SAFEDIR_INIT, sub = GM_SAFEDIR_INIT;
	struct gm_error err = GM_ERROR_INIT;
	char tmpl[] = "/tmp/gmdb-test-safefile.XXXXXX";
	char *data = NULL, *s, *p;
	size_t len = 0;
	struct stat st;
	int rc, fd;

	printf("TAP version 13\n");
	tmpdir = mkdtemp(tmpl);
	if (!tmpdir) {
		printf("Bail out! no temporary directory\n");
		return 1;
	}
	put("canary", "secret\n");

	/* the directory */
	s = at("state");
	rc = gm_safefile_dir_open(&d, s, false, 0755, &err);
	is_int(rc, 0, "a missing directory without create: 0");
	gm_safefile_dir_close(&d);
	rc = gm_safefile_dir_open(&d, s, true, 0755, &err);
	is_int(rc, 1, "created");
	ok(stat(s, &st) == 0 && S_ISDIR(st.st_mode), "it is a directory");
	gm_safefile_dir_close(&d);
	free(s);

	p = at("linkdir");
	s = at("state");
	if (symlink(s, p) < 0)
		perror("symlink");
	gm_error_release(&err);
	rc = gm_safefile_dir_open(&d, p, true, 0755, &err);
	is_int(rc, 1, "a symbolic link to a directory is followed where only root (or we) could have put it");
	gm_safefile_dir_close(&d);
	chmod(tmpdir, 01777);
	gm_error_release(&err);
	rc = gm_safefile_dir_open(&d, p, true, 0755, &err);
	is_int(rc, GM_ECHECK, "a symbolic link to a directory in a directory others can write is refused");
	ok(says(&err, "is a symbolic link") && says(&err, "expected a directory") && says(&err, p),
	   "the message names it and what it is: %s", err.message);
	gm_safefile_dir_close(&d);
	chmod(tmpdir, 0700);
	free(p);
	free(s);

	p = at("canary");
	gm_error_release(&err);
	rc = gm_safefile_dir_open(&d, p, true, 0755, &err);
	is_int(rc, GM_ECHECK, "a file where a directory should be is refused");
	ok(says(&err, "a regular file (expected a directory"), "...saying so: %s", err.message);
	gm_safefile_dir_close(&d);
	free(p);

	s = at("state");
	rc = gm_safefile_dir_open(&d, s, false, 0755, &err);
	free(s);
	is_int(rc, 1, "the state directory opens");

	/* writing */
	rc = gm_safefile_write(&d, "f", "one\n", 4, 0644, &err);
	is_int(rc, GM_OK, "a new file is written");
	s = get("state/f");
	is_str(s, "one\n", "with its content");
	free(s);
	s = at("state/f");
	ok(stat(s, &st) == 0 && (st.st_mode & 07777) == 0644, "and its mode");
	free(s);

	plant_link("state/f", "canary");
	rc = gm_safefile_write(&d, "f", "two\n", 4, 0600, &err);
	is_int(rc, GM_OK, "a link in its place is replaced");
	s = get("canary");
	is_str(s, "secret\n", "the link's target is untouched");
	free(s);
	s = get("state/f");
	is_str(s, "two\n", "the file has the new content");
	free(s);
	s = at("state/f");
	ok(lstat(s, &st) == 0 && S_ISREG(st.st_mode), "it is a regular file now");
	free(s);

	s = at("state/dir");
	mkdir(s, 0755);
	gm_error_release(&err);
	rc = gm_safefile_write(&d, "dir", "x", 1, 0600, &err);
	is_int(rc, GM_ECHECK, "a directory in its place is refused");
	ok(says(&err, "it is a directory") && says(&err, s), "...naming it: %s", err.message);
	free(s);

	/* reading */
	rc = gm_safefile_read(&d, "missing", &data, &len, &err);
	is_int(rc, 0, "a missing file: 0");
	rc = gm_safefile_read(&d, "f", &data, &len, &err);
	is_int(rc, 1, "a file is read");
	is_str(data, "two\n", "its content");
	is_int(len, 4, "its length");
	free(data);

	plant_link("state/g", "canary");
	gm_error_release(&err);
	rc = gm_safefile_read(&d, "g", &data, &len, &err);
	is_int(rc, GM_ECHECK, "a link is not read");
	ok(data == NULL, "nothing came back");
	ok(says(&err, "it is a symbolic link (expected a regular file owned by "), "%s", err.message);

	s = at("state/fifo");
	if (mkfifo(s, 0666) < 0)
		perror("mkfifo");
	gm_error_release(&err);
	rc = gm_safefile_read(&d, "fifo", &data, &len, &err);
	is_int(rc, GM_ECHECK, "a FIFO is refused (without waiting for a writer)");
	ok(says(&err, "it is a FIFO"), "%s", err.message);
	gm_error_release(&err);
	rc = gm_safefile_open(&d, "fifo", true, 0644, &fd, &err);
	is_int(rc, GM_ECHECK, "a FIFO is refused as a lock file too");
	free(s);

	gm_error_release(&err);
	rc = gm_safefile_read(&d, "dir", &data, &len, &err);
	is_int(rc, GM_ECHECK, "a directory is not read");
	ok(says(&err, "it is a directory"), "%s", err.message);

	s = at("state/f");
	p = at("state/hard");
	if (link(s, p) < 0)
		perror("link");
	gm_error_release(&err);
	rc = gm_safefile_read(&d, "hard", &data, &len, &err);
	is_int(rc, GM_ECHECK, "a file with another hard link is refused");
	ok(says(&err, "other hard links"), "%s", err.message);
	unlink(p);
	free(s);
	free(p);

	/* lock files */
	rc = gm_safefile_open(&d, "lock", false, 0644, &fd, &err);
	is_int(rc, 0, "a missing lock file without create: 0");
	rc = gm_safefile_open(&d, "lock", true, 0644, &fd, &err);
	is_int(rc, 1, "a lock file is made");
	ok(fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode), "a regular file");
	close(fd);
	rc = gm_safefile_open(&d, "lock", true, 0644, &fd, &err);
	is_int(rc, 1, "and opened again");
	close(fd);
	plant_link("state/lock", "canary");
	gm_error_release(&err);
	rc = gm_safefile_open(&d, "lock", true, 0644, &fd, &err);
	is_int(rc, GM_ECHECK, "a link as the lock file is refused");
	ok(fd < 0, "no descriptor");
	s = get("canary");
	is_str(s, "secret\n", "the link's target is untouched");
	free(s);

	/* removing */
	rc = gm_safefile_remove(&d, "lock", &err);
	is_int(rc, GM_OK, "a link is removed");
	s = get("canary");
	is_str(s, "secret\n", "not its target");
	free(s);
	rc = gm_safefile_remove(&d, "lock", &err);
	is_int(rc, GM_OK, "removing a missing file is fine");

	/* sub-directories */
	plant_link("state/sub", "state/dir");
	gm_error_release(&err);
	rc = gm_safefile_dir_at(&sub, &d, "sub", true, 0700, &err);
	is_int(rc, GM_ECHECK, "a linked sub-directory is refused");
	gm_safefile_dir_close(&sub);
	rc = gm_safefile_dir_at(&sub, &d, "sub2", true, 0700, &err);
	is_int(rc, 1, "a sub-directory is made");
	s = at("state/sub2");
	ok(stat(s, &st) == 0 && (st.st_mode & 07777) == 0700, "with its mode");
	free(s);
	gm_safefile_dir_close(&sub);

	/* mkdir -p */
	s = at("a/b/c");
	rc = gm_safefile_mkdirs(s, 0700, true, NULL, &err);
	is_int(rc, GM_OK, "mkdir -p");
	ok(stat(s, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700, "the last one with its mode");
	free(s);
	plant_link("state/x", "a");
	s = at("state/x/y");
	{
		/* the state directory writable by others: a link in it is not followed */
		char *sd = at("state");
		chmod(sd, 0777);
		gm_error_release(&err);
		rc = gm_safefile_mkdirs(s, 0700, true, NULL, &err);
		is_int(rc, GM_ECHECK, "mkdir -p does not follow a link in a directory others can write");
		ok(says(&err, "is a symbolic link"), "%s", err.message ? err.message : "(none)");
		chmod(sd, 0755);
		free(sd);
	}
	free(s);

	/* owners */
	if (getuid() == 0) {
		s = at("state/nobody");
		put("state/nobody", "x");
		if (chown(s, 65534, 65534) < 0)
			perror("chown");
		gm_error_release(&err);
		rc = gm_safefile_read(&d, "nobody", &data, &len, &err);
		is_int(rc, GM_ECHECK, "a file of another user is refused");
		ok(says(&err, "it belongs to"), "%s", err.message);
		free(s);
	} else {
		ok(1, "# SKIP the owner check needs root");
		ok(1, "# SKIP the owner check needs root");
	}

	/* a new file never goes through a link */
	plant_link("state/new", "canary");
	s = at("state/new");
	gm_error_release(&err);
	rc = gm_safefile_create_new(d.fd, s, 0640, &fd, &err);
	is_int(rc, GM_EFAIL, "a new file is not made through a link");
	free(s);
	s = get("canary");
	is_str(s, "secret\n", "the link's target is untouched");
	free(s);

	gm_safefile_dir_close(&d);
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
