#!/bin/bash
# gm-upgrade_server against upstream, side by side: on copies of the same
# real databases, gmdb's 21 22 and 20 21 must make what upstream's engine
# made of them (the reference gmref_v22 was made by upstream's
# update_db-v21_v22.conf from gmref_v21; gmref_v21 by upstream's
# update_db-v20_v21.conf from gmref_v20), leave the source as it was, and
# clean up after every failure.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
work=$GMDB_TESTDIR/upgrade
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
# in a copy of the shared cluster (the reference databases and roles): the
# real names are its own for the whole test
trap '"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$work/cluster" >/dev/null 2>&1; rm -rf "$work/cluster"' EXIT
copy_reference_cluster "$work/cluster"
export GMDB_LOG_DIR=$work/logs GMDB_BACKUP_DIR=$work/backups
mkdir -p "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR" && chmod 777 "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR"
# pk_audit: rows logged by one multi-row statement are numbered in the order
# PostgreSQL scans them, which depends on when pages were pruned, i.e. on
# whatever else the cluster was doing: a property of the run, like the times.
masks=(-B -m modified_when -m orig_when -m audit_when -m pk_audit -m gm.schema_revision.imported -t clin.episode.summary)
same() { PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$work/cmp-$1-$2" "${@:3}" "$1" "$2" 2>&1; }
exists() { [ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }
for d in gnumed_v20 gnumed_v21 gnumed_v22; do drop_db "$d"; done

# --- 21 22, with a backup --------------------------------------------------------
clone_db gmref_v21 gnumed_v21
clone_db gmref_v21 up_source_before
run gm-upgrade_server --check 21 22
is "$rc" 0 "--check 21 22 on a real v21: ready"
like "$out" 'source: database "gnumed_v21" has the known schema hash of v21' "--check verifies the source's hash"
like "$out" 'target: database "gnumed_v22" does not exist yet' "and that the target is absent"
run gm-upgrade_server --json 21 22
is "$rc" 0 "gm-upgrade_server 21 22"
like "$err" 'verifying the schema hash of "gnumed_v22" \.\.\. ok' "the result has the known v22 hash"
like "$err" 'checking the migrated data for plausibility \.\.\. ok' "upstream's plausibility checks passed"
printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["result"] == "ok", d
assert d["target_hash"] == "bf45f01327fb5feb2f5d3c06ba4a6792", d
assert d["backup"] and d["log_file"] and len(d["steps"]) > 5, d
print(d["backup"])' >"$work/json.out" 2>&1
ok $? "--json: result, hash, backup, log file, steps"
backup=$(tail -n 1 "$work/json.out")
[ -d "$backup" ] && pg_restore --list "$backup" >/dev/null 2>&1
ok $? "the backup is a dump pg_restore reads"
ls "$backup"/*.dat >/dev/null 2>&1 && ! ls "$backup" | grep -q '\.gz$'
ok $? "it is not compressed (--backup-compress 0, the default, as upstream's tar)"
out=$(same gmref_v22 gnumed_v22 "${masks[@]}")
ok $? "gmdb's v22 is upstream's v22: schema, rows (run times masked), roles"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20
out=$(same up_source_before gnumed_v21)
ok $? "the source gnumed_v21 is exactly as it was (nothing masked)"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20
comment() { sql postgres -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = '$1'"; }
like "$(comment gnumed_v22)" '^gmdb: built by gm-upgrade_server 21 22 from "gnumed_v21" on .*; build record: database [0-9]+, next transaction [0-9]+, rows sha256 [0-9a-f]{64}$' \
	"the new database's comment is its build record (the in-progress mark is gone)"

# --- an existing target: --replace-target drops only an unused build of gmdb's --------
run gm-upgrade_server --yes --no-backup 21 22
is "$rc" 3 "an existing target is refused without --replace-target: exit 3"
like "$err" 'nothing was written to it since \(use --replace-target to drop it\)' "and --replace-target is named"
exists gnumed_v22; ok $? "the existing target is still there"
run gm-upgrade_server --check --replace-target 21 22
is "$rc" 0 "--check --replace-target on gmdb's untouched build: ready"
like "$out" 'WARNING  target: database "gnumed_v22" exists \(built by gm-upgrade_server 21 22 .*\), and nothing was written to it since: --replace-target drops it' \
	"it says that nothing was written to it since the build"
# a session that reads (and VACUUM, ANALYZE) leave no trace that counts
sql gnumed_v22 -c "SELECT count(*) FROM dem.identity" -c "VACUUM FREEZE" -c "ANALYZE" >/dev/null
oid_before=$(sql postgres -c "SELECT oid FROM pg_database WHERE datname = 'gnumed_v22'")
run gm-upgrade_server --yes --no-backup --replace-target 21 22
is "$rc" 0 "--replace-target over gmdb's fresh, untouched (read, vacuumed) build: exit 0"
like "$err" 'dropping the unused target "gnumed_v22" \.\.\. ok' "it drops it first"
[ "$(sql postgres -c "SELECT oid FROM pg_database WHERE datname = 'gnumed_v22'")" != "$oid_before" ]
ok $? "and builds it anew"
out=$(same gmref_v22 gnumed_v22 "${masks[@]}")
ok $? "the new build is upstream's v22 again"
# one new row: never dropped
sql_rw gnumed_v22 -c "INSERT INTO dem.occupation (name) VALUES ('gmdb test: a row written after the build')"
run gm-upgrade_server --check --replace-target 21 22
is "$rc" 3 "a target with one new row: --check --replace-target exits 3"
like "$out" 'FAILED   target: database "gnumed_v22" exists \(built by .*\) and was written to since, so it is never dropped' \
	"it says the target was written to"
like "$out" 'dem\.occupation: 1 row written since the build' "and names the table and the rows"
run gm-upgrade_server --yes --no-backup --replace-target 21 22
is "$rc" 3 "--replace-target refuses to drop it: exit 3"
like "$err" 'dem\.occupation: 1 row written since the build' "saying what it found"
like "$err" 'Nothing was changed' "and that nothing was changed"
is "$(sql gnumed_v22 -c "SELECT count(*) FROM dem.occupation WHERE name = 'gmdb test: a row written after the build'")" 1 \
	"the target and its new row are still there"
# a deletion leaves no new row, but one row fewer (triggers off: not even the audit trail sees it)
drop_db gnumed_v22
run gm-upgrade_server --yes --no-backup 21 22
is "$rc" 0 "a fresh build of v22"
sql_rw gnumed_v22 -c "SET session_replication_role = replica" -c "DELETE FROM dem.occupation WHERE id = (SELECT max(id) FROM dem.occupation)"
run gm-upgrade_server --check --replace-target 21 22
is "$rc" 3 "a target with one row deleted (and no trigger run): --check --replace-target exits 3"
like "$out" 'no row is newer than the build, but the row counts are not the build.s' "it says the row counts changed"

# --- 20 21 side by side with upstream's engine, and --replace-target ---------------
drop_db gnumed_v21
clone_db gmref_v20 gnumed_v20
PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" update_db-v20_v21.conf "$work/upstream-v20_v21" >"$work/upstream.err" 2>&1
ok $? "upstream's engine: update_db-v20_v21.conf on a copy of the real v20"
sql postgres -c 'ALTER DATABASE gnumed_v21 RENAME TO up_upstream_v21' >/dev/null
clone_db gmref_v20 gnumed_v20
clone_db gmref_v20 up_source_before
clone_db gmref_v21 gnumed_v21
run gm-upgrade_server --no-backup --replace-target 20 21
is "$rc" 3 "--replace-target over a gnumed_v21 gmdb did not build: exit 3"
like "$err" 'database "gnumed_v21" exists and was not built by gmdb \(it has no build record in its comment\)' "and says why"
exists gnumed_v21; ok $? "that gnumed_v21 is still there"
drop_db gnumed_v21
run gm-upgrade_server --no-backup 20 21
is "$rc" 0 "gm-upgrade_server 20 21"
out=$(same up_upstream_v21 gnumed_v21 "${masks[@]}")
ok $? "gmdb's v21 is upstream's v21: schema, rows (run times masked), roles"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20
out=$(same up_source_before gnumed_v20)
ok $? "the source gnumed_v20 is exactly as it was"

# --- failures leave nothing behind --------------------------------------------------
drop_db gnumed_v22
clone_db gmref_v21 gnumed_v21
clone_db gmref_v21 up_source_before
tree=$work/tree
mkdir -p "$tree" && cp -a "$GMDB_UPSTREAM_DIR/bootstrap" "$GMDB_UPSTREAM_DIR/sql" "$tree/"
ln -s "$GMDB_UPSTREAM_DIR/pycommon" "$tree/pycommon"
chmod -R a+rX "$tree"
f=$tree/sql/v21-v22/dynamic/v22-ref-create_generic_vaccines.sql
[ -f "$f" ] || f=$(grep -l 'ON_ERROR_STOP 1' "$tree"/sql/v21-v22/dynamic/*.sql | head -n 1)
printf '\nselect * from gmdb_injected_failure;\n' >>"$f"
run gm-upgrade_server --no-backup --upstream-dir "$tree" 21 22
is "$rc" 1 "an SQL file failing mid-upgrade: exit 1"
like "$err" "$(basename "$f"):[0-9]+: .*gmdb_injected_failure.* does not exist \(SQLSTATE 42P01\)" \
	"the error names file, line, PostgreSQL's message and SQLSTATE"
like "$err" 'Nothing is left of the new database' "and says what was cleaned up"
exists gnumed_v22; is "$?" 1 "no target is left behind"
out=$(same up_source_before gnumed_v21)
ok $? "the source is exactly as it was"
cp "$GMDB_UPSTREAM_DIR/sql/${f#"$tree"/sql/}" "$f"

# signal_in_bundles SIGNAL LOG: once the run writing LOG has started the
# bundle "v21-v22-dynamic" (the target exists then, and a good second of
# work is left), send it SIGNAL
signal_in_bundles() {
	for _ in $(seq 600); do
		grep -q 'bundle "v21-v22-dynamic"' "$2" 2>/dev/null && break
		sleep 0.05
	done
	pkill "-$1" -f "gm-upgrade_server --no-backup --log-file $2"
}

# SIGTERM in the middle: the same clean end
signal_in_bundles TERM "$work/term.log" &
run gm-upgrade_server --no-backup --log-file "$work/term.log" 21 22
wait
is "$rc" 1 "SIGTERM in the bundles ends the run with a failure"
like "$err" 'signal|interrupted|cancel' "and says it was interrupted"
exists gnumed_v22; is "$?" 1 "no target is left behind"

# kill -9: the half-made target is recognised and cleaned up by the next run
signal_in_bundles KILL "$work/kill.log" &
run gm-upgrade_server --no-backup --log-file "$work/kill.log" 21 22
wait
is "$rc" 137 "kill -9 in the bundles"
for _ in $(seq 50); do [ -z "$(sql postgres -c "SELECT 1 FROM pg_stat_activity WHERE datname = 'gnumed_v22'")" ] && break; sleep 0.1; done
exists gnumed_v22; ok $? "the half-made target is left behind"
run gm-upgrade_server --check --no-backup 21 22
is "$rc" 0 "--check after the kill: ready (the leftover will be dropped)"
like "$out" 'half-made target left by an interrupted gmdb run' "--check names the half-made target"
run gm-upgrade_server --no-backup 21 22
is "$rc" 0 "the next run succeeds"
out=$(same gmref_v22 gnumed_v22 "${masks[@]}")
ok $? "and makes upstream's v22"
out=$(same up_source_before gnumed_v21)
ok $? "the source survived all of it unchanged"

# --- sessions on the source ----------------------------------------------------------
drop_db gnumed_v22
fifo=$work/fifo; mkfifo "$fifo"
(cat "$fifo" | psql -X -q -U postgres -d gnumed_v21 >/dev/null 2>&1) &
sleep 1
run gm-upgrade_server --check 21 22
is "$rc" 3 "a session on the source: --check exits 3"
like "$out" 'session\(s\) on "gnumed_v21"' "and lists it"
echo '\q' >"$fifo"; wait

# --- upstream's environment ---------------------------------------------------------
run env GM_CORE_DB=up_core_db gm-upgrade_server --check --no-backup 21 22
like "$out" 'target: database "up_core_db" does not exist yet' "GM_CORE_DB renames the target, as upstream's definition says"
run env -u PGPORT GM_DB_PORT="$PGPORT" gm-upgrade_server --check --no-backup 21 22
is "$rc" 0 "GM_DB_PORT names the port when PGPORT does not"

# --- bad input --------------------------------------------------------------------------
run gm-upgrade_server --no-backup 21 22 --upstream-dir /nonexistent/gmdb
is "$rc" 2 "an upstream tree without the definition: exit 2"
drop_db gnumed_v21
run gm-upgrade_server --check 21 22
is "$rc" 3 "no source database: exit 3"
like "$out$err" 'gnumed_v21' "naming it"
clone_db gmref_v20 gnumed_v21
run gm-upgrade_server --check 21 22
is "$rc" 3 "a source whose hash is not v21's: exit 3"
like "$out" 'known hash of v20' "says which version the hash is"

for d in gnumed_v20 gnumed_v21 gnumed_v22 up_source_before up_upstream_v21; do drop_db "$d"; done
done_testing
