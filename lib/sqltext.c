/*
 * sqltext.c - the one way libgmdb builds SQL text from values
 *
 * Names and values that reach SQL come from places gmdb does not control:
 * the catalogs (gm-dbo names schemas, tables, indexes, constraints), the
 * database name (gm-dbo has CREATEDB), the command line. gm_sqlf() takes a
 * template whose only conversions quote: %I an identifier, %L a literal,
 * integers as such. There is no %s: a string cannot reach SQL unquoted.
 *
 * Statements built this way are sent with gm_db_exec() or gm_db_run(),
 * which use the extended query protocol: the server refuses a second
 * statement in the text, so even a quoting mistake cannot append one.
 */
#include "gmdb-int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quote_into(struct gm_buf *b, PGconn *conn, const char *s, bool ident)
{
	char *q;

	if (!s) {
		if (ident) {
			fputs("libgmdb: gm_sqlf: %I given NULL\n", stderr);
			abort();
		}
		gm_buf_adds(b, "NULL");
		return;
	}
	q = ident ? gm_db_ident(conn, s) : gm_db_literal(conn, s);
	gm_buf_adds(b, q);
	free(q);
}

char *gm_vsqlf(PGconn *conn, const char *fmt, va_list ap)
{
	struct gm_buf b = GM_BUF_INIT;

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			gm_buf_addc(&b, *p);
			continue;
		}
		switch (*++p) {
		case 'I':
			quote_into(&b, conn, va_arg(ap, const char *), true);
			break;
		case 'L':
			quote_into(&b, conn, va_arg(ap, const char *), false);
			break;
		case 'd':
			gm_buf_addf(&b, "%d", va_arg(ap, int));
			break;
		case 'l':
			if (p[1] == 'd') {
				p++;
				gm_buf_addf(&b, "%ld", va_arg(ap, long));
				break;
			}
			/* fall through */
		default:
			if (*p == '%') {
				gm_buf_addc(&b, '%');
				break;
			}
			fprintf(stderr, "libgmdb: gm_sqlf: conversion \"%%%c\" is not allowed in \"%s\"\n", *p ? *p : '0',
				fmt);
			abort();
		}
	}
	if (!b.data)
		gm_buf_adds(&b, "");
	return gm_buf_detach(&b);
}

char *gm_sqlf(PGconn *conn, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = gm_vsqlf(conn, fmt, ap);
	va_end(ap);
	return s;
}

int gm_db_vexecf(PGconn *conn, struct gm_error *err, const char *fmt, va_list ap)
{
	char *q = gm_vsqlf(conn, fmt, ap);
	int rc = gm_db_exec(conn, q, err);
	free(q);
	return rc;
}

int gm_db_execf(PGconn *conn, struct gm_error *err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = gm_db_vexecf(conn, err, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * The keywords that a column, table or schema name cannot be written as
 * without quotes (reserved ones and those that may name types or
 * functions only; unreserved and column-name keywords are valid names),
 * as the server knows them.
 */
int gm_sql_reserved_words(PGconn *conn, struct gm_strv *out, struct gm_error *err)
{
	PGresult *res = gm_db_query(conn, "SELECT word FROM pg_catalog.pg_get_keywords() "
					  "WHERE catcode OPERATOR(pg_catalog.=) ANY (ARRAY['R', 'T']::pg_catalog.\"char\"[]) ORDER BY word",
				    0, NULL, err);
	if (!res)
		return GM_EFAIL;
	for (int i = 0; i < PQntuples(res); i++)
		gm_strv_push(out, PQgetvalue(res, i, 0));
	PQclear(res);
	return GM_OK;
}

/*
 * Whether name reads the same unquoted as a column, table or schema name:
 * lower-case letters, digits, _ and $, no leading digit or $, and (with
 * reserved, else only that) not one of the reserved words.
 */
bool gm_sql_ident_plain(const char *name, const struct gm_strv *reserved)
{
	if (!name || !*name || !((*name >= 'a' && *name <= 'z') || *name == '_'))
		return false;
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '$'))
			return false;
	for (size_t i = 0; reserved && i < reserved->n; i++)
		if (strcmp(reserved->v[i], name) == 0)
			return false;
	return true;
}
