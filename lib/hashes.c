/*
 * hashes.c - the known schema hash of every GNUmed database version
 *
 * The one place that knows them. Two sources:
 *
 *  - gmdb's own table (upstream's gmPG2.known_schema_hashes of the releases
 *    gmdb was built against). Version 0 is upstream's "not released, testing
 *    only" placeholder, which never matches, so it is not listed;
 *  - the upstream tree a run uses (gm_hashes_from_tree): the
 *    known_schema_hashes table of its pycommon/gmPG2.py, and its
 *    sql/vX-vY/gm_db-gnumed_vN-fingerprint.txt files whose "Schema hash:"
 *    line names the version, "(vN)". A newer tree brings the hash of a
 *    newer version without a new gmdb. A tree whose gmPG2 table
 *    contradicts gmdb's for a version gmdb knows is refused; fingerprint
 *    files are snapshots upstream took on the way (v21's holds a hash from
 *    before v21 was released), so a contradicting one is only logged.
 */
#include "gmdb-int.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int version;
	const char *hash;
} known_hashes[] = {
	{ 2, "b09d50d7ed3f91ddf4c4ddb8ea507720" },
	{ 3, "e73718eaf230d8f1d2d01afa8462e176" },
	{ 4, "4428ccf2e54c289136819e701bb095ea" },
	{ 5, "7e7b093af57aea48c288e76632a382e5" },
	{ 6, "90e2026ac2efd236da9c8608b8685b2d" },
	{ 7, "6c9f6d3981483f8e9433df99d1947b27" },
	{ 8, "89b13a7af83337c3aad153b717e52360" },
	{ 9, "641a9b2be3c378ffc2bb2f0b1c9f051d" },
	{ 10, "7ef42a8fb2bd929a2cdd0c63864b4e8a" },
	{ 11, "03042ae24f3f92877d986fb0a6184d76" },
	{ 12, "06183a6616db62257e22814007a8ed07" },
	{ 13, "fab7c1ae408a6530c47f9b5111a0841e" },
	{ 14, "e170d543f067d1ea60bfe9076b1560cf" },
	{ 15, "70012ff960b77ecdff4981c94b5b55b6" },
	{ 16, "0bcf44ca22c479b52976e5eda1de8161" },
	{ 17, "161428ee97a00e3bf56168c3a15b7b50" },
	{ 18, "a0f9efcabdecfb4ddb6d8c0b69c02092" },
	{ 19, "57f009a159f55f77525cc0291e0c8b60" },
	{ 20, "baed1901ed4c2f272b56c8cb2c6d88e8" },
	{ 21, "e6a51a89dd22b75b61ead8f7083f251f" },
	{ 22, "bf45f01327fb5feb2f5d3c06ba4a6792" },
};

#define N_KNOWN (sizeof(known_hashes) / sizeof(known_hashes[0]))

/* what the tree in use added: versions gmdb's table does not have */
struct tree_hash {
	int version;
	char hash[33];
	char *source;
};
static struct tree_hash *tree_hashes;
static size_t n_tree;
static char *tree_loaded; /* the tree they came from */

const char *gm_hash_for_version(int version)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		if (known_hashes[i].version == version)
			return known_hashes[i].hash;
	for (size_t i = 0; i < n_tree; i++)
		if (tree_hashes[i].version == version)
			return tree_hashes[i].hash;
	return NULL;
}

int gm_version_for_hash(const char *hash)
{
	if (!hash)
		return -1;
	for (size_t i = 0; i < N_KNOWN; i++)
		if (strcmp(known_hashes[i].hash, hash) == 0)
			return known_hashes[i].version;
	for (size_t i = 0; i < n_tree; i++)
		if (strcmp(tree_hashes[i].hash, hash) == 0)
			return tree_hashes[i].version;
	return -1;
}

int gm_hash_latest_version(void)
{
	int v = known_hashes[N_KNOWN - 1].version;
	for (size_t i = 0; i < n_tree; i++)
		if (tree_hashes[i].version > v)
			v = tree_hashes[i].version;
	return v;
}

const char *gm_hash_source(int version)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		if (known_hashes[i].version == version)
			return "gmdb's table";
	for (size_t i = 0; i < n_tree; i++)
		if (tree_hashes[i].version == version)
			return tree_hashes[i].source;
	return NULL;
}

static bool is_md5_hex(const char *s, size_t n)
{
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One (version, hash) from the tree. authoritative: gmPG2's table, whose
 * contradictions refuse the tree; else a fingerprint file's, only logged. */
static int add_tree_hash(int version, const char *hash, const char *source, bool authoritative,
			 struct gm_error *err)
{
	const char *mine = NULL;
	int other = -1;

	for (size_t i = 0; i < N_KNOWN; i++) {
		if (known_hashes[i].version == version)
			mine = known_hashes[i].hash;
		if (strcmp(known_hashes[i].hash, hash) == 0)
			other = known_hashes[i].version;
	}
	for (size_t i = 0; !mine && i < n_tree; i++) {
		if (tree_hashes[i].version == version)
			mine = tree_hashes[i].hash;
		if (strcmp(tree_hashes[i].hash, hash) == 0)
			other = tree_hashes[i].version;
	}
	if ((mine && strcmp(mine, hash) != 0) || (other >= 0 && other != version)) {
		if (!authoritative) {
			gm_log(GM_LOG_DEBUG, "%s: v%d %s is not the known hash (%s): a snapshot, ignored", source, version,
			       hash, mine ? mine : "another version's");
			return GM_OK;
		}
		gm_error_set(err, GM_ECHECK, "the upstream tree's table of schema hashes contradicts gmdb's");
		if (mine && strcmp(mine, hash) != 0)
			gm_error_detail(err, "%s says v%d's hash is %s; gmdb knows it as %s.", source, version, hash, mine);
		else
			gm_error_detail(err, "%s says %s is v%d's hash; gmdb knows it as v%d's.", source, hash, version, other);
		gm_error_hint(err, "Nothing was changed. A released version's hash never changes: check where this "
			      "tree came from (dpkg --verify gnumed-server), or name another with --upstream-dir.");
		return GM_ECHECK;
	}
	if (mine)
		return GM_OK;
	tree_hashes = gm_xrealloc(tree_hashes, (n_tree + 1) * sizeof(*tree_hashes));
	tree_hashes[n_tree].version = version;
	memcpy(tree_hashes[n_tree].hash, hash, 32);
	tree_hashes[n_tree].hash[32] = '\0';
	tree_hashes[n_tree].source = gm_xstrdup(source);
	n_tree++;
	gm_log(GM_LOG_INFO, "schema hash of v%d from %s: %s", version, source, hash);
	return GM_OK;
}

/* known_schema_hashes = { N: 'hash', ... } in gmPG2.py */
static int from_gmpg2(const char *dir, struct gm_error *err)
{
	char *path = gm_xasprintf("%s/pycommon/gmPG2.py", dir), *text = NULL;
	struct gm_error ignored = GM_ERROR_INIT;
	int rc = GM_OK;
	const char *p;

	if (gm_read_file(path, &text, NULL, &ignored) < 0) {
		gm_log(GM_LOG_DEBUG, "no schema hashes from %s: %s", path, ignored.message);
		gm_error_release(&ignored);
		free(path);
		return GM_OK;
	}
	p = strstr(text, "\nknown_schema_hashes = {");
	while (p && rc == GM_OK) {
		const char *line = strchr(p + 1, '\n');
		const char *q;
		char *end;
		long v;

		if (!line)
			break;
		line++;
		q = line;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '}')
			break;
		p = line;
		if (*q < '0' || *q > '9')
			continue; /* a comment, an empty line */
		v = strtol(q, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (*end != ':')
			continue;
		end++;
		while (*end == ' ' || *end == '\t')
			end++;
		if ((*end == '\'' || *end == '"') && v > 0 && v < 10000) {
			const char *h = end + 1, *close = strchr(h, *end);
			if (close && is_md5_hex(h, (size_t)(close - h))) {
				char hash[33];
				char *src = gm_xasprintf("the table in %s", path);
				memcpy(hash, h, 32);
				hash[32] = '\0';
				rc = add_tree_hash((int)v, hash, src, true, err);
				free(src);
			}
		}
	}
	free(text);
	free(path);
	return rc;
}

/* sql/vX-vY/gm_db-gnumed_vN-fingerprint.txt: "Schema hash: HASH (vN)" */
static void from_fingerprint_files(const char *dir)
{
	char *sqldir = gm_xasprintf("%s/sql", dir);
	DIR *d = opendir(sqldir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *sub;
		DIR *d2;
		struct dirent *f;

		if (de->d_name[0] != 'v')
			continue;
		sub = gm_xasprintf("%s/%s", sqldir, de->d_name);
		d2 = opendir(sub);
		while (d2 && (f = readdir(d2))) {
			char *path, *text = NULL;
			const char *h;
			struct gm_error ignored = GM_ERROR_INIT;

			if (strncmp(f->d_name, "gm_db-gnumed_v", 14) != 0 || !strstr(f->d_name, "-fingerprint.txt"))
				continue;
			path = gm_xasprintf("%s/%s", sub, f->d_name);
			if (gm_read_file(path, &text, NULL, &ignored) == GM_OK && (h = strstr(text, "Schema hash:"))) {
				const char *e;
				h += 12;
				while (*h == ' ')
					h++;
				e = h;
				while ((*e >= '0' && *e <= '9') || (*e >= 'a' && *e <= 'f'))
					e++;
				if (is_md5_hex(h, (size_t)(e - h)) && strncmp(e, " (v", 3) == 0) {
					char hash[33], *end;
					long v = strtol(e + 3, &end, 10);
					memcpy(hash, h, 32);
					hash[32] = '\0';
					if (*end == ')' && v > 0 && v < 10000)
						add_tree_hash((int)v, hash, path, false, NULL);
				}
			}
			gm_error_release(&ignored);
			free(text);
			free(path);
		}
		if (d2)
			closedir(d2);
		free(sub);
	}
	if (d)
		closedir(d);
	free(sqldir);
}

int gm_hashes_from_tree(const char *upstream_dir, struct gm_error *err)
{
	int rc;

	if (tree_loaded && strcmp(tree_loaded, upstream_dir) == 0)
		return GM_OK;
	for (size_t i = 0; i < n_tree; i++)
		free(tree_hashes[i].source);
	free(tree_hashes);
	tree_hashes = NULL;
	n_tree = 0;
	free(tree_loaded);
	tree_loaded = NULL;
	rc = from_gmpg2(upstream_dir, err);
	if (rc < 0) {
		for (size_t i = 0; i < n_tree; i++)
			free(tree_hashes[i].source);
		free(tree_hashes);
		tree_hashes = NULL;
		n_tree = 0;
		return rc;
	}
	from_fingerprint_files(upstream_dir);
	tree_loaded = gm_xstrdup(upstream_dir);
	return GM_OK;
}
