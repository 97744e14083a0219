/*
 * pyimport.c - upstream's data import scripts (spec 2.3 step 16), run by
 * python3 with data/import-scripts.py
 *
 * Upstream's engine is python: it has loaded psycopg2 and its gmPG2 long
 * before it imports the scripts. gmdb's python3 has to load them first,
 * about 0.2 s of CPU time, most of the step on a small database. So a run
 * may start python3 early (gm_pyimport_start, before its first change):
 * it loads those modules and then waits for one line on its standard
 * input, connecting to nothing and running no script, until the step
 * itself (gm_pyimport_run) says where and what: the database, the owner,
 * the time zone, the scripts. A run that ends before the step, or has no
 * scripts, closes that input: python3 ends without having connected.
 * What the scripts do, and when, is what it was.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct gm_pyimport {
	pid_t pid;
	int out;        /* python's standard output and error */
	FILE *outf;     /* the same, read by lines */
	int in;         /* its standard input: the line that starts the scripts */
	char *dir, *log;
	bool ready;     /* it said so */
};

static const char *python(void)
{
	return getenv("GMDB_PYTHON") && *getenv("GMDB_PYTHON") ? getenv("GMDB_PYTHON") : GM_PYTHON;
}

/* Where python3 keeps upstream's compiled modules for the next run (it
 * checks the directory, data/import-scripts.py): GMDB_CACHE_DIR ("": none),
 * else the user's cache directory (XDG_CACHE_HOME, else ~/.cache) /gmdb.
 * As root, gmdb runs as postgres (gm_privs_drop): that user's home. */
static char *cache_dir(void)
{
	const char *d = getenv("GMDB_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (d)
		return gm_xstrdup(d);
	if (xdg && *xdg == '/')
		return gm_xasprintf("%s/gmdb", xdg);
	if (home && *home == '/')
		return gm_xasprintf("%s/.cache/gmdb", home);
	return gm_xstrdup("");
}

struct gm_pyimport *gm_pyimport_start(const char *upstream_dir, struct gm_error *err)
{
	struct gm_pyimport *p;
	int out[2], in[2];
	char *bootstrap, *cache;
	const char *options;

	p = gm_xcalloc(1, sizeof(*p));
	p->pid = -1;
	p->out = p->in = -1;
	/* python's log in a directory of this run's own, not at a name in
	 * /tmp that someone else could have taken first */
	p->dir = gm_xasprintf("%s/gmdb-import.XXXXXX", getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(p->dir)) {
		gm_error_set(err, GM_EFAIL, "could not create a temporary directory: %s", strerror(errno));
		free(p->dir);
		free(p);
		return NULL;
	}
	p->log = gm_xasprintf("%s/import.log", p->dir);
	if (pipe2(out, O_CLOEXEC) < 0) {
		gm_error_set(err, GM_EFAIL, "could not start python3: %s", strerror(errno));
		gm_pyimport_free(p);
		return NULL;
	}
	if (pipe2(in, O_CLOEXEC) < 0) {
		gm_error_set(err, GM_EFAIL, "could not start python3: %s", strerror(errno));
		close(out[0]);
		close(out[1]);
		gm_pyimport_free(p);
		return NULL;
	}
	bootstrap = gm_xasprintf("%s/bootstrap", upstream_dir);
	cache = cache_dir();
	options = gm_conn_options(false); /* before the fork: it takes a lock */
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0) {
		const char *argv[] = { python(), "-c", gm_sql("import-scripts"), p->log, upstream_dir, cache, NULL };
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		/* upstream's scripts open their data files relative to it */
		if (chdir(bootstrap) < 0)
			_exit(126);
		if (gm_conn_opts.host)
			setenv("PGHOST", gm_conn_opts.host, 1);
		if (gm_conn_opts.port)
			setenv("PGPORT", gm_conn_opts.port, 1);
		/* it logs in as the owner, the way C4 does (lib/owner.c): the
		 * temporary peer grant of this run, or the owner's ~/.pgpass entry */
		unsetenv("PGPASSWORD");
		/* the switches of gmdb's own connections, never the caller's */
		setenv("PGOPTIONS", options, 1);
		/* compiled modules from the cache it checks (or beside the
		 * sources), never from a directory the caller's environment names */
		unsetenv("PYTHONPYCACHEPREFIX");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	free(bootstrap);
	free(cache);
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	if (p->pid > 0 && (p->outf = fdopen(p->out, "r")))
		p->out = -1;
	if (p->pid < 0 || !p->outf) {
		gm_error_set(err, GM_EFAIL, "could not start python3: %s", strerror(errno));
		gm_pyimport_free(p);
		return NULL;
	}
	gm_log(GM_LOG_DEBUG, "python3 started for the data import scripts (pid %ld): it loads its modules and waits",
	       (long)p->pid);
	return p;
}

void gm_pyimport_free(struct gm_pyimport *p)
{
	int status;

	if (!p)
		return;
	/* not run: it has not connected, and need not finish loading */
	if (p->in >= 0 && p->pid > 0)
		kill(p->pid, SIGTERM);
	if (p->in >= 0)
		close(p->in);
	if (p->out >= 0)
		close(p->out);
	if (p->outf)
		fclose(p->outf);
	if (p->pid > 0)
		while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
			;
	if (p->log)
		unlink(p->log);
	if (p->dir)
		rmdir(p->dir);
	free(p->log);
	free(p->dir);
	free(p);
}

int gm_pyimport_ready(struct gm_pyimport *p)
{
	char line[4096];

	if (p->ready)
		return GM_OK;
	while (fgets(line, sizeof(line), p->outf)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "gmdb: ready") == 0) {
			p->ready = true;
			return GM_OK;
		}
		gm_log(strncmp(line, "gmdb: ", 6) == 0 ? GM_LOG_DEBUG : GM_LOG_INFO, "python3: %s", line);
	}
	return GM_EFAIL;
}

/* The line that starts the scripts: JSON, one line. */
static char *go_line(const struct gm_engine *e, const char *tz)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	fputs("{\"bootstrap_dir\": ", m);
	gm_json_string(m, e->bootstrap_dir);
	fputs(", \"script_dir\": ", m);
	gm_json_string(m, e->script_dir);
	fputs(", \"owner\": ", m);
	gm_json_string(m, e->owner);
	fputs(", \"database\": ", m);
	gm_json_string(m, e->target);
	fputs(", \"timezone\": ", m);
	gm_json_string(m, tz);
	fputs(", \"scripts\": [", m);
	for (size_t i = 0; i < e->scripts.n; i++) {
		fputs(i ? ", " : "", m);
		gm_json_string(m, e->scripts.v[i]);
	}
	fputs("]}\n", m);
	fclose(m);
	return buf;
}

static int write_all(int fd, const char *s, size_t n)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int rc = 0;

	/* a python that ended already must not end gmdb */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -1;
			break;
		}
		s += w;
		n -= (size_t)w;
	}
	sigaction(SIGPIPE, &old, NULL);
	return rc;
}

int gm_pyimport_run(struct gm_pyimport *p, const struct gm_engine *e, const char *tz, struct gm_error *err)
{
	struct gm_owner_gap *gap = NULL;
	struct gm_buf last = GM_BUF_INIT;
	char *go, line[4096];
	FILE *f = p->outf;
	int rc = GM_OK, status = 0, backend = 0;
	bool connected = false, stopped = false;

	/* python connects as the owner by itself: through the downtime
	 * procedure's connection limit, until it says it is connected */
	if (gm_owner_gap_open(e->target, &gap, err) < 0)
		return GM_EFAIL;
	go = go_line(e, tz);
	if (!go || write_all(p->in, go, strlen(go)) < 0)
		gm_log(GM_LOG_DEBUG, "could not hand python3 its scripts: %s", go ? strerror(errno) : "out of memory");
	free(go);
	close(p->in);
	p->in = -1;
	for (;;) {
		/* a signal to gmdb (lib/signals.c) stops python3 too: its
		 * session is its own, no cancel of gmdb's reaches it */
		if (gm_signals_caught() && !stopped) {
			gm_log(GM_LOG_INFO, "stopping python3 and the data import scripts (signal %d)", gm_signals_caught());
			kill(p->pid, SIGTERM);
			stopped = true;
		}
		errno = 0;
		if (!fgets(line, sizeof(line), f)) {
			if (ferror(f) && errno == EINTR) {
				clearerr(f);
				continue;
			}
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "gmdb: ready") == 0 && !p->ready) {
			p->ready = true;
			continue;
		}
		if (strncmp(line, "gmdb: connected ", 16) == 0 && !connected) {
			/* its session's backend: the run ends once that is gone too */
			char *end;
			long pid = strtol(line + 16, &end, 10);
			if (end != line + 16 && *end == '\0' && pid > 0 && pid <= INT_MAX)
				backend = (int)pid;
			gm_log(GM_LOG_DEBUG, "python3: connected (backend %d)", backend);
			connected = true;
			if (gm_owner_gap_close(gap, err) < 0)
				rc = GM_EFAIL;
			gap = NULL;
			continue;
		}
		if (strncmp(line, "gmdb: ", 6) == 0) {
			gm_log(GM_LOG_DEBUG, "python3: %s", line);
			continue;
		}
		gm_log(GM_LOG_INFO, "python3: %s", line);
		/* what failed is its last line that says something (a
		 * traceback ends with an empty one) */
		if (line[strspn(line, " \t")] != '\0') {
			gm_buf_reset(&last);
			gm_buf_adds(&last, line);
		}
	}
	fclose(f);
	p->outf = NULL;
	while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
		if (gm_signals_caught() && !stopped) {
			kill(p->pid, SIGTERM);
			stopped = true;
		}
	p->pid = -1;
	gm_conn_note_closed(backend);
	if (gm_owner_gap_close(gap, rc < 0 ? NULL : err) < 0)
		rc = GM_EFAIL;
	if (rc == GM_OK && stopped && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		gm_signals_check(err);
		gm_error_detail(err, "python3 was stopped in the data import scripts; the log has what they did.");
		rc = GM_EFAIL;
	} else if (rc == GM_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (code == 127)
			rc = gm_error_set(err, GM_EFAIL, "could not run python3 for the data import scripts");
		else
			rc = gm_error_set(err, GM_EFAIL, "the data import scripts failed: %s",
					  last.len ? last.data : "python3 ended abnormally");
		if (code == 127 || code == 3)
			gm_error_hint(err, "Install python3 and python3-psycopg2 (and gnumed-server's tree).");
	}
	gm_buf_release(&last);
	/* keep python's own log in ours */
	{
		char *text = NULL;
		if (gm_read_file(p->log, &text, NULL, NULL) == GM_OK && text) {
			gm_log(GM_LOG_DEBUG, "upstream's log of the data import scripts:\n%s", text);
			free(text);
		}
	}
	return rc;
}
