/*
 * sql-runner.c - upstream's SQL script runner, statement for statement
 * (spec section 3)
 *
 * Upstream's SQL files were written for, and tested with, the small runner
 * in upstream's engine, not psql: it splits on ";" outside single quotes
 * and parentheses, drops "--" comments with their newline, skips blank
 * lines even inside literals, knows no dollar quoting, E'' escapes, double
 * quotes or block comments, executes only "\set" and "\unset" (at column
 * 0, even inside a literal) and ignores other meta-commands, discards an
 * unterminated last statement, and commits after every statement. Its
 * ON_ERROR_STOP setting lives as long as the runner, across the files of a
 * bundle. gmdb reproduces all of that, so that the same files have the
 * same effect; it only reports better: file, line, statement, and
 * PostgreSQL's message, detail, hint and SQLSTATE.
 *
 * Upstream's development tree (master 8a85b32, the future v23) has
 * another runner (pycommon/gmPsql.py's run_script), GM_SQL_DIALECT_MASTER:
 * it drops a byte order mark at the start of a file; it skips lines that
 * match ^\s*set\s+default_transaction_read_only\s+to\s+o (the database's
 * read-only default stays), ^\s*\\set\s+ON_ERROR_STOP and
 * ^\s*\\unset\s+ON_ERROR_STOP, even inside a literal; it executes no
 * meta-command; a line ^\\.+ outside a literal it means to ignore, but
 * its warning about it raises a TypeError (gmPsql.fmt_msg() is called
 * without the line number), so the file fails there, after the statements
 * before it were committed (a lone backslash is SQL text, as is a \set
 * inside a literal); and it stops at the first error, always (its
 * exception for error texts that start with "NOTICE:" never applies:
 * PostgreSQL's error messages do not).
 */
#include "gmdb-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Splitting (pure)                                                    */
/* ------------------------------------------------------------------ */

static void push_event(struct gm_sql_events *ev, enum gm_sql_event_kind kind, int line, char *text, char *value)
{
	if (ev->n == ev->alloc) {
		ev->alloc = ev->alloc ? ev->alloc * 2 : 64;
		ev->v = gm_xrealloc(ev->v, ev->alloc * sizeof(*ev->v));
	}
	ev->v[ev->n].kind = kind;
	ev->v[ev->n].line = line;
	ev->v[ev->n].text = text;
	ev->v[ev->n].value = value;
	ev->n++;
}

static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

/* Python's re.match(PATTERN, line) for the patterns master's runner skips:
 * \s* WORD1 \s+ WORD2 [\s+ WORD3 \s+ PREFIX], \s being str.isspace() */
static size_t py_spaces(const char *s, size_t len)
{
	size_t i = 0, n;
	while (i < len && (n = gm_py_space_at(s + i, len - i)) > 0)
		i += n;
	return i;
}

static bool py_match_words(const char *line, size_t len, const char *const *words)
{
	size_t i = py_spaces(line, len);

	for (size_t w = 0; words[w]; w++) {
		size_t wl = strlen(words[w]), sp;
		if (w > 0) {
			sp = py_spaces(line + i, len - i);
			if (sp == 0)
				return false;
			i += sp;
		}
		if (len - i < wl || memcmp(line + i, words[w], wl) != 0)
			return false;
		i += wl;
	}
	return true;
}

static bool master_skips(const char *line, size_t llen)
{
	static const char *const read_only[] = { "set", "default_transaction_read_only", "to", "o", NULL };
	static const char *const set_stop[] = { "\\set", "ON_ERROR_STOP", NULL };
	static const char *const unset_stop[] = { "\\unset", "ON_ERROR_STOP", NULL };

	return py_match_words(line, llen, read_only) || py_match_words(line, llen, set_stop) ||
	       py_match_words(line, llen, unset_stop);
}

void gm_sql_split(const char *raw, size_t raw_len, struct gm_sql_events *out)
{
	gm_sql_split_dialect(raw, raw_len, GM_SQL_DIALECT_22, out);
}

void gm_sql_split_dialect(const char *raw, size_t raw_len, enum gm_sql_dialect dialect, struct gm_sql_events *out)
{
	size_t len;
	char *text;
	bool master = dialect == GM_SQL_DIALECT_MASTER;

	/* master opens files as "utf-8-sig": one byte order mark at the start goes */
	if (master && raw_len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0) {
		raw += 3;
		raw_len -= 3;
	}
	text = gm_universal_newlines(raw, raw_len, &len);
	struct gm_buf cmd = GM_BUF_INIT;
	bool in_string = false, cmd_has_text = false;
	long depth = 0;
	int lineno = 0, cmd_line = 0;
	const char *p = text, *end = text + len;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t llen = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		const char *line = p;
		p += llen;
		lineno++;

		if (gm_py_blank(line, llen))
			continue;
		if (master) {
			size_t l = llen;
			while (l > 0 && line[l - 1] == '\n')
				l--;
			if (master_skips(line, llen)) {
				push_event(out, GM_SQL_META_IGNORED, lineno, gm_xstrndup(line, l), NULL);
				continue;
			}
			/* ^\\.+ outside a literal: at least one character after the backslash */
			if (!in_string && line[0] == '\\' && llen > 1 && line[1] != '\n') {
				push_event(out, GM_SQL_META_FAILS, lineno, gm_xstrndup(line, l), NULL);
				continue;
			}
			goto sql_text;
		}
		/* \set NAME VALUE and \unset NAME: even inside a literal */
		if (starts(line, llen, "\\set ")) {
			const char *a = line + 5;
			size_t rest = llen - 5, n1 = gm_py_nonspace_run(a, rest);
			if (n1 > 0 && n1 < rest && a[n1] == ' ') {
				size_t n2 = gm_py_nonspace_run(a + n1 + 1, rest - n1 - 1);
				if (n2 > 0) {
					push_event(out, GM_SQL_SET, lineno, gm_xstrndup(a, n1),
						   gm_xstrndup(a + n1 + 1, n2));
					continue;
				}
			}
		}
		if (starts(line, llen, "\\unset ")) {
			size_t n1 = gm_py_nonspace_run(line + 7, llen - 7);
			if (n1 > 0) {
				push_event(out, GM_SQL_UNSET, lineno, gm_xstrndup(line + 7, n1), NULL);
				continue;
			}
		}
		if (line[0] == '\\' && !in_string) {
			size_t l = llen;
			while (l > 0 && line[l - 1] == '\n')
				l--;
			push_event(out, GM_SQL_META_IGNORED, lineno, gm_xstrndup(line, l), NULL);
			continue;
		}
	sql_text:
		for (size_t i = 0; i < llen; i++) {
			char c = line[i], next = i + 1 < llen ? line[i + 1] : ' ';
			if (c == '\'')
				in_string = !in_string;
			if (c == '-' && next == '-' && !in_string)
				break; /* the rest of the line, newline included */
			if (!in_string) {
				if (c == '(')
					depth++;
				if (c == ')')
					depth--;
			}
			if (!in_string && depth == 0 && c == ';') {
				if (cmd_has_text)
					push_event(out, GM_SQL_STATEMENT, cmd_line, gm_buf_detach(&cmd), NULL);
				gm_buf_reset(&cmd);
				cmd_has_text = false;
				continue;
			}
			gm_buf_addc(&cmd, c);
			if (!cmd_has_text) {
				size_t sp = gm_py_space_at(line + i, llen - i);
				/* a multi-byte character's first byte: look at the whole code point */
				if (sp == 0 && ((unsigned char)c & 0xc0) != 0x80) {
					cmd_has_text = true;
					cmd_line = lineno;
				}
			}
		}
	}
	if (cmd_has_text)
		push_event(out, GM_SQL_DISCARDED, cmd_line, gm_buf_detach(&cmd), NULL);
	gm_buf_release(&cmd);
	free(text);
}

void gm_sql_events_release(struct gm_sql_events *ev)
{
	for (size_t i = 0; i < ev->n; i++) {
		free(ev->v[i].text);
		free(ev->v[i].value);
	}
	free(ev->v);
	memset(ev, 0, sizeof(*ev));
}

/* Python's int() for the ASCII forms: optional sign, digits, single "_"
 * between digits. */
static bool py_int(const char *s, long *out)
{
	const char *p = s;
	bool neg = false, digit = false;
	long v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (v < 100000000)
				v = v * 10 + (*p - '0');
			digit = true;
		} else if (*p == '_' && digit && p[1] >= '0' && p[1] <= '9') {
			continue;
		} else {
			return false;
		}
	}
	if (!digit)
		return false;
	*out = neg ? -v : v;
	return true;
}

/* ------------------------------------------------------------------ */
/* Running                                                             */
/* ------------------------------------------------------------------ */

struct gm_runner {
	PGconn *conn;
	enum gm_sql_dialect dialect;
	bool stop_set;      /* ON_ERROR_STOP has a value (upstream: not None) */
	long stop;          /* its value */
	gm_runner_rewrite_fn rewrite;
	void *rewrite_data;
	long executed, ignored;
};

struct gm_runner *gm_runner_new(PGconn *conn)
{
	struct gm_runner *r = gm_xcalloc(1, sizeof(*r));
	r->conn = conn;
	return r;
}

void gm_runner_set_dialect(struct gm_runner *r, enum gm_sql_dialect dialect)
{
	r->dialect = dialect;
}

void gm_runner_free(struct gm_runner *r)
{
	free(r);
}

void gm_runner_set_rewrite(struct gm_runner *r, gm_runner_rewrite_fn fn, void *data)
{
	r->rewrite = fn;
	r->rewrite_data = data;
}

void gm_runner_stats(const struct gm_runner *r, long *executed, long *ignored_errors)
{
	if (executed)
		*executed = r->executed;
	if (ignored_errors)
		*ignored_errors = r->ignored;
}

static char *session_authorization(PGconn *conn)
{
	PGresult *res = gm_session_query(conn, "show session authorization", 0, NULL, NULL);
	char *v = NULL;

	if (res && PQntuples(res) == 1)
		v = gm_xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/* The first line of a statement, shortened, for messages. */
static char *statement_excerpt(const char *sql)
{
	size_t a, n;
	gm_py_strip(sql, strlen(sql), &a, &n);
	const char *s = sql + a, *nl = memchr(s, '\n', n);
	size_t l = nl ? (size_t)(nl - s) : n;
	if (l > 100)
		return gm_xasprintf("%.100s ...", s);
	return nl ? gm_xasprintf("%.*s ...", (int)l, s) : gm_xstrndup(s, l);
}

/* Execute one statement as upstream's driver does; GM_OK or the error. */
static int execute(struct gm_runner *r, const char *sql, struct gm_error *err)
{
	PGresult *res;
	int rc = GM_OK;

	if (gm_session_begin(r->conn, err) < 0)
		return GM_EFAIL;
	gm_log(GM_LOG_SQL, "%s", sql);
	if (!PQsendQuery(r->conn, sql))
		return gm_error_from_conn(err, GM_EFAIL, r->conn, "could not send the statement");
	while ((res = PQgetResult(r->conn)) != NULL) {
		switch (PQresultStatus(res)) {
		case PGRES_COMMAND_OK:
		case PGRES_TUPLES_OK:
			break;
		case PGRES_EMPTY_QUERY:
			/* upstream's driver refuses to run an empty query */
			if (rc == GM_OK)
				rc = gm_error_set(err, GM_EFAIL, "can't execute an empty query");
			break;
		case PGRES_COPY_IN:
			PQputCopyEnd(r->conn, "COPY from the client is not supported by the runner");
			break;
		case PGRES_COPY_OUT: {
			char *buf;
			while (PQgetCopyData(r->conn, &buf, 0) > 0)
				PQfreemem(buf);
			if (rc == GM_OK)
				rc = gm_error_set(err, GM_EFAIL, "COPY to the client is not supported by the runner");
			break;
		}
		default:
			if (rc == GM_OK)
				rc = gm_error_from_result(err, GM_EFAIL, res, "statement failed");
			break;
		}
		PQclear(res);
	}
	if (rc == GM_OK && PQstatus(r->conn) != CONNECTION_OK)
		rc = gm_error_from_conn(err, GM_EFAIL, r->conn, "lost the connection");
	return rc;
}

int gm_runner_run_file(struct gm_runner *r, const char *path, struct gm_error *err)
{
	struct gm_sql_events ev;
	char *text = NULL, *auth_before, *auth_after;
	size_t len, bad;
	int rc = GM_OK;

	gm_log(GM_LOG_DEBUG, "running %s", path);
	auth_before = session_authorization(r->conn);
	if (access(path, R_OK) != 0) {
		rc = gm_error_set(err, GM_EFAIL, "cannot read %s: %s", path, strerror(errno));
		free(auth_before);
		return rc;
	}
	if (gm_read_file(path, &text, &len, err) < 0) {
		free(auth_before);
		return GM_EFAIL;
	}
	if (!gm_utf8_valid(text, len, &bad)) {
		free(text);
		free(auth_before);
		return gm_error_set(err, GM_EFAIL, "%s: not valid UTF-8 (at byte %zu); nothing of it was run", path,
				    bad);
	}
	gm_sql_split_dialect(text, len, r->dialect, &ev);
	free(text);

	for (size_t i = 0; i < ev.n && rc == GM_OK; i++) {
		struct gm_sql_event *e = &ev.v[i];
		switch (e->kind) {
		case GM_SQL_SET:
			gm_log(GM_LOG_DEBUG, "%s:%d: \\set %s %s", path, e->line, e->text, e->value);
			if (strcmp(e->text, "ON_ERROR_STOP") == 0) {
				long v;
				if (!py_int(e->value, &v)) {
					rc = gm_error_set(err, GM_EFAIL,
							  "%s:%d: \\set ON_ERROR_STOP %s: not an integer "
							  "(upstream's runner dies here too)",
							  path, e->line, e->value);
					break;
				}
				r->stop_set = true;
				r->stop = v;
			}
			break;
		case GM_SQL_UNSET:
			gm_log(GM_LOG_DEBUG, "%s:%d: \\unset %s", path, e->line, e->text);
			if (strcmp(e->text, "ON_ERROR_STOP") == 0)
				r->stop_set = false;
			break;
		case GM_SQL_META_IGNORED:
			gm_log(GM_LOG_INFO, "%s:%d: psql command ignored, as upstream's runner does: %s", path,
			       e->line, e->text);
			break;
		case GM_SQL_META_FAILS:
			rc = gm_error_set(err, GM_EFAIL, "%s:%d: the psql command \"%s\" ends the file here, as it ends "
					  "the runner of upstream's development tree (its warning about the line fails)",
					  path, e->line, e->text);
			gm_error_hint(err, "The statements before it were run. Upstream's engine fails on this file too.");
			break;
		case GM_SQL_DISCARDED: {
			char *ex = statement_excerpt(e->text);
			gm_log(GM_LOG_WARNING,
			       "%s:%d: text without a closing \";\" at the end of the file is not run "
			       "(as upstream's runner does): %s",
			       path, e->line, ex);
			free(ex);
			break;
		}
		case GM_SQL_STATEMENT: {
			struct gm_error serr = GM_ERROR_INIT;
			char *rewritten = r->rewrite ? r->rewrite(r->rewrite_data, e->text) : NULL;
			int src;

			if ((rc = gm_signals_check(err)) < 0)
				break;
			src = execute(r, rewritten ? rewritten : e->text, &serr);
			free(rewritten);
			r->executed++;
			if (src == GM_OK) {
				rc = gm_session_commit(r->conn, err);
				break;
			}
			char *ex = statement_excerpt(e->text);
			gm_log(GM_LOG_SQL, "failed statement (%s:%d):\n%s", path, e->line, e->text);
			if (r->dialect == GM_SQL_DIALECT_MASTER || (r->stop_set && r->stop != 0)) {
				gm_session_commit(r->conn, NULL); /* = ROLLBACK of the failed statement */
				gm_error_set(err, GM_EFAIL, "%s:%d: %s", path, e->line, serr.message);
				err->detail = serr.detail ? gm_xasprintf("%s\nstatement: %s", serr.detail, ex)
							  : gm_xasprintf("statement: %s", ex);
				err->hint = serr.hint;
				err->sqlstate = serr.sqlstate;
				serr.hint = serr.sqlstate = NULL;
				rc = GM_EFAIL;
			} else {
				gm_log(GM_LOG_WARNING, "%s:%d: %s%s%s (SQLSTATE %s; ON_ERROR_STOP is off, "
				       "so the runner goes on, as upstream's does): %s",
				       path, e->line, serr.message, serr.detail ? ": " : "",
				       serr.detail ? serr.detail : "", serr.sqlstate ? serr.sqlstate : "-", ex);
				r->ignored++;
				rc = gm_session_commit(r->conn, err);
			}
			free(ex);
			gm_error_release(&serr);
			break;
		}
		}
	}
	gm_sql_events_release(&ev);
	if (rc < 0) {
		free(auth_before);
		return rc;
	}
	rc = gm_session_commit(r->conn, err);
	auth_after = session_authorization(r->conn);
	/* (a session that went away, the server with it, has no say: the
	 * next statement reports it) */
	if (rc == GM_OK && PQstatus(r->conn) == CONNECTION_OK &&
	    (!auth_before || !auth_after || strcmp(auth_before, auth_after) != 0))
		gm_log(GM_LOG_ERROR, "%s: the session authorization changed from %s to %s while it ran", path,
		       auth_before ? auth_before : "?", auth_after ? auth_after : "?");
	free(auth_before);
	free(auth_after);
	return rc;
}
