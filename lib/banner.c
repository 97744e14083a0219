/*
 * banner.c - the logon banner GNUmed clients show after login
 * (cfg.db_logon_banner, spec 9), and the notice gmdb puts in front of it
 * while a database is down for an upgrade or fixup, or after it was replaced
 *
 * The notice format is in gmdb.h. The pure helpers (blank, notice text,
 * compose, strip) are separate from the database side so that the unit
 * tests can take them apart.
 *
 * Writes happen the way GNUmed clients do them (delete the row, insert the
 * new text, one transaction), in an explicit read-write transaction because
 * GNUmed databases default to read-only, with the text always a parameter.
 */
#include "gmdb-int.h"

#include <unistd.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define BEGIN_LINE GM_BANNER_NOTICE_BEGIN "\n"
#define SEPARATOR "\n\n"
/* what every end line starts with, the V1 one too */
#define END_START "*** End of notice (gmdb"
#define CHECK_LEN 16

/* ------------------------------------------------------------------ */
/* Pure helpers                                                        */
/* ------------------------------------------------------------------ */

/*
 * The code point of the UTF-8 sequence at s (*len: its length), or -1 when
 * s does not start with a well-formed sequence of two to four bytes.
 */
static long utf8_decode(const unsigned char *s, size_t *len)
{
	long cp;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		cp = s[0] & 0x1f;
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		cp = s[0] & 0x0f;
		n = 3;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		cp = s[0] & 0x07;
		n = 4;
	} else {
		return -1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*len = n;
	return cp;
}

/* What Python's str.isspace() calls white space (and str.strip() strips). */
static bool is_space_cp(long cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 ||
	       cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool gm_banner_blank(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	if (!p)
		return true;
	while (*p) {
		size_t n = 1;
		long cp = *p < 0x80 ? *p : utf8_decode(p, &n);
		if (cp < 0 || !is_space_cp(cp))
			return false;
		p += n;
	}
	return true;
}

/* The table's own check, trim(message) != '': trim() takes spaces only. */
static bool table_refuses(const char *text)
{
	return text[strspn(text, " ")] == '\0';
}

/* "2025-11-24 19:14 CET (UTC+01:00)", "2025-11-24 18:14 UTC",
 * "2025-11-24 15:14 UTC-03:00" (a zone without a name) */
static char *format_time(time_t when)
{
	struct tm tm;
	char day[64];
	long off;
	char sign;
	const char *zone;
	bool named = false;

	if (!localtime_r(&when, &tm) || !strftime(day, sizeof(day), "%Y-%m-%d %H:%M", &tm))
		return gm_xstrdup("(unknown time)");
	off = tm.tm_gmtoff;
	sign = off < 0 ? '-' : '+';
	off = labs(off);
	zone = tm.tm_zone;
	if (zone && *zone) {
		named = true;
		for (const char *z = zone; *z; z++)
			if (!isalpha((unsigned char)*z))
				named = false;
	}
	if (off == 0 && (!named || strcmp(zone, "UTC") == 0 || strcmp(zone, "GMT") == 0))
		return gm_xasprintf("%s UTC", day);
	if (named)
		return gm_xasprintf("%s %s (UTC%c%02ld:%02ld)", day, zone, sign, off / 3600, off % 3600 / 60);
	return gm_xasprintf("%s UTC%c%02ld:%02ld", day, sign, off / 3600, off % 3600 / 60);
}

#define MAX_VERSION 9999

int gm_banner_notice_text(const struct gm_banner_notice *n, char **text, struct gm_error *err)
{
	char *when;

	*text = NULL;
	switch (n->kind) {
	case GM_BANNER_NOTICE_UPGRADE:
		if (n->from < 0 || n->to > MAX_VERSION || n->to <= n->from)
			return gm_error_set(err, GM_EUSAGE, "an upgrade goes from a version to a higher one, not from v%d to v%d",
					    n->from, n->to);
		break;
	case GM_BANNER_NOTICE_FIXUP:
		if (n->from < 0 || n->from > MAX_VERSION)
			return gm_error_set(err, GM_EUSAGE, "there is no version %d to fix up", n->from);
		break;
	case GM_BANNER_NOTICE_REPLACED:
		if (!n->database || !*n->database)
			return gm_error_set(err, GM_EUSAGE, "no name given for the database that replaced this one");
		for (const unsigned char *p = (const unsigned char *)n->database; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				return gm_error_set(err, GM_EUSAGE, "the name of the database that replaced this one "
						    "contains a control character");
		break;
	case GM_BANNER_NOTICE_PLANNED:
		if (n->from < 0 || (n->from > 0 && (n->to > MAX_VERSION || n->to <= n->from)))
			return gm_error_set(err, GM_EUSAGE, "an upgrade goes from a version to a higher one, not from v%d to v%d",
					    n->from, n->to);
		if (n->minutes < 0 || n->minutes > 7 * 24 * 60)
			return gm_error_set(err, GM_EUSAGE, "a downtime of %d minutes is not one gmdb announces (0 to %d)",
					    n->minutes, 7 * 24 * 60);
		break;
	default:
		return gm_error_set(err, GM_EUSAGE, "unknown kind of notice %d", (int)n->kind);
	}

	when = format_time(n->when ? n->when : time(NULL));
	switch (n->kind) {
	case GM_BANNER_NOTICE_UPGRADE:
		*text = gm_xasprintf("An upgrade of this GNUmed database from v%d to v%d has been in progress since %s.\n"
				     "Anything entered now may be lost: please close GNUmed and wait until the upgrade is finished.",
				     n->from, n->to, when);
		break;
	case GM_BANNER_NOTICE_FIXUP:
		*text = gm_xasprintf("A repair (fixup) of this GNUmed database (v%d) has been in progress since %s.\n"
				     "GNUmed may not work properly until it is finished: please close GNUmed and wait.",
				     n->from, when);
		break;
	case GM_BANNER_NOTICE_PLANNED: {
		struct gm_buf b = GM_BUF_INIT;
		gm_buf_addf(&b, "A downtime of this GNUmed database is planned from %s", when);
		if (n->minutes)
			gm_buf_addf(&b, " for about %d minutes", n->minutes);
		if (n->from > 0)
			gm_buf_addf(&b, " (an upgrade from v%d to v%d)", n->from, n->to);
		gm_buf_adds(&b, ".\nPlease save your work and close GNUmed before then: anything entered during the "
				"downtime may be lost.");
		*text = gm_buf_detach(&b);
		break;
	}
	case GM_BANNER_NOTICE_REPLACED:
		*text = gm_xasprintf("This GNUmed database was replaced by \"%s\" on %s.\n"
				     "Please connect to %s instead: anything entered here will not be seen there. "
				     "Ask your administrator if you do not know how.",
				     n->database, when, n->database);
		break;
	}
	free(when);
	return GM_OK;
}

/* The end line for notice text s (n bytes), as a new string. */
static char *end_line(const char *s, size_t n)
{
	char hex[65];

	gm_sha256_hex(s, n, hex);
	hex[CHECK_LEN] = '\0';
	return gm_xasprintf(GM_BANNER_NOTICE_END_PREFIX "%s" GM_BANNER_NOTICE_END_SUFFIX, hex);
}

/* Does the line at s (n bytes) start with what? */
static bool starts(const char *s, size_t n, const char *what)
{
	size_t w = strlen(what);
	return n >= w && memcmp(s, what, w) == 0;
}

static bool ends(const char *s, size_t n, const char *what)
{
	size_t w = strlen(what);
	return n >= w && memcmp(s + n - w, what, w) == 0;
}

/* Is the line at s (n bytes) one of the markers, or the start of an end line? */
static bool marker_line(const char *s, size_t n)
{
	return (n == strlen(GM_BANNER_NOTICE_BEGIN) && starts(s, n, GM_BANNER_NOTICE_BEGIN)) || starts(s, n, END_START);
}

/*
 * Is s (n bytes) a notice text in the wording gm_banner_notice_text() has
 * always used? Recognises the notices gmdb wrote before the end line
 * carried a check (GM_BANNER_NOTICE_END_V1).
 */
static bool v1_wording(const char *s, size_t n)
{
	static const char upgrade2[] =
		"Anything entered now may be lost: please close GNUmed and wait until the upgrade is finished.";
	static const char fixup2[] = "GNUmed may not work properly until it is finished: please close GNUmed and wait.";
	const char *nl = memchr(s, '\n', n);
	size_t n1, n2;
	const char *l2;

	if (!nl)
		return false;
	n1 = (size_t)(nl - s);
	l2 = nl + 1;
	n2 = n - n1 - 1;
	if (memchr(l2, '\n', n2) || !ends(s, n1, "."))
		return false;
	if (starts(s, n1, "An upgrade of this GNUmed database from v"))
		return n2 == strlen(upgrade2) && starts(l2, n2, upgrade2);
	if (starts(s, n1, "A repair (fixup) of this GNUmed database (v"))
		return n2 == strlen(fixup2) && starts(l2, n2, fixup2);
	if (starts(s, n1, "This GNUmed database was replaced by \""))
		return starts(l2, n2, "Please connect to ") &&
		       ends(l2, n2, " instead: anything entered here will not be seen there. "
				    "Ask your administrator if you do not know how.");
	return false;
}

char *gm_banner_compose(const char *original, const char *notice_text)
{
	struct gm_buf b = GM_BUF_INIT;
	char *end;

	if (gm_banner_blank(notice_text))
		return NULL;
	/* no line of the notice may pass for a marker: the first line that
	 * starts like an end line must be the notice's own */
	for (const char *p = notice_text; *p;) {
		size_t n = strcspn(p, "\n");
		if (marker_line(p, n))
			return NULL;
		p += n;
		if (*p)
			p++;
	}
	end = end_line(notice_text, strlen(notice_text));
	gm_buf_adds(&b, BEGIN_LINE);
	gm_buf_adds(&b, notice_text);
	gm_buf_addc(&b, '\n');
	gm_buf_adds(&b, end);
	free(end);
	if (original) {
		gm_buf_adds(&b, SEPARATOR);
		gm_buf_adds(&b, original);
	}
	return gm_buf_detach(&b);
}

int gm_banner_strip(const char *banner, char **notice, char **original)
{
	const char *body, *line, *after;
	size_t n, text_len;
	int rc = 0;

	if (notice)
		*notice = NULL;
	if (original)
		*original = NULL;
	if (!banner)
		return 0;
	if (strncmp(banner, BEGIN_LINE, strlen(BEGIN_LINE)) != 0)
		goto not_found;
	body = banner + strlen(BEGIN_LINE);
	/* the first line after the begin line that starts like an end line */
	for (line = body;; line += n + 1) {
		n = strcspn(line, "\n");
		if (starts(line, n, END_START))
			break;
		if (!line[n])
			goto not_found;  /* none: the practice's text */
	}
	if (line == body) {
		/* gmdb never writes an empty notice: its end line here was changed */
		if (starts(line, n, GM_BANNER_NOTICE_END_PREFIX))
			rc = GM_ECHECK;
		goto not_found;
	}
	text_len = (size_t)(line - body) - 1;  /* less the newline before the end line */
	if (starts(line, n, GM_BANNER_NOTICE_END_PREFIX)) {
		/* only gmdb writes this end line: the text must be its own */
		char *want = end_line(body, text_len);
		bool mine = strlen(want) == n && memcmp(want, line, n) == 0;
		free(want);
		if (!mine) {
			rc = GM_ECHECK;  /* a changed text, or a changed end line */
			goto not_found;
		}
	} else if (n != strlen(GM_BANNER_NOTICE_END_V1) || !starts(line, n, GM_BANNER_NOTICE_END_V1) ||
		   !v1_wording(body, text_len)) {
		goto not_found;  /* the practice's text */
	}
	after = line + n;
	if (*after != '\0' && strncmp(after, SEPARATOR, strlen(SEPARATOR)) != 0) {
		rc = GM_ECHECK;  /* gmdb's notice, without the blank line after it */
		goto not_found;
	}
	if (notice)
		*notice = gm_xstrndup(body, text_len);
	if (original && *after)
		*original = gm_xstrdup(after + strlen(SEPARATOR));
	return 1;

not_found:
	if (original)
		*original = gm_xstrdup(banner);
	return rc;
}

int gm_banner_read(FILE *in, char **text, struct gm_error *err)
{
	struct gm_buf b = GM_BUF_INIT;
	char chunk[4096];
	size_t n;

	*text = NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		gm_buf_add(&b, chunk, n);
	if (ferror(in)) {
		gm_buf_release(&b);
		return gm_error_set(err, GM_EUSAGE, "could not read the banner text from standard input");
	}
	if (b.data && strlen(b.data) != b.len) {
		gm_buf_release(&b);
		return gm_error_set(err, GM_EUSAGE, "the banner text contains a NUL byte");
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	*text = gm_buf_detach(&b);
	return GM_OK;
}

/* ------------------------------------------------------------------ */
/* The database side                                                   */
/* ------------------------------------------------------------------ */

static const char *db_name(PGconn *conn)
{
	return PQdb(conn) ? PQdb(conn) : "?";
}

/*
 * Run sql with params, expecting status want. On failure err says
 * "<what>: <PostgreSQL's message>", with detail, hint and SQLSTATE.
 */
static PGresult *run(PGconn *conn, const char *sql, int nparams, const char *const *params,
		     ExecStatusType want, const char *what, struct gm_error *err)
{
	PGresult *res;

	if (!sql) {
		gm_error_set(err, GM_EFAIL, "%s: the library lacks its SQL", what);
		return NULL;
	}
	gm_log(GM_LOG_SQL, "%s", sql);
	for (int i = 0; i < nparams; i++)
		gm_log(GM_LOG_DEBUG, "  $%d = %s", i + 1, params[i] ? params[i] : "NULL");
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == want)
		return res;
	if (res && PQresultStatus(res) != PGRES_FATAL_ERROR && PQresultStatus(res) != PGRES_NONFATAL_ERROR)
		gm_error_set(err, GM_EFAIL, "%s: unexpected result %s", what, PQresStatus(PQresultStatus(res)));
	else if (res)
		gm_error_from_result(err, GM_EFAIL, res, "%s", what);
	else
		gm_error_from_conn(err, GM_EFAIL, conn, "%s", what);
	PQclear(res);
	return NULL;
}

/* Is this a GNUmed database, and (when writing) one that can be written? */
static int check_database(PGconn *conn, bool writing, struct gm_error *err)
{
	char *what = gm_xasprintf("could not look at database \"%s\"", db_name(conn));
	PGresult *res = run(conn, gm_sql("banner-check"), 0, NULL, PGRES_TUPLES_OK, what, err);
	bool has_table, in_recovery;
	int rc = GM_OK;

	free(what);
	if (!res)
		return GM_EFAIL;
	has_table = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	in_recovery = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	if (!has_table) {
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" is not a GNUmed database", db_name(conn));
		gm_error_detail(err, "It has no table cfg.db_logon_banner.");
	} else if (writing && in_recovery) {
		rc = gm_error_set(err, GM_EFAIL, "cannot change the logon banner of database \"%s\": the server is a standby in recovery",
				  db_name(conn));
		gm_error_detail(err, "A standby is read-only.");
		gm_error_hint(err, "Change the banner on the primary server; the standby receives the change from there.");
	}
	return rc;
}

static int read_banner(PGconn *conn, char **text, struct gm_error *err)
{
	char *what = gm_xasprintf("could not read the logon banner of database \"%s\"", db_name(conn));
	PGresult *res = run(conn, gm_sql("banner-read"), 0, NULL, PGRES_TUPLES_OK, what, err);

	free(what);
	*text = NULL;
	if (!res)
		return GM_EFAIL;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		*text = gm_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return GM_OK;
}

/* Make err say more where PostgreSQL's words are not enough. */
static int explain_write_error(PGconn *conn, struct gm_error *err)
{
	const char *state = err ? err->sqlstate : NULL;

	if (!state)
		return GM_EFAIL;
	if (strcmp(state, "23514") == 0) {  /* check_violation */
		gm_error_set(err, GM_EUSAGE, "the table cfg.db_logon_banner of database \"%s\" refuses a blank banner",
			     db_name(conn));
		gm_error_hint(err, "Use \"clear\" to remove the banner.");
		return GM_EUSAGE;
	}
	if (strcmp(state, "42501") == 0)  /* insufficient_privilege */
		gm_error_hint(err, "Run as root (then the tool connects as postgres), or as a member of \"gm-doctors\".");
	else if (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0)  /* lock_not_available, deadlock */
		gm_error_hint(err, "Someone else is changing the logon banner; try again.");
	return GM_EFAIL;
}

/*
 * Start writing: a read-write transaction of our own when conn is idle (the
 * caller's otherwise), and the table locked against other writers.
 */
static int begin_write(PGconn *conn, bool *own, const char *what, struct gm_error *err)
{
	PGresult *res;

	*own = false;
	switch (PQtransactionStatus(conn)) {
	case PQTRANS_IDLE:
		res = run(conn, "BEGIN READ WRITE", 0, NULL, PGRES_COMMAND_OK, what, err);
		if (!res)
			return GM_EFAIL;
		PQclear(res);
		*own = true;
		break;
	case PQTRANS_INTRANS:
		break;
	default:
		return gm_error_set(err, GM_EFAIL, "%s: the connection is not ready for a transaction", what);
	}
	res = run(conn, gm_sql("banner-lock"), 0, NULL, PGRES_COMMAND_OK, what, err);
	if (!res)
		return explain_write_error(conn, err);
	PQclear(res);
	return GM_OK;
}

/* Commit (or, after an error, roll back) what begin_write() started. */
static int end_write(PGconn *conn, bool own, int rc, const char *what, struct gm_error *err)
{
	PGresult *res;

	if (!own)
		return rc;
	if (rc < 0) {
		res = PQexec(conn, "ROLLBACK");
		gm_log(GM_LOG_SQL, "ROLLBACK");
		PQclear(res);
		return rc;
	}
	res = run(conn, "COMMIT", 0, NULL, PGRES_COMMAND_OK, what, err);
	if (!res)
		return explain_write_error(conn, err);
	PQclear(res);
	return GM_OK;
}

/* Delete the row, then insert text unless it is NULL. */
static int write_banner(PGconn *conn, const char *text, const char *what, struct gm_error *err)
{
	PGresult *res = run(conn, gm_sql("banner-delete"), 0, NULL, PGRES_COMMAND_OK, what, err);

	if (!res)
		return explain_write_error(conn, err);
	PQclear(res);
	if (!text)
		return GM_OK;
	res = run(conn, gm_sql("banner-insert"), 1, &text, PGRES_COMMAND_OK, what, err);
	if (!res)
		return explain_write_error(conn, err);
	PQclear(res);
	return GM_OK;
}

static void report_damaged(PGconn *conn, struct gm_error *err)
{
	gm_error_set(err, GM_ECHECK, "the logon banner of database \"%s\" starts with a damaged gmdb notice",
		     db_name(conn));
	gm_error_detail(err, "It starts with the line \"%s\", but its end line \"%s...\" does not belong to the "
			"text before it, or the blank line after it is missing: it was changed since gmdb wrote it.",
			GM_BANNER_NOTICE_BEGIN, END_START);
	gm_error_hint(err, "Look at it with \"gm-banner %s show\" and put the text right with \"gm-banner %s set -\".",
		      db_name(conn), db_name(conn));
}

static int refuse_blank(struct gm_error *err)
{
	gm_error_set(err, GM_EUSAGE, "the banner text is empty or only white space");
	gm_error_detail(err, "The table cfg.db_logon_banner refuses a text that is empty or only spaces, "
			"and GNUmed clients show no banner for one that is only white space.");
	gm_error_hint(err, "Use \"clear\" to remove the banner.");
	return GM_EUSAGE;
}

int gm_banner_get_conn(PGconn *conn, char **text, struct gm_error *err)
{
	int rc = check_database(conn, false, err);

	*text = NULL;
	if (rc == GM_OK)
		rc = read_banner(conn, text, err);
	return rc;
}

int gm_banner_set_conn(PGconn *conn, const char *text, struct gm_error *err)
{
	char *what;
	bool own = false;
	int rc;

	if (text && gm_banner_blank(text))
		return refuse_blank(err);
	rc = check_database(conn, true, err);
	if (rc < 0)
		return rc;
	what = gm_xasprintf("could not %s the logon banner of database \"%s\"", text ? "set" : "clear",
			    db_name(conn));
	rc = begin_write(conn, &own, what, err);
	if (rc == GM_OK)
		rc = write_banner(conn, text, what, err);
	rc = end_write(conn, own, rc, what, err);
	if (rc == GM_OK)
		gm_log(GM_LOG_INFO, "logon banner of database \"%s\" %s", db_name(conn), text ? "set" : "cleared");
	free(what);
	return rc;
}

int gm_banner_notice_conn(PGconn *conn, const struct gm_banner_notice *n, struct gm_error *err)
{
	char *notice = NULL, *what = NULL, *current = NULL, *original = NULL, *banner = NULL;
	bool own = false;
	int rc;

	rc = gm_banner_notice_text(n, &notice, err);
	if (rc == GM_OK)
		rc = check_database(conn, true, err);
	if (rc < 0)
		goto out;
	what = gm_xasprintf("could not put a notice into the logon banner of database \"%s\"", db_name(conn));
	rc = begin_write(conn, &own, what, err);
	if (rc == GM_OK)
		rc = read_banner(conn, &current, err);
	if (rc == GM_OK && gm_banner_strip(current, NULL, &original) < 0) {
		report_damaged(conn, err);
		rc = GM_ECHECK;
	}
	if (rc == GM_OK) {
		banner = gm_banner_compose(original, notice);
		if (!banner)
			rc = gm_error_set(err, GM_EFAIL, "%s: the notice text is not usable", what);
	}
	if (rc == GM_OK && current && strcmp(current, banner) == 0)
		gm_log(GM_LOG_INFO, "database \"%s\" already has this notice", db_name(conn));
	else if (rc == GM_OK)
		rc = write_banner(conn, banner, what, err);
	rc = end_write(conn, own, rc, what, err);
	if (rc == GM_OK)
		gm_log(GM_LOG_INFO, "notice in the logon banner of database \"%s\": %s", db_name(conn), notice);
out:
	free(notice);
	free(what);
	free(current);
	free(original);
	free(banner);
	return rc;
}

int gm_banner_unnotice_conn(PGconn *conn, bool *removed, struct gm_error *err)
{
	char *what, *current = NULL, *original = NULL;
	bool own = false;
	int rc, found = 0;

	if (removed)
		*removed = false;
	rc = check_database(conn, true, err);
	if (rc < 0)
		return rc;
	what = gm_xasprintf("could not take the notice out of the logon banner of database \"%s\"", db_name(conn));
	rc = begin_write(conn, &own, what, err);
	if (rc == GM_OK)
		rc = read_banner(conn, &current, err);
	if (rc == GM_OK) {
		found = gm_banner_strip(current, NULL, &original);
		if (found < 0) {
			report_damaged(conn, err);
			rc = GM_ECHECK;
		}
	}
	/* An original the table would refuse cannot have been there before:
	 * no banner then. */
	if (rc == GM_OK && found == 1)
		rc = write_banner(conn, original && !table_refuses(original) ? original : NULL, what, err);
	rc = end_write(conn, own, rc, what, err);
	if (rc == GM_OK && removed)
		*removed = found == 1;
	if (rc == GM_OK && found == 1)
		gm_log(GM_LOG_INFO, "notice taken out of the logon banner of database \"%s\"", db_name(conn));
	free(what);
	free(current);
	free(original);
	return rc;
}

/* ------------------------------------------------------------------ */
/* One connection per call, for the tools                              */
/* ------------------------------------------------------------------ */

#define CONN_LABEL "gm-banner"

/* cfg.db_logon_banner and its triggers are the owner's: read and written
 * as the owner (lib/owner.c), never as the superuser */
static PGconn *banner_conn(const char *db, struct gm_error *err)
{
	return gm_owner_open(db, NULL, CONN_LABEL, GM_CONN_SAFE_PATH, err);
}

int gm_banner_get(const char *db, char **text, struct gm_error *err)
{
	PGconn *conn;
	int rc;

	*text = NULL;
	conn = banner_conn(db, err);
	if (!conn)
		return GM_EFAIL;
	rc = gm_banner_get_conn(conn, text, err);
	gm_conn_close(conn);
	return rc;
}

int gm_banner_set(const char *db, const char *text, struct gm_error *err)
{
	PGconn *conn;
	int rc;

	/* refuse a blank text before connecting */
	if (text && gm_banner_blank(text))
		return refuse_blank(err);
	conn = banner_conn(db, err);
	if (!conn)
		return GM_EFAIL;
	rc = gm_banner_set_conn(conn, text, err);
	gm_conn_close(conn);
	return rc;
}

int gm_banner_notice(const char *db, const struct gm_banner_notice *n, struct gm_error *err)
{
	PGconn *conn;
	char *text;
	int rc;

	/* refuse a bad notice before connecting */
	rc = gm_banner_notice_text(n, &text, err);
	free(text);
	if (rc < 0)
		return rc;
	conn = banner_conn(db, err);
	if (!conn)
		return GM_EFAIL;
	rc = gm_banner_notice_conn(conn, n, err);
	gm_conn_close(conn);
	return rc;
}

int gm_banner_unnotice(const char *db, bool *removed, struct gm_error *err)
{
	PGconn *conn;
	int rc;

	if (removed)
		*removed = false;
	conn = banner_conn(db, err);
	if (!conn)
		return GM_EFAIL;
	rc = gm_banner_unnotice_conn(conn, removed, err);
	gm_conn_close(conn);
	return rc;
}

void gm_banner_print_json(const char *db, const char *banner, FILE *out)
{
	char *notice = NULL, *original = NULL;

	gm_banner_strip(banner, &notice, &original);
	fputs("{\n  \"database\": ", out);
	gm_json_string(out, db);
	fputs(",\n  \"banner\": ", out);
	gm_json_string(out, banner);
	fputs(",\n  \"notice\": ", out);
	gm_json_string(out, notice);
	fputs(",\n  \"original\": ", out);
	gm_json_string(out, original);
	fputs("\n}\n", out);
	free(notice);
	free(original);
}

int gm_banner_show(const char *db, bool json, FILE *out, struct gm_error *err)
{
	char *text = NULL;
	int rc = gm_banner_get(db, &text, err);

	if (rc == GM_OK && json)
		gm_banner_print_json(db, text, out);
	else if (rc == GM_OK && text && isatty(fileno(out))) {
		/* on a terminal, the banner's control characters are shown, not
		 * obeyed; to a file or pipe it goes byte for byte */
		char *p = gm_printable(text);
		fprintf(out, "%s\n", p);
		free(p);
	} else if (rc == GM_OK && text)
		fprintf(out, "%s\n", text);
	free(text);
	return rc;
}
