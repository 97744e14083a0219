/*
 * gmdb-int.h - libgmdb's internal interfaces (not for the tools)
 */
#ifndef GMDB_INT_H
#define GMDB_INT_H

#include "config.h"
#include "gmdb.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <libpq-fe.h>

#define GM_HIDDEN __attribute__((visibility("hidden")))

/* ------------------------------------------------------------------ */
/* Memory                                                              */
/* ------------------------------------------------------------------ */

/* Allocation failures abort: there is nothing sensible to do about them. */
void *gm_xmalloc(size_t n);
void *gm_xcalloc(size_t n, size_t size);
void *gm_xrealloc(void *p, size_t n);
char *gm_xstrdup(const char *s);
char *gm_xstrndup(const char *s, size_t n);
char *gm_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *gm_xvasprintf(const char *fmt, va_list ap);

/* A growable string. */
struct gm_buf {
	char *data;   /* always NUL-terminated once anything was added */
	size_t len;
	size_t alloc;
};
#define GM_BUF_INIT { NULL, 0, 0 }
void gm_buf_init(struct gm_buf *b);
void gm_buf_release(struct gm_buf *b);
void gm_buf_reset(struct gm_buf *b);
void gm_buf_add(struct gm_buf *b, const char *s, size_t n);
void gm_buf_adds(struct gm_buf *b, const char *s);
void gm_buf_addc(struct gm_buf *b, char c);
void gm_buf_addf(struct gm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (never NULL). */
const char *gm_buf_str(const struct gm_buf *b);
/* Hand the string over to the caller (who frees it) and reset. */
char *gm_buf_detach(struct gm_buf *b);
/* Strip trailing whitespace. */
void gm_buf_rtrim(struct gm_buf *b);

/* A growable list of strings (owned). */
struct gm_strv {
	char **v;
	size_t n;
	size_t alloc;
};
#define GM_STRV_INIT { NULL, 0, 0 }
void gm_strv_push(struct gm_strv *sv, const char *s);
void gm_strv_push_owned(struct gm_strv *sv, char *s);
void gm_strv_release(struct gm_strv *sv);
/* The items joined by sep, as a new string ("" for none). */
char *gm_strv_join(const struct gm_strv *sv, const char *sep);

/* Read a whole file; NUL-terminated, *len (if given) without the NUL. */
int gm_read_file(const char *path, char **out, size_t *len, struct gm_error *err);
/* A copy of s (NULL: "") with control characters other than newline and
 * tab, DEL and the C1 controls written as \xNN / \u00NN: for what a
 * terminal shows of texts from databases. */
char *gm_printable(const char *s);
/* s as one word for sh: as it is when it holds only characters no shell
 * reads specially, else in single quotes (caller frees). */
char *gm_shell_quote(const char *s);
/* " -h HOST -p PORT" for a shell command, quoted, each part only when
 * given (caller frees; "" for neither). */
char *gm_server_args(const char *host, const char *port);
/* Write all of data to fd (again after EINTR); 0, or -1 with errno set. */
int gm_write_all(int fd, const char *data, size_t len);

/* ------------------------------------------------------------------ */
/* Safe files (safefile.c): files in directories another user can write */
/* ------------------------------------------------------------------ */

/*
 * The state directory (/var/lib/gmdb, GMDB_STATE_DIR) belongs to the
 * postgres OS user, who may plant links, FIFOs or directories there. Root
 * reaches every file in it (and in the backup and log directories) only
 * through these: relative to a directory descriptor opened without
 * following a link at its last component, with O_NOFOLLOW, checked with
 * fstat() (a regular file, or a directory, owned by root, the running
 * user or postgres, and a file with no other hard link), new contents in
 * a fresh O_EXCL file renamed into place, owners changed with fchown() on
 * the descriptor. Anything else is refused with GM_ECHECK: 'could not use
 * "PATH": it is a symbolic link (expected a regular file owned by
 * postgres)', and nothing is read or written through it.
 */
struct gm_safedir {
	int fd;        /* the directory, -1 when not open */
	char *path;    /* for messages */
	uid_t owner;   /* whom files made in it are given to (postgres when root) */
	gid_t group;
};
#define GM_SAFEDIR_INIT { -1, NULL, 0, 0 }
/* The owner of gmdb's files in the state directory: postgres when running
 * as root (so that runs as postgres work too), else the running user. */
void gm_safefile_owner(uid_t *uid, gid_t *gid);
/* GM_OK when st is a regular file (dir: a directory) of an expected owner
 * (a file: with one link); else GM_ECHECK naming path and what it is. */
int gm_safefile_check(const struct stat *st, const char *path, bool dir, struct gm_error *err);
/* Open directory path (its last component not through a link); with
 * create, make it (mode; given to gm_safefile_owner()). 1 open, 0 missing
 * (without create), or an error. Release with gm_safefile_dir_close(). */
int gm_safefile_dir_open(struct gm_safedir *d, const char *path, bool create, mode_t mode, struct gm_error *err);
/* The same for the sub-directory name of parent. */
int gm_safefile_dir_at(struct gm_safedir *d, const struct gm_safedir *parent, const char *name, bool create,
		       mode_t mode, struct gm_error *err);
void gm_safefile_dir_close(struct gm_safedir *d);
/* mkdir -p path (the last directory with mode; give: a directory made here
 * goes to gm_safefile_owner()). A link is followed only in a directory no
 * other user can write; in any other every component is checked. *dirfd
 * (if given): the last directory, open (caller closes). */
int gm_safefile_mkdirs(const char *path, mode_t mode, bool give, int *dirfd, struct gm_error *err);
/* Read file name of d whole (NUL-terminated): 1 read, 0 missing (or d not
 * open), or an error (refused: GM_ECHECK). */
int gm_safefile_read(const struct gm_safedir *d, const char *name, char **data, size_t *len, struct gm_error *err);
/* Open name of d for an flock: create, read-write, made if missing (mode,
 * given to d->owner); else read-only. 1 open (*fd), 0 missing, or an
 * error. */
int gm_safefile_open(const struct gm_safedir *d, const char *name, bool create, mode_t mode, int *fd,
		     struct gm_error *err);
/* Replace name of d with data atomically: a fresh file (mode, d->owner),
 * fsync, renamed over name (whatever name was, a link is replaced, not
 * followed; a directory is refused), the directory fsync'ed. */
int gm_safefile_write(const struct gm_safedir *d, const char *name, const char *data, size_t len, mode_t mode,
		      struct gm_error *err);
/* Remove name of d (a link itself, never its target); missing is fine. */
int gm_safefile_remove(const struct gm_safedir *d, const char *name, struct gm_error *err);
/* Create a new file (O_EXCL, never through a link): path's last component
 * in directory dirfd, or path itself with AT_FDCWD. */
int gm_safefile_create_new(int dirfd, const char *path, mode_t mode, int *fd, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* The downtime procedure's journal (journal.c)                        */
/* ------------------------------------------------------------------ */

/*
 * <state>/procedure.state: what the downtime procedure did, recorded
 * before it was done, in the order it was done; see journal.c for the
 * format (a version line, key=value records, a SHA-256 line) and for
 * libgmdb's layering. Files only through safefile.c. No libpq.
 */
struct gm_journal {
	char *dir;                  /* the state directory */
	char *path;                 /* <dir>/procedure.state, for messages */
	char *lock;                 /* <dir>/procedure.lock */
	struct gm_safedir sd;       /* the state directory, once opened */
	int lock_fd;                /* held (flock) while the procedure runs */
	struct gm_strv keys, vals;  /* the records, in order; a key may repeat */
};
/* dir NULL: GMDB_STATE_DIR, else the configured state directory. Nothing
 * is opened yet. */
void gm_journal_init(struct gm_journal *j, const char *dir);
void gm_journal_release(struct gm_journal *j);
/* Make the state directory if need be and take procedure.lock: GM_ELOCKED
 * while a procedure runs. */
int gm_journal_lock(struct gm_journal *j, struct gm_error *err);
/* Read the journal into j: 1 read, 0 there is none, GM_ECHECK when it
 * cannot be understood or used (the message says why, the hint what to
 * check by hand; the file is left as it is), GM_EFAIL when it cannot be
 * read. */
int gm_journal_read(struct gm_journal *j, struct gm_error *err);
/* Add a record and write the whole journal anew (atomically). */
int gm_journal_set(struct gm_journal *j, const char *key, const char *value, struct gm_error *err);
int gm_journal_setf(struct gm_journal *j, const char *key, struct gm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Forget the records in memory (the file stays). */
void gm_journal_forget(struct gm_journal *j);
/* The last value of key, or NULL. */
const char *gm_journal_get(const struct gm_journal *j, const char *key);
/* Is there a record key=value? */
bool gm_journal_has(const struct gm_journal *j, const char *key, const char *value);
/* Remove the journal (the procedure is over). */
int gm_journal_remove(struct gm_journal *j, struct gm_error *err);
/* "upgrade 21 22" / "fixup of \"gnumed_v22\"" (caller frees). */
char *gm_journal_describe(const struct gm_journal *j);
/* The tool whose --recover handles it. */
const char *gm_journal_tool(const struct gm_journal *j);
/* "gm-upgrade_server --recover -h HOST -p PORT": the command that handles
 * it, naming the server it records (caller frees). */
char *gm_journal_recover_command(const struct gm_journal *j);
/* The format, pure: the whole file for these records; and its reader
 * (name for messages; records appended to keys/vals only when all is
 * well, else GM_ECHECK saying what is wrong). */
void gm_journal_format(const struct gm_strv *keys, const struct gm_strv *vals, struct gm_buf *out);
int gm_journal_parse(const char *text, size_t len, const char *name, struct gm_strv *keys, struct gm_strv *vals,
		     struct gm_error *err);
/* A warning on stderr when an unfinished procedure is recorded, or a
 * journal that cannot be read (gm_cli_finish calls it for every tool);
 * once per run, never after gm_journal_mute_warning(). */
void gm_journal_warn_unfinished(void);
/* Is an unfinished procedure recorded in j's directory? 1: yes, read into
 * j; 2: a procedure runs (it holds the lock); 0: none (or a state directory
 * this user cannot read); < 0: a journal that cannot be read (err). */
int gm_journal_unfinished(struct gm_journal *j, struct gm_error *err);
void gm_journal_mute_warning(void);

/* ------------------------------------------------------------------ */
/* Python text semantics for UTF-8 (pytext.c)                          */
/* ------------------------------------------------------------------ */

/* Is s[0..len) valid UTF-8? If not, *bad_offset (if given) is where. */
bool gm_utf8_valid(const char *s, size_t len, size_t *bad_offset);
/* The byte length of the whitespace code point at s (Python's
 * str.isspace), 0 if there is none. */
size_t gm_py_space_at(const char *s, size_t avail);
/* Python's str.strip(): where the stripped text starts and its length. */
void gm_py_strip(const char *s, size_t len, size_t *start, size_t *out_len);
/* Is s[0..len) empty after str.strip()? */
bool gm_py_blank(const char *s, size_t len);
/* The length of the run of non-whitespace at s (the regex \S+, 0 if none). */
size_t gm_py_nonspace_run(const char *s, size_t len);
/* Universal newlines: CR LF and CR become LF (a new NUL-terminated copy). */
char *gm_universal_newlines(const char *text, size_t len, size_t *out_len);

/* ------------------------------------------------------------------ */
/* Errors from libpq                                                   */
/* ------------------------------------------------------------------ */

/* Fill err from a failed result: message (prefixed by what), detail, hint,
 * SQLSTATE. Returns code. */
int gm_error_from_result(struct gm_error *err, int code, const PGresult *res, const char *what, ...)
	__attribute__((format(printf, 4, 5)));
int gm_error_from_conn(struct gm_error *err, int code, PGconn *conn, const char *what, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------------ */
/* Privileges                                                          */
/* ------------------------------------------------------------------ */

/* If running as root and no other database user was asked for, become the
 * "postgres" OS user (uid, gid and supplementary groups) for good.
 * Idempotent. */
int gm_privs_drop(struct gm_error *err);
/* The database user connections use ("postgres" after a drop, -U, PGUSER
 * or the OS user name). */
const char *gm_conn_user(void);
/* The server this run connects to: the host (or socket directory) and port
 * of its first connection (PQhost, PQport), else what the options and the
 * environment say (NULL where nothing does). */
void gm_conn_where(const char **host, const char **port);
/* " -h HOST -p PORT", shell-quoted, naming that server for a command a
 * hint prints, so that it works as printed from a shell whose PGHOST and
 * PGPORT say otherwise (caller frees; "" when nothing is known). */
char *gm_conn_where_args(void);

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

/*
 * Open a connection to dbname with the shared connection options, a label
 * as application_name, client_encoding UTF8, and a safe search_path
 * (pg_catalog, pg_temp). Drops root privileges first (gm_privs_drop).
 */
PGconn *gm_conn_open(const char *dbname, const char *label, struct gm_error *err);

enum gm_conn_flags {
	GM_CONN_SAFE_PATH = 1 << 0,  /* search_path = pg_catalog, pg_temp */
	GM_CONN_KEEP_ROOT = 1 << 1,  /* as root: connect as the postgres OS user, stay root */
	GM_CONN_NO_PROMPT = 1 << 2,  /* never ask for a password, nor use the run's (-W, PGPASSWORD is libpq's) */
	GM_CONN_NO_ASK = 1 << 3,     /* never ask for a password (the run's is used) */
	GM_CONN_BRIEF = 1 << 4,      /* give up connecting after 5 s (connect_timeout) */
};
/* The general form: user NULL means the default user; without
 * GM_CONN_SAFE_PATH the database's own search_path stays (for the owner's
 * connections that run upstream's SQL exactly as upstream does; never for
 * a superuser's, whose search_path the owner must not choose). With GM_CONN_KEEP_ROOT, root
 * (with no other database user asked for) connects as the postgres OS user
 * over the local socket but stays root, for tools that must write files
 * only root may write (gm-hba-lock); without it root is dropped for good. */
PGconn *gm_conn_open_ex(const char *dbname, const char *user, const char *label, unsigned flags,
			struct gm_error *err);
void gm_conn_close(PGconn *conn);
/* The options (-c switches) every connection starts with: "-c role=none",
 * and for the run's own user (own) "-c event_triggers=off" too where that
 * user is a superuser on PostgreSQL 17 or later (learnt from the run's
 * first session: conn.c). For the environment (PGOPTIONS) of the PostgreSQL
 * tools gmdb runs. */
const char *gm_conn_options(bool own);
void gm_conn_log_notice(void *arg, const PGresult *res);
/*
 * While the pool is on (between gm_conn_pool_begin and gm_conn_pool_end,
 * which nest), the beginning thread's sessions of the run's own user
 * (gm_conn_open_ex with no user; the same role as the run's, whatever runs
 * in them) are not closed by gm_conn_close but reset (DISCARD ALL) and
 * kept, up to 8, for the next open of the same database: a new session
 * costs the server a process (20-30 ms on some machines). Its opens of
 * template1 go to the maintenance database postgres (if it can be reached;
 * else to template1, not kept). Only for read-only steps: a kept session
 * does not see database or role settings (ALTER ... SET) made after it
 * started, and it counts as a session on its database. gm_conn_pool_end
 * closes every kept one and waits for their backends to be gone;
 * gm_conn_pool_flush closes those of database db (NULL: all) now, their
 * backends' pids into pids (at most max), returning how many it wrote;
 * gm_conn_wait_gone waits on c, up to 5 s, until the backends pids
 * have left pg_stat_activity, returning how many had not; a signal caught
 * meanwhile ends it early (*interrupted, if not NULL).
 */
#define GM_CONN_POOL_MAX 8
void gm_conn_pool_begin(void);
void gm_conn_pool_end(void);
size_t gm_conn_pool_flush(const char *db, int *pids, size_t max);
long gm_conn_wait_gone(PGconn *c, const int *pids, size_t n, bool *interrupted);
/* A session of the run's own user for reads of the whole cluster that
 * may last (waits): on the maintenance database postgres, in nobody's way
 * (template1 is CREATE DATABASE's template, which another user's CREATE
 * DATABASE finds busy while somebody is on it), else on template1. */
PGconn *gm_conn_open_maintenance(const char *label, unsigned flags, struct gm_error *err);
/* PQfinish, noting the backend of a session that was open, for
 * gm_conn_wait_closed (every session of gmdb's own ends through it). */
void gm_conn_finish(PGconn *conn);
/* The backend pid of a session another process of the run had and has
 * closed (the data import scripts' python3, which says which it had):
 * gm_conn_wait_closed waits for it too. */
void gm_conn_note_closed(int pid);
/* Wait, up to 5 s, for the backends of the sessions this process closed
 * (the latest 256) to be gone, so that a tool's run ends with none of its
 * own sessions left on the server (gm_cli_finish; a downtime procedure's
 * child before it reports back). With the data import scripts' session
 * (gm_conn_note_closed); not pg_dump's (on the source, long before: the
 * clone waits for them). */
void gm_conn_wait_closed(void);
/* How many connections this process has opened to database db so far. */
long gm_conn_opened(const char *db);
/* For a root process that stays root: act as the postgres OS user (effective
 * ids, enter true) until called with false. */
int gm_conn_as_postgres(bool enter, struct gm_error *err);

/* Run one command (the extended protocol: a second statement in sql is an
 * error) that returns no rows or rows to ignore. The SQL is logged. */
int gm_db_exec(PGconn *conn, const char *sql, struct gm_error *err);
/* Run with parameters; expect tuples when want_rows, else COMMAND_OK.
 * Returns the result (caller PQclear()s) or NULL with err set. */
PGresult *gm_db_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
		      struct gm_error *err);
/* Like gm_db_query, but any success status is accepted. */
PGresult *gm_db_run(PGconn *conn, const char *sql, int nparams, const char *const *params,
		    struct gm_error *err);
/* First column of the first row as a new string (NULL value -> *out NULL). */
int gm_db_value(PGconn *conn, const char *sql, int nparams, const char *const *params,
		char **out, struct gm_error *err);
/* Quote an identifier (caller frees). */
char *gm_db_ident(PGconn *conn, const char *name);
/* Quote a literal (caller frees). */
char *gm_db_literal(PGconn *conn, const char *value);
/*
 * SQL text from values (lib/sqltext.c), the only way lib/ builds it: fmt's
 * conversions are %I (identifier, PQescapeIdentifier), %L (literal,
 * PQescapeLiteral; NULL gives NULL), %d (int), %ld (long) and %%. Any other
 * conversion, %s included, aborts. The caller frees.
 */
char *gm_sqlf(PGconn *conn, const char *fmt, ...);
char *gm_vsqlf(PGconn *conn, const char *fmt, va_list ap);
/* gm_db_exec(gm_sqlf(conn, fmt, ...)). */
int gm_db_execf(PGconn *conn, struct gm_error *err, const char *fmt, ...);
int gm_db_vexecf(PGconn *conn, struct gm_error *err, const char *fmt, va_list ap);
/* The server's keywords a column, table or schema name cannot be written
 * as unquoted. */
int gm_sql_reserved_words(PGconn *conn, struct gm_strv *out, struct gm_error *err);
/* Whether name reads the same without quotes as a column, table or schema
 * name; reserved from gm_sql_reserved_words() (NULL: characters only). */
bool gm_sql_ident_plain(const char *name, const struct gm_strv *reserved);
/* COMMENT ON DATABASE db IS text (NULL: remove the comment). */
int gm_db_comment_database(PGconn *conn, const char *db, const char *text, struct gm_error *err);
/* Server version number (PQserverVersion). */
int gm_db_server_version(PGconn *conn);

/* ------------------------------------------------------------------ */
/* Upstream-style sessions (session.c, spec 2.2)                       */
/* ------------------------------------------------------------------ */

/* A superuser's connection as upstream's engine makes it:
 * plpgsql.extra_warnings/extra_errors = 'all', UTF8, the client's time
 * zone; transactions SERIALIZABLE READ WRITE, begun implicitly
 * (gm_session_*). Its search_path is pg_catalog, pg_temp, not the one the
 * database's owner may have given the database. The owner's sessions are
 * gm_owner_session()'s. */
PGconn *gm_session_open(const char *dbname, const char *label, struct gm_error *err);
/* BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE unless a transaction is open. */
/* ------------------------------------------------------------------ */
/* Connections as the database owner (lib/owner.c)                     */
/* ------------------------------------------------------------------ */

/*
 * A connection to db whose authenticated user is role (NULL: the
 * database's owner; a database a superuser owns gets a superuser
 * connection): directly (~/.pgpass, never a prompt), else through a
 * temporary peer grant (lib/peer.c) that lasts until gm_owner_release()
 * or the process's exit. flags: GM_CONN_SAFE_PATH or 0. NULL and err set
 * when neither works.
 */
PGconn *gm_owner_open(const char *db, const char *role, const char *label, unsigned flags, struct gm_error *err);
/* The owner session of upstream's engine (spec 2.3 step 12): an owner
 * connection set up as gm_session_open() sets up its own, with the
 * settings upstream's superuser session would have. */
PGconn *gm_owner_session(const char *db, const char *role, const char *label, struct gm_error *err);
/* Database db has a CONNECTION LIMIT 0 of the downtime procedure's (NULL:
 * none): owner connections to it step through the limit for a moment. */
void gm_owner_limited_database(const char *db);
/* For a connection gmdb does not open itself (the data import scripts):
 * while the gap is open, db's connection limit of 0 (if it is the
 * procedure's, see above) lets one more session in. *gap is NULL when
 * there is nothing to open; closing NULL is a no-op. */
struct gm_owner_gap;
int gm_owner_gap_open(const char *db, struct gm_owner_gap **gap, struct gm_error *err);
int gm_owner_gap_close(struct gm_owner_gap *gap, struct gm_error *err);
/* Take out of pg_hba.conf and pg_ident.conf the temporary peer grants of
 * runs that ended (conn: a superuser's, over the local socket); logs what
 * it did. Every run's first grant does it too. */
void gm_owner_take_out_leftovers(PGconn *conn);
/* Take back every temporary peer grant of this process (also at exit). */
void gm_owner_release(void);

/* Set up conn (may be NULL: then NULL) as gm_session_open() sets up its
 * own; on failure conn is closed and NULL returned. */
PGconn *gm_session_setup(PGconn *conn, const char *dbname, struct gm_error *err);
int gm_session_begin(PGconn *conn, struct gm_error *err);
/* A statement inside the implicit transaction. */
int gm_session_exec(PGconn *conn, const char *sql, struct gm_error *err);
/* gm_session_exec(gm_sqlf(conn, fmt, ...)). */
int gm_session_execf(PGconn *conn, struct gm_error *err, const char *fmt, ...);
PGresult *gm_session_query(PGconn *conn, const char *sql, int nparams, const char *const *params,
			   struct gm_error *err);
int gm_session_commit(PGconn *conn, struct gm_error *err);
void gm_session_rollback(PGconn *conn);
/* Commit what is open, then run sql outside a transaction (CREATE/DROP
 * DATABASE, REINDEX). */
int gm_session_autocommit(PGconn *conn, const char *sql, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* conf.c: upstream's INI-like conf format (spec section 1)            */
/* ------------------------------------------------------------------ */

struct gm_conf;
/* Parse text (name is used in error messages: "name:LINE: ..."). Where
 * upstream's parser raises an exception: GM_ECHECK naming file and line. */
int gm_conf_parse(const char *text, const char *name, struct gm_conf **out, struct gm_error *err);
/* Read and parse a file: an unreadable file is an error (GM_EFAIL). */
int gm_conf_load(const char *path, struct gm_conf **out, struct gm_error *err);
void gm_conf_free(struct gm_conf *conf);
const char *gm_conf_path(const struct gm_conf *conf);
/* A string option's value; NULL if absent or a list. */
const char *gm_conf_get(const struct gm_conf *conf, const char *group, const char *option);
/* A list option's items (verbatim); NULL if absent or a string. */
const struct gm_strv *gm_conf_get_list(const struct gm_conf *conf, const char *group, const char *option);
bool gm_conf_has(const struct gm_conf *conf, const char *group, const char *option);
/* The groups in file order. */
const struct gm_strv *gm_conf_groups(const struct gm_conf *conf);
/* Append the options given in group, in file order, to out. */
void gm_conf_options(const struct gm_conf *conf, const char *group, struct gm_strv *out);

/* ------------------------------------------------------------------ */
/* sql-runner.c: upstream's SQL script runner (spec section 3)         */
/* ------------------------------------------------------------------ */

enum gm_sql_event_kind {
	GM_SQL_STATEMENT,     /* text = the statement as upstream would send it */
	GM_SQL_SET,           /* \set NAME VALUE: text = NAME, value = VALUE */
	GM_SQL_UNSET,         /* \unset NAME: text = NAME */
	GM_SQL_META_IGNORED,  /* another meta-command upstream ignores: text = the line */
	GM_SQL_DISCARDED,     /* text pending at end of file, which upstream discards */
	GM_SQL_META_FAILS,    /* master's runner: a meta-command it fails on: text = the line */
};
struct gm_sql_event {
	enum gm_sql_event_kind kind;
	int line;     /* 1-based line where the statement (or meta-command) starts */
	char *text;
	char *value;
};
struct gm_sql_events {
	struct gm_sql_event *v;
	size_t n, alloc;
};
/* Split a file's text exactly as upstream's runner does. Pure. */
void gm_sql_split(const char *text, size_t len, struct gm_sql_events *out);
/* The runners of upstream's generations: 22.x's (gm_sql_split) and that of
 * its development tree (master 8a85b32: see sql-runner.c) */
enum gm_sql_dialect { GM_SQL_DIALECT_22 = 0, GM_SQL_DIALECT_MASTER };
void gm_sql_split_dialect(const char *text, size_t len, enum gm_sql_dialect dialect, struct gm_sql_events *out);
void gm_sql_events_release(struct gm_sql_events *ev);

struct gm_runner;
/* One runner per schema list: its variables persist across its files. */
struct gm_runner *gm_runner_new(PGconn *conn);
void gm_runner_free(struct gm_runner *r);
/* Optional statement rewriting: NULL runs the statement as written, else a
 * malloc'ed replacement (freed by the runner). */
typedef char *(*gm_runner_rewrite_fn)(void *data, const char *statement);
void gm_runner_set_rewrite(struct gm_runner *r, gm_runner_rewrite_fn fn, void *data);
/* Which generation's runner (default: 22.x's); master's stops at any error. */
void gm_runner_set_dialect(struct gm_runner *r, enum gm_sql_dialect dialect);
/* Run one file: GM_OK where upstream's runner returns 0, GM_EFAIL where
 * it returns 1 (or crashes). */
int gm_runner_run_file(struct gm_runner *r, const char *path, struct gm_error *err);
void gm_runner_stats(const struct gm_runner *r, long *executed, long *ignored_errors);

/* ------------------------------------------------------------------ */
/* The engine (engine.c): upstream's step definitions                  */
/* ------------------------------------------------------------------ */

struct gm_engine_files {
	bool present;          /* the list exists in the conf (even if empty) */
	struct gm_strv names;  /* items as listed */
	struct gm_strv paths;  /* resolved like upstream (relative to bootstrap/) */
	char *label;           /* "[group] key" for messages */
};

struct gm_engine_bundle {
	char *name;
	char *min_pg;
	struct gm_engine_files files;
};

struct gm_engine {
	struct gm_conf *conf;
	char *upstream_dir, *bootstrap_dir, *conf_path;
	char *db_section, *target, *template_db, *server_template, *owner, *tablespace;
	/* the group roles named like the source and the target database: NULL
	 * means those databases' names (a rehearsal works on copies with names
	 * of their own, but with the real groups) */
	char *group_source, *group_target;
	int template_version;  /* -1: none given */
	int target_version;    /* -2: devel */
	int expect_version;    /* for a devel target: the version the caller expects (0: none) */
	int drop_target, use_existing, reindex, revalidate, audit_disable;
	int transfer_users;    /* -1: not configured */
	int jobs;              /* connections of the reindex (lib/reindex.c); 0: one per CPU */
	struct gm_pyimport *pyimport; /* python3 started early for step 16, or NULL */
	struct gm_strv groups; /* [GnuMed defaults] groups + the target's */
	struct gm_engine_files superuser_files, db_files;
	struct gm_engine_bundle *bundles;
	size_t n_bundles;
	char *script_dir;
	struct gm_strv scripts;
	bool has_checks;
	struct gm_strv checks; /* plausibility items, in pairs */
	const struct gm_generation *generation; /* the tree's engine, recognised */
	PGconn *conn;          /* the owner session (upstream's C4) */
	gm_runner_rewrite_fn rewrite;
	void *rewrite_data;
	void (*progress)(void *data, const char *file);
	void *progress_data;
	/* called once the reindex is done, before the revalidation (NULL: none) */
	void (*after_reindex)(struct gm_engine *e);
	/* called after the revalidation, before anything writes to the
	 * target's tables (NULL: none); also when the revalidation failed */
	void (*after_revalidate)(struct gm_engine *e);
	/* every index of the target was rebuilt moments ago in this run (an
	 * aggregate's fixup, in the clone): its REINDEX is not done again */
	bool reindexed_already;
	long statements, ignored_errors;
};

void gm_engine_init(struct gm_engine *e);
void gm_engine_release(struct gm_engine *e);
/* The group roles named like the source and the target database. */
const char *gm_engine_group_source(const struct gm_engine *e);
const char *gm_engine_group_target(const struct gm_engine *e);
/* Read and check the definition; touches nothing. */
int gm_engine_prepare(struct gm_engine *e, const char *upstream_dir, const char *conf_name,
		      const char *target_override, struct gm_error *err);
int gm_engine_check_files(const struct gm_engine *e, struct gm_error *err);
void gm_engine_print_list(const struct gm_engine *e, FILE *out);
/* The steps, in upstream's order (spec 2.3). */
int gm_engine_bootstrap_server(struct gm_engine *e, struct gm_error *err);
int gm_engine_superuser_steps(struct gm_engine *e, struct gm_error *err);
int gm_engine_owner_session(struct gm_engine *e, struct gm_error *err);
/* Step 16's python3 (lib/pyimport.c): started early, it loads its modules
 * and waits; run, it connects to e's target as e's owner and runs e's
 * scripts; freed unrun, it ends without connecting. */
struct gm_pyimport *gm_pyimport_start(const char *upstream_dir, struct gm_error *err);
int gm_pyimport_run(struct gm_pyimport *p, const struct gm_engine *e, const char *tz, struct gm_error *err);
/* Wait until it has loaded its modules: GM_OK, or GM_EFAIL if it ended
 * (python3, psycopg2 or upstream's modules missing; its words are logged). */
int gm_pyimport_ready(struct gm_pyimport *p);
void gm_pyimport_free(struct gm_pyimport *p);
/* Step 9, REINDEX DATABASE db as its owner (NULL: the database's), split by
 * table across jobs connections (0: one per CPU; 1: one statement). */
int gm_reindex_database(const char *db, const char *owner, int jobs, struct gm_step *st, struct gm_error *err);
int gm_engine_bundles(struct gm_engine *e, struct gm_error *err);
int gm_engine_notifications(struct gm_engine *e, struct gm_error *err);
/* master's ensure_some_security_settings() (nothing for 22.x) */
int gm_engine_security_settings(struct gm_engine *e, struct gm_error *err);
int gm_engine_import_scripts(struct gm_engine *e, struct gm_error *err);
int gm_engine_verify_result(struct gm_engine *e, char **hash, struct gm_error *err);
void gm_engine_check_hba(struct gm_engine *e);
/* Log upstream's fingerprint of database (known_hash: computed already
 * in this run, not again; NULL: compute it), read as owner (NULL: the
 * database's, looked up). */
void gm_engine_log_fingerprint(const char *database, const char *owner, const char *what, const char *known_hash);
/*
 * The same, beside the result's hash (upstream's steps 17 and 18, both only
 * reading the finished database): _begin opens the owner's session, reads
 * the basics and sends the counts' query; _end collects them and logs the
 * fingerprint with the hash, or (hash NULL: the run failed) cancels it.
 * NULL from _begin (logged) is fine for _end.
 */
struct gm_fingerprint_pending *gm_engine_fingerprint_begin(const char *database, const char *owner, const char *what);
void gm_engine_fingerprint_end(struct gm_fingerprint_pending *p, const char *database, const char *what,
			       const char *hash);
/* fingerprint.c's halves of that: _end with known_hash NULL cancels (GM_OK;
 * fp untouched, may be NULL), else fills *fp with the counts and the hash */
struct gm_fingerprint_pending *gm_fingerprint_begin(const char *database, const char *owner, struct gm_error *err);
int gm_fingerprint_end(struct gm_fingerprint_pending *p, const char *known_hash, struct gm_fingerprint *fp,
		       struct gm_error *err);

/* generation.c: the generations of upstream's engine gmdb reproduces.
 * Recognise the tree's engine by the fingerprints of its parts: GM_OK and
 * *gen, or GM_ECHECK naming every part that differs (nothing touched). */
struct gm_generation;
int gm_generation_recognise(const char *upstream_dir, const struct gm_generation **gen, struct gm_error *err);
/* GM_ECHECK naming every section and key of conf that gen does not know. */
int gm_generation_check_conf(const struct gm_generation *gen, const struct gm_conf *conf, struct gm_error *err);
const char *gm_generation_name(const struct gm_generation *gen);
const char *gm_generation_releases(const struct gm_generation *gen);
/* How the generation's engine makes the roles (gm_engine_bootstrap_server,
 * gm_engine_superuser_steps). */
enum gm_gen_roles {
	/* 22.19's: the superuser and the owner added to "gm-logins" and the
	 * owner to the target's group (ALTER GROUP ... ADD USER) */
	GM_ROLES_ADD_USER,
	/* 22.35's: every GNUmed group (the target's too) granted to gm-dbo
	 * WITH ADMIN OPTION, gm-dbo altered with LOGIN, "gm-logins" granted to
	 * "postgres" by name, the owner's name fixed as gm-dbo */
	GM_ROLES_ADMIN_2235,
	/* master's: "gm-logins" granted to the superuser and WITH ADMIN OPTION
	 * to gm-dbo, gm-dbo CREATEDB CREATEROLE, every group of [GnuMed
	 * defaults] WITH ADMIN OPTION to gm-dbo; the target's group made and
	 * granted WITH ADMIN OPTION at the target; the owner is gm-dbo */
	GM_ROLES_ADMIN_MASTER,
};
enum gm_gen_roles gm_generation_roles(const struct gm_generation *gen);
/* The owner granted the groups WITH ADMIN OPTION (22.35's and master's). */
bool gm_generation_admin_grants(const struct gm_generation *gen);
/* What else a generation's engine does (gm_generation_has). */
enum gm_gen_feature {
	/* master's definition format: [cluster], "source database/version",
	 * no [user ...] sections (the owner is gm-dbo), no audit keys */
	GM_GEN_CLUSTER_FORMAT = 1 << 0,
	/* the constraints are revalidated by gm.revalidate_all_constraints(),
	 * only where the database has it (22.x: upstream's own DO block) */
	GM_GEN_REVALIDATE_FUNCTION = 1 << 1,
	/* the collation versions checked after the revalidation, refreshed
	 * where they changed */
	GM_GEN_COLLATIONS = 1 << 2,
	/* ensure_some_security_settings() after the notifications */
	GM_GEN_SECURITY_SETTINGS = 1 << 3,
	/* an upgrade from vX runs upgrade_db-vX_vY.conf where the tree has one:
	 * an aggregate of fixup_db-vX.conf (applied to the source) and
	 * update_db-vX_vY.conf */
	GM_GEN_AGGREGATE_UPGRADE = 1 << 4,
};
bool gm_generation_has(const struct gm_generation *gen, enum gm_gen_feature f);
/* The audited tables ("schema.table ...") whose audit trail the
 * generation's own engine leaves broken (NULL: none). */
const char *gm_generation_audit_defects(const struct gm_generation *gen);
/* its audit generator (22.x's when gen is NULL) */
const struct gm_audit_generator *gm_generation_audit(const struct gm_generation *gen);
/* its SQL runner (22.x's when gen is NULL) */
enum gm_sql_dialect gm_generation_sql_dialect(const struct gm_generation *gen);
/* The text of a top-level def/class block of a Python module (malloc'ed;
 * NULL if absent): what a function's fingerprint is taken of. */
char *gm_python_block(const char *text, const char *name);

/* The schema hash shortcut (shortcut.c): a runner rewrite function for
 * "select gm.log_script_insertion(...)" that leaves out the hash nobody
 * keeps, only where the definitions are known and the result is the same.
 * *conn is read at every use (the engine's owner session). */
struct gm_shortcut;
struct gm_shortcut *gm_shortcut_new(PGconn **conn);
char *gm_shortcut_rewrite(void *data, const char *statement);
/* Prove the hash function works with the definitions db has now on an
 * owner session of its own (owner NULL: the database's), in the
 * background; the first rewrite with the same definitions takes the
 * outcome (lib/shortcut.c says why that is the same proof). */
void gm_shortcut_prove_early(struct gm_shortcut *s, const char *db, const char *owner);
/* Wait for the early proof's hash and end its session, keeping its
 * outcome for the first rewrite: before anything writes to the database.
 * While it stayed open into the files, a multi-row UPDATE numbered its
 * audit rows in another order than upstream's run, most likely because
 * its snapshot held back the pruning of the rows the files update. */
void gm_shortcut_settle(struct gm_shortcut *s);
/* The hash function worked with definitions fp, as user, on a session set
 * up as the owner session (gm_identify_as_owner_session): the first
 * rewrite with the same definitions and user takes it as its proof. */
void gm_shortcut_proven(struct gm_shortcut *s, const char *fp, const char *user);
void gm_shortcut_free(struct gm_shortcut *s);
/* Before upstream's superuser schema files run on conn (a superuser's):
 * GM_OK when the owner's functions they call are upstream's definitions
 * and the triggers they fire cannot run as the superuser; GM_ECHECK
 * saying what is not. */
int gm_shortcut_check_superuser_calls(PGconn *conn, struct gm_error *err);
/* GMDB_EXACT=1: every statement as written, every hash by the function */
bool gm_exact(void);
/* Is fp (sql/shortcut-fingerprint.sql) of definitions gmdb knows, those
 * whose only effect besides the hash it knows (shortcut.c's table)? */
bool gm_shortcut_known(const char *fp);

/* As root, make the backup directory opts name (if it is to be used and
 * missing) for the postgres OS user, as gm_upgrade_run() does before it
 * drops root; GM_ECHECK when it cannot be used safely. */
int gm_upgrade_prepare_backup_dir(const struct gm_upgrade_opts *o, struct gm_error *err);

/* Is python3 with psycopg2 there (for upstream's data import scripts)? */
int gm_run_check_python(struct gm_error *err);

/* Set on a target database while gmdb builds it, removed on success: a
 * later run recognises a half-made target of a killed run by it (a comment
 * starting with it). */
#define GM_BUILD_MARK "gmdb: upgrade in progress"

/* ------------------------------------------------------------------ */
/* Space (space.c): what a run writes where, against what is free       */
/* ------------------------------------------------------------------ */

struct gm_space_opts {
	const char *database;          /* the source (upgrade) or the database fixed */
	bool clone;                    /* the run copies it (an upgrade's clone, a fixup's snapshot) */
	const char *clone_tablespace;  /* upstream's target tablespace; NULL: the source's */
	bool changes;                  /* upstream's steps change the copy (or the database itself) */
	const char *backup_dir;        /* NULL: no backup */
	int backup_compress;           /* its gzip level (0: none) */
	int extra_copies;              /* more whole copies in the data directory (a rehearsal's) */
};

struct gm_space_fs {
	dev_t dev;
	char *path;                    /* the first place of the run on it */
	unsigned long long avail;      /* free for unprivileged users (f_bavail) */
	unsigned long long need;       /* what the run writes there */
	struct gm_buf parts;           /* "copy 76 MB, WAL 190 MB" */
};

struct gm_space {
	bool measured;                 /* every file system was examined */
	char *not_measured;            /* else what was not, and why */
	struct gm_space_fs *fs;
	size_t n_fs;
	unsigned long long source_bytes, growth_bytes, backup_bytes;
	unsigned long long wal_written;  /* WAL the run writes */
	unsigned long long wal_kept;     /* of which pg_wal keeps at most */
	bool wal_unbounded;              /* archiving or a slot keeps it all */
	unsigned long long total;        /* all the run writes */
};
void gm_space_init(struct gm_space *sp);
void gm_space_release(struct gm_space *sp);
/* The margin kept free on a file system the run writes need bytes on. */
unsigned long long gm_space_margin(unsigned long long need);
/* Estimate what the run of o writes, by file system, and how much is free
 * there. cluster: a superuser connection to any database; db: one to
 * o->database (its files by tablespace; NULL: all in its default one).
 * What cannot be examined from here (the server on another host) is in
 * sp->not_measured, not an error. GM_ECHECK when the database is missing. */
int gm_space_measure(PGconn *cluster, PGconn *db, const struct gm_space_opts *o, struct gm_space *sp,
		     struct gm_error *err);
/* One line per file system ("ok: ..." / "too little: ...") and one for
 * what was not measured, added to lines; GM_ECHECK with err set (the
 * figures, a hint) when a file system has too little room. */
int gm_space_verdict(const struct gm_space *sp, struct gm_buf *lines, struct gm_error *err);
/* After a failure: did the server run out of disk space, or is it down
 * (it is asked)? Then *hint says what to do first and then what_next
 * ("run gm-upgrade_server --recover"); the caller frees it. */
bool gm_space_server_failed(const struct gm_error *err, const char *what_next, char **hint);

/* Backups (backups.c). The record a finished backup gets, in its directory. */
#define GM_BACKUP_INFO "gmdb-backup.info"
/* Write the record into the finished dump path. */
int gm_backup_record(const char *path, const char *database, int from, int to, time_t started, struct gm_error *err);
/* The bytes of the regular files of dump name in directory dirfd. */
long long gm_backup_bytes(int dirfd, const char *name);
/* Remove dump name of directory dirfd (its files, then itself; no link is
 * followed); missing is fine. */
int gm_backup_remove(int dirfd, const char *name, struct gm_error *err);

/* Announcements (announce.c). The description of gmdb's inbox item type. */
#define GM_ANNOUNCE_TYPE "gmdb: planned downtime"
/* The subject and the text (with its check line) of announcement a. */
int gm_announce_text(const struct gm_announcement *a, char **subject, char **text, struct gm_error *err);
/* Does text end with the check line that belongs to it? */
bool gm_announce_is_ours(const char *text);
/* announce / unannounce on an owner connection to the database (staff:
 * the aliases told, may be NULL; removed: how many, may be NULL). */
int gm_announce_conn(PGconn *c, const struct gm_announcement *a, struct gm_strv *staff, struct gm_error *err);
int gm_unannounce_conn(PGconn *c, int *removed, struct gm_error *err);

/* Run pg_dump/pg_restore (upgrade.c): see there. */
int gm_pg_tool_run(const char *tool, const char *const *args, const char *dir, struct gm_step *st,
		   struct gm_error *err);
/* The same as user (NULL: the run's), without the run's password: for the
 * owner, once gm_owner_open() has given this process its way in. */
int gm_pg_tool_run_as(const char *tool, const char *user, const char *const *args, const char *dir, struct gm_step *st,
		      struct gm_error *err);
/* A database name as the tools' --dbname (a connection string); caller frees. */
char *gm_pg_tool_dbname(const char *db);

/* ------------------------------------------------------------------ */
/* Build records (build.c): may --replace-target drop a target?         */
/* ------------------------------------------------------------------ */

/* The comment of a target gmdb finished building starts with it, and ends
 * with the build record (see build.c). */
#define GM_BUILT_MARK "gmdb: built by gm-upgrade_server"
/* Whether comment is (looks like) a finished build's comment. */
bool gm_build_is_record(const char *comment);
/* "built by gm-upgrade_server 21 22 from ... on <time>" (caller frees), or
 * NULL when comment is no build record. */
char *gm_build_describe(const char *comment);
/* The comment for a target just finished: c is a superuser's connection to
 * it, nothing written to it after this. GM_ECHECK when somebody else is
 * connected to it (their writes could not be told from the build's). */
int gm_build_record(PGconn *c, int from, int to, const char *source, char **record, struct gm_error *err);
/* Is the database c is connected to (a superuser's connection), whose
 * comment is comment, unchanged since its build record? 1: yes; 0: no, and
 * found says what was found, a line each; < 0: could not tell (err). */
int gm_build_examine(PGconn *c, const char *comment, struct gm_buf *found, struct gm_error *err);

/* The fixup's database and version, found and checked as gm_fixup_run()
 * does (hash, definition, files); nothing is changed. *db malloc'ed. */
int gm_fixup_resolve(const struct gm_fixup_opts *o, char **db, int *version, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Signals (signals.c)                                                 */
/* ------------------------------------------------------------------ */

/* SIGINT, SIGTERM, SIGHUP: record, and cancel the watched connection's query. */
/* Was SIGHUP ignored when the run started (nohup)? Then it stays ignored. */
bool gm_signals_hup_ignored(void);
void gm_signals_install(void);
/* The signal caught, or 0. */
int gm_signals_caught(void);
/* How many signals were caught so far: a wait on the way out gives up on
 * one that comes after it began (the admin's second ^C). */
int gm_signals_count(void);
/* Which connection's statement a signal cancels (NULL: none). */
void gm_signals_watch(PGconn *conn);
/* GM_EFAIL with an error naming the signal, if one was caught. */
int gm_signals_check(struct gm_error *err);
/* After a failure while a signal was caught (none: nothing): the error
 * says so, "interrupted by signal N: " before what failed unless it says
 * it already, and is GM_EFAIL (exit 1). */
void gm_signals_explain(struct gm_error *err);

/* Run sql (no rows expected) asynchronously; once a second call tick(data)
 * (for progress lines). */
int gm_db_exec_watch(PGconn *conn, const char *sql, void (*tick)(void *data), void *data,
		     struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Discovery (discover.c)                                              */
/* ------------------------------------------------------------------ */

struct gm_found {
	char *name;
	bool gnumed;        /* has the schema "gm" */
	char *hash;         /* NULL if it could not be computed */
	int version;        /* -1: not a known hash */
	bool hash_repaired;
	char *problem;      /* why there is no hash */
	/* its enabled event triggers other than login ones ("name (event)",
	 * comma-separated), NULL: none. They would fire on the DDL a fixup
	 * or upgrade runs; gmdb refuses to run where they are (see
	 * gm_found_event_triggers_refused). */
	char *event_triggers;
};
/* Set err (GM_ECHECK) and return GM_ECHECK where f has event triggers
 * that gmdb refuses to run beside, else GM_OK. */
int gm_found_event_triggers_refused(const struct gm_found *f, struct gm_error *err);
/* Identify one database (read-only). */
int gm_identify(const char *dbname, struct gm_found *f, struct gm_error *err);
/* The same, the hash computed on a session set up as upstream's owner
 * session (gm_owner_session), which also reads the schema hash shortcut's
 * fingerprint of the definitions in the hash's transaction: *fp and *user
 * (the session's role) set when the hash was computed, else NULL. */
int gm_identify_as_owner_session(const char *dbname, struct gm_found *f, char **fp, char **user, struct gm_error *err);
/* The GNUmed databases of the cluster. */
int gm_discover(struct gm_found **out, size_t *n, struct gm_error *err);
void gm_found_release(struct gm_found *f, size_t n);
/* Free one's fields (the struct itself stays, zeroed). */
void gm_found_clear(struct gm_found *f);

/* ------------------------------------------------------------------ */
/* Locks (lock.c): one run at a time per database, cluster-wide        */
/* ------------------------------------------------------------------ */

/* Take the lock for database name; GM_ELOCKED at once if another run
 * holds it. The lock lives as long as *holder (a killed run's lock goes
 * with its connection). */
int gm_lock_acquire(const char *name, PGconn **holder, struct gm_error *err);
void gm_lock_release(PGconn *holder);

/* ------------------------------------------------------------------ */
/* Embedded SQL (sql/NAME.sql)                                          */
/* ------------------------------------------------------------------ */

/* The text of sql/<name>.sql, or NULL. */
const char *gm_sql(const char *name);

/* ------------------------------------------------------------------ */
/* Schema structure                                                    */
/* ------------------------------------------------------------------ */

/*
 * The search_path the schema hash is computed with: PostgreSQL's built-in
 * default, which every session of upstream's engine has on a database as
 * its bootstrapper makes it (the hash's text names tables and types as
 * that path shows them). Set, not reset TO DEFAULT, so that neither
 * PGOPTIONS nor a database's or role's default search_path (which gm-dbo
 * may set) changes the hash.
 */
#define GM_HASH_SEARCH_PATH "SET LOCAL search_path TO \"$user\", public"

/*
 * Recompute the text of gm.concat_table_structure_v19_and_up() from the
 * catalogs, and its md5, without calling anything of the database's own.
 * Runs inside the caller's transaction, with GM_HASH_SEARCH_PATH (set here
 * with SET LOCAL).
 */
int gm_structure_v19(PGconn *conn, char **text, char **hash, struct gm_error *err);

/*
 * The schema hash as upstream computes it: md5(gm.concat_table_structure(
 * [version])) (version < 0: the argument-less dispatcher), with upstream's
 * fallback when the database's v19-and-up function is broken (SQLSTATE
 * 42725, spec 4.4), here computed by gm_structure_v19() so that nothing is
 * written. Must run inside a transaction; *repaired tells whether the
 * fallback was needed.
 */
int gm_schema_hash(PGconn *conn, int version, char **hash, bool *repaired, struct gm_error *err);

/*
 * The same hash, read from the catalogs (gm_structure_v19) where that is
 * the very text the call would hash and the call would surely work:
 * version < 0 or >= 19 (the dispatcher calls v19_and_up), definitions gmdb
 * knows (gm_shortcut_known: upstream's v19_and_up, SECURITY DEFINER, owned
 * by gm-dbo) read in this transaction, and sql/hash-catalog-gate.sql
 * finding nothing against it (the session the function's owner and allowed
 * to call it, nothing of the owner's the call would meet, the server's
 * encoding, no timeout). Anything else, a NULL line (the call's text would
 * be NULL) or an error calls gm_schema_hash, logging why; so does
 * GMDB_EXACT=1. *from_catalogs (may be NULL) tells which one it was.
 */
int gm_schema_hash_known(PGconn *conn, int version, char **hash, bool *repaired, bool *from_catalogs,
			 struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Checksums                                                           */
/* ------------------------------------------------------------------ */

/* The SHA-256 of data as 64 lower-case hex digits and a NUL. */
void gm_sha256_hex(const void *data, size_t len, char out[65]);

/* ------------------------------------------------------------------ */
/* The server's authentication files (pgconf-file.c): shared by        */
/* gm-hba-lock (hba.c) and the temporary peer grant (peer.c)           */
/* ------------------------------------------------------------------ */

/* tool: who edits, for messages ("gm-hba-lock", "gmdb"). */

/* Read pg_hba.conf or pg_ident.conf and its owner and mode: GM_ECHECK for a
 * symbolic link, GM_EFAIL for another kind of file or, to_replace, one that
 * belongs to another OS user (unless running as root: the file that
 * replaces it could not get its owner). *data malloc'ed. */
int gm_pgconf_read(const char *path, const char *tool, bool to_replace, char **data, size_t *len,
		   struct stat *st, struct gm_error *err);
/* Replace path by data atomically: a new file (mkstemp) in the same
 * directory with like's owner, group and mode, flushed, renamed over path,
 * the directory flushed. */
int gm_pgconf_replace(const char *path, const char *data, size_t len, const struct stat *like,
		      struct gm_error *err);
/* gm_pgconf_replace, then read the file back: GM_EFAIL unless it is data. */
int gm_pgconf_put_back(const char *path, const char *data, size_t len, const struct stat *st,
		       struct gm_error *err);
/* GM_ECHECK unless path still holds exactly data (read just before a
 * replace: someone else edited the file meanwhile). */
int gm_pgconf_unchanged(const char *path, const char *data, size_t len, const char *tool, struct gm_error *err);
/* Hold (hold true: *saved filled) or release SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT while a file is being replaced. */
void gm_pgconf_hold_signals(bool hold, sigset_t *saved);
/* Take an exclusive flock on the directory of path (waits up to 30 s:
 * GM_ELOCKED), so that gmdb runs edit its files one at a time; *fd for
 * gm_pgconf_unlock_dir (which accepts -1). */
int gm_pgconf_lock_dir(const char *path, int *fd, struct gm_error *err);
void gm_pgconf_unlock_dir(int fd);
/* Does the server (conn: a superuser's) read exactly data at path?
 * GM_ECHECK if not (another file of the same name, e.g. in a container). */
int gm_pgconf_server_sees(PGconn *conn, const char *path, const char *data, size_t len, const char *what,
			  const char *tool, struct gm_error *err);
/* The errors the server finds in the file on disk, by sql/<sql_name>.sql
 * (line_number, error): 0 none, 1 some (*detail malloc'ed: the lines, lines
 * up to header_lines named as lines adder adds), or an error. */
int gm_pgconf_file_errors(PGconn *conn, const char *sql_name, const char *path, size_t header_lines,
			  const char *adder, char **detail, struct gm_error *err);
/* pg_reload_conf(), then wait (up to 10 s) until a new connection (as
 * conn's user to conn's database, gm_conn_open_ex with GM_CONN_KEEP_ROOT)
 * sees a configuration loaded after loaded_at (NULL: conn's
 * pg_conf_load_time() just before the reload). */
int gm_pgconf_reload(PGconn *conn, const char *loaded_at, const char *label, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* The temporary peer grant (peer.c)                                   */
/* ------------------------------------------------------------------ */

/* A temporary peer grant: lets this process's OS user log in as a role over the local socket. */
struct gm_peer;
/* Grant: the OS user this process runs as (getpwuid(geteuid())) may log in as `role` to any
 * database of the cluster that conn (an open SUPERUSER connection over the local socket,
 * e.g. from gm_conn_open) reaches, by peer authentication through an ident map private to
 * this run. GM_OK and *out set; GM_ECHECK with a hint when the server is not local / the
 * files are not writable by this process / the server rejects the edited files (then the
 * files are exactly as before). Granting the same role twice in one process is a no-op.
 * conn is not kept: gm_peer_revoke() makes a connection of its own like it (gm_conn_open_ex
 * as PQuser(conn) to PQdb(conn), else postgres or template1, with GM_CONN_KEEP_ROOT).
 * Needs PostgreSQL 15 or later (GM_ECHECK before). The grant is confirmed by a connection
 * as role (over conn's socket, as this euid) before GM_OK: only an authentication failure
 * is an error (gm_peer_verify_login). The owner connections that use the grant must be made with the same
 * effective uid: as root after gm_privs_drop() that is postgres; in a process that stays
 * root (GM_CONN_KEEP_ROOT) it is root, so connect as role without GM_CONN_KEEP_ROOT and
 * without gm_privs_drop(). */
int gm_peer_grant(PGconn *conn, const char *role, struct gm_peer **out, struct gm_error *err);
/* Can role log in now, over conn's socket as this euid? What gm_peer_grant() confirms its
 * grant with (also for the tests): GM_EFAIL when the server refuses the login by
 * authentication (SQLSTATE class 28, in any language the server speaks) or asks for a
 * password; GM_OK otherwise (any other failure is only logged, at info level). */
int gm_peer_verify_login(PGconn *conn, const char *role, struct gm_error *err);
/* Remove every line this process added (pg_hba.conf first, then pg_ident.conf), reload, free p
 * (NULL is fine). Safe to call from an exit path. For a role granted n times, the n-th
 * revoke removes the lines (the earlier ones only count down). */
int gm_peer_revoke(struct gm_peer *p, struct gm_error *err);
/* Remove what a run that is no longer alive (its pid not running, or not a gmdb tool) left
 * behind in pg_hba.conf / pg_ident.conf; *removed = number of runs cleaned. Called by every
 * tool at start (before granting) and by gm-upgrade_server --recover. A run is alive while
 * its pid runs a process that started at the time its marker records (within 2 s).
 * GM_OK with nothing done when there is nothing this process could clean: a server
 * reached over TCP/IP, not a superuser's connection, PostgreSQL before 15, files it may
 * not read. GM_ECHECK when leftovers are found in files it may not write. */
int gm_peer_recover(PGconn *conn, int *removed, struct gm_error *err);

/* The pure part, for the tests and gm-hba-lock. */
#define GM_PEER_MARK "# gmdb-peer "
enum gm_peer_file { GM_PEER_HBA, GM_PEER_IDENT };
/* One block (marker line + rule line) a grant added, found in a file's text. */
struct gm_peer_block {
	size_t offset, len;  /* the two lines' bytes (each ends in \n) */
	char *map;           /* gmdb-<pid>-<hex> */
	long long pid;
	char *started;       /* YYYY-MM-DDTHH:MM:SSZ: when the process started */
	char *role;
};
/* GM_ECHECK (with a hint) unless role can be written quoted into pg_hba.conf
 * and pg_ident.conf: 1 to 63 bytes, no '"', no control characters. */
int gm_peer_check_role(const char *role, struct gm_error *err);
/* Append the two lines a grant puts on top of the file (osuser only for
 * GM_PEER_IDENT). */
void gm_peer_block_text(enum gm_peer_file kind, const char *map, long long pid, const char *started,
			const char *osuser, const char *role, struct gm_buf *out);
/* Every block in text: a marker line and a rule line byte for byte as
 * gm_peer_block_text() writes them, nothing else. */
void gm_peer_scan(enum gm_peer_file kind, const char *text, size_t len, struct gm_peer_block **blocks, size_t *n);
void gm_peer_blocks_free(struct gm_peer_block *blocks, size_t n);
/* Append text to out without the blocks of map (map non-NULL), or else the
 * blocks for which gone() is true; every other byte stays. Returns the
 * number of blocks left out. */
size_t gm_peer_remove(enum gm_peer_file kind, const char *text, size_t len, const char *map,
		      bool (*gone)(const struct gm_peer_block *b, void *data), void *data, struct gm_buf *out);
/* The length of the run of blocks at the very top of text (0: none). */
size_t gm_peer_top(enum gm_peer_file kind, const char *text, size_t len);
/* Is the run of pid, whose process started at started, still alive? */
bool gm_peer_run_alive(long long pid, const char *started);

/* ------------------------------------------------------------------ */
/* pg_hba.conf: locking remote access (lib/hba.c)                      */
/* ------------------------------------------------------------------ */

/* The prefix that comments out each line of a disabled network rule. */
#define GM_HBA_MARK "#gm-hba-lock# "

/* The widest comment line gmdb writes into pg_hba.conf or pg_ident.conf. */
#define GM_HBA_COMMENT_MAX 240

/*
 * Append text to out as lines that pg_hba.conf and pg_ident.conf read as
 * comments and nothing else: one line per line of text, "# " in front
 * where it does not start with "#"; control characters (CR and tab too)
 * written as \xNN; trailing blanks dropped and a backslash then ending the
 * line written as \x5c (the server would join the next line, a rule, to a
 * line ending in a backslash, also to a comment); a line wider than
 * GM_HBA_COMMENT_MAX bytes cut (not inside a UTF-8 sequence) and ended with
 * "...". NULL or "" add nothing. Returns the number of lines added.
 */
size_t gm_hba_comment(struct gm_buf *out, const char *text);

/* What gm_hba_rewrite() did. */
struct gm_hba_rewrite_info {
	size_t header_lines; /* lines added on top: line N of the result is line N - header_lines of the input */
	size_t disabled;     /* network records commented out */
	size_t kept;         /* other records (local, unknown types) kept byte for byte */
};

/*
 * The pure rewriting behind gm_hba_lock(): append to out the locked version
 * of the pg_hba.conf text (of file, named in messages): an explanation, the
 * lines of header (may be NULL) as comments (gm_hba_comment), two rules
 * rejecting every TCP/IP connection, then the input with every physical
 * line of every host, hostssl, hostnossl, hostgssenc and hostnogssenc
 * record (continuation lines and @file fields included) prefixed with
 * GM_HBA_MARK, all else byte for byte. GM_ECHECK, naming file and line, for include,
 * include_if_exists and include_dir (out is then left alone).
 */
int gm_hba_rewrite(const char *text, size_t len, const char *file, const char *header,
		   struct gm_buf *out, struct gm_hba_rewrite_info *info, struct gm_error *err);

/*
 * Lock remote access to the cluster opts reaches over its local socket:
 * keep the exact pg_hba.conf in the state directory, put the rewritten file
 * in place once the server's pg_hba_file_rules shows no error for it (else
 * put the original back: GM_ECHECK), reload and see it loaded, then list
 * the remote sessions (end them with opts->terminate). Locked already: no
 * change. GM_ELOCKED while another run holds the state directory's lock.
 */
int gm_hba_lock(const struct gm_hba_opts *opts, struct gm_error *err);
/* GM_EUSAGE (before connecting) when -h or PGHOST name a host reached over
 * TCP/IP: lock and unlock work over the local socket only. */
int gm_hba_check_host(struct gm_error *err);

/*
 * Put the exact original pg_hba.conf back (checked after writing), reload,
 * and forget the lock. Not locked: a no-op, GM_OK. The file changed since
 * the lock: GM_ECHECK and nothing touched, unless opts->force (the changed
 * file is then kept in the state directory).
 */
int gm_hba_unlock(const struct gm_hba_opts *opts, struct gm_error *err);

/*
 * Whether the state directory records a lock: 1 locked, 0 not, or a
 * negative gm_rc (GM_ELOCKED while another run changes it). Needs no
 * server.
 */
int gm_hba_is_locked(const struct gm_hba_opts *opts, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Logon banner on an open connection (for the procedures)              */
/* ------------------------------------------------------------------ */

/*
 * The database side of gm_banner_get/set/notice/unnotice (gmdb.h), for the
 * upgrade and fixup procedures, on an open connection conn (a superuser's
 * or a member of gm-doctors). The writers run their own BEGIN READ WRITE ...
 * COMMIT when conn is idle (GNUmed databases default to read-only); inside
 * the caller's transaction, which must be read-write, they neither commit
 * nor roll back, and after an error that transaction is aborted. Writers
 * lock cfg.db_logon_banner against other writers (not readers) until the
 * end of the transaction. All return GM_OK or a gm_rc with err filled:
 * GM_ECHECK when the database has no cfg.db_logon_banner (not GNUmed),
 * GM_EFAIL for a standby in recovery (writers) or a failed query.
 */

/* Read the banner: *text is NULL when there is none (no row or a NULL
 * message), else a new string the caller frees. */
int gm_banner_get_conn(PGconn *conn, char **text, struct gm_error *err);
/* Replace the banner with text (NULL: remove it); GM_EUSAGE, before any
 * SQL, when text is blank (gm_banner_blank). */
int gm_banner_set_conn(PGconn *conn, const char *text, struct gm_error *err);
/* Put notice n in front of the banner, replacing a gmdb notice already
 * there (never a second one); GM_EUSAGE when n is not valid, GM_ECHECK when
 * the banner starts with a damaged gmdb notice (left alone). */
int gm_banner_notice_conn(PGconn *conn, const struct gm_banner_notice *n, struct gm_error *err);
/* Take the gmdb notice out, leaving the original text byte for byte (no
 * banner when there was none); no notice is a no-op, not an error.
 * *removed (may be NULL) tells whether there was one; GM_ECHECK as above. */
int gm_banner_unnotice_conn(PGconn *conn, bool *removed, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Audit trail DDL and upgrade plausibility checks (audit.c,           */
/* plausibility.c)                                                     */
/* ------------------------------------------------------------------ */

/*
 * The text of upstream's audit-trail-schema.sql for the database conn is
 * connected to, byte for byte: the items gmAuditSchemaGenerator.
 * create_audit_ddl() returns, each followed by ";\n" (spec 6.2-6.4).
 * Only reads (in a read-only transaction of its own, or a savepoint of the
 * caller's). Run it as the role the DDL is for (upstream: gm-dbo):
 * information_schema shows only what that role may see. The connection's
 * client encoding must be UTF8. *ddl is malloc'ed, the caller frees it.
 * GM_ECHECK when upstream's generator would give up (nothing registered,
 * a registered table missing, a log table lacking an audited column).
 */
int gm_audit_generate(PGconn *conn, char **ddl, struct gm_error *err);

/* The generations of upstream's audit generator (audit-int.h): 22.x's
 * (gnumed-server 22.19 to 22.35; gm_audit_generate() runs it) and master's
 * (upstream's development tree, audit-master.c). */
struct gm_audit_generator;
extern const struct gm_audit_generator gm_audit_generator_22;
extern const struct gm_audit_generator gm_audit_generator_master;
int gm_audit_generate_by(PGconn *conn, const struct gm_audit_generator *gen, char **ddl, struct gm_error *err);

/* auditcheck.c: one row of every audited table updated and deleted on
 * conn (the owner's) in a transaction that is rolled back; the sequences
 * it advanced are set back. GM_ECHECK if a trigger fails with an error of
 * its own making or writes no audit row. */
struct gm_audit_check {
	bool no_audit;          /* the database has no audit trail */
	int tables, empty;      /* audited tables, those without a row to try */
	int updated, deleted;   /* statements that worked and were audited */
	int refused;            /* statements the database's own rules refused */
	int sequences_reset;
	struct gm_strv broken_tables; /* schema.table whose audit triggers failed */
	struct gm_strv broken;        /* for each: what failed */
};
int gm_audit_check(PGconn *conn, struct gm_audit_check *out, struct gm_error *err);
void gm_audit_check_release(struct gm_audit_check *ac);
/* The audited tables whose triggers upstream's own engine leaves broken in
 * the reference database of version (space-separated), NULL for a version
 * upstream's engine leaves clean: in a version with a list, whatever the
 * check finds is upstream's own. */
const char *gm_audit_check_known_defects(int version);

struct gm_check {
	char *tag;        /* the check's name/label as upstream logs it */
	bool passed;
	char *old_sql, *new_sql;
	char *old_value, *new_value; /* NULL for SQL NULL */
	unsigned old_type;           /* the old value's type OID */
	char *problem;    /* why it failed (query error, mismatch), NULL if passed */
};

/*
 * Split one check definition item "<tag>::::<old query>" the way upstream
 * does (Python's split('::::') into exactly two parts). Returns GM_OK with
 * *tag and *old_sql malloc'ed, or GM_EUSAGE (err says why) when the item
 * has no or more than one separator.
 */
int gm_plausibility_split(const char *def, char **tag, char **old_sql, struct gm_error *err);

/*
 * Run upstream's "upgrade plausibility checks" (spec 5): items as listed in
 * the conf, taken pairwise (definition, new query); a pair whose definition
 * starts with "--" is skipped and not returned. Each old query runs on
 * old_db, each new one on new_db, as the databases' owner (the databases'
 * own search_path), on two connections to each at once, inside read-only
 * SERIALIZABLE transactions that a failed query rolls back; a new query
 * runs only where the old one gave a value. Row 0 column 0 of each result is compared the way Python compares
 * the values psycopg2 makes of them. *checks (n of them, caller frees with
 * gm_checks_free) lists every check run; old_sql is NULL where the
 * definition could not be split (tag "?", as upstream logs it). GM_OK if
 * all passed, GM_ECHECK if any failed (all are still run), GM_EUSAGE for
 * an odd number of items (before connecting), GM_EFAIL when a connection
 * fails. items NULL (the option is absent): GM_OK, nothing run, no
 * connection; an empty list still connects (as upstream does).
 */
int gm_plausibility_run(const char *old_db, const char *new_db, const struct gm_strv *items,
			struct gm_check **checks, size_t *n, struct gm_error *err);
void gm_checks_free(struct gm_check *checks, size_t n);
/* Master's lists: items minus every "--" comment line (appended to out). */
void gm_plausibility_master_items(const struct gm_strv *items, struct gm_strv *out);
/*
 * The same run in parts, so that the old side can run early, on the
 * source, while the clone is upgraded (gm_plausibility_run is prepare +
 * finish). prepare parses items (NULL: the option is absent; GM_EUSAGE for
 * an odd number, nothing connected); *p is freed with
 * gm_plausibility_free, which also stops an old side still running.
 *
 * start_old opens one owner connection to old_db (in the calling thread)
 * and runs the old queries on it, in list order, in a background thread,
 * which neither logs nor touches anything but that connection (each
 * query is claimed by one connection, of either thread, and runs once). The caller must make
 * sure that old_db does not change from then until the results are used:
 * wait_old waits for the thread (GM_EFAIL when a signal came first: the
 * thread is stopped); discard_old cancels it or throws its results away
 * (they are then run again by finish).
 *
 * run_old runs the old side now, where no early results are kept, on up
 * to jobs connections (also for an old side that exists only before the
 * new side is ready: master's fixed-up source is the clone after the
 * fixup); finish does it too, if nobody did.
 *
 * run_new runs the new side on new_db now, on up to jobs connections,
 * while the early old side goes on: every check whose old query has not
 * failed, those the old side has not finished first, then the longest
 * old ones first. Then it runs the old queries the early side has not
 * started yet, on up to jobs connections to the early side's database,
 * beside it. A new value whose old query then fails is not used.
 *
 * start_new starts the new side early: it opens up to jobs connections to
 * new_db (in the calling thread) and runs what run_new would, in a
 * background thread that neither logs nor touches anything else, while
 * the caller goes on; run_new and finish wait for it (GM_EFAIL when a
 * signal came first: it is cancelled) instead of running the new side
 * themselves. The caller must make sure that new_db does not change from
 * then until the results are used: nothing may write to it, not even
 * what is rolled back later (sequences are not). GM_EFAIL when a
 * connection fails: nothing runs, and run_new or finish run the new side
 * as before. new_owner names the role the new side's connections log in
 * as (NULL, the default: the database's owner, looked up for each).
 *
 * finish runs the old side where no early results are kept (on up to jobs
 * connections at once), then the new side on new_db on up to jobs
 * connections, only where the old query gave a value (and run_new or
 * start_new did not already; it connects to new_db only once in all),
 * longest old query first, and fills *checks in list order, with the
 * messages and statuses of gm_plausibility_run.
 */
struct gm_plausibility;
int gm_plausibility_prepare(const struct gm_strv *items, struct gm_plausibility **p, struct gm_error *err);
int gm_plausibility_start_old(struct gm_plausibility *p, const char *old_db, struct gm_error *err);
bool gm_plausibility_old_running(const struct gm_plausibility *p);
int gm_plausibility_wait_old(struct gm_plausibility *p);
void gm_plausibility_discard_old(struct gm_plausibility *p);
int gm_plausibility_run_old(struct gm_plausibility *p, const char *old_db, int jobs, struct gm_error *err);
void gm_plausibility_new_owner(struct gm_plausibility *p, const char *owner);
int gm_plausibility_start_new(struct gm_plausibility *p, const char *new_db, int jobs, struct gm_error *err);
int gm_plausibility_run_new(struct gm_plausibility *p, const char *new_db, int jobs, struct gm_error *err);
int gm_plausibility_finish(struct gm_plausibility *p, const char *old_db, const char *new_db, int jobs,
			   struct gm_check **checks, size_t *n, struct gm_error *err);
void gm_plausibility_free(struct gm_plausibility *p);

/*
 * Whether two values upstream compares as equal: text values (NULL for
 * SQL NULL) with their type OIDs, judged as Python judges the objects
 * psycopg2 makes of them (numbers and booleans by value, strings by text).
 */
bool gm_plausibility_equal(const char *a, unsigned a_type, const char *b, unsigned b_type);

/* ------------------------------------------------------------------ */
/* JSON output                                                         */
/* ------------------------------------------------------------------ */

void gm_json_string(FILE *out, const char *s);  /* "..." or null */

#endif /* GMDB_INT_H */
