/*
 * pgconf-file.c - changing the server's authentication files (pg_hba.conf,
 * pg_ident.conf) safely: shared by gm-hba-lock (hba.c) and the temporary
 * peer grant (peer.c)
 *
 * A file is replaced atomically (a new file in the same directory with the
 * old one's owner and mode, flushed, renamed over it). The server checks a
 * candidate where it reads it: pg_hba_file_rules and pg_ident_file_mappings
 * read the files on disk at hba_file's and ident_file's paths, not what the
 * server has loaded, so a candidate is put in place, checked, and put back
 * before any reload if the server flags it. The server reads the files only
 * when it starts or reloads.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return gm_xstrdup(".");
	if (slash == path)
		return gm_xstrdup("/");
	return gm_xstrndup(path, (size_t)(slash - path));
}


int gm_pgconf_replace(const char *path, const char *data, size_t len, const struct stat *like,
		      struct gm_error *err)
{
	char *dir = dir_of(path);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *tmp = gm_xasprintf("%s/.%s.gmdb.XXXXXX", dir, base);
	int fd, dfd, rc = GM_EFAIL;

	fd = mkstemp(tmp);
	if (fd < 0) {
		gm_error_set(err, GM_EFAIL, "could not create a file in directory \"%s\": %s", dir, strerror(errno));
		goto out;
	}
	if ((like->st_uid != geteuid() || like->st_gid != getegid()) &&
	    fchown(fd, like->st_uid, like->st_gid) < 0) {
		gm_error_set(err, GM_EFAIL, "could not give file \"%s\" the owner of \"%s\": %s", tmp, path,
			     strerror(errno));
		goto fail;
	}
	if (fchmod(fd, like->st_mode & 07777) < 0 || gm_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		gm_error_set(err, GM_EFAIL, "could not write file \"%s\": %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		gm_error_set(err, GM_EFAIL, "could not write file \"%s\": %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		gm_error_set(err, GM_EFAIL, "could not rename file \"%s\" to \"%s\": %s", tmp, path, strerror(errno));
		goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	gm_log(GM_LOG_DEBUG, "replaced \"%s\" (%zu bytes, uid %u, gid %u, mode %04o)", path, len,
	       (unsigned)like->st_uid, (unsigned)like->st_gid, (unsigned)(like->st_mode & 07777));
	rc = GM_OK;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dir);
	return rc;
}

int gm_pgconf_read(const char *path, const char *tool, bool to_replace, char **data, size_t *len,
		   struct stat *st, struct gm_error *err)
{
	*data = NULL;
	if (lstat(path, st) < 0)
		return gm_error_set(err, GM_EFAIL, "could not stat file \"%s\": %s", path, strerror(errno));
	if (S_ISLNK(st->st_mode)) {
		gm_error_set(err, GM_ECHECK, "file \"%s\" is a symbolic link", path);
		gm_error_detail(err, "%s replaces the file by renaming a new one over it, which would "
				     "replace the link, not the file it points to.", tool);
		gm_error_hint(err, "Point the server's setting at the real file.");
		return GM_ECHECK;
	}
	if (!S_ISREG(st->st_mode))
		return gm_error_set(err, GM_EFAIL, "\"%s\" is not a regular file", path);
	if (to_replace && geteuid() != 0 && geteuid() != st->st_uid) {
		struct passwd *pw = getpwuid(st->st_uid);
		gm_error_set(err, GM_EFAIL, "file \"%s\" belongs to another OS user", path);
		gm_error_detail(err, "It belongs to \"%s\" (uid %u); %s runs as uid %u.",
				pw ? pw->pw_name : "?", (unsigned)st->st_uid, tool, (unsigned)geteuid());
		gm_error_hint(err, "Run %s as root or as the file's owner.", tool);
		return GM_EFAIL;
	}
	return gm_read_file(path, data, len, err);
}

int gm_pgconf_put_back(const char *path, const char *data, size_t len, const struct stat *st,
		       struct gm_error *err)
{
	char *now = NULL;
	size_t now_len;
	int rc = gm_pgconf_replace(path, data, len, st, err);

	if (rc == GM_OK)
		rc = gm_read_file(path, &now, &now_len, err);
	if (rc == GM_OK && (now_len != len || memcmp(now, data, len) != 0))
		rc = gm_error_set(err, GM_EFAIL, "file \"%s\" is not the original after putting it back", path);
	free(now);
	return rc;
}

int gm_pgconf_unchanged(const char *path, const char *data, size_t len, const char *tool, struct gm_error *err)
{
	char *now = NULL;
	size_t now_len;
	int rc = gm_read_file(path, &now, &now_len, err);

	if (rc == GM_OK && (now_len != len || memcmp(now, data, len) != 0)) {
		rc = gm_error_set(err, GM_ECHECK, "file \"%s\" changed while %s was reading it", path, tool);
		gm_error_hint(err, "Run %s again once nobody edits the file.", tool);
	}
	free(now);
	return rc;
}

void gm_pgconf_hold_signals(bool hold, sigset_t *saved)
{
	sigset_t set;
	if (!hold) {
		sigprocmask(SIG_SETMASK, saved, NULL);
		return;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, saved);
}

int gm_pgconf_lock_dir(const char *path, int *fd, struct gm_error *err)
{
	char *dir = dir_of(path);
	int rc = GM_OK;

	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		rc = gm_error_set(err, GM_EFAIL, "could not open directory \"%s\": %s", dir, strerror(errno));
		goto out;
	}
	for (int i = 0; flock(*fd, LOCK_EX | LOCK_NB) < 0; i++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || i >= 300) {
			rc = gm_error_set(err, GM_ELOCKED, "could not lock directory \"%s\": %s", dir,
					  errno == EWOULDBLOCK ? "another gmdb run edits its files" : strerror(errno));
			gm_error_hint(err, "Wait for the other run to finish, then try again.");
			close(*fd);
			*fd = -1;
			goto out;
		}
		usleep(100000);
	}
out:
	free(dir);
	return rc;
}

void gm_pgconf_unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd);  /* releases the flock */
}

int gm_pgconf_server_sees(PGconn *conn, const char *path, const char *data, size_t len, const char *what,
			  const char *tool, struct gm_error *err)
{
	const char *params[1] = { path };
	char mine[65], *theirs = NULL;
	int rc;

	gm_sha256_hex(data, len, mine);
	rc = gm_db_value(conn, gm_sql("hba-file-sha256"), 1, params, &theirs, err);
	if (rc < 0) {
		gm_error_prefix(err, "could not read file \"%s\" through the server", path);
		return rc;
	}
	if (!theirs || strcmp(theirs, mine) != 0) {
		rc = gm_error_set(err, GM_ECHECK, "the server does not see %s at \"%s\"", what, path);
		gm_error_detail(err, "Its SHA-256 is %s as the server reads it, %s as %s does.",
				theirs ? theirs : "unknown", mine, tool);
		gm_error_hint(err, "Run %s on the machine (and in the container) the server runs in.", tool);
	}
	free(theirs);
	return rc;
}

int gm_pgconf_file_errors(PGconn *conn, const char *sql_name, const char *path, size_t header_lines,
			  const char *adder, char **detail, struct gm_error *err)
{
	PGresult *res = gm_db_query(conn, gm_sql(sql_name), 0, NULL, err);
	struct gm_buf b = GM_BUF_INIT;
	int n;

	*detail = NULL;
	if (!res) {
		gm_error_prefix(err, "could not check file \"%s\" with the server", path);
		return GM_EFAIL;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		long line = atol(PQgetvalue(res, i, 0));
		if (b.len)
			gm_buf_adds(&b, "; ");
		if (header_lines == 0)
			gm_buf_addf(&b, "line %ld: %s", line, PQgetvalue(res, i, 1));
		else if (line > (long)header_lines)
			gm_buf_addf(&b, "line %ld (line %ld of the original): %s", line, line - (long)header_lines,
				    PQgetvalue(res, i, 1));
		else
			gm_buf_addf(&b, "line %ld (a line %s adds): %s", line, adder, PQgetvalue(res, i, 1));
	}
	PQclear(res);
	if (n == 0)
		return 0;
	*detail = gm_buf_detach(&b);
	return 1;
}

int gm_pgconf_reload(PGconn *conn, const char *loaded_at, const char *label, struct gm_error *err)
{
	char *ok = NULL, *before = NULL;
	const char *params[1] = { loaded_at };
	char *dbname = gm_xstrdup(PQdb(conn)), *user = gm_xstrdup(PQuser(conn));
	int rc = GM_EFAIL;

	if (!loaded_at) {
		if (gm_db_value(conn, gm_sql("peer-loaded-at"), 0, NULL, &before, err) < 0)
			goto out;
		params[0] = before;
	}
	if (gm_db_value(conn, gm_sql("hba-reload"), 0, NULL, &ok, err) < 0) {
		gm_error_prefix(err, "could not make the server reload its configuration");
		goto out;
	}
	if (!ok || strcmp(ok, "t") != 0) {
		gm_error_set(err, GM_EFAIL, "the server did not accept the request to reload its configuration");
		goto out;
	}
	for (int i = 0; i < 100; i++) {
		PGconn *c = gm_conn_open_ex(dbname, user, label, GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT, err);
		char *newer = NULL;
		bool done;

		if (!c) {
			gm_error_prefix(err, "could not connect again after the reload");
			goto out;
		}
		rc = gm_db_value(c, gm_sql("hba-loaded"), 1, params, &newer, err);
		gm_conn_close(c);
		if (rc < 0)
			goto out;
		done = newer && strcmp(newer, "t") == 0;
		free(newer);
		if (done)
			goto out;
		usleep(100000);
	}
	rc = gm_error_set(err, GM_EFAIL, "the server did not load its configuration again within 10 seconds");
	gm_error_hint(err, "Look for \"pg_hba.conf was not reloaded\" in the server's log.");
out:
	free(ok);
	free(before);
	free(dbname);
	free(user);
	return rc;
}
