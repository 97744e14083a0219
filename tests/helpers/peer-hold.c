/*
 * peer-hold - test driver for the temporary peer grant (tests/pg/peer.sh)
 *
 *   peer-hold grant ROLE [N]   recover, then grant ROLE (N times, default 1:
 *                              the same grant), print "granted N" and wait
 *                              for SIGTERM or SIGINT; then revoke N times
 *                              (PEER_HOLD_CLOSE set: after closing the
 *                              connection it granted with)
 *   peer-hold recover          print "removed N" (runs cleaned up)
 *   peer-hold verify ROLE      what a grant confirms itself with: may this
 *                              OS user log in as ROLE now? (exit 1 if the
 *                              server refuses it by authentication)
 *
 * It connects to the database "postgres" as the tools do (gm_conn_open: as
 * root, it becomes the postgres OS user; with PEER_HOLD_KEEP_ROOT set it
 * stays root as gm-hba-lock and the downtime procedure do,
 * GM_CONN_KEEP_ROOT) and exits with the tools' exit status.
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct gm_error err = GM_ERROR_INIT;
	struct gm_peer *p[8];
	PGconn *conn;
	int rc, removed = 0, n = argc > 3 ? atoi(argv[3]) : 1;

	gm_log_init("peer-hold");
	if (getenv("PEER_HOLD_VERBOSE"))
		gm_log_set_verbosity(2);
	if (argc < 2 || (strcmp(argv[1], "grant") == 0 ? argc < 3 || n < 1 || n > 8 :
			 strcmp(argv[1], "verify") == 0 ? argc != 3 : strcmp(argv[1], "recover") != 0)) {
		fputs("usage: peer-hold grant ROLE [N] | peer-hold verify ROLE | peer-hold recover\n", stderr);
		return GM_EXIT_USAGE;
	}
	gm_signals_install();
	if (getenv("PEER_HOLD_KEEP_ROOT"))
		conn = gm_conn_open_ex("postgres", NULL, "peer-hold", GM_CONN_SAFE_PATH | GM_CONN_KEEP_ROOT, &err);
	else
		conn = gm_conn_open("postgres", "peer-hold", &err);
	if (!conn)
		return gm_cli_finish(GM_EFAIL, &err);
	if (strcmp(argv[1], "verify") == 0) {
		rc = gm_peer_verify_login(conn, argv[2], &err);
		gm_conn_close(conn);
		return gm_cli_finish(rc, &err);
	}
	rc = gm_peer_recover(conn, &removed, &err);
	if (rc == GM_OK && strcmp(argv[1], "recover") == 0) {
		printf("removed %d\n", removed);
		fflush(stdout);
	} else if (rc == GM_OK) {
		int granted = 0;
		for (; granted < n && rc == GM_OK; granted++)
			rc = gm_peer_grant(conn, argv[2], &p[granted], &err);
		if (rc < 0)
			granted--;
		for (int i = 1; i < granted; i++)
			if (p[i] != p[0])
				fprintf(stderr, "peer-hold: grant %d is not the first one\n", i + 1);
		if (rc == GM_OK) {
			printf("granted %d\n", granted);
			fflush(stdout);
			while (!gm_signals_caught())
				sleep(1);
		}
		if (getenv("PEER_HOLD_CLOSE")) {
			gm_conn_close(conn);
			conn = NULL;
		}
		/* revoke all but the last first: the lines stay until the last one */
		for (int i = granted - 1; i >= 0; i--) {
			struct gm_error err2 = GM_ERROR_INIT;
			int rc2 = gm_peer_revoke(p[i], &err2);
			if (rc2 < 0 && rc == GM_OK) {
				rc = rc2;
				gm_error_release(&err);
				err = err2;
			} else {
				gm_error_release(&err2);
			}
			if (i == 1) {
				printf("revoked %d of %d\n", granted - 1, granted);
				fflush(stdout);
				if (getenv("PEER_HOLD_PAUSE"))
					sleep((unsigned)atoi(getenv("PEER_HOLD_PAUSE")));
			}
		}
	}
	gm_conn_close(conn);
	return gm_cli_finish(rc, &err);
}
