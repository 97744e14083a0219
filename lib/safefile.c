/*
 * safefile.c - files in directories another user can write
 *
 * The tools run as root, and some of their files live in directories that
 * another OS user owns: the state directory (/var/lib/gmdb, the postgres
 * OS user's), the backup directory in it, the log directory. That user may
 * plant symbolic links, hard links, FIFOs or directories under the names
 * root is about to use. Everything here therefore works relative to a
 * directory descriptor opened without following a link at its last
 * component, opens files with O_NOFOLLOW (and O_NONBLOCK, so that a FIFO
 * cannot make root wait), checks with fstat() that what it opened is a
 * regular file (or a directory) of an expected owner with one link,
 * writes new contents to a fresh O_EXCL file and renames it into place,
 * and changes owners with fchown() on the descriptor, never on a path.
 *
 * The expected owners are root, the running user and the postgres OS user
 * (who owns the state directory and may write its files anyway). Anything
 * else is refused, with its path, what it is and what was expected.
 *
 * Below everything but util.c and error.c (log.c creates its files here):
 * this module logs nothing, it returns errors.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

void gm_safefile_owner(uid_t *uid, gid_t *gid)
{
	struct passwd *pw;

	*uid = geteuid();
	*gid = getegid();
	if (*uid == 0 && (pw = getpwnam("postgres"))) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
}

/* An owner files and directories of gmdb's may have. */
static bool owner_ok(uid_t uid)
{
	struct passwd *pw;

	if (uid == 0 || uid == geteuid())
		return true;
	pw = getpwnam("postgres");
	return pw && pw->pw_uid == uid;
}

static const char *kind_of(mode_t m)
{
	if (S_ISLNK(m))
		return "it is a symbolic link";
	if (S_ISDIR(m))
		return "it is a directory";
	if (S_ISFIFO(m))
		return "it is a FIFO";
	if (S_ISSOCK(m))
		return "it is a socket";
	if (S_ISCHR(m))
		return "it is a character device";
	if (S_ISBLK(m))
		return "it is a block device";
	if (S_ISREG(m))
		return "it is a regular file";
	return "it is not a regular file";
}

static char *expected_owner(void)
{
	uid_t uid;
	gid_t gid;
	struct passwd *pw;

	gm_safefile_owner(&uid, &gid);
	pw = getpwuid(uid);
	return pw ? gm_xstrdup(pw->pw_name) : gm_xasprintf("uid %u", (unsigned)uid);
}

static int refuse(struct gm_error *err, const char *path, bool dir, const char *why)
{
	char *owner = expected_owner();

	gm_error_set(err, GM_ECHECK, "could not use \"%s\": %s (expected a %s owned by %s)", path, why,
		     dir ? "directory" : "regular file", owner);
	gm_error_detail(err, "Nothing was read or written through it.");
	gm_error_hint(err, "Someone who can write its directory put it there. Look at it (ls -la \"%s\"), remove "
			   "it if it is not gmdb's, and run again.", path);
	free(owner);
	return GM_ECHECK;
}

int gm_safefile_check(const struct stat *st, const char *path, bool dir, struct gm_error *err)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return refuse(err, path, dir, kind_of(st->st_mode));
	if (!owner_ok(st->st_uid)) {
		struct passwd *pw = getpwuid(st->st_uid);
		char *why = pw ? gm_xasprintf("it belongs to \"%s\"", pw->pw_name)
			       : gm_xasprintf("it belongs to uid %u", (unsigned)st->st_uid);
		int rc = refuse(err, path, dir, why);
		free(why);
		return rc;
	}
	if (!dir && st->st_nlink != 1)
		return refuse(err, path, dir, "it has other hard links");
	return GM_OK;
}

static char *join(const struct gm_safedir *d, const char *name)
{
	return gm_xasprintf("%s/%s", d->path, name);
}

/* ------------------------------------------------------------------ */
/* Directories                                                         */
/* ------------------------------------------------------------------ */

void gm_safefile_dir_close(struct gm_safedir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	d->fd = -1;
	d->path = NULL;
}

/* Is directory st one that only root (or the running user) can change? */
static bool trusted_dir(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* Open name in parent (a directory fd or AT_FDCWD) as a directory, not
 * through a link unless parent is a directory no other user can write;
 * make it (mode, given to the files' owner) if create. */
static int dir_open_at(struct gm_safedir *d, int parent, const char *name, const char *path, bool create, mode_t mode,
		       struct gm_error *err)
{
	struct stat st, pst;
	bool made = false, follow;
	int fd;

	d->fd = -1;
	d->path = gm_xstrdup(path);
	gm_safefile_owner(&d->owner, &d->group);
	follow = fstatat(parent, ".", &pst, 0) == 0 && trusted_dir(&pst);
	if (fstatat(parent, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return gm_error_set(err, GM_EFAIL, "could not examine directory \"%s\": %s", path, strerror(errno));
		if (!create)
			return 0;
		if (mkdirat(parent, name, mode) == 0)
			made = true;
		else if (errno != EEXIST)
			return gm_error_set(err, GM_EFAIL, "could not create directory \"%s\": %s", path, strerror(errno));
	} else if (!S_ISDIR(st.st_mode)) {
		return refuse(err, path, true, kind_of(st.st_mode));
	}
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow && !made ? 0 : O_NOFOLLOW));
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return refuse(err, path, true, errno == ELOOP ? "it is a symbolic link" : "it is not a directory");
		return gm_error_set(err, GM_EFAIL, "could not open directory \"%s\": %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return gm_error_set(err, GM_EFAIL, "could not examine directory \"%s\": %s", path, strerror(e));
	}
	if (gm_safefile_check(&st, path, true, err) < 0) {
		close(fd);
		return GM_ECHECK;
	}
	if (made && st.st_uid == geteuid() &&
	    (((st.st_uid != d->owner || st.st_gid != d->group) && fchown(fd, d->owner, d->group) < 0) ||
	     fchmod(fd, mode) < 0)) {
		int e = errno;
		close(fd);
		return gm_error_set(err, GM_EFAIL, "could not give directory \"%s\" its owner and mode: %s", path,
				    strerror(e));
	}
	d->fd = fd;
	return 1;
}

int gm_safefile_dir_open(struct gm_safedir *d, const char *path, bool create, mode_t mode, struct gm_error *err)
{
	const char *slash = strrchr(path, '/');
	char *parent, *name;
	int pfd, rc;

	d->fd = -1;
	d->path = NULL;
	while (slash && slash > path && slash[1] == '\0') {
		/* "dir/": the last component is before the slash */
		char *trimmed = gm_xstrndup(path, (size_t)(slash - path));
		rc = gm_safefile_dir_open(d, trimmed, create, mode, err);
		free(trimmed);
		return rc;
	}
	if (!slash) {
		parent = gm_xstrdup(".");
		name = gm_xstrdup(path);
	} else {
		parent = slash == path ? gm_xstrdup("/") : gm_xstrndup(path, (size_t)(slash - path));
		name = gm_xstrdup(slash + 1);
	}
	if (!*name)  /* "/" */
		pfd = -1, rc = dir_open_at(d, AT_FDCWD, "/", path, false, mode, err);
	else if ((pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT && !create) {
			d->path = gm_xstrdup(path);
			rc = 0;
		} else {
			rc = gm_error_set(err, GM_EFAIL, "could not open directory \"%s\": %s", parent, strerror(errno));
		}
	} else
		rc = dir_open_at(d, pfd, name, path, create, mode, err);
	if (pfd >= 0)
		close(pfd);
	free(parent);
	free(name);
	return rc;
}

int gm_safefile_dir_at(struct gm_safedir *d, const struct gm_safedir *parent, const char *name, bool create,
		       mode_t mode, struct gm_error *err)
{
	char *path = join(parent, name);
	int rc = dir_open_at(d, parent->fd, name, path, create, mode, err);
	free(path);
	return rc;
}

int gm_safefile_mkdirs(const char *path, mode_t mode, bool give, int *dirfd, struct gm_error *err)
{
	struct gm_buf sofar = GM_BUF_INIT;
	char *copy = gm_xstrdup(path), *save = NULL, *comp, *next;
	int fd, rc = GM_OK;
	uid_t uid;
	gid_t gid;

	gm_safefile_owner(&uid, &gid);
	fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = gm_error_set(err, GM_EFAIL, "could not open directory \"%s\": %s", path[0] == '/' ? "/" : ".",
				  strerror(errno));
		goto out;
	}
	if (path[0] == '/')
		gm_buf_adds(&sofar, "/");
	for (comp = strtok_r(copy, "/", &save); comp; comp = next) {
		struct stat pst, st;
		bool last, made = false;
		int cfd;

		next = strtok_r(NULL, "/", &save);
		last = next == NULL;
		if (sofar.len && sofar.data[sofar.len - 1] != '/')
			gm_buf_addc(&sofar, '/');
		gm_buf_adds(&sofar, comp);
		if (fstat(fd, &pst) < 0) {
			rc = gm_error_set(err, GM_EFAIL, "could not examine a directory of \"%s\": %s", path, strerror(errno));
			break;
		}
		if (mkdirat(fd, comp, last ? mode : 0755) == 0)
			made = true;
		else if (errno != EEXIST) {
			rc = gm_error_set(err, GM_EFAIL, "could not create directory \"%s\": %s", gm_buf_str(&sofar),
					  strerror(errno));
			break;
		}
		/* a link is followed only where no other user could have put it */
		cfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (trusted_dir(&pst) && !made ? 0 : O_NOFOLLOW));
		if (cfd < 0) {
			if (errno == ELOOP || errno == ENOTDIR) {
				if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
					st.st_mode = S_IFLNK;
				rc = refuse(err, gm_buf_str(&sofar), true, kind_of(st.st_mode));
			} else {
				rc = gm_error_set(err, GM_EFAIL, "could not open directory \"%s\": %s", gm_buf_str(&sofar),
						  strerror(errno));
			}
			break;
		}
		close(fd);
		fd = cfd;
		if (fstat(fd, &st) < 0) {
			rc = gm_error_set(err, GM_EFAIL, "could not examine directory \"%s\": %s", gm_buf_str(&sofar),
					  strerror(errno));
			break;
		}
		if (!trusted_dir(&pst) && (rc = gm_safefile_check(&st, gm_buf_str(&sofar), true, err)) < 0)
			break;
		if (last && made && give && st.st_uid == geteuid() && (st.st_uid != uid || st.st_gid != gid) &&
		    fchown(fd, uid, gid) < 0) {
			rc = gm_error_set(err, GM_EFAIL, "could not give directory \"%s\" to uid %u: %s", gm_buf_str(&sofar),
					  (unsigned)uid, strerror(errno));
			break;
		}
	}
out:
	if (dirfd && rc == GM_OK) {
		*dirfd = fd;
		fd = -1;
	} else if (dirfd) {
		*dirfd = -1;
	}
	if (fd >= 0)
		close(fd);
	free(copy);
	gm_buf_release(&sofar);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* Open an existing name in d (flags: O_RDONLY or O_RDWR), checked. 1 open
 * (*fd), 0 missing, or an error. */
static int open_checked(const struct gm_safedir *d, const char *name, int flags, int *fd, struct gm_error *err)
{
	char *path = join(d, name);
	struct stat st;
	int rc;

	*fd = openat(d->fd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0) {
		if (errno == ENOENT)
			rc = 0;
		else if (errno == ELOOP)
			rc = refuse(err, path, false, "it is a symbolic link");
		else if (errno == EISDIR)
			rc = refuse(err, path, false, "it is a directory");
		else if (errno == ENXIO)  /* a socket */
			rc = refuse(err, path, false, "it is a socket");
		else
			rc = gm_error_set(err, GM_EFAIL, "could not open file \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (fstat(*fd, &st) < 0) {
		rc = gm_error_set(err, GM_EFAIL, "could not examine file \"%s\": %s", path, strerror(errno));
	} else if ((rc = gm_safefile_check(&st, path, false, err)) == GM_OK) {
		int fl = fcntl(*fd, F_GETFL);
		if (fl >= 0)
			fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK);
		rc = 1;
		goto out;
	}
	close(*fd);
	*fd = -1;
out:
	free(path);
	return rc;
}

int gm_safefile_read(const struct gm_safedir *d, const char *name, char **data, size_t *len, struct gm_error *err)
{
	struct gm_buf b = GM_BUF_INIT;
	char chunk[65536];
	int fd, rc;

	*data = NULL;
	if (len)
		*len = 0;
	if (d->fd < 0)
		return 0;
	if ((rc = open_checked(d, name, O_RDONLY, &fd, err)) <= 0)
		return rc;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			char *path = join(d, name);
			rc = gm_error_set(err, GM_EFAIL, "could not read file \"%s\": %s", path, strerror(errno));
			free(path);
			close(fd);
			gm_buf_release(&b);
			return rc;
		}
		if (n == 0)
			break;
		gm_buf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (!b.data)
		gm_buf_adds(&b, "");
	if (len)
		*len = b.len;
	*data = gm_buf_detach(&b);
	return 1;
}

int gm_safefile_open(const struct gm_safedir *d, const char *name, bool create, mode_t mode, int *fd,
		     struct gm_error *err)
{
	*fd = -1;
	for (int tries = 0; tries < 10; tries++) {
		int rc;
		if (create) {
			*fd = openat(d->fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
			if (*fd >= 0) {
				if ((geteuid() == 0 && fchown(*fd, d->owner, d->group) < 0) || fchmod(*fd, mode) < 0) {
					int e = errno;
					close(*fd);
					*fd = -1;
					unlinkat(d->fd, name, 0);
					return gm_error_set(err, GM_EFAIL, "could not give file \"%s/%s\" its owner and mode: %s",
							    d->path, name, strerror(e));
				}
				return 1;
			}
			if (errno != EEXIST) {
				char *path = join(d, name);
				rc = gm_error_set(err, GM_EFAIL, "could not create file \"%s\": %s", path, strerror(errno));
				free(path);
				return rc;
			}
		}
		rc = open_checked(d, name, create ? O_RDWR : O_RDONLY, fd, err);
		if (rc != 0 || !create)
			return rc;
		/* removed between the two opens: again */
	}
	return gm_error_set(err, GM_EFAIL, "could not open file \"%s/%s\": it keeps changing", d->path, name);
}


int gm_safefile_write(const struct gm_safedir *d, const char *name, const char *data, size_t len, mode_t mode,
		      struct gm_error *err)
{
	static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *tmp = NULL, *path = join(d, name);
	int fd = -1, rc = GM_EFAIL;

	for (int tries = 0; tries < 100 && fd < 0; tries++) {
		unsigned char rnd[8];
		char suffix[9];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(rand() ^ getpid() ^ tries);
		for (size_t i = 0; i < 8; i++)
			suffix[i] = letters[rnd[i] % (sizeof(letters) - 1)];
		suffix[8] = '\0';
		free(tmp);
		tmp = gm_xasprintf(".%s.%s", name, suffix);
		fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		gm_error_set(err, GM_EFAIL, "could not create a file in directory \"%s\": %s", d->path, strerror(errno));
		goto out;
	}
	if (geteuid() == 0 && fchown(fd, d->owner, d->group) < 0) {
		gm_error_set(err, GM_EFAIL, "could not give a new file in \"%s\" to uid %u: %s", d->path,
			     (unsigned)d->owner, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, mode) < 0 || gm_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		gm_error_set(err, GM_EFAIL, "could not write a new \"%s\": %s", path, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		gm_error_set(err, GM_EFAIL, "could not write a new \"%s\": %s", path, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (renameat(d->fd, tmp, d->fd, name) < 0) {
		if (errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST)
			rc = refuse(err, path, false, "it is a directory");
		else
			gm_error_set(err, GM_EFAIL, "could not rename a new file to \"%s\": %s", path, strerror(errno));
		goto fail;
	}
	fsync(d->fd);
	rc = GM_OK;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(d->fd, tmp, 0);
out:
	free(tmp);
	free(path);
	return rc;
}

int gm_safefile_remove(const struct gm_safedir *d, const char *name, struct gm_error *err)
{
	int rc = GM_OK;

	if (d->fd < 0)
		return GM_OK;
	if (unlinkat(d->fd, name, 0) < 0 && errno != ENOENT) {
		char *path = join(d, name);
		if (errno == EISDIR)
			rc = refuse(err, path, false, "it is a directory");
		else
			rc = gm_error_set(err, GM_EFAIL, "could not remove file \"%s\": %s", path, strerror(errno));
		free(path);
		return rc;
	}
	fsync(d->fd);
	return GM_OK;
}

int gm_safefile_create_new(int dirfd, const char *path, mode_t mode, int *fd, struct gm_error *err)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	*fd = openat(dirfd, dirfd == AT_FDCWD ? path : base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
		     mode);
	if (*fd < 0) {
		int e = errno;
		gm_error_set(err, GM_EFAIL, "could not create file \"%s\": %s", path,
			     e == EEXIST ? "it exists (a new file was expected)" : strerror(e));
		errno = e;
		return GM_EFAIL;
	}
	return GM_OK;
}
