/*
 * conf-dump FILE... - print what gmdb's definition reader (conf.c) makes of
 * each file, in the format of tests/gnumed/upstream-conf.py, which prints
 * what upstream's own parser (gmCfg2 / gmCfgINI .parse_INI_stream) makes
 * of it: the two outputs must be equal.
 *
 *   == FILE
 *   GROUP::OPTION = VALUE         (a value)
 *   GROUP::OPTION [] ITEM         (a list, one line per item, in order)
 *   !! fail                       (the file is refused)
 *
 * Options sorted by GROUP::OPTION (the engine only looks them up).
 */
#include "gmdb-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct gm_error err = GM_ERROR_INIT;
		struct gm_conf *conf = NULL;
		struct gm_strv lines = GM_STRV_INIT;

		printf("== %s\n", argv[i]);
		if (gm_conf_load(argv[i], &conf, &err) < 0) {
			puts("!! fail");
			gm_error_release(&err);
			continue;
		}
		const struct gm_strv *groups = gm_conf_groups(conf);
		for (size_t g = 0; g < groups->n; g++) {
			struct gm_strv opts = GM_STRV_INIT;
			gm_conf_options(conf, groups->v[g], &opts);
			for (size_t o = 0; o < opts.n; o++) {
				const struct gm_strv *list = gm_conf_get_list(conf, groups->v[g], opts.v[o]);
				struct gm_buf b = GM_BUF_INIT;
				if (list) {
					gm_buf_addf(&b, "%s::%s []", groups->v[g], opts.v[o]);
					for (size_t k = 0; k < list->n; k++)
						gm_buf_addf(&b, "\n%s::%s [] %s", groups->v[g], opts.v[o], list->v[k]);
				} else {
					gm_buf_addf(&b, "%s::%s = %s", groups->v[g], opts.v[o],
						    gm_conf_get(conf, groups->v[g], opts.v[o]));
				}
				gm_strv_push_owned(&lines, gm_buf_detach(&b));
			}
			gm_strv_release(&opts);
		}
		qsort(lines.v, lines.n, sizeof(*lines.v), cmp);
		for (size_t k = 0; k < lines.n; k++)
			puts(lines.v[k]);
		gm_strv_release(&lines);
		gm_conf_free(conf);
	}
	return 0;
}
