/*
 * hba.c - gm-hba-lock: lock remote access to the cluster by rewriting its
 * pg_hba.conf, and put the exact original back
 *
 * lock:   find the file through the server (hba_file), keep its exact bytes
 *         in the state directory, put a candidate in place whose network
 *         rules are disabled, let the server check it (pg_hba_file_rules
 *         reads the file at hba_file's path; if it flags anything the
 *         original goes back before any reload), reload, and see the
 *         server load it.
 * unlock: put the kept bytes back, unless the file was changed meanwhile.
 *
 * The server only reads pg_hba.conf when it starts or reloads, so the
 * candidate sits unchecked at the real path only for the few milliseconds
 * of one query. Files are replaced atomically (a new file in the same
 * directory, renamed over the old one) with the old one's owner and mode.
 * Run as root, the process stays root for the file work and connects as
 * the postgres OS user (GM_CONN_KEEP_ROOT). One run at a time: an flock on
 * <state>/hba-lock/lock. The state directory belongs to the postgres OS
 * user: everything in it is reached through safefile.c (no links, FIFOs,
 * foreign files).
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LABEL "gm-hba-lock"

/* ------------------------------------------------------------------ */
/* The pure part: rewriting the text                                   */
/* ------------------------------------------------------------------ */

static const char *const network_types[] = {
	"host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc", NULL
};
static const char *const include_types[] = {
	"include", "include_if_exists", "include_dir", NULL
};

static bool in_list(const char *word, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(word, *list) == 0)
			return true;
	return false;
}

/* PostgreSQL's pg_isblank(). */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The first token of a logical line, quotes removed (the server compares
 * the record type without regard to quoting); NULL for a comment or a
 * blank line. */
static char *first_token(const char *s, size_t n)
{
	struct gm_buf b = GM_BUF_INIT;
	bool quoted = false;
	size_t i = 0;

	while (i < n && is_blank(s[i]))
		i++;
	if (i >= n || s[i] == '#')
		return NULL;
	for (; i < n; i++) {
		if (s[i] == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && (is_blank(s[i]) || s[i] == ',' || s[i] == '#'))
			break;
		gm_buf_addc(&b, s[i]);
	}
	return gm_buf_detach(&b);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* How one byte of a comment line is written: control characters as \xNN,
 * a backslash that would end the line (the server's line continuation)
 * as \x5c, all else as it is. */
static size_t comment_char(char buf[8], const unsigned char *s, size_t i, size_t n)
{
	if (s[i] < 0x20 || s[i] == 0x7f || (s[i] == '\\' && i == n - 1))
		return (size_t)snprintf(buf, 8, "\\x%02x", s[i]);
	buf[0] = (char)s[i];
	return 1;
}

/* Append one line of a comment: the n bytes at s (no newline among them),
 * at most GM_HBA_COMMENT_MAX bytes wide. */
static void comment_line(struct gm_buf *out, const unsigned char *s, size_t n)
{
	size_t prefix, width, cut = 0;
	char buf[8];

	/* trailing blanks go: an editor that strips them would leave a
	 * backslash before them at the end of the line */
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	prefix = n == 0 ? 1 : s[0] == '#' ? 0 : 2;
	width = prefix;
	for (size_t i = 0; i < n; i++)
		width += comment_char(buf, s, i, n);
	if (width <= GM_HBA_COMMENT_MAX) {
		cut = n;
	} else {
		/* as much as fits before "...", not ending inside a UTF-8 sequence */
		for (width = prefix; cut < n; cut++) {
			size_t k = comment_char(buf, s, cut, n);
			if (width + k > GM_HBA_COMMENT_MAX - 3)
				break;
			width += k;
		}
		while (cut > 0 && (s[cut] & 0xc0) == 0x80)
			cut--;
	}
	gm_buf_add(out, "# ", prefix);
	for (size_t i = 0; i < cut; i++)
		gm_buf_add(out, buf, comment_char(buf, s, i, n));
	gm_buf_adds(out, cut < n ? "...\n" : "\n");
}

size_t gm_hba_comment(struct gm_buf *out, const char *text)
{
	size_t lines = 0;

	if (!text || !*text)
		return 0;
	while (*text) {
		size_t n = strcspn(text, "\n");
		comment_line(out, (const unsigned char *)text, n);
		lines++;
		text += n;
		if (*text == '\n')
			text++;
	}
	return lines;
}

int gm_hba_rewrite(const char *text, size_t len, const char *file, const char *header,
		   struct gm_buf *out, struct gm_hba_rewrite_info *info, struct gm_error *err)
{
	static const char intro[] =
		"# Remote access is locked by gm-hba-lock: the two rules below reject every\n"
		"# TCP/IP connection, and the network rules of the original are commented out\n"
		"# (\"" GM_HBA_MARK "\"). \"gm-hba-lock unlock\" puts the original back.\n";
	static const char rules[] =
		"host    all           all    all    reject\n"
		"host    replication   all    all    reject\n";
	struct gm_buf result = GM_BUF_INIT, logical = GM_BUF_INIT;
	size_t pos = 0, line = 1;
	int rc = GM_OK;

	memset(info, 0, sizeof(*info));
	gm_buf_adds(&result, intro);
	gm_hba_comment(&result, header);
	gm_buf_adds(&result, rules);
	info->header_lines = count_lines(gm_buf_str(&result));

	while (pos < len) {
		size_t start = pos, first_line = line;
		char *type;

		/* one record: physical lines joined where one ends in a backslash
		 * (before comments are stripped, as the server does; a backslash
		 * on the last line of the file continues nothing) */
		gm_buf_reset(&logical);
		for (;;) {
			const char *nl = memchr(text + pos, '\n', len - pos);
			size_t eol = nl ? (size_t)(nl - text) : len;
			size_t next = nl ? eol + 1 : len;
			size_t end = eol;
			bool cont;

			while (end > pos && (text[end - 1] == '\r'))
				end--;
			cont = end > pos && text[end - 1] == '\\' && next < len;
			gm_buf_add(&logical, text + pos, cont ? end - pos - 1 : end - pos);
			gm_buf_addc(&logical, ' ');
			pos = next;
			line++;
			if (!cont)
				break;
		}

		type = first_token(gm_buf_str(&logical), logical.len);
		if (type && in_list(type, include_types)) {
			rc = gm_error_set(err, GM_ECHECK, "file \"%s\" line %zu includes other files (\"%s\"), "
					  "which gm-hba-lock does not follow", file, first_line, type);
			gm_error_detail(err, "The rules of included files would stay active, so remote "
					     "access could not be locked reliably.");
			gm_error_hint(err, "Move the included rules into \"%s\" itself, or lock remote access by hand.",
				      file);
			free(type);
			goto out;
		}
		if (type && in_list(type, network_types)) {
			/* every physical line commented out: the record as a whole,
			 * whatever its fields (also @file inclusions) hold */
			for (size_t p = start; p < pos;) {
				const char *nl = memchr(text + p, '\n', pos - p);
				size_t next = nl ? (size_t)(nl - text) + 1 : pos;
				gm_buf_adds(&result, GM_HBA_MARK);
				gm_buf_add(&result, text + p, next - p);
				p = next;
			}
			info->disabled++;
		} else {
			gm_buf_add(&result, text + start, pos - start);
			if (type)
				info->kept++;
		}
		free(type);
	}
	gm_buf_add(out, gm_buf_str(&result), result.len);
out:
	gm_buf_release(&result);
	gm_buf_release(&logical);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Who may run, and the run's description                              */
/* ------------------------------------------------------------------ */

static int check_user(struct gm_error *err)
{
	uid_t uid = geteuid();
	struct passwd *pg = getpwnam("postgres");
	struct passwd *me;

	if (uid == 0 || (pg && uid == pg->pw_uid))
		return GM_OK;
	me = getpwuid(uid);
	gm_error_set(err, GM_EFAIL, "gm-hba-lock must run as root or as the OS user \"postgres\"");
	gm_error_detail(err, "It runs as \"%s\" (uid %u), who may not change the cluster's pg_hba.conf.",
			me ? me->pw_name : "?", (unsigned)uid);
	gm_error_hint(err, "Run it as root (sudo) or as postgres (runuser -u postgres -- gm-hba-lock ...).");
	return GM_EFAIL;
}

/* s with its control characters as \xNN (for one line of the state file). */
static char *one_line_text(const char *s)
{
	struct gm_buf b = GM_BUF_INIT;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			gm_buf_addf(&b, "\\x%02x", (unsigned char)*s);
		else
			gm_buf_addc(&b, *s);
	}
	return gm_buf_detach(&b);
}

static char *run_user(void)
{
	struct passwd *pw = getpwuid(getuid());
	const char *sudo = getenv("SUDO_USER");
	const char *name = pw ? pw->pw_name : "?";
	char *raw, *r;

	if (sudo && *sudo && getuid() == 0)
		raw = gm_xasprintf("%s (sudo from %s)", name, sudo);
	else
		raw = gm_xstrdup(name);
	r = one_line_text(raw);
	free(raw);
	return r;
}

/* Append word to b as the shell would read it back: as it is when it is
 * plain, else in '...', or in $'...' with C escapes when it holds a quote
 * or a control character. Never ends in a backslash, never holds a
 * control character. */
static void add_shell_word(struct gm_buf *b, const char *word)
{
	const char *p;
	bool plain = *word != '\0', quotable = true;

	for (p = word; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (!strchr("@%_+=:,./-", c) && !(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z'))
			plain = false;
		if (c < 0x20 || c == 0x7f || c == '\'')
			quotable = false;
	}
	if (plain) {
		gm_buf_adds(b, word);
	} else if (quotable) {
		gm_buf_addc(b, '\'');
		gm_buf_adds(b, word);
		gm_buf_addc(b, '\'');
	} else {
		gm_buf_adds(b, "$'");
		for (p = word; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '\\' || c == '\'')
				gm_buf_addf(b, "\\%c", c);
			else if (c == '\n')
				gm_buf_adds(b, "\\n");
			else if (c == '\t')
				gm_buf_adds(b, "\\t");
			else if (c == '\r')
				gm_buf_adds(b, "\\r");
			else if (c < 0x20 || c == 0x7f)
				gm_buf_addf(b, "\\x%02x", c);
			else
				gm_buf_addc(b, (char)c);
		}
		gm_buf_addc(b, '\'');
	}
}

/* The run's command line, each argument as the shell would read it back
 * (argv[0] without its directory: .libs/ when run from the build tree). */
static char *run_command(void)
{
	struct gm_buf b = GM_BUF_INIT;
	char *data = NULL;
	size_t len = 0;

	if (gm_read_file("/proc/self/cmdline", &data, &len, NULL) < 0 || len == 0) {
		free(data);
		return gm_xstrdup(gm_log_progname());
	}
	for (size_t i = 0; i < len; i += strlen(data + i) + 1) {  /* data[len] is a NUL too */
		const char *word = data + i;
		if (i == 0 && strrchr(word, '/'))
			word = strrchr(word, '/') + 1;
		if (i > 0)
			gm_buf_addc(&b, ' ');
		add_shell_word(&b, word);
	}
	free(data);
	return gm_buf_detach(&b);
}

static char *utc_stamp(time_t t)
{
	char buf[64];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	return gm_xstrdup(buf);
}

/* ------------------------------------------------------------------ */
/* The state directory                                                 */
/* ------------------------------------------------------------------ */

struct state_dir {
	char *dir;       /* <state>/hba-lock */
	char *lock;      /* .../lock: flock()ed by the running gm-hba-lock */
	char *state;     /* .../state: what was locked, when, by whom */
	char *original;  /* .../original: the exact bytes of the file locked */
	struct gm_safedir base;  /* <state> */
	struct gm_safedir d;     /* <state>/hba-lock: every file through it (safefile.c) */
	int lock_fd;
	bool exists;
};

struct lock_state {
	char *path;            /* the pg_hba.conf locked */
	char *locked_at;       /* "YYYY-MM-DD HH:MM:SS UTC" */
	long long epoch;
	long long pid;
	char *user;
	char *command;
	char *original_sha256;
	char *locked_sha256;
};

static void lock_state_release(struct lock_state *ls)
{
	free(ls->path);
	free(ls->locked_at);
	free(ls->user);
	free(ls->command);
	free(ls->original_sha256);
	free(ls->locked_sha256);
	memset(ls, 0, sizeof(*ls));
}

static const char *state_base(const struct gm_hba_opts *opts)
{
	const char *env = getenv("GMDB_STATE_DIR");
	if (opts->state_dir && *opts->state_dir)
		return opts->state_dir;
	if (env && *env)
		return env;
	return GM_STATE_DIR;
}

static void state_dir_release(struct state_dir *sd)
{
	if (sd->lock_fd >= 0)
		close(sd->lock_fd);  /* releases the flock */
	free(sd->dir);
	free(sd->lock);
	free(sd->state);
	free(sd->original);
	gm_safefile_dir_close(&sd->base);
	gm_safefile_dir_close(&sd->d);
	memset(sd, 0, sizeof(*sd));
	sd->lock_fd = -1;
	sd->base.fd = sd->d.fd = -1;
}

/*
 * Open the state directory and take its lock (exclusive to change things,
 * shared to read them). create: make the directory if need be; otherwise
 * a missing directory means nothing is locked (sd->exists false, no lock
 * taken).
 */
static int state_open(const struct gm_hba_opts *opts, struct state_dir *sd, bool exclusive, bool create,
		      struct gm_error *err)
{
	const char *base = state_base(opts);
	int rc;

	memset(sd, 0, sizeof(*sd));
	sd->lock_fd = -1;
	sd->base.fd = sd->d.fd = -1;
	sd->dir = gm_xasprintf("%s/hba-lock", base);
	sd->lock = gm_xasprintf("%s/lock", sd->dir);
	sd->state = gm_xasprintf("%s/state", sd->dir);
	sd->original = gm_xasprintf("%s/original", sd->dir);
	/* root makes the directories the postgres OS user's (gm_safefile_owner),
	 * so that runs as postgres work later too; nothing in them is used
	 * through a link or when it is not a file of root or postgres */
	rc = gm_safefile_dir_open(&sd->base, base, create, 0755, err);
	if (rc < 0 && create && errno == EACCES)
		gm_error_hint(err, "Run gm-hba-lock as root once: it makes the directory usable by postgres too.");
	if (rc <= 0)
		return rc;
	if ((rc = gm_safefile_dir_at(&sd->d, &sd->base, "hba-lock", create, 0700, err)) <= 0)
		return rc;
	sd->exists = true;
	if ((rc = gm_safefile_open(&sd->d, "lock", true, 0600, &sd->lock_fd, err)) < 0)
		return rc;
	if (flock(sd->lock_fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n;
		if (errno != EWOULDBLOCK)
			return gm_error_set(err, GM_EFAIL, "could not lock file \"%s\": %s", sd->lock, strerror(errno));
		n = pread(sd->lock_fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		gm_error_set(err, GM_ELOCKED, "another gm-hba-lock run holds the lock \"%s\"", sd->lock);
		if (*buf)
			gm_error_detail(err, "Its process id is %s.", buf);
		gm_error_hint(err, "Wait for it to finish, then run gm-hba-lock again.");
		return GM_ELOCKED;
	}
	if (exclusive) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (ftruncate(sd->lock_fd, 0) < 0 || pwrite(sd->lock_fd, pid, (size_t)n, 0) != n)
			gm_log(GM_LOG_DEBUG, "could not write the process id to \"%s\": %s", sd->lock, strerror(errno));
	}
	return GM_OK;
}

/* Read the state: 1 locked (ls filled), 0 not locked, or an error. */
static int state_read(const struct state_dir *sd, struct lock_state *ls, struct gm_error *err)
{
	char *text, *line, *save = NULL;
	int rc;

	memset(ls, 0, sizeof(*ls));
	if (!sd->exists)
		return 0;
	rc = gm_safefile_read(&sd->d, "state", &text, NULL, err);
	if (rc <= 0)
		return rc;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		const char *v;
		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (strcmp(line, "path") == 0)
			ls->path = gm_xstrdup(v);
		else if (strcmp(line, "locked_at") == 0)
			ls->locked_at = gm_xstrdup(v);
		else if (strcmp(line, "locked_at_epoch") == 0)
			ls->epoch = atoll(v);
		else if (strcmp(line, "pid") == 0)
			ls->pid = atoll(v);
		else if (strcmp(line, "user") == 0)
			ls->user = gm_xstrdup(v);
		else if (strcmp(line, "command") == 0)
			ls->command = gm_xstrdup(v);
		else if (strcmp(line, "original_sha256") == 0)
			ls->original_sha256 = gm_xstrdup(v);
		else if (strcmp(line, "locked_sha256") == 0)
			ls->locked_sha256 = gm_xstrdup(v);
	}
	free(text);
	if (!ls->path || !ls->original_sha256 || !ls->locked_sha256) {
		lock_state_release(ls);
		gm_error_set(err, GM_EFAIL, "state file \"%s\" is incomplete", sd->state);
		gm_error_hint(err, "Compare pg_hba.conf with \"%s\" and remove \"%s\" by hand.", sd->original, sd->state);
		return GM_EFAIL;
	}
	return 1;
}

static int state_write(const struct state_dir *sd, const struct lock_state *ls, struct gm_error *err)
{
	struct gm_buf b = GM_BUF_INIT;
	int rc;

	gm_buf_addf(&b, "# gm-hba-lock: remote access locked; \"gm-hba-lock unlock\" puts \"original\" back\n");
	gm_buf_addf(&b, "path=%s\n", ls->path);
	gm_buf_addf(&b, "locked_at=%s\n", ls->locked_at);
	gm_buf_addf(&b, "locked_at_epoch=%lld\n", ls->epoch);
	gm_buf_addf(&b, "pid=%lld\n", ls->pid);
	gm_buf_addf(&b, "user=%s\n", ls->user);
	gm_buf_addf(&b, "command=%s\n", ls->command);
	gm_buf_addf(&b, "original_sha256=%s\n", ls->original_sha256);
	gm_buf_addf(&b, "locked_sha256=%s\n", ls->locked_sha256);
	rc = gm_safefile_write(&sd->d, "state", gm_buf_str(&b), b.len, 0600, err);
	gm_buf_release(&b);
	return rc;
}

/* Keep data as file name of the state directory (mode 0600). */
static int state_save_copy(const struct state_dir *sd, const char *name, const char *data, size_t len,
			   struct gm_error *err)
{
	return gm_safefile_write(&sd->d, name, data, len, 0600, err);
}

/* The state goes first: a run that stops between the two leaves a copy
 * of the original behind, never a lock without its original. */
static int state_clear(const struct state_dir *sd, struct gm_error *err)
{
	int rc = gm_safefile_remove(&sd->d, "state", err);
	return rc < 0 ? rc : gm_safefile_remove(&sd->d, "original", err);
}

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

struct server {
	PGconn *conn;
	char *hba_file;
	char *loaded_at;
	bool over_socket;
};

static void server_close(struct server *srv)
{
	gm_conn_close(srv->conn);
	free(srv->hba_file);
	free(srv->loaded_at);
	memset(srv, 0, sizeof(*srv));
}

static int server_open(const struct gm_hba_opts *opts, struct server *srv, struct gm_error *err)
{
	PGresult *res;

	memset(srv, 0, sizeof(*srv));
	/* without -d: the maintenance database postgres, else (a cluster
	 * without it) template1 */
	if (opts->dbname && *opts->dbname)
		srv->conn = gm_conn_open_ex(opts->dbname, NULL, LABEL, GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT, err);
	else
		srv->conn = gm_conn_open_maintenance(LABEL, GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT, err);
	if (!srv->conn)
		return GM_EFAIL;
	res = gm_db_query(srv->conn, gm_sql("hba-server"), 0, NULL, err);
	if (!res) {
		gm_error_prefix(err, "could not find the server's pg_hba.conf");
		return GM_EFAIL;
	}
	srv->hba_file = gm_xstrdup(PQgetvalue(res, 0, 0));
	srv->over_socket = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	srv->loaded_at = gm_xstrdup(PQgetvalue(res, 0, 2));
	PQclear(res);
	if (srv->hba_file[0] != '/')  /* servers make it absolute when they start */
		return gm_error_set(err, GM_ECHECK, "the server's hba_file \"%s\" is not an absolute path",
				    srv->hba_file);
	gm_log(GM_LOG_INFO, "the server's pg_hba.conf is \"%s\"", srv->hba_file);
	return GM_OK;
}


/* The shared helpers (pgconf-file.c) for this server's pg_hba.conf. */
static int server_sees(struct server *srv, const char *data, size_t len, const char *what, struct gm_error *err)
{
	return gm_pgconf_server_sees(srv->conn, srv->hba_file, data, len, what, LABEL, err);
}

static int need_socket(const struct server *srv, struct gm_error *err)
{
	if (srv->over_socket)
		return GM_OK;
	gm_error_set(err, GM_EUSAGE, "gm-hba-lock must reach the server over its local socket");
	gm_error_detail(err, "Locking remote access would cut off the tool's own TCP/IP connection, and "
			     "pg_hba.conf must be a file on this machine.");
	gm_error_hint(err, "Leave out -h, or give the socket directory (-h /var/run/postgresql).");
	return GM_EUSAGE;
}

/* The errors pg_hba_file_rules shows for the file at hba_file's path:
 * 0 none, 1 some (detail in *detail), or an error. */
static int server_file_errors(struct server *srv, size_t header_lines, char **detail, struct gm_error *err)
{
	return gm_pgconf_file_errors(srv->conn, "hba-errors", srv->hba_file, header_lines, LABEL, detail, err);
}

/* Reload, and wait (up to 10 s) until a new connection sees a
 * configuration loaded after srv->loaded_at. */
static int server_reload(struct server *srv, struct gm_error *err)
{
	return gm_pgconf_reload(srv->conn, srv->loaded_at, LABEL, err);
}

/* ------------------------------------------------------------------ */
/* Remote sessions                                                     */
/* ------------------------------------------------------------------ */

static PGresult *remote_sessions(struct server *srv, struct gm_error *err)
{
	PGresult *res = gm_db_query(srv->conn, gm_sql("hba-sessions"), 0, NULL, err);
	if (!res)
		gm_error_prefix(err, "could not list the remote sessions");
	return res;
}

static char *session_line(const PGresult *res, int i)
{
	return gm_xasprintf("pid %s: user \"%s\", database \"%s\", from %s port %s, since %s (%s)",
			    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
			    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
			    PQgetisnull(res, i, 6) ? "state unknown" : PQgetvalue(res, i, 6));
}

/* Say which remote sessions are open; with --terminate end them, after
 * --grace seconds. */
static int handle_sessions(struct server *srv, const struct gm_hba_opts *opts, struct gm_error *err)
{
	PGresult *res = remote_sessions(srv, err);
	int n, ended = 0;

	if (!res)
		return GM_EFAIL;
	n = PQntuples(res);
	if (n == 0) {
		gm_log(GM_LOG_INFO, "no remote sessions are open");
		PQclear(res);
		return GM_OK;
	}
	if (opts->terminate && opts->grace > 0) {
		gm_log(GM_LOG_NOTICE, "%d remote session%s still open: ending %s in %d second%s", n, n == 1 ? " is" : "s are",
		       n == 1 ? "it" : "them", opts->grace, opts->grace == 1 ? "" : "s");
		PQclear(res);
		sleep((unsigned)opts->grace);
		if (!(res = remote_sessions(srv, err)))
			return GM_EFAIL;
		n = PQntuples(res);
	}
	if (!opts->terminate) {
		gm_log(GM_LOG_NOTICE, "%d remote session%s still open (new ones are refused):", n,
		       n == 1 ? " is" : "s are");
		for (int i = 0; i < n; i++) {
			char *l = session_line(res, i);
			gm_log(GM_LOG_NOTICE, "  %s", l);
			free(l);
		}
		if (opts->ends_sessions_later)
			gm_log(GM_LOG_NOTICE, "the procedure ends %s after %d second%s", n == 1 ? "it" : "them", opts->grace,
			       opts->grace == 1 ? "" : "s");
		else
			gm_log(GM_LOG_NOTICE, "hint: \"gm-hba-lock lock --terminate\" ends them.");
		PQclear(res);
		return GM_OK;
	}
	for (int i = 0; i < n; i++) {
		const char *pid = PQgetvalue(res, i, 0);
		char *done = NULL, *l = session_line(res, i);
		if (gm_db_value(srv->conn, gm_sql("hba-terminate"), 1, &pid, &done, err) < 0) {
			gm_error_prefix(err, "could not end remote session %s", pid);
			free(l);
			PQclear(res);
			return GM_EFAIL;
		}
		if (done && strcmp(done, "t") == 0) {
			gm_log(GM_LOG_NOTICE, "ended remote session %s", l);
			ended++;
		} else {
			gm_log(GM_LOG_INFO, "remote session %s had ended already", pid);
		}
		free(done);
		free(l);
	}
	gm_log(GM_LOG_NOTICE, "ended %d remote session%s", ended, ended == 1 ? "" : "s");
	PQclear(res);
	return GM_OK;
}

/* ------------------------------------------------------------------ */
/* lock                                                                */
/* ------------------------------------------------------------------ */

/*
 * The temporary peer grant (peer.c) of a gmdb run puts its lines on top of
 * pg_hba.conf while the run lasts, and may do so before a lock and remove
 * them after it, or the other way round. gm-hba-lock therefore first
 * removes what runs that ended left behind, and then leaves the blocks
 * of live runs on top of the file alone: the original it keeps and the
 * comparisons it makes are of the file below them, and unlock puts the
 * original back below the blocks there are then.
 */
static void recover_peer(struct server *srv)
{
	struct gm_error err = GM_ERROR_INIT;
	int removed;

	if (gm_peer_recover(srv->conn, &removed, &err) < 0) {
		gm_log_report(&err);
		gm_log(GM_LOG_WARNING, "could not remove the temporary owner access of gmdb runs that ended");
	}
	gm_error_release(&err);
}

/* The length of the live runs' blocks on top of text, and their lines. */
static size_t peer_top(const char *text, size_t len, size_t *lines)
{
	size_t top = gm_peer_top(GM_PEER_HBA, text, len);
	*lines = 0;
	for (size_t i = 0; i < top; i++)
		*lines += text[i] == '\n';
	return top;
}

static int do_lock(const struct gm_hba_opts *opts, struct state_dir *sd, struct server *srv, struct gm_error *err)
{
	struct lock_state ls;
	struct gm_hba_rewrite_info info;
	struct gm_buf cand = GM_BUF_INIT;
	struct gm_step step;
	struct stat st;
	char *orig = NULL, *header = NULL, *detail = NULL;
	char orig_sha[65], cand_sha[65];
	size_t orig_len, top, top_lines;
	time_t now = time(NULL);
	bool placed = false;
	sigset_t sigs;
	int rc, dirlock = -1;

	memset(&ls, 0, sizeof(ls));
	if ((rc = need_socket(srv, err)) < 0)
		goto out;
	recover_peer(srv);
	if ((rc = gm_pgconf_lock_dir(srv->hba_file, &dirlock, err)) < 0)
		goto out;
	if ((rc = gm_pgconf_read(srv->hba_file, LABEL, true, &orig, &orig_len, &st, err)) < 0 ||
	    (rc = server_sees(srv, orig, orig_len, "the file gm-hba-lock reads", err)) < 0)
		goto out;
	/* what the lock is about: the file below the live runs' grants */
	top = peer_top(orig, orig_len, &top_lines);
	gm_sha256_hex(orig + top, orig_len - top, orig_sha);
	rc = state_read(sd, &ls, err);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		if (strcmp(ls.path, srv->hba_file) != 0) {
			rc = gm_error_set(err, GM_ECHECK, "a lock of another file is recorded: \"%s\"", ls.path);
			gm_error_detail(err, "This server's pg_hba.conf is \"%s\"; the state is in \"%s\".",
					srv->hba_file, sd->dir);
			gm_error_hint(err, "Unlock the other cluster first (\"gm-hba-lock unlock\" with its -p/-h).");
			goto out;
		}
		if (strcmp(orig_sha, ls.locked_sha256) == 0) {
			/* the run that locked may have stopped before the reload:
			 * make sure the server uses the locked file */
			/* this run's own lock (the downtime procedure locks, then
			 * ends the sessions) is no news */
			gm_log(ls.pid == (long long)getpid() ? GM_LOG_INFO : GM_LOG_NOTICE,
			       "remote access is locked already (since %s, by run %lld of %s)",
			       ls.locked_at ? ls.locked_at : "?", ls.pid, ls.user ? ls.user : "?");
			rc = server_file_errors(srv, 0, &detail, err);  /* (line numbers of the file as it is) */
			if (rc == 1) {
				rc = gm_error_set(err, GM_ECHECK, "the server rejects the locked \"%s\"", srv->hba_file);
				gm_error_detail(err, "pg_hba_file_rules: %s", detail ? detail : "?");
				gm_error_hint(err, "The server was not reloaded. \"gm-hba-lock unlock\" puts the original back.");
			}
			if (rc == GM_OK)
				rc = server_reload(srv, err);
			if (rc == GM_OK)
				rc = handle_sessions(srv, opts, err);
			goto out;
		}
		if (strcmp(orig_sha, ls.original_sha256) != 0) {
			rc = gm_error_set(err, GM_ECHECK, "file \"%s\" was changed since gm-hba-lock locked it", srv->hba_file);
			gm_error_detail(err, "It is neither the locked file (locked %s by run %lld) nor the original.",
					ls.locked_at ? ls.locked_at : "?", ls.pid);
			gm_error_hint(err, "Run \"gm-hba-lock unlock\" (--force to discard the changes), then lock again.");
			goto out;
		}
		/* a lock that never completed (the original is in place): lock afresh */
		gm_log(GM_LOG_INFO, "the recorded lock of %s was never completed: locking afresh",
		       ls.locked_at ? ls.locked_at : "?");
		lock_state_release(&ls);
	}

	ls.path = gm_xstrdup(srv->hba_file);
	ls.locked_at = utc_stamp(now);
	ls.epoch = (long long)now;
	ls.pid = (long long)getpid();
	ls.user = run_user();
	ls.command = run_command();
	header = gm_xasprintf("# Locked %s by run %lld of %s: %s\n", ls.locked_at, ls.pid, ls.user, ls.command);
	gm_buf_add(&cand, orig, top);
	if ((rc = gm_hba_rewrite(orig + top, orig_len - top, srv->hba_file, header, &cand, &info, err)) < 0)
		goto out;
	info.header_lines += top_lines;
	gm_log(GM_LOG_INFO, "%zu network rule%s disabled, %zu other rule%s kept", info.disabled,
	       info.disabled == 1 ? "" : "s", info.kept, info.kept == 1 ? "" : "s");
	gm_sha256_hex(gm_buf_str(&cand) + top, cand.len - top, cand_sha);
	ls.original_sha256 = gm_xstrdup(orig_sha);
	ls.locked_sha256 = gm_xstrdup(cand_sha);

	/* the exact original is kept before anything is replaced */
	if ((rc = state_save_copy(sd, "original", orig + top, orig_len - top, err)) < 0 ||
	    (rc = state_write(sd, &ls, err)) < 0)
		goto out;

	gm_step_begin(&step, "checking the locked \"%s\" with the server", srv->hba_file);
	gm_pgconf_hold_signals(true, &sigs);
	rc = gm_pgconf_unchanged(srv->hba_file, orig, orig_len, LABEL, err);
	if (rc == GM_OK && (rc = gm_pgconf_replace(srv->hba_file, gm_buf_str(&cand), cand.len, &st, err)) == GM_OK)
		placed = true;
	if (rc == GM_OK)
		rc = server_sees(srv, gm_buf_str(&cand), cand.len, "the locked file", err);
	if (rc == GM_OK)
		rc = server_file_errors(srv, info.header_lines, &detail, err);
	if (rc == 1) {
		rc = gm_error_set(err, GM_ECHECK, "the server rejects the locked version of \"%s\"", srv->hba_file);
		gm_error_detail(err, "pg_hba_file_rules: %s", detail ? detail : "?");
		gm_error_hint(err, "The original was put back and the server was not reloaded. Fix the lines "
				   "of the original that the server flags (SELECT * FROM pg_hba_file_rules WHERE "
				   "error IS NOT NULL), then lock again.");
	}
	if (rc < 0 && placed) {
		struct gm_error err2 = GM_ERROR_INIT;
		if (gm_pgconf_put_back(srv->hba_file, orig, orig_len, &st, &err2) < 0) {
			gm_step_end(&step, rc, NULL);
			gm_log_report(&err2);
			gm_log(GM_LOG_WARNING, "the original of \"%s\" is kept in \"%s\"", srv->hba_file, sd->original);
			gm_error_release(&err2);
			gm_pgconf_hold_signals(false, &sigs);
			goto out;  /* the state stays: unlock can put the original back */
		}
		gm_log(GM_LOG_INFO, "the original \"%s\" is back in place", srv->hba_file);
	}
	gm_pgconf_hold_signals(false, &sigs);
	if (rc < 0) {
		gm_step_end(&step, rc, NULL);
		state_clear(sd, NULL);
		goto out;
	}
	gm_step_end(&step, rc, NULL);

	gm_step_begin(&step, "reloading the server's configuration");
	rc = server_reload(srv, err);
	gm_step_end(&step, rc, NULL);
	if (rc < 0) {
		gm_error_hint(err, "The locked file is in place; \"gm-hba-lock unlock\" puts the original back.");
		goto out;
	}
	gm_log(GM_LOG_NOTICE, "remote access is locked: %zu network rule%s in \"%s\" disabled, the original kept in \"%s\"",
	       info.disabled, info.disabled == 1 ? "" : "s", srv->hba_file, sd->original);
	rc = handle_sessions(srv, opts, err);
out:
	gm_pgconf_unlock_dir(dirlock);
	lock_state_release(&ls);
	gm_buf_release(&cand);
	free(orig);
	free(header);
	free(detail);
	return rc;
}

/* ------------------------------------------------------------------ */
/* unlock                                                              */
/* ------------------------------------------------------------------ */

static int do_unlock(const struct gm_hba_opts *opts, struct state_dir *sd, struct lock_state *ls,
		     struct gm_error *err)
{
	struct server srv;
	struct gm_step step;
	struct stat st;
	struct gm_buf want = GM_BUF_INIT;
	char *orig = NULL, *cur = NULL;
	char sha[65];
	size_t orig_len, cur_len, top, top_lines;
	sigset_t sigs;
	int rc, dirlock = -1;

	memset(&srv, 0, sizeof(srv));
	if ((rc = gm_safefile_read(&sd->d, "original", &orig, &orig_len, err)) <= 0) {
		if (rc == 0)
			rc = gm_error_set(err, GM_EFAIL, "the kept original \"%s\" is missing", sd->original);
		else
			gm_error_prefix(err, "could not read the kept original");
		goto out;
	}
	gm_sha256_hex(orig, orig_len, sha);
	if (strcmp(sha, ls->original_sha256) != 0) {
		rc = gm_error_set(err, GM_EFAIL, "the kept original \"%s\" is damaged", sd->original);
		gm_error_detail(err, "Its SHA-256 is %s, the original's was %s.", sha, ls->original_sha256);
		goto out;
	}
	if ((rc = server_open(opts, &srv, err)) < 0 || (rc = need_socket(&srv, err)) < 0)
		goto out;
	if (strcmp(srv.hba_file, ls->path) != 0) {
		rc = gm_error_set(err, GM_ECHECK, "the lock recorded is of \"%s\", this server's pg_hba.conf is \"%s\"",
				  ls->path, srv.hba_file);
		gm_error_hint(err, "Connect to the cluster that was locked (-p, -h SOCKETDIR).");
		goto out;
	}
	recover_peer(&srv);
	if ((rc = gm_pgconf_lock_dir(ls->path, &dirlock, err)) < 0)
		goto out;
	if ((rc = gm_pgconf_read(ls->path, LABEL, true, &cur, &cur_len, &st, err)) < 0 ||
	    (rc = server_sees(&srv, cur, cur_len, "the file gm-hba-lock reads", err)) < 0)
		goto out;
	/* the live runs' grants on top stay on top of the original */
	top = peer_top(cur, cur_len, &top_lines);
	gm_buf_add(&want, cur, top);
	gm_buf_add(&want, orig, orig_len);
	gm_sha256_hex(cur + top, cur_len - top, sha);
	if (strcmp(sha, ls->original_sha256) == 0) {
		gm_log(GM_LOG_NOTICE, "file \"%s\" is the original already", ls->path);
	} else {
		if (strcmp(sha, ls->locked_sha256) != 0) {
			char *keep;
			if (!opts->force) {
				rc = gm_error_set(err, GM_ECHECK, "file \"%s\" was changed since gm-hba-lock locked it",
						  ls->path);
				gm_error_detail(err, "Its SHA-256 is %s; the file locked %s by run %lld had %s.", sha,
						ls->locked_at ? ls->locked_at : "?", ls->pid, ls->locked_sha256);
				gm_error_hint(err, "Nothing was changed. Compare it with the original kept in \"%s\"; "
						   "\"gm-hba-lock unlock --force\" puts the original back anyway (the changed "
						   "file is kept in \"%s\").", sd->original, sd->dir);
				goto out;
			}
			keep = gm_xasprintf("changed-%lld", (long long)time(NULL));
			rc = state_save_copy(sd, keep, cur, cur_len, err);
			if (rc == GM_OK)
				gm_log(GM_LOG_WARNING, "file \"%s\" was changed while locked: the changed file is kept as \"%s/%s\"",
				       ls->path, sd->dir, keep);
			free(keep);
			if (rc < 0)
				goto out;
		}
		gm_step_begin(&step, "putting the original \"%s\" back", ls->path);
		gm_pgconf_hold_signals(true, &sigs);
		rc = gm_pgconf_unchanged(ls->path, cur, cur_len, LABEL, err);
		if (rc == GM_OK)
			rc = gm_pgconf_put_back(ls->path, gm_buf_str(&want), want.len, &st, err);
		if (rc == GM_OK)
			rc = server_sees(&srv, gm_buf_str(&want), want.len, "the original", err);
		gm_pgconf_hold_signals(false, &sigs);
		gm_step_end(&step, rc, NULL);
		if (rc < 0)
			goto out;
	}
	gm_step_begin(&step, "reloading the server's configuration");
	rc = server_reload(&srv, err);
	gm_step_end(&step, rc, NULL);
	if (rc < 0)
		goto out;
	if ((rc = state_clear(sd, err)) < 0)
		goto out;
	gm_log(GM_LOG_NOTICE, "remote access is unlocked: \"%s\" is the original again", ls->path);
out:
	gm_pgconf_unlock_dir(dirlock);
	server_close(&srv);
	gm_buf_release(&want);
	free(orig);
	free(cur);
	return rc;
}

/* ------------------------------------------------------------------ */
/* status                                                              */
/* ------------------------------------------------------------------ */

static void print_status_text(const struct server *srv, const struct lock_state *ls, bool locked,
			      const char *cur_sha, const PGresult *sessions, FILE *out)
{
	int n = PQntuples(sessions);

	fprintf(out, "pg_hba.conf: %s\n", srv->hba_file);
	if (!locked) {
		fprintf(out, "remote access: not locked by gm-hba-lock\n");
	} else {
		fprintf(out, "remote access: locked\n");
		if (strcmp(ls->path, srv->hba_file) != 0)
			fprintf(out, "locked file: %s (not this server's)\n", ls->path);
		fprintf(out, "locked since: %s\n", ls->locked_at ? ls->locked_at : "?");
		fprintf(out, "locked by: run %lld of %s: %s\n", ls->pid, ls->user ? ls->user : "?",
			ls->command ? ls->command : "?");
		if (!cur_sha)
			fprintf(out, "file: could not be read\n");
		else if (strcmp(cur_sha, ls->locked_sha256) == 0)
			fprintf(out, "file: as locked\n");
		else if (strcmp(cur_sha, ls->original_sha256) == 0)
			fprintf(out, "file: the original (the lock is not in effect)\n");
		else
			fprintf(out, "file: changed since it was locked\n");
	}
	fprintf(out, "remote sessions: %d\n", n);
	for (int i = 0; i < n; i++) {
		char *l = session_line(sessions, i);
		fprintf(out, "  %s\n", l);
		free(l);
	}
}

static void json_key(FILE *out, const char *key, const char *value, bool first)
{
	fputs(first ? "\n  " : ",\n  ", out);
	gm_json_string(out, key);
	fputs(": ", out);
	gm_json_string(out, value);
}

static void print_status_json(const struct server *srv, const struct lock_state *ls, bool locked,
			      const char *cur_sha, const PGresult *sessions, FILE *out)
{
	static const char *const cols[] = { "pid", "user", "database", "client_addr", "client_port", "since",
					    "state", "application_name" };
	int n = PQntuples(sessions);

	fputc('{', out);
	json_key(out, "hba_file", srv->hba_file, true);
	fprintf(out, ",\n  \"locked\": %s", locked ? "true" : "false");
	if (locked) {
		const char *file = !cur_sha ? "unreadable"
				   : strcmp(cur_sha, ls->locked_sha256) == 0 ? "locked"
				   : strcmp(cur_sha, ls->original_sha256) == 0 ? "original" : "changed";
		json_key(out, "locked_file", ls->path, false);
		json_key(out, "locked_at", ls->locked_at, false);
		fprintf(out, ",\n  \"locked_at_epoch\": %lld", ls->epoch);
		fprintf(out, ",\n  \"run\": {\"pid\": %lld, \"user\": ", ls->pid);
		gm_json_string(out, ls->user);
		fputs(", \"command\": ", out);
		gm_json_string(out, ls->command);
		fputs("}", out);
		json_key(out, "file", file, false);
		json_key(out, "original_sha256", ls->original_sha256, false);
		json_key(out, "locked_sha256", ls->locked_sha256, false);
	}
	json_key(out, "current_sha256", cur_sha, false);
	fputs(",\n  \"remote_sessions\": [", out);
	for (int i = 0; i < n; i++) {
		fputs(i ? ",\n    {" : "\n    {", out);
		for (int c = 0; c < 8; c++) {
			fprintf(out, "%s\"%s\": ", c ? ", " : "", cols[c]);
			if (PQgetisnull(sessions, i, c))
				fputs("null", out);
			else if (c == 0 || c == 4)
				fputs(PQgetvalue(sessions, i, c), out);
			else
				gm_json_string(out, PQgetvalue(sessions, i, c));
		}
		fputc('}', out);
	}
	fputs(n ? "\n  ]\n}\n" : "]\n}\n", out);
}

static int do_status(const struct gm_hba_opts *opts, struct state_dir *sd, struct gm_error *err)
{
	struct server srv;
	struct lock_state ls;
	PGresult *sessions = NULL;
	char *cur = NULL, sha[65];
	size_t cur_len;
	bool have_sha = false;
	int rc, locked;

	memset(&ls, 0, sizeof(ls));
	memset(&srv, 0, sizeof(srv));
	locked = state_read(sd, &ls, err);
	if ((rc = locked) < 0)
		goto out;
	if ((rc = server_open(opts, &srv, err)) < 0)
		goto out;
	/* the path recorded is read only when it is the server's pg_hba.conf:
	 * the state file is in a directory the postgres OS user can write */
	if (locked && strcmp(ls.path, srv.hba_file) == 0 && gm_read_file(ls.path, &cur, &cur_len, NULL) == GM_OK) {
		size_t lines, top = peer_top(cur, cur_len, &lines);
		gm_sha256_hex(cur + top, cur_len - top, sha);  /* below the live runs' grants */
		have_sha = true;
	} else if (!locked && gm_read_file(srv.hba_file, &cur, &cur_len, NULL) == GM_OK) {
		gm_sha256_hex(cur, cur_len, sha);
		have_sha = true;
	}
	if (!(sessions = remote_sessions(&srv, err))) {
		rc = GM_EFAIL;
		goto out;
	}
	if (opts->json)
		print_status_json(&srv, &ls, locked == 1, have_sha ? sha : NULL, sessions, stdout);
	else
		print_status_text(&srv, &ls, locked == 1, have_sha ? sha : NULL, sessions, stdout);
	rc = GM_OK;
out:
	PQclear(sessions);
	server_close(&srv);
	lock_state_release(&ls);
	free(cur);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

int gm_hba_check_host(struct gm_error *err)
{
	const char *h = gm_conn_opts.host ? gm_conn_opts.host : getenv("PGHOST");
	const char *addr = getenv("PGHOSTADDR");
	char *tcp = NULL;

	if (!gm_conn_opts.host && addr && *addr)
		tcp = gm_xasprintf("PGHOSTADDR=%s", addr);
	/* libpq: a host starting with a slash (or @, an abstract socket) is a
	 * socket directory, anything else is reached over TCP/IP; a list may
	 * name several */
	for (const char *p = h; !tcp && p && *p;) {
		size_t n = strcspn(p, ",");
		if (n && p[0] != '/' && p[0] != '@')
			tcp = gm_xasprintf("%s%.*s", gm_conn_opts.host ? "-h " : "PGHOST=", (int)n, p);
		p += n + (p[n] == ',');
	}
	if (!tcp)
		return GM_OK;
	gm_error_set(err, GM_EUSAGE, "remote access can be locked only over the server's local socket, not over TCP/IP "
		     "(%s): gmdb must reach the server over its local socket", tcp);
	gm_error_detail(err, "Locking remote access would cut off the tool's own TCP/IP connection, and "
			     "pg_hba.conf must be a file on this machine.");
	gm_error_hint(err, "Leave out -h, or give the socket directory (-h /var/run/postgresql).");
	free(tcp);
	return GM_EUSAGE;
}

int gm_hba_lock(const struct gm_hba_opts *opts, struct gm_error *err)
{
	struct state_dir sd;
	struct server srv;
	int rc;

	memset(&srv, 0, sizeof(srv));
	if ((rc = gm_hba_check_host(err)) < 0)
		return rc;
	if ((rc = check_user(err)) < 0)
		return rc;
	if ((rc = state_open(opts, &sd, true, true, err)) == GM_OK && (rc = server_open(opts, &srv, err)) == GM_OK)
		rc = do_lock(opts, &sd, &srv, err);
	server_close(&srv);
	state_dir_release(&sd);
	return rc;
}

int gm_hba_unlock(const struct gm_hba_opts *opts, struct gm_error *err)
{
	struct state_dir sd;
	struct lock_state ls;
	int rc;

	memset(&ls, 0, sizeof(ls));
	if ((rc = check_user(err)) < 0)
		return rc;
	rc = state_open(opts, &sd, true, true, err);
	if (rc == GM_OK)
		rc = state_read(&sd, &ls, err);
	if (rc == 0)
		gm_log(GM_LOG_NOTICE, "remote access is not locked by gm-hba-lock: nothing to do");
	else if (rc == 1 && (rc = gm_hba_check_host(err)) == GM_OK)
		rc = do_unlock(opts, &sd, &ls, err);
	lock_state_release(&ls);
	state_dir_release(&sd);
	return rc;
}

int gm_hba_is_locked(const struct gm_hba_opts *opts, struct gm_error *err)
{
	struct state_dir sd;
	struct lock_state ls;
	int rc;

	if ((rc = check_user(err)) < 0)
		return rc;
	rc = state_open(opts, &sd, false, false, err);
	if (rc == GM_OK)
		rc = state_read(&sd, &ls, err);
	if (rc == 1)
		lock_state_release(&ls);
	state_dir_release(&sd);
	return rc;
}

int gm_hba_run(const struct gm_hba_opts *opts, struct gm_error *err)
{
	struct state_dir sd;
	int rc;

	switch (opts->command) {
	case GM_HBA_LOCK:
		return gm_hba_lock(opts, err);
	case GM_HBA_UNLOCK:
		return gm_hba_unlock(opts, err);
	case GM_HBA_STATUS:
		if ((rc = check_user(err)) < 0)
			return rc;
		rc = state_open(opts, &sd, false, false, err);
		if (rc == GM_OK)
			rc = do_status(opts, &sd, err);
		state_dir_release(&sd);
		return rc;
	}
	return gm_error_set(err, GM_EUSAGE, "unknown gm-hba-lock command");
}
