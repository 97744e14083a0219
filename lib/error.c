/*
 * error.c - errors as values: struct gm_error, and its filling from libpq
 */
#include "gmdb-int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int gm_exit_status(int rc)
{
	switch (rc) {
	case GM_OK:
		return GM_EXIT_OK;
	case GM_EUSAGE:
		return GM_EXIT_USAGE;
	case GM_ECHECK:
		return GM_EXIT_CHECK;
	case GM_ELOCKED:
		return GM_EXIT_LOCKED;
	default:
		return rc > 0 ? GM_EXIT_OK : GM_EXIT_FAIL;
	}
}

static void set_field(char **field, const char *fmt, va_list ap)
{
	char *p = gm_xvasprintf(fmt, ap);
	free(*field);
	*field = p;
}

int gm_error_set(struct gm_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return code;
	gm_error_release(err);
	err->code = code;
	va_start(ap, fmt);
	set_field(&err->message, fmt, ap);
	va_end(ap);
	return code;
}

void gm_error_detail(struct gm_error *err, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return;
	va_start(ap, fmt);
	set_field(&err->detail, fmt, ap);
	va_end(ap);
}

void gm_error_hint(struct gm_error *err, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return;
	va_start(ap, fmt);
	set_field(&err->hint, fmt, ap);
	va_end(ap);
}

void gm_error_prefix(struct gm_error *err, const char *fmt, ...)
{
	va_list ap;
	char *prefix, *msg;
	if (!err)
		return;
	va_start(ap, fmt);
	prefix = gm_xvasprintf(fmt, ap);
	va_end(ap);
	msg = gm_xasprintf("%s: %s", prefix, err->message ? err->message : "unknown error");
	free(prefix);
	free(err->message);
	err->message = msg;
}

void gm_error_release(struct gm_error *err)
{
	if (!err)
		return;
	free(err->message);
	free(err->detail);
	free(err->hint);
	free(err->sqlstate);
	err->message = err->detail = err->hint = err->sqlstate = NULL;
	err->code = GM_OK;
}

/* PostgreSQL messages end in a newline; ours do not. */
static char *chomp_dup(const char *s)
{
	size_t n;
	if (!s)
		return NULL;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	return gm_xstrndup(s, n);
}

static int from_pg(struct gm_error *err, int code, const PGresult *res, PGconn *conn,
		   const char *what, va_list ap)
{
	char *prefix = gm_xvasprintf(what, ap);
	char *primary = NULL;

	if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
		primary = chomp_dup(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	else if (res && PQresultErrorMessage(res)[0])
		primary = chomp_dup(PQresultErrorMessage(res));
	else if (conn)
		primary = chomp_dup(PQerrorMessage(conn));
	if (!primary || !primary[0]) {
		free(primary);
		primary = gm_xstrdup(res ? PQresStatus(PQresultStatus(res)) : "unknown error");
	}
	gm_error_set(err, code, "%s: %s", prefix, primary);
	free(prefix);
	free(primary);
	if (res) {
		const char *d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		const char *h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (d)
			gm_error_detail(err, "%s", d);
		if (h)
			gm_error_hint(err, "%s", h);
		if (s && err)
			err->sqlstate = gm_xstrdup(s);
	}
	return code;
}

int gm_error_from_result(struct gm_error *err, int code, const PGresult *res, const char *what, ...)
{
	va_list ap;
	va_start(ap, what);
	from_pg(err, code, res, NULL, what, ap);
	va_end(ap);
	return code;
}

int gm_error_from_conn(struct gm_error *err, int code, PGconn *conn, const char *what, ...)
{
	va_list ap;
	va_start(ap, what);
	from_pg(err, code, NULL, conn, what, ap);
	va_end(ap);
	return code;
}
