/*
 * journal.c - the downtime procedure's journal: <state>/procedure.state
 *
 * Every change the downtime procedure makes to the outside world is
 * recorded here before it is made; after a crash, --recover undoes (or
 * finishes) what the journal records. The journal is the only record of
 * what to undo, and it lives in a directory the postgres OS user owns, so
 * it is read strictly and never trusted blindly:
 *
 *   gmdb-journal 2
 *   # gmdb: an unfinished downtime procedure; "gm-upgrade_server --recover" undoes it
 *   procedure=upgrade
 *   server_host=/var/run/postgresql
 *   ...
 *   intent=notice
 *   ...
 *   sha256=<SHA-256 of every byte before this line, 64 hex digits>
 *
 * Format 2 adds the records of the server the procedure works on
 * (server_host, server_port, server_data_directory), so that --recover
 * finds it from any shell; this gmdb reads format 1 (without them) too.
 * The first line names the format and its version; then comment lines
 * ("#") and records "key=value" in the order they were made (a key may
 * repeat: "intent" once per step); the value escapes backslash (\\),
 * newline (\n), carriage return (\r) and the other control characters
 * (\xHH). The last line is the checksum, and nothing follows it. Reading
 * refuses anything else (empty, truncated, another version, a checksum that
 * does not match, a line that is not a record, a bad escape, a NUL byte)
 * with an error that says which; the file itself is reached only through
 * safefile.c (a regular file of root or postgres, never through a link).
 * Writing replaces the whole file atomically (a fresh file, fsync, rename).
 *
 * The procedure holds an flock on <state>/procedure.lock while it runs: a
 * journal without that lock held is an unfinished procedure.
 *
 * Layering (libgmdb, lowest first; a module calls only modules of its own
 * layer or below; checked with nm -u on the objects):
 *   1. util.c error.c sha256.c pytext.c   memory, strings, errors, checksums
 *   2. safefile.c                          files in others' directories (logs nothing)
 *   3. log.c                               logging (its files through safefile.c)
 *   4. journal.c                           this file (files, no libpq)
 *   5. cli.c                               options, gm_cli_finish, which calls
 *                                          gm_journal_warn_unfinished()
 *   6. conn.c session.c lock.c ...         the cluster (conn.c reads cli.c's
 *                                          options and gm_cli_interactive)
 *   7. hba.c banner.c engine.c fixup.c upgrade.c ...   the operations
 *   8. downtime.c                          the procedure around them
 * The journal used to be part of downtime.c, so that cli.c called up into
 * the procedure (cli.c -> downtime.c -> conn.c -> cli.c, a cycle); now
 * nothing below downtime.c calls it.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define JOURNAL_NAME "procedure.state"
#define LOCK_NAME "procedure.lock"
#define MAGIC "gmdb-journal"
#define FORMAT_VERSION 2      /* written */
#define FORMAT_VERSION_MIN 1  /* the oldest read: format 1 has no server records */
#define COMMENT "# gmdb: an unfinished downtime procedure; \"gm-upgrade_server --recover\" undoes it"
#define SUM_KEY "sha256="

/* Set when this run already said what there is to say about the journal. */
static bool muted;

static const char *state_base(void)
{
	const char *env = getenv("GMDB_STATE_DIR");
	return env && *env ? env : GM_STATE_DIR;
}

void gm_journal_init(struct gm_journal *j, const char *dir)
{
	memset(j, 0, sizeof(*j));
	j->lock_fd = -1;
	j->sd.fd = -1;
	j->dir = gm_xstrdup(dir ? dir : state_base());
	j->path = gm_xasprintf("%s/%s", j->dir, JOURNAL_NAME);
	j->lock = gm_xasprintf("%s/%s", j->dir, LOCK_NAME);
}

void gm_journal_release(struct gm_journal *j)
{
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	gm_safefile_dir_close(&j->sd);
	free(j->dir);
	free(j->path);
	free(j->lock);
	gm_strv_release(&j->keys);
	gm_strv_release(&j->vals);
	memset(j, 0, sizeof(*j));
	j->lock_fd = -1;
	j->sd.fd = -1;
}

/* Open the state directory (1), or find it missing (0). */
static int open_dir(struct gm_journal *j, bool create, struct gm_error *err)
{
	if (j->sd.fd >= 0)
		return 1;
	gm_safefile_dir_close(&j->sd);
	return gm_safefile_dir_open(&j->sd, j->dir, create, 0755, err);
}

int gm_journal_lock(struct gm_journal *j, struct gm_error *err)
{
	int rc = open_dir(j, true, err);

	if (rc < 0)
		return rc;
	if ((rc = gm_safefile_open(&j->sd, LOCK_NAME, true, 0644, &j->lock_fd, err)) < 0)
		return rc;
	if (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			return gm_error_set(err, GM_EFAIL, "could not lock \"%s\": %s", j->lock, strerror(errno));
		gm_error_set(err, GM_ELOCKED, "a downtime procedure is running (it holds \"%s\")", j->lock);
		gm_error_hint(err, "Wait for it to finish.");
		return GM_ELOCKED;
	}
	return GM_OK;
}

const char *gm_journal_get(const struct gm_journal *j, const char *key)
{
	for (size_t i = j->keys.n; i-- > 0;)
		if (strcmp(j->keys.v[i], key) == 0)
			return j->vals.v[i];
	return NULL;
}

bool gm_journal_has(const struct gm_journal *j, const char *key, const char *value)
{
	for (size_t i = 0; i < j->keys.n; i++)
		if (strcmp(j->keys.v[i], key) == 0 && strcmp(j->vals.v[i], value) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* The format (pure)                                                   */
/* ------------------------------------------------------------------ */

static bool key_ok(const char *k, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-'))
			return false;
	return true;
}

static void escape(struct gm_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\')
			gm_buf_adds(b, "\\\\");
		else if (*p == '\n')
			gm_buf_adds(b, "\\n");
		else if (*p == '\r')
			gm_buf_adds(b, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			gm_buf_addf(b, "\\x%02x", *p);
		else
			gm_buf_addc(b, (char)*p);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gm_journal_format(const struct gm_strv *keys, const struct gm_strv *vals, struct gm_buf *out)
{
	size_t start = out->len;
	char sum[65];

	gm_buf_addf(out, MAGIC " %d\n" COMMENT "\n", FORMAT_VERSION);
	for (size_t i = 0; i < keys->n; i++) {
		gm_buf_adds(out, keys->v[i]);
		gm_buf_addc(out, '=');
		escape(out, vals->v[i]);
		gm_buf_addc(out, '\n');
	}
	gm_sha256_hex(out->data + start, out->len - start, sum);
	gm_buf_addf(out, SUM_KEY "%s\n", sum);
}

static const char hand_hint[] =
	"Nothing was undone. Check by hand what the procedure may have left: the logon banner of its "
	"databases (gm-banner DATABASE show: an upgrade or fixup notice; gm-banner DATABASE unnotice takes it "
	"out), their connection limit (SELECT datname, datconnlimit FROM pg_database; ALTER DATABASE ... "
	"CONNECTION LIMIT -1, or the limit it had), remote access (gm-hba-lock status; gm-hba-lock unlock), "
	"and a database left behind: an upgrade's target gnumed_vN (its comment starts with \"gmdb: upgrade in "
	"progress\") or a fixup's snapshot DATABASE_gmdb_snapshot. Then remove the journal by hand.";

/* The problem found at line `line` (0: the file as a whole). */
static int bad(struct gm_error *err, const char *name, size_t line, const char *what)
{
	if (line)
		gm_error_set(err, GM_ECHECK, "could not understand the journal \"%s\": line %zu %s", name, line, what);
	else
		gm_error_set(err, GM_ECHECK, "could not understand the journal \"%s\": %s", name, what);
	gm_error_hint(err, "%s", hand_hint);
	return GM_ECHECK;
}

int gm_journal_parse(const char *text, size_t len, const char *name, struct gm_strv *keys, struct gm_strv *vals,
		     struct gm_error *err)
{
	struct gm_strv k = GM_STRV_INIT, v = GM_STRV_INIT;
	const char *sumline = NULL, *nl, *p;
	size_t line = 1, body_len;
	char want[65];
	int rc = GM_ECHECK;

	if (len == 0)
		return bad(err, name, 0, "it is empty");
	if (memchr(text, '\0', len))
		return bad(err, name, 0, "it holds NUL bytes (it is not a text gmdb wrote)");
	/* the first line: the format and its version */
	nl = memchr(text, '\n', len);
	if (len >= strlen(MAGIC) + 1 && strncmp(text, MAGIC " ", strlen(MAGIC) + 1) == 0) {
		const char *ver = text + strlen(MAGIC) + 1;
		size_t n = nl ? (size_t)(nl - ver) : len - (size_t)(ver - text);
		char *vs = gm_xstrndup(ver, n);
		int version;
		if (!nl) {
			free(vs);
			return bad(err, name, 0, "it ends after its first line (it is truncated)");
		}
		if (n == 0 || n > 6 || strspn(vs, "0123456789") != n) {
			char *what = gm_xasprintf("has a format version gmdb does not know (\"%s\")", vs);
			free(vs);
			bad(err, name, 1, what);
			free(what);
			return GM_ECHECK;
		}
		version = atoi(vs);
		free(vs);
		if (version < FORMAT_VERSION_MIN || version > FORMAT_VERSION) {
			char *what = gm_xasprintf("it is in format %d, written by %s gmdb; this gmdb reads formats %d to %d",
						  version, version > FORMAT_VERSION ? "a newer" : "an older", FORMAT_VERSION_MIN,
						  FORMAT_VERSION);
			bad(err, name, 0, what);
			free(what);
			if (version > FORMAT_VERSION)
				gm_error_hint(err, "Run --recover with the gmdb that wrote it. %s", hand_hint);
			return GM_ECHECK;
		}
	} else if (len >= 7 && strncmp(text, "# gmdb:", 7) == 0) {
		bad(err, name, 0, "it was written by an older gmdb, without a format version and checksum, "
				  "so it cannot be told from a damaged or forged one");
		gm_error_detail(err, "Read it (it is text: one step per \"intent=\" line, in order) to see what that "
				     "procedure had done.");
		return GM_ECHECK;
	} else {
		return bad(err, name, 0, "it does not start with \"" MAGIC " N\" (it is not a journal gmdb wrote, "
					 "or it is damaged)");
	}
	/* the last line: the checksum, and nothing after it */
	{
		const char *sum = memmem(text, len, "\n" SUM_KEY, strlen(SUM_KEY) + 1);
		const char *end = sum ? memchr(sum + 1, '\n', len - (size_t)(sum + 1 - text)) : NULL;
		if (end && end + 1 < text + len)
			return bad(err, name, 0, "something follows its checksum line (bytes were added)");
	}
	if (text[len - 1] != '\n')
		return bad(err, name, 0, "its last line is incomplete (it is truncated)");
	for (p = text + len - 1; p > text && p[-1] != '\n'; p--)
		;
	sumline = p;
	if (sumline == text || strncmp(sumline, SUM_KEY, strlen(SUM_KEY)) != 0)
		return bad(err, name, 0, "its last line is not its checksum (it is truncated, or something was added)");
	body_len = (size_t)(sumline - text);
	{
		const char *hex = sumline + strlen(SUM_KEY);
		size_t n = len - 1 - (size_t)(hex - text);
		gm_sha256_hex(text, body_len, want);
		if (n != 64 || strncmp(hex, want, 64) != 0)
			return bad(err, name, 0, "its checksum does not match its content (it was changed or damaged)");
	}
	/* the records */
	p = nl + 1;
	line = 2;
	while (p < text + body_len) {
		const char *eol = memchr(p, '\n', (size_t)(text + body_len - p));
		const char *eq;
		struct gm_buf val = GM_BUF_INIT;
		size_t n = (size_t)(eol - p);

		if (n > 0 && p[0] == '#')
			goto next;
		eq = memchr(p, '=', n);
		if (!eq || !key_ok(p, (size_t)(eq - p))) {
			bad(err, name, line, "is not a record (key=value)");
			goto out;
		}
		for (const char *c = eq + 1; c < eol; c++) {
			if (*c != '\\') {
				gm_buf_addc(&val, *c);
				continue;
			}
			if (c + 1 < eol && (c[1] == '\\' || c[1] == 'n' || c[1] == 'r')) {
				gm_buf_addc(&val, c[1] == 'n' ? '\n' : c[1] == 'r' ? '\r' : '\\');
				c++;
			} else if (c + 3 < eol && c[1] == 'x' && hexval(c[2]) >= 0 && hexval(c[3]) >= 0 &&
				   hexval(c[2]) * 16 + hexval(c[3]) != 0) {
				gm_buf_addc(&val, (char)(hexval(c[2]) * 16 + hexval(c[3])));
				c += 3;
			} else {
				gm_buf_release(&val);
				bad(err, name, line, "has a bad escape sequence");
				goto out;
			}
		}
		gm_strv_push_owned(&k, gm_xstrndup(p, (size_t)(eq - p)));
		if (!val.data)
			gm_buf_adds(&val, "");
		gm_strv_push_owned(&v, gm_buf_detach(&val));
	next:
		p = eol + 1;
		line++;
	}
	for (size_t i = 0; i < k.n; i++) {
		gm_strv_push(keys, k.v[i]);
		gm_strv_push(vals, v.v[i]);
	}
	rc = GM_OK;
out:
	gm_strv_release(&k);
	gm_strv_release(&v);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The file                                                            */
/* ------------------------------------------------------------------ */

static int write_journal(struct gm_journal *j, struct gm_error *err)
{
	struct gm_buf b = GM_BUF_INIT;
	int rc = open_dir(j, true, err);

	if (rc >= 0) {
		gm_journal_format(&j->keys, &j->vals, &b);
		rc = gm_safefile_write(&j->sd, JOURNAL_NAME, b.data, b.len, 0644, err);
	}
	if (rc < 0)
		gm_error_prefix(err, "could not write the journal \"%s\"", j->path);
	gm_buf_release(&b);
	return rc < 0 ? rc : GM_OK;
}

int gm_journal_set(struct gm_journal *j, const char *key, const char *value, struct gm_error *err)
{
	gm_strv_push(&j->keys, key);
	gm_strv_push(&j->vals, value);
	return write_journal(j, err);
}

int gm_journal_setf(struct gm_journal *j, const char *key, struct gm_error *err, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int rc;

	va_start(ap, fmt);
	v = gm_xvasprintf(fmt, ap);
	va_end(ap);
	rc = gm_journal_set(j, key, v, err);
	free(v);
	return rc;
}

void gm_journal_forget(struct gm_journal *j)
{
	gm_strv_release(&j->keys);
	gm_strv_release(&j->vals);
}

int gm_journal_read(struct gm_journal *j, struct gm_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	gm_journal_forget(j);
	if ((rc = open_dir(j, false, err)) <= 0)
		return rc;
	rc = gm_safefile_read(&j->sd, JOURNAL_NAME, &text, &len, err);
	if (rc == GM_ECHECK && err) {
		char *was = err->hint ? gm_xstrdup(err->hint) : NULL;
		gm_error_hint(err, "%s%s%s", was ? was : "", was ? " " : "", hand_hint);
		free(was);
	}
	if (rc == 1)
		rc = gm_journal_parse(text, len, j->path, &j->keys, &j->vals, err) < 0 ? GM_ECHECK : 1;
	free(text);
	return rc;
}

int gm_journal_remove(struct gm_journal *j, struct gm_error *err)
{
	int rc = open_dir(j, false, err);
	if (rc <= 0)
		return rc;
	return gm_safefile_remove(&j->sd, JOURNAL_NAME, err);
}

char *gm_journal_describe(const struct gm_journal *j)
{
	const char *kind = gm_journal_get(j, "procedure");
	if (kind && strcmp(kind, "upgrade") == 0)
		return gm_xasprintf("upgrade %s %s", gm_journal_get(j, "from") ? gm_journal_get(j, "from") : "?",
				    gm_journal_get(j, "to") ? gm_journal_get(j, "to") : "?");
	return gm_xasprintf("fixup of \"%s\"", gm_journal_get(j, "source") ? gm_journal_get(j, "source") : "?");
}

const char *gm_journal_tool(const struct gm_journal *j)
{
	const char *kind = gm_journal_get(j, "procedure");
	return kind && strcmp(kind, "fixup") == 0 ? "gm-fixup_server" : "gm-upgrade_server";
}

char *gm_journal_recover_command(const struct gm_journal *j)
{
	char *args = gm_server_args(gm_journal_get(j, "server_host"), gm_journal_get(j, "server_port"));
	char *cmd = gm_xasprintf("%s --recover%s", gm_journal_tool(j), args);
	free(args);
	return cmd;
}

/* ------------------------------------------------------------------ */
/* The warning every tool gives                                        */
/* ------------------------------------------------------------------ */

void gm_journal_mute_warning(void)
{
	muted = true;
}

int gm_journal_unfinished(struct gm_journal *j, struct gm_error *err)
{
	int fd = -1, rc;
	bool running = false;

	/* a state directory this user may not read, or none: nothing to say */
	if (open_dir(j, false, NULL) <= 0)
		return 0;
	{
		struct stat st;
		if (fstatat(j->sd.fd, JOURNAL_NAME, &st, AT_SYMLINK_NOFOLLOW) != 0)
			return 0;
	}
	/* a procedure that runs holds the lock: not unfinished */
	rc = gm_safefile_open(&j->sd, LOCK_NAME, false, 0644, &fd, NULL);
	if (rc == 1) {
		running = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
		close(fd);
	}
	if (running)
		return 2;
	return gm_journal_read(j, err);
}

void gm_journal_warn_unfinished(void)
{
	struct gm_journal j;
	struct gm_error err = GM_ERROR_INIT;
	int rc;

	if (muted)
		return;
	muted = true;
	gm_journal_init(&j, NULL);
	rc = gm_journal_unfinished(&j, &err);
	if (rc == 1) {
		char *what = gm_journal_describe(&j), *cmd = gm_journal_recover_command(&j);
		gm_log(GM_LOG_WARNING, "an unfinished downtime procedure (%s, started %s, process %s): as root, run:\n    %s",
		       what, gm_journal_get(&j, "started") ? gm_journal_get(&j, "started") : "?",
		       gm_journal_get(&j, "pid") ? gm_journal_get(&j, "pid") : "?", cmd);
		free(what);
		free(cmd);
	} else if (rc < 0 && err.message) {
		gm_log(GM_LOG_WARNING, "a downtime procedure may be unfinished, but %s", err.message);
		gm_log(GM_LOG_WARNING, "\"gm-upgrade_server --recover\" says what to check by hand");
	}
	gm_error_release(&err);
	gm_journal_release(&j);
}
