/*
 * conf.c - upstream's INI-like step definitions (spec section 1)
 *
 * Reads *.conf files the way upstream's parser does, quirks included:
 * lines are stripped (Unicode whitespace), "#" and ";" start comment
 * lines, "name = value" and "name: value" split at the first "=" or ":",
 * a value ends at the first "#", and "name = $name$" starts a list whose
 * items are taken verbatim (stripped) up to a line that is exactly
 * "$name$". Where upstream's parser raises an exception (and the engine
 * dies with a Python traceback), gmdb reports the file and line.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct conf_entry {
	char *group, *option;
	bool is_list;
	char *value;
	struct gm_strv items;
};

struct gm_conf {
	char *path;
	struct conf_entry *e;
	size_t n, alloc;
	struct gm_strv groups;
};

static struct conf_entry *find(const struct gm_conf *conf, const char *group, const char *option)
{
	for (size_t i = 0; i < conf->n; i++)
		if (strcmp(conf->e[i].group, group) == 0 && strcmp(conf->e[i].option, option) == 0)
			return &conf->e[i];
	return NULL;
}

/* The entry for group::option, emptied (a repeated option replaces the earlier one). */
static struct conf_entry *entry(struct gm_conf *conf, const char *group, const char *option)
{
	struct conf_entry *e = find(conf, group, option);

	if (e) {
		gm_log(GM_LOG_DEBUG, "%s: option \"%s\" of [%s] given again: the later one counts",
		       conf->path, option, group);
		free(e->value);
		e->value = NULL;
		gm_strv_release(&e->items);
		e->is_list = false;
		return e;
	}
	if (conf->n == conf->alloc) {
		conf->alloc = conf->alloc ? conf->alloc * 2 : 32;
		conf->e = gm_xrealloc(conf->e, conf->alloc * sizeof(*conf->e));
	}
	e = &conf->e[conf->n++];
	memset(e, 0, sizeof(*e));
	e->group = gm_xstrdup(group);
	e->option = gm_xstrdup(option);
	return e;
}

static int parse_error(struct gm_error *err, const char *name, int line, const char *what)
{
	return gm_error_set(err, GM_ECHECK, "%s:%d: %s", name, line, what);
}

/* Find the first "\s*[=:]\s*" in s[0..len): the name ends at *name_end,
 * the value starts at *value_start. False if there is no "=" or ":". */
static bool split_option(const char *s, size_t len, size_t *name_end, size_t *value_start)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '=' && s[i] != ':')
			continue;
		/* the regex's leading \s* is greedy from the leftmost position:
		 * the name is what comes before the whitespace run before i */
		size_t a = i;
		for (;;) {
			size_t b = a, n = 0;
			/* step back over one whitespace code point */
			while (b > 0) {
				b--;
				if (((unsigned char)s[b] & 0xc0) != 0x80)
					break;
			}
			if (a == 0 || (n = gm_py_space_at(s + b, a - b)) == 0 || n != a - b)
				break;
			a = b;
		}
		size_t v = i + 1, n;
		while (v < len && (n = gm_py_space_at(s + v, len - v)) > 0)
			v += n;
		*name_end = a;
		*value_start = v;
		return true;
	}
	return false;
}

int gm_conf_parse(const char *text, const char *name, struct gm_conf **out, struct gm_error *err)
{
	struct gm_conf *conf = gm_xcalloc(1, sizeof(*conf));
	char *group = NULL, *option = NULL, *list_end = NULL;
	struct conf_entry *list = NULL;
	const char *p = text, *end = text + strlen(text);
	int lineno = 0, list_line = 0, rc = GM_OK;
	size_t bad;

	conf->path = gm_xstrdup(name);
	if (!gm_utf8_valid(text, (size_t)(end - text), &bad)) {
		rc = gm_error_set(err, GM_ECHECK, "%s: not valid UTF-8 (at byte %zu)", name, bad);
		goto out;
	}
	while (p < end) {
		/* one line: universal newlines (LF, CR LF, CR) */
		const char *nl = p;
		while (nl < end && *nl != '\n' && *nl != '\r')
			nl++;
		const char *next = nl;
		if (next < end)
			next += (*next == '\r' && next + 1 < end && next[1] == '\n') ? 2 : 1;
		size_t s0, slen;
		gm_py_strip(p, (size_t)(nl - p), &s0, &slen);
		const char *s = p + s0;
		p = next;
		lineno++;

		if (list) {
			if (slen == strlen(list_end) && memcmp(s, list_end, slen) == 0) {
				list = NULL;
				continue;
			}
			gm_strv_push_owned(&list->items, gm_xstrndup(s, slen));
			continue;
		}
		if (slen == 0 || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			size_t a = 0, b = slen, g0, glen;
			if (s[slen - 1] != ']') {
				rc = parse_error(err, name, lineno, "a group line must end with \"]\"");
				goto out;
			}
			while (a < b && (s[a] == '[' || s[a] == ']'))
				a++;
			while (b > a && (s[b - 1] == '[' || s[b - 1] == ']'))
				b--;
			gm_py_strip(s + a, b - a, &g0, &glen);
			if (glen == 0) {
				rc = parse_error(err, name, lineno, "empty group name");
				goto out;
			}
			free(group);
			group = gm_xstrndup(s + a + g0, glen);
			bool known = false;
			for (size_t i = 0; i < conf->groups.n && !known; i++)
				known = strcmp(conf->groups.v[i], group) == 0;
			if (!known)
				gm_strv_push(&conf->groups, group);
			continue;
		}
		if (!group) {
			gm_log(GM_LOG_DEBUG, "%s:%d: an option before the first group is ignored", name, lineno);
			continue;
		}
		size_t name_end, vstart;
		if (!split_option(s, slen, &name_end, &vstart)) {
			rc = parse_error(err, name, lineno, "neither \"=\" nor \":\" in an option line");
			goto out;
		}
		if (name_end == 0) {
			rc = parse_error(err, name, lineno, "empty option name");
			goto out;
		}
		free(option);
		option = gm_xstrndup(s, name_end);
		/* the value: up to the first "#", stripped */
		const char *v = s + vstart;
		size_t vlen = slen - vstart, v0, vl;
		const char *hash = memchr(v, '#', vlen);
		if (hash)
			vlen = (size_t)(hash - v);
		gm_py_strip(v, vlen, &v0, &vl);
		struct conf_entry *e = entry(conf, group, option);
		free(list_end);
		list_end = gm_xasprintf("$%s$", option);
		if (vl == strlen(list_end) && memcmp(v + v0, list_end, vl) == 0) {
			e->is_list = true;
			list = e;
			list_line = lineno;
			continue;
		}
		e->value = gm_xstrndup(v + v0, vl);
	}
	if (list)
		rc = gm_error_set(err, GM_ECHECK, "%s:%d: the list \"%s\" is not closed by a line \"%s\"", name,
				  list_line, option, list_end);
out:
	free(group);
	free(option);
	free(list_end);
	if (rc < 0) {
		gm_conf_free(conf);
		conf = NULL;
	}
	*out = conf;
	return rc;
}

int gm_conf_load(const char *path, struct gm_conf **out, struct gm_error *err)
{
	char *text = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (gm_read_file(path, &text, &len, err) < 0)
		return GM_EFAIL;
	if (strlen(text) != len) {
		free(text);
		return gm_error_set(err, GM_ECHECK, "%s: contains a NUL byte: not a conf file", path);
	}
	rc = gm_conf_parse(text, path, out, err);
	free(text);
	return rc;
}

void gm_conf_free(struct gm_conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n; i++) {
		free(conf->e[i].group);
		free(conf->e[i].option);
		free(conf->e[i].value);
		gm_strv_release(&conf->e[i].items);
	}
	free(conf->e);
	gm_strv_release(&conf->groups);
	free(conf->path);
	free(conf);
}

const char *gm_conf_path(const struct gm_conf *conf)
{
	return conf->path;
}

const char *gm_conf_get(const struct gm_conf *conf, const char *group, const char *option)
{
	const struct conf_entry *e = find(conf, group, option);
	return e && !e->is_list ? e->value : NULL;
}

const struct gm_strv *gm_conf_get_list(const struct gm_conf *conf, const char *group, const char *option)
{
	const struct conf_entry *e = find(conf, group, option);
	return e && e->is_list ? &e->items : NULL;
}

bool gm_conf_has(const struct gm_conf *conf, const char *group, const char *option)
{
	return find(conf, group, option) != NULL;
}

const struct gm_strv *gm_conf_groups(const struct gm_conf *conf)
{
	return &conf->groups;
}

void gm_conf_options(const struct gm_conf *conf, const char *group, struct gm_strv *out)
{
	for (size_t i = 0; i < conf->n; i++)
		if (strcmp(conf->e[i].group, group) == 0)
			gm_strv_push(out, conf->e[i].option);
}
