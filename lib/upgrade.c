/*
 * upgrade.c - gm-upgrade_server: upstream's update_db-vX_vY.conf (spec 2.3),
 * with the source never written to and every failure cleaned up
 *
 * Order: preflight checks (all read-only; --check stops there), lock,
 * backup of the source, clone, upstream's steps on the clone, result hash,
 * plausibility. Any failure after the clone drops the clone.
 */
#include "gmdb-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum pf_status { PF_OK = 0, PF_WARN = 1, PF_FAIL = -1, PF_INFO = 2 };

struct preflight {
	struct gm_buf report;   /* one line per check */
	int failures;
	int warnings;
	struct gm_error first;  /* the first failure, for the exit message */
};

static void pf_add(struct preflight *pf, enum pf_status st, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void pf_add(struct preflight *pf, enum pf_status st, const char *what, const char *fmt, ...)
{
	va_list ap;
	char *detail;
	static const char *labels[] = { [0] = "ok", [1] = "WARNING", [2] = "info" };

	va_start(ap, fmt);
	detail = gm_xvasprintf(fmt, ap);
	va_end(ap);
	gm_buf_addf(&pf->report, "%-8s %s: %s\n", st == PF_FAIL ? "FAILED" : labels[st], what, detail);
	gm_log(st == PF_FAIL ? GM_LOG_INFO : GM_LOG_DEBUG, "check %s: %s: %s", st == PF_FAIL ? "FAILED" : labels[st], what, detail);
	if (st == PF_FAIL) {
		if (!pf->failures)
			gm_error_set(&pf->first, GM_ECHECK, "%s: %s", what, detail);
		pf->failures++;
	} else if (st == PF_WARN) {
		pf->warnings++;
	}
	free(detail);
}

/* A tool's child process: tool_start starts it, tool_wait ends it. */
struct pg_tool_child {
	char *tool;
	pid_t pid;      /* also its process group's: its workers are in it */
};

struct upgrade {
	const struct gm_upgrade_opts *o;
	struct gm_engine e;
	struct gm_found source;
	bool target_exists, target_is_leftover;
	bool started_as_root;   /* the backup directory can still be made */
	bool created_group;     /* this run created the target's group role */
	bool source_notice;     /* the source's banner starts with a gmdb notice */
	bool target_created;    /* this run created the target database */
	long long source_bytes;
	struct gm_space space;  /* what the run writes where (space.c) */
	char *backup_path;
	char *result_hash;
	struct gm_check *checks;
	size_t n_checks;
	int checks_failed;
	int checks_ignored;     /* failed, but named by --ignore-check */
	struct gm_buf steps_json;
	double t0;
	/* the old side of the plausibility checks, run on the source while
	 * the clone is upgraded (plausibility.c) */
	struct gm_plausibility *plaus;
	/* master's upgrade_db-vX_vY.conf: the source's fixup, applied to the
	 * clone before the update (fix.target is the clone) */
	bool aggregate;
	struct gm_engine fix;
	bool early;             /* the source's sessions were counted before the clone */
	long long sessions0;    /* pg_stat_database.sessions of the source then */
	long own0;              /* the connections this process had opened to it then */
	/* the backup, beside the upgrade (backup_start) */
	struct pg_tool_child dump;
	bool dump_running;      /* started, not yet waited for */
	double dump_t0;
	time_t backup_started;
	long dump_sessions;     /* its sessions on the source */
};

static const char *upstream_dir(const struct gm_upgrade_opts *o)
{
	return gm_upstream_dir(o->upstream_dir);
}

const char *gm_upgrade_backup_dir(const struct gm_upgrade_opts *o)
{
	if (o->backup_dir)
		return o->backup_dir;
	if (getenv("GMDB_BACKUP_DIR") && *getenv("GMDB_BACKUP_DIR"))
		return getenv("GMDB_BACKUP_DIR");
	return GM_STATE_DIR "/backups";
}

void gm_upgrade_result_release(struct gm_upgrade_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_steps; i++)
		free(r->steps[i].name);
	free(r->steps);
	memset(r, 0, sizeof(*r));
}

int gm_upgrade_prepare_backup_dir(const struct gm_upgrade_opts *o, struct gm_error *err)
{
	int rc;

	/* root's part: the backup directory belongs to postgres. It is made
	 * (mkdir -p) without following a link that another user could have put
	 * in its way (its default is in the postgres OS user's /var/lib/gmdb),
	 * and given to postgres on its descriptor. */
	if (o->check || o->no_backup || geteuid() != 0)
		return GM_OK;
	rc = gm_safefile_mkdirs(gm_upgrade_backup_dir(o), 0700, true, NULL, err);
	if (rc == GM_OK)
		return GM_OK;
	if (rc != GM_ECHECK) {
		/* the checks say what is wrong with it */
		gm_log(GM_LOG_DEBUG, "backup directory: %s", err->message);
		gm_error_release(err);
		return GM_OK;
	}
	gm_error_prefix(err, "could not use the backup directory \"%s\"", gm_upgrade_backup_dir(o));
	gm_error_hint(err, "Nothing was changed. %s Or give another directory with --backup-dir.", err->hint ? err->hint : "");
	return rc;
}

static void step_json(struct upgrade *u, const char *name, double secs, int rc)
{
	if (u->o->result) {
		struct gm_upgrade_result *r = u->o->result;
		r->steps = gm_xrealloc(r->steps, (r->n_steps + 1) * sizeof(*r->steps));
		r->steps[r->n_steps].name = gm_xstrdup(name);
		r->steps[r->n_steps].seconds = secs;
		r->steps[r->n_steps++].ok = rc >= 0;
	}
	gm_buf_addf(&u->steps_json, "%s\n    {\"step\": ", u->steps_json.len ? "," : "");
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		gm_json_string(m, name);
		fclose(m);
		gm_buf_adds(&u->steps_json, buf);
		free(buf);
	}
	gm_buf_addf(&u->steps_json, ", \"seconds\": %.2f, \"result\": \"%s\"}", secs, rc < 0 ? "failed" : "ok");
}

/* ------------------------------------------------------------------ */
/* Preflight                                                           */
/* ------------------------------------------------------------------ */

static int database_info(const char *db, bool *exists, long long *bytes, char **comment, struct gm_error *err)
{
	PGconn *c = gm_conn_open("template1", "gmdb check", err);
	PGresult *res;
	const char *p[1] = { db };

	*exists = false;
	if (bytes)
		*bytes = -1;
	if (comment)
		*comment = NULL;
	if (!c)
		return GM_EFAIL;
	res = gm_db_query(c, "SELECT pg_catalog.pg_database_size(d.oid), pg_catalog.shobj_description(d.oid, 'pg_database') "
			     "FROM pg_catalog.pg_database d WHERE d.datname = $1", 1, p, err);
	gm_conn_close(c);
	if (!res)
		return GM_EFAIL;
	if (PQntuples(res) == 1) {
		*exists = true;
		if (bytes)
			*bytes = atoll(PQgetvalue(res, 0, 0));
		if (comment && !PQgetisnull(res, 0, 1))
			*comment = gm_xstrdup(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return GM_OK;
}

/* Sessions on a database other than our own, one line each: with remote
 * (not NULL) those of client backends from the network go there, the
 * others into list; else all of them into list. */
static int sessions_on(const char *db, struct gm_buf *remote, int *nremote, struct gm_buf *list, int *n,
		       struct gm_error *err)
{
	PGconn *c;
	PGresult *res;
	const char *p[1] = { db };
	/* this run's own sessions kept on db (gm_conn_pool_begin) are closed
	 * first, and their backends waited for */
	int mine[GM_CONN_POOL_MAX];
	size_t n_mine = gm_conn_pool_flush(db, mine, GM_CONN_POOL_MAX);

	*n = 0;
	if (nremote)
		*nremote = 0;
	c = gm_conn_open("template1", "gmdb check", err);
	if (!c)
		return GM_EFAIL;
	gm_conn_wait_gone(c, mine, n_mine, NULL);
	res = gm_db_query(c, gm_sql("sessions-on-database"), 1, p, err);
	gm_conn_close(c);
	if (!res)
		return GM_EFAIL;
	for (int i = 0; i < PQntuples(res); i++) {
		bool net = remote && strcmp(PQgetvalue(res, i, 5), "t") == 0;
		struct gm_buf *b = net ? remote : list;
		gm_buf_addf(b, "%s  pid %s, user \"%s\", application \"%s\", from %s, since %s", b->len ? "\n" : "",
			    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
			    PQgetvalue(res, i, 4));
		(*(net ? nremote : n))++;
	}
	PQclear(res);
	return GM_OK;
}

/* What the run writes on each file system (the clone, its growth, WAL,
 * the backup) against what is free there (space.c). */
static void check_space(struct upgrade *u, struct preflight *pf)
{
	struct gm_space_opts so = { .database = u->e.template_db, .clone = true, .clone_tablespace = u->e.tablespace,
				    .changes = true, .backup_dir = u->o->no_backup ? NULL : gm_upgrade_backup_dir(u->o),
				    .backup_compress = u->o->backup_compress };
	struct gm_error err = GM_ERROR_INIT, verr = GM_ERROR_INIT;
	struct gm_buf lines = GM_BUF_INIT;
	PGconn *c, *db = NULL;
	int rc = GM_EFAIL;

	c = gm_conn_open("template1", "gmdb check", &err);
	if (c)
		db = gm_conn_open(u->e.template_db, "gmdb check", &err);
	if (c && db)
		rc = gm_space_measure(c, db, &so, &u->space, &err);
	gm_conn_close(db);
	gm_conn_close(c);
	if (rc < 0) {
		pf_add(pf, PF_FAIL, "free space", "could not be measured: %s", err.message ? err.message : "no connection");
	} else {
		rc = gm_space_verdict(&u->space, &lines, &verr);
		for (char *l = lines.data, *nl; l && *l; l = nl ? nl + 1 : NULL) {
			nl = strchr(l, '\n');
			if (nl)
				*nl = '\0';
			if (strncmp(l, "ok: ", 4) == 0)
				pf_add(pf, PF_OK, "free space", "%s", l + 4);
			else if (strncmp(l, "too little: ", 12) == 0)
				pf_add(pf, PF_FAIL, "free space", "%s", l + 12);
			else
				pf_add(pf, PF_WARN, "free space", "%s", l);
		}
	}
	gm_buf_release(&lines);
	gm_error_release(&err);
	gm_error_release(&verr);
}

/*
 * An existing target that is not a half-made one: --replace-target drops
 * it only when gmdb built it and nothing was written to it since (build.c);
 * anything else is refused, saying what was found.
 */
static void check_replace(struct upgrade *u, struct preflight *pf, const char *comment)
{
	const char *t = u->e.target;
	struct gm_buf found = GM_BUF_INIT;
	struct gm_error cerr = GM_ERROR_INIT;
	char *built = gm_build_describe(comment);
	PGconn *c;
	int rc = 0;

	if (!built) {
		if (u->o->replace_target)
			pf_add(pf, PF_FAIL, "target", "database \"%s\" exists and was not built by gmdb (it has no build "
			       "record in its comment): --replace-target drops only a target that gmdb built and that "
			       "nobody has written to since; rename it (ALTER DATABASE ... RENAME TO) or drop it "
			       "yourself, after making sure it holds nothing you need", t);
		else
			pf_add(pf, PF_FAIL, "target", "database \"%s\" exists and was not built by gmdb: rename it (ALTER "
			       "DATABASE ... RENAME TO) or drop it yourself, after making sure it holds nothing you need", t);
		return;
	}
	c = gm_conn_open(t, "gmdb check", &cerr);
	rc = c ? gm_build_examine(c, comment, &found, &cerr) : GM_EFAIL;
	gm_conn_close(c);
	if (rc < 0)
		pf_add(pf, PF_FAIL, "target", "database \"%s\" exists (%s); could not tell whether it was written to "
		       "since: %s", t, built, cerr.message ? cerr.message : "?");
	else if (rc == 0)
		pf_add(pf, PF_FAIL, "target", "database \"%s\" exists (%s) and was written to since, so it is "
		       "never dropped:\n%s\n  If it is not needed: rename it (ALTER DATABASE ... RENAME TO), or drop "
		       "it yourself", t, built, gm_buf_str(&found));
	else if (u->o->replace_target)
		pf_add(pf, PF_WARN, "target", "database \"%s\" exists (%s), and nothing was written to it since: "
		       "--replace-target drops it", t, built);
	else
		pf_add(pf, PF_FAIL, "target", "database \"%s\" exists (%s), and nothing was written to it since "
		       "(use --replace-target to drop it)", t, built);
	gm_buf_release(&found);
	gm_error_release(&cerr);
	free(built);
}

/* A gmdb notice at the start of banner: 1 an upgrade's or a fixup's (a
 * procedure runs, or one crashed), 2 a "replaced by" notice, 0 none. */
static int notice_kind(const char *banner)
{
	char *notice = NULL;
	int kind = 0;
	if (gm_banner_strip(banner, &notice, NULL) == 1 && notice)
		kind = strncmp(notice, "This GNUmed database was replaced by ", 37) == 0 ? 2 : 1;
	free(notice);
	return kind;
}

/*
 * What an interrupted downtime procedure leaves: a notice in the source's
 * banner, its connection limit at 0, remote access locked. With its
 * journal recorded, the run refuses and says that --recover undoes it;
 * without one, an upgrade or fixup notice still refuses (nobody would take
 * it out), the rest is reported.
 */
static void check_leftovers(struct upgrade *u, struct preflight *pf)
{
	const char *db = u->e.template_db;
	struct gm_journal j;
	struct gm_error jerr = GM_ERROR_INIT, cerr = GM_ERROR_INIT;
	struct gm_buf left = GM_BUF_INIT;
	char *banner = NULL, *limit = NULL;
	int journal, kind = 0, locked = 0;
	PGconn *c;

	gm_journal_init(&j, NULL);
	journal = gm_journal_unfinished(&j, &jerr);
	if (gm_banner_get(db, &banner, &cerr) == GM_OK)
		kind = notice_kind(banner);
	else if (journal == 1 && gm_journal_has(&j, "intent", "notice"))
		kind = 3;  /* the owner cannot connect (the limit 0): the journal says */
	u->source_notice = kind == 1 || kind == 2;
	gm_error_release(&cerr);
	if (u->o->in_procedure)
		goto out;  /* the procedure's own notice, limit and lock */
	if ((c = gm_conn_open("template1", "gmdb check", &cerr))) {
		const char *p[1] = { db };
		gm_db_value(c, "SELECT datconnlimit FROM pg_catalog.pg_database WHERE datname = $1", 1, p, &limit, NULL);
		gm_conn_close(c);
	}
	gm_error_release(&cerr);
	{
		struct gm_hba_opts h;
		memset(&h, 0, sizeof(h));
		locked = gm_hba_is_locked(&h, &cerr) == 1;
		gm_error_release(&cerr);
	}
	if (kind == 1)
		gm_buf_addf(&left, "%sgmdb's upgrade or fixup notice in the banner of \"%s\"", left.len ? ", " : "", db);
	else if (kind == 3)
		gm_buf_addf(&left, "%sgmdb's notice in the banner of \"%s\" (the journal records it; the banner "
			    "cannot be read now)", left.len ? ", " : "", db);
	if (limit && strcmp(limit, "0") == 0)
		gm_buf_addf(&left, "%sconnection limit 0 on \"%s\"", left.len ? ", " : "", db);
	if (locked)
		gm_buf_addf(&left, "%sremote access locked (gm-hba-lock)", left.len ? ", " : "");

	if (journal == 2 && !u->o->downtime_check) {
		pf_add(pf, PF_FAIL, "downtime", "a downtime procedure is running (it holds %s): wait for it to finish",
		       j.lock);
	} else if (journal == 1) {
		char *what = gm_journal_describe(&j), *cmd = gm_journal_recover_command(&j);
		pf_add(pf, PF_FAIL, "downtime", "an unfinished downtime procedure (%s, started %s) is recorded in %s; "
		       "%s%s. It undoes that, as root:\n    %s", what,
		       gm_journal_get(&j, "started") ? gm_journal_get(&j, "started") : "?", j.path,
		       left.len ? "it left " : "nothing it did is to be seen any more", gm_buf_str(&left), cmd);
		free(what);
		free(cmd);
	} else if (journal < 0) {
		pf_add(pf, PF_FAIL, "downtime", "a downtime procedure may be unfinished, but %s (gm-upgrade_server "
		       "--recover says what to check by hand)", jerr.message ? jerr.message : "?");
	} else if (kind == 1) {
		pf_add(pf, PF_FAIL, "downtime", "the banner of \"%s\" starts with gmdb's notice that an upgrade or fixup "
		       "is in progress, but no downtime procedure is recorded: if none runs, take it out "
		       "(gm-banner %s unnotice)", db, db);
	} else {
		if (kind == 2)
			pf_add(pf, PF_WARN, "downtime", "the banner of \"%s\" says that it was replaced (gm-banner %s show): "
			       "the new database does not get that notice", db, db);
		if (limit && strcmp(limit, "0") == 0)
			pf_add(pf, PF_WARN, "downtime", "the connection limit of \"%s\" is 0: ordinary roles (GNUmed "
			       "clients) cannot connect to it", db);
		if (locked)
			pf_add(pf, PF_INFO, "downtime", "remote access is locked (gm-hba-lock status)");
	}
out:
	free(banner);
	free(limit);
	gm_buf_release(&left);
	gm_error_release(&jerr);
	gm_journal_release(&j);
}

/* Upstream's table of client branch -> database version (spec 4.6). */
static int client_branch_version(const char *branch)
{
	static const struct { const char *branch; int version; } map[] = {
		{ "0.3", 9 }, { "0.4", 10 }, { "0.5", 11 }, { "0.6", 12 }, { "0.7", 13 }, { "0.8", 14 },
		{ "0.9", 15 }, { "1.0", 16 }, { "1.1", 16 }, { "1.2", 17 }, { "1.3", 18 }, { "1.4", 19 },
		{ "1.5", 20 }, { "1.6", 21 }, { "1.7", 22 }, { "1.8", 22 },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].branch, branch) == 0)
			return map[i].version;
	return -1;
}

static void check_client(struct upgrade *u, struct preflight *pf)
{
	FILE *p = popen("dpkg-query -W -f '${Status}|${Version}' gnumed-client 2>/dev/null", "r");
	char line[256] = "";
	if (p) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	if (!strstr(line, "install ok installed")) {
		pf_add(pf, PF_INFO, "GNUmed client", "no gnumed-client package installed on this machine");
		return;
	}
	{
		const char *ver = strchr(line, '|') + 1;
		char branch[16] = "";
		int major = 0, minor = 0;
		if (sscanf(ver, "%d.%d", &major, &minor) == 2)
			snprintf(branch, sizeof(branch), "%d.%d", major, minor);
		int need = client_branch_version(branch);
		if (need < 0)
			pf_add(pf, PF_WARN, "GNUmed client", "gnumed-client %s here: its branch %s is not in upstream's table",
			       ver, branch);
		else if (need != u->o->to)
			pf_add(pf, PF_WARN, "GNUmed client", "gnumed-client %s here works with v%d databases, not v%d: "
			       "upgrade the clients too", ver, need, u->o->to);
		else
			pf_add(pf, PF_OK, "GNUmed client", "gnumed-client %s here works with v%d databases", ver, need);
	}
}

static const char *upstream_aggregate_name(const struct upgrade *u)
{
	static char name[64];
	snprintf(name, sizeof(name), "upgrade_db-v%d_v%d.conf", u->o->from, u->o->to);
	return name;
}

/*
 * Master's upgrade-db.sh X Y runs upgrade_db-vX_vY.conf where the tree has
 * one: an aggregate whose "config files" are fixup_db-vX.conf (applied to
 * the source in place) and update_db-vX_vY.conf. gmdb knows that form
 * only, and applies the fixup to the clone instead: the update clones the
 * fixed-up source, so its target is the same, and the source stays as it
 * was. The fixup's engine (u->fix) is prepared for the clone, its group
 * role is still the one named like the source.
 */
static int prepare_aggregate(struct upgrade *u, struct gm_error *err)
{
	const struct gm_upgrade_opts *o = u->o;
	char *path = gm_xasprintf("%s/bootstrap/%s", upstream_dir(o), upstream_aggregate_name(u));
	char *fix_name = gm_xasprintf("fixup_db-v%d.conf", o->from);
	char *upd_name = gm_xasprintf("update_db-v%d_v%d.conf", o->from, o->to);
	struct gm_conf *agg = NULL;
	struct gm_strv parts = GM_STRV_INIT;
	int rc = GM_OK;

	if (!gm_generation_has(u->e.generation, GM_GEN_AGGREGATE_UPGRADE) || access(path, F_OK) != 0)
		goto out;
	rc = gm_conf_load(path, &agg, err);
	if (rc == GM_OK)
		rc = gm_generation_check_conf(u->e.generation, agg, err);
	if (rc == GM_OK) {
		const struct gm_strv *files = gm_conf_get_list(agg, "installation", "config files");
		const struct gm_strv *bundles = gm_conf_get_list(agg, "installation", "bundles");
		for (size_t i = 0; files && i < files->n; i++) {
			const char *f = files->v[i];
			while (*f == ' ' || *f == '\t')
				f++;
			if (*f && *f != '#')
				gm_strv_push(&parts, f);
		}
		if (!files || parts.n != 2 || strcmp(parts.v[0], fix_name) != 0 || strcmp(parts.v[1], upd_name) != 0 ||
		    (bundles && bundles->n)) {
			char *list = gm_strv_join(&parts, ", ");
			rc = gm_error_set(err, GM_ECHECK, "\"%s\" is not an aggregate gmdb knows: it lists [%s], not "
					  "%s and %s", path, list, fix_name, upd_name);
			gm_error_hint(err, "Nothing was changed. Run upstream's own bootstrap/upgrade-db.sh %d %d, or a "
				      "gmdb that knows this form.", o->from, o->to);
			free(list);
		}
	}
	if (rc == GM_OK)
		rc = gm_engine_prepare(&u->fix, upstream_dir(o), fix_name, u->e.target, err);
	if (rc == GM_OK && (!u->fix.use_existing || u->fix.drop_target))
		rc = gm_error_set(err, GM_ECHECK, "\"%s\" is not a fixup definition (it does not use the existing "
				  "database)", u->fix.conf_path);
	if (rc == GM_OK && u->fix.audit_disable != 1)
		rc = gm_error_set(err, GM_ECHECK, "the fixup \"%s\" sets up auditing: gmdb knows aggregates whose "
				  "fixup does not", u->fix.conf_path);
	if (rc == GM_OK && u->fix.has_checks && u->fix.checks.n)
		rc = gm_error_set(err, GM_ECHECK, "the fixup \"%s\" has plausibility checks: gmdb knows aggregates "
				  "whose fixup has none", u->fix.conf_path);
	if (rc == GM_OK) {
		/* the group role named like the database the fixup is for */
		const char *name = gm_conf_get(u->fix.conf, u->fix.db_section, "name");
		u->fix.group_target = gm_xstrdup(name ? name : u->e.template_db);
		u->aggregate = true;
		gm_log(GM_LOG_INFO, "upstream's upgrade is the aggregate %s: %s, then %s", path, fix_name, upd_name);
	}
out:
	gm_strv_release(&parts);
	gm_conf_free(agg);
	free(path);
	free(fix_name);
	free(upd_name);
	return rc;
}

/*
 * The aggregate's fixup, on the clone (master's handle_cfg() for
 * fixup_db-vX.conf, after the roles): the superuser steps, the owner's
 * session with the fixup bundles, notifications, security settings and
 * data import scripts; then the hash the update's source must have, and
 * the old side of the plausibility checks, which master reads on the
 * fixed-up source: here, the clone as it is now.
 */
static int fixup_in_clone(struct upgrade *u, struct gm_error *err)
{
	struct gm_engine *f = &u->fix;
	struct gm_shortcut *shortcut;
	char *hash = NULL;
	int rc;

	gm_log(GM_LOG_NOTICE, "applying %s to the new database \"%s\" (upstream applies it to \"%s\")",
	       f->conf_path, f->target, u->e.template_db);
	rc = gm_engine_superuser_steps(f, err);
	if (rc == GM_OK)
		rc = gm_engine_owner_session(f, err);
	f->rewrite = gm_shortcut_rewrite;
	f->rewrite_data = shortcut = gm_shortcut_new(&f->conn);
	if (rc == GM_OK)
		rc = gm_engine_bundles(f, err);
	if (rc == GM_OK)
		rc = gm_engine_notifications(f, err);
	if (rc == GM_OK)
		rc = gm_engine_security_settings(f, err);
	if (rc == GM_OK)
		rc = gm_engine_import_scripts(f, err);
	/* the update checks its source's hash (master: source version) */
	if (rc == GM_OK && u->e.template_version >= 0) {
		f->target_version = u->e.template_version;
		rc = gm_engine_verify_result(f, &hash, err);
		if (rc < 0)
			gm_error_prefix(err, "after %s", f->conf_path);
	}
	free(hash);
	u->e.statements += f->statements;
	u->e.ignored_errors += f->ignored_errors;
	gm_conn_close(f->conn);
	f->conn = NULL;
	gm_shortcut_free(shortcut);
	/* the update's REINDEX would rebuild what the fixup's just did */
	if (rc == GM_OK && f->reindex == 1)
		u->e.reindexed_already = true;
	if (rc == GM_OK && u->e.has_checks) {
		struct gm_step st;
		gm_step_begin(&st, "reading the fixed-up data for the plausibility checks");
		rc = gm_plausibility_run_old(u->plaus, f->target,
					     u->o->jobs > 0 ? u->o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN), err);
		gm_step_end(&st, rc, NULL);
	}
	if (rc < 0)
		gm_error_prefix(err, "the fixup of the new database");
	return rc;
}

static int preflight(struct upgrade *u, struct preflight *pf, struct gm_error *err)
{
	struct gm_engine *e = &u->e;
	struct gm_error cerr = GM_ERROR_INIT;
	char *comment = NULL;
	bool exists;
	int rc;

	/* the definition */
	pf_add(pf, PF_OK, "definition", "%s", e->conf_path);
	if (e->template_version != u->o->from)
		pf_add(pf, PF_FAIL, "definition", "it upgrades from v%d, not v%d", e->template_version, u->o->from);
	if (e->target_version == -2)
		pf_add(pf, PF_INFO, "definition", "its target version is \"devel\": upstream does not check the result's "
		       "hash; gmdb compares it with v%d's known hash and warns", u->o->to);
	else if (e->target_version != u->o->to)
		pf_add(pf, PF_FAIL, "definition", "it upgrades to v%d, not v%d", e->target_version, u->o->to);
	e->expect_version = u->o->to;
	if (e->use_existing && !e->drop_target)
		pf_add(pf, PF_FAIL, "definition", "it is a fixup (it uses the existing database)");
	if (gm_engine_check_files(e, &cerr) < 0 || (u->aggregate && gm_engine_check_files(&u->fix, &cerr) < 0))
		pf_add(pf, PF_FAIL, "definition files", "%s", cerr.message);
	else
		pf_add(pf, PF_OK, "definition files", "every listed file is readable");
	gm_error_release(&cerr);
	if (u->aggregate)
		pf_add(pf, PF_INFO, "definition", "%s first applies %s to \"%s\" in place; gmdb applies it to the new "
		       "database \"%s\" before the update, and leaves \"%s\" as it is", upstream_aggregate_name(u),
		       u->fix.conf_path, e->template_db, e->target, e->template_db);

	/* the source */
	{
		bool src_exists = false;
		if (database_info(e->template_db, &src_exists, NULL, NULL, &cerr) == GM_OK && !src_exists) {
			pf_add(pf, PF_FAIL, "source", "database \"%s\" does not exist", e->template_db);
			gm_error_release(&cerr);
			return GM_OK;
		}
		gm_error_release(&cerr);
	}
	rc = gm_identify(e->template_db, &u->source, &cerr);
	if (rc < 0) {
		/* no server, or no such database: nothing else can be checked */
		gm_error_set(err, rc, "%s", cerr.message);
		gm_error_release(&cerr);
		return GM_EFAIL;
	}
	if (!u->source.gnumed)
		pf_add(pf, PF_FAIL, "source", "database \"%s\" is not a GNUmed database", e->template_db);
	else if (!u->source.hash && u->source.problem)
		pf_add(pf, PF_FAIL, "source", "could not compute the schema hash of \"%s\": %s", e->template_db,
		       u->source.problem);
	else if (u->source.version != u->o->from)
		pf_add(pf, PF_FAIL, "source", "database \"%s\" does not have the schema hash of v%d (%s: %s)",
		       e->template_db, u->o->from, u->source.hash ? u->source.hash : "no hash",
		       u->source.version >= 0 ? "that is v" : "matches no known version");
	else
		pf_add(pf, PF_OK, "source", "database \"%s\" has the known schema hash of v%d%s", e->template_db,
		       u->o->from, u->source.hash_repaired ? " (through upstream's repaired hash function)" : "");
	if (u->source.version >= 0 && u->source.version != u->o->from)
		gm_buf_addf(&pf->report, "         (its hash is the known hash of v%d)\n", u->source.version);
	if (gm_found_event_triggers_refused(&u->source, &cerr) < 0)
		pf_add(pf, PF_FAIL, "event triggers", "%s. %s", cerr.message, cerr.hint);
	gm_error_release(&cerr);
	database_info(e->template_db, &exists, &u->source_bytes, NULL, NULL);

	/* the target */
	if (database_info(e->target, &u->target_exists, NULL, &comment, &cerr) < 0) {
		pf_add(pf, PF_FAIL, "target", "%s", cerr.message);
	} else if (u->target_exists) {
		struct gm_buf who = GM_BUF_INIT;
		int n = 0;
		u->target_is_leftover = comment && strncmp(comment, GM_BUILD_MARK, strlen(GM_BUILD_MARK)) == 0;
		sessions_on(e->target, NULL, NULL, &who, &n, NULL);
		/* a killed run's backends on its half-made target end when their
		 * statement does: a few seconds under load; a client that has just
		 * disconnected (a script's psql before this run) leaves a backend
		 * that is still on its way out, as on the source below */
		for (int i = 0; n && i < (u->target_is_leftover ? 50 : 20); i++) {
			usleep(100000);
			gm_buf_release(&who);
			sessions_on(e->target, NULL, NULL, &who, &n, NULL);
		}
		if (n)
			pf_add(pf, PF_FAIL, "target", "database \"%s\" exists and has %d session(s):\n%s", e->target, n,
			       gm_buf_str(&who));
		else if (u->target_is_leftover)
			pf_add(pf, PF_INFO, "target", "database \"%s\" is a half-made target left by an interrupted gmdb run "
			       "(%s): the upgrade drops it first", e->target, comment);
		else
			check_replace(u, pf, comment);
		gm_buf_release(&who);
	} else {
		pf_add(pf, PF_OK, "target", "database \"%s\" does not exist yet", e->target);
	}
	free(comment);
	gm_error_release(&cerr);

	check_space(u, pf);

	/* sessions on the source: the clone cannot start while there are any
	 * (the downtime procedure ends those from the network itself) */
	{
		struct gm_buf who = GM_BUF_INIT, remote = GM_BUF_INIT;
		int n = 0, nremote = 0;
		int src;
		/* a backend of our own identification may still be on its way out */
		for (int tries = 0;; tries++) {
			gm_buf_reset(&who);
			gm_buf_reset(&remote);
			src = sessions_on(e->template_db, u->o->downtime_check ? &remote : NULL, &nremote, &who, &n, &cerr);
			if (src < 0 || n == 0 || tries >= 20)
				break;
			usleep(100000);
		}
		if (src < 0)
			pf_add(pf, PF_FAIL, "sessions", "%s", cerr.message);
		else if (n && u->o->downtime_check)
			pf_add(pf, PF_FAIL, "sessions", "%d local session(s) on \"%s\" (the procedure ends only sessions "
			       "from the network, and cloning needs none): close them first:\n%s", n, e->template_db,
			       gm_buf_str(&who));
		else if (n)
			pf_add(pf, PF_FAIL, "sessions", "%d session(s) on \"%s\" (cloning needs none):\n%s", n,
			       e->template_db, gm_buf_str(&who));
		else if (nremote)
			pf_add(pf, PF_INFO, "sessions", "%d session(s) from the network on \"%s\": the procedure ends "
			       "them after the grace period:\n%s", nremote, e->template_db, gm_buf_str(&remote));
		else
			pf_add(pf, PF_OK, "sessions", "nobody is connected to \"%s\"", e->template_db);
		gm_buf_release(&who);
		gm_buf_release(&remote);
		gm_error_release(&cerr);
	}

	if (u->source.gnumed)
		check_leftovers(u, pf);

	/* the server */
	{
		PGconn *c = gm_conn_open("template1", "gmdb check", &cerr);
		if (!c) {
			pf_add(pf, PF_FAIL, "PostgreSQL", "%s", cerr.message);
		} else {
			int v = PQserverVersion(c);
			struct gm_buf low = GM_BUF_INIT;
			for (size_t i = 0; i < e->n_bundles; i++) {
				double want = strtod(e->bundles[i].min_pg, NULL);
				double have = v >= 100000 ? v / 10000 + (v % 10000) / 100.0 : v / 10000 + ((v / 100) % 100) / 10.0;
				if (have + 1e-9 < want)
					gm_buf_addf(&low, " bundle \"%s\" needs %s", e->bundles[i].name, e->bundles[i].min_pg);
			}
			if (v < 100000)
				pf_add(pf, PF_FAIL, "PostgreSQL", "server %d.%d is too old (10 or later)", v / 10000, (v / 100) % 100);
			else if (low.len)
				pf_add(pf, PF_FAIL, "PostgreSQL", "server %d.%d:%s", v / 10000, v % 10000, low.data);
			else
				pf_add(pf, PF_OK, "PostgreSQL", "server %d.%d", v / 10000, v % 10000);
			gm_buf_release(&low);
			gm_conn_close(c);
		}
		gm_error_release(&cerr);
	}
	if (e->scripts.n || (u->aggregate && u->fix.scripts.n)) {
		/* the python3 started early has loaded python3's psycopg2 (and
		 * upstream's modules), else the check says what is missing */
		bool early = e->pyimport && gm_pyimport_ready(e->pyimport) == GM_OK;
		if (!early) {
			gm_pyimport_free(e->pyimport);
			e->pyimport = NULL;
		}
		if (!early && gm_run_check_python(&cerr) < 0)
			pf_add(pf, PF_FAIL, "python3", "%s", cerr.message);
		else
			pf_add(pf, PF_OK, "python3", "python3 and psycopg2 for %zu data import script(s)",
			       e->scripts.n + (u->aggregate ? u->fix.scripts.n : 0));
		gm_error_release(&cerr);
	}
	check_client(u, pf);
	if (!u->o->no_backup) {
		if (access(gm_upgrade_backup_dir(u->o), F_OK) != 0 && errno == ENOENT && u->started_as_root)
			pf_add(pf, PF_OK, "backup", "a dump of \"%s\" goes to %s (made at the start, for postgres)",
			       e->template_db, gm_upgrade_backup_dir(u->o));
		else if (access(gm_upgrade_backup_dir(u->o), W_OK | X_OK) != 0)
			pf_add(pf, PF_FAIL, "backup", "cannot write to the backup directory %s: %s", gm_upgrade_backup_dir(u->o),
			       strerror(errno));
		else
			pf_add(pf, PF_OK, "backup", "a dump of \"%s\" goes to %s", e->template_db, gm_upgrade_backup_dir(u->o));
	} else {
		pf_add(pf, PF_WARN, "backup", "none (--no-backup)");
	}
	return GM_OK;
}

/* ------------------------------------------------------------------ */
/* Backup                                                              */
/* ------------------------------------------------------------------ */

static char *pg_tool(const char *tool, int server_version)
{
	char *p = gm_xasprintf("/usr/lib/postgresql/%d/bin/%s", server_version / 10000, tool);
	if (access(p, X_OK) == 0)
		return p;
	free(p);
	return gm_xstrdup(tool);
}

static long long dir_bytes(const char *path)
{
	return gm_backup_bytes(AT_FDCWD, path);
}

/* A failed pg_dump's partial dump goes: it would only fill the disk. */
static void remove_partial(const char *path)
{
	struct gm_error err = GM_ERROR_INIT;
	if (gm_backup_remove(AT_FDCWD, path, &err) < 0)
		gm_log(GM_LOG_WARNING, "could not remove the partial dump %s: %s", path, err.message);
	else
		gm_log(GM_LOG_NOTICE, "the partial dump %s is removed", path);
	gm_error_release(&err);
}

/* "dbname='<name>'", quoted the way libpq reads a connection string. */
static char *conninfo_dbname(const char *db)
{
	struct gm_buf b = GM_BUF_INIT;
	gm_buf_adds(&b, "dbname='");
	for (const char *p = db; *p; p++) {
		if (*p == '\'' || *p == '\\')
			gm_buf_addc(&b, '\\');
		gm_buf_addc(&b, *p);
	}
	gm_buf_addc(&b, '\'');
	return gm_buf_detach(&b);
}

/*
 * Run PostgreSQL's tool (pg_dump, pg_restore: the one of the server's
 * major version if installed) with args (NULL-terminated, after the
 * tool's name) against the run's server, never as root, with the password
 * that worked; a progress line of step st shows how much dir holds (NULL:
 * none). A signal ends it (SIGTERM). GM_EFAIL when it fails.
 */
int gm_pg_tool_run(const char *tool, const char *const *args, const char *dir, struct gm_step *st,
		   struct gm_error *err)
{
	return gm_pg_tool_run_as(tool, NULL, args, dir, st, err);
}

static int tool_start(const char *tool, const char *user, const char *const *args, struct pg_tool_child *child,
		      struct gm_error *err)
{
	char *path, *password = NULL;
	const char *options;
	int server, rc = GM_OK, n = 0;
	const char **argv;
	pid_t pid;
	PGconn *c;

	child->tool = gm_xstrdup(tool);
	child->pid = -1;
	c = gm_conn_open("template1", "gmdb", err);
	if (!c)
		return GM_EFAIL;
	server = PQserverVersion(c);
	/* the password that worked (given, or ~/.pgpass), for a tool that no
	 * longer runs as root (below) */
	password = PQpass(c) && *PQpass(c) ? gm_xstrdup(PQpass(c)) : NULL;
	gm_conn_close(c);
	path = pg_tool(tool, server);
	options = gm_conn_options(!user); /* before the fork: it takes a lock */
	while (args[n])
		n++;
	argv = gm_xcalloc((size_t)n + 2, sizeof(*argv));
	argv[0] = path;
	for (int i = 0; i < n; i++)
		argv[i + 1] = args[i];
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* a process group of its own, with the workers of a parallel
		 * pg_dump: gmdb stops them all, and only gmdb (a terminal's ^C
		 * reaches gmdb, which stops it and cleans up) */
		setpgid(0, 0);
		/* and so never stopped for writing its messages to a terminal
		 * whose foreground it is not (stty tostop) */
		signal(SIGTTOU, SIG_IGN);
		if (gm_conn_opts.host)
			setenv("PGHOST", gm_conn_opts.host, 1);
		if (gm_conn_opts.port)
			setenv("PGPORT", gm_conn_opts.port, 1);
		if (user) {
			/* as that role, the way the owner's connections log in
			 * (lib/owner.c): the run's peer grant or ~/.pgpass */
			setenv("PGUSER", user, 1);
			unsetenv("PGPASSWORD");
		} else {
			setenv("PGUSER", gm_conn_user(), 1);
			if (password)
				setenv("PGPASSWORD", password, 1);
		}
		/* the switches of gmdb's own connections, never the caller's */
		setenv("PGOPTIONS", options, 1);
		if (geteuid() == 0) {
			/* still root (-U named another user): the tool writes into the
			 * postgres user's directories as that user, never as root
			 * through whatever that user put there */
			struct passwd *pw = getpwnam("postgres");
			if (!pw || initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
			    setuid(pw->pw_uid) < 0 || setuid(0) == 0)
				_exit(126);
			setenv("HOME", pw->pw_dir, 1);
		}
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	if (pid < 0) {
		rc = gm_error_set(err, GM_EFAIL, "could not run %s: %s", tool, strerror(errno));
	} else {
		setpgid(pid, pid);  /* before kill(-pid) can come: either call makes it */
		child->pid = pid;
	}
	free(argv);
	free(path);
	free(password);
	return rc;
}

/* Stop the tool and its workers (SIGTERM; SIGCONT for one that was
 * stopped), wait for the tool, and for its workers to be gone too
 * (they may still be writing where the caller removes things). */
static int tool_stop(struct pg_tool_child *child)
{
	int status = -1;

	kill(-child->pid, SIGTERM);
	kill(-child->pid, SIGCONT);
	while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR)
		;
	/* they end on SIGTERM at once; a second at most (and a zombie,
	 * where nothing reaps orphans, counts as there) */
	for (int i = 0; i < 20 && kill(-child->pid, 0) == 0; i++) {
		if (i == 10)
			kill(-child->pid, SIGKILL);
		usleep(100000);
	}
	return status;
}

/*
 * Wait for the tool that tool_start started; progress lines of step st
 * (NULL: none) show how much dir holds. A signal to gmdb stops it. GM_OK
 * if it ended with exit status 0. Frees what tool_start made.
 */
static int tool_wait(struct pg_tool_child *child, const char *dir, struct gm_step *st, struct gm_error *err)
{
	int status = -1, rc = GM_OK;

	for (;;) {
		pid_t w = waitpid(child->pid, &status, WNOHANG);
		if (w == child->pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = -1;
			break;
		}
		if (gm_signals_caught()) {
			status = tool_stop(child);
			break;
		}
		if (dir && st)
			gm_step_progress(st, "%lld MB written", dir_bytes(dir) >> 20);
		usleep(200000);
	}
	child->pid = -1;
	if (gm_signals_check(err) < 0)
		rc = GM_EFAIL;
	else if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = gm_error_set(err, GM_EFAIL, "%s failed (%s)", child->tool,
				  WIFEXITED(status) && WEXITSTATUS(status) == 127 ? "it could not be run" : "see its messages above");
	free(child->tool);
	child->tool = NULL;
	return rc;
}

int gm_pg_tool_run_as(const char *tool, const char *user, const char *const *args, const char *dir, struct gm_step *st,
		      struct gm_error *err)
{
	struct pg_tool_child child;

	if (tool_start(tool, user, args, &child, err) < 0) {
		free(child.tool);
		return GM_EFAIL;
	}
	return tool_wait(&child, dir, st, err);
}

/* "dbname='<name>'" for the tools, which take a bare name with "=" in it
 * for a connection string (and gm-dbo names databases). Caller frees. */
char *gm_pg_tool_dbname(const char *db)
{
	return conninfo_dbname(db);
}

/*
 * The backup reads only the source, which the run keeps as it was
 * cloned: it starts right after the clone and runs beside the upgrade
 * (backup_start); backup_finish waits for it before the plausibility
 * checks count the source's sessions, pg_dump's among them. A failed dump
 * fails the run, and its partial dump goes; a run that fails otherwise
 * stops a dump still running and removes it (backup_stop).
 */
static int backup_start(struct upgrade *u, struct gm_error *err)
{
	char stamp[32], host[256] = "localhost", jobs[16], level[16];
	int njobs = u->o->jobs > 0 ? u->o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	struct tm tm;
	char *conninfo;
	int rc;

	u->backup_started = time(NULL);
	localtime_r(&u->backup_started, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm);
	gethostname(host, sizeof(host) - 1);
	u->backup_path = gm_xasprintf("%s/backup-upgrade_v%d_to_v%d-%s-%s.dir", gm_upgrade_backup_dir(u->o), u->o->from, u->o->to,
				      host, stamp);
	snprintf(jobs, sizeof(jobs), "%d", njobs < 1 ? 1 : njobs);
	/* uncompressed by default, as upstream's tar: gzip on one CPU took 4
	 * times as long as the dump itself (bench/RESULTS.md, section 10) */
	snprintf(level, sizeof(level), "--compress=%d", u->o->backup_compress);
	conninfo = conninfo_dbname(u->e.template_db);
	gm_log(GM_LOG_NOTICE, "backing up \"%s\" to %s, beside the upgrade", u->e.template_db, u->backup_path);
	{
		const char *args[] = { "--format=directory", "--jobs", jobs, level, "--no-password", "--file",
				       u->backup_path, "--dbname", conninfo, NULL };
		u->dump_t0 = gm_now();
		rc = tool_start("pg_dump", NULL, args, &u->dump, err);
	}
	free(conninfo);
	if (rc < 0) {
		free(u->dump.tool);
		u->dump.tool = NULL;
		free(u->backup_path);   /* nothing was written */
		u->backup_path = NULL;
		gm_error_prefix(err, "could not back up \"%s\"", u->e.template_db);
		return rc;
	}
	u->dump_running = true;
	/* pg_dump's sessions on the source: one, and one per worker of a
	 * parallel dump (counted for pg_dump 15, 17 and 18). More would make
	 * the checks' old side run again; fewer means a worker could not
	 * connect, and then the dump, and the run, fail */
	u->dump_sessions = njobs > 1 ? njobs + 1 : 1;
	return GM_OK;
}

static int backup_finish(struct upgrade *u, struct gm_error *err)
{
	struct gm_step st;
	char note[64];
	int rc;

	if (!u->dump_running)
		return GM_OK;
	u->dump_running = false;
	gm_step_begin(&st, "backing up \"%s\" to %s (begun %.1f s ago)", u->e.template_db, u->backup_path,
		      gm_now() - u->dump_t0);
	rc = tool_wait(&u->dump, u->backup_path, &st, err);
	if (rc < 0 && !gm_signals_caught()) {
		char *why = gm_xstrdup(err->message && strchr(err->message, '(') ? strchr(err->message, '(') : "");
		gm_error_set(err, GM_EFAIL, "pg_dump of \"%s\" failed %s", u->e.template_db, why);
		free(why);
		gm_error_hint(err, "Fix what pg_dump says (a full disk: make room, or give another --backup-dir), or upgrade "
				   "without a backup (--no-backup) if you have a recent one.");
	}
	if (rc == GM_OK)
		rc = gm_backup_record(u->backup_path, u->e.template_db, u->o->from, u->o->to, u->backup_started, err);
	if (rc < 0) {
		remove_partial(u->backup_path);
		free(u->backup_path);
		u->backup_path = NULL;
	}
	snprintf(note, sizeof(note), "ok, %.1f s since it began", gm_now() - u->dump_t0);
	gm_step_end(&st, rc, rc == GM_OK ? note : NULL);
	step_json(u, "backup", gm_now() - u->dump_t0, rc);
	return rc;
}

/* The run failed: a dump that is done is kept (it is a whole backup of
 * the unchanged source); one still running is stopped and removed. */
static void backup_stop(struct upgrade *u)
{
	int status = -1;
	pid_t w;

	if (!u->dump_running)
		return;
	u->dump_running = false;
	while ((w = waitpid(u->dump.pid, &status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (w == u->dump.pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		struct gm_error e = GM_ERROR_INIT;
		if (gm_backup_record(u->backup_path, u->e.template_db, u->o->from, u->o->to, u->backup_started, &e) == GM_OK)
			gm_log(GM_LOG_NOTICE, "the backup of \"%s\" was done before the run failed; it is kept: %s",
			       u->e.template_db, u->backup_path);
		else
			remove_partial(u->backup_path);
		gm_error_release(&e);
	} else {
		if (w != u->dump.pid) {
			tool_stop(&u->dump);
			gm_log(GM_LOG_NOTICE, "the backup of \"%s\" is stopped", u->e.template_db);
		} else {
			gm_log(GM_LOG_WARNING, "the backup of \"%s\" failed as well (pg_dump's messages are above)",
			       u->e.template_db);
		}
		remove_partial(u->backup_path);
		free(u->backup_path);
		u->backup_path = NULL;
	}
	u->dump.pid = -1;
	free(u->dump.tool);
	u->dump.tool = NULL;
}

/* ------------------------------------------------------------------ */
/* Clone and cleanup                                                   */
/* ------------------------------------------------------------------ */

struct clone_watch {
	struct gm_step *st;
	PGconn *peek;
	const char *target;
};

static void clone_tick(void *data)
{
	struct clone_watch *w = data;
	const char *p[1] = { w->target };
	char *size = NULL;
	if (w->peek && gm_db_value(w->peek, "SELECT pg_catalog.pg_size_pretty(pg_catalog.pg_database_size($1))", 1, p,
				   &size, NULL) == GM_OK && size)
		gm_step_progress(w->st, "%s copied", size);
	free(size);
}

static int drop_database(const char *db, struct gm_error *err)
{
	PGconn *c = gm_conn_open("template1", "gmdb cleanup", err);
	int rc;
	if (!c)
		return GM_EFAIL;
	rc = gm_db_execf(c, err, "DROP DATABASE IF EXISTS %I", db);
	gm_conn_close(c);
	return rc;
}

/*
 * Drop the existing target the checks found unused (--replace-target), if
 * it still is: nobody can connect to it any more while it is looked at
 * again, so nothing can be written to it between that look and the drop.
 * Otherwise it is left as it was (connections allowed again).
 */
static int drop_unused(const char *db, struct gm_error *err)
{
	PGconn *c = gm_conn_open("template1", "gmdb cleanup", err), *t = NULL;
	const char *p[1] = { db };
	struct gm_buf found = GM_BUF_INIT;
	char *comment = NULL, *others = NULL;
	bool closed = false;
	int rc;

	if (!c)
		return GM_EFAIL;
	t = gm_conn_open(db, "gmdb check", err);
	rc = t ? gm_db_execf(c, err, "ALTER DATABASE %I WITH ALLOW_CONNECTIONS false", db) : GM_EFAIL;
	closed = rc == GM_OK;
	if (rc == GM_OK)
		rc = gm_db_value(c, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity WHERE datname = $1", 1, p,
				 &others, err);
	if (rc == GM_OK && strcmp(others, "1") != 0)
		rc = gm_error_set(err, GM_ECHECK, "somebody connected to \"%s\" after the checks", db);
	if (rc == GM_OK)
		rc = gm_db_value(c, "SELECT pg_catalog.shobj_description(d.oid, 'pg_database') FROM pg_catalog.pg_database d "
				    "WHERE d.datname = $1", 1, p, &comment, err);
	if (rc == GM_OK) {
		rc = gm_build_examine(t, comment, &found, err);
		if (rc == 0)
			rc = gm_error_set(err, GM_ECHECK, "database \"%s\" was written to after the checks:\n%s", db,
					  gm_buf_str(&found));
		else if (rc == 1)
			rc = GM_OK;
	}
	gm_conn_close(t);
	if (rc == GM_OK) {
		rc = gm_db_execf(c, err, "DROP DATABASE %I", db);
		closed = rc < 0;
	}
	if (closed) {
		struct gm_error rerr = GM_ERROR_INIT;
		if (gm_db_execf(c, &rerr, "ALTER DATABASE %I WITH ALLOW_CONNECTIONS true", db) < 0)
			gm_log(GM_LOG_WARNING, "could not let \"%s\" accept connections again: %s (ALTER DATABASE \"%s\" "
			       "WITH ALLOW_CONNECTIONS true)", db, rerr.message, db);
		gm_error_release(&rerr);
		gm_error_hint(err, "\"%s\" is left as it was.", db);
	}
	free(others);
	free(comment);
	gm_buf_release(&found);
	gm_conn_close(c);
	return rc;
}

static int clone(struct upgrade *u, struct gm_error *err)
{
	struct gm_engine *e = &u->e;
	struct gm_step st;
	struct clone_watch w;
	PGconn *c;
	char *q, *mark;
	int rc;

	c = gm_session_open("template1", "postgres@template.db", err);
	if (!c)
		return GM_EFAIL;
	if (u->target_exists) {
		gm_step_begin(&st, "dropping the %s target \"%s\"", u->target_is_leftover ? "half-made" : "unused",
			      e->target);
		rc = u->target_is_leftover ? drop_database(e->target, err) : drop_unused(e->target, err);
		gm_step_end(&st, rc, NULL);
		if (rc < 0) {
			gm_conn_close(c);
			return rc;
		}
	}
	/* upstream's statement, word for word, its names quoted as it quotes
	 * them, but escaped; and the strategy FILE_COPY, not PostgreSQL 15's
	 * default WAL_LOG: the same database, copied file by file after a
	 * checkpoint instead of block by block through the WAL (at 1 GB 3
	 * times as fast with fsync off, as fast with fsync on but without the
	 * 1 GB of WAL and the checkpoint that has to write it out later:
	 * bench/RESULTS.md) */
	if (e->tablespace)
		q = gm_sqlf(c, "\n\t\t\t\tCREATE DATABASE %I with\n\t\t\t\t\towner = %I\n\t\t\t\t\ttemplate = %I\n"
			       "\t\t\t\t\tencoding = 'unicode'\n\t\t\t\t\ttablespace = %L\n\t\t\t\t\tstrategy = file_copy\n\t\t\t\t",
			    e->target, e->owner, e->template_db, e->tablespace);
	else
		q = gm_sqlf(c, "\n\t\t\t\tCREATE DATABASE %I with\n\t\t\t\t\towner = %I\n\t\t\t\t\ttemplate = %I\n"
			       "\t\t\t\t\tencoding = 'unicode'\n\t\t\t\t\tstrategy = file_copy\n\t\t\t\t",
			    e->target, e->owner, e->template_db);
	gm_step_begin(&st, "cloning \"%s\" (%lld MB) as \"%s\"", e->template_db, u->source_bytes >> 20, e->target);
	w.st = &st;
	w.target = e->target;
	w.peek = gm_conn_open("template1", "gmdb progress", NULL);
	gm_signals_watch(c);
	rc = gm_db_exec_watch(c, q, clone_tick, &w, err);
	gm_signals_watch(NULL);
	gm_conn_close(w.peek);
	free(q);
	if (rc == GM_OK) {
		u->target_created = true;
		/* mark it as ours until it is finished */
		mark = gm_xasprintf("%s (from \"%s\", process %ld)", GM_BUILD_MARK, e->template_db, (long)getpid());
		rc = gm_db_comment_database(c, e->target, mark, err);
		free(mark);
	} else {
		gm_error_prefix(err, "could not clone \"%s\"", e->template_db);
		if (err->sqlstate && strcmp(err->sqlstate, "55006") == 0)
			gm_error_hint(err, "Someone connected to \"%s\" meanwhile: end those sessions and run again.",
				      e->template_db);
	}
	gm_conn_close(c);
	gm_step_end(&st, rc, NULL);
	return rc;
}

/* The target is finished: take the mark off. A target that kept it would
 * be dropped by the next run as half-made, so failing here fails the run. */
/*
 * The end of a run that succeeded: upstream's note on pg_hba.conf, the
 * build record, and the build mark replaced by it (or by the final mark),
 * on one session to the target (COMMENT ON DATABASE names it). The
 * target's session starts with the settings its owner may have given the
 * database (a statement_timeout, read-only transactions): if the COMMENT
 * fails there, it is made from template1, as it is, without a record,
 * when the target takes no connection.
 */
static int unmark(struct upgrade *u, struct gm_error *err)
{
	struct gm_error terr = GM_ERROR_INIT;
	PGconn *c = gm_conn_open(u->e.target, "gmdb", &terr);
	char *record = NULL;
	int rc = GM_EFAIL;

	if (c) {
		u->e.conn = c;
		gm_engine_check_hba(&u->e);
		u->e.conn = NULL;
		if (!u->o->final_mark &&
		    gm_build_record(c, u->o->from, u->o->to, u->e.template_db, &record, &terr) < 0)
			gm_log(GM_LOG_WARNING, "no build record on \"%s\" (%s): --replace-target will not drop it",
			       u->e.target, terr.message);
		gm_error_release(&terr);
		/* a GNUmed database defaults to read-only transactions */
		rc = gm_db_exec(c, "SET default_transaction_read_only TO off", &terr);
		if (rc == GM_OK)
			rc = gm_db_comment_database(c, u->e.target, u->o->final_mark ? u->o->final_mark : record, &terr);
		if (rc < 0)
			gm_log(GM_LOG_INFO, "could not replace the build mark on \"%s\" itself (%s): from template1",
			       u->e.target, terr.message);
		gm_conn_close(c);
	} else if (!u->o->final_mark) {
		gm_log(GM_LOG_WARNING, "no build record on \"%s\" (%s): --replace-target will not drop it", u->e.target,
		       terr.message);
	}
	gm_error_release(&terr);
	if (rc < 0 && (c = gm_conn_open("template1", "gmdb", err)) != NULL) {
		rc = gm_db_comment_database(c, u->e.target, u->o->final_mark ? u->o->final_mark : record, err);
		gm_conn_close(c);
	}
	free(record);
	if (rc < 0)
		gm_error_prefix(err, "could not take gmdb's build mark off \"%s\"", u->e.target);
	return rc;
}

/* Undo what this run did: the target, the group role it created. */
static bool cleanup(struct upgrade *u)
{
	bool gone = true;
	struct gm_error err = GM_ERROR_INIT;
	struct gm_step st;

	gm_conn_close(u->e.conn);
	u->e.conn = NULL;
	if (u->target_created) {
		gm_step_begin(&st, "dropping the half-made target \"%s\"", u->e.target);
		if (drop_database(u->e.target, &err) < 0) {
			gm_step_end(&st, GM_EFAIL, NULL);
			gm_log(GM_LOG_WARNING, "%s: drop it by hand (dropdb \"%s\"), or let the next run do it",
			       err.message, u->e.target);
			gone = false;
		} else {
			gm_step_end(&st, GM_OK, NULL);
		}
		gm_error_release(&err);
	}
	if (u->created_group) {
		PGconn *c = gm_conn_open("template1", "gmdb cleanup", &err);
		if (c) {
			gm_db_execf(c, &err, "DROP ROLE IF EXISTS %I", u->e.target);
			gm_conn_close(c);
		}
		if (err.message)
			gm_log(GM_LOG_WARNING, "could not drop the group role \"%s\" this run created: %s", u->e.target,
			       err.message);
		gm_error_release(&err);
	}
	return gone;
}

static bool role_exists(const char *name)
{
	struct gm_error err = GM_ERROR_INIT;
	PGconn *c = gm_conn_open("template1", "gmdb check", &err);
	const char *p[1] = { name };
	char *n = NULL;
	bool exists = true;
	if (c && gm_db_value(c, "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1", 1, p, &n, &err) == GM_OK)
		exists = strcmp(n, "0") != 0;
	free(n);
	gm_conn_close(c);
	gm_error_release(&err);
	return exists;
}

/* The clone carries the source's banner: a gmdb notice in front of it
 * (an upgrade is running, the source was replaced) is about the source, not
 * the new database, and is taken out; the practice's text stays byte for
 * byte. */
static int drop_source_notice(struct upgrade *u, struct gm_error *err)
{
	struct gm_step st;
	bool removed = false;
	int rc;

	if (!u->source_notice)
		return GM_OK;
	gm_step_begin(&st, "taking the notice of \"%s\" out of the banner of \"%s\"", u->e.template_db, u->e.target);
	rc = gm_banner_unnotice(u->e.target, &removed, err);
	gm_step_end(&st, rc, NULL);
	return rc;
}

/* Spec 4.4: where the source's hash function is broken, upstream repairs it
 * in the source before cloning; gmdb repairs the clone instead, which ends
 * up the same and leaves the source alone. */
static int repair_hash_function(struct upgrade *u, struct gm_error *err)
{
	PGconn *c;
	int rc;
	if (!u->source.hash_repaired)
		return GM_OK;
	c = gm_session_open(u->e.target, "postgres@template.db", err);
	if (!c)
		return GM_EFAIL;
	gm_log(GM_LOG_NOTICE, "repairing gm.concat_table_structure_v19_and_up() in \"%s\", as upstream does in its source",
	       u->e.target);
	rc = gm_session_exec(c, gm_sql("hash-repair-v19"), err);
	if (rc == GM_OK)
		rc = gm_session_commit(c, err);
	gm_conn_close(c);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Audit and plausibility                                              */
/* ------------------------------------------------------------------ */

/* gmdb's own: do the audit and notification triggers fit the tables?
 * (auditcheck.c; on the owner's session, nothing is left) */
/* Whether word is one of the space-separated words of list (may be NULL). */
static bool word_listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p = end ? end + 1 : p + len;
	}
	return false;
}

static int audit_check(struct upgrade *u, struct gm_error *err)
{
	struct gm_audit_check ac;
	struct gm_step st;
	int rc;

	int version = u->e.target_version >= 0 ? u->e.target_version : u->e.expect_version;
	/* the defects upstream's own engine leaves: in its old releases
	 * (by version), and in a generation's result (by generation) */
	const char *known = gm_audit_check_known_defects(version);
	const char *gen_known = gm_generation_audit_defects(u->e.generation);
	size_t unknown = 0, first = 0;

	gm_step_begin(&st, "checking the audit trail and notification triggers");
	rc = gm_audit_check(u->e.conn, &ac, err);
	for (size_t i = 0; rc == GM_OK && i < ac.broken_tables.n; i++) {
		bool old = word_listed(known, ac.broken_tables.v[i]);
		bool gen = word_listed(gen_known, ac.broken_tables.v[i]);
		gm_log(old || gen ? GM_LOG_WARNING : GM_LOG_ERROR, "the audit trail of %s does not work: %s%s",
		       ac.broken_tables.v[i], ac.broken.v[i],
		       old ? " (upstream's own engine leaves such defects in this version; the next ones repair them)" : "");
		if (gen)
			gm_log(GM_LOG_WARNING, "upstream's engine %s makes %s so, and so does gmdb: edits of its rows fail "
			       "until upstream repairs it", gm_generation_name(u->e.generation), ac.broken_tables.v[i]);
		if (!old && !gen && unknown++ == 0)
			first = i;
	}
	if (rc == GM_OK && ac.no_audit) {
		gm_step_end(&st, GM_OK, "skipped (no audit trail)");
	} else if (rc == GM_OK && unknown == 0) {
		struct gm_buf note = GM_BUF_INIT;
		gm_buf_addf(&note, "ok (%d tables: %d updates and %d deletes audited, %d refused by the database's rules, "
			    "%d tables empty", ac.tables, ac.updated, ac.deleted, ac.refused, ac.empty);
		if (ac.broken_tables.n) {
			char *list = gm_strv_join(&ac.broken_tables, ", ");
			gm_buf_addf(&note, "; %zu with upstream's own defects: %s", ac.broken_tables.n, list);
			free(list);
		}
		gm_buf_addc(&note, ')');
		gm_step_end(&st, GM_OK, gm_buf_str(&note));
		gm_buf_release(&note);
	} else if (rc == GM_OK) {
		rc = gm_error_set(err, GM_ECHECK, "the audit trail does not work: %s", ac.broken.v[first]);
		if (unknown > 1)
			gm_error_detail(err, "%zu audited tables fail so; the log names each.", unknown);
		gm_step_end(&st, rc, NULL);
		gm_error_hint(err, "The new database's audit triggers do not fit its tables: the practice's first edit "
			      "would fail the same way. Nothing of the new database is kept; report this with the log.");
	} else {
		gm_step_end(&st, rc, NULL);
	}
	gm_audit_check_release(&ac);
	return rc;
}

static int auditing(struct upgrade *u, struct gm_error *err)
{
	struct gm_engine *e = &u->e;
	struct gm_step st;
	char *text = NULL, dir[] = "/tmp/gmdb-audit.XXXXXX", *path = NULL;
	int rc, fd;

	gm_step_begin(&st, "setting up auditing");
	if (e->audit_disable == 1) {
		gm_step_end(&st, GM_OK, "skipped (disabled)");
		return GM_OK;
	}
	rc = gm_audit_generate_by(e->conn, gm_generation_audit(e->generation), &text, err);
	if (rc == GM_OK) {
		/* a private directory, not upstream's shared fixed name */
		const char *tmp = getenv("TMPDIR");
		char *tmpl = gm_xasprintf("%s/gmdb-audit.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		(void)dir;
		if (!mkdtemp(tmpl)) {
			rc = gm_error_set(err, GM_EFAIL, "could not create a temporary directory: %s", strerror(errno));
		} else {
			path = gm_xasprintf("%s/audit-trail-schema.sql", tmpl);
			fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0)
				rc = gm_error_set(err, GM_EFAIL, "could not write \"%s\": %s", path, strerror(errno));
		}
		if (rc == GM_OK) {
			/* a fresh runner, as upstream's (the file never sets ON_ERROR_STOP) */
			struct gm_runner *r = gm_runner_new(e->conn);
			gm_runner_set_dialect(r, gm_generation_sql_dialect(e->generation));
			rc = gm_runner_run_file(r, path, err);
			{
				long n = 0, ign = 0;
				gm_runner_stats(r, &n, &ign);
				e->statements += n;
				e->ignored_errors += ign;
			}
			gm_runner_free(r);
		}
		const char *keep = gm_conf_get(e->conf, "installation", "keep temp files");
		if (path && (!keep || strcmp(keep, "yes") != 0 || rc == GM_OK)) {
			unlink(path);
			rmdir(tmpl);
		} else if (path) {
			gm_log(GM_LOG_NOTICE, "the audit schema file is kept: %s", path);
		}
		free(tmpl);
	}
	if (rc < 0)
		gm_error_prefix(err, "could not set up auditing");
	free(path);
	free(text);
	gm_step_end(&st, rc, NULL);
	return rc;
}

/*
 * The source's client sessions so far (pg_stat_database.sessions) and the
 * backends on it now other than autovacuum's, after waiting up to 5 s for
 * them to end (gmdb's own closed ones, pg_dump's: a session's count is
 * flushed, at the latest, as it ends, before it leaves pg_stat_activity).
 */
static int source_sessions(const char *db, long long *sessions, long *live, struct gm_error *err)
{
	/* (up to 5 s: not on template1) */
	PGconn *c = gm_conn_open_maintenance("gmdb check", GM_CONN_SAFE_PATH, err);
	const char *p[1] = { db };
	int rc = GM_EFAIL, signals = gm_signals_count();

	if (!c)
		return GM_EFAIL;
	for (int tries = 0; tries < 50; tries++) {
		PGresult *res = gm_db_query(c, gm_sql("source-sessions"), 1, p, err);
		if (!res)
			break;
		rc = PQgetisnull(res, 0, 0) ? gm_error_set(err, GM_EFAIL, "no statistics for \"%s\"", db) : GM_OK;
		if (rc == GM_OK) {
			*sessions = atoll(PQgetvalue(res, 0, 0));
			*live = atol(PQgetvalue(res, 0, 1));
		}
		PQclear(res);
		/* (a second signal: no more waiting) */
		if (rc < 0 || *live == 0 || gm_signals_count() != signals)
			break;
		usleep(100000);
	}
	gm_conn_close(c);
	return rc;
}

/*
 * The run fails after its sessions on the source (the checks' old side,
 * the backup's pg_dump) were closed or stopped: they are gone before it
 * ends. A backend ends a moment after its client, on a busy server not at
 * once, and until then counts as somebody on the source (for the admin,
 * and for the next run's check that nobody is on it).
 */
static void source_left(const char *db)
{
	struct gm_error err = GM_ERROR_INIT;
	long long sessions;
	long live = 0;

	if (source_sessions(db, &sessions, &live, &err) < 0)
		gm_log(GM_LOG_INFO, "could not count the sessions on \"%s\": %s", db, err.message);
	else if (live > 0)
		gm_log(GM_LOG_INFO, "%ld session(s) still on \"%s\" 5 s after the run's own were closed or stopped "
				    "(somebody else's, or the run's, not yet ended)", live, db);
	gm_error_release(&err);
}

/*
 * Before the clone: whether the old side of the checks can run early. It
 * can if the source's sessions can be counted and nobody but autovacuum is
 * on it (the clone needs that anyway).
 */
static void early_checks_prepare(struct upgrade *u)
{
	struct gm_error err = GM_ERROR_INIT;
	long live = 0;

	u->early = false;
	/* an aggregate's old side is the fixed-up clone (fixup_in_clone) */
	if (!u->e.has_checks || u->aggregate || getenv("GMDB_NO_EARLY_CHECKS"))
		return;
	if (source_sessions(u->e.template_db, &u->sessions0, &live, &err) < 0)
		gm_log(GM_LOG_INFO, "the plausibility checks wait for the upgrade: %s", err.message);
	else if (live > 0)
		gm_log(GM_LOG_INFO, "the plausibility checks wait for the upgrade: %ld session(s) on \"%s\"", live,
		       u->e.template_db);
	else
		u->early = true;
	u->own0 = gm_conn_opened(u->e.template_db);
	gm_error_release(&err);
}

/* After the clone: the old side of the checks starts on the source. */
static void early_checks_start(struct upgrade *u)
{
	struct gm_error err = GM_ERROR_INIT;

	if (!u->early)
		return;
	if (gm_plausibility_start_old(u->plaus, u->e.template_db, &err) < 0) {
		gm_log(GM_LOG_INFO, "the plausibility checks wait for the upgrade: %s", err.message);
		u->early = false;
	} else {
		gm_log(GM_LOG_INFO, "the old side of the plausibility checks runs on \"%s\" meanwhile", u->e.template_db);
	}
	gm_error_release(&err);
}

/*
 * After the audit check, the last step that writes to the target (and
 * whose sequences, rolled back, it sets back): the new side of the checks
 * starts on the target, beside the result hash and the fingerprint, which
 * only read. Its connections log in as the owner the target was made for,
 * as the owner session does. (The owner session's end drops the temporary
 * objects upstream's files left in it, a change of the catalogs only, which
 * before also happened as the checks began: a backend ends after its
 * connection closes.)
 */
static void late_checks_start(struct upgrade *u)
{
	struct gm_error err = GM_ERROR_INIT;
	int jobs = u->o->jobs > 0 ? u->o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);

	if (!u->e.has_checks || getenv("GMDB_NO_EARLY_CHECKS"))
		return;
	gm_plausibility_new_owner(u->plaus, u->e.owner);
	if (gm_plausibility_start_new(u->plaus, u->e.target, jobs, &err) < 0)
		gm_log(GM_LOG_INFO, "the new side of the plausibility checks waits for its step: %s", err.message);
	else
		gm_log(GM_LOG_INFO, "the new side of the plausibility checks runs on \"%s\" meanwhile", u->e.target);
	gm_error_release(&err);
}

/*
 * Whether the source stayed as the clone copied it while the early checks
 * ran: every client session on it since before the clone was one of
 * gmdb's own connections or the backup's pg_dump (over by now), and
 * nobody is on it now.
 * A write needs a session on the database: a client backend (counted), or
 * a background worker (logical replication, an extension's jobs), which
 * is not counted and, if one runs now, makes this answer no.
 */
static bool source_unchanged(struct upgrade *u)
{
	struct gm_error err = GM_ERROR_INIT;
	long long sessions = 0;
	long live = 0, own = gm_conn_opened(u->e.template_db) - u->own0 + u->dump_sessions;
	bool same = false;

	if (u->dump_running)
		return false;  /* not so: backup_finish comes first */
	if (source_sessions(u->e.template_db, &sessions, &live, &err) < 0)
		gm_log(GM_LOG_NOTICE, "could not count the sessions on \"%s\" (%s): its plausibility checks run again",
		       u->e.template_db, err.message);
	else if (live > 0 || sessions - u->sessions0 != own)
		gm_log(GM_LOG_NOTICE, "\"%s\" may have changed since it was cloned (%lld session(s) since, %ld of them "
		       "gmdb's, %ld on it now): its plausibility checks run again", u->e.template_db,
		       sessions - u->sessions0, own, live);
	else
		same = true;
	gm_error_release(&err);
	return same;
}

static int plausibility(struct upgrade *u, struct gm_error *err)
{
	struct gm_step st;
	int rc, jobs;

	gm_step_begin(&st, "checking the migrated data for plausibility");
	if (!u->e.has_checks) {
		gm_step_end(&st, GM_OK, "skipped (no checks defined)");
		return GM_OK;
	}
	jobs = u->o->jobs > 0 ? u->o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (gm_plausibility_old_running(u->plaus)) {
		/* the new side now, beside what is left of the old one */
		if (gm_plausibility_run_new(u->plaus, u->e.target, jobs, err) < 0) {
			gm_step_end(&st, GM_EFAIL, NULL);
			return GM_EFAIL;
		}
		if (gm_plausibility_wait_old(u->plaus) < 0) {
			rc = gm_signals_check(err) < 0 ? GM_EFAIL : gm_error_set(err, GM_EFAIL, "interrupted");
			gm_step_end(&st, rc, NULL);
			return rc;
		}
		if (!source_unchanged(u))
			gm_plausibility_discard_old(u->plaus);
	}
	rc = gm_plausibility_finish(u->plaus, u->e.template_db, u->e.target, jobs, &u->checks, &u->n_checks, err);
	for (size_t i = 0; i < u->n_checks; i++)
		if (!u->checks[i].passed) {
			bool ignored = false;
			for (const char *const *t = u->o->ignore_checks; t && *t && !ignored; t++)
				ignored = u->checks[i].tag && strcmp(*t, u->checks[i].tag) == 0;
			if (ignored)
				u->checks_ignored++;
			else
				u->checks_failed++;
			gm_log(GM_LOG_WARNING, "plausibility check \"%s\" failed%s: %s (old: %s, new: %s)",
			       u->checks[i].tag ? u->checks[i].tag : "?", ignored ? " (ignored: --ignore-check)" : "",
			       u->checks[i].problem ? u->checks[i].problem : "",
			       u->checks[i].old_value ? u->checks[i].old_value : "NULL",
			       u->checks[i].new_value ? u->checks[i].new_value : "NULL");
		}
	if (rc == GM_ECHECK && u->checks_failed == 0) {
		/* every failure was one the admin named */
		gm_error_release(err);
		rc = GM_OK;
	}
	if (rc == GM_ECHECK && !err->message)
		gm_error_set(err, GM_ECHECK, "%d of %zu plausibility checks failed", u->checks_failed, u->n_checks);
	gm_step_end(&st, rc, NULL);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

static void print_json(struct upgrade *u, int rc, const struct gm_error *err)
{
	FILE *out = u->o->json_to ? u->o->json_to : stdout;
	fprintf(out, "{\n  \"from\": %d,\n  \"to\": %d,\n  \"source\": ", u->o->from, u->o->to);
	gm_json_string(out, u->e.template_db);
	fputs(",\n  \"target\": ", out);
	gm_json_string(out, u->e.target);
	fprintf(out, ",\n  \"result\": \"%s\",\n  \"source_hash\": ", rc == GM_OK ? "ok" : "failed");
	gm_json_string(out, u->source.hash);
	fputs(",\n  \"target_hash\": ", out);
	gm_json_string(out, u->result_hash);
	fprintf(out, ",\n  \"statements\": %ld,\n  \"ignored_errors\": %ld,\n  \"seconds\": %.2f,\n  \"backup\": ",
		u->e.statements, u->e.ignored_errors, gm_now() - u->t0);
	gm_json_string(out, u->backup_path);
	fputs(",\n  \"log_file\": ", out);
	gm_json_string(out, gm_log_file_path());
	fprintf(out, ",\n  \"steps\": [%s\n  ],\n  \"plausibility\": {\"checks\": %zu, \"failed\": %d, \"ignored\": %d, \"failures\": [",
		gm_buf_str(&u->steps_json), u->n_checks, u->checks_failed, u->checks_ignored);
	for (size_t i = 0, k = 0; i < u->n_checks; i++)
		if (!u->checks[i].passed) {
			fputs(k++ ? ", " : "", out);
			gm_json_string(out, u->checks[i].tag);
		}
	fputs("]},\n  \"error\": ", out);
	gm_json_string(out, rc < 0 && err ? err->message : NULL);
	fputs("\n}\n", out);
}

#define STEP(u, name, call)                                          \
	do {                                                         \
		double t_ = gm_now();                                \
		if (rc == GM_OK)                                     \
			rc = gm_signals_check(err);                  \
		if (rc == GM_OK) {                                   \
			rc = (call);                                 \
			step_json((u), (name), gm_now() - t_, rc);   \
		}                                                    \
	} while (0)

int gm_upgrade_run(const struct gm_upgrade_opts *o, struct gm_error *err)
{
	struct upgrade u;
	struct preflight pf;
	PGconn *lock_src = NULL, *lock_tgt = NULL;
	struct gm_shortcut *shortcut = NULL;
	struct gm_fingerprint_pending *fpp = NULL;
	char *conf;
	int rc;
	bool pooled = false;

	memset(&u, 0, sizeof(u));
	memset(&pf, 0, sizeof(pf));
	u.o = o;
	u.t0 = gm_now();
	u.started_as_root = geteuid() == 0;
	gm_engine_init(&u.e);
	gm_engine_init(&u.fix);
	u.e.jobs = u.fix.jobs = o->jobs;

	if ((rc = gm_upgrade_prepare_backup_dir(o, err)) < 0)
		return rc;
	if (gm_privs_drop(err) < 0)
		return GM_EFAIL;
	gm_signals_install();
	if ((rc = gm_hashes_from_tree(upstream_dir(o), err)) < 0)
		return rc;

	conf = gm_xasprintf("update_db-v%d_v%d.conf", o->from, o->to);
	{
		char *path = gm_xasprintf("%s/bootstrap/%s", upstream_dir(o), conf);
		if (access(path, R_OK) != 0) {
			rc = gm_error_set(err, GM_EUSAGE, "upstream's tree has no upgrade from v%d to v%d (no %s)", o->from, o->to,
					  path);
			free(path);
			free(conf);
			return rc;
		}
		free(path);
	}
	rc = gm_engine_prepare(&u.e, upstream_dir(o), conf, NULL, err);
	free(conf);
	if (rc < 0)
		goto out;
	/* a rehearsal: copies with names of their own, the real group roles */
	if (o->source_db) {
		u.e.group_source = u.e.template_db;
		u.e.template_db = gm_xstrdup(o->source_db);
	}
	if (o->target_db) {
		u.e.group_target = u.e.target;
		u.e.target = gm_xstrdup(o->target_db);
	}
	if ((rc = prepare_aggregate(&u, err)) < 0)
		goto out;
	/* python3 loads its modules for the data import scripts while the
	 * checks run (lib/pyimport.c, as the fixup does); it connects only
	 * when the step runs, and not at all if the run stops before */
	if (u.e.scripts.n)
		u.e.pyimport = gm_pyimport_start(upstream_dir(o), NULL);

	/* The checks before the clone only read: their sessions of the run's
	 * own user are kept and reused (gm_conn_pool_begin) until the clone,
	 * which needs the source to itself. */
	gm_conn_pool_begin();
	pooled = true;
	rc = preflight(&u, &pf, err);
	if (rc < 0)
		goto out;
	if (o->downtime_check) {
		if (pf.failures) {
			fputs(gm_buf_str(&pf.report), stderr);
			rc = GM_ECHECK;
			gm_error_set(err, GM_ECHECK, "%s", pf.first.message);
		} else {
			gm_log(GM_LOG_INFO, "%s", gm_buf_str(&pf.report));
		}
		goto out;
	}
	if (o->check) {
		fputs(gm_buf_str(&pf.report), stdout);
		if (pf.failures) {
			rc = GM_ECHECK;
			gm_error_set(err, GM_ECHECK, "%d check(s) failed: the upgrade would not start", pf.failures);
		} else {
			printf("ready: gm-upgrade_server %d %d would start now%s\n", o->from, o->to,
			       pf.warnings ? " (read the warnings)" : "");
		}
		goto out;
	}
	if (pf.failures) {
		fputs(gm_buf_str(&pf.report), stderr);
		rc = GM_ECHECK;
		gm_error_set(err, GM_ECHECK, "%s", pf.first.message);
		gm_error_hint(err, "Nothing was changed. \"gm-upgrade_server --check %d %d\" lists every check.", o->from, o->to);
		goto out;
	}
	gm_log(GM_LOG_INFO, "%s", gm_buf_str(&pf.report));
	if (!o->yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO)) {
		char answer[16] = "";
		/* no kept session waits for an answer, which may take any
		 * time: the source's would hold it for as long */
		gm_conn_pool_flush(NULL, NULL, 0);
		fputs(gm_buf_str(&pf.report), stderr);
		fprintf(stderr, "Upgrade \"%s\" (v%d) into a new database \"%s\" (v%d)%s? [y/N] ", u.e.template_db,
			o->from, u.e.target, o->to, o->no_backup ? " without a backup" : "");
		if (!fgets(answer, sizeof(answer), stdin) || (strcmp(answer, "y\n") != 0 && strcmp(answer, "yes\n") != 0)) {
			rc = gm_error_set(err, GM_EFAIL, "not confirmed: nothing was changed");
			goto out;
		}
	}

	rc = gm_lock_acquire(u.e.template_db, &lock_src, err);
	if (rc == GM_OK)
		rc = gm_lock_acquire(u.e.target, &lock_tgt, err);
	if (rc < 0)
		goto out;

	gm_engine_log_fingerprint(u.e.template_db, NULL, "source", u.source.hash);
	if (o->no_backup)
		gm_log(GM_LOG_NOTICE, "no backup of \"%s\" (--no-backup)", u.e.template_db);
	u.created_group = !role_exists(u.e.target);
	gm_conn_pool_end();
	pooled = false;
	if (rc == GM_OK && (rc = gm_plausibility_prepare(u.e.has_checks ? &u.e.checks : NULL, &u.plaus, err)) == GM_OK)
		early_checks_prepare(&u);
	STEP(&u, "clone", clone(&u, err));
	if (rc == GM_OK && !o->no_backup)
		rc = backup_start(&u, err);
	if (rc == GM_OK)
		early_checks_start(&u);
	STEP(&u, "repair hash function", repair_hash_function(&u, err));
	STEP(&u, "banner notice", drop_source_notice(&u, err));
	{
		struct gm_step st;
		double t = gm_now();
		if (rc == GM_OK) {
			/* an aggregate's roles come from its first part, as in
			 * master's engine */
			gm_step_begin(&st, "preparing the roles");
			rc = gm_engine_bootstrap_server(u.aggregate ? &u.fix : &u.e, err);
			gm_step_end(&st, rc, NULL);
			step_json(&u, "roles", gm_now() - t, rc);
		}
	}
	u.e.rewrite = gm_shortcut_rewrite;
	u.e.rewrite_data = shortcut = gm_shortcut_new(&u.e.conn);
	if (u.aggregate)
		STEP(&u, "fixup", fixup_in_clone(&u, err));
	STEP(&u, "superuser steps", gm_engine_superuser_steps(&u.e, err));
	STEP(&u, "owner session", gm_engine_owner_session(&u.e, err));
	if (rc == GM_OK)
		gm_signals_watch(u.e.conn);
	STEP(&u, "bundles", gm_engine_bundles(&u.e, err));
	STEP(&u, "auditing", auditing(&u, err));
	STEP(&u, "notifications", gm_engine_notifications(&u.e, err));
	STEP(&u, "security settings", gm_engine_security_settings(&u.e, err));
	STEP(&u, "data import scripts", gm_engine_import_scripts(&u.e, err));
	STEP(&u, "audit check", audit_check(&u, err));
	if (rc == GM_OK)
		late_checks_start(&u);
	/* upstream logs the fingerprint first (step 17), then checks the hash
	 * (18): both only read, so the fingerprint runs beside the hash, on a
	 * session of its own, and takes the hash from it */
	if (rc == GM_OK)
		fpp = gm_engine_fingerprint_begin(u.e.target, u.e.owner, "target");
	STEP(&u, "result hash", gm_engine_verify_result(&u.e, &u.result_hash, err));
	gm_engine_fingerprint_end(fpp, u.e.target, "target", rc == GM_OK ? u.result_hash : NULL);
	gm_signals_watch(NULL);
	gm_conn_close(u.e.conn);
	u.e.conn = NULL;
	/* the checks count the source's sessions once pg_dump's are over */
	if (rc == GM_OK && (rc = gm_signals_check(err)) == GM_OK)
		rc = backup_finish(&u, err);
	STEP(&u, "plausibility", plausibility(&u, err));
	if (rc == GM_OK)
		rc = unmark(&u, err);
	if (rc < 0) {
		/* an old side still running on the source stops first, and a
		 * backup still running */
		bool on_source = u.early || u.dump_running;
		gm_plausibility_free(u.plaus);
		u.plaus = NULL;
		backup_stop(&u);
		if (on_source)
			source_left(u.e.template_db);
		gm_signals_explain(err);
		char *trouble = NULL;
		char *next = gm_xasprintf("run \"gm-upgrade_server %d %d\" again (it drops what this run left)", o->from, o->to);
		/* a full disk, a server that went down: what to do first */
		gm_space_server_failed(err, next, &trouble);
		free(next);
		if (trouble) {
			if (!cleanup(&u))
				gm_log(GM_LOG_WARNING, "the half-made \"%s\" is left: the next run drops it", u.e.target);
			free(err->hint);
			err->hint = gm_xasprintf("%s \"%s\" was not changed.", trouble, u.e.template_db);
			free(trouble);
		} else if (cleanup(&u)) {
			if (!err->hint)
				gm_error_hint(err, "Nothing is left of the new database; \"%s\" is unchanged. Fix the cause "
					      "and run again.", u.e.template_db);
		} else {
			free(err->hint);
			err->hint = gm_xasprintf("\"%s\" is unchanged; the half-made \"%s\" could not be dropped: the "
						 "next run drops it, or drop it by hand (dropdb).", u.e.template_db, u.e.target);
		}
	} else {
		gm_log(GM_LOG_NOTICE, "upgrade of \"%s\" (v%d) to \"%s\" (v%d) done in %.1f s: %ld statements, "
				      "%zu plausibility checks passed%s",
		       u.e.template_db, o->from, u.e.target, o->to, gm_now() - u.t0, u.e.statements,
		       u.n_checks - (size_t)u.checks_ignored, u.checks_ignored ? " (the others failed: ignored as asked)" : "");
		if (u.backup_path) {
			/* the restore as the user who may write the database, at the
			 * server this run used, whatever the shell's PGHOST/PGPORT say */
			char *args = gm_conn_where_args(), *path = gm_shell_quote(u.backup_path);
			char *user = gm_shell_quote(gm_conn_user());
			gm_log(GM_LOG_NOTICE, "backup of \"%s\": %s", u.e.template_db, u.backup_path);
			/* a GNUmed database defaults to read-only transactions, and
			 * --create sets that before the data comes; and a database
			 * setting role, which gmdb's own switches outweigh */
			if ((u.started_as_root || o->in_procedure) && !gm_conn_opts.user)
				gm_log(GM_LOG_NOTICE, "to restore it once \"%s\" is dropped or renamed, as root:\n    runuser -u postgres -- "
				       "env PGOPTIONS='-c default_transaction_read_only=off %s' pg_restore%s --create -d postgres %s",
				       u.e.template_db, gm_conn_options(false), args, path);
			else
				gm_log(GM_LOG_NOTICE, "to restore it once \"%s\" is dropped or renamed:\n    "
				       "PGOPTIONS='-c default_transaction_read_only=off %s' pg_restore%s -U %s --create -d postgres %s",
				       u.e.template_db, gm_conn_options(false), args, user, path);
			free(args);
			free(path);
			free(user);
		}
		gm_log(GM_LOG_NOTICE, "\"%s\" is kept as it was: point the clients and the backup job at \"%s\"",
		       u.e.template_db, u.e.target);
	}

out:
	if (pooled)
		gm_conn_pool_end();
	if (o->result) {
		o->result->checks = u.n_checks;
		o->result->checks_failed = u.checks_failed;
		o->result->source_bytes = u.source_bytes;
		o->result->seconds = gm_now() - u.t0;
	}
	if (o->json && !o->check && !o->downtime_check)
		print_json(&u, rc, err);
	gm_plausibility_free(u.plaus);
	gm_lock_release(lock_tgt);
	gm_lock_release(lock_src);
	gm_checks_free(u.checks, u.n_checks);
	gm_buf_release(&u.steps_json);
	gm_buf_release(&pf.report);
	gm_error_release(&pf.first);
	gm_found_clear(&u.source);
	free(u.backup_path);
	free(u.result_hash);
	gm_engine_release(&u.e);
	gm_engine_release(&u.fix);
	gm_space_release(&u.space);
	gm_shortcut_free(shortcut);
	return rc;
}
