/*
 * gmdb-int.h - libgmdb's internal interfaces (not for the tools)
 */
#ifndef GMDB_INT_H
#define GMDB_INT_H

#include "config.h"
#include "gmdb.h"

#include <stdarg.h>
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

/* Read a whole file; NUL-terminated, *len (if given) without the NUL. */
int gm_read_file(const char *path, char **out, size_t *len, struct gm_error *err);

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
};
/* The general form: user NULL means the default user; without
 * GM_CONN_SAFE_PATH the database's own search_path stays (for running
 * upstream's SQL exactly as upstream does). With GM_CONN_KEEP_ROOT, root
 * (with no other database user asked for) connects as the postgres OS user
 * over the local socket but stays root, for tools that must write files
 * only root may write (gm-hba-lock); without it root is dropped for good. */
PGconn *gm_conn_open_ex(const char *dbname, const char *user, const char *label, unsigned flags,
			struct gm_error *err);
void gm_conn_close(PGconn *conn);

/* Run a command that returns no rows (PGRES_COMMAND_OK). The SQL is logged. */
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
/* Server version number (PQserverVersion). */
int gm_db_server_version(PGconn *conn);

/* ------------------------------------------------------------------ */
/* Embedded SQL (sql/NAME.sql)                                          */
/* ------------------------------------------------------------------ */

/* The text of sql/<name>.sql, or NULL. */
const char *gm_sql(const char *name);

/* ------------------------------------------------------------------ */
/* Schema structure                                                    */
/* ------------------------------------------------------------------ */

/*
 * Recompute the text of gm.concat_table_structure_v19_and_up() from the
 * catalogs, and its md5, without calling anything of the database's own.
 * Runs inside the caller's transaction, with the search_path the hash is
 * defined with (the database's default, set here with SET LOCAL).
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

/* ------------------------------------------------------------------ */
/* Checksums                                                           */
/* ------------------------------------------------------------------ */

/* The SHA-256 of data as 64 lower-case hex digits and a NUL. */
void gm_sha256_hex(const void *data, size_t len, char out[65]);

/* ------------------------------------------------------------------ */
/* pg_hba.conf: locking remote access (lib/hba.c)                      */
/* ------------------------------------------------------------------ */

/* The prefix that comments out each line of a disabled network rule. */
#define GM_HBA_MARK "#gm-hba-lock# "

/* What gm_hba_rewrite() did. */
struct gm_hba_rewrite_info {
	size_t header_lines; /* lines added on top: line N of the result is line N - header_lines of the input */
	size_t disabled;     /* network records commented out */
	size_t kept;         /* other records (local, unknown types) kept byte for byte */
};

/*
 * The pure rewriting behind gm_hba_lock(): append to out the locked version
 * of the pg_hba.conf text (of file, named in messages): an explanation, the
 * comment lines in header (may be NULL), two rules rejecting every TCP/IP
 * connection, then the input with every physical line of every host,
 * hostssl, hostnossl, hostgssenc and hostnogssenc record (continuation
 * lines and @file fields included) prefixed with GM_HBA_MARK, all else byte
 * for byte. GM_ECHECK, naming file and line, for include,
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
/* JSON output                                                         */
/* ------------------------------------------------------------------ */

void gm_json_string(FILE *out, const char *s);  /* "..." or null */

#endif /* GMDB_INT_H */
