/*
 * pool-fork-run - test driver: the session pool across a fork
 *
 *   pool-fork-run DATABASE
 *
 * With the pool on (gm_conn_pool_begin), opens a session on DATABASE as the
 * run's own user and closes it (the pool keeps it), forks, and in the
 * child opens and closes a session on DATABASE again; then the parent opens
 * one more and runs SELECT 1 on it. Prints one line: "KEPT CHILD REUSED OK",
 * the three sessions' backend PIDs and whether the query worked (1 or 0).
 * The child must not be given the parent's kept session (CHILD != KEPT);
 * the parent must get it back, alive (REUSED == KEPT, OK 1).
 */
#include "gmdb-int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct gm_error err = GM_ERROR_INIT;
	PGconn *conn;
	int kept, child = 0, reused, fds[2], status;
	bool ok;
	char *v = NULL;
	pid_t pid;

	gm_log_init("pool-fork-run");
	if (argc != 2) {
		fputs("usage: pool-fork-run DATABASE\n", stderr);
		return GM_EXIT_USAGE;
	}
	gm_conn_pool_begin();
	if (!(conn = gm_conn_open(argv[1], "pool-fork-run", &err)))
		return gm_cli_finish(GM_EFAIL, &err);
	kept = PQbackendPID(conn);
	gm_conn_close(conn);
	if (pipe(fds) < 0)
		return 1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int p = 0;
		close(fds[0]);
		if ((conn = gm_conn_open(argv[1], "pool-fork-run child", &err))) {
			p = PQbackendPID(conn);
			gm_conn_close(conn);
		}
		if (write(fds[1], &p, sizeof(p)) != (ssize_t)sizeof(p))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	if (read(fds[0], &child, sizeof(child)) != (ssize_t)sizeof(child))
		child = -1;
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (!(conn = gm_conn_open(argv[1], "pool-fork-run", &err)))
		return gm_cli_finish(GM_EFAIL, &err);
	reused = PQbackendPID(conn);
	ok = gm_db_value(conn, "SELECT 1", 0, NULL, &v, NULL) == GM_OK && v && strcmp(v, "1") == 0;
	free(v);
	gm_conn_close(conn);
	gm_conn_pool_end();
	printf("%d %d %d %d\n", kept, child, reused, ok ? 1 : 0);
	return 0;
}
