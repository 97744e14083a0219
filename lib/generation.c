/*
 * generation.c - the generations of upstream's engine that gmdb reproduces
 *
 * gmdb gives upstream's result only where it knows what upstream's engine
 * does with a definition. Upstream can change that without changing the
 * definition files: a new audit generator, a new step, another way of
 * granting roles. So before anything is changed, the tree's engine is
 * recognised by content, and the definition by its format:
 *
 *  - every part of upstream's engine whose behaviour gmdb reproduces (the
 *    bootstrapper, the audit generator, the SQL script runner, the conf
 *    parser, and the gmPG2 functions that pick the objects the engine
 *    generates SQL for) must have the fingerprint (SHA-256) of a release
 *    gmdb was proven against, whole file or, for gmPG2.py, whose other
 *    functions change with every release (logging, new hashes), function
 *    by function;
 *  - every section and key of the definition must be one that generation
 *    knows (those it ignores, like "description", are listed as such).
 *
 * Anything else stops the run before the first change, naming what is
 * unknown. Adding the next generation means adding one entry to the table
 * below with the code for its steps, never loosening a fingerprint.
 */
#include "gmdb-int.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct gen_part {
	const char *path;          /* relative to the upstream tree */
	const char *function;      /* a top-level def of a Python module; NULL: the whole file */
	const char *const *sha256; /* the fingerprints gmdb reproduces, NULL-terminated */
};

struct gen_section {
	const char *kind;          /* "installation", or "bundle " for [bundle NAME] */
	bool prefix;
	const char *const *keys;   /* NULL-terminated */
};

struct gm_generation {
	const char *name;
	const char *releases;
	const char *const *bootstrap; /* bootstrap/bootstrap_gm_db_system.py's fingerprints */
	const struct gen_part *parts;
	size_t n_parts;
	const char *const *other_modules; /* the modules in bootstrap/ it knows */
	const struct gen_section *sections;
	size_t n_sections;
	/* how the generation's engine makes the roles (gmdb-int.h) */
	enum gm_gen_roles roles;
	/* what else its engine does: GM_GEN_* (gmdb-int.h) */
	unsigned features;
	/* its gmAuditSchemaGenerator (audit.c, audit-master.c) */
	const struct gm_audit_generator *audit;
	/* its gmPsql (sql-runner.c) */
	enum gm_sql_dialect sql_dialect;
	/* the audited tables (space-separated "schema.table") whose audit
	 * trail this engine's own result leaves broken: gmdb's result check
	 * warns about them instead of failing, the result being upstream's */
	const char *audit_defects;
};

/* ------------------------------------------------------------------ */
/* gnumed-server 22.x: the engine of 22.19 (Debian bookworm) to 22.31  */
/* (Debian trixie); upstream tags rel-1-8-8 to rel-1-8-21               */
/* ------------------------------------------------------------------ */

static const char *const g22_bootstrap[] = {
	"3f8e51b963f00b1fa2fa5bbdc28393c1df07ecd31569f17e8871e99af733439a", NULL
};
static const char *const g22_audit[] = {
	"e31004e92dd4c988cd1a168375b0b4a4791d7c3e10758865512aeabd9c10a931", NULL
};
static const char *const g22_psql[] = {
	"9494b3ca0e4c3be97e2e3bd122a329a0b5178acbf2fa8656945332003e413dcb", NULL
};
/* 22.19's and 22.31's: the changes between them do not touch what gmdb's
 * conf.c reproduces (both trees are in the tests) */
static const char *const g22_cfg2[] = {
	"3909ec63de1eb2ca7780f053c1d1b82938b70f290fbc212f76b1ec3e76c60206",
	"d7c51e31497efa0bc38219c8c25cc7077c28daf1249d955c3c27f2dccce1242a", NULL
};
static const char *const g22_function_exists[] = {
	"7688ebc99d3ac425ba275c17dbf02e939085ef5a654b46229ad7752d0a5c22e0", NULL
};
static const char *const g22_get_child_tables[] = {
	"df0b13edd280f5ebc5ac83d1fb6c034441b42afa6ac54551e73374dc20158dd8", NULL
};
static const char *const g22_get_foreign_key_names[] = {
	"237792913d806dd2f925a1d10cb0fd0023d9e194012b2bb0cc750ee40497adac", NULL
};
static const char *const g22_get_index_name[] = {
	"f0c8aecd6f57c156e66cc44674a1e8afbf3b63ac6d9d09846028286cc437ff29", NULL
};
static const char *const g22_get_col_defs[] = {
	"bed4f3d1fe3ef2ce3130ca49cdfe68bc5080f496f5c70cdb03519efda63e3136", NULL
};
static const char *const g22_get_col_names[] = {
	"087f69b67a3178ec13e09a1f151867a2a99a2da31a9423a9b2347ea18db8c91f", NULL
};
static const char *const g22_table_exists[] = {
	"ce4df2ac747a99b00991d4d9440c2d5440a9159e8b88c11ceb315d465a288922", NULL
};

/* gnumed-server 22.35 (Debian forky and sid; upstream tag rel-1-8-24):
 * the same engine but for the roles (see admin_grants) */
static const char *const g2235_bootstrap[] = {
	"572f49e8f1d48524326798aa03afa0867a2c74e2160e4a44f451c12a15b96459", NULL
};

/* what 22.x's generations share; the bootstrapper is each generation's own */
static const struct gen_part g22_parts[] = {
	{ "bootstrap/gmAuditSchemaGenerator.py", NULL, g22_audit },
	{ "pycommon/gmPsql.py", NULL, g22_psql },
	{ "pycommon/gmCfg2.py", NULL, g22_cfg2 },
	{ "pycommon/gmPG2.py", "function_exists", g22_function_exists },
	{ "pycommon/gmPG2.py", "get_child_tables", g22_get_child_tables },
	{ "pycommon/gmPG2.py", "get_foreign_key_names", g22_get_foreign_key_names },
	{ "pycommon/gmPG2.py", "get_index_name", g22_get_index_name },
	{ "pycommon/gmPG2.py", "get_col_defs", g22_get_col_defs },
	{ "pycommon/gmPG2.py", "get_col_names", g22_get_col_names },
	{ "pycommon/gmPG2.py", "table_exists", g22_table_exists },
};


static const char *const g22_other_modules[] = {
	"bootstrap_gm_db_system.py", "gmAuditSchemaGenerator.py",
	"gmDBPruningDMLGenerator.py", /* the demo data pruner: not loaded by upgrades or fixups */
	NULL
};

/* The keys upstream's 22.x engine reads (or, where marked, ignores) in
 * update_db-vX_vY.conf and fixup_db-vN.conf. */
static const char *const g22_installation[] = {
	"bundles",
	"config files",    /* an aggregate: gmdb refuses it and says to run its parts */
	"interactive", "keep temp files", "description", /* prompts and temp files: not gmdb's */
	NULL
};
static const char *const g22_bundle[] = {
	"database alias", "minimum postgresql version", "schema", "schema base directory", NULL
};
static const char *const g22_database[] = {
	"name", "override name by", "server alias", "template database", "template version",
	"target version", "drop target database", "use existing target database", "reindex",
	"revalidate", "transfer users", "tablespace", "audit disable", "audit trail parent table",
	"audit trail table prefix", "audit fields table", "schema base directory", "schema",
	"superuser schema", "script base directory", "data import scripts",
	"upgrade plausibility checks", NULL
};
static const char *const g22_server[] = {
	"name", "port", "template database", "super user alias",
	"schema", "schema base directory", /* upstream's server schema import is commented out */
	NULL
};
static const char *const g22_user[] = {
	"name",
	"password", /* gmdb never uses a password from a definition */
	NULL
};
static const char *const g22_defaults[] = { "database owner alias", "groups", NULL };
static const char *const g22_revision[] = { "file", "version", NULL };

static const struct gen_section g22_sections[] = {
	{ "installation", false, g22_installation },
	{ "bundle ", true, g22_bundle },
	{ "database ", true, g22_database },
	{ "server ", true, g22_server },
	{ "user ", true, g22_user },
	{ "GnuMed defaults", false, g22_defaults },
	{ "revision control", false, g22_revision },
};


/* ------------------------------------------------------------------ */
/* upstream's development tree, the future gnumed-server 23:            */
/* ncqgm/gnumed master 8a85b32                                          */
/* ------------------------------------------------------------------ */

static const char *const gmaster_bootstrap[] = {
	"24d0f7016da0e4e9435928f89e9e25e2fb94edc24d4f5c8ea8b3b72fdeab2113", NULL
};
static const char *const gmaster_audit[] = {
	"7b882af194f16c66c483968702fe39c4e0fe2fb2f04384c24ecd60a9dc32edde", NULL
};
static const char *const gmaster_audit_defs[] = {
	"1e9ac0b321123e1cbcb782c3cd9628829d7be05fb232fd057a1cbd8a9e57fa75", NULL
};
static const char *const gmaster_psql[] = {
	"e0988a252eef08b13f0ed7ada9d57acdc6e6da8b4b4a47023a5783855b68a7c0", NULL
};
static const char *const gmaster_cfgini[] = {
	"b7d7320553a877b19140d74b6eefa513d83b7ad399783b80c1e15fa3d38007bd", NULL
};
/* a development snapshot: all of gmPG2.py and gmConnectionPool.py (the
 * engine's connections, roles, reindexing, constraint and collation
 * checks, and the audit generator's catalog reads are there), not only
 * the functions 22.x's engine used */
static const char *const gmaster_pg2[] = {
	"b0520c0471e42270046382ac315b14c50eb65d747fceea09412d71c1fd6aa892", NULL
};
static const char *const gmaster_pool[] = {
	"d3c5b14abc864fa4c1843b9dc2d23a970178532b4ce49f097c95cecb010eefed", NULL
};
static const char *const gmaster_input2int[] = {
	"e4bb2cf53fa0e074f984ca8e4406be5214c54978df6c59af219d6570c1202832", NULL
};
static const char *const gmaster_input2decimal[] = {
	"bc6b393f2e77f6b6e6f6abbeace91a4852ce17d15a20af8192eeb4f51cfc162c", NULL
};
static const char *const gmaster_import_module[] = {
	"5999483a52b25ce56a7d48665b9c27798580f62c59f1643bf0ad103e5a42bdb0", NULL
};

static const struct gen_part gmaster_parts[] = {
	{ "bootstrap/gmAuditSchemaGenerator.py", NULL, gmaster_audit },
	{ "bootstrap/gmAuditSchemaDefs.py", NULL, gmaster_audit_defs },
	{ "pycommon/gmPsql.py", NULL, gmaster_psql },
	{ "pycommon/gmCfgINI.py", NULL, gmaster_cfgini },
	{ "pycommon/gmPG2.py", NULL, gmaster_pg2 },
	{ "pycommon/gmConnectionPool.py", NULL, gmaster_pool },
	{ "pycommon/gmTools.py", "input2int", gmaster_input2int },
	{ "pycommon/gmTools.py", "input2decimal", gmaster_input2decimal },
	{ "pycommon/gmTools.py", "import_module_from_directory", gmaster_import_module },
};

static const char *const gmaster_other_modules[] = {
	"bootstrap_gm_db_system.py", "gmAuditSchemaGenerator.py", "gmAuditSchemaDefs.py",
	"gmDBPruningDMLGenerator.py", /* the demo data pruner: not loaded by upgrades or fixups */
	NULL
};

/* The keys master's engine reads (cfg_get in bootstrap_gm_db_system.py)
 * in update_db-vX_vY.conf, fixup_db-vN.conf and upgrade_db-vX_vY.conf:
 * [cluster] instead of [server ...], "source database/version" instead of
 * "template database/version", no [user ...], no audit keys. */
static const char *const gmaster_installation[] = {
	"bundles", "config files", "interactive", "keep temp files", "description", NULL
};
static const char *const gmaster_database[] = {
	"name", "source database", "source version", "target version", "drop target database",
	"use existing target database", "reindex", "revalidate", "transfer users", "tablespace", "audit disable",
	"schema base directory", "schema", "superuser schema", "script base directory", "data import scripts",
	"upgrade plausibility checks", NULL
};
static const char *const gmaster_cluster[] = {
	"host name", "port", "maintenance database",
	"schema base directory", "schema", /* read by nothing in master's engine (cPostgresqlCluster) */
	NULL
};
static const char *const gmaster_defaults[] = { "groups", NULL };

static const struct gen_section gmaster_sections[] = {
	{ "installation", false, gmaster_installation },
	{ "bundle ", true, g22_bundle },
	{ "database ", true, gmaster_database },
	{ "cluster", false, gmaster_cluster },
	{ "GnuMed defaults", false, gmaster_defaults },
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const struct gm_generation generations[] = {
	{ .name = "22.x", .releases = "gnumed-server 22.19 to 22.31, upstream tags rel-1-8-8 to rel-1-8-21",
	  .bootstrap = g22_bootstrap, .parts = g22_parts, .n_parts = N_OF(g22_parts),
	  .other_modules = g22_other_modules, .sections = g22_sections, .n_sections = N_OF(g22_sections),
	  .roles = GM_ROLES_ADD_USER, .audit = &gm_audit_generator_22 },
	{ .name = "22.35", .releases = "gnumed-server 22.35, upstream tag rel-1-8-24",
	  .bootstrap = g2235_bootstrap, .parts = g22_parts, .n_parts = N_OF(g22_parts),
	  .other_modules = g22_other_modules, .sections = g22_sections, .n_sections = N_OF(g22_sections),
	  .roles = GM_ROLES_ADMIN_2235, .audit = &gm_audit_generator_22 },
	{ .name = "master 8a85b32",
	  .releases = "upstream's development tree at ncqgm/gnumed master 8a85b32, the future gnumed-server 23",
	  .bootstrap = gmaster_bootstrap, .parts = gmaster_parts, .n_parts = N_OF(gmaster_parts),
	  .other_modules = gmaster_other_modules, .sections = gmaster_sections, .n_sections = N_OF(gmaster_sections),
	  .roles = GM_ROLES_ADMIN_MASTER,
	  .features = GM_GEN_CLUSTER_FORMAT | GM_GEN_REVALIDATE_FUNCTION | GM_GEN_COLLATIONS |
		      GM_GEN_SECURITY_SETTINGS | GM_GEN_AGGREGATE_UPGRADE,
	  .audit = &gm_audit_generator_master, .sql_dialect = GM_SQL_DIALECT_MASTER,
	  /* its v23 registers ref.vacc_indication for auditing without the
	   * audit columns (no row_version): its trigger fails every UPDATE and
	   * DELETE, in the database master's own engine makes too */
	  .audit_defects = "ref.vacc_indication" },
};

const char *gm_generation_name(const struct gm_generation *gen)
{
	return gen ? gen->name : "?";
}

const char *gm_generation_releases(const struct gm_generation *gen)
{
	return gen ? gen->releases : "?";
}

enum gm_gen_roles gm_generation_roles(const struct gm_generation *gen)
{
	return gen ? gen->roles : GM_ROLES_ADD_USER;
}

bool gm_generation_admin_grants(const struct gm_generation *gen)
{
	return gm_generation_roles(gen) != GM_ROLES_ADD_USER;
}

const char *gm_generation_audit_defects(const struct gm_generation *gen)
{
	return gen ? gen->audit_defects : NULL;
}

bool gm_generation_has(const struct gm_generation *gen, enum gm_gen_feature f)
{
	return gen && (gen->features & (unsigned)f);
}

const struct gm_audit_generator *gm_generation_audit(const struct gm_generation *gen)
{
	return gen ? gen->audit : &gm_audit_generator_22;
}

enum gm_sql_dialect gm_generation_sql_dialect(const struct gm_generation *gen)
{
	return gen ? gen->sql_dialect : GM_SQL_DIALECT_22;
}

/* ------------------------------------------------------------------ */
/* Fingerprints                                                        */
/* ------------------------------------------------------------------ */

/* The text of the top-level "def NAME" or "class NAME" block of a Python
 * module: from its first line up to (not including) the next line that
 * starts in column 0 with anything but "#" or ")" outside a triple-quoted
 * string (upstream writes SQL in column 0 inside them), without the
 * newlines that end it. NULL if there is none. */
char *gm_python_block(const char *text, const char *name)
{
	const char *p = text, *start = NULL, *end = NULL;
	size_t nlen = strlen(name);
	char in_str = 0; /* the quote of the triple-quoted string we are in */

	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *next = eol ? eol + 1 : p + strlen(p);
		bool top = *p != '\n' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\f' && *p != '\v' &&
			   *p != '#' && *p != ')';
		bool def = false;
		const char *q = NULL;

		if (strncmp(p, "def", 3) == 0)
			q = p + 3;
		else if (strncmp(p, "class", 5) == 0)
			q = p + 5;
		if (q && (*q == ' ' || *q == '\t')) {
			while (*q == ' ' || *q == '\t')
				q++;
			def = strncmp(q, name, nlen) == 0 &&
			      !((q[nlen] >= 'a' && q[nlen] <= 'z') || (q[nlen] >= 'A' && q[nlen] <= 'Z') ||
				(q[nlen] >= '0' && q[nlen] <= '9') || q[nlen] == '_');
		}
		if (start && !in_str && (top || def)) {
			end = p;
			break;
		}
		if (!start && def && !in_str)
			start = p;
		for (const char *c = p; c < next && *c != '\n';) {
			if ((c[0] == '"' || c[0] == '\'') && c[1] == c[0] && c[2] == c[0] && (!in_str || in_str == c[0])) {
				in_str = in_str ? 0 : c[0];
				c += 3;
			} else {
				c++;
			}
		}
		p = next;
	}
	if (!start)
		return NULL;
	if (!end)
		end = start + strlen(start);
	while (end > start && end[-1] == '\n')
		end--;
	return gm_xstrndup(start, (size_t)(end - start));
}

static bool listed(const char *const *list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* The fingerprint of one part: GM_OK with hex (or a reason in *why). */
static int part_fingerprint(const char *dir, const struct gen_part *part, char hex[65], char **why)
{
	char *path = gm_xasprintf("%s/%s", dir, part->path), *text = NULL;
	size_t len = 0;
	struct gm_error e = GM_ERROR_INIT;
	int rc = gm_read_file(path, &text, &len, &e);

	if (rc < 0) {
		*why = gm_xasprintf("%s: %s", part->path, e.message ? e.message : "unreadable");
	} else if (part->function) {
		char *block = memchr(text, '\0', len) ? NULL : gm_python_block(text, part->function);
		if (!block) {
			*why = gm_xasprintf("%s: has no function %s()", part->path, part->function);
			rc = GM_ECHECK;
		} else {
			gm_sha256_hex(block, strlen(block), hex);
		}
		free(block);
	} else {
		gm_sha256_hex(text, len, hex);
	}
	gm_error_release(&e);
	free(text);
	free(path);
	return rc < 0 ? GM_ECHECK : GM_OK;
}

int gm_generation_recognise(const char *upstream_dir, const struct gm_generation **out, struct gm_error *err)
{
	struct gm_strv best_unknown = GM_STRV_INIT;
	const struct gm_generation *best = NULL;
	size_t best_known = 0;

	*out = NULL;
	for (size_t g = 0; g < N_OF(generations); g++) {
		const struct gm_generation *gen = &generations[g];
		struct gm_strv unknown = GM_STRV_INIT;
		size_t known = 0;

		const struct gen_part boot = { "bootstrap/bootstrap_gm_db_system.py", NULL, gen->bootstrap };

		for (size_t i = 0; i <= gen->n_parts; i++) {
			const struct gen_part *part = i == 0 ? &boot : &gen->parts[i - 1];
			char hex[65], *why = NULL;

			if (part_fingerprint(upstream_dir, part, hex, &why) < 0) {
				gm_strv_push(&unknown, why);
				free(why);
			} else if (!listed(part->sha256, hex)) {
				char *s = part->function
					? gm_xasprintf("%s: function %s() (sha256 %.16s...)", part->path, part->function, hex)
					: gm_xasprintf("%s (sha256 %.16s...)", part->path, hex);
				gm_strv_push(&unknown, s);
				free(s);
			} else {
				gm_log(GM_LOG_DEBUG, "upstream's engine: %s%s%s%s is %s's (sha256 %s)", part->path,
				       part->function ? ", " : "", part->function ? part->function : "",
				       part->function ? "()" : "", gen->name, hex);
				known++;
			}
		}
		/* modules of the engine gmdb has never seen */
		{
			char *bdir = gm_xasprintf("%s/bootstrap", upstream_dir);
			DIR *d = opendir(bdir);
			struct dirent *de;
			while (d && (de = readdir(d))) {
				size_t n = strlen(de->d_name);
				if (n > 3 && strcmp(de->d_name + n - 3, ".py") == 0 &&
				    !listed(gen->other_modules, de->d_name)) {
					char *s = gm_xasprintf("bootstrap/%s (a module %s's engine does not have)",
							       de->d_name, gen->name);
					gm_strv_push(&unknown, s);
					free(s);
				}
			}
			if (d)
				closedir(d);
			free(bdir);
		}
		if (unknown.n == 0) {
			gm_log(GM_LOG_INFO, "upstream's engine in \"%s\" is %s's: %s", upstream_dir, gen->name, gen->releases);
			*out = gen;
			gm_strv_release(&unknown);
			gm_strv_release(&best_unknown);
			return GM_OK;
		}
		if (!best || known > best_known) {
			best = gen;
			best_known = known;
			gm_strv_release(&best_unknown);
			best_unknown = unknown;
		} else {
			gm_strv_release(&unknown);
		}
	}
	{
		char *list = gm_strv_join(&best_unknown, "; ");
		gm_error_set(err, GM_ECHECK, "upstream's engine in \"%s\" is not one gmdb knows", upstream_dir);
		gm_error_detail(err, "%zu part%s of it differ%s from the nearest engine gmdb reproduces, %s's (%s): %s",
				best_unknown.n, best_unknown.n == 1 ? "" : "s", best_unknown.n == 1 ? "s" : "",
				best ? best->name : "?", best ? best->releases : "?", list);
		gm_error_hint(err, "Nothing was changed. gmdb gives upstream's result only for engines it was proven "
			      "against. Run upstream's own command for this release (on Debian, the original gmdb "
			      "diverts: /usr/sbin/gm-upgrade_server.gnumed-server or gm-fixup_server.gnumed-server), "
			      "or a gmdb that knows it.");
		free(list);
	}
	gm_strv_release(&best_unknown);
	return GM_ECHECK;
}

/* ------------------------------------------------------------------ */
/* Definition format                                                   */
/* ------------------------------------------------------------------ */

int gm_generation_check_conf(const struct gm_generation *gen, const struct gm_conf *conf, struct gm_error *err)
{
	const struct gm_strv *groups = gm_conf_groups(conf);
	struct gm_strv unknown = GM_STRV_INIT;
	int rc = GM_OK;

	for (size_t g = 0; g < groups->n; g++) {
		const char *group = groups->v[g];
		const struct gen_section *sec = NULL;
		struct gm_strv opts = GM_STRV_INIT;

		for (size_t i = 0; i < gen->n_sections && !sec; i++) {
			const struct gen_section *s = &gen->sections[i];
			if (s->prefix ? strncmp(group, s->kind, strlen(s->kind)) == 0 && group[strlen(s->kind)]
				      : strcmp(group, s->kind) == 0)
				sec = s;
		}
		if (!sec) {
			char *s = gm_xasprintf("section [%s]", group);
			gm_strv_push(&unknown, s);
			free(s);
			continue;
		}
		gm_conf_options(conf, group, &opts);
		for (size_t i = 0; i < opts.n; i++)
			if (!listed(sec->keys, opts.v[i])) {
				char *s = gm_xasprintf("\"%s\" in [%s]", opts.v[i], group);
				gm_strv_push(&unknown, s);
				free(s);
			}
		gm_strv_release(&opts);
	}
	if (unknown.n) {
		char *list = gm_strv_join(&unknown, ", ");
		rc = gm_error_set(err, GM_ECHECK, "the definition \"%s\" has what %s's engine does not know: %s",
				  gm_conf_path(conf), gen->name, list);
		gm_error_hint(err, "Nothing was changed. gmdb runs only definitions whose every part it knows. Run "
			      "upstream's own command for this release (on Debian: /usr/sbin/gm-upgrade_server.gnumed-server "
			      "or gm-fixup_server.gnumed-server), or a gmdb that knows it.");
		free(list);
	}
	gm_strv_release(&unknown);
	return rc;
}
