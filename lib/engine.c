/*
 * engine.c - upstream's step definitions, executed the way upstream's engine
 * (bootstrap_gm_db_system.py) executes them: spec sections 2, 5, 6 and 7
 *
 * One conf (update_db-vX_vY.conf or fixup_db-vN.conf) describes one target
 * database: its bundles of SQL files, and the steps around them. The engine
 * reads and checks the whole definition first (gm_engine_prepare: nothing
 * is touched), then runs the steps in upstream's order (gm_engine_run).
 */
#include "gmdb-int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Reading the definition                                              */
/* ------------------------------------------------------------------ */

const char *gm_upstream_dir(const char *given)
{
	const char *env = getenv("GMDB_UPSTREAM_DIR");
	if (given && *given)
		return given;
	return env && *env ? env : GM_UPSTREAM_DIR;
}

void gm_engine_init(struct gm_engine *e)
{
	memset(e, 0, sizeof(*e));
	e->template_version = -1;
	e->target_version = -1;
}

static void free_files(struct gm_engine_files *f)
{
	gm_strv_release(&f->paths);
	gm_strv_release(&f->names);
	free(f->label);
}

void gm_engine_release(struct gm_engine *e)
{
	if (!e)
		return;
	gm_conn_close(e->conn);
	gm_pyimport_free(e->pyimport);
	gm_conf_free(e->conf);
	free(e->upstream_dir);
	free(e->bootstrap_dir);
	free(e->conf_path);
	free(e->target);
	free(e->template_db);
	free(e->group_source);
	free(e->group_target);
	free(e->server_template);
	free(e->owner);
	free(e->db_section);
	gm_strv_release(&e->groups);
	free_files(&e->superuser_files);
	free_files(&e->db_files);
	for (size_t i = 0; i < e->n_bundles; i++) {
		free_files(&e->bundles[i].files);
		free(e->bundles[i].name);
		free(e->bundles[i].min_pg);
	}
	free(e->bundles);
	free(e->script_dir);
	gm_strv_release(&e->scripts);
	gm_strv_release(&e->checks);
	free(e->tablespace);
	gm_engine_init(e);
}

static const char *cfg(const struct gm_engine *e, const char *group, const char *key)
{
	return gm_conf_get(e->conf, group, key);
}

static int need(const struct gm_engine *e, const char *group, const char *key, const char **out,
		struct gm_error *err)
{
	*out = cfg(e, group, key);
	if (*out)
		return GM_OK;
	return gm_error_set(err, GM_ECHECK, "the definition \"%s\" lacks \"%s\" in [%s]", e->conf_path, key, group);
}

/* Upstream converts these with int(): a non-integer is a definition error. */
static int cfg_int(const struct gm_engine *e, const char *group, const char *key, int dflt, int *out,
		   struct gm_error *err)
{
	const char *v = cfg(e, group, key);
	char *end;
	long n;

	*out = dflt;
	if (!v)
		return GM_OK;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < INT_MIN || n > INT_MAX)
		return gm_error_set(err, GM_ECHECK, "the definition \"%s\" has a non-integer \"%s\" in [%s]: \"%s\"",
				    e->conf_path, key, group, v);
	*out = (int)n;
	return GM_OK;
}

/* "v21" -> 21; "devel" -> -2 (allowed only where said). */
static int parse_version(const char *v, bool allow_devel, int *out)
{
	if (allow_devel && strcmp(v, "devel") == 0) {
		*out = -2;
		return GM_OK;
	}
	while (*v == 'v')
		v++;
	return gm_parse_uint(v, 9999, out);
}

/* A path as upstream resolves it: relative to its working directory, which
 * the Debian wrappers make the bootstrap directory. */
static char *resolve(const struct gm_engine *e, const char *base, const char *item)
{
	if (item[0] == '/')
		return gm_xstrdup(item);
	if (!base || !*base)
		return gm_xasprintf("%s/%s", e->bootstrap_dir, item);
	if (base[0] == '/')
		return gm_xasprintf("%s/%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", item);
	return gm_xasprintf("%s/%s%s%s", e->bootstrap_dir, base, base[strlen(base) - 1] == '/' ? "" : "/", item);
}

/* Upstream's fallback when a group has no "schema base directory"
 * (spec 1.7): the last existing of ./sql, ../sql, the FHS path and
 * $GNUMED_DIR/server/sql wins. */
static char *fallback_base(const struct gm_engine *e)
{
	char *best = NULL, *p;
	struct stat st;
	const char *gd = getenv("GNUMED_DIR");

	p = gm_xasprintf("%s/sql", e->bootstrap_dir);
	if (stat(p, &st) == 0)
		best = gm_xstrdup(".");
	free(p);
	p = gm_xasprintf("%s/../sql", e->bootstrap_dir);
	if (stat(p, &st) == 0) {
		free(best);
		best = gm_xstrdup("..");
	}
	free(p);
	if (stat("/usr/share/gnumed/server/sql", &st) == 0) {
		free(best);
		best = gm_xstrdup("/usr/share/gnumed/server");
	}
	if (gd) {
		p = gm_xasprintf("%s/server/sql", gd);
		if (stat(p, &st) == 0) {
			free(best);
			best = gm_xasprintf("%s/server", gd);
		}
		free(p);
	}
	return best;
}

/* Read a schema list (spec 1.3: empty items and "# " comments skipped). */
static int read_files(struct gm_engine *e, const char *group, const char *key, struct gm_engine_files *f,
		      bool required, struct gm_error *err)
{
	const struct gm_strv *list = gm_conf_get_list(e->conf, group, key);
	const char *base = cfg(e, group, "schema base directory");
	char *fb = NULL;

	f->label = gm_xasprintf("[%s] %s", group, key);
	if (!list) {
		if (cfg(e, group, key))
			return gm_error_set(err, GM_ECHECK, "the definition \"%s\" has \"%s\" in [%s] as a value, not a list",
					    e->conf_path, key, group);
		if (required)
			return gm_error_set(err, GM_ECHECK, "the definition \"%s\" lacks \"%s\" in [%s]", e->conf_path,
					    key, group);
		return GM_OK;
	}
	f->present = true;
	if (!base && list->n) {
		base = fb = fallback_base(e);
		if (!fb) {
			return gm_error_set(err, GM_ECHECK, "the definition \"%s\" has no \"schema base directory\" in [%s] "
					    "and no SQL directory was found", e->conf_path, group);
		}
	}
	for (size_t i = 0; i < list->n; i++) {
		const char *item = list->v[i];
		const char *s = item;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || strncmp(item, "# ", 2) == 0)
			continue;
		gm_strv_push(&f->names, item);
		gm_strv_push_owned(&f->paths, resolve(e, base, item));
	}
	free(fb);
	return GM_OK;
}

static int check_files_readable(const struct gm_engine_files *f, struct gm_error *err)
{
	for (size_t i = 0; i < f->paths.n; i++)
		if (access(f->paths.v[i], R_OK) != 0)
			return gm_error_set(err, GM_ECHECK, "cannot read SQL file \"%s\" (listed in %s): %s",
					    f->paths.v[i], f->label, strerror(errno));
	return GM_OK;
}

int gm_engine_prepare(struct gm_engine *e, const char *upstream_dir, const char *conf_name,
		      const char *target_override, struct gm_error *err)
{
	const struct gm_strv *bundles;
	const char *v, *db_alias = NULL, *srv_alias = NULL, *owner_alias, *su_alias;
	char *section;
	bool cluster;
	int rc;

	e->upstream_dir = gm_xstrdup(upstream_dir ? upstream_dir : gm_upstream_dir(NULL));
	e->bootstrap_dir = gm_xasprintf("%s/bootstrap", e->upstream_dir);
	e->conf_path = strchr(conf_name, '/') ? gm_xstrdup(conf_name)
					      : gm_xasprintf("%s/%s", e->bootstrap_dir, conf_name);
	if (access(e->bootstrap_dir, R_OK | X_OK) != 0) {
		gm_error_set(err, GM_EUSAGE, "no upstream tree at \"%s\": %s", e->upstream_dir, strerror(errno));
		gm_error_hint(err, "Install gnumed-server, or name the tree with --upstream-dir.");
		return GM_EUSAGE;
	}
	/* the guard: only an engine and a definition format gmdb knows */
	rc = gm_generation_recognise(e->upstream_dir, &e->generation, err);
	if (rc < 0)
		return rc;
	rc = gm_conf_load(e->conf_path, &e->conf, err);
	if (rc < 0)
		return rc;
	rc = gm_generation_check_conf(e->generation, e->conf, err);
	if (rc < 0)
		return rc;
	if (gm_conf_get_list(e->conf, "installation", "config files"))
		return gm_error_set(err, GM_ECHECK, "\"%s\" aggregates other definitions (\"config files\"): "
				    "run its parts one by one", e->conf_path);
	bundles = gm_conf_get_list(e->conf, "installation", "bundles");
	if (!bundles || bundles->n == 0)
		return gm_error_set(err, GM_ECHECK, "the definition \"%s\" lists no bundles", e->conf_path);

	/* bundles: all of them go to one database */
	e->bundles = gm_xcalloc(bundles->n, sizeof(*e->bundles));
	for (size_t i = 0; i < bundles->n; i++) {
		struct gm_engine_bundle *b = &e->bundles[e->n_bundles++];
		const char *alias, *minpg;
		b->name = gm_xstrdup(bundles->v[i]);
		section = gm_xasprintf("bundle %s", b->name);
		rc = need(e, section, "database alias", &alias, err);
		if (rc == GM_OK && db_alias && strcmp(alias, db_alias) != 0)
			rc = gm_error_set(err, GM_ECHECK, "the bundles of \"%s\" go to more than one database", e->conf_path);
		if (rc == GM_OK) {
			db_alias = alias;
			rc = need(e, section, "minimum postgresql version", &minpg, err);
		}
		if (rc == GM_OK) {
			b->min_pg = gm_xstrdup(minpg);
			rc = read_files(e, section, "schema", &b->files, true, err);
		}
		free(section);
		if (rc < 0)
			return rc;
	}

	/* the database */
	e->db_section = gm_xasprintf("database %s", db_alias);
	if ((rc = need(e, e->db_section, "name", &v, err)) < 0)
		return rc;
	{
		/* upstream: "override name by = GM_CORE_DB" names an environment
		 * variable whose value, if set, replaces the database name */
		const char *by = gm_conf_get(e->conf, e->db_section, "override name by");
		const char *env = by && *by ? getenv(by) : NULL;
		if (!target_override && env && *env) {
			gm_log(GM_LOG_NOTICE, "database name \"%s\" from $%s instead of \"%s\", as upstream's definition says",
			       env, by, v);
			v = env;
		}
	}
	e->target = gm_xstrdup(target_override ? target_override : v);
	if (!*e->target)
		return gm_error_set(err, GM_ECHECK, "the definition \"%s\" has an empty database name", e->conf_path);
	/* master's format names the source database "source database/version"
	 * and has one [cluster]; 22.x's "template database/version" and a
	 * [server ALIAS] */
	cluster = gm_generation_has(e->generation, GM_GEN_CLUSTER_FORMAT);
	if ((!cluster && (rc = need(e, e->db_section, "server alias", &srv_alias, err)) < 0) ||
	    (rc = need(e, e->db_section, cluster ? "source database" : "template database", &v, err)) < 0)
		return rc;
	e->template_db = gm_xstrdup(v);
	if ((v = cfg(e, e->db_section, cluster ? "source version" : "template version"))) {
		if (parse_version(v, false, &e->template_version) < 0)
			return gm_error_set(err, GM_ECHECK, "invalid template version \"%s\" in \"%s\"", v, e->conf_path);
		if (!gm_hash_for_version(e->template_version))
			return gm_error_set(err, GM_ECHECK, "no known schema hash for template version \"%s\"", v);
	}
	if ((rc = need(e, e->db_section, "target version", &v, err)) < 0)
		return rc;
	if (parse_version(v, true, &e->target_version) < 0 ||
	    (e->target_version != -2 && e->target_version < 2))
		return gm_error_set(err, GM_ECHECK, "invalid target version \"%s\" in \"%s\"", v, e->conf_path);
	if (e->target_version >= 0 && !gm_hash_for_version(e->target_version))
		return gm_error_set(err, GM_ECHECK, "no known schema hash for target version \"%s\"", v);
	if ((rc = cfg_int(e, e->db_section, "drop target database", 0, &e->drop_target, err)) < 0 ||
	    (rc = cfg_int(e, e->db_section, "use existing target database", 0, &e->use_existing, err)) < 0 ||
	    (rc = cfg_int(e, e->db_section, "reindex", 1, &e->reindex, err)) < 0 ||
	    (rc = cfg_int(e, e->db_section, "revalidate", 1, &e->revalidate, err)) < 0 ||
	    (rc = cfg_int(e, e->db_section, "audit disable", 0, &e->audit_disable, err)) < 0)
		return rc;
	e->transfer_users = -1;
	if (cfg(e, e->db_section, "transfer users") &&
	    (rc = cfg_int(e, e->db_section, "transfer users", 0, &e->transfer_users, err)) < 0)
		return rc;
	if (cfg(e, e->db_section, "tablespace"))
		e->tablespace = gm_xstrdup(cfg(e, e->db_section, "tablespace"));
	if (!e->audit_disable && !cluster) {
		const char *keys[] = { "audit trail parent table", "audit trail table prefix", "audit fields table" };
		for (size_t i = 0; i < 3; i++)
			if ((rc = need(e, e->db_section, keys[i], &v, err)) < 0)
				return rc;
	}
	if ((rc = read_files(e, e->db_section, "superuser schema", &e->superuser_files, false, err)) < 0 ||
	    (rc = read_files(e, e->db_section, "schema", &e->db_files, true, err)) < 0)
		return rc;

	/* data import scripts */
	{
		const struct gm_strv *scripts = gm_conf_get_list(e->conf, e->db_section, "data import scripts");
		if (scripts && scripts->n) {
			if ((rc = need(e, e->db_section, "script base directory", &v, err)) < 0)
				return rc;
			e->script_dir = v[0] == '/' ? gm_xstrdup(v) : gm_xasprintf("%s/%s", e->bootstrap_dir, v);
			for (size_t i = 0; i < scripts->n; i++)
				gm_strv_push(&e->scripts, scripts->v[i]);
		}
	}

	/* plausibility checks: pairs */
	{
		const struct gm_strv *checks = gm_conf_get_list(e->conf, e->db_section, "upgrade plausibility checks");
		struct gm_strv items = GM_STRV_INIT;
		if (checks && cluster) {
			/* master drops its "--" comment lines before pairing */
			gm_plausibility_master_items(checks, &items);
			checks = &items;
		}
		if (checks) {
			e->has_checks = true;
			if (checks->n % 2) {
				rc = gm_error_set(err, GM_ECHECK, "the definition \"%s\" has an odd number of plausibility "
						  "check items (%zu)", e->conf_path, checks->n);
				gm_strv_release(&items);
				return rc;
			}
			for (size_t i = 0; i < checks->n; i++)
				gm_strv_push(&e->checks, checks->v[i]);
		}
		gm_strv_release(&items);
	}

	if (cluster) {
		/* master: the maintenance database of [cluster] (template1 when
		 * empty, as master's upgrade-db.sh has it); the owner is gm-dbo,
		 * and "gm-logins" is a group whatever [GnuMed defaults] lists */
		const struct gm_strv *groups = gm_conf_get_list(e->conf, "GnuMed defaults", "groups");
		v = cfg(e, "cluster", "maintenance database");
		if (!cfg(e, "cluster", "host name") && !v)
			return gm_error_set(err, GM_ECHECK, "the definition \"%s\" has no [cluster]", e->conf_path);
		e->server_template = gm_xstrdup(v && *v ? v : "template1");
		e->owner = gm_xstrdup("gm-dbo");
		for (size_t i = 0; groups && i < groups->n; i++)
			gm_strv_push(&e->groups, groups->v[i]);
		{
			bool has = false;
			for (size_t i = 0; i < e->groups.n; i++)
				has = has || strcmp(e->groups.v[i], "gm-logins") == 0;
			if (!has)
				gm_strv_push(&e->groups, "gm-logins");
		}
		return GM_OK;
	}

	/* server and users */
	section = gm_xasprintf("server %s", srv_alias);
	rc = need(e, section, "template database", &v, err);
	if (rc == GM_OK)
		e->server_template = gm_xstrdup(v);
	if (rc == GM_OK)
		rc = need(e, section, "super user alias", &su_alias, err);
	free(section);
	if (rc < 0)
		return rc;
	if ((rc = need(e, "GnuMed defaults", "database owner alias", &owner_alias, err)) < 0)
		return rc;
	section = gm_xasprintf("user %s", owner_alias);
	rc = need(e, section, "name", &v, err);
	free(section);
	if (rc < 0)
		return rc;
	e->owner = gm_xstrdup(v);
	if (gm_generation_admin_grants(e->generation) && strcmp(e->owner, "gm-dbo") != 0) {
		/* 22.35's engine names the owner gm-dbo whatever the definition says */
		gm_log(GM_LOG_NOTICE, "the definition names the owner \"%s\"; %s's engine uses \"gm-dbo\", so does gmdb",
		       e->owner, gm_generation_name(e->generation));
		free(e->owner);
		e->owner = gm_xstrdup("gm-dbo");
	}
	{
		const struct gm_strv *groups = gm_conf_get_list(e->conf, "GnuMed defaults", "groups");
		for (size_t i = 0; groups && i < groups->n; i++)
			gm_strv_push(&e->groups, groups->v[i]);
		gm_strv_push(&e->groups, e->target);
	}
	return GM_OK;
}

const char *gm_engine_group_source(const struct gm_engine *e)
{
	return e->group_source ? e->group_source : e->template_db;
}

const char *gm_engine_group_target(const struct gm_engine *e)
{
	return e->group_target ? e->group_target : e->target;
}

int gm_engine_check_files(const struct gm_engine *e, struct gm_error *err)
{
	int rc = check_files_readable(&e->superuser_files, err);
	if (rc == GM_OK)
		rc = check_files_readable(&e->db_files, err);
	for (size_t i = 0; rc == GM_OK && i < e->n_bundles; i++)
		rc = check_files_readable(&e->bundles[i].files, err);
	for (size_t i = 0; rc == GM_OK && i < e->scripts.n; i++) {
		const char *n = e->scripts.v[i];
		size_t len = strlen(n);
		char *p = gm_xasprintf("%s/%s%s", e->script_dir, n, len > 3 && strcmp(n + len - 3, ".py") == 0 ? "" : ".py");
		if (access(p, R_OK) != 0)
			rc = gm_error_set(err, GM_ECHECK, "cannot read data import script \"%s\": %s", p, strerror(errno));
		free(p);
	}
	return rc;
}

void gm_engine_print_list(const struct gm_engine *e, FILE *out)
{
	for (size_t i = 0; i < e->superuser_files.paths.n; i++)
		fprintf(out, "superuser\t%s\n", e->superuser_files.paths.v[i]);
	for (size_t i = 0; i < e->db_files.paths.n; i++)
		fprintf(out, "owner\t%s\n", e->db_files.paths.v[i]);
	for (size_t b = 0; b < e->n_bundles; b++)
		for (size_t i = 0; i < e->bundles[b].files.paths.n; i++)
			fprintf(out, "%s\t%s\n", e->bundles[b].name, e->bundles[b].files.paths.v[i]);
	if (!e->audit_disable)
		fprintf(out, "audit\t(generated from audit.audited_tables)\n");
	for (size_t i = 0; i < e->scripts.n; i++)
		fprintf(out, "import\t%s/%s\n", e->script_dir, e->scripts.v[i]);
}

/* ------------------------------------------------------------------ */
/* Steps                                                               */
/* ------------------------------------------------------------------ */

/* The end of 22.35's and master's role steps: what is open committed, then
 * every group granted to the owner WITH ADMIN OPTION, in one transaction. */
static int grant_groups_with_admin(struct gm_engine *e, PGconn *c, struct gm_error *err)
{
	int rc = gm_session_commit(c, err);
	if (rc == GM_OK)
		rc = gm_session_begin(c, err);
	for (size_t i = 0; rc == GM_OK && i < e->groups.n; i++)
		rc = gm_session_execf(c, err, "GRANT %I TO %I WITH ADMIN OPTION", e->groups.v[i], e->owner);
	if (rc == GM_OK)
		rc = gm_session_commit(c, err);
	return rc;
}

/* Spec 2.3 step 3: locale check, standard groups, the owner's memberships. */
int gm_engine_bootstrap_server(struct gm_engine *e, struct gm_error *err)
{
	PGconn *c;
	char *ctype = NULL, *lower;
	int rc = GM_OK;
	const char *p[1];

	c = gm_session_open(e->server_template, "root@template.server", err);
	if (!c)
		return GM_EFAIL;
	/* upstream reads lc_ctype from pg_settings, which PostgreSQL 16 removed:
	 * pg_database has it on every version */
	p[0] = e->server_template;
	rc = gm_db_value(c, "SELECT datctype FROM pg_catalog.pg_database WHERE datname = $1", 1, p, &ctype, err);
	if (rc == GM_OK && ctype) {
		lower = gm_xstrdup(ctype);
		for (char *s = lower; *s; s++)
			*s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		size_t n = strlen(lower);
		if (strcmp(lower, "c") == 0 || strcmp(lower, "posix") == 0) {
			gm_log(GM_LOG_WARNING, "the cluster's LC_CTYPE is \"%s\": it works, but sorts without locale", ctype);
		} else if (!(n > 6 && strcmp(lower + n - 6, ".utf-8") == 0) && !(n > 5 && strcmp(lower + n - 5, ".utf8") == 0)) {
			char *enc = NULL;
			gm_db_value(c, "SELECT pg_catalog.current_setting('server_encoding')", 0, NULL, &enc, NULL);
			if (!enc || (strcasecmp(enc, "utf8") != 0 && strcasecmp(enc, "utf-8") != 0))
				rc = gm_error_set(err, GM_ECHECK, "the cluster's LC_CTYPE \"%s\" and encoding \"%s\" cannot hold "
						  "GNUmed's UTF-8 databases", ctype, enc ? enc : "?");
			free(enc);
		}
		free(lower);
	}
	free(ctype);
	if (rc == GM_OK)
		rc = gm_session_exec(c, "set lc_messages to 'C'", err);
	/* groups: [GnuMed defaults] groups and the database's own */
	for (size_t i = 0; rc == GM_OK && i < e->groups.n; i++) {
		char *exists = NULL;
		p[0] = e->groups.v[i];
		rc = gm_session_begin(c, err);
		if (rc == GM_OK)
			rc = gm_db_value(c, "SELECT count(*) FROM pg_catalog.pg_group WHERE groname = $1", 1, p, &exists, err);
		if (rc == GM_OK && strcmp(exists, "0") == 0) {
			gm_log(GM_LOG_NOTICE, "creating group role \"%s\"", e->groups.v[i]);
			rc = gm_session_execf(c, err, "create group %I", e->groups.v[i]);
		}
		free(exists);
	}
	if (rc == GM_OK)
		rc = gm_session_commit(c, err);
	/* the owner */
	if (rc == GM_OK) {
		char *exists = NULL;
		p[0] = e->owner;
		rc = gm_session_begin(c, err);
		if (rc == GM_OK)
			rc = gm_db_value(c, "SELECT count(*) FROM pg_catalog.pg_user WHERE usename = $1", 1, p, &exists, err);
		if (rc == GM_OK && strcmp(exists, "0") == 0) {
			rc = gm_error_set(err, GM_ECHECK, "the database owner \"%s\" does not exist", e->owner);
			gm_error_hint(err, "An upgrade or fixup needs the owner role of an existing GNUmed installation.");
		} else if (rc == GM_OK && gm_generation_roles(e->generation) == GM_ROLES_ADMIN_MASTER) {
			/* master's __create_gm_dbo(): one batch, "gm-logins" to the
			 * superuser it connects as; then __setup_groups(admin_role =
			 * gm-dbo) grants every group (gm-logins too) again WITH ADMIN
			 * OPTION */
			rc = gm_session_execf(c, err, "GRANT \"gm-logins\" TO %I", gm_conn_user());
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "GRANT \"gm-logins\" TO %I WITH ADMIN OPTION", e->owner);
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "ALTER ROLE %I CREATEDB CREATEROLE", e->owner);
			if (rc == GM_OK)
				rc = grant_groups_with_admin(e, c, err);
		} else if (rc == GM_OK && gm_generation_admin_grants(e->generation)) {
			/* 22.35's: a statement at a time in one transaction, the
			 * superuser named "postgres" whoever runs it; then every group
			 * (the target's too) granted to the owner WITH ADMIN OPTION */
			rc = gm_session_execf(c, err, "GRANT \"gm-logins\" TO \"postgres\"");
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "ALTER ROLE %I CREATEDB CREATEROLE LOGIN", e->owner);
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "GRANT \"gm-logins\" TO %I WITH ADMIN OPTION", e->owner);
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "GRANT %I TO %I WITH ADMIN OPTION", gm_engine_group_target(e), e->owner);
			if (rc == GM_OK)
				rc = grant_groups_with_admin(e, c, err);
		} else if (rc == GM_OK) {
			/* upstream's batch, a statement at a time in the same transaction */
			rc = gm_session_execf(c, err, "alter group \"gm-logins\" add user %I", gm_conn_user());
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "alter group \"gm-logins\" add user %I", e->owner);
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "alter group %I add user %I", gm_engine_group_target(e), e->owner);
			if (rc == GM_OK)
				rc = gm_session_execf(c, err, "alter role %I createdb createrole", e->owner);
			if (rc == GM_OK)
				rc = gm_session_commit(c, err);
		}
		free(exists);
	}
	if (rc < 0)
		gm_error_prefix(err, "could not prepare the roles");
	gm_conn_close(c);
	return rc;
}

/* Spec 2.3 step 7, run when C3 and C4 open. */
static int database_settings(struct gm_engine *e, PGconn *c, struct gm_error *err)
{
	const char *settings[] = {
		"alter database %I set lc_messages to 'C'",
		"alter database %I set default_transaction_read_only to on",
		"alter database %I set check_function_bodies to on",
		"alter database %I set ignore_checksum_failure to off",
	};
	int rc = gm_session_exec(c, "set default_transaction_read_only to off", err);
	if (rc == GM_OK)
		rc = gm_session_exec(c, "set lc_messages to 'C'", err);
	for (size_t i = 0; rc == GM_OK && i < 4; i++) {
		/* upstream interpolates the name unquoted; quoted, it names the same
		 * database wherever upstream's statement works at all */
		rc = gm_session_execf(c, err, settings[i], e->target);
	}
	if (rc == GM_OK)
		rc = gm_session_exec(c, "revoke create on schema public from public", err);
	if (rc == GM_OK)
		rc = gm_session_commit(c, err);
	if (rc < 0) {
		gm_error_prefix(err, "could not apply the database settings to \"%s\"", e->target);
		return rc;
	}
	/* Upstream's three attempts whose failure is only logged. The first two
	 * always fail on the servers gmdb supports (sql_inheritance is gone since
	 * PostgreSQL 10, track_commit_timestamp cannot be set per database), so
	 * they are tried the same way and end the same way. */
	const char *attempts[] = {
		"alter database %I set sql_inheritance to DEFAULT",
		"alter database %I set track_commit_timestamp to on",
		"alter schema public owner to pg_database_owner",
	};
	for (size_t i = 0; i < 3; i++) {
		struct gm_error ignored = GM_ERROR_INIT;
		if (gm_session_execf(c, &ignored, attempts[i], e->target) < 0) {
			gm_log(GM_LOG_INFO, "as upstream expects, this failed: %s", ignored.message);
			gm_session_rollback(c);
		} else {
			gm_session_commit(c, NULL);
		}
		gm_error_release(&ignored);
	}
	return GM_OK;
}

static int ensure_group(PGconn *c, const char *name, struct gm_error *err)
{
	const char *p[1] = { name };
	char *n = NULL;
	int rc = gm_session_begin(c, err);
	if (rc == GM_OK)
		rc = gm_db_value(c, "SELECT count(*) FROM pg_catalog.pg_group WHERE groname = $1", 1, p, &n, err);
	if (rc == GM_OK && strcmp(n, "0") == 0) {
		rc = gm_session_execf(c, err, "create group %I", name);
	}
	free(n);
	if (rc == GM_OK)
		rc = gm_session_commit(c, err);
	return rc;
}

/* Run a list of files with one runner; st (may be NULL): the step whose
 * progress line (on a terminal, at most once a second) names the file. */
static int run_files(struct gm_engine *e, PGconn *c, const struct gm_engine_files *f, struct gm_step *st,
		     struct gm_error *err)
{
	struct gm_runner *r;
	int rc = GM_OK;

	if (!f->present)
		return GM_OK;
	r = gm_runner_new(c);
	gm_runner_set_dialect(r, gm_generation_sql_dialect(e->generation));
	if (e->rewrite)
		gm_runner_set_rewrite(r, e->rewrite, e->rewrite_data);
	for (size_t i = 0; rc == GM_OK && i < f->paths.n; i++) {
		double t0 = gm_now();
		if (st)
			gm_step_progress(st, "file %zu of %zu: %s", i + 1, f->paths.n, f->names.v[i]);
		gm_log(GM_LOG_INFO, "running %s", f->paths.v[i]);
		rc = gm_runner_run_file(r, f->paths.v[i], err);
		gm_log(GM_LOG_INFO, "%s: %s (%.2f s)", f->names.v[i], rc == GM_OK ? "done" : "failed", gm_now() - t0);
		if (e->progress)
			e->progress(e->progress_data, f->names.v[i]);
	}
	{
		long n = 0, ignored = 0;
		gm_runner_stats(r, &n, &ignored);
		e->statements += n;
		e->ignored_errors += ignored;
	}
	gm_runner_free(r);
	return rc;
}

/*
 * The constraint revalidation of upstream's step 10. Upstream runs one DO
 * block as the superuser that marks every CHECK and FOREIGN KEY constraint
 * not validated and validates it again, and leaves it uncommitted: the
 * next commit on that connection (a superuser file's statement, the user
 * transfer) makes it durable, else it is rolled back and only its check
 * remains (a fixup).
 *
 * Validating runs the constraints' expressions, and with them functions
 * the database owner wrote: as the superuser, they could make themselves
 * one. gmdb has the superuser change only the catalog flag and validates
 * each constraint on a connection of its table's owner (lib/owner.c):
 * flags off (committed), ALTER TABLE ... VALIDATE CONSTRAINT as each
 * owner, and where upstream's block would be rolled back, the flags of
 * the constraints that were not validated before set back. The end is
 * upstream's; a crash in between leaves flags, not data, changed (the next
 * run validates them again). Tables a superuser owns are validated by the
 * superuser, unless a constraint of theirs uses a function or operator
 * somebody else owns: then the run stops.
 */
static int revalidate(struct gm_engine *e, PGconn *c, bool keep, struct gm_error *err)
{
	PGresult *res = NULL, *bad = NULL;
	struct gm_buf was_off = GM_BUF_INIT;
	PGconn *oc = NULL;
	char *oc_role = NULL;
	int rc = GM_OK, flipped = 0;

	bad = gm_session_query(c, gm_sql("revalidate-superuser-deps"), 0, NULL, err);
	if (!bad)
		return GM_EFAIL;
	if (PQntuples(bad) > 0) {
		rc = gm_error_set(err, GM_ECHECK, "constraint \"%s\" of \"%s\", a superuser's table, uses %s, which \"%s\" owns",
				  PQgetvalue(bad, 0, 0), PQgetvalue(bad, 0, 1), PQgetvalue(bad, 0, 2), PQgetvalue(bad, 0, 3));
		gm_error_hint(err, "Validating it as the superuser would run that code with all rights; look at it.");
		PQclear(bad);
		return rc;
	}
	PQclear(bad);
	res = gm_session_query(c, gm_sql("revalidate-constraints"), 0, NULL, err);
	if (!res)
		return GM_EFAIL;
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 6), "f") == 0) {
			gm_buf_adds(&was_off, was_off.len ? "," : "{");
			gm_buf_adds(&was_off, PQgetvalue(res, i, 0));
		}
	gm_buf_adds(&was_off, was_off.len ? "}" : "{}");
	/* the superuser's part: the flags */
	rc = gm_session_exec(c, "UPDATE pg_catalog.pg_constraint SET convalidated = false "
				"WHERE contype OPERATOR(pg_catalog.=) ANY (ARRAY['c', 'f']::pg_catalog.\"char\"[])", err);
	if (rc == GM_OK)
		rc = gm_session_commit(c, err);
	if (rc == GM_OK)
		flipped = 1;
	/* the owners' part: the validation, each table's constraints as its owner */
	for (int i = 0; rc == GM_OK && i < PQntuples(res); i++) {
		const char *nsp = PQgetvalue(res, i, 1), *rel = PQgetvalue(res, i, 2), *con = PQgetvalue(res, i, 3);
		const char *owner = PQgetvalue(res, i, 4);
		bool super = strcmp(PQgetvalue(res, i, 5), "t") == 0;
		PGconn *vc = c;
		gm_log(GM_LOG_DEBUG, "validating [%s] on [%s.%s] as \"%s\"", con, nsp, rel, super ? gm_conn_user() : owner);
		if (!super) {
			if (!oc || strcmp(oc_role, owner) != 0) {
				gm_conn_close(oc);
				free(oc_role);
				oc_role = gm_xstrdup(owner);
				oc = gm_owner_session(e->target, owner, "postgres@gnumed_vX", err);
				if (!oc) {
					rc = GM_EFAIL;
					break;
				}
				rc = gm_session_exec(oc, "set default_transaction_read_only to off", err);
				if (rc == GM_OK)
					rc = gm_session_commit(oc, err);
			}
			vc = oc;
		}
		/* a signal (lib/signals.c) cancels the validation running and
		 * stops before the next: its owner's transaction rolls back,
		 * and the flags are put back below */
		if (rc == GM_OK)
			rc = gm_signals_check(err);
		if (rc == GM_OK) {
			if (vc != c)
				gm_signals_watch(vc);
			rc = gm_session_execf(vc, err, "ALTER TABLE %I.%I VALIDATE CONSTRAINT %I", nsp, rel, con);
			if (vc != c)
				gm_signals_watch(c);
			if (rc < 0 && gm_signals_caught())
				gm_signals_check(err);
		}
		/* one transaction per owner, as upstream's is one */
		if (rc == GM_OK && (i + 1 == PQntuples(res) || strcmp(PQgetvalue(res, i + 1, 4), owner) != 0))
			rc = gm_session_commit(vc, err);
		if (rc < 0) {
			gm_session_rollback(vc);
			gm_error_prefix(err, "validating [%s] on [%s.%s]", con, nsp, rel);
		}
	}
	gm_conn_close(oc);
	free(oc_role);
	/* where upstream's block ends rolled back, or this failed: the flags
	 * as they were */
	if (flipped && (!keep || rc < 0)) {
		struct gm_error rerr = GM_ERROR_INIT;
		const char *p[1] = { gm_buf_str(&was_off) };
		PGresult *r;
		gm_session_rollback(c);
		r = gm_session_query(c, "UPDATE pg_catalog.pg_constraint SET convalidated = "
					"(oid OPERATOR(pg_catalog.<>) ALL ($1::pg_catalog.oid[])) "
					"WHERE contype OPERATOR(pg_catalog.=) ANY (ARRAY['c', 'f']::pg_catalog.\"char\"[])",
				     1, p, rc < 0 ? &rerr : err);
		if (!r || gm_session_commit(c, rc < 0 ? &rerr : err) < 0) {
			if (rc == GM_OK)
				rc = GM_EFAIL;
			else
				gm_log(GM_LOG_WARNING, "could not set the constraints' flags back: %s", rerr.message);
		}
		PQclear(r);
		gm_error_release(&rerr);
	}
	PQclear(res);
	gm_buf_release(&was_off);
	return rc;
}

/*
 * Upstream's step 11b calls gm.transfer_users(<source>) as the superuser:
 * a function the database owner may have rewritten. gmdb does what the
 * released function does (v10-gm-role_management-dynamic.sql, and the
 * older gm_transfer_users()), with the superuser's own statements: every
 * member of the group role named like the source database (pg_group's
 * grolist order), by its login name, is added to the group role named like
 * the target. It still needs one of the two functions to exist, as
 * upstream's call does. A member that is not a login role fails as it
 * fails upstream (the function would EXECUTE a NULL).
 */
static int transfer_users(struct gm_engine *e, PGconn *c, struct gm_error *err)
{
	const char *p[2] = { gm_engine_group_source(e), gm_engine_group_target(e) };
	char *exists = NULL;
	PGresult *res;
	int rc;

	rc = gm_db_value(c, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace n "
			    "ON n.oid OPERATOR(pg_catalog.=) f.pronamespace WHERE (n.nspname, f.proname) IN "
			    "(('gm'::pg_catalog.name, 'transfer_users'::pg_catalog.name), "
			    "('public'::pg_catalog.name, 'gm_transfer_users'::pg_catalog.name))",
			 0, NULL, &exists, err);
	if (rc < 0)
		return rc;
	if (strcmp(exists, "0") == 0) {
		free(exists);
		return gm_error_set(err, GM_EFAIL, "the database has neither gm.transfer_users() nor gm_transfer_users()");
	}
	free(exists);
	for (int i = 0; i < 2; i++) {
		char *n = NULL;
		rc = gm_db_value(c, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_group WHERE groname OPERATOR(pg_catalog.=) $1::pg_catalog.name",
				 1, &p[i], &n, err);
		if (rc == GM_OK && strcmp(n, "0") == 0)
			rc = gm_error_set(err, GM_EFAIL, "gm_transfer_users(): %s group [%s] does not exist",
					  i ? "target" : "source", p[i]);
		free(n);
		if (rc < 0)
			return rc;
	}
	res = gm_session_query(c, gm_sql("engine-group-members"), 1, p, err);
	if (!res)
		return GM_EFAIL;
	for (int i = 0; rc == GM_OK && i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 1)) {
			rc = gm_error_set(err, GM_EFAIL, "member %s of the group role \"%s\" is not a login role",
					  PQgetvalue(res, i, 0), p[0]);
			break;
		}
		gm_log(GM_LOG_INFO, "gm_transfer_users(text): transferring \"%s\" (%s) from group \"%s\" to group \"%s\"",
		       PQgetvalue(res, i, 1), PQgetvalue(res, i, 0), p[0], p[1]);
		rc = gm_session_execf(c, err, "alter group %I add user %I", p[1], PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return rc;
}

/* The session's search_path, committed (the next statement's failure
 * must not take it back). */
static int set_search_path(PGconn *c, const char *path, struct gm_error *err)
{
	const char *p[1] = { path };
	PGresult *res;

	if (gm_session_begin(c, err) < 0)
		return GM_EFAIL;
	res = gm_db_run(c, "SELECT pg_catalog.set_config('search_path', $1, false)", 1, p, err);
	if (!res)
		return GM_EFAIL;
	PQclear(res);
	return gm_session_commit(c, err);
}

/* Does the database have the function gm.NAME() (without arguments, as
 * upstream's engine calls it)? */
static int function_present(PGconn *c, const char *name, bool *present, struct gm_error *err)
{
	const char *p[1] = { name };
	char *n = NULL;
	int rc = gm_db_value(c, "SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace s "
			       "ON s.oid OPERATOR(pg_catalog.=) f.pronamespace WHERE s.nspname OPERATOR(pg_catalog.=) 'gm' "
			       "AND f.proname OPERATOR(pg_catalog.=) $1::pg_catalog.name AND f.pronargs OPERATOR(pg_catalog.=) 0",
			     1, p, &n, err);
	*present = rc == GM_OK && strcmp(n, "0") != 0;
	free(n);
	return rc;
}

/*
 * Master's validate_collations(): the database's default collation and the
 * collations of its encoding must have the versions the operating system's
 * libraries have now. Where one changed, its indexes may be corrupt: upstream
 * refreshes the recorded versions only after a REINDEX ran and the
 * revalidation of the constraints ran or was found unavailable (master's
 * engine returns the same cookie for both; fixed is true), else the run
 * fails (reindex = 0 or revalidate = 0). The
 * refresh: ALTER DATABASE ... REFRESH COLLATION VERSION, and where the
 * database has gm.update_pg_collations(), what that function does
 * (pg_import_system_collations() into pg_catalog, ALTER COLLATION ...
 * REFRESH VERSION of every changed one) as the superuser's own statements:
 * the function is in a schema the owner may change. Without it, upstream
 * says "DO MANUALLY" and goes on; so does gmdb.
 */
static int collations(struct gm_engine *e, PGconn *c, bool fixed, struct gm_error *err)
{
	char *v = NULL, *db_ok = NULL, *bad = NULL;
	int rc = gm_db_value(c, "SELECT pg_catalog.current_setting('server_version_num')", 0, NULL, &v, err);
	bool have = rc == GM_OK && atol(v) >= 150000; /* PostgreSQL 15 records collation versions */

	free(v);
	if (rc < 0 || !have)
		return rc;
	rc = gm_db_value(c, "SELECT (datcollversion IS NOT DISTINCT FROM pg_catalog.pg_database_collation_actual_version(oid))::text "
			    "FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) pg_catalog.current_database()",
			 0, NULL, &db_ok, err);
	if (rc == GM_OK)
		rc = gm_db_value(c, gm_sql("collations-changed"), 0, NULL, &bad, err);
	if (rc == GM_OK && strcmp(db_ok, "true") == 0 && strcmp(bad, "0") == 0)
		goto out;
	if (rc == GM_OK && !fixed) {
		rc = gm_error_set(err, GM_ECHECK, "the %s of \"%s\" changed version%s, and the definition skips the "
				  "REINDEX or the revalidation of the constraints", strcmp(db_ok, "true") != 0 ?
				  "default collation" : "collations", e->target, strcmp(db_ok, "true") != 0 ? "" : "s");
		gm_error_detail(err, "Upstream's engine refuses to refresh the recorded versions then (\"fixing ... "
				"collation failed\").");
		gm_error_hint(err, "The operating system's collation library changed under the database. Run REINDEX "
			      "DATABASE and revalidate the constraints in the source, then ALTER DATABASE ... REFRESH "
			      "COLLATION VERSION (see gm-fixup_server(8)), and run again.");
		goto out;
	}
	if (rc == GM_OK && strcmp(db_ok, "true") != 0) {
		gm_log(GM_LOG_NOTICE, "refreshing the version of the default collation of \"%s\"", e->target);
		rc = gm_session_execf(c, err, "ALTER DATABASE %I REFRESH COLLATION VERSION", e->target);
		if (rc == GM_OK)
			rc = gm_session_commit(c, err);
	}
	if (rc == GM_OK && strcmp(bad, "0") != 0) {
		bool present = false;
		rc = function_present(c, "update_pg_collations", &present, err);
		if (rc == GM_OK && !present) {
			gm_log(GM_LOG_WARNING, "%s collation(s) of \"%s\" changed version and it has no "
			       "gm.update_pg_collations(): refresh them by hand (upstream: \"DO MANUALLY\")", bad, e->target);
		} else if (rc == GM_OK) {
			PGresult *res;
			rc = gm_session_exec(c, "SELECT pg_catalog.pg_import_system_collations('pg_catalog'::pg_catalog.regnamespace)",
					     err);
			res = rc == GM_OK ? gm_session_query(c, gm_sql("collations-to-refresh"), 0, NULL, err) : NULL;
			if (rc == GM_OK && !res)
				rc = GM_EFAIL;
			if (rc == GM_OK)
				rc = gm_session_commit(c, err);
			for (int i = 0; rc == GM_OK && i < PQntuples(res); i++) {
				struct gm_error gone = GM_ERROR_INIT;
				gm_log(GM_LOG_NOTICE, "refreshing collation [%s.\"%s\"] version information",
				       PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
				/* a collation dropped meanwhile is skipped, as upstream's loop does */
				if (gm_session_execf(c, &gone, "ALTER COLLATION %I.%I REFRESH VERSION", PQgetvalue(res, i, 0),
						     PQgetvalue(res, i, 1)) < 0 &&
				    gone.sqlstate && strcmp(gone.sqlstate, "42704") == 0) { /* undefined_object */
					gm_log(GM_LOG_INFO, "collation does not exist, cannot refresh: %s", gone.message);
					gm_session_rollback(c);
				} else if (gone.message) {
					rc = gm_error_set(err, GM_EFAIL, "%s", gone.message);
				} else {
					rc = gm_session_commit(c, err);
				}
				gm_error_release(&gone);
			}
			PQclear(res);
		}
	}
	if (rc < 0)
		gm_error_prefix(err, "could not refresh the collation versions of \"%s\"", e->target);
out:
	free(db_ok);
	free(bad);
	return rc;
}

/* Steps 7-11 on C3 (superuser at the target). */
int gm_engine_superuser_steps(struct gm_engine *e, struct gm_error *err)
{
	struct gm_step st;
	PGconn *c;
	bool reindexed = false, revalidated = false;
	int rc;

	c = gm_session_open(e->target, "postgres@gnumed_vX", err);
	if (!c)
		return GM_EFAIL;
	/* a signal (lib/signals.c) cancels the statement running on it */
	gm_signals_watch(c);
	rc = database_settings(e, c, err);
	if (rc == GM_OK && (rc = ensure_group(c, gm_engine_group_target(e), err)) < 0)
		gm_error_prefix(err, "could not create the group role \"%s\"", gm_engine_group_target(e));
	if (rc == GM_OK && gm_generation_admin_grants(e->generation)) {
		/* 22.35's create_group_role(..., with_admin = True) */
		rc = gm_session_begin(c, err);
		if (rc == GM_OK)
			rc = gm_session_execf(c, err, "GRANT %I TO %I WITH ADMIN OPTION", gm_engine_group_target(e), e->owner);
		if (rc == GM_OK)
			rc = gm_session_commit(c, err);
		if (rc < 0)
			gm_error_prefix(err, "could not grant the group role \"%s\" to \"%s\"", gm_engine_group_target(e), e->owner);
	}

	if (rc == GM_OK && e->reindex == 1 && e->reindexed_already) {
		/* master's aggregate reindexes the source in its fixup and the
		 * clone in its update: gmdb's fixup works in the clone, whose
		 * indexes it rebuilt moments ago; only that fixup's own
		 * statements wrote there since, so a second REINDEX would
		 * rebuild the same indexes from the same rows */
		gm_step_begin(&st, "reindexing \"%s\"", e->target);
		gm_step_end(&st, GM_OK, "skipped (the fixup's REINDEX rebuilt every index of it in this run)");
		reindexed = true;
	} else if (rc == GM_OK && e->reindex == 1) {
		/* as the database's owner: the index expressions are the
		 * owner's code (lib/reindex.c) */
		gm_step_begin(&st, "reindexing \"%s\"", e->target);
		rc = gm_session_commit(c, err);
		if (rc == GM_OK)
			rc = gm_reindex_database(e->target, e->owner, e->jobs, &st, err);
		if (rc < 0)
			gm_error_prefix(err, "could not reindex \"%s\"", e->target);
		reindexed = rc == GM_OK;
		gm_step_end(&st, rc, NULL);
	} else if (rc == GM_OK) {
		gm_step_begin(&st, "reindexing \"%s\"", e->target);
		gm_step_end(&st, GM_OK, "skipped (reindex = 0)");
	}

	/* what a caller runs beside the rest on connections of its own */
	if (rc == GM_OK && e->after_reindex)
		e->after_reindex(e);

	if (rc == GM_OK && e->revalidate == 1) {
		bool function = gm_generation_has(e->generation, GM_GEN_REVALIDATE_FUNCTION);
		bool present = true;
		gm_step_begin(&st, "revalidating the constraints of \"%s\"", e->target);
		/* master calls gm.revalidate_all_constraints(), which does what
		 * 22.x's block does, where the database has it */
		if (function)
			rc = function_present(c, "revalidate_all_constraints", &present, err);
		if (rc == GM_OK && !present && e->reindex != 1) {
			/* master's call fails, its transaction stays aborted (only its
			 * REINDEX leaves the connection in autocommit) and the next
			 * query of its engine stops the run */
			rc = gm_error_set(err, GM_ECHECK, "with \"reindex = 0\", upstream's engine stops where the database "
					  "has no gm.revalidate_all_constraints()");
			gm_error_hint(err, "Nothing of the target is trustworthy for %s's engine here: run upstream's own "
				      "command to see it fail, or set \"reindex = 1\" in a copy of the definition.",
				      gm_generation_name(e->generation));
		} else if (rc == GM_OK && !present) {
			gm_log(GM_LOG_NOTICE, "\"%s\" has no gm.revalidate_all_constraints(): its constraints are not "
			       "revalidated, as by upstream's engine (which says \"DO MANUALLY\")", e->target);
			/* master's "DO MANUALLY" cookie is the one its collation
			 * step takes for a revalidation done (gmPG2's __LLAP) */
			revalidated = true;
		} else if (rc == GM_OK) {
			/* 22.x's block becomes durable with the next commit on its
			 * connection: a superuser file's statement or the user
			 * transfer; master's call commits at once after its REINDEX
			 * (autocommit) */
			rc = revalidate(e, c, e->superuser_files.paths.n > 0 || e->transfer_users > 0 ||
					(function && e->reindex == 1), err);
			revalidated = rc == GM_OK;
			/* the server's answer to a validation (a check or foreign
			 * key violated, an error of a function the constraint
			 * calls) has an SQLSTATE; a session that ended (libpq's
			 * own message, or the server's "terminating connection")
			 * says nothing about the data */
			if (rc < 0 && !gm_signals_caught() && err->sqlstate && strncmp(err->sqlstate, "08", 2) != 0 &&
			    strncmp(err->sqlstate, "57P", 3) != 0) {
				gm_error_prefix(err, "a constraint of \"%s\" does not hold for its data", e->target);
				gm_error_hint(err, "Repair the rows the message names in the source database, then run again.");
			} else if (rc < 0 && !gm_signals_caught()) {
				gm_error_prefix(err, "revalidating the constraints of \"%s\"", e->target);
			}
		}
		gm_step_end(&st, rc, rc == GM_OK && !present ? "skipped (no gm.revalidate_all_constraints(), as upstream)" : NULL);
	}
	if (e->after_revalidate)
		e->after_revalidate(e);

	if (rc == GM_OK && gm_generation_has(e->generation, GM_GEN_COLLATIONS)) {
		gm_step_begin(&st, "validating the collations of \"%s\"", e->target);
		rc = collations(e, c, reindexed && revalidated, err);
		gm_step_end(&st, rc, NULL);
	}

	if (rc == GM_OK && e->superuser_files.present) {
		gm_step_begin(&st, "running the superuser schema files");
		/* they call the owner's functions as the superuser, as upstream
		 * does: only when those are upstream's own */
		if (e->superuser_files.paths.n > 0)
			rc = gm_shortcut_check_superuser_calls(c, err);
		/* upstream's files, with PostgreSQL's built-in search_path (what
		 * upstream's session has in a database that sets none), not with
		 * one the owner may have given the database */
		if (rc == GM_OK && e->superuser_files.paths.n > 0)
			rc = set_search_path(c, "\"$user\", public", err);
		if (rc == GM_OK)
			rc = run_files(e, c, &e->superuser_files, NULL, err);
		if (rc == GM_OK && e->superuser_files.paths.n > 0)
			rc = set_search_path(c, "pg_catalog, pg_temp", err);
		gm_step_end(&st, rc, NULL);
	}

	if (rc == GM_OK && e->transfer_users > 0) {
		gm_step_begin(&st, "transferring users from \"%s\"", e->template_db);
		rc = transfer_users(e, c, err);
		if (rc == GM_OK)
			rc = gm_session_commit(c, err);
		if (rc < 0)
			gm_error_prefix(err, "could not transfer the users of \"%s\"", e->template_db);
		gm_step_end(&st, rc, NULL);
	}
	/* what is still open (e.g. the revalidation of a fixup) ends with the
	 * connection, as upstream's does */
	gm_signals_watch(NULL);
	gm_session_rollback(c);
	gm_conn_close(c);
	return rc;
}

/*
 * Step 12: the owner session C4 that runs everything after. Upstream opens
 * a superuser connection, repeats step 7 on it and does SET SESSION
 * AUTHORIZATION to the owner, which the owner's own code could undo
 * (RESET SESSION AUTHORIZATION) to act as the superuser. gmdb repeats step
 * 7 on a superuser connection of its own and runs the rest on a connection
 * that logs in as the owner (lib/owner.c): the same session_user and
 * current_user in every row, and nothing to reset.
 */
int gm_engine_owner_session(struct gm_engine *e, struct gm_error *err)
{
	PGconn *c;
	int rc;

	c = gm_session_open(e->target, "postgres@gnumed_vX", err);
	if (!c)
		return GM_EFAIL;
	rc = database_settings(e, c, err);
	gm_conn_close(c);
	if (rc < 0)
		return rc;
	e->conn = gm_owner_session(e->target, e->owner, "postgres@gnumed_vX", err);
	if (!e->conn)
		return GM_EFAIL;
	/* step 7's session settings; lc_messages is the database's 'C' already */
	rc = gm_session_exec(e->conn, "set default_transaction_read_only to off", err);
	if (rc == GM_OK)
		rc = gm_session_commit(e->conn, err);
	if (rc == GM_OK)
		rc = run_files(e, e->conn, &e->db_files, NULL, err);
	return rc;
}

/* Step 13: the bundles, one runner each. */
int gm_engine_bundles(struct gm_engine *e, struct gm_error *err)
{
	char *pgver = NULL;
	int rc = gm_db_value(e->conn, "SELECT pg_catalog.current_setting('server_version_num')", 0, NULL, &pgver, err);
	long server = rc == GM_OK ? atol(pgver) : 0;
	free(pgver);
	for (size_t i = 0; rc == GM_OK && i < e->n_bundles; i++) {
		struct gm_engine_bundle *b = &e->bundles[i];
		struct gm_step st;
		char *end;
		double want = strtod(b->min_pg, &end);
		/* upstream compares major.minor as a decimal: 9.2 <= 15.20 */
		double have = server >= 100000 ? (double)(server / 10000) + (double)(server % 10000) / 100.0
					       : (double)(server / 10000) + (double)((server / 100) % 100) / 10.0;
		gm_step_begin(&st, "bundle \"%s\" (%zu files)", b->name, b->files.paths.n);
		if (end == b->min_pg || *end) {
			rc = gm_error_set(err, GM_ECHECK, "bundle \"%s\": invalid minimum PostgreSQL version \"%s\"",
					  b->name, b->min_pg);
		} else if (have + 1e-9 < want) {
			rc = gm_error_set(err, GM_ECHECK, "bundle \"%s\" needs PostgreSQL %s or later", b->name, b->min_pg);
		} else {
			rc = run_files(e, e->conn, &b->files, &st, err);
			if (rc < 0)
				gm_error_prefix(err, "bundle \"%s\"", b->name);
		}
		gm_step_end(&st, rc, NULL);
	}
	return rc;
}

/* Step 15 (spec 6.5-6.7): encounter/episode FKs and indexes, the sanity
 * and notification triggers; one transaction. */
static int fk_and_index(PGconn *c, const char *ns, const char *tbl, const char *oid, const char *col,
			const char *target, struct gm_error *err)
{
	/* the child by its oid: its name, whatever its spelling, is never parsed */
	char *rel = gm_sqlf(c, "%I.%I", ns, tbl);
	char *tgt = gm_sqlf(c, "clin.%I", target);
	const char *p[4] = { oid, col, tgt, "pk" };
	PGresult *res;
	int rc = GM_OK;

	res = gm_session_query(c, gm_sql("engine-fk-exists"), 4, p, err);
	if (!res)
		rc = GM_EFAIL;
	if (rc == GM_OK && PQntuples(res) == 0) {
		gm_log(GM_LOG_INFO, "adding FK: %s.%s -> clin.%s.pk", rel, col, target);
		rc = gm_session_execf(c, err,
				      "\nALTER TABLE %I.%I\n\tADD FOREIGN KEY (%I)\n\t\tREFERENCES clin.%I(pk)\n"
				      "\t\tON UPDATE CASCADE\n\t\tON DELETE RESTRICT\n",
				      ns, tbl, col, target);
	}
	PQclear(res);
	if (rc == GM_OK) {
		const char *ip[2] = { oid, col };
		res = gm_session_query(c, gm_sql("engine-column-indexes"), 2, ip, err);
		if (!res)
			rc = GM_EFAIL;
		for (int i = 0; rc == GM_OK && i < PQntuples(res); i++) {
			rc = gm_session_execf(c, err, "DROP INDEX IF EXISTS %I.%I CASCADE", PQgetvalue(res, i, 0),
					      PQgetvalue(res, i, 1));
		}
		PQclear(res);
	}
	if (rc == GM_OK) {
		/* upstream's one text of two statements, as two statements */
		char *idx = gm_xasprintf("idx_%s_%s_%s", ns, tbl, col);
		rc = gm_session_execf(c, err, "DROP INDEX IF EXISTS %I.%I CASCADE", ns, idx);
		if (rc == GM_OK)
			rc = gm_session_execf(c, err, "CREATE INDEX %I ON %I.%I(%I)", idx, ns, tbl, col);
		free(idx);
	}
	free(rel);
	free(tgt);
	return rc;
}

static int call_bool_function(PGconn *c, const char *fname, const char *call, bool *present, struct gm_error *err)
{
	const char *p[1] = { fname };
	char *exists = NULL;
	PGresult *res;
	int rc;

	*present = false;
	rc = gm_session_begin(c, err);
	if (rc == GM_OK)
		rc = gm_db_value(c, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proname = $1 AND pronamespace = "
				    "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'gm'))", 1, p, &exists, err);
	if (rc < 0 || strcmp(exists, "t") != 0) {
		free(exists);
		return rc;
	}
	free(exists);
	*present = true;
	res = gm_session_query(c, call, 0, NULL, err);
	if (!res) {
		/* the database's own function (upstream's SQL made it) failed */
		gm_error_prefix(err, "\"%s\"", call);
		return GM_EFAIL;
	}
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) && strcmp(PQgetvalue(res, 0, 0), "f") == 0)
		rc = gm_error_set(err, GM_EFAIL, "%s returned false", call);
	PQclear(res);
	return rc;
}

int gm_engine_notifications(struct gm_engine *e, struct gm_error *err)
{
	struct gm_step st;
	PGconn *c = e->conn;
	PGresult *res;
	bool present;
	int rc = GM_OK;

	gm_step_begin(&st, "setting up encounter/episode foreign keys and indexes");
	res = gm_session_query(c, gm_sql("engine-child-tables"), 0, NULL, err);
	if (!res)
		rc = GM_EFAIL;
	for (int i = 0; rc == GM_OK && i < PQntuples(res); i++) {
		const char *ns = PQgetvalue(res, i, 0), *tbl = PQgetvalue(res, i, 1), *oid = PQgetvalue(res, i, 2);
		rc = fk_and_index(c, ns, tbl, oid, "fk_episode", "episode", err);
		if (rc == GM_OK)
			rc = fk_and_index(c, ns, tbl, oid, "fk_encounter", "encounter", err);
		if (rc < 0)
			gm_error_prefix(err, "table \"%s.%s\"", ns, tbl);
	}
	PQclear(res);
	gm_step_end(&st, rc, NULL);
	if (rc == GM_OK) {
		gm_step_begin(&st, "setting up the encounter/episode sanity check triggers");
		rc = call_bool_function(c, "create_all_enc_epi_sanity_check_triggers",
					"select gm.create_all_enc_epi_sanity_check_triggers()", &present, err);
		gm_step_end(&st, rc, present || rc < 0 ? NULL : "skipped (no such function)");
	}
	if (rc == GM_OK) {
		gm_step_begin(&st, "setting up the generic notifications");
		rc = call_bool_function(c, "create_all_table_mod_triggers",
					"SELECT gm.create_all_table_mod_triggers(True::boolean)", &present, err);
		gm_step_end(&st, rc, present || rc < 0 ? NULL : "skipped (no such function)");
	}
	if (rc == GM_OK)
		rc = gm_session_commit(c, err);
	else
		gm_session_rollback(c);
	return rc;
}

/*
 * Master's ensure_some_security_settings(), on the owner session: CREATE on
 * schema public revoked from PUBLIC, and gm.adjust_view_options() (every
 * GNUmed view made security_invoker) where the database has it. Upstream
 * leaves both uncommitted on its connection: the data import scripts'
 * first commit makes them durable, else the run's end rolls them back. So
 * does gmdb: committed where scripts follow, rolled back where none do.
 */
int gm_engine_security_settings(struct gm_engine *e, struct gm_error *err)
{
	struct gm_step st;
	bool present = false;
	int rc;

	if (!gm_generation_has(e->generation, GM_GEN_SECURITY_SETTINGS))
		return GM_OK;
	gm_step_begin(&st, "setting up security settings");
	rc = gm_session_exec(e->conn, "REVOKE create ON SCHEMA public FROM public", err);
	if (rc == GM_OK)
		rc = function_present(e->conn, "adjust_view_options", &present, err);
	if (rc == GM_OK && present)
		rc = gm_session_exec(e->conn, "SELECT gm.adjust_view_options()", err);
	if (rc == GM_OK && e->scripts.n > 0)
		rc = gm_session_commit(e->conn, err);
	else if (rc == GM_OK)
		gm_log(GM_LOG_INFO, "the security settings are rolled back: no data import script commits them, as in "
		       "upstream's engine");
	if (rc < 0 || e->scripts.n == 0)
		gm_session_rollback(e->conn);
	if (rc < 0)
		gm_error_prefix(err, "could not apply the security settings to \"%s\"", e->target);
	gm_step_end(&st, rc, rc == GM_OK && !present ? "skipped gm.adjust_view_options() (unavailable as yet)" : NULL);
	return rc;
}

/* Step 16: upstream's Python data import scripts, through python3
 * (lib/pyimport.c): the one started early, if any. */
int gm_engine_import_scripts(struct gm_engine *e, struct gm_error *err)
{
	struct gm_step st;
	char tz_buf[64] = "";
	int rc;

	gm_step_begin(&st, "upgrading reference data sets");
	if (e->scripts.n == 0) {
		gm_step_end(&st, GM_OK, "skipped (no scripts to run)");
		return GM_OK;
	}
	{
		char *tz = NULL;
		gm_db_value(e->conn, "SELECT pg_catalog.current_setting('timezone')", 0, NULL, &tz, NULL);
		snprintf(tz_buf, sizeof(tz_buf), "%s", tz ? tz : "UTC");
		free(tz);
	}
	if (!e->pyimport)
		e->pyimport = gm_pyimport_start(e->upstream_dir, err);
	rc = e->pyimport ? gm_pyimport_run(e->pyimport, e, tz_buf, err) : GM_EFAIL;
	gm_pyimport_free(e->pyimport);
	e->pyimport = NULL;
	gm_step_end(&st, rc, NULL);
	return rc;
}

/* Step 18: the result hash. */
int gm_engine_verify_result(struct gm_engine *e, char **hash, struct gm_error *err)
{
	struct gm_step st;
	bool repaired = false;
	int rc;

	*hash = NULL;
	gm_step_begin(&st, "verifying the schema hash of \"%s\"", e->target);
	rc = gm_session_begin(e->conn, err);
	if (rc == GM_OK)
		rc = gm_schema_hash_known(e->conn, e->target_version == -2 ? (e->expect_version > 0 ? e->expect_version : -1)
									   : e->target_version,
					  hash, &repaired, NULL, err);
	gm_session_rollback(e->conn);
	if (rc == GM_OK && e->target_version == -2) {
		/* upstream's definition says "devel": upstream checks nothing */
		const char *want = e->expect_version > 0 ? gm_hash_for_version(e->expect_version) : NULL;
		char *note;
		if (!want)
			note = gm_xasprintf("not checked (the definition says devel): %s", *hash);
		else if (strcmp(*hash, want) == 0)
			note = gm_xasprintf("the known hash of v%d (the definition says devel, so upstream does not check it)",
					    e->expect_version);
		else
			note = gm_xasprintf("NOT the known hash of v%d but %s; upstream's definition says devel and "
					    "does not check it", e->expect_version, *hash);
		if (want && strcmp(*hash, want) != 0)
			gm_log(GM_LOG_WARNING, "\"%s\": %s", e->target, note);
		gm_step_end(&st, rc, note);
		free(note);
		return rc;
	}
	if (rc == GM_OK && e->target_version >= 0 && strcmp(*hash, gm_hash_for_version(e->target_version)) != 0) {
		int v = gm_version_for_hash(*hash);
		rc = gm_error_set(err, GM_ECHECK, "\"%s\" does not have the schema hash of v%d", e->target,
				  e->target_version);
		if (v >= 0)
			gm_error_detail(err, "Its hash %s is the known hash of v%d.", *hash, v);
		else
			gm_error_detail(err, "Its hash %s matches no known version (v%d's is %s).", *hash,
					e->target_version, gm_hash_for_version(e->target_version));
	}
	gm_step_end(&st, rc, e->target_version == -2 ? "skipped (devel version)" : NULL);
	return rc;
}

/* Step 20, informational: does pg_hba.conf have upstream's line? */
void gm_engine_check_hba(struct gm_engine *e)
{
	char *path = NULL, *text = NULL;
	bool found = false;

	if (gm_db_value(e->conn, "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'hba_file'", 0, NULL,
			&path, NULL) < 0 || !path)
		return;
	if (gm_read_file(path, &text, NULL, NULL) == GM_OK) {
		for (char *line = text; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			if (strncmp(line, "local", 5) == 0) {
				char *s = strstr(line, "samerole");
				if (s && strstr(s, "+gm-logins"))
					found = true;
			}
			line = nl ? nl + 1 : NULL;
		}
		if (!found) {
			gm_log(GM_LOG_NOTICE, "note: %s has no active line \"local samerole +gm-logins md5\": "
					      "GNUmed clients may not be able to connect until it has one", path);
		}
	}
	free(text);
	free(path);
}

static void log_fingerprint(const struct gm_fingerprint *fp, const char *what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (m) {
		gm_fingerprint_print_text(fp, false, m);
		fclose(m);
		gm_log(GM_LOG_DEBUG, "%s fingerprint:\n%s", what, buf);
		free(buf);
	}
}

void gm_engine_log_fingerprint(const char *database, const char *owner, const char *what, const char *known_hash)
{
	struct gm_fingerprint_opts o = { .database = database, .expect_version = -1, .known_hash = known_hash,
					 .owner = owner };
	struct gm_fingerprint fp;
	struct gm_error err = GM_ERROR_INIT;

	gm_fingerprint_init(&fp);
	if (gm_fingerprint_take(&o, &fp, &err) == GM_OK)
		log_fingerprint(&fp, what);
	else
		gm_log(GM_LOG_DEBUG, "cannot fingerprint %s database \"%s\": %s", what, database, err.message);
	gm_error_release(&err);
	gm_fingerprint_release(&fp);
}

struct gm_fingerprint_pending *gm_engine_fingerprint_begin(const char *database, const char *owner, const char *what)
{
	struct gm_error err = GM_ERROR_INIT;
	struct gm_fingerprint_pending *p = gm_fingerprint_begin(database, owner, &err);

	if (!p)
		gm_log(GM_LOG_DEBUG, "cannot fingerprint %s database \"%s\": %s", what, database, err.message);
	gm_error_release(&err);
	return p;
}

void gm_engine_fingerprint_end(struct gm_fingerprint_pending *p, const char *database, const char *what,
			       const char *hash)
{
	struct gm_fingerprint fp;
	struct gm_error err = GM_ERROR_INIT;

	if (!p)
		return;
	gm_fingerprint_init(&fp);
	if (gm_fingerprint_end(p, hash, &fp, &err) < 0)
		gm_log(GM_LOG_DEBUG, "cannot fingerprint %s database \"%s\": %s", what, database, err.message);
	else if (hash)
		log_fingerprint(&fp, what);
	gm_error_release(&err);
	gm_fingerprint_release(&fp);
}
