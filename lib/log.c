/*
 * log.c - the one logging module: stderr for people, a log file for the record
 *
 * Every message goes to the log file (if one is open) with a timestamp and
 * its level. On stderr: warnings and errors always, progress and notices
 * unless -q, details and SQL with -v, debugging with -v -v.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *log_progname = "gmdb";
static int log_verbosity;
static FILE *log_file;
static char *log_path;
static bool line_pending;  /* a "step ... " without its end on stderr */

static const char *level_names[] = {
	[GM_LOG_DEBUG] = "DEBUG",
	[GM_LOG_SQL] = "SQL",
	[GM_LOG_INFO] = "INFO",
	[GM_LOG_PROGRESS] = "STEP",
	[GM_LOG_NOTICE] = "NOTICE",
	[GM_LOG_WARNING] = "WARNING",
	[GM_LOG_ERROR] = "ERROR",
};

void gm_log_init(const char *progname)
{
	const char *slash = strrchr(progname, '/');
	log_progname = slash ? slash + 1 : progname;
}

const char *gm_log_progname(void)
{
	return log_progname;
}

void gm_log_set_verbosity(int verbosity)
{
	log_verbosity = verbosity;
}

int gm_log_verbosity(void)
{
	return log_verbosity;
}

double gm_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ld", ts.tv_nsec / 1000000);
}

/* Log to the new file fd (path for messages). */
static int log_to_fd(int fd, const char *path, struct gm_error *err)
{
	gm_log_close();
	log_file = fdopen(fd, "w");
	if (!log_file) {
		close(fd);
		return gm_error_set(err, GM_EFAIL, "could not open log file \"%s\": %s", path, strerror(errno));
	}
	setvbuf(log_file, NULL, _IOLBF, 0);
	log_path = gm_xstrdup(path);
	return GM_OK;
}

/* A log file is always a new file (O_EXCL), never reached through a link:
 * the log directory may be one another user can write. */
int gm_log_open_file(const char *path, struct gm_error *err)
{
	int fd;
	if (gm_safefile_create_new(AT_FDCWD, path, 0640, &fd, NULL) < 0)
		return gm_error_set(err, GM_EFAIL, "could not create log file \"%s\": %s", path,
				    errno == EEXIST ? "it exists (a new file was expected)" : strerror(errno));
	return log_to_fd(fd, path, err);
}

int gm_log_open_in_dir(const char *dir, const char *stem, struct gm_error *err)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc = GM_EFAIL, dfd;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", &tm);
	/* made if need be; not through a link where another user could put one */
	if ((rc = gm_safefile_mkdirs(dir, 0750, false, &dfd, err)) < 0) {
		gm_error_prefix(err, "could not use the log directory \"%s\"", dir);
		return rc;
	}
	for (int i = 0; i < 100; i++) {
		char *path = i ? gm_xasprintf("%s/%s-%s.%d.log", dir, stem, stamp, i)
			       : gm_xasprintf("%s/%s-%s.log", dir, stem, stamp);
		int fd;
		int e;
		rc = gm_safefile_create_new(dfd, path, 0640, &fd, NULL);
		e = errno;
		if (rc == GM_OK)
			rc = log_to_fd(fd, path, err);
		else
			gm_error_set(err, GM_EFAIL, "could not create log file \"%s\": %s", path, strerror(e));
		free(path);
		if (rc == GM_OK || e != EEXIST)
			break;
	}
	close(dfd);
	return rc < 0 ? GM_EFAIL : rc;
}

const char *gm_log_file_path(void)
{
	return log_path;
}

void gm_log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	free(log_path);
	log_path = NULL;
}

static bool shown(enum gm_log_level level)
{
	switch (level) {
	case GM_LOG_DEBUG:
		return log_verbosity >= 2;
	case GM_LOG_SQL:
	case GM_LOG_INFO:
		return log_verbosity >= 1;
	case GM_LOG_PROGRESS:
	case GM_LOG_NOTICE:
		return log_verbosity >= 0;
	default:
		return true;
	}
}

static void end_pending_line(void)
{
	if (line_pending) {
		fputc('\n', stderr);
		line_pending = false;
	}
}

static void log_to_file(enum gm_log_level level, const char *msg)
{
	char ts[40];
	if (!log_file)
		return;
	timestamp(ts, sizeof(ts));
	fprintf(log_file, "%s %-7s %s\n", ts, level_names[level], msg);
}

char *gm_printable(const char *s)
{
	struct gm_buf b = GM_BUF_INIT;
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) {
			gm_buf_addf(&b, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080 ... U+009F, the C1 controls, in UTF-8 */
			gm_buf_addf(&b, "\\u%04x", p[1]);
			p++;
		} else {
			gm_buf_addc(&b, (char)*p);
		}
	}
	if (!b.data)
		gm_buf_adds(&b, "");
	return gm_buf_detach(&b);
}

static void vlog(enum gm_log_level level, const char *fmt, va_list ap)
{
	/* names and texts from databases reach these lines: no control
	 * characters of theirs get to the terminal (or the log) */
	char *raw = gm_xvasprintf(fmt, ap), *msg = gm_printable(raw);
	free(raw);
	log_to_file(level, msg);
	if (shown(level)) {
		end_pending_line();
		switch (level) {
		case GM_LOG_WARNING:
			fprintf(stderr, "%s: warning: %s\n", log_progname, msg);
			break;
		case GM_LOG_ERROR:
			fprintf(stderr, "%s: error: %s\n", log_progname, msg);
			break;
		case GM_LOG_SQL:
			fprintf(stderr, "%s: sql: %s\n", log_progname, msg);
			break;
		case GM_LOG_DEBUG:
			fprintf(stderr, "%s: debug: %s\n", log_progname, msg);
			break;
		default:
			fprintf(stderr, "%s\n", msg);
		}
	}
	free(msg);
}

void gm_log(enum gm_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

/* One line of a report: on stderr (after "prog: " for an error) and in the
 * log file, its control characters shown, not obeyed. */
static void report_line(const char *label, const char *text)
{
	char *p = gm_printable(text);
	bool error = strcmp(label, "error: ") == 0;
	fprintf(stderr, "%s%s%s%s\n", error ? log_progname : "", error ? ": " : "", label, p);
	log_to_file(GM_LOG_ERROR, p);
	free(p);
}

void gm_log_report(const struct gm_error *err)
{
	if (!err || !err->message)
		return;
	end_pending_line();
	{
		char *m = err->sqlstate ? gm_xasprintf("%s (SQLSTATE %s)", err->message, err->sqlstate)
					: gm_xstrdup(err->message);
		report_line("error: ", m);
		free(m);
	}
	if (err->detail)
		report_line("detail: ", err->detail);
	if (err->hint)
		report_line("hint: ", err->hint);
}

void gm_step_begin(struct gm_step *step, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	{
		char *raw = gm_xvasprintf(fmt, ap);
		step->name = gm_printable(raw);
		free(raw);
	}
	va_end(ap);
	step->started = gm_now();
	step->last_progress = step->started;
	log_to_file(GM_LOG_PROGRESS, step->name);
	if (shown(GM_LOG_PROGRESS) && isatty(STDERR_FILENO)) {
		end_pending_line();
		fprintf(stderr, "%s ... ", step->name);
		fflush(stderr);
		line_pending = true;
	}
}

void gm_step_progress(struct gm_step *step, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	double now = gm_now();

	if (!shown(GM_LOG_PROGRESS) || !isatty(STDERR_FILENO) || now - step->last_progress < 1.0)
		return;
	step->last_progress = now;
	va_start(ap, fmt);
	msg = gm_xvasprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "\r\033[K%s ... %s (%.0f s) ", step->name ? step->name : "", msg, now - step->started);
	fflush(stderr);
	line_pending = true;
	free(msg);
}

void gm_step_end(struct gm_step *step, int rc, const char *note)
{
	double secs = gm_now() - step->started;
	const char *verdict = rc < 0 ? "failed" : note ? note : "ok";
	char *msg = gm_xasprintf("%s ... %s (%.2f s)", step->name ? step->name : "", verdict, secs);

	log_to_file(GM_LOG_PROGRESS, msg);
	if (shown(GM_LOG_PROGRESS) || rc < 0) {
		if (line_pending) {
			fprintf(stderr, "\r\033[K%s\n", msg);
			line_pending = false;
		} else {
			fprintf(stderr, "%s\n", msg);
		}
	}
	free(msg);
	free(step->name);
	step->name = NULL;
}
