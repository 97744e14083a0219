/*
 * sql-split [-m] FILE... - print the statements gmdb's runner would send for
 * each file, in the format of tests/gnumed/upstream-split.py, which feeds
 * the same files to upstream's own runner: the two outputs must be equal.
 *
 *   == FILE
 *   -- statement
 *   TEXT
 *   !! fail          (the file would fail before or while running)
 *
 * -m: the runner of upstream's development tree (GM_SQL_DIALECT_MASTER).
 */
#include "gmdb-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	enum gm_sql_dialect dialect = GM_SQL_DIALECT_22;
	int first = 1;

	if (argc > 1 && strcmp(argv[1], "-m") == 0) {
		dialect = GM_SQL_DIALECT_MASTER;
		first = 2;
	}
	for (int i = first; i < argc; i++) {
		struct gm_error err = GM_ERROR_INIT;
		struct gm_sql_events ev;
		struct gm_buf out = GM_BUF_INIT;
		char *text = NULL;
		size_t len;
		bool fail = false;

		printf("== %s\n", argv[i]);
		if (gm_read_file(argv[i], &text, &len, &err) < 0 || !gm_utf8_valid(text, len, NULL)) {
			puts("!! fail");
			free(text);
			gm_error_release(&err);
			continue;
		}
		gm_sql_split_dialect(text, len, dialect, &ev);
		for (size_t j = 0; j < ev.n && !fail; j++) {
			const struct gm_sql_event *e = &ev.v[j];
			if (e->kind == GM_SQL_META_FAILS)
				fail = true;
			if (e->kind == GM_SQL_STATEMENT)
				gm_buf_addf(&out, "-- statement\n%s\n", e->text);
			if (e->kind == GM_SQL_SET && strcmp(e->text, "ON_ERROR_STOP") == 0) {
				/* the runner's integer conversion */
				const char *p = e->value;
				if (*p == '+' || *p == '-')
					p++;
				fail = !*p || strspn(p, "0123456789_") != strlen(p) || *p == '_' ||
				       p[strlen(p) - 1] == '_' || strstr(p, "__");
			}
		}
		fputs(fail ? "!! fail\n" : gm_buf_str(&out), stdout);
		gm_buf_release(&out);
		gm_sql_events_release(&ev);
		free(text);
	}
	return 0;
}
