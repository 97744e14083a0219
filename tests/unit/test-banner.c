/* Unit tests: the logon banner's pure helpers (blank, notice text, compose,
 * strip, reading a text) */
#include "gmdb-int.h"
#include "tap.h"

#include <stdlib.h>
#include <time.h>

#define B GM_BANNER_NOTICE_BEGIN
#define EL GM_BANNER_NOTICE_END_V1
/* the end line of the notice text "N" (SHA-256 8ce86a6ae65d3692...) */
#define EN "*** End of notice (gmdb 8ce86a6ae65d3692) ***"
/* notice texts in gmdb's wording, as before the end line had a check */
#define V1_UPGRADE "An upgrade of this GNUmed database from v21 to v22 has been in progress since 2025-11-24 19:14 UTC.\n" \
	"Anything entered now may be lost: please close GNUmed and wait until the upgrade is finished."
#define V1_FIXUP "A repair (fixup) of this GNUmed database (v22) has been in progress since 2025-11-24 20:14 CET (UTC+01:00).\n" \
	"GNUmed may not work properly until it is finished: please close GNUmed and wait."
#define V1_REPLACED "This GNUmed database was replaced by \"gnumed_v22\" on 2025-11-24 19:14 UTC.\n" \
	"Please connect to gnumed_v22 instead: anything entered here will not be seen there. " \
	"Ask your administrator if you do not know how."

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
		"\n" EL,
		"text\n" EL "\n\nmore",
		EL "\n\n" B,
		B "\nfoo\n" EL "\n\nbar",
		B "\n" V1_UPGRADE "\n" EL "\n\nbar",
		B "\nN\n" EN "\n\nbar",
	};
	static const char *const notices[] = {
		"N",
		"An upgrade is in progress.\nPlease wait.",
		"x\n",
		"\nx",
		"see " EL " below",
		" " EL " after a space",
		"\xe2\x86\x92 \xc3\xa4",
		"*** End of notice (gmd",
		"x\n" B " and more",
		V1_UPGRADE,
	};
	char *banner, *n, *o;

	banner = gm_banner_compose(NULL, "N");
	is_str(banner, B "\nN\n" EN, "the notice alone: begin line, text, end line with its check, no newline after");
	free(banner);
	banner = gm_banner_compose("orig", "N");
	is_str(banner, B "\nN\n" EN "\n\norig", "with an original: a blank line, then the original");
	free(banner);
	banner = gm_banner_compose(NULL, "An upgrade is in progress.\nPlease wait.");
	is_str(banner, B "\nAn upgrade is in progress.\nPlease wait.\n*** End of notice (gmdb e695cfd87f702d90) ***",
	       "the check is the start of the SHA-256 of the notice text");
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
	ok(gm_banner_compose(NULL, "a\n" EL) == NULL, "a notice text with the V1 end line is refused");
	ok(gm_banner_compose(NULL, "a\n" EL "\n\nb") == NULL, "a notice text with the V1 end line and more is refused");
	ok(gm_banner_compose(NULL, "a\n" EN) == NULL, "a notice text with an end line is refused");
	ok(gm_banner_compose(NULL, EN "\na") == NULL, "a notice text starting with an end line is refused");
	ok(gm_banner_compose(NULL, "a\n*** End of notice (gmdb") == NULL, "a line starting like an end line is refused");
	ok(gm_banner_compose(NULL, "a\n" B) == NULL, "a notice text with the begin line is refused");
	ok(gm_banner_compose(NULL, B "\na") == NULL, "a notice text starting with the begin line is refused");

	/* banners without a notice */
	static const char *const plain[] = {
		"hello", "", "\n", " " B "\nN\n" EN, "x" B "\nN\n" EN, B "\r\nN\r\n" EN, B "N\n" EN,
		"*** Notice from the database administrator ***\nN\n" EN,
		/* the practice's text: marker lines, but no notice of gmdb's */
		B, B "\n", B "\nno end", B "\nN " EN "\n\norig", B "\nN\n" EL "\n\norig", B "\nN\n" EL,
		B "\n" EL, B "\n\n" EL "\n\n", B "\n" V1_UPGRADE "!\n" EL "\n\norig",
		B "\n" V1_UPGRADE "\n\n" EL, B "\n" V1_UPGRADE "\n" EL " ", B "\n" V1_UPGRADE "\n" EL "x\n\n",
		B "\r\n" V1_UPGRADE "\r\n" EL "\r\n\r\nbar", B "\n*** End of notice (gmdb)",
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

	/* damaged notices: gmdb's, changed by hand */
	static const char *const damaged[] = {
		B "\nN\n" EN "\norig", B "\nN\n" EN "x", B "\nN\n" EN "\n", B "\nN\n" EN " \n\norig",
		B "\nM\n" EN "\n\norig", B "\nN\nmore\n" EN, B "\nN \n" EN, B "\nN\n*** End of notice (gmdb 8ce86a6a) ***",
		B "\nN\n*** End of notice (gmdb 8CE86A6AE65D3692) ***", B "\nN\n*** End of notice (gmdb ",
		B "\n" V1_UPGRADE "\n" EL "\norig", B "\n" V1_FIXUP "\n" EL "\n", B "\n" EN "\n\norig",
	};
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		n = (char *)"unset";
		o = NULL;
		is_int(gm_banner_strip(damaged[i], &n, &o), GM_ECHECK, "damaged notice %zu: reported", i);
		ok(n == NULL, "damaged notice %zu: no notice text", i);
		is_str(o, damaged[i], "damaged notice %zu: the original is all of it", i);
		free(o);
	}

	/* notices gmdb wrote before the end line had a check */
	static const struct { const char *banner, *notice, *original; } v1[] = {
		{ B "\n" V1_UPGRADE "\n" EL "\n\norig", V1_UPGRADE, "orig" },
		{ B "\n" V1_FIXUP "\n" EL, V1_FIXUP, NULL },
		{ B "\n" V1_REPLACED "\n" EL "\n\n", V1_REPLACED, "" },
		{ B "\n" V1_UPGRADE "\n" EL "\n\n" B "\nfoo\n" EL "\n\nbar", V1_UPGRADE, B "\nfoo\n" EL "\n\nbar" },
	};
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
		n = o = (char *)"unset";
		is_int(gm_banner_strip(v1[i].banner, &n, &o), 1, "a V1 notice %zu is found", i);
		is_str(n, v1[i].notice, "a V1 notice %zu: its text", i);
		is_str(o, v1[i].original, "a V1 notice %zu: the original byte for byte", i);
		free(n);
		free(o);
	}

	is_int(gm_banner_strip(B "\nN\n" EN "\n\n", &n, &o), 1, "an empty original after the blank line");
	is_str(o, "", "is the empty string, not none");
	free(n);
	free(o);
	is_int(gm_banner_strip(B "\nN\n" EN "\n\norig", NULL, NULL), 1, "strip without out pointers");
	o = NULL;
	is_int(gm_banner_strip(B "\nN\n" EN "\n\norig", NULL, &o), 1, "strip without the notice pointer");
	is_str(o, "orig", "still gives the original");
	free(o);
}

/*
 * What gm-banner notice and unnotice do to a banner, on the pure helpers:
 * notice strips a gmdb notice that is there and composes; unnotice strips.
 * *refused: notice refused a banner with a damaged notice of gmdb's.
 */
static char *notice_then_unnotice(const char *banner, const char *notice, bool *refused)
{
	char *original = NULL, *noticed, *back = (char *)"unset";
	int rc;

	*refused = false;
	if (gm_banner_strip(banner, NULL, &original) < 0) {
		free(original);
		*refused = true;
		return NULL;
	}
	noticed = gm_banner_compose(original, notice);
	free(original);
	rc = gm_banner_strip(noticed, NULL, &back);
	free(noticed);
	if (rc != 1) {
		free(back);
		return gm_xstrdup("(the notice was not found again)");
	}
	return back;
}

static void test_practice_markers(void)
{
	char *intro_notice = gm_banner_compose("x", "N"), *tail_notice = gm_banner_compose(NULL, "N");
	char *middle = gm_xasprintf("intro\n\n%s\n\nbar", intro_notice);
	char *tail = gm_xasprintf("intro\n\n%s", tail_notice);
	const char *const texts[] = {
		/* marker lines at the start of the practice's text */
		B, B "\n", B "\nfoo", B "\nfoo\n" EL, B "\nfoo\n" EL "\n\nbar", B "\n" EL, B "\n\n" EL "\n\n",
		B "\n" EL "\n\n", EL, EL "\n\n" B, EL "\n\nbar",
		/* in the middle, at the end */
		"intro\n" B "\nfoo\n" EL "\n\nbar", "text\n" B, "text\n" B "\nfoo\n" EL, "text\n\n" EL,
		middle, tail,
		/* twice */
		B "\nfoo\n" EL "\n\n" B "\nbar\n" EL, B "\n" B "\n" EL "\n" EL, EL "\n" EL,
		/* partial markers */
		"*** Notice from the database administrator (gmdb) **\nfoo\n" EL, B " \nfoo\n" EL, " " B "\nfoo\n" EL,
		B "\nfoo\n*** End of notice (gmdb", B "\nfoo\n*** End of notice (gmdb) **", B "\nfoo\n" EL " ",
		B "\nfoo\n" EL "\n", B "\nfoo\n" EL "\nbar", B "\nfoo\n " EL "\n\nbar",
		/* gmdb's wording, changed */
		B "\n" V1_UPGRADE ".\n" EL "\n\nbar", B "\nAn upgrade is running.\nPlease wait.\n" EL,
		B "\n" V1_UPGRADE "\nmore\n" EL,
		/* CRLF */
		B "\r\nfoo\r\n" EL "\r\n\r\nbar", B "\r\n" V1_UPGRADE "\r\n" EL "\r\n\r\n", "a\r\n" B "\r\n",
		B "\nfoo\r\n" EL "\r\n\r\nbar",
		/* empty, blank */
		"", "\n", "\n\n", " ",
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *o = (char *)"unset", *back;
		bool refused;
		int rc = gm_banner_strip(texts[i], NULL, &o);

		is_int(rc, 0, "practice text %zu: no notice of gmdb's in it", i);
		is_str(o, texts[i], "practice text %zu: unnotice leaves all of it", i);
		free(o);
		back = notice_then_unnotice(texts[i], "N", &refused);
		ok(!refused, "practice text %zu: notice takes it", i);
		is_str(back, texts[i], "practice text %zu: notice then unnotice give it back byte for byte", i);
		free(back);
		back = notice_then_unnotice(texts[i], "An upgrade is in progress.\nPlease wait.", &refused);
		is_str(back, texts[i], "practice text %zu: also with another notice", i);
		free(back);
	}
	/* with gmdb's notice in front already: replaced, the text kept */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char *noticed = gm_banner_compose(texts[i], "old notice"), *back;
		bool refused;
		back = notice_then_unnotice(noticed, "N", &refused);
		is_str(back, texts[i], "practice text %zu under a notice: a second notice replaces it, unnotice keeps the text", i);
		free(back);
		free(noticed);
	}
	/* the notice texts gmdb writes pass through any practice text */
	{
		struct gm_banner_notice kinds[] = {
			{ .kind = GM_BANNER_NOTICE_UPGRADE, .from = 21, .to = 22, .when = NOV },
			{ .kind = GM_BANNER_NOTICE_FIXUP, .from = 22, .when = NOV },
			{ .kind = GM_BANNER_NOTICE_REPLACED, .database = B, .when = NOV },
			{ .kind = GM_BANNER_NOTICE_REPLACED, .database = EL, .when = NOV },
			{ .kind = GM_BANNER_NOTICE_REPLACED, .database = EN, .when = NOV },
		};
		int bad = 0;
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			char *t = NULL;
			struct gm_error err = GM_ERROR_INIT;
			if (gm_banner_notice_text(&kinds[k], &t, &err) != GM_OK) {
				bad++;
				continue;
			}
			for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
				bool refused;
				char *back = notice_then_unnotice(texts[i], t, &refused);
				if (!back || strcmp(back, texts[i]) != 0)
					bad++;
				free(back);
			}
			free(t);
		}
		is_int(bad, 0, "gmdb's notices (database names that are marker lines too) keep every practice text");
	}
	/* gmdb's own notice, changed by hand: notice refuses, nothing lost */
	{
		bool refused;
		char *back = notice_then_unnotice(B "\nM\n" EN "\n\norig", "N", &refused);
		ok(refused && back == NULL, "a changed notice of gmdb's: notice refuses it");
	}
	free(intro_notice);
	free(tail_notice);
	free(middle);
	free(tail);
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
	j = json_of("db", B "\nN\n" EN "\n\norig");
	is_str(j, "{\n  \"database\": \"db\",\n  \"banner\": \"" B "\\nN\\n" EN "\\n\\norig\",\n"
		  "  \"notice\": \"N\",\n  \"original\": \"orig\"\n}\n",
	       "a banner with a notice: the notice and the original apart");
	free(j);
	j = json_of("db", B "\nN\n" EN);
	ok(j && strstr(j, "\"notice\": \"N\",\n  \"original\": null\n"), "a notice alone: the original is null");
	free(j);
	j = json_of("db", B "\nno end");
	ok(j && strstr(j, "\"notice\": null,\n  \"original\": \"" B "\\nno end\"\n"),
	   "a begin line without an end: no notice, the original is all of it");
	free(j);
	j = json_of("db", B "\nM\n" EN "\n\norig");
	ok(j && strstr(j, "\"notice\": null,\n  \"original\": \"" B "\\nM\\n" EN "\\n\\norig\"\n"),
	   "a damaged notice: no notice, the original is all of it");
	free(j);
}

int main(void)
{
	test_blank();
	test_compose_strip();
	test_practice_markers();
	test_notice_text();
	test_read();
	test_json();
	return tap_done();
}
