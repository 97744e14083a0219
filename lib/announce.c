/*
 * announce.c - telling the users of a GNUmed database in their running
 * clients: a message in the provider inbox of every active staff member
 *
 * GNUmed clients listen for changes of dem.message_inbox (GNUmed's own
 * notification triggers) and show a new message of the user's inbox at
 * once, where the logon banner reaches only the next login. An
 * announcement is one message per active staff member (dem.staff.is_active),
 * of gmdb's own inbox item type GM_ANNOUNCE_TYPE (made in the category
 * "administrative" when missing), high importance, expiring the day after
 * the downtime. Its text ends with the line "(gmdb announcement <check>)",
 * the first 16 hex digits of the SHA-256 of the text before it: unannounce
 * removes the messages of gmdb's type whose text ends with the check that
 * belongs to it, nothing else, and then the type once no message has it.
 * Everything runs as the database's owner (lib/owner.c), in one read-write
 * transaction per command, as for the banner.
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_LEN 16
#define CHECK_OPEN "\n\n(gmdb announcement "
#define CHECK_CLOSE ")"

static char *format_time(time_t when)
{
	struct tm tm;
	char buf[64];
	if (!localtime_r(&when, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M %Z", &tm))
		return gm_xstrdup("(unknown time)");
	return gm_xstrdup(buf);
}

int gm_announce_text(const struct gm_announcement *a, char **subject, char **text, struct gm_error *err)
{
	time_t when = a->when ? a->when : time(NULL);
	char *at, hex[65], *body;
	struct gm_buf b = GM_BUF_INIT;

	*subject = *text = NULL;
	if (a->minutes < 0 || a->minutes > 7 * 24 * 60)
		return gm_error_set(err, GM_EUSAGE, "a downtime of %d minutes is not one gmdb announces (0 to %d)", a->minutes,
				    7 * 24 * 60);
	if (a->from > 0 && a->to <= a->from)
		return gm_error_set(err, GM_EUSAGE, "an upgrade goes from a version to a higher one, not from v%d to v%d",
				    a->from, a->to);
	if (a->extra && strstr(a->extra, CHECK_OPEN))
		return gm_error_set(err, GM_EUSAGE, "the text must not contain gmdb's check line");
	at = format_time(when);
	*subject = a->minutes ? gm_xasprintf("GNUmed will be unavailable from %s for about %d minutes", at, a->minutes)
			      : gm_xasprintf("GNUmed will be unavailable from %s", at);
	gm_buf_addf(&b, "The GNUmed database \"%s\" will be unavailable from %s", a->database ? a->database : "?", at);
	if (a->minutes)
		gm_buf_addf(&b, " for about %d minutes", a->minutes);
	if (a->from > 0)
		gm_buf_addf(&b, ", for an upgrade from v%d to v%d", a->from, a->to);
	gm_buf_adds(&b, ".\nPlease save your work and close GNUmed before then: anything entered during the downtime "
			"may be lost. You will be told when it is over (the logon banner says it).");
	if (a->extra && *a->extra)
		gm_buf_addf(&b, "\n\n%s", a->extra);
	body = gm_buf_detach(&b);
	gm_sha256_hex(body, strlen(body), hex);
	hex[CHECK_LEN] = '\0';
	*text = gm_xasprintf("%s" CHECK_OPEN "%s" CHECK_CLOSE, body, hex);
	free(body);
	free(at);
	return GM_OK;
}

bool gm_announce_is_ours(const char *text)
{
	const char *open;
	size_t n, body;
	char hex[65];

	if (!text)
		return false;
	n = strlen(text);
	if (n < strlen(CHECK_OPEN) + CHECK_LEN + strlen(CHECK_CLOSE))
		return false;
	open = text + n - strlen(CHECK_CLOSE) - CHECK_LEN - strlen(CHECK_OPEN);
	if (strncmp(open, CHECK_OPEN, strlen(CHECK_OPEN)) != 0 || strcmp(text + n - strlen(CHECK_CLOSE), CHECK_CLOSE) != 0)
		return false;
	body = (size_t)(open - text);
	gm_sha256_hex(text, body, hex);
	return strncmp(hex, open + strlen(CHECK_OPEN), CHECK_LEN) == 0;
}

static int begin(PGconn *c, struct gm_error *err)
{
	PGresult *res = gm_db_query(c, gm_sql("announce-check"), 0, NULL, err);
	int rc = GM_OK;
	if (!res)
		return GM_EFAIL;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" has no provider inbox (dem.message_inbox): not a GNUmed "
				  "database, or one too old", PQdb(c));
	else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		rc = gm_error_set(err, GM_EFAIL, "database \"%s\" is on a standby in recovery: announce on the primary",
				  PQdb(c));
	PQclear(res);
	if (rc == GM_OK)
		rc = gm_db_exec(c, "BEGIN READ WRITE", err);
	return rc;
}

static int end(PGconn *c, int rc, struct gm_error *err)
{
	if (rc == GM_OK)
		return gm_db_exec(c, "COMMIT", err);
	PQclear(PQexec(c, "ROLLBACK"));
	return rc;
}

int gm_announce_conn(PGconn *c, const struct gm_announcement *a, struct gm_strv *staff, struct gm_error *err)
{
	char *subject = NULL, *text = NULL, *type = NULL, expiry[16];
	time_t last = (a->when ? a->when : time(NULL)) + (time_t)a->minutes * 60 + 86400;
	struct tm tm;
	PGresult *res;
	int rc;

	if ((rc = gm_announce_text(a, &subject, &text, err)) < 0)
		return rc;
	localtime_r(&last, &tm);
	strftime(expiry, sizeof(expiry), "%Y-%m-%d", &tm);
	rc = begin(c, err);
	if (rc == GM_OK) {
		const char *p[1] = { GM_ANNOUNCE_TYPE };
		rc = gm_db_value(c, gm_sql("announce-type"), 1, p, &type, err);
		if (rc == GM_OK && !type)
			rc = gm_error_set(err, GM_ECHECK, "database \"%s\" has no inbox category \"administrative\"", PQdb(c));
	}
	if (rc == GM_OK) {
		const char *p[4] = { type, subject, text, expiry };
		res = gm_db_query(c, gm_sql("announce-insert"), 4, p, err);
		if (!res) {
			rc = GM_EFAIL;
		} else {
			for (int i = 0; staff && i < PQntuples(res); i++)
				gm_strv_push(staff, PQgetvalue(res, i, 0));
			if (PQntuples(res) == 0)
				rc = gm_error_set(err, GM_ECHECK, "database \"%s\" has no active staff member to tell", PQdb(c));
			PQclear(res);
		}
	}
	rc = end(c, rc, err);
	if (rc < 0)
		gm_error_prefix(err, "could not announce the downtime in \"%s\"", PQdb(c));
	free(subject);
	free(text);
	free(type);
	return rc;
}

int gm_unannounce_conn(PGconn *c, int *removed, struct gm_error *err)
{
	struct gm_buf pks = GM_BUF_INIT;
	PGresult *res;
	int rc, n = 0;

	if (removed)
		*removed = 0;
	rc = begin(c, err);
	if (rc == GM_OK) {
		const char *p[1] = { GM_ANNOUNCE_TYPE };
		res = gm_db_query(c, gm_sql("announce-list"), 1, p, err);
		if (!res) {
			rc = GM_EFAIL;
		} else {
			gm_buf_adds(&pks, "{");
			for (int i = 0; i < PQntuples(res); i++)
				if (!PQgetisnull(res, i, 1) && gm_announce_is_ours(PQgetvalue(res, i, 1)))
					gm_buf_addf(&pks, "%s%s", n++ ? "," : "", PQgetvalue(res, i, 0));
			gm_buf_adds(&pks, "}");
			PQclear(res);
		}
	}
	if (rc == GM_OK) {
		const char *p[2] = { pks.data, GM_ANNOUNCE_TYPE };
		res = gm_db_query(c, gm_sql("announce-delete"), 2, p, err);
		if (!res)
			rc = GM_EFAIL;
		else if (removed)
			*removed = atoi(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	rc = end(c, rc, err);
	if (rc < 0)
		gm_error_prefix(err, "could not take the announcements out of \"%s\"", PQdb(c));
	gm_buf_release(&pks);
	return rc;
}

#define LABEL "gm-banner"

int gm_announce(const char *db, const struct gm_announcement *a, FILE *out, struct gm_error *err)
{
	struct gm_strv staff = GM_STRV_INIT;
	char *subject = NULL, *text = NULL;
	PGconn *c;
	int rc;

	/* refuse a bad announcement before connecting */
	rc = gm_announce_text(a, &subject, &text, err);
	free(subject);
	free(text);
	if (rc < 0)
		return rc;
	if (!(c = gm_owner_open(db, NULL, LABEL, GM_CONN_SAFE_PATH, err)))
		return GM_EFAIL;
	rc = gm_announce_conn(c, a, &staff, err);
	gm_conn_close(c);
	if (rc == GM_OK) {
		struct gm_buf who = GM_BUF_INIT;
		for (size_t i = 0; i < staff.n; i++) {
			char *p = gm_printable(staff.v[i]);
			gm_buf_addf(&who, "%s%s", i ? ", " : "", p);
			free(p);
		}
		fprintf(out, "announced in the inbox of %zu active staff member%s of \"%s\" (%s): their running GNUmed clients "
		       "show it now\n", staff.n, staff.n == 1 ? "" : "s", db, gm_buf_str(&who));
		fprintf(out, "undo: gm-banner %s unannounce\n", db);
		gm_buf_release(&who);
	}
	gm_strv_release(&staff);
	return rc;
}

int gm_unannounce(const char *db, FILE *out, struct gm_error *err)
{
	PGconn *c;
	int rc, removed = 0;

	if (!(c = gm_owner_open(db, NULL, LABEL, GM_CONN_SAFE_PATH, err)))
		return GM_EFAIL;
	rc = gm_unannounce_conn(c, &removed, err);
	gm_conn_close(c);
	if (rc == GM_OK && removed)
		fprintf(out, "took %d announcement%s of gmdb out of the inboxes of \"%s\"\n", removed, removed == 1 ? "" : "s", db);
	else if (rc == GM_OK)
		gm_log(GM_LOG_NOTICE, "the inboxes of \"%s\" hold no announcement of gmdb: nothing to do", db);
	return rc;
}
