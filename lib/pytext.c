/*
 * pytext.c - the few pieces of Python's text semantics that upstream's
 * conf reader and SQL runner rely on, for UTF-8 text
 *
 * Upstream reads its files as UTF-8 with universal newlines and uses
 * str.strip() and the regex classes \s and \S, all of which know Unicode
 * whitespace, not only ASCII. gmdb reproduces exactly that.
 */
#include "gmdb-int.h"

#include <string.h>

/* Decode one code point; -1 on invalid UTF-8 (overlong, surrogate, > U+10FFFF). */
static long decode(const unsigned char *s, size_t avail, size_t *len)
{
	unsigned char c = s[0];
	long cp;
	size_t n;

	if (c < 0x80) {
		*len = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return -1;
	}
	if (avail < n)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = n;
	return cp;
}

bool gm_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
	size_t i = 0, n;

	while (i < len) {
		if (decode((const unsigned char *)s + i, len - i, &n) < 0) {
			if (bad_offset)
				*bad_offset = i;
			return false;
		}
		i += n;
	}
	return true;
}

/* Python's str.isspace() (and the regex class \s) for one code point. */
static bool py_space_cp(long cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

size_t gm_py_space_at(const char *s, size_t avail)
{
	size_t n;
	long cp;

	if (avail == 0)
		return 0;
	cp = decode((const unsigned char *)s, avail, &n);
	return cp >= 0 && py_space_cp(cp) ? n : 0;
}

/* The length of the whitespace that ends s[0..len). */
static size_t trailing_space(const char *s, size_t len)
{
	size_t end = len;

	while (end > 0) {
		/* step back over one code point */
		size_t start = end - 1;
		while (start > 0 && ((unsigned char)s[start] & 0xc0) == 0x80 && end - start < 4)
			start--;
		if (gm_py_space_at(s + start, end - start) != end - start)
			break;
		end = start;
	}
	return len - end;
}

void gm_py_strip(const char *s, size_t len, size_t *start, size_t *out_len)
{
	size_t a = 0, n;

	while (a < len && (n = gm_py_space_at(s + a, len - a)) > 0)
		a += n;
	*start = a;
	*out_len = (len - a) - trailing_space(s + a, len - a);
}

bool gm_py_blank(const char *s, size_t len)
{
	size_t a, n;
	gm_py_strip(s, len, &a, &n);
	return n == 0;
}

size_t gm_py_nonspace_run(const char *s, size_t len)
{
	size_t i = 0, n;

	while (i < len && gm_py_space_at(s + i, len - i) == 0) {
		n = 1;
		while (i + n < len && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n++;
		i += n;
	}
	return i;
}

char *gm_universal_newlines(const char *text, size_t len, size_t *out_len)
{
	char *out = gm_xmalloc(len + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r') {
			out[o++] = '\n';
			if (i + 1 < len && text[i + 1] == '\n')
				i++;
		} else {
			out[o++] = text[i];
		}
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}
