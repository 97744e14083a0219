/*
 * util.c - memory, growable strings and string lists, whole-file reading
 */
#include "gmdb-int.h"

#include <unistd.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

static void out_of_memory(void)
{
	fputs("libgmdb: out of memory\n", stderr);
	abort();
}

void *gm_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *gm_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *gm_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory();
	return q;
}

char *gm_xstrdup(const char *s)
{
	return s ? gm_xstrndup(s, strlen(s)) : NULL;
}

char *gm_xstrndup(const char *s, size_t n)
{
	char *p = gm_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *gm_xvasprintf(const char *fmt, va_list ap)
{
	char *p;
	if (vasprintf(&p, fmt, ap) < 0)
		out_of_memory();
	return p;
}

char *gm_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	p = gm_xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void gm_buf_init(struct gm_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void gm_buf_release(struct gm_buf *b)
{
	if (!b)
		return;
	free(b->data);
	gm_buf_init(b);
}

void gm_buf_reset(struct gm_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static void buf_grow(struct gm_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->alloc)
		return;
	size_t want = b->alloc ? b->alloc : 64;
	while (want < b->len + extra + 1)
		want *= 2;
	b->data = gm_xrealloc(b->data, want);
	b->alloc = want;
}

void gm_buf_add(struct gm_buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void gm_buf_adds(struct gm_buf *b, const char *s)
{
	gm_buf_add(b, s, strlen(s));
}

void gm_buf_addc(struct gm_buf *b, char c)
{
	gm_buf_add(b, &c, 1);
}

void gm_buf_addf(struct gm_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	p = gm_xvasprintf(fmt, ap);
	va_end(ap);
	gm_buf_adds(b, p);
	free(p);
}

const char *gm_buf_str(const struct gm_buf *b)
{
	return b->data ? b->data : "";
}

char *gm_buf_detach(struct gm_buf *b)
{
	char *p = b->data ? b->data : gm_xstrdup("");
	gm_buf_init(b);
	return p;
}

void gm_buf_rtrim(struct gm_buf *b)
{
	while (b->len > 0 && isspace((unsigned char)b->data[b->len - 1]))
		b->data[--b->len] = '\0';
}

void gm_strv_push_owned(struct gm_strv *sv, char *s)
{
	if (sv->n + 1 >= sv->alloc) {
		sv->alloc = sv->alloc ? sv->alloc * 2 : 8;
		sv->v = gm_xrealloc(sv->v, sv->alloc * sizeof(*sv->v));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void gm_strv_push(struct gm_strv *sv, const char *s)
{
	gm_strv_push_owned(sv, gm_xstrdup(s));
}

char *gm_strv_join(const struct gm_strv *sv, const char *sep)
{
	struct gm_buf b = GM_BUF_INIT;
	for (size_t i = 0; i < sv->n; i++) {
		if (i)
			gm_buf_adds(&b, sep);
		gm_buf_adds(&b, sv->v[i]);
	}
	if (!b.data)
		gm_buf_adds(&b, "");
	return gm_buf_detach(&b);
}

void gm_strv_release(struct gm_strv *sv)
{
	if (!sv)
		return;
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->alloc = 0;
}

int gm_read_file(const char *path, char **out, size_t *len, struct gm_error *err)
{
	struct gm_buf b = GM_BUF_INIT;
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	*out = NULL;
	if (!f)
		return gm_error_set(err, GM_EFAIL, "could not open file \"%s\": %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		gm_buf_add(&b, chunk, n);
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		gm_buf_release(&b);
		return gm_error_set(err, GM_EFAIL, "could not read file \"%s\": %s", path, strerror(e));
	}
	fclose(f);
	if (!b.data)
		gm_buf_adds(&b, "");
	if (len)
		*len = b.len;
	*out = gm_buf_detach(&b);
	return GM_OK;
}

/* Write all of data to fd (again after EINTR); -1 with errno set. */
int gm_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

char *gm_shell_quote(const char *s)
{
	struct gm_buf b = GM_BUF_INIT;
	bool plain = *s != '\0';

	for (const char *p = s; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			strchr("_-./:@%+=,", *p) != NULL;
	if (plain)
		return gm_xstrdup(s);
	gm_buf_addc(&b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			gm_buf_adds(&b, "'\\''");
		else
			gm_buf_addc(&b, *p);
	}
	gm_buf_addc(&b, '\'');
	return gm_buf_detach(&b);
}

char *gm_server_args(const char *host, const char *port)
{
	struct gm_buf b = GM_BUF_INIT;
	char *q;

	gm_buf_adds(&b, "");
	if (host && *host) {
		q = gm_shell_quote(host);
		gm_buf_addf(&b, " -h %s", q);
		free(q);
	}
	if (port && *port) {
		q = gm_shell_quote(port);
		gm_buf_addf(&b, " -p %s", q);
		free(q);
	}
	return gm_buf_detach(&b);
}
