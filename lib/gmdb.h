/*
 * gmdb.h - the public interface of libgmdb, the library behind the gm-* tools
 *
 * libgmdb is private to the gmdb package: the tools link it through their
 * RUNPATH, nothing else should. Conventions:
 *
 *  - Functions return GM_OK (0) or a negative gm_rc, and fill a caller-owned
 *    struct gm_error (initialise it with GM_ERROR_INIT, release it with
 *    gm_error_release()).
 *  - The library never exits and never writes to stdout/stderr except through
 *    the logging module (gm_log_*), which the tool configures, and through the
 *    result printers a tool calls explicitly (they take a FILE *).
 *  - gm_x_init()/gm_x_release() work on caller-allocated structs,
 *    gm_x_free() on heap objects; all of them accept NULL.
 */
#ifndef GMDB_H
#define GMDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <popt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Return codes and exit statuses                                      */
/* ------------------------------------------------------------------ */

enum gm_rc {
	GM_OK = 0,
	GM_EFAIL = -1,    /* the operation failed */
	GM_EUSAGE = -2,   /* bad input: options, arguments, names */
	GM_ECHECK = -3,   /* a check found a problem (hash, verification, precondition) */
	GM_ELOCKED = -4,  /* another run holds the lock */
};

/* Exit statuses, the same for every tool (and documented in every man page). */
enum gm_exit {
	GM_EXIT_OK = 0,
	GM_EXIT_FAIL = 1,
	GM_EXIT_USAGE = 2,
	GM_EXIT_CHECK = 3,
	GM_EXIT_LOCKED = 4,
};

/* Map a gm_rc to the exit status of a tool. */
int gm_exit_status(int rc);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

struct gm_error {
	int code;        /* a gm_rc, GM_OK while no error is set */
	char *message;   /* what failed, lowercase, no trailing period */
	char *detail;    /* optional: why, facts */
	char *hint;      /* optional: what to do next */
	char *sqlstate;  /* optional: PostgreSQL's SQLSTATE */
};
#define GM_ERROR_INIT { GM_OK, NULL, NULL, NULL, NULL }

/* Set the error (replacing an earlier one) and return code. */
int gm_error_set(struct gm_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Add or replace the detail / hint lines. */
void gm_error_detail(struct gm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gm_error_hint(struct gm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix the message: "<prefix>: <old message>". */
void gm_error_prefix(struct gm_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gm_error_release(struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

enum gm_log_level {
	GM_LOG_DEBUG = 0,  /* log file; stderr with -v -v */
	GM_LOG_SQL,        /* SQL text run: log file; stderr with -v */
	GM_LOG_INFO,       /* details: log file; stderr with -v */
	GM_LOG_PROGRESS,   /* step lines: stderr unless -q */
	GM_LOG_NOTICE,     /* things the admin should read: stderr unless -q */
	GM_LOG_WARNING,    /* always on stderr */
	GM_LOG_ERROR,
};

/* Set the program name used as the message prefix. */
void gm_log_init(const char *progname);
const char *gm_log_progname(void);
/* -1 quiet, 0 normal, 1 verbose (SQL), 2 debug */
void gm_log_set_verbosity(int verbosity);
int gm_log_verbosity(void);
/* Open a log file (created new, never overwritten: O_EXCL). */
int gm_log_open_file(const char *path, struct gm_error *err);
/* Create a new log file named <dir>/<stem>-<YYYY-MM-DD_HH-MM-SS>.log (a
 * suffix is added if that exists). */
int gm_log_open_in_dir(const char *dir, const char *stem, struct gm_error *err);
/* The open log file, or NULL. */
const char *gm_log_file_path(void);
void gm_log_close(void);
void gm_log(enum gm_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Report an error: "prog: error: message", "detail: ...", "hint: ..." */
void gm_log_report(const struct gm_error *err);

/* Steps: one progress line each, with the duration. */
struct gm_step {
	char *name;
	double started;
	double last_progress;
};
void gm_step_begin(struct gm_step *step, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* rc < 0: "failed", rc == GM_OK: "ok"; a note may say "skipped (...)". */
void gm_step_end(struct gm_step *step, int rc, const char *note);
/* A progress note for a long step: on a terminal only, at most once a second. */
void gm_step_progress(struct gm_step *step, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double gm_now(void);

/* ------------------------------------------------------------------ */
/* Command-line handling shared by the tools                           */
/* ------------------------------------------------------------------ */

/* Filled by the shared option tables. */
struct gm_conn_opts {
	char *host;
	char *port;
	char *user;
	char *password;  /* from a positional argument (upstream compatibility) */
	int no_password; /* -w: never prompt */
	int ask_password;/* -W: prompt before connecting */
};
extern struct gm_conn_opts gm_conn_opts;

struct gm_common_opts {
	int verbose;
	int quiet;
	int version;
};
extern struct gm_common_opts gm_common_opts;

extern struct poptOption gm_conn_option_table[];
extern struct poptOption gm_common_option_table[];

#define GM_POPT_CONNECTION \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, gm_conn_option_table, 0, "Connection options:", NULL }
/* The options of the tools that run upstream's definitions. */
struct gm_run_opts {
	char *upstream_dir; /* --upstream-dir */
	char *log_file;     /* --log-file */
};
extern struct gm_run_opts gm_run_opts;
extern struct poptOption gm_run_option_table[];
#define GM_POPT_RUN \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, gm_run_option_table, 0, "Upstream's definitions:", NULL }
#define GM_POPT_COMMON \
	{ NULL, '\0', POPT_ARG_INCLUDE_TABLE, gm_common_option_table, 0, "Common options:", NULL }

/*
 * Parse the command line. Returns GM_OK with *ctx set (the caller reads the
 * positional arguments and frees it with poptFreeContext), GM_EUSAGE after
 * reporting a bad option, or 1 when --version was printed (exit 0).
 */
int gm_cli_parse(poptContext *ctx, const char *progname, int argc, const char **argv,
		 const struct poptOption *table, const char *arguments);
/* Report err (if any) and return the exit status for rc. */
int gm_cli_finish(int rc, struct gm_error *err);
/* A usage error: report it with the "Try ... --help" hint, return GM_EUSAGE. */
int gm_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The --announce MINUTES and --duration MINUTES of both downtime tools
 * (-1: not given): GM_OK, or the usage error they make. */
int gm_cli_check_announce(bool downtime, int announce, int duration);
/* Parse a non-negative decimal integer (schema version, seconds ...). */
int gm_parse_uint(const char *text, int max, int *out);
/* Parse a schema version as the tools take it: "22" or "v22". */
int gm_parse_version(const char *text, int *out);
/*
 * Upstream's tools take gm-dbo's password as a positional argument: use it
 * (for user gm-dbo unless -U names another), warning that other users of
 * the machine can see it.
 */
void gm_cli_upstream_password(const char *password);
/* Whether the tool may ask questions (stdin and stderr are terminals). */
bool gm_cli_interactive(void);

/* ------------------------------------------------------------------ */
/* Schema hashes                                                       */
/* ------------------------------------------------------------------ */

/* The known hash of a schema version, or NULL. */
const char *gm_hash_for_version(int version);
/* The version a hash belongs to, or -1. */
int gm_version_for_hash(const char *hash);
/* Highest known version. */
int gm_hash_latest_version(void);
/* The upstream tree: given (--upstream-dir), else $GMDB_UPSTREAM_DIR, else
 * the configured default (/var/lib/gnumed/server). */
const char *gm_upstream_dir(const char *given);
/* Add the hashes the upstream tree knows (its gmPG2.py's table, its
 * fingerprint files) for versions gmdb's own table lacks; GM_ECHECK if its
 * gmPG2 table contradicts gmdb's. A tree without them adds nothing. */
int gm_hashes_from_tree(const char *upstream_dir, struct gm_error *err);
/* Where version's known hash comes from ("gmdb's table", or the tree's
 * file), NULL if unknown. */
const char *gm_hash_source(int version);

/* ------------------------------------------------------------------ */
/* Fingerprint                                                         */
/* ------------------------------------------------------------------ */

struct gm_fp_table {
	char *schema;
	char *name;
	long long rows;
};

struct gm_fingerprint {
	char *database;
	char *size;             /* pg_size_pretty */
	long long size_bytes;
	char *hash;             /* md5 of gm.concat_table_structure() */
	int version;            /* the version hash maps to, -1 if unknown */
	bool hash_repaired;     /* the database's function was broken (§4.4) */
	char *pg_version;       /* server_version */
	char *encoding;
	char *collate;
	char *ctype;
	/* upstream's counts, in upstream's order; NULL value = NULL (None) */
	size_t n_items;
	struct gm_fp_item {
		const char *label;
		char *value;
	} *items;
	char *structure;        /* --with-dump: the hashed text */
	size_t n_tables;
	struct gm_fp_table *tables;
	/* --verify-hash */
	bool verified;
	char *computed_hash;
};

struct gm_fingerprint_opts {
	const char *database;
	bool with_dump;     /* append the structure text the hash is computed from */
	bool tables;        /* row counts of every table in the hashed schemas */
	bool verify_hash;   /* recompute the v19-and-up hash from the catalogs */
	bool json;          /* print JSON instead of upstream's text */
	const char *output; /* also write what is printed to this file */
	int expect_version; /* -1: none */
	const char *known_hash; /* the caller computed it in this run already: not again */
	const char *owner;  /* the database's owner, if the caller knows it (NULL: looked up) */
};

void gm_fingerprint_init(struct gm_fingerprint *fp);
void gm_fingerprint_release(struct gm_fingerprint *fp);
int gm_fingerprint_take(const struct gm_fingerprint_opts *opts, struct gm_fingerprint *fp,
			struct gm_error *err);
/*
 * The whole of gm-fingerprint_db: take the fingerprint, print it to stdout
 * (and opts->output), and check it. GM_ECHECK when the hash is not the
 * expected version's, when --verify-hash disagrees, or when the database is
 * not a GNUmed database.
 */
int gm_fingerprint_run(const struct gm_fingerprint_opts *opts, struct gm_error *err);
/* Upstream's text layout (spec 8.1), one line each. */
void gm_fingerprint_print_text(const struct gm_fingerprint *fp, bool tables, FILE *out);
void gm_fingerprint_print_json(const struct gm_fingerprint *fp, FILE *out);

/* ------------------------------------------------------------------ */
/* Locking remote access (gm-hba-lock)                                 */
/* ------------------------------------------------------------------ */

enum gm_hba_command {
	GM_HBA_STATUS,
	GM_HBA_LOCK,
	GM_HBA_UNLOCK,
};

struct gm_hba_opts {
	enum gm_hba_command command;
	const char *dbname;    /* database to connect to; NULL: "postgres" */
	const char *state_dir; /* NULL: GMDB_STATE_DIR from the environment, else GM_STATE_DIR */
	bool terminate;        /* lock: end the sessions open from the network */
	int grace;             /* lock --terminate: seconds to wait first */
	bool force;            /* unlock: even over a file changed since the lock */
	bool json;             /* status: print JSON */
	bool ends_sessions_later; /* lock: the caller (the downtime procedure) ends the remote
				   * sessions itself after grace seconds: say so, not how to */
};

/*
 * The whole of gm-hba-lock: run opts->command. GM_ECHECK when the server
 * rejects the locked file, when the file was changed by someone else while
 * locked, or when it includes other files; GM_ELOCKED when another run
 * holds the state directory's lock.
 */
int gm_hba_run(const struct gm_hba_opts *opts, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Runs: log files                                                     */
/* ------------------------------------------------------------------ */

/*
 * Open the run's log file (before dropping root privileges): the given
 * path, or a new file <stem>-<time>.log in $GMDB_LOG_DIR or the configured
 * log directory (/var/log/gnumed/server).
 */
int gm_run_open_log(const char *path, const char *stem, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Fixup                                                               */
/* ------------------------------------------------------------------ */

struct gm_fixup_opts {
	const char *upstream_dir; /* NULL: the default tree */
	int version;              /* -1: find the database and its version */
	const char *database;     /* NULL: the definition's (or the one found) */
	bool check;               /* verify everything, change nothing */
	bool list;                /* print the files that would run */
	bool json;                /* summary as JSON on stdout */
	FILE *json_to;            /* NULL: stdout; else the JSON goes here */
	bool found_said;          /* the database found was announced already (--downtime) */
	int jobs;                 /* connections of the reindex; 0: one per CPU */
	bool in_procedure;        /* run by the downtime procedure, which puts the snapshot back on failure */
};

/*
 * The whole of gm-fixup_server: find the database and its fixup definition,
 * check them, and (unless check/list) apply upstream's fixup in place.
 */
int gm_fixup_run(const struct gm_fixup_opts *opts, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Upgrade                                                             */
/* ------------------------------------------------------------------ */

struct gm_upgrade_opts {
	const char *upstream_dir;   /* NULL: the default tree */
	int from, to;
	bool check;                 /* every precondition, nothing changed */
	bool replace_target;        /* drop an existing target (never one with sessions) */
	bool no_backup;             /* skip the pg_dump of the source */
	const char *backup_dir;     /* NULL: the default */
	int jobs;                   /* pg_dump's parallel jobs; 0: one per CPU */
	int backup_compress;        /* the backup's gzip level, 0 (none, the default) to 9 */
	bool json;                  /* summary as JSON on stdout */
	FILE *json_to;              /* NULL: stdout; else the JSON goes here */
	bool yes;                   /* no confirmation question on a terminal */
	const char *const *ignore_checks; /* NULL-terminated: plausibility checks whose failure is reported only */
	const char *final_mark;     /* NULL: the finished target gets its build record as comment; else
				     * this one (the downtime procedure keeps its target marked until
				     * it is done, and records the build itself) */
	const char *source_db;      /* NULL: the definition's source; else this copy of it (a
				     * rehearsal), with the group roles of the definition's names */
	const char *target_db;      /* NULL: the definition's target; else this name */
	struct gm_upgrade_result *result; /* NULL, or filled with the steps and their times */
	bool in_procedure;          /* run by the downtime procedure: its own notice, connection limit
				     * and journal are no leftovers of a crash */
	bool downtime_check;        /* the downtime procedure's checks before its first change: those of
				     * check, except that sessions on the source from the network are
				     * ones the procedure ends; the report goes to stderr when a check
				     * fails, else only to the log */
};

/* What a run did, step by step (gm_upgrade_opts.result). */
struct gm_upgrade_result {
	size_t n_steps;
	struct gm_upgrade_step {
		char *name;
		double seconds;
		bool ok;
	} *steps;
	size_t checks;          /* plausibility checks run */
	int checks_failed;      /* failed, not ignored */
	long long source_bytes; /* the source's size */
	double seconds;         /* the whole run */
};
void gm_upgrade_result_release(struct gm_upgrade_result *r);

/*
 * The whole of gm-upgrade_server FROM TO: checks, backup, clone, upstream's
 * steps, verification; on any failure (or SIGINT/SIGTERM) the half-made
 * target is dropped and the source is as it was.
 */
int gm_upgrade_run(const struct gm_upgrade_opts *opts, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Backups (backups.c)                                                 */
/* ------------------------------------------------------------------ */

/*
 * --list-backups: the backups of gm-upgrade_server in dir (database,
 * versions, when it finished, size, path), newest first by database; with
 * json an object with "backup_dir" and "backups". A dump without gmdb's
 * record (pg_dump did not finish) is listed as incomplete.
 */
int gm_backups_list(const char *dir, bool json, FILE *out, struct gm_error *err);
/* The backup directory of an upgrade with o: o->backup_dir, else
 * GMDB_BACKUP_DIR, else the default (/var/lib/gmdb/backups). */
const char *gm_upgrade_backup_dir(const struct gm_upgrade_opts *o);
/*
 * --prune-backups N: remove all but the newest keep (>= 1) complete
 * backups of each database in dir, one line each on out; incomplete ones
 * are never removed. dry_run: only say what would be removed.
 */
int gm_backups_prune(const char *dir, int keep, bool dry_run, FILE *out, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Rehearsal (rehearse.c)                                              */
/* ------------------------------------------------------------------ */

struct gm_rehearse_opts {
	const char *upstream_dir;   /* NULL: the default tree */
	bool fixup;                 /* rehearse gm-fixup_server, not gm-upgrade_server */
	int from, to;               /* the upgrade; a fixup: from = its version (-1: find it) */
	const char *database;       /* a fixup: the database (NULL: find it) */
	bool no_backup;             /* the real run will make no backup (upgrade) */
	const char *backup_dir;     /* where the real run's backup goes (its space) */
	int jobs;                   /* pg_dump's and pg_restore's parallel jobs; 0: one per CPU */
	int backup_compress;        /* the real run's backup's gzip level (as gm_upgrade_opts) */
	bool json;                  /* the report as JSON on stdout */
	const char *const *ignore_checks; /* as gm_upgrade_opts */
};
/*
 * --rehearse: a copy of the source made without blocking anyone (pg_dump,
 * pg_restore), the real run on it with every check, then everything it
 * made dropped; the report (stdout) says whether the real run will
 * succeed, each step's time, the estimated downtime and the space the real
 * run needs. GM_OK: it will; GM_ECHECK: it would fail (err says why);
 * GM_EFAIL: the rehearsal itself failed.
 */
int gm_rehearse(const struct gm_rehearse_opts *o, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* The downtime procedure (downtime.c)                                 */
/* ------------------------------------------------------------------ */

struct gm_downtime_opts {
	int grace;           /* seconds remote sessions get before they are ended */
	bool keep_snapshot;  /* fixup: keep the snapshot after a fixup that worked */
	int announce;        /* minutes ahead to announce the downtime in the users' inboxes and the
			      * banner before anyone is locked out; -1: no announcement */
	int duration;        /* with announce: about how long it takes, in minutes; 0: not said */
};

/*
 * gm-upgrade_server FROM TO --downtime: the runbook around gm_upgrade_run()
 * (notice, connection limit 0, remote access locked, sessions ended, the
 * upgrade, notices and access put right, an end screen on stdout; with
 * json, a JSON summary of the procedure on stdout, also when it fails
 * before its first change, and the end screen on stderr). Every
 * change is recorded in <state>/procedure.state before it is made; a
 * failure or SIGINT/SIGTERM undoes them all. GM_ECHECK while an unfinished
 * procedure is recorded, GM_ELOCKED while one runs.
 */
int gm_downtime_upgrade(const struct gm_upgrade_opts *uo, const struct gm_downtime_opts *o, struct gm_error *err);
/* gm-fixup_server --downtime: the same around gm_fixup_run(), with a
 * snapshot clone of the database that a failed fixup is rolled back to. */
int gm_downtime_fixup(const struct gm_fixup_opts *fo, const struct gm_downtime_opts *o, struct gm_error *err);
/* --recover: undo what an unfinished procedure recorded (or finish one
 * that had got through), then remove the state file. Nothing recorded: GM_OK. */
int gm_downtime_recover(struct gm_error *err);
/* gm-upgrade_server --retire FROM: gnumed_vFROM refuses connections
 * (ALLOW_CONNECTIONS false); never the newest GNUmed database, never one
 * with sessions (GM_ECHECK). undo: accept them again (--unretire). */
int gm_downtime_retire(int version, bool undo, struct gm_error *err);

/* ------------------------------------------------------------------ */
/* Logon banner                                                        */
/* ------------------------------------------------------------------ */

/*
 * The logon banner is the one row of cfg.db_logon_banner that GNUmed
 * clients show after login (spec 9). During downtime gmdb puts a notice in
 * front of it, in this exact form:
 *
 *     GM_BANNER_NOTICE_BEGIN "\n" <notice text> "\n"
 *     GM_BANNER_NOTICE_END_PREFIX <check> GM_BANNER_NOTICE_END_SUFFIX
 *     [ "\n\n" <the original banner, byte for byte> ]
 *
 * <check> is the first 16 hex digits of the SHA-256 of the notice text, so
 * the end line belongs to that one text: lines that look like the markers
 * in the practice's own text are never taken for gmdb's. The part in
 * brackets is there only when there was a banner. Taking the notice out
 * again gives the original back exactly (or no banner at all).
 *
 * Notices written before the check existed end with
 * GM_BANNER_NOTICE_END_V1 instead; such a block is gmdb's only when its
 * text is one that gmdb wrote (gm_banner_notice_text's wording).
 */
#define GM_BANNER_NOTICE_BEGIN "*** Notice from the database administrator (gmdb) ***"
#define GM_BANNER_NOTICE_END_PREFIX "*** End of notice (gmdb "
#define GM_BANNER_NOTICE_END_SUFFIX ") ***"
#define GM_BANNER_NOTICE_END_V1 "*** End of notice (gmdb) ***"

enum gm_banner_notice_kind {
	GM_BANNER_NOTICE_UPGRADE,   /* an upgrade from version from to version to is running */
	GM_BANNER_NOTICE_FIXUP,     /* a fixup of version from is running */
	GM_BANNER_NOTICE_REPLACED,  /* this database was replaced by database */
	GM_BANNER_NOTICE_PLANNED,   /* a downtime is planned from when, for about minutes (an upgrade
				     * from from to to when from > 0) */
};

struct gm_banner_notice {
	enum gm_banner_notice_kind kind;
	int from;              /* UPGRADE: the old version; FIXUP: the version fixed */
	int to;                /* UPGRADE: the new version (greater than from) */
	const char *database;  /* REPLACED: the database that replaced this one */
	time_t when;           /* the time the notice gives; 0: now */
	int minutes;           /* PLANNED: about how long; 0: not said */
};

/*
 * Read the banner of database db: *text is NULL when there is none (no row,
 * or a NULL message), else a new string the caller frees. GM_ECHECK when db
 * has no cfg.db_logon_banner (not a GNUmed database).
 */
int gm_banner_get(const char *db, char **text, struct gm_error *err);
/*
 * Replace the banner with text (NULL: remove it), in one read-write
 * transaction. GM_EUSAGE, before connecting, when text is blank
 * (gm_banner_blank); GM_EFAIL on a standby in recovery.
 */
int gm_banner_set(const char *db, const char *text, struct gm_error *err);
/*
 * Put notice n in front of the banner (replacing a gmdb notice that is
 * already there, never adding a second one). GM_EUSAGE when n is not valid
 * (see gm_banner_notice_text); GM_ECHECK when the banner starts with a
 * damaged gmdb notice (see gm_banner_strip).
 */
int gm_banner_notice(const char *db, const struct gm_banner_notice *n, struct gm_error *err);
/*
 * Take the gmdb notice out of the banner, leaving the original text byte for
 * byte, or no banner when there was none. *removed (may be NULL) tells
 * whether there was a notice; none is not an error. GM_ECHECK as above.
 */
int gm_banner_unnotice(const char *db, bool *removed, struct gm_error *err);
/* gm-banner's "show": print the banner and a newline (nothing when there is
 * none), or with json an object with "database", "banner", "notice" and
 * "original" (gm_banner_print_json). */
int gm_banner_show(const char *db, bool json, FILE *out, struct gm_error *err);
void gm_banner_print_json(const char *db, const char *banner, FILE *out);
/*
 * Read a banner text from in (gm-banner's "set -"): all of it, less one
 * trailing newline. GM_EUSAGE for a NUL byte or a read error. The caller
 * frees *text.
 */
int gm_banner_read(FILE *in, char **text, struct gm_error *err);

/* Whether GNUmed clients show no banner for text: NULL, empty, or nothing
 * but white space (Python's str.strip(): ASCII and Unicode white space). */
bool gm_banner_blank(const char *text);
/* The text of notice n (one or more lines, English, with the time and its
 * time zone), as a new string in *text; GM_EUSAGE with err set when n is
 * not valid. */
int gm_banner_notice_text(const struct gm_banner_notice *n, char **text, struct gm_error *err);
/* The banner made of notice_text in front of original (NULL: no banner).
 * NULL when notice_text is blank or has a line that is the begin line or
 * starts like an end line ("*** End of notice (gmdb"). */
char *gm_banner_compose(const char *original, const char *notice_text);
/*
 * Split banner (may be NULL) into its gmdb notice and the original text.
 * Returns 1 when it starts with a gmdb notice (*notice: its text, *original:
 * the text after it or NULL), 0 when it does not (*notice NULL, *original a
 * copy of banner). After the begin line, the first line that starts like
 * an end line decides: gmdb's notice when it is the end line of the text
 * before it (its check matches, or a V1 end line after a text of gmdb's
 * wording) followed by nothing or a blank line. Anything else is the
 * practice's text (0), except a gmdb notice that was changed by hand, which
 * is GM_ECHECK (as for 0): an end line with a check that does not match
 * the text, or gmdb's notice without the blank line after it. notice and
 * original may be NULL; the caller frees what they point to.
 */
int gm_banner_strip(const char *banner, char **notice, char **original);

/* ------------------------------------------------------------------ */
/* Announcements in the provider inbox (announce.c)                    */
/* ------------------------------------------------------------------ */

/* A planned downtime, told to the users in their running clients. */
struct gm_announcement {
	const char *database;  /* the database that goes down (for the text) */
	time_t when;           /* when the downtime starts; 0: now */
	int minutes;           /* about how long it takes; 0: not said */
	int from, to;          /* an upgrade from v<from> to v<to>; from 0: not said */
	const char *extra;     /* a paragraph of the administrator's, or NULL */
};
/*
 * gm-banner DATABASE announce: a message in the provider inbox of every
 * active staff member (GNUmed clients show it at once), as the database's
 * owner; one line on out says to whom. GM_EUSAGE for a bad announcement
 * (before connecting), GM_ECHECK when the database has no inbox or no
 * active staff member.
 */
int gm_announce(const char *db, const struct gm_announcement *a, FILE *out, struct gm_error *err);
/* gm-banner DATABASE unannounce: take gmdb's announcements out again (those
 * only: gmdb's inbox item type and its check at the end of the text). None
 * is not an error. */
int gm_unannounce(const char *db, FILE *out, struct gm_error *err);

#ifdef __cplusplus
}
#endif
#endif /* GMDB_H */
