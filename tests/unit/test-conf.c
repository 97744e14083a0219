/* Unit tests: upstream's conf format (spec section 1) */
#include "gmdb-int.h"
#include "tap.h"

#include <stdlib.h>

static struct gm_conf *parse(const char *text, struct gm_error *err)
{
	struct gm_conf *c = NULL;
	gm_error_release(err);
	gm_conf_parse(text, "t.conf", &c, err);
	return c;
}

static char *join(const struct gm_strv *sv)
{
	struct gm_buf b = GM_BUF_INIT;
	if (!sv)
		return gm_xstrdup("(absent)");
	for (size_t i = 0; i < sv->n; i++)
		gm_buf_addf(&b, "<%s>", sv->v[i]);
	return sv->n ? gm_buf_detach(&b) : gm_xstrdup("(empty)");
}

int main(void)
{
	struct gm_error err = GM_ERROR_INIT;
	struct gm_conf *c;
	char *s;

	c = parse("# comment\n; comment\n\n[installation]\ninteractive = no\n"
		  "bundles = $bundles$\nv22 fixups\n$bundles$\n"
		  "[bundle v22 fixups]\ndatabase alias = gnumed_v22 # inline\n"
		  "minimum postgresql version = 9.2\n", &err);
	ok(c != NULL, "a plain conf parses");
	is_str(gm_conf_get(c, "installation", "interactive"), "no", "name = value");
	s = join(gm_conf_get_list(c, "installation", "bundles"));
	is_str(s, "<v22 fixups>", "a list");
	free(s);
	is_str(gm_conf_get(c, "bundle v22 fixups", "database alias"), "gnumed_v22", "a value ends at '#'");
	ok(gm_conf_get(c, "installation", "bundles") == NULL, "a list is not a string");
	ok(gm_conf_get_list(c, "installation", "interactive") == NULL, "a string is not a list");
	ok(gm_conf_get(c, "Installation", "interactive") == NULL, "group names are case-sensitive");
	ok(!gm_conf_has(c, "installation", "description"), "absent is absent");
	s = join(gm_conf_groups(c));
	is_str(s, "<installation><bundle v22 fixups>", "groups in file order");
	free(s);
	gm_conf_free(c);

	c = parse("[g]\na: b = c\nx=y:z\n  spaced name   =   v  \nempty =\nsemi = a;b\n", &err);
	is_str(gm_conf_get(c, "g", "a"), "b = c", "the first ':' or '=' splits");
	is_str(gm_conf_get(c, "g", "x"), "y:z", "only once");
	is_str(gm_conf_get(c, "g", "spaced name"), "v", "names and values are stripped, inner spaces stay");
	is_str(gm_conf_get(c, "g", "empty"), "", "an empty value is an empty string");
	is_str(gm_conf_get(c, "g", "semi"), "a;b", "';' is not an inline comment");
	gm_conf_free(c);

	c = parse("[g]\nl = $l$\n\n# not a comment\n  ; neither  \n-- x\na # b\n$l$\ne = $e$\n$e$\n", &err);
	s = join(gm_conf_get_list(c, "g", "l"));
	is_str(s, "<><# not a comment><; neither><-- x><a # b>", "inside a list nothing is a comment, items are stripped");
	free(s);
	s = join(gm_conf_get_list(c, "g", "e"));
	is_str(s, "(empty)", "an empty list is not absent");
	free(s);
	gm_conf_free(c);

	c = parse("[g]\nl = $l$\na\n$l$ # end\nb\n$l$\n", &err);
	s = join(gm_conf_get_list(c, "g", "l"));
	is_str(s, "<a><$l$ # end><b>", "a terminator with trailing text does not end the list");
	free(s);
	gm_conf_free(c);

	c = parse("[g]\nx = 1\nx = 2\n[h]\n[g]\ny = 3\n", &err);
	is_str(gm_conf_get(c, "g", "x"), "2", "a repeated option: the later one counts");
	is_str(gm_conf_get(c, "g", "y"), "3", "a repeated group merges");
	s = join(gm_conf_groups(c));
	is_str(s, "<g><h>", "a repeated group is listed once");
	free(s);
	gm_conf_free(c);

	c = parse("before = group\n[[ g ]]\nk = v\r\n[x]\rk2 = v2\r", &err);
	ok(c && gm_conf_get(c, "g", "k") && strcmp(gm_conf_get(c, "g", "k"), "v") == 0,
	   "all brackets are stripped from a group name; CR LF line ends");
	ok(c && gm_conf_get(c, "x", "k2") && strcmp(gm_conf_get(c, "x", "k2"), "v2") == 0, "CR line ends");
	ok(c && !gm_conf_has(c, "", "before"), "an option before the first group is ignored");
	gm_conf_free(c);

	c = parse("[g]\nno separator here\n", &err);
	ok(c == NULL && err.code == GM_ECHECK, "a line without '=' or ':' is an error");
	is_str(err.message, "t.conf:2: neither \"=\" nor \":\" in an option line", "naming file and line");
	c = parse("[g\n", &err);
	ok(c == NULL && err.message && strstr(err.message, "t.conf:1:"), "an unclosed group header is an error");
	c = parse("[ ]\n", &err);
	ok(c == NULL && err.message && strstr(err.message, "empty group name"), "an empty group name is an error");
	c = parse("[g]\n= v\n", &err);
	ok(c == NULL && err.message && strstr(err.message, "empty option name"), "an empty option name is an error");
	c = parse("[g]\nl = $l$\na\n", &err);
	ok(c == NULL && err.message && strstr(err.message, "t.conf:2: the list \"l\" is not closed"),
	   "an unclosed list is an error naming where it starts");
	c = parse("[g]\nk = \xff\n", &err);
	ok(c == NULL && err.message && strstr(err.message, "UTF-8"), "invalid UTF-8 is an error");
	c = parse("[g]\nk\xc2\xa0=\xc2\xa0v\xc2\xa0\n", &err);
	ok(c && gm_conf_get(c, "g", "k") && strcmp(gm_conf_get(c, "g", "k"), "v") == 0,
	   "Unicode whitespace is whitespace, as in Python");
	gm_conf_free(c);

	gm_error_release(&err);
	c = NULL;
	ok(gm_conf_load("/nonexistent/x.conf", &c, &err) == GM_EFAIL && c == NULL,
	   "an unreadable file is an error (upstream silently reads nothing)");
	gm_error_release(&err);

	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
