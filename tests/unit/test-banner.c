/* Unit tests: the logon banner's pure helpers (blank, notice text, compose,
 * strip, reading a text) */
#include "gmdb.h"
#include "tap.h"

#include <stdlib.h>
#include <time.h>

#define B GM_BANNER_NOTICE_BEGIN
#define E GM_BANNER_NOTICE_END

/* 2025-11-24 19:14:30 UTC and 2025-07-01 08:05:00 UTC */
#define NOV 1764011670
#define JUL 1751357100

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void test_blank(void)
{
	static const struct { const char *text; bool blank; const char *what; } v[] = {
		{ "", true, "empty" },
		{ " ", true, "a space" },
		{ "   ", true, "spaces" },
		{ "\n", true, "a newline" },
		{ " \t\n\r\v\f", true, "ASCII white space" },
		{ "\x1c\x1d\x1e\x1f", true, "the ASCII separators (white space to Python)" },
		{ "\xc2\xa0", true, "a no-break space" },
		{ "\xc2\x85", true, "NEL" },
		{ "\xe2\x80\x80\xe2\x80\x8a", true, "en quad and hair space" },
		{ "\xe2\x80\xa8\xe2\x80\xa9", true, "line and paragraph separators" },
		{ "\xe2\x80\xaf\xe2\x81\x9f\xe3\x80\x80\xe1\x9a\x80", true, "narrow no-break, math, ideographic, ogham spaces" },
		{ " \xc2\xa0\n\xe3\x80\x80 ", true, "a mix" },
		{ "a", false, "a letter" },
		{ " a ", false, "a letter between spaces" },
		{ "\n.\n", false, "a full stop between newlines" },
		{ "\xc3\xa4", false, "a non-ASCII letter" },
		{ "\xe2\x80\x8b", false, "a zero-width space (not white space to Python)" },
		{ "\xef\xbb\xbf", false, "a byte order mark" },
		{ "\xff", false, "a byte that is not UTF-8" },
		{ "\xc2", false, "a sequence cut short at the end" },
		{ "\xe3\x80", false, "a three-byte sequence cut short" },
		{ "\xc2 ", false, "a lead byte followed by a space" },
		{ "\xc0\xa0", false, "an overlong encoding of a space" },
		{ "\x7f", false, "DEL" },
	};
	ok(gm_banner_blank(NULL), "NULL is blank");
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		ok(gm_banner_blank(v[i].text) == v[i].blank, "%s is %s", v[i].what, v[i].blank ? "blank" : "not blank");
}

/* compose, then strip: the notice and the original come back exactly */
static void round_trip(const char *original, const char *notice, const char *what)
{
	char *banner = gm_banner_compose(original, notice);
	char *n = (char *)"unset", *o = (char *)"unset";
	int rc;

	if (!ok(banner != NULL, "%s: composes", what))
		return;
	ok(strncmp(banner, B "\n", strlen(B) + 1) == 0, "%s: starts with the begin line", what);
	rc = gm_banner_strip(banner, &n, &o);
	is_int(rc, 1, "%s: the notice is found", what);
	is_str(n, notice, "%s: the notice comes back", what);
	is_str(o, original, "%s: the original comes back byte for byte", what);
	free(n);
	free(o);
	free(banner);
}

static void test_compose_strip(void)
{
	static const char *const originals[] = {
		NULL,
		"x",
		"Welcome to the practice.",
		"\n",
		"\n\nstarts with newlines",
		"ends with newlines\n\n",
		"  spaces around  ",
		" \n mixed \n ",
		"\r\nWindows line ends\r\n",
		"It's \"quoted\", 'twice'; a \\ backslash, \\\\ two, \\n not a newline, $1, %s, %%",
		"\xc3\x9c\x62\x65rweisung f\xc3\xbcr Fr\xc3\xa4ulein M\xc3\xbcller \xe2\x82\xac \xe6\x97\xa5\xe6\x9c\xac",
		"line one\nline two\n\nline four",
		"\n\n",
		"",
		B,
		B "\n",
		"\n" E,
		"text\n" E "\n\nmore",
		E "\n\n" B,
	};
	static const char *const notices[] = {
		"N",
		"An upgrade is in progress.\nPlease wait.",
		"x\n",
		"\nx",
		"see " E " below",
		E " at the start",
		"\xe2\x86\x92 \xc3\xa4",
		"*** End of notice (gmdb) **",
	};
	char *banner, *n, *o;

	banner = gm_banner_compose(NULL, "N");
	is_str(banner, B "\nN\n" E, "the notice alone: begin line, text, end line, no newline after");
	free(banner);
	banner = gm_banner_compose("orig", "N");
	is_str(banner, B "\nN\n" E "\n\norig", "with an original: a blank line, then the original");
	free(banner);

	for (size_t i = 0; i < sizeof(originals) / sizeof(originals[0]); i++)
		for (size_t j = 0; j < sizeof(notices) / sizeof(notices[0]); j++) {
			char what[64];
			snprintf(what, sizeof(what), "original %zu, notice %zu", i, j);
			round_trip(originals[i], notices[j], what);
		}

	/* a banner that is itself a composed one: only the outer notice goes */
	banner = gm_banner_compose("orig", "inner");
	char *outer = gm_banner_compose(banner, "outer");
	is_int(gm_banner_strip(outer, &n, &o), 1, "nested notices: the outer one is found");
	is_str(n, "outer", "nested notices: the outer text");
	is_str(o, banner, "nested notices: the inner banner is the original");
	free(n);
	free(o);
	free(outer);
	free(banner);

	ok(gm_banner_compose("orig", NULL) == NULL, "no notice text: no banner");
	ok(gm_banner_compose("orig", "") == NULL, "an empty notice text is refused");
	ok(gm_banner_compose("orig", " \n ") == NULL, "a blank notice text is refused");
	ok(gm_banner_compose(NULL, "a\n" E) == NULL, "a notice text with the end line is refused");
	ok(gm_banner_compose(NULL, "a\n" E "\n\nb") == NULL, "a notice text with the end line and more is refused");

	/* banners without a notice */
	static const char *const plain[] = {
		"hello", "", "\n", " " B "\nN\n" E, "x" B "\nN\n" E, B "\r\nN\r\n" E, B "N\n" E,
		"*** Notice from the database administrator ***\nN\n" E,
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		n = (char *)"unset";
		o = NULL;
		is_int(gm_banner_strip(plain[i], &n, &o), 0, "plain banner %zu: no notice", i);
		ok(n == NULL, "plain banner %zu: no notice text", i);
		is_str(o, plain[i], "plain banner %zu: the original is all of it", i);
		free(o);
	}
	n = o = (char *)"unset";
	is_int(gm_banner_strip(NULL, &n, &o), 0, "no banner: no notice");
	ok(n == NULL && o == NULL, "no banner: no notice text, no original");

	/* damaged notices */
	static const char *const damaged[] = {
		B, B "\n", B "\nno end", B "\nN\n" E "\norig", B "\nN\n" E "x", B "\nN\n" E "\n",
		B "\nN\n" E " \n\norig", B "\nN " E "\n\norig",
	};
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		n = (char *)"unset";
		o = NULL;
		is_int(gm_banner_strip(damaged[i], &n, &o), GM_ECHECK, "damaged notice %zu: reported", i);
		ok(n == NULL, "damaged notice %zu: no notice text", i);
		is_str(o, damaged[i], "damaged notice %zu: the original is all of it", i);
		free(o);
	}

	is_int(gm_banner_strip(B "\nN\n" E "\n\n", &n, &o), 1, "an empty original after the blank line");
	is_str(o, "", "is the empty string, not none");
	free(n);
	free(o);
	is_int(gm_banner_strip(B "\nN\n" E "\n\norig", NULL, NULL), 1, "strip without out pointers");
	o = NULL;
	is_int(gm_banner_strip(B "\nN\n" E "\n\norig", NULL, &o), 1, "strip without the notice pointer");
	is_str(o, "orig", "still gives the original");
	free(o);
}

static char *notice_text(enum gm_banner_notice_kind kind, int from, int to, const char *db, time_t when)
{
	struct gm_banner_notice n = { .kind = kind, .from = from, .to = to, .database = db, .when = when };
	struct gm_error err = GM_ERROR_INIT;
	char *text = (char *)"unset";
	int rc = gm_banner_notice_text(&n, &text, &err);
	if (rc != GM_OK) {
		ok(text == NULL, "a refused notice gives no text");
		ok(err.message != NULL, "a refused notice says why (%s)", err.message ? err.message : "");
		is_int(rc, GM_EUSAGE, "a refused notice is a usage error");
		gm_error_release(&err);
		return NULL;
	}
	return text;
}

static void test_notice_text(void)
{
	char *t;

	set_tz("UTC0");
	t = notice_text(GM_BANNER_NOTICE_UPGRADE, 21, 22, NULL, NOV);
	is_str(t, "An upgrade of this GNUmed database from v21 to v22 has been in progress since 2025-11-24 19:14 UTC.\n"
		  "Anything entered now may be lost: please close GNUmed and wait until the upgrade is finished.",
	       "the upgrade notice, in UTC");
	free(t);
	t = notice_text(GM_BANNER_NOTICE_FIXUP, 0, 0, NULL, NOV);
	ok(t && strstr(t, "fixup"), "a fixup of v0 is allowed");
	free(t);
	t = notice_text(GM_BANNER_NOTICE_FIXUP, 22, 0, NULL, NOV);
	is_str(t, "A repair (fixup) of this GNUmed database (v22) has been in progress since 2025-11-24 19:14 UTC.\n"
		  "GNUmed may not work properly until it is finished: please close GNUmed and wait.",
	       "the fixup notice");
	free(t);
	t = notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, "gnumed_v22", NOV);
	is_str(t, "This GNUmed database was replaced by \"gnumed_v22\" on 2025-11-24 19:14 UTC.\n"
		  "Please connect to gnumed_v22 instead: anything entered here will not be seen there. "
		  "Ask your administrator if you do not know how.",
	       "the replaced-by notice");
	free(t);

	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	t = notice_text(GM_BANNER_NOTICE_UPGRADE, 21, 22, NULL, NOV);
	ok(t && strstr(t, " since 2025-11-24 20:14 CET (UTC+01:00).\n"), "central European winter time: CET (UTC+01:00)");
	free(t);
	t = notice_text(GM_BANNER_NOTICE_UPGRADE, 21, 22, NULL, JUL);
	ok(t && strstr(t, " since 2025-07-01 10:05 CEST (UTC+02:00).\n"), "central European summer time: CEST (UTC+02:00)");
	free(t);
	set_tz("<-03>3");
	t = notice_text(GM_BANNER_NOTICE_FIXUP, 22, 0, NULL, NOV);
	ok(t && strstr(t, " since 2025-11-24 16:14 UTC-03:00.\n"), "a zone without a name: the offset only");
	free(t);
	set_tz("<+0530>-5:30");
	t = notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, "gnumed_v22", NOV);
	ok(t && strstr(t, " on 2025-11-25 00:44 UTC+05:30.\n"), "a half-hour offset, over midnight");
	free(t);
	set_tz("EST5");
	t = notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, "gnumed_v22", NOV);
	ok(t && strstr(t, " on 2025-11-24 14:14 EST (UTC-05:00).\n"), "a named zone west of Greenwich");
	free(t);
	set_tz("GMT0");
	t = notice_text(GM_BANNER_NOTICE_UPGRADE, 21, 22, NULL, NOV);
	ok(t && strstr(t, " since 2025-11-24 19:14 UTC.\n"), "GMT is said as UTC");
	free(t);

	set_tz("UTC0");
	time_t now = time(NULL);
	char year[16];
	strftime(year, sizeof(year), " since %Y-", gmtime(&now));
	t = notice_text(GM_BANNER_NOTICE_UPGRADE, 21, 22, NULL, 0);
	ok(t && strstr(t, year), "no time given: now");
	free(t);

	/* the notice goes into a banner and comes out again */
	t = notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, "db with \"quotes\" and \xc3\xa4", NOV);
	ok(t && strstr(t, "replaced by \"db with \"quotes\" and \xc3\xa4\""), "a database name is quoted as it is");
	round_trip("orig", t, "a replaced-by notice");
	free(t);

	/* refused */
	ok(notice_text(GM_BANNER_NOTICE_UPGRADE, 22, 22, NULL, NOV) == NULL, "an upgrade to the same version is refused");
	ok(notice_text(GM_BANNER_NOTICE_UPGRADE, 22, 21, NULL, NOV) == NULL, "an upgrade to a lower version is refused");
	ok(notice_text(GM_BANNER_NOTICE_UPGRADE, -1, 22, NULL, NOV) == NULL, "a negative version is refused");
	ok(notice_text(GM_BANNER_NOTICE_UPGRADE, 21, 10000, NULL, NOV) == NULL, "version 10000 is refused");
	ok(notice_text(GM_BANNER_NOTICE_FIXUP, -1, 0, NULL, NOV) == NULL, "a fixup of a negative version is refused");
	ok(notice_text(GM_BANNER_NOTICE_FIXUP, 10000, 0, NULL, NOV) == NULL, "a fixup of version 10000 is refused");
	ok(notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, NULL, NOV) == NULL, "replaced by no database is refused");
	ok(notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, "", NOV) == NULL, "replaced by \"\" is refused");
	ok(notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, "a\nb", NOV) == NULL, "a database name with a newline is refused");
	ok(notice_text(GM_BANNER_NOTICE_REPLACED, 0, 0, "a\tb", NOV) == NULL, "a database name with a tab is refused");
	ok(notice_text((enum gm_banner_notice_kind)42, 0, 0, NULL, NOV) == NULL, "an unknown kind is refused");
}

static char *read_text(const char *data, size_t len, int *rc)
{
	struct gm_error err = GM_ERROR_INIT;
	char *text = (char *)"unset";
	FILE *f = tmpfile();

	if (!f || fwrite(data, 1, len, f) != len || fseek(f, 0, SEEK_SET) != 0) {
		*rc = -99;
		return NULL;
	}
	*rc = gm_banner_read(f, &text, &err);
	fclose(f);
	gm_error_release(&err);
	return text;
}

static void test_read(void)
{
	static const struct { const char *in; size_t len; const char *want; } v[] = {
		{ "abc", 3, "abc" },
		{ "abc\n", 4, "abc" },
		{ "abc\n\n", 5, "abc\n" },
		{ "\n", 1, "" },
		{ "", 0, "" },
		{ "-x\n", 3, "-x" },
		{ "a\nb\r\n", 5, "a\nb\r" },
		{ " \xc3\xa4 \n", 5, " \xc3\xa4 " },
	};
	int rc;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *t = read_text(v[i].in, v[i].len, &rc);
		is_int(rc, GM_OK, "reading text %zu works", i);
		is_str(t, v[i].want, "text %zu: all of it less one trailing newline", i);
		free(t);
	}
	char *t = read_text("a\0b\n", 4, &rc);
	is_int(rc, GM_EUSAGE, "a NUL byte is a usage error");
	ok(t == NULL, "and gives no text");
}

/* what gm_banner_print_json prints, as a new string */
static char *json_of(const char *db, const char *banner)
{
	FILE *f = tmpfile();
	char *buf;
	long len;

	if (!f)
		return NULL;
	gm_banner_print_json(db, banner, f);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void test_json(void)
{
	char *j;

	j = json_of("gnumed_v22", NULL);
	is_str(j, "{\n  \"database\": \"gnumed_v22\",\n  \"banner\": null,\n  \"notice\": null,\n  \"original\": null\n}\n",
	       "no banner: banner, notice and original are null");
	free(j);
	j = json_of("db", "It's \"q\" \\ \n\t\x01 \xc3\xa4");
	is_str(j, "{\n  \"database\": \"db\",\n  \"banner\": \"It's \\\"q\\\" \\\\ \\n\\t\\u0001 \xc3\xa4\",\n"
		  "  \"notice\": null,\n  \"original\": \"It's \\\"q\\\" \\\\ \\n\\t\\u0001 \xc3\xa4\"\n}\n",
	       "a plain banner: escaped, non-ASCII as UTF-8, the original is all of it");
	free(j);
	j = json_of("db", B "\nN\n" E "\n\norig");
	is_str(j, "{\n  \"database\": \"db\",\n  \"banner\": \"" B "\\nN\\n" E "\\n\\norig\",\n"
		  "  \"notice\": \"N\",\n  \"original\": \"orig\"\n}\n",
	       "a banner with a notice: the notice and the original apart");
	free(j);
	j = json_of("db", B "\nN\n" E);
	ok(j && strstr(j, "\"notice\": \"N\",\n  \"original\": null\n"), "a notice alone: the original is null");
	free(j);
	j = json_of("db", B "\nno end");
	ok(j && strstr(j, "\"notice\": null,\n  \"original\": \"" B "\\nno end\"\n"),
	   "a damaged notice: no notice, the original is all of it");
	free(j);
}

int main(void)
{
	test_blank();
	test_compose_strip();
	test_notice_text();
	test_read();
	test_json();
	return tap_done();
}
