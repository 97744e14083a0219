/*
 * rehearse.c - gm-upgrade_server --rehearse / gm-fixup_server --rehearse:
 * the real run, on a copy, while the practice works
 *
 * The copy is made without blocking anyone: pg_dump (one consistent
 * snapshot, ACCESS SHARE locks that no reading or writing session waits
 * for; only DDL on the source waits meanwhile), in the very form of the
 * real run's backup (-Fd, its --backup-compress, --jobs), so that its time and size are the
 * backup's; then pg_restore into a scratch database "gmdb_rehearsal_<pid>"
 * made like the source (encoding, collation, owner, then its settings and
 * ACL): the definitions as the superuser, the rows, indexes, constraints
 * and triggers as the owner, whose functions they may call (lib/owner.c).
 * CREATE DATABASE ... TEMPLATE is not an option: it needs the source to
 * have no other sessions.
 *
 * The real upgrade (or fixup) then runs on the copy, with every check and
 * plausibility test; the upgrade's target is a second scratch database
 * "gmdb_rehearsal_<pid>_new", and the group roles it works with are the
 * real ones (named like the real source and target). Afterwards everything
 * the rehearsal made goes: both scratch databases, the dump, the roles the
 * run created and the memberships and owner attributes it added (the roles
 * and memberships of the cluster are compared with a snapshot taken first;
 * only the roles the engine works on are touched). A scratch database left
 * by a killed rehearsal (its comment names its process, which is gone) is
 * dropped by the next one.
 *
 * The report: whether the real run will succeed, each step's time, the
 * estimate of the real downtime (backup + clone, scaled to the source's
 * size + the other steps) and the space the real run needs.
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARK "gmdb: rehearsal copy"

struct role_state {
	struct gm_strv names;        /* every role */
	struct gm_strv members;      /* "role\tmember\tadmin option (t/f)" */
	char *owner_attrs;           /* "t t": the owner's createdb, createrole */
};

struct rehearsal {
	const struct gm_rehearse_opts *o;
	struct gm_engine e;          /* the definition: names, owner, groups */
	char *source, *target;       /* the real names */
	int from, to;                /* the versions (a fixup's: from = to) */
	char *copy, *copy_new;       /* the scratch databases */
	char *tmpdir, *dump;
	bool copy_made, new_made;
	struct role_state before;
	struct gm_space space;
	struct gm_buf space_lines;
	bool space_enough;
	double t_dump, t_restore, t_snapshot, t_run;
	long long dump_bytes, source_bytes, copy_bytes;
	struct gm_upgrade_result result;
	int run_rc;                  /* the rehearsed run's result */
	struct gm_error run_err;
	bool cleaned;
	char *cleanup_problem;
};

/* ------------------------------------------------------------------ */
/* Roles: a snapshot, and putting back what the run added              */
/* ------------------------------------------------------------------ */

static void role_state_release(struct role_state *r)
{
	gm_strv_release(&r->names);
	gm_strv_release(&r->members);
	free(r->owner_attrs);
	memset(r, 0, sizeof(*r));
}

static bool strv_has(const struct gm_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

static int role_snapshot(PGconn *c, const char *owner, struct role_state *r, struct gm_error *err)
{
	PGresult *res;
	const char *p[1] = { owner };

	memset(r, 0, sizeof(*r));
	if (!(res = gm_db_query(c, "SELECT rolname FROM pg_catalog.pg_roles", 0, NULL, err)))
		return GM_EFAIL;
	for (int i = 0; i < PQntuples(res); i++)
		gm_strv_push(&r->names, PQgetvalue(res, i, 0));
	PQclear(res);
	if (!(res = gm_db_query(c, "SELECT r.rolname, m.rolname, a.admin_option FROM pg_catalog.pg_auth_members a "
				   "JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.roleid "
				   "JOIN pg_catalog.pg_roles m ON m.oid OPERATOR(pg_catalog.=) a.member", 0, NULL, err)))
		return GM_EFAIL;
	for (int i = 0; i < PQntuples(res); i++)
		gm_strv_push_owned(&r->members, gm_xasprintf("%s\t%s\t%s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
							     PQgetvalue(res, i, 2)));
	PQclear(res);
	return gm_db_value(c, "SELECT rolcreatedb::text || ' ' || rolcreaterole::text FROM pg_catalog.pg_roles "
			      "WHERE rolname OPERATOR(pg_catalog.=) $1", 1, p, &r->owner_attrs, err);
}

/* Is role one the engine works on (its groups, gm-logins, the owner)? */
static bool engine_role(const struct rehearsal *h, const char *role)
{
	return strv_has(&h->e.groups, role) || strcmp(role, "gm-logins") == 0 || strcmp(role, h->e.owner) == 0 ||
	       strcmp(role, h->source) == 0 || strcmp(role, h->copy) == 0 || strcmp(role, h->copy_new) == 0;
}

static int roles_restore(struct rehearsal *h, PGconn *c, struct gm_error *err)
{
	struct role_state now;
	int rc = role_snapshot(c, h->e.owner, &now, err);

	/* memberships (and admin options) the run added to the engine's roles */
	for (size_t i = 0; rc == GM_OK && i < now.members.n; i++) {
		char *role = gm_xstrdup(now.members.v[i]), *member = strchr(role, '\t'), *admin, *without;
		*member++ = '\0';
		admin = strchr(member, '\t');
		*admin++ = '\0';
		without = gm_xasprintf("%s\t%s\tf", role, member);
		if (!strv_has(&h->before.members, now.members.v[i]) && engine_role(h, role) && strv_has(&h->before.names, role)) {
			if (strcmp(admin, "t") == 0 && strv_has(&h->before.members, without)) {
				gm_log(GM_LOG_INFO, "rehearsal: \"%s\" loses the admin option on \"%s\" again", member, role);
				rc = gm_db_execf(c, err, "REVOKE ADMIN OPTION FOR %I FROM %I", role, member);
			} else {
				gm_log(GM_LOG_INFO, "rehearsal: taking \"%s\" out of \"%s\" again", member, role);
				rc = gm_db_execf(c, err, "REVOKE %I FROM %I", role, member);
			}
		}
		free(without);
		free(role);
	}
	/* roles it created (the target's group, missing groups of the definition) */
	for (size_t i = 0; rc == GM_OK && i < now.names.n; i++)
		if (!strv_has(&h->before.names, now.names.v[i]) && engine_role(h, now.names.v[i])) {
			gm_log(GM_LOG_INFO, "rehearsal: dropping the role \"%s\" it created", now.names.v[i]);
			rc = gm_db_execf(c, err, "DROP ROLE %I", now.names.v[i]);
		}
	/* the owner's CREATEDB CREATEROLE */
	if (rc == GM_OK && h->before.owner_attrs && now.owner_attrs && strcmp(h->before.owner_attrs, now.owner_attrs) != 0) {
		bool db = h->before.owner_attrs[0] == 't', role = strchr(h->before.owner_attrs, ' ')[1] == 't';
		gm_log(GM_LOG_INFO, "rehearsal: the owner \"%s\" gets back its attributes (%s)", h->e.owner, h->before.owner_attrs);
		rc = gm_db_execf(c, err, db ? (role ? "ALTER ROLE %I CREATEDB CREATEROLE" : "ALTER ROLE %I CREATEDB NOCREATEROLE")
					    : (role ? "ALTER ROLE %I NOCREATEDB CREATEROLE" : "ALTER ROLE %I NOCREATEDB NOCREATEROLE"),
				 h->e.owner);
	}
	role_state_release(&now);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The copy                                                            */
/* ------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Scratch databases of killed rehearsals: their mark names a process that
 * is gone. */
static void drop_leftovers(PGconn *c)
{
	const char *p[1] = { MARK " (process %" };
	PGresult *res = gm_db_query(c, "SELECT d.datname, pg_catalog.shobj_description(d.oid, 'pg_database') "
				       "FROM pg_catalog.pg_database d WHERE pg_catalog.shobj_description(d.oid, 'pg_database') LIKE $1",
				    1, p, NULL);
	for (int i = 0; res && i < PQntuples(res); i++) {
		long pid = atol(PQgetvalue(res, i, 1) + strlen(MARK " (process "));
		if (pid > 1 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		gm_log(GM_LOG_NOTICE, "dropping \"%s\", left by a rehearsal that was killed", PQgetvalue(res, i, 0));
		gm_db_execf(c, NULL, "DROP DATABASE IF EXISTS %I", PQgetvalue(res, i, 0));
	}
	PQclear(res);
}

static int make_copy(struct rehearsal *h, struct gm_error *err)
{
	const char *p[1] = { h->source };
	PGconn *c = gm_conn_open("template1", "gmdb rehearsal", err);
	PGresult *res = NULL;
	struct gm_step st;
	char jobs[16], level[16], *conninfo = NULL, *mark = NULL;
	double t;
	int rc = c ? GM_OK : GM_EFAIL;

	snprintf(jobs, sizeof(jobs), "%d", h->o->jobs > 0 ? h->o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(level, sizeof(level), "--compress=%d", h->o->backup_compress);
	if (rc == GM_OK)
		drop_leftovers(c);

	/* the dump: the real backup's form, taken while everyone works */
	if (rc == GM_OK) {
		const char *args[] = { "--format=directory", "--jobs", jobs, level, "--no-password", "--file",
				       h->dump, "--dbname", NULL, NULL };
		conninfo = gm_pg_tool_dbname(h->source);
		args[8] = conninfo;
		gm_step_begin(&st, "copying \"%s\" without blocking anyone: pg_dump, as the backup of the real run", h->source);
		t = gm_now();
		rc = gm_pg_tool_run("pg_dump", args, h->dump, &st, err);
		h->t_dump = gm_now() - t;
		h->dump_bytes = gm_backup_bytes(AT_FDCWD, h->dump);
		gm_step_end(&st, rc, NULL);
		free(conninfo);
		conninfo = NULL;
	}
	/* the scratch database, made like the source */
	if (rc == GM_OK) {
		res = gm_db_query(c, "SELECT pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, "
				     "pg_catalog.pg_get_userbyid(d.datdba) FROM pg_catalog.pg_database d WHERE d.datname = $1",
				  1, p, err);
		if (!res)
			rc = GM_EFAIL;
		else if (PQntuples(res) != 1)
			rc = gm_error_set(err, GM_ECHECK, "database \"%s\" does not exist", h->source);
	}
	if (rc == GM_OK) {
		rc = gm_db_execf(c, err, "CREATE DATABASE %I TEMPLATE template0 ENCODING %L LC_COLLATE %L LC_CTYPE %L OWNER %I",
				 h->copy, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
				 PQgetvalue(res, 0, 3));
		h->copy_made = rc == GM_OK;
	}
	if (rc == GM_OK) {
		mark = gm_xasprintf(MARK " (process %ld, of \"%s\")", (long)getpid(), h->source);
		rc = gm_db_comment_database(c, h->copy, mark, err);
	}
	/* the definitions as the superuser (nothing in them runs), the rows,
	 * indexes, constraints and triggers as the owner: loading rows checks
	 * the owner's CHECK constraints and an index evaluates the owner's
	 * functions, which must never run with the superuser's rights */
	if (rc == GM_OK) {
		const char *args[] = { "--section=pre-data", "--no-password", "--exit-on-error", "--dbname", NULL, NULL, NULL };
		conninfo = gm_pg_tool_dbname(h->copy);
		args[4] = conninfo;
		args[5] = h->dump;
		gm_step_begin(&st, "restoring the copy as \"%s\"", h->copy);
		t = gm_now();
		rc = gm_pg_tool_run("pg_restore", args, NULL, &st, err);
		if (rc == GM_OK) {
			PGconn *oc = gm_owner_open(h->copy, h->e.owner, "gmdb rehearsal", GM_CONN_SAFE_PATH, err);
			if (!oc)
				rc = GM_EFAIL;
			gm_conn_close(oc);
		}
		if (rc == GM_OK) {
			const char *args2[] = { "--section=data", "--section=post-data", "--jobs", jobs, "--no-password",
						"--exit-on-error", "--dbname", conninfo, h->dump, NULL };
			rc = gm_pg_tool_run_as("pg_restore", h->e.owner, args2, NULL, &st, err);
		}
		h->t_restore = gm_now() - t;
		gm_step_end(&st, rc, NULL);
	}
	/* its settings and ACL (default_transaction_read_only, ...) */
	if (rc == GM_OK) {
		const char *pp[2] = { h->source, h->copy };
		PGresult *a = gm_db_query(c, gm_sql("downtime-copy-attributes"), 2, pp, err);
		if (!a)
			rc = GM_EFAIL;
		for (int i = 0; rc == GM_OK && i < PQntuples(a); i++)
			rc = gm_db_exec(c, PQgetvalue(a, i, 0), err);
		PQclear(a);
	}
	if (rc == GM_OK) {
		const char *cp[1] = { h->copy };
		char *b = NULL;
		if (gm_db_value(c, "SELECT pg_catalog.pg_database_size($1)", 1, cp, &b, NULL) == GM_OK && b)
			h->copy_bytes = atoll(b);
		free(b);
	}
	if (rc < 0)
		gm_error_prefix(err, "could not copy \"%s\" for the rehearsal", h->source);
	PQclear(res);
	free(conninfo);
	free(mark);
	gm_conn_close(c);
	return rc;
}

/* The fixup's snapshot, timed on the copy as --downtime makes it. */
static int time_snapshot(struct rehearsal *h, struct gm_error *err)
{
	PGconn *c = gm_conn_open("template1", "gmdb rehearsal", err);
	char *snap = gm_xasprintf("%s_snap", h->copy);
	struct gm_step st;
	double t = gm_now();
	int rc;

	if (!c) {
		free(snap);
		return GM_EFAIL;
	}
	gm_step_begin(&st, "timing the snapshot --downtime makes (\"%s\")", snap);
	rc = gm_db_execf(c, err, "CREATE DATABASE %I TEMPLATE %I", snap, h->copy);
	h->t_snapshot = gm_now() - t;
	gm_db_execf(c, NULL, "DROP DATABASE IF EXISTS %I", snap);
	gm_step_end(&st, rc, NULL);
	gm_conn_close(c);
	free(snap);
	return rc;
}

static void cleanup(struct rehearsal *h)
{
	struct gm_error err = GM_ERROR_INIT;
	struct gm_step st;
	PGconn *c;
	int rc = GM_OK;

	gm_step_begin(&st, "dropping everything the rehearsal made");
	c = gm_conn_open("template1", "gmdb rehearsal", &err);
	if (!c)
		rc = GM_EFAIL;
	if (rc == GM_OK)
		rc = gm_db_execf(c, &err, "DROP DATABASE IF EXISTS %I", h->copy_new);
	if (rc == GM_OK)
		rc = gm_db_execf(c, &err, "DROP DATABASE IF EXISTS %I", h->copy);
	if (rc == GM_OK && h->before.names.n)
		rc = roles_restore(h, c, &err);
	gm_conn_close(c);
	if (h->tmpdir && nftw(h->tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && rc == GM_OK)
		rc = gm_error_set(&err, GM_EFAIL, "could not remove %s: %s", h->tmpdir, strerror(errno));
	gm_step_end(&st, rc, NULL);
	h->cleaned = rc == GM_OK;
	if (rc < 0)
		h->cleanup_problem = gm_xstrdup(err.message ? err.message : "?");
	gm_error_release(&err);
}

/* ------------------------------------------------------------------ */
/* The report                                                          */
/* ------------------------------------------------------------------ */

struct estimate {
	double backup, clone, upgrade, checks, total;
};

static void estimate(const struct rehearsal *h, struct estimate *x)
{
	/* the real source is larger than the rehearsal's copy (restored
	 * without the free space of its tables and indexes): the clone, the
	 * REINDEX, the checks and the counts read it all, so the rehearsed run
	 * is scaled by the ratio of the sizes (a fixed cost or two scaled
	 * along errs on the long side, which is the side to err on) */
	double scale = h->copy_bytes > 0 && h->source_bytes > h->copy_bytes ? (double)h->source_bytes / h->copy_bytes : 1.0;

	memset(x, 0, sizeof(*x));
	/* a fixup makes no backup of its own */
	x->backup = h->o->no_backup || h->o->fixup ? 0 : h->t_dump;
	if (h->o->fixup) {
		x->clone = h->t_snapshot * scale;
		x->upgrade = h->t_run * scale;
	} else {
		/* the whole rehearsed run, its checks first included: the steps
		 * alone leave out what happens between them */
		double clone = 0;
		for (size_t i = 0; i < h->result.n_steps; i++) {
			const struct gm_upgrade_step *s = &h->result.steps[i];
			if (strcmp(s->name, "clone") == 0)
				clone += s->seconds;
			else if (strcmp(s->name, "plausibility") == 0 || strcmp(s->name, "result hash") == 0)
				x->checks += s->seconds;
		}
		x->upgrade = h->t_run - clone - x->checks;
		if (x->upgrade < 0)
			x->upgrade = 0;
		x->clone = clone * scale;
		x->upgrade *= scale;
		x->checks *= scale;
	}
	x->total = x->backup + x->clone + x->upgrade + x->checks;
}

static void print_text(const struct rehearsal *h, const struct estimate *x, FILE *out)
{
	const char *tool = h->o->fixup ? "gm-fixup_server" : "gm-upgrade_server";

	fprintf(out, "\nRehearsal of %s on a copy of \"%s\" (%lld MB), made without blocking anyone:\n", tool, h->source,
		h->source_bytes >> 20);
	fprintf(out, "  copy: pg_dump %.1f s (%lld MB, the form of the real run's backup), pg_restore %.1f s\n", h->t_dump,
		h->dump_bytes >> 20, h->t_restore);
	if (h->o->fixup) {
		fprintf(out, "  snapshot (as --downtime makes it): %.1f s\n", h->t_snapshot);
		fprintf(out, "  fixup: %.1f s\n", h->t_run);
	}
	for (size_t i = 0; i < h->result.n_steps; i++)
		fprintf(out, "  %-22s %7.2f s%s\n", h->result.steps[i].name, h->result.steps[i].seconds,
			h->result.steps[i].ok ? "" : "  FAILED");
	if (!h->o->fixup && h->result.checks)
		fprintf(out, "  plausibility checks: %zu run, %d failed\n", h->result.checks, h->result.checks_failed);
	if (h->run_rc == GM_OK)
		fprintf(out, "Result: the real run will succeed: the rehearsal passed every check%s.\n",
			h->o->fixup ? " (the result's schema hash)" : " (the result's schema hash, the plausibility checks)");
	else
		fprintf(out, "Result: the real run would FAIL: %s\n", h->run_err.message ? h->run_err.message : "?");
	if (h->o->fixup)
		fprintf(out, "Estimated downtime of the real run (--downtime): %.0f s = snapshot %.1f s + fixup %.1f s\n",
			x->total, x->clone, x->upgrade);
	else
		fprintf(out, "Estimated downtime of the real run: %.0f s = backup %.1f s + clone %.1f s + upgrade %.1f s + "
			     "checks %.1f s\n", x->total, x->backup, x->clone, x->upgrade, x->checks);
	fprintf(out, "  (with --downtime add the grace period for remote sessions, --grace, 60 s by default, and\n"
		     "  --announce's minutes; on a loaded server expect more)\n");
	fprintf(out, "Space the real run needs:\n");
	for (const char *l = h->space_lines.data; l && *l;) {
		const char *nl = strchr(l, '\n');
		fprintf(out, "  %.*s\n", (int)(nl ? nl - l : (long)strlen(l)), l);
		l = nl ? nl + 1 : NULL;
	}
	if (h->cleaned)
		fprintf(out, "Everything the rehearsal made is gone: its databases, roles and files.\n");
	else
		fprintf(out, "NOT everything the rehearsal made could be removed: %s\n",
			h->cleanup_problem ? h->cleanup_problem : "?");
}

static void print_json(const struct rehearsal *h, const struct estimate *x, int rc, const struct gm_error *err, FILE *out)
{
	fputs("{\n  \"rehearsal\": ", out);
	gm_json_string(out, h->o->fixup ? "fixup" : "upgrade");
	fprintf(out, ",\n  \"from\": %d,\n  \"to\": %d,\n  \"source\": ", h->from, h->to);
	gm_json_string(out, h->source);
	fprintf(out, ",\n  \"source_bytes\": %lld,\n  \"will_succeed\": %s,\n  \"run_error\": ", h->source_bytes,
		rc == GM_OK && h->run_rc == GM_OK ? "true" : "false");
	gm_json_string(out, h->run_rc < 0 ? h->run_err.message : NULL);
	fprintf(out, ",\n  \"copy\": {\"dump_seconds\": %.2f, \"dump_bytes\": %lld, \"restore_seconds\": %.2f, "
		     "\"copy_bytes\": %lld},\n  \"steps\": [", h->t_dump, h->dump_bytes, h->t_restore, h->copy_bytes);
	for (size_t i = 0; i < h->result.n_steps; i++) {
		fprintf(out, "%s\n    {\"step\": ", i ? "," : "");
		gm_json_string(out, h->result.steps[i].name);
		fprintf(out, ", \"seconds\": %.2f, \"result\": \"%s\"}", h->result.steps[i].seconds,
			h->result.steps[i].ok ? "ok" : "failed");
	}
	fprintf(out, "%s],\n  \"plausibility\": {\"checks\": %zu, \"failed\": %d},\n", h->result.n_steps ? "\n  " : "",
		h->result.checks, h->result.checks_failed);
	fprintf(out, "  \"estimate\": {\"backup_seconds\": %.2f, \"%s_seconds\": %.2f, \"%s_seconds\": %.2f, "
		     "\"checks_seconds\": %.2f, \"downtime_seconds\": %.2f},\n",
		x->backup, h->o->fixup ? "snapshot" : "clone", x->clone, h->o->fixup ? "fixup" : "upgrade", x->upgrade,
		x->checks, x->total);
	fprintf(out, "  \"space\": {\"measured\": %s, \"enough\": %s, \"total_bytes\": %llu, \"file_systems\": [",
		h->space.measured ? "true" : "false", h->space_enough ? "true" : "false", h->space.total);
	for (size_t i = 0; i < h->space.n_fs; i++) {
		const struct gm_space_fs *fs = &h->space.fs[i];
		fprintf(out, "%s\n    {\"path\": ", i ? "," : "");
		gm_json_string(out, fs->path);
		fprintf(out, ", \"free_bytes\": %llu, \"need_bytes\": %llu, \"margin_bytes\": %llu, \"parts\": ", fs->avail,
			fs->need, gm_space_margin(fs->need));
		gm_json_string(out, gm_buf_str(&fs->parts));
		fputc('}', out);
	}
	fputs(h->space.n_fs ? "\n  ]},\n  \"not_measured\": " : "]},\n  \"not_measured\": ", out);
	gm_json_string(out, h->space.not_measured);
	fprintf(out, ",\n  \"cleaned_up\": %s,\n  \"log_file\": ", h->cleaned ? "true" : "false");
	gm_json_string(out, gm_log_file_path());
	fputs(",\n  \"error\": ", out);
	gm_json_string(out, rc < 0 && err ? err->message : NULL);
	fputs("\n}\n", out);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

/* What the real run will write, and what the rehearsal itself writes. */
static int measure_space(struct rehearsal *h, struct gm_error *err)
{
	struct gm_space_opts real = { .database = h->source, .clone = !h->o->fixup, .changes = true,
				      .clone_tablespace = h->o->fixup ? NULL : h->e.tablespace };
	struct gm_space_opts mine = real;
	struct gm_space own;
	struct gm_error verr = GM_ERROR_INIT;
	struct gm_buf lines = GM_BUF_INIT;
	PGconn *c, *db = NULL;
	int rc = GM_EFAIL;

	if (!h->o->fixup && !h->o->no_backup) {
		real.backup_dir = h->o->backup_dir;
		real.backup_compress = h->o->backup_compress;
	}
	mine.clone = true;      /* the upgrade's clone, or the timed snapshot */
	mine.backup_dir = h->tmpdir;
	mine.backup_compress = h->o->backup_compress;
	mine.extra_copies = 1;  /* the copy */
	gm_space_init(&own);
	if ((c = gm_conn_open("template1", "gmdb rehearsal", err)) && (db = gm_conn_open(h->source, "gmdb rehearsal", err)))
		rc = gm_space_measure(c, db, &real, &h->space, err);
	if (rc == GM_OK)
		rc = gm_space_measure(c, db, &mine, &own, err);
	gm_conn_close(db);
	gm_conn_close(c);
	if (rc < 0)
		return rc;
	h->source_bytes = (long long)h->space.source_bytes;
	h->space_enough = gm_space_verdict(&h->space, &h->space_lines, &verr) == GM_OK;
	gm_error_release(&verr);
	rc = gm_space_verdict(&own, &lines, err);
	if (rc == GM_ECHECK) {
		gm_error_prefix(err, "no room for the rehearsal itself");
		gm_error_detail(err, "It writes a dump, a copy of the source, and what the run writes: %s", gm_buf_str(&lines));
	}
	gm_buf_release(&lines);
	gm_space_release(&own);
	return rc;
}

static int prepare(struct rehearsal *h, struct gm_error *err)
{
	const struct gm_rehearse_opts *o = h->o;
	char *conf;
	int rc;

	if (o->fixup) {
		struct gm_fixup_opts fo = { .upstream_dir = o->upstream_dir, .version = o->from, .database = o->database };
		int version = -1;
		rc = gm_fixup_resolve(&fo, &h->source, &version, err);
		if (rc < 0)
			return rc;
		h->from = h->to = version;
		conf = gm_xasprintf("fixup_db-v%d.conf", version);
		rc = gm_engine_prepare(&h->e, gm_upstream_dir(o->upstream_dir), conf, h->source, err);
	} else {
		conf = gm_xasprintf("update_db-v%d_v%d.conf", o->from, o->to);
		char *path = gm_xasprintf("%s/bootstrap/%s", gm_upstream_dir(o->upstream_dir), conf);
		if (access(path, R_OK) != 0)
			rc = gm_error_set(err, GM_EUSAGE, "upstream's tree has no upgrade from v%d to v%d (no %s)", o->from, o->to,
					  path);
		else if ((rc = gm_hashes_from_tree(gm_upstream_dir(o->upstream_dir), err)) == GM_OK)
			rc = gm_engine_prepare(&h->e, gm_upstream_dir(o->upstream_dir), conf, NULL, err);
		free(path);
		if (rc == GM_OK) {
			h->source = gm_xstrdup(h->e.template_db);
			h->target = gm_xstrdup(h->e.target);
			h->from = o->from;
			h->to = o->to;
		}
	}
	free(conf);
	return rc;
}

int gm_rehearse(const struct gm_rehearse_opts *o, struct gm_error *err)
{
	struct rehearsal h;
	struct estimate x;
	int rc;

	memset(&h, 0, sizeof(h));
	memset(&x, 0, sizeof(x));
	h.o = o;
	gm_engine_init(&h.e);
	gm_space_init(&h.space);
	if ((rc = gm_privs_drop(err)) < 0)
		return rc;
	gm_signals_install();
	h.copy = gm_xasprintf("gmdb_rehearsal_%ld", (long)getpid());
	h.copy_new = gm_xasprintf("gmdb_rehearsal_%ld_new", (long)getpid());
	{
		const char *tmp = getenv("TMPDIR");
		char *tmpl = gm_xasprintf("%s/gmdb-rehearsal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(tmpl)) {
			rc = gm_error_set(err, GM_EFAIL, "could not make a temporary directory %s: %s", tmpl, strerror(errno));
			free(tmpl);
			goto out;
		}
		h.tmpdir = tmpl;
		h.dump = gm_xasprintf("%s/dump", tmpl);
	}

	rc = prepare(&h, err);
	if (rc == GM_OK)
		rc = measure_space(&h, err);
	if (rc == GM_OK) {
		PGconn *c = gm_conn_open("template1", "gmdb rehearsal", err);
		rc = c ? role_snapshot(c, h.e.owner, &h.before, err) : GM_EFAIL;
		gm_conn_close(c);
	}
	if (rc == GM_OK)
		rc = gm_signals_check(err);
	if (rc == GM_OK)
		rc = make_copy(&h, err);
	if (rc == GM_OK)
		rc = gm_signals_check(err);
	if (rc == GM_OK && o->fixup)
		rc = time_snapshot(&h, err);
	if (rc == GM_OK) {
		double t = gm_now();
		gm_log(GM_LOG_PROGRESS, "running the real %s on the copy", o->fixup ? "fixup" : "upgrade");
		if (o->fixup) {
			struct gm_fixup_opts fo = { .upstream_dir = o->upstream_dir, .version = h.from, .database = h.copy,
						    .jobs = o->jobs };
			h.run_rc = gm_fixup_run(&fo, &h.run_err);
		} else {
			struct gm_upgrade_opts uo = { .upstream_dir = o->upstream_dir, .from = h.from, .to = h.to,
						      .no_backup = true, .yes = true, .ignore_checks = o->ignore_checks,
						      .source_db = h.copy, .target_db = h.copy_new, .result = &h.result,
						      .jobs = o->jobs };
			h.run_rc = gm_upgrade_run(&uo, &h.run_err);
		}
		h.t_run = gm_now() - t;
		gm_log(GM_LOG_PROGRESS, "the rehearsed %s %s", o->fixup ? "fixup" : "upgrade",
		       h.run_rc == GM_OK ? "passed every check" : "failed");
		/* a signal is the rehearsal's end, not a verdict on the real run */
		if (h.run_rc < 0 && gm_signals_caught())
			rc = gm_error_set(err, GM_EFAIL, "interrupted by signal %d", gm_signals_caught());
	}
out:
	if (h.tmpdir)
		cleanup(&h);
	estimate(&h, &x);
	if (rc == GM_OK && !o->json)
		print_text(&h, &x, stdout);
	if (o->json)
		print_json(&h, &x, rc, err, stdout);
	if (rc == GM_OK && !h.cleaned) {
		rc = gm_error_set(err, GM_EFAIL, "the rehearsal could not remove everything it made: %s", h.cleanup_problem);
		gm_error_hint(err, "Drop the databases \"%s\" and \"%s\" if they are left (dropdb), and the directory %s.",
			      h.copy, h.copy_new, h.tmpdir ? h.tmpdir : "?");
	} else if (rc == GM_OK && h.run_rc < 0) {
		rc = gm_error_set(err, GM_ECHECK, "the rehearsal failed, so would the real run: %s",
				  h.run_err.message ? h.run_err.message : "?");
		if (h.run_err.detail)
			gm_error_detail(err, "%s", h.run_err.detail);
		gm_error_hint(err, "Nothing of the source was changed, and everything the rehearsal made is gone. Fix the "
				   "cause (the log says more) and rehearse again.");
	}
	gm_engine_release(&h.e);
	gm_space_release(&h.space);
	gm_buf_release(&h.space_lines);
	gm_upgrade_result_release(&h.result);
	gm_error_release(&h.run_err);
	role_state_release(&h.before);
	free(h.source);
	free(h.target);
	free(h.copy);
	free(h.copy_new);
	free(h.tmpdir);
	free(h.dump);
	free(h.cleanup_problem);
	return rc;
}
