#!/bin/bash
# The guard: gmdb runs only an upstream engine and a definition format it
# knows. Copies of the real upstream tree, each altered in one place the
# way a new upstream release could change it (a generator, a step, a key,
# a section, one of the gmPG2 functions the engine picks objects with), and
# copies of upstream's development tree (the future v23) altered so: every
# one is refused with a message naming exactly what is unknown, before
# anything is changed; an alteration of a part gmdb does not reproduce
# (logging in gmPG2) is not, nor is the development tree itself.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
serialize_gnumed_tests
lock_roles
work=$GMDB_TESTDIR/guard
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
export GMDB_LOG_DIR=$work/logs GMDB_BACKUP_DIR=$work/backups
mkdir -p "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR" && chmod 777 "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR"
for d in gnumed_v21 gnumed_v22; do drop_db "$d"; done
clone_db gmref_v21 gnumed_v21
clone_db gmref_v22 gnumed_v22_ref

# the state of the cluster that a refused run must not change: the GNUmed
# databases, the GNUmed roles and their members (other tests that do not
# hold the names lock may make databases and roles of their own meanwhile)
state() {
	sql postgres -c "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'gnumed\_%'" &&
	sql postgres -c "SELECT string_agg(rolname || ':' || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles
		WHERE rolname LIKE 'gm-%' OR rolname LIKE 'gnumed\_v%'" &&
	sql postgres -c "SELECT string_agg(r.rolname || '>' || m.rolname || ':' || a.admin_option, ','
		ORDER BY r.rolname || '>' || m.rolname || ':' || a.admin_option)
		FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
		WHERE r.rolname LIKE 'gm-%' OR r.rolname LIKE 'gnumed\_v%'" &&
	sql gnumed_v21 -c "SELECT md5(gm.concat_table_structure()) || ' ' || (SELECT count(*) FROM gm.schema_revision)" &&
	sql postgres -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = 'gnumed_v21'"
}
before=$(state)

# a fresh copy of the real tree: bootstrap/ and pycommon/ copied, sql/ linked
fresh_tree() {
	tree=$work/tree
	rm -rf "$tree" && mkdir -p "$tree"
	cp -a "$GMDB_UPSTREAM_DIR/bootstrap" "$GMDB_UPSTREAM_DIR/pycommon" "$tree/"
	ln -s "$GMDB_UPSTREAM_DIR/sql" "$tree/sql"
	chmod -R a+rX "$tree"
}

# refused WHAT PATTERN TOOL ARGS...: the run exits 3 naming PATTERN and leaves
# the cluster as it was
refused() {
	local what=$1 pattern=$2; shift 2
	run "$@"
	is "$rc" 3 "$what: refused (exit 3)"
	like "$err" "$pattern" "$what: the message names it"
	like "$err" 'Nothing was changed' "$what: and says that nothing was changed"
	is "$(state)" "$before" "$what: databases, roles, memberships and the source are as they were"
}

# 0. the unaltered copy is accepted (--check passes the guard and goes on)
fresh_tree
run gm-upgrade_server --check --upstream-dir "$tree" 21 22
is "$rc" 0 "the unaltered copy of the tree: --check ready"

# 1. a changed audit generator: another trigger template
fresh_tree
sed -i '0,/NEW\./s/NEW\./NEW ./' "$tree/bootstrap/gmAuditSchemaGenerator.py"
cmp -s "$tree/bootstrap/gmAuditSchemaGenerator.py" "$GMDB_UPSTREAM_DIR/bootstrap/gmAuditSchemaGenerator.py"
is "$?" 1 "(the generator was altered)"
refused "a changed audit generator" 'bootstrap/gmAuditSchemaGenerator\.py \(sha256' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$tree" 21 22

# 2. a new step in the engine
fresh_tree
sed -i 's/^\tif not bootstrap_auditing():/\tif not validate_collations():\n\t\texit_with_msg("x")\n&/' \
	"$tree/bootstrap/bootstrap_gm_db_system.py"
grep -q validate_collations "$tree/bootstrap/bootstrap_gm_db_system.py"
ok $? "(a step was added to the engine)"
refused "a new step in the engine" 'bootstrap/bootstrap_gm_db_system\.py \(sha256' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$tree" 21 22
refused "a new step in the engine, fixup" 'bootstrap/bootstrap_gm_db_system\.py \(sha256' \
	gm-fixup_server --upstream-dir "$tree" 21

# 3. one of the gmPG2 functions the engine picks objects with
fresh_tree
sed -i '/^def get_child_tables/,/^def /s/relname/relname::text/' "$tree/pycommon/gmPG2.py"
refused "a changed gmPG2.get_child_tables()" 'pycommon/gmPG2\.py: function get_child_tables\(\)' \
	gm-upgrade_server --check --upstream-dir "$tree" 21 22

# 4. a new module beside the engine
fresh_tree
printf 'AUDIT_DEFS = {}\n' >"$tree/bootstrap/gmAuditSchemaDefs.py"
refused "a new engine module" 'bootstrap/gmAuditSchemaDefs\.py \(a module' \
	gm-upgrade_server --check --upstream-dir "$tree" 21 22

# 5. an unknown key in the definition
fresh_tree
sed -i 's/^\(revalidate = .*\)$/\1\nvalidate collations = 1/' "$tree/bootstrap/update_db-v21_v22.conf"
grep -q 'validate collations' "$tree/bootstrap/update_db-v21_v22.conf"
ok $? "(a key was added to update_db-v21_v22.conf)"
refused "an unknown key" '"validate collations" in \[database gnumed_v22\]' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$tree" 21 22

# 6. an unknown section
fresh_tree
printf '\n[cluster]\nhost name =\nport = 5432\n' >>"$tree/bootstrap/update_db-v21_v22.conf"
refused "an unknown section" 'section \[cluster\]' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$tree" 21 22

# 7. gmPG2 changed where gmdb reproduces nothing (logging): accepted
fresh_tree
sed -i 's/^def run_ro_queries(/# gmdb test: a comment line\n&/' "$tree/pycommon/gmPG2.py"
printf '\n# a new line at the end\n' >>"$tree/pycommon/gmPG2.py"
run gm-upgrade_server --check --upstream-dir "$tree" 21 22
is "$rc" 0 "gmPG2.py changed outside the engine's functions: --check ready"

# 8. upstream's development tree (the future v23): recognised as master
# 8a85b32's engine by its fingerprints, and run (--check: ready); copies
# of it altered in one place are not recognised (a shared input of the
# project: missing, the test fails)
need_upstream_master "$work/master"
mtree=$GMDB_UPSTREAM_MASTER_DIR
run gm-upgrade_server --check --upstream-dir "$mtree" 21 22
is "$rc" 0 "upstream's development tree, 21 22: --check ready"
clone_db gmref_v22 gnumed_v22
before=$(state)
run gm-upgrade_server --check --upstream-dir "$mtree" 22 23
is "$rc" 0 "upstream's development tree, 22 23: --check ready"
like "$out" "upgrade_db-v22_v23\.conf first applies .*fixup_db-v22\.conf to \"gnumed_v22\" in place; gmdb applies it to the new database" \
	"22 23: the aggregate's fixup goes to the new database, the check says"
run gm-fixup_server --check --upstream-dir "$mtree" 22
is "$rc" 0 "upstream's development tree, fixup: --check ready"
master_copy() {
	mcopy=$work/mcopy
	rm -rf "$mcopy" && mkdir -p "$mcopy" &&
	cp -a "$mtree/bootstrap" "$mtree/pycommon" "$mtree/__init__.py" "$mcopy/" && ln -s "$mtree/sql" "$mcopy/sql" &&
	chmod -R a+rX "$mcopy"
}
master_copy
sed -i 's/NEW.row_version := 1;/NEW.row_version := 0;/' "$mcopy/bootstrap/gmAuditSchemaDefs.py"
refused "the development tree, another audit template" 'bootstrap/gmAuditSchemaDefs\.py \(sha256' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$mcopy" 22 23
master_copy
sed -i 's/^def revalidate_constraints(/# gmdb test: a comment line\n&/' "$mcopy/pycommon/gmPG2.py"
refused "the development tree, a changed gmPG2.py" 'pycommon/gmPG2\.py \(sha256' \
	gm-upgrade_server --check --upstream-dir "$mcopy" 22 23
master_copy
sed -i 's/^\(revalidate = .*\)$/\1\nvalidate collations = 1/' "$mcopy/bootstrap/update_db-v22_v23.conf"
grep -q 'validate collations' "$mcopy/bootstrap/update_db-v22_v23.conf"
ok $? "(a key was added to the development tree's update_db-v22_v23.conf)"
refused "the development tree, an unknown key" '"validate collations" in \[database gnumed_v23\]' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$mcopy" 22 23
master_copy
printf '\n[server gnumed]\nport = 5432\n' >>"$mcopy/bootstrap/fixup_db-v22.conf"
refused "the development tree, 22.x's [server] section" 'section \[server gnumed\]' \
	gm-fixup_server --upstream-dir "$mcopy" 22
refused "the development tree, 22.x's [server] section in the aggregate's fixup" 'section \[server gnumed\]' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$mcopy" 22 23
master_copy
sed -i 's/^update_db-v22_v23.conf$/update_db-v22_v23.conf\nfixup_db-v23.conf/' "$mcopy/bootstrap/upgrade_db-v22_v23.conf"
refused "the development tree, an aggregate of another form (a third part)" \
	'upgrade_db-v22_v23\.conf" is not an aggregate gmdb knows: it lists \[fixup_db-v22\.conf, update_db-v22_v23\.conf, fixup_db-v23\.conf\]' \
	gm-upgrade_server --no-backup --yes --upstream-dir "$mcopy" 22 23

# its own engine makes a v23 (fixing up a copy of the real v22 first, as
# its upgrade-db.sh does; the run the cluster keeps, master_v23_cached);
# gm-fingerprint_db names it with that tree's hashes, without them it cannot
drop_db gnumed_v22
master_v23_cached "$work/master.log" gnumed_v23
ok $? "upstream's development engine: upgrade_db-v22_v23.conf on a copy of the real v22"
run env GMDB_UPSTREAM_DIR="$mtree" gm-fingerprint_db -e 23 gnumed_v23
is "$rc" 0 "gm-fingerprint_db -e 23 with the development tree: a v23"
like "$out" "Schema hash: 73b15f63b0946e6837f306d770991f97 \(v23, known from the table in $mtree/pycommon/gmPG2\.py\)" \
	"the hash is v23's, and the line says where that is known from"
like "$out" 'Most recent \.version_logged_when: 20' "the v23 fingerprint shows the v23 audit columns"
run gm-fingerprint_db --json gnumed_v23
is "$rc" 0 "gm-fingerprint_db without the development tree"
like "$out" '"schema_version": null' "does not know v23"
run env GMDB_UPSTREAM_DIR="$mtree" gm-fingerprint_db --json gmref_v22
like "$out" "\"schema_hash_known_from\": \"gmdb's table\"" "v22's hash is gmdb's own"
drop_db gnumed_v22; drop_db gnumed_v23
before=$(state) # upstream's engine granted roles

# 9. a tree whose table of known hashes contradicts gmdb's for a released version
fresh_tree
sed -i "s/^\(\t21: '\)e6a51a89dd22b75b61ead8f7083f251f'/\100000000000000000000000000000000'/" "$tree/pycommon/gmPG2.py"
grep -q "21: '00000000000000000000000000000000'" "$tree/pycommon/gmPG2.py"
ok $? "(v21's hash was changed in the copy's gmPG2.py)"
refused "a contradicting table of hashes" "says v21's hash is 00000000000000000000000000000000; gmdb knows it as e6a51a89dd22b75b61ead8f7083f251f" \
	gm-upgrade_server --check --upstream-dir "$tree" 21 22
run env GMDB_UPSTREAM_DIR="$tree" gm-fingerprint_db gnumed_v21
is "$rc" 3 "gm-fingerprint_db refuses that tree too"

# 10. the result check: the audit trail is tried on the new database. A
# step after the audit generator (here: a data import script) that leaves
# triggers which no longer fit their log tables passes the hash and
# upstream's plausibility checks (neither runs a trigger) and would fail
# the practice's first edit; the upgrade fails instead, and nothing of the
# new database is left
fresh_tree
rm "$tree/sql" && mkdir -p "$tree/sql" && cp -a "$GMDB_UPSTREAM_DIR/sql/v21-v22" "$tree/sql/" &&
	for d in "$GMDB_UPSTREAM_DIR"/sql/*; do [ -e "$tree/sql/${d##*/}" ] || ln -s "$d" "$tree/sql/"; done
cat >"$tree/sql/v21-v22/python/gmdb-test-break-audit.py" <<'PY'
def run(conn=None):
	curs = conn.cursor()
	curs.execute('ALTER TABLE audit.audit_trail RENAME COLUMN orig_when TO orig_when_renamed')
	curs.close()
	conn.commit()
	return True
PY
sed -i 's|^v22-17-fixup-form-templates.py$|&\ngmdb-test-break-audit.py|' "$tree/bootstrap/update_db-v21_v22.conf"
chmod -R a+rX "$tree"
grep -q '^gmdb-test-break-audit.py$' "$tree/bootstrap/update_db-v21_v22.conf"
ok $? "(an import script that renames an audit column was added)"
drop_db gnumed_v22
run gm-upgrade_server --no-backup --yes --upstream-dir "$tree" 21 22
is "$rc" 3 "triggers that do not fit their tables: the upgrade fails (exit 3)"
like "$err" 'the audit trail does not work: an UPDATE of a row of [a-z_]+\.[a-z_0-9]+ failed: .*orig_when.* \(SQLSTATE 42703\)' \
	"the audit check names the table, the statement and PostgreSQL's message"
like "$err" 'Nothing of the new database is kept' "and says what happens"
[ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v22'")" = 0 ]
ok $? "no target is left behind"

# the same run on the real tree passes the check (that it leaves every
# sequence where it was: tests/gnumed/audit-check.sh)
run gm-upgrade_server --no-backup --yes 21 22
is "$rc" 0 "the real tree: the upgrade passes the audit check"
like "$err" 'checking the audit trail and notification triggers \.\.\. ok \([0-9]+ tables: [1-9][0-9]* updates and [1-9][0-9]* deletes audited' \
	"rows were updated and deleted, and each was audited"
drop_db gnumed_v22

# A database with an enabled event trigger (a GNUmed database has none): it
# would fire on the DDL of the upgrade or fixup, in gmdb's superuser
# sessions before PostgreSQL 17, and where upstream's engine would fire it
# gmdb would not. Both refuse before changing anything, naming it; a login
# trigger (PostgreSQL 17) and a disabled one are no reason to refuse.
# event_trigger DB EVENT: an enabled event trigger gd_ddl on EVENT in DB
event_trigger() {
	sql_rw "$1" -v ev="$2" <<'SQL' >/dev/null || bail "cannot make the event trigger in $1"
CREATE FUNCTION public.gd_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'ddl'; END $$;
CREATE EVENT TRIGGER gd_ddl ON :ev EXECUTE FUNCTION public.gd_ddl();
SQL
}
event_trigger gnumed_v21 ddl_command_end
before=$(state)
run gm-upgrade_server --no-backup --yes 21 22
is "$rc" 3 "an enabled event trigger in the source: the upgrade is refused (exit 3)"
like "$err" 'event triggers: database "gnumed_v21" has enabled event triggers, which would fire on the DDL this run executes: gd_ddl \(ddl_command_end\)\. Disable them for the run \(ALTER EVENT TRIGGER name DISABLE\)' \
	"the preflight names it and says what to do, as gm-fixup_server does"
is "$(state)" "$before" "nothing was changed"
[ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v22'")" = 0 ]
ok $? "no target was made"
clone_db gmref_v22 gd_v22
event_trigger gd_v22 sql_drop
revs=$(sql gd_v22 -c "SELECT count(*) FROM gm.schema_revision")
run gm-fixup_server -d gd_v22
is "$rc" 3 "an enabled event trigger: the fixup is refused (exit 3)"
like "$err" 'error: database "gd_v22" has enabled event triggers, which would fire on the DDL this run executes: gd_ddl \(sql_drop\)' \
	"it names the trigger"
like "$err" 'hint: Disable them for the run \(ALTER EVENT TRIGGER name DISABLE\)' "and says what to do"
is "$(sql gd_v22 -c "SELECT count(*) FROM gm.schema_revision")" "$revs" "nothing of the fixup ran"
sql_rw gd_v22 -c "ALTER EVENT TRIGGER gd_ddl DISABLE" >/dev/null
run gm-fixup_server --check -d gd_v22
is "$rc" 0 "the trigger disabled: gm-fixup_server --check is content"
drop_db gd_v22
sql_rw gnumed_v21 -c "DROP EVENT TRIGGER gd_ddl" -c "DROP FUNCTION public.gd_ddl()" >/dev/null

drop_db gnumed_v22_ref
done_testing
