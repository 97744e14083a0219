/*
 * signals.c - SIGINT and SIGTERM end a run the clean way
 *
 * The handler only records the signal and cancels the statement running on
 * the connection being watched (PQcancel is safe in a signal handler); the
 * run then fails at that statement and takes its ordinary way out, which
 * undoes what it did.
 */
#include "gmdb-int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t got_signal, n_signals;
static PGcancel *volatile watched;

static void on_signal(int sig)
{
	char buf[256];
	PGcancel *c = watched;

	got_signal = sig;
	n_signals++;
	if (c)
		PQcancel(c, buf, sizeof(buf));
}

bool gm_signals_hup_ignored(void)
{
	struct sigaction old;
	return sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler == SIG_IGN;
}

/*
 * SIGHUP (the terminal or ssh session went away) ends a run as SIGINT and
 * SIGTERM do: with nobody left to read its messages, the run undoes what it
 * did rather than go on unwatched. A run started with SIGHUP ignored
 * (nohup, or under screen, tmux or systemd-run, which do not send it) goes
 * on: that is how to keep a long run from depending on the connection.
 */
void gm_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!gm_signals_hup_ignored())
		sigaction(SIGHUP, &sa, NULL);
}

int gm_signals_caught(void)
{
	return (int)got_signal;
}

int gm_signals_count(void)
{
	return (int)n_signals;
}

void gm_signals_watch(PGconn *conn)
{
	PGcancel *old = watched;
	watched = NULL;
	if (old)
		PQfreeCancel(old);
	if (conn)
		watched = PQgetCancel(conn);
}

int gm_signals_check(struct gm_error *err)
{
	if (!got_signal)
		return GM_OK;
	gm_error_set(err, GM_EFAIL, "interrupted by signal %d (%s)", (int)got_signal, strsignal((int)got_signal));
	return GM_EFAIL;
}

void gm_signals_explain(struct gm_error *err)
{
	if (!got_signal || !err)
		return;
	if (!(err->message && strstr(err->message, "interrupted"))) {
		char *was = gm_xstrdup(err->message ? err->message : "");
		gm_error_set(err, GM_EFAIL, "interrupted by signal %d: %s", (int)got_signal, was);
		free(was);
	}
	err->code = GM_EFAIL;
}
