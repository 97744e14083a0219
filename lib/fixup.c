/*
 * fixup.c - gm-fixup_server: upstream's fixup_db-vN.conf, applied in place
 * (spec 2.4), after finding which database it is for
 */
#include "gmdb-int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *fixup_conf_name(int version)
{
	return gm_xasprintf("fixup_db-v%d.conf", version);
}

static bool fixup_exists(const char *upstream, int version)
{
	char *name = fixup_conf_name(version);
	char *path = gm_xasprintf("%s/bootstrap/%s", upstream, name);
	bool ok = access(path, R_OK) == 0;
	free(name);
	free(path);
	return ok;
}

static const char *upstream_dir(const struct gm_fixup_opts *o)
{
	return gm_upstream_dir(o->upstream_dir);
}

/* gm_identify; with sc (a real run), on a session set up as the owner
 * session, whose hash is the shortcut's proof too (lib/shortcut.c) */
static int identify(struct gm_shortcut *sc, const char *db, struct gm_found *target, struct gm_error *err)
{
	char *fp = NULL, *user = NULL;
	int rc;

	if (!sc)
		return gm_identify(db, target, err);
	rc = gm_identify_as_owner_session(db, target, &fp, &user, err);
	if (rc == GM_OK && target->gnumed && !target->hash) {
		/* the hash function failed under the database's own search_path
		 * (an owner's operator ahead of pg_catalog, say): identify it
		 * the way gm-fingerprint_db does, with pg_catalog first; the
		 * shortcut is then proven, or not, in the bundles' session */
		gm_log(GM_LOG_INFO, "the schema hash failed in an owner session of \"%s\" (%s): computed with pg_catalog first",
		       db, target->problem ? target->problem : "?");
		gm_found_clear(target);
		rc = gm_identify(db, target, err);
	} else if (rc == GM_OK && target->hash && !target->hash_repaired) {
		gm_shortcut_proven(sc, fp, user);
	}
	free(fp);
	free(user);
	return rc;
}

/*
 * Which database, which version? With -d: that database, its version from
 * its hash (or the version given). Without: the GNUmed databases of the
 * cluster; the newest version among them; exactly one database of it.
 */
static int find_target(const struct gm_fixup_opts *o, struct gm_shortcut *sc, char **db, int *version,
		       struct gm_found *target, struct gm_error *err)
{
	struct gm_found *found = NULL;
	size_t n = 0;
	int rc, best = -1;
	size_t n_best = 0, unknown = 0;

	if (o->database) {
		rc = identify(sc, o->database, target, err);
		if (rc < 0)
			return rc;
		if (!target->gnumed)
			return gm_error_set(err, GM_ECHECK, "database \"%s\" is not a GNUmed database", o->database);
		*db = gm_xstrdup(o->database);
		*version = o->version >= 0 ? o->version : target->version;
		if (*version < 0) {
			gm_error_set(err, GM_ECHECK, "the schema hash of database \"%s\" is not the known hash of any version",
				     o->database);
			gm_error_detail(err, "Its hash is %s.", target->hash ? target->hash : "unknown");
			gm_error_hint(err, "Name the version (gm-fixup_server -d %s N) only if you know which it is; "
					   "the fixup refuses a hash that is not that version's.", o->database);
			return GM_ECHECK;
		}
		return GM_OK;
	}

	rc = gm_discover(&found, &n, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (found[i].version < 0)
			unknown++;
		if (found[i].version >= 0)
			gm_log(GM_LOG_INFO, "found GNUmed database \"%s\": v%d", found[i].name, found[i].version);
		else
			gm_log(GM_LOG_INFO, "found GNUmed database \"%s\": unknown schema hash %s", found[i].name,
			       found[i].hash ? found[i].hash : found[i].problem ? found[i].problem : "-");
	}
	if (o->version >= 0) {
		/* the version given: its databases */
		best = o->version;
	} else {
		for (size_t i = 0; i < n; i++)
			if (found[i].version > best)
				best = found[i].version;
	}
	for (size_t i = 0; i < n; i++)
		if (found[i].version == best && best >= 0)
			n_best++;
	if (n == 0) {
		rc = gm_error_set(err, GM_ECHECK, "the cluster has no GNUmed database");
	} else if (best < 0) {
		rc = gm_error_set(err, GM_ECHECK, "no GNUmed database of the cluster has a known schema hash");
		gm_error_hint(err, "Run gm-fingerprint_db on them; name one with -d DATABASE.");
	} else if (n_best == 0) {
		rc = gm_error_set(err, GM_ECHECK, "the cluster has no database with the schema hash of v%d", best);
	} else if (n_best > 1) {
		struct gm_buf names = GM_BUF_INIT;
		for (size_t i = 0; i < n; i++)
			if (found[i].version == best)
				gm_buf_addf(&names, "%s\"%s\"", names.len ? ", " : "", found[i].name);
		rc = gm_error_set(err, GM_ECHECK, "more than one v%d database: %s", best, gm_buf_str(&names));
		gm_error_hint(err, "Name the one to fix with -d DATABASE.");
		gm_buf_release(&names);
	} else {
		for (size_t i = 0; i < n; i++)
			if (found[i].version == best) {
				*db = gm_xstrdup(found[i].name);
				*version = best;
				*target = found[i];
				memset(&found[i], 0, sizeof(found[i]));
			}
		if (unknown)
			gm_log(GM_LOG_NOTICE, "note: %zu GNUmed database(s) of unknown version left aside", unknown);
	}
	gm_found_release(found, n);
	return rc;
}

struct summary {
	const char *database;
	int version;
	const char *conf;
	const char *hash;
	long statements, ignored;
	double seconds;
	int rc;
	const char *error;
};

static void print_json(const struct summary *s, FILE *out)
{
	fputs("{\n  \"database\": ", out);
	gm_json_string(out, s->database);
	fprintf(out, ",\n  \"version\": %d,\n  \"definition\": ", s->version);
	gm_json_string(out, s->conf);
	fprintf(out, ",\n  \"result\": \"%s\",\n  \"schema_hash\": ", s->rc == GM_OK ? "ok" : "failed");
	gm_json_string(out, s->hash);
	fprintf(out, ",\n  \"statements\": %ld,\n  \"ignored_errors\": %ld,\n  \"seconds\": %.2f,\n  \"log_file\": ",
		s->statements, s->ignored, s->seconds);
	gm_json_string(out, gm_log_file_path());
	fputs(",\n  \"error\": ", out);
	gm_json_string(out, s->error);
	fputs("\n}\n", out);
}

/* What is checked before anything else (and before root is dropped). */
static int precheck(const struct gm_fixup_opts *o, struct gm_error *err)
{
	if (access(upstream_dir(o), R_OK | X_OK) != 0) {
		gm_error_set(err, GM_EUSAGE, "no upstream tree at \"%s\": %s", upstream_dir(o), strerror(errno));
		gm_error_hint(err, "Install gnumed-server, or name the tree with --upstream-dir.");
		return GM_EUSAGE;
	}
	if (gm_hashes_from_tree(upstream_dir(o), err) < 0)
		return GM_ECHECK;
	if (o->version >= 0 && !fixup_exists(upstream_dir(o), o->version)) {
		gm_error_set(err, GM_EUSAGE, "upstream's tree has no fixup for v%d (no %s/bootstrap/fixup_db-v%d.conf)",
			     o->version, upstream_dir(o), o->version);
		return GM_EUSAGE;
	}
	if (gm_privs_drop(err) < 0)
		return GM_EFAIL;
	return GM_OK;
}

/*
 * Find the database and its fixup definition and check them (the hash is
 * the version's, every file readable): nothing is changed.
 */
static int prepare(const struct gm_fixup_opts *o, struct gm_shortcut *sc, struct gm_engine *e, struct gm_found *target, char **dbp,
		   int *versionp, char **confp, struct gm_error *err)
{
	char *db = NULL, *conf = NULL;
	int version = -1, rc = GM_OK;

	/* the definition names its database: use it when the version is given */
	if (o->version >= 0 && !o->database) {
		conf = fixup_conf_name(o->version);
		rc = gm_engine_prepare(e, upstream_dir(o), conf, NULL, err);
		if (rc < 0)
			goto out;
		rc = identify(sc, e->target, target, err);
		if (rc < 0)
			goto out;
		if (!target->gnumed) {
			rc = gm_error_set(err, GM_ECHECK, "database \"%s\" is not a GNUmed database", e->target);
			goto out;
		}
		db = gm_xstrdup(e->target);
		version = o->version;
	} else {
		rc = find_target(o, sc, &db, &version, target, err);
		if (rc < 0)
			goto out;
		if (!fixup_exists(upstream_dir(o), version)) {
			rc = gm_error_set(err, GM_ECHECK, "upstream's tree has no fixup definition for v%d, the version of \"%s\"",
					  version, db);
			gm_error_hint(err, "Nothing to do, or install the gnumed-server that has it.");
			goto out;
		}
		conf = fixup_conf_name(version);
		rc = gm_engine_prepare(e, upstream_dir(o), conf, db, err);
		if (rc < 0)
			goto out;
	}
	gm_log(o->check || o->list || o->found_said ? GM_LOG_INFO : GM_LOG_NOTICE, "database \"%s\" is v%d: applying %s",
	       db, version, conf);

	/* everything that can be checked before changing anything */
	if (!e->use_existing || e->drop_target)
		rc = gm_error_set(err, GM_ECHECK, "\"%s\" is not a fixup definition (it does not use the existing database)",
				  e->conf_path);
	if (rc == GM_OK && target->version != version) {
		rc = gm_error_set(err, GM_ECHECK, "database \"%s\" does not have the schema hash of v%d", db, version);
		if (target->version >= 0)
			gm_error_detail(err, "Its hash %s is the known hash of v%d.", target->hash, target->version);
		else
			gm_error_detail(err, "Its hash %s matches no known version.", target->hash ? target->hash : "(none)");
		gm_error_hint(err, "A fixup applies to the version it is for only: check the database with gm-fingerprint_db.");
	}
	if (rc == GM_OK)
		rc = gm_found_event_triggers_refused(target, err);
	if (rc == GM_OK)
		rc = gm_engine_check_files(e, err);
	/* python3 and psycopg2 are there: the python3 started early has
	 * loaded them, else the check says what is missing */
	if (rc == GM_OK && e->scripts.n && !(e->pyimport && gm_pyimport_ready(e->pyimport) == GM_OK)) {
		gm_pyimport_free(e->pyimport);
		e->pyimport = NULL;
		rc = gm_run_check_python(err);
	}
out:
	*dbp = db;
	*versionp = version;
	*confp = conf;
	return rc;
}

/* What the fixup writes (its changes, WAL) against what is free: printed
 * with --check, refused (GM_ECHECK) before anything is changed. */
static int check_space(const char *db, bool print, struct gm_error *err)
{
	struct gm_space_opts so = { .database = db, .changes = true };
	struct gm_space sp;
	struct gm_buf lines = GM_BUF_INIT;
	PGconn *c, *dbc = NULL;
	int rc = GM_EFAIL;

	gm_space_init(&sp);
	if ((c = gm_conn_open("template1", "gmdb check", err)) && (dbc = gm_conn_open(db, "gmdb check", err)))
		rc = gm_space_measure(c, dbc, &so, &sp, err);
	gm_conn_close(dbc);
	gm_conn_close(c);
	if (rc == GM_OK)
		rc = gm_space_verdict(&sp, &lines, err);
	if (print && lines.len)
		printf("free space: %s\n", gm_buf_str(&lines));
	else if (lines.len)
		gm_log(rc < 0 || sp.not_measured ? GM_LOG_WARNING : GM_LOG_INFO, "free space: %s", gm_buf_str(&lines));
	if (rc == GM_ECHECK)
		gm_error_hint(err, "Make room there, then run again. Nothing was changed.");
	gm_buf_release(&lines);
	gm_space_release(&sp);
	return rc;
}

int gm_fixup_resolve(const struct gm_fixup_opts *o, char **db, int *version, struct gm_error *err)
{
	struct gm_engine e;
	struct gm_found target;
	char *conf = NULL;
	int rc;

	*db = NULL;
	*version = -1;
	if ((rc = precheck(o, err)) < 0)
		return rc;
	memset(&target, 0, sizeof(target));
	gm_engine_init(&e);
	rc = prepare(o, NULL, &e, &target, db, version, &conf, err);
	if (rc < 0) {
		free(*db);
		*db = NULL;
	}
	gm_engine_release(&e);
	gm_found_clear(&target);
	free(conf);
	return rc;
}

static void prove_early(struct gm_engine *e)
{
	gm_shortcut_prove_early(e->rewrite_data, e->target, e->owner);
}

static void settle_proof(struct gm_engine *e)
{
	gm_shortcut_settle(e->rewrite_data);
}

int gm_fixup_run(const struct gm_fixup_opts *o, struct gm_error *err)
{
	struct gm_engine e;
	struct gm_found target;
	char *db = NULL, *conf = NULL, *hash = NULL;
	struct gm_fingerprint_pending *fpp = NULL;
	int version = -1, rc;
	PGconn *lock = NULL;
	struct gm_shortcut *shortcut = NULL;
	double t0 = gm_now();
	struct gm_step st;
	bool pooled = false;

	if ((rc = precheck(o, err)) < 0)
		return rc;
	/* a real run ends the clean way on ^C, SIGTERM or SIGHUP
	 * (lib/signals.c): the statement running is cancelled, the run fails
	 * there and takes back what it set up for itself (the temporary owner
	 * access, python3's directory). --check and --list change nothing and
	 * end at once. */
	if (!o->check && !o->list)
		gm_signals_install();
	memset(&target, 0, sizeof(target));
	gm_engine_init(&e);
	/* python3 loads its modules for the data import scripts while the
	 * database is identified (lib/pyimport.c); it connects only when the
	 * step runs, and not at all if it does not */
	if (!o->check && !o->list)
		e.pyimport = gm_pyimport_start(upstream_dir(o), NULL);
	/* a real run identifies the database on a session set up as the
	 * owner session: where its hash is the function's (definitions gmdb
	 * does not know), that proves the shortcut's hash function too */
	if (!o->check && !o->list)
		shortcut = gm_shortcut_new(&e.conn);
	/* until the first change, only reading: the run's own sessions are
	 * kept and reused (gm_conn_pool_begin) */
	gm_conn_pool_begin();
	pooled = true;
	rc = prepare(o, shortcut, &e, &target, &db, &version, &conf, err);
	if (rc < 0)
		goto out;
	if (o->list) {
		gm_engine_print_list(&e, stdout);
		goto out;
	}
	if (!o->check && (rc = check_space(db, false, err)) < 0)
		goto out;
	if (o->check) {
		size_t files = e.superuser_files.paths.n + e.db_files.paths.n;
		for (size_t i = 0; i < e.n_bundles; i++)
			files += e.bundles[i].files.paths.n;
		printf("database \"%s\": v%d, schema hash %s%s\n", db, version, target.hash,
		       target.hash_repaired ? " (with upstream's repaired hash function)" : "");
		printf("definition: %s (%zu SQL files, %zu data import scripts): all readable\n", e.conf_path, files,
		       e.scripts.n);
		if ((rc = check_space(db, true, err)) < 0)
			goto out;
		printf("ready: gm-fixup_server would apply it now\n");
		goto out;
	}

	if ((rc = gm_signals_check(err)) < 0)
		goto out;
	rc = gm_lock_acquire(db, &lock, err);
	if (rc < 0)
		goto out;
	e.jobs = o->jobs;
	gm_conn_pool_end();
	pooled = false;

	gm_step_begin(&st, "preparing the roles");
	if ((rc = gm_signals_check(err)) == GM_OK)
		rc = gm_engine_bootstrap_server(&e, err);
	gm_step_end(&st, rc, NULL);
	if (rc == GM_OK)
		gm_log(GM_LOG_INFO, "using the existing database \"%s\"", db);
	/* the shortcut's proof on a session of its own while the constraints
	 * are revalidated (not while the system catalogs are reindexed: their
	 * locks and the hash's could deadlock), over before the first file */
	e.rewrite_data = shortcut;
	e.after_reindex = prove_early;
	e.after_revalidate = settle_proof;
/* the next step, unless a signal came (then the run fails before it) */
#define NEXT(call)                                   \
	do {                                         \
		if (rc == GM_OK)                     \
			rc = gm_signals_check(err);  \
		if (rc == GM_OK)                     \
			rc = (call);                 \
	} while (0)
	NEXT(gm_engine_superuser_steps(&e, err));
	NEXT(gm_engine_owner_session(&e, err));
	/* a signal cancels the statement running on the owner session */
	if (rc == GM_OK)
		gm_signals_watch(e.conn);
	e.rewrite = gm_shortcut_rewrite;
	NEXT(gm_engine_bundles(&e, err));
	NEXT(gm_engine_notifications(&e, err));
	NEXT(gm_engine_security_settings(&e, err));
	NEXT(gm_engine_import_scripts(&e, err));
	/* upstream's fingerprint (its step 17) on a session of its own, beside
	 * the hash: both read the finished database */
	if (rc == GM_OK && (rc = gm_signals_check(err)) == GM_OK)
		fpp = gm_engine_fingerprint_begin(db, e.owner, "fixed-up");
	if (rc == GM_OK)
		rc = gm_engine_verify_result(&e, &hash, err);
	gm_engine_fingerprint_end(fpp, db, "fixed-up", rc == GM_OK ? hash : NULL);
	gm_signals_watch(NULL);
#undef NEXT
	if (rc == GM_OK)
		rc = gm_signals_check(err);
	if (rc == GM_OK)
		gm_engine_check_hba(&e);
	if (rc < 0 && gm_signals_caught()) {
		/* exit 1, whatever the step that was stopped said */
		gm_signals_explain(err);
		rc = GM_EFAIL;
		free(err->hint);
		err->hint = NULL;
		/* (in the downtime procedure its own hint says what it undid) */
		if (!o->in_procedure)
			gm_error_hint(err, "The fixup changed \"%s\" statement by statement up to where it was stopped; "
					   "the log says which statements ran. Run gm-fixup_server again to apply it "
					   "completely.", db);
	} else if (rc < 0) {
		if (!o->in_procedure)
			gm_error_hint(err, "The fixup changed \"%s\" statement by statement up to the failure; "
					   "the log says which statements ran.", db);
	} else {
		gm_log(GM_LOG_NOTICE, "fixup of \"%s\" (v%d) done in %.1f s: %ld statements, schema hash %s",
		       db, version, gm_now() - t0, e.statements, hash);
	}

out:
	if (pooled)
		gm_conn_pool_end();
	if (o->json && !o->list) {
		/* the database named, also when it could not be found */
		struct summary s = { db ? db : o->database, version, e.conf_path, hash ? hash : target.hash, e.statements, e.ignored_errors,
				     gm_now() - t0, rc, rc < 0 ? err->message : NULL };
		print_json(&s, o->json_to ? o->json_to : stdout);
	}
	gm_lock_release(lock);
	gm_engine_release(&e);
	gm_shortcut_free(shortcut);
	gm_found_clear(&target);
	free(db);
	free(conf);
	free(hash);
	return rc;
}
