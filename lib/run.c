/*
 * run.c - what every run of a step tool shares: its log file, and checks
 * of what it needs on this machine
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int gm_run_open_log(const char *path, const char *stem, struct gm_error *err)
{
	const char *dir = getenv("GMDB_LOG_DIR");
	int rc;

	if (path)
		return gm_log_open_file(path, err);
	if (!dir || !*dir)
		dir = GM_LOG_DIR;
	rc = gm_log_open_in_dir(dir, stem, err);
	if (rc < 0)
		gm_error_hint(err, "Run as root, or choose a log file with --log-file.");
	return rc;
}

int gm_run_check_python(struct gm_error *err)
{
	const char *py = getenv("GMDB_PYTHON") && *getenv("GMDB_PYTHON") ? getenv("GMDB_PYTHON") : GM_PYTHON;
	pid_t pid;
	int status;

	if (access(py, X_OK) != 0)
		return gm_error_set(err, GM_ECHECK, "python3 is missing (\"%s\"): upstream's data import scripts need it", py);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return gm_error_set(err, GM_EFAIL, "could not run \"%s\": %s", py, strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execl(py, py, "-c", "import psycopg2", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		gm_error_set(err, GM_ECHECK, "python3-psycopg2 is missing: upstream's data import scripts need it");
		gm_error_hint(err, "apt-get install python3-psycopg2");
		return GM_ECHECK;
	}
	return GM_OK;
}
