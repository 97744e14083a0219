/*
 * backups.c - the backups gm-upgrade_server makes: their record, the
 * list (--list-backups), keeping the last N (--prune-backups), and taking
 * out what a failed pg_dump left
 *
 * A backup is a pg_dump directory <backup dir>/backup-upgrade_vF_to_vT-
 * <host>-<time>.dir. Once pg_dump has finished, gmdb writes GM_BACKUP_INFO
 * into it (pg_restore ignores it): the database, the versions, when it was
 * made, and "complete=1". A directory of that name without the record is a
 * dump that did not finish (or an older gmdb's): it is listed as such and
 * never pruned.
 *
 * The backup directory belongs to the postgres OS user: root becomes
 * postgres for good before looking at it (gm_privs_drop), every entry is
 * opened relative to the directory without following links, and a dump is
 * removed file by file (unlinkat never follows a link), then rmdir'ed.
 */
#include "gmdb-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFIX "backup-"
#define SUFFIX ".dir"

long long gm_backup_bytes(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	long long total = 0;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			total += st.st_size;
	}
	closedir(d);
	return total;
}

int gm_backup_remove(int parent, const char *name, struct gm_error *err)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int rc = GM_OK;

	if (fd < 0 && errno == ENOENT)
		return GM_OK;
	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = gm_error_set(err, GM_EFAIL, "could not open the dump \"%s\": %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && rc == GM_OK)
			rc = gm_error_set(err, GM_EFAIL, "could not remove \"%s/%s\": %s", name, de->d_name, strerror(errno));
	}
	closedir(d);
	if (rc == GM_OK && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = gm_error_set(err, GM_EFAIL, "could not remove the directory \"%s\": %s", name, strerror(errno));
	return rc;
}

int gm_backup_record(const char *path, const char *database, int from, int to, time_t started, struct gm_error *err)
{
	struct gm_safedir d = GM_SAFEDIR_INIT;
	struct gm_buf b = GM_BUF_INIT;
	char when[64], done[64];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&started, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	gmtime_r(&now, &tm);
	strftime(done, sizeof(done), "%Y-%m-%d %H:%M:%S UTC", &tm);
	gm_buf_addf(&b, "# gmdb: a complete backup made by gm-upgrade_server (pg_dump -Fd)\n"
			"database=%s\nfrom=%d\nto=%d\nstarted=%s\nfinished=%s\ncomplete=1\n", database, from, to, when, done);
	rc = gm_safefile_dir_open(&d, path, false, 0700, err);
	if (rc == 0)
		rc = gm_error_set(err, GM_EFAIL, "the dump \"%s\" is gone", path);
	if (rc > 0)
		rc = gm_safefile_write(&d, GM_BACKUP_INFO, b.data, b.len, 0600, err);
	gm_safefile_dir_close(&d);
	gm_buf_release(&b);
	return rc < 0 ? rc : GM_OK;
}

struct backup {
	char *name;
	char *database;   /* NULL: no record (incomplete) */
	char *finished;
	int from, to;
	long long bytes;
};

static char *info_value(const char *text, const char *key)
{
	size_t k = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, k) == 0 && l[k] == '=')
			return gm_xstrndup(l + k + 1, strcspn(l + k + 1, "\n"));
	return NULL;
}

static int cmp_backup(const void *a, const void *b)
{
	const struct backup *x = a, *y = b;
	int c;
	/* by database, newest first; incomplete ones last */
	if (!x->database || !y->database)
		return !x->database - !y->database;
	if ((c = strcmp(x->database, y->database)) != 0)
		return c;
	return -strcmp(x->finished ? x->finished : "", y->finished ? y->finished : "");
}

static void backups_release(struct backup *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].database);
		free(v[i].finished);
	}
	free(v);
}

/* The backups in dir (d: open), sorted. 0 when dir does not exist. */
static int scan(const char *dir, struct gm_safedir *d, struct backup **out, size_t *n, struct gm_error *err)
{
	DIR *dd;
	struct dirent *de;
	int rc, fd;

	*out = NULL;
	*n = 0;
	if ((rc = gm_privs_drop(err)) < 0)
		return rc;
	rc = gm_safefile_dir_open(d, dir, false, 0700, err);
	if (rc < 0 && geteuid() != 0)
		gm_error_hint(err, "The backup directory is read as the OS user \"%s\" (root becomes postgres first): "
				   "it must be able to read it.", gm_conn_user());
	if (rc <= 0)
		return rc;
	if ((fd = dup(d->fd)) < 0 || !(dd = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return gm_error_set(err, GM_EFAIL, "could not read the backup directory \"%s\": %s", dir, strerror(errno));
	}
	rewinddir(dd);
	while ((de = readdir(dd))) {
		size_t len = strlen(de->d_name);
		struct gm_safedir bd = GM_SAFEDIR_INIT;
		struct gm_error ierr = GM_ERROR_INIT;
		struct backup b;
		char *text = NULL;
		struct stat st;

		if (len <= strlen(PREFIX) + strlen(SUFFIX) || strncmp(de->d_name, PREFIX, strlen(PREFIX)) != 0 ||
		    strcmp(de->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
			continue;
		if (fstatat(d->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
			continue;
		memset(&b, 0, sizeof(b));
		b.name = gm_xstrdup(de->d_name);
		b.from = b.to = -1;
		sscanf(de->d_name, PREFIX "upgrade_v%d_to_v%d", &b.from, &b.to);
		if (gm_safefile_dir_at(&bd, d, de->d_name, false, 0700, &ierr) > 0 &&
		    gm_safefile_read(&bd, GM_BACKUP_INFO, &text, NULL, &ierr) > 0 && text) {
			char *complete = info_value(text, "complete"), *v;
			if (complete && strcmp(complete, "1") == 0) {
				b.database = info_value(text, "database");
				b.finished = info_value(text, "finished");
				if ((v = info_value(text, "from")))
					b.from = atoi(v);
				free(v);
				if ((v = info_value(text, "to")))
					b.to = atoi(v);
				free(v);
			}
			free(complete);
		}
		gm_safefile_dir_close(&bd);
		gm_error_release(&ierr);
		free(text);
		b.bytes = gm_backup_bytes(d->fd, de->d_name);
		*out = gm_xrealloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = b;
	}
	closedir(dd);
	qsort(*out, *n, sizeof(**out), cmp_backup);
	return 1;
}

static void print_one(FILE *out, const char *dir, const struct backup *b)
{
	char *name = gm_printable(b->database ? b->database : "?");
	fprintf(out, "%-20s v%-3d v%-3d %-24s %8lld MB  %s/%s%s\n", name, b->from, b->to,
		b->finished ? b->finished : "-", (b->bytes + (1 << 19)) >> 20, dir, b->name,
		b->database ? "" : "  (incomplete: pg_dump did not finish, or an older gmdb made it)");
	free(name);
}

int gm_backups_list(const char *dir, bool json, FILE *out, struct gm_error *err)
{
	struct gm_safedir d = GM_SAFEDIR_INIT;
	struct backup *v = NULL;
	size_t n = 0;
	int rc = scan(dir, &d, &v, &n, err);

	if (rc < 0)
		goto done;
	if (json) {
		fputs("{\n  \"backup_dir\": ", out);
		gm_json_string(out, dir);
		fputs(",\n  \"backups\": [", out);
		for (size_t i = 0; i < n; i++) {
			char *path = gm_xasprintf("%s/%s", dir, v[i].name);
			fprintf(out, "%s\n    {\"path\": ", i ? "," : "");
			gm_json_string(out, path);
			fputs(", \"database\": ", out);
			gm_json_string(out, v[i].database);
			fprintf(out, ", \"from\": %d, \"to\": %d, \"finished\": ", v[i].from, v[i].to);
			gm_json_string(out, v[i].finished);
			fprintf(out, ", \"bytes\": %lld, \"complete\": %s}", v[i].bytes, v[i].database ? "true" : "false");
			free(path);
		}
		fputs(n ? "\n  ]\n}\n" : "]\n}\n", out);
	} else if (n == 0) {
		gm_log(GM_LOG_NOTICE, "no backups in %s", dir);
	} else {
		fprintf(out, "%-20s %-4s %-4s %-24s %11s  %s\n", "DATABASE", "FROM", "TO", "FINISHED", "SIZE", "PATH");
		for (size_t i = 0; i < n; i++)
			print_one(out, dir, &v[i]);
		fprintf(out, "restore one: pg_restore --create -d postgres PATH (as postgres)\n");
	}
	rc = GM_OK;
done:
	backups_release(v, n);
	gm_safefile_dir_close(&d);
	return rc;
}

int gm_backups_prune(const char *dir, int keep, bool dry_run, FILE *out, struct gm_error *err)
{
	struct gm_safedir d = GM_SAFEDIR_INIT;
	struct backup *v = NULL;
	size_t n = 0;
	int rc, removed = 0, kept = 0;

	if (keep < 1)
		return gm_error_set(err, GM_EUSAGE, "--prune-backups keeps at least one backup of each database");
	rc = scan(dir, &d, &v, &n, err);
	if (rc < 0)
		goto done;
	rc = GM_OK;
	for (size_t i = 0, seen = 0; i < n; i++) {
		struct gm_error rerr = GM_ERROR_INIT;
		if (!v[i].database)
			continue;  /* incomplete or not recorded: never pruned */
		seen = i && v[i - 1].database && strcmp(v[i - 1].database, v[i].database) == 0 ? seen + 1 : 1;
		if (seen <= (size_t)keep) {
			kept++;
			continue;
		}
		fprintf(out, "%s ", dry_run ? "would remove" : "removing");
		print_one(out, dir, &v[i]);
		if (!dry_run && gm_backup_remove(d.fd, v[i].name, &rerr) < 0 && rc == GM_OK) {
			rc = gm_error_set(err, GM_EFAIL, "%s", rerr.message);
			gm_error_hint(err, "The other backups were pruned; remove it by hand (rm -r) or run again.");
		}
		gm_error_release(&rerr);
		removed++;
	}
	gm_log(GM_LOG_NOTICE, "%s%d backup(s) %s, %d kept (the last %d of each database) in %s",
	       dry_run ? "--check: " : "", removed, dry_run ? "would be removed" : "removed", kept, keep, dir);
done:
	backups_release(v, n);
	gm_safefile_dir_close(&d);
	return rc;
}
