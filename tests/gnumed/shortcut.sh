#!/bin/bash
# The schema hash shortcut of gm-fixup_server (lib/shortcut.c) and the
# hash read from the catalogs (gm_schema_hash_known): with -d and the
# definitions of the real v22, the hashes that identify the database and
# verify the result are read from the catalogs, the function is called
# once, to prove it, on an owner session of its own beside the
# revalidation, over before the first file runs, and the shortcut is taken
# for every file. For definitions it does not know the hashes are the
# function's, and the shortcut is not taken; with GMDB_EXACT=1 neither.
# That the result equals upstream's is tests/gnumed/fixup.sh's.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
# its fixups make a group role named like its database: a cluster-wide
# change that tests comparing the cluster's roles must not see happen
serialize_gnumed_tests
work=$GMDB_TESTDIR/shortcut
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
export GMDB_LOG_DIR=$work/logs
mkdir -p "$GMDB_LOG_DIR" && chmod 777 "$GMDB_LOG_DIR"
db=gmt_shortcut
trap 'sql postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1; sql postgres -c "DROP ROLE IF EXISTS $db" >/dev/null 2>&1' EXIT
V22=bf45f01327fb5feb2f5d3c06ba4a6792
hash() { sql "$1" -c "SELECT md5(gm.concat_table_structure())"; }

clone_db gmref_v22 $db
run gm-fixup_server -d $db --log-file "$work/early.log"
is "$rc" 0 "the fixup"
log=$(cat "$work/early.log")
is "$(grep -c "schema hash $V22 read from the catalogs (definitions [0-9a-f]*, as their owner)" "$work/early.log")" 2 \
	"the hashes that identified the database and verified the result were read from the catalogs"
is "$(grep -c 'concat_table_structure(.*)$' "$work/early.log" | head -n 1)" 1 "the hash function was called once"
like "$log" 'schema hash shortcut: the hash function works with definitions [0-9a-f]{32} \(proven on a session of its own, set up as the owner session\)' \
	"that call, on an owner session of its own, proved it"
unlike "$log" 'owner session that identified the database' "(not the identification)"
# the proof's session is over before the first file runs (open into the
# files, it made the audit rows' order differ from upstream's every round)
settled=$(grep -n "the early proof's hash worked; its session has ended" "$work/early.log" | head -n 1 | cut -d: -f1)
first=$(grep -n 'STEP    running the superuser schema files$' "$work/early.log" | head -n 1 | cut -d: -f1)
reval=$(grep -n 'STEP    revalidating the constraints of' "$work/early.log" | head -n 1 | cut -d: -f1)
[ -n "$settled" ] && [ -n "$first" ] && [ -n "$reval" ] && [ "$reval" -lt "$settled" ] && [ "$settled" -lt "$first" ]
ok $? "the proof ran beside the revalidation and was over before the files ran (lines $reval < ${settled:-?} < ${first:-?})"
is "$(grep -c 'SAVEPOINT gmdb_shortcut' "$work/early.log")" 0 "no proof again in the first file's transaction"
like "$log" 'schema hash shortcut: taken 9 times, declined 0 times' "the shortcut was taken for the 9 files"
is "$(hash $db)" "$V22" "the result has the v22 hash"

# definitions gmdb does not know: no early proof, every call as written
clone_db gmref_v22 $db
sql_rw $db -c "SELECT format('CREATE OR REPLACE FUNCTION gm.log_other_access(text) RETURNS %s LANGUAGE %s AS %L',
	pg_get_function_result(p.oid), l.lanname, p.prosrc || E'\n-- changed') FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	WHERE p.oid = 'gm.log_other_access(text)'::regprocedure" >"$work/change.sql" &&
	PGOPTIONS='-c default_transaction_read_only=off -c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -U gm-dbo -d $db -f "$work/change.sql"
ok $? "gm.log_other_access() changed by a comment"
run gm-fixup_server -d $db --log-file "$work/unknown.log"
is "$rc" 0 "the fixup"
log=$(cat "$work/unknown.log")
unlike "$log" 'hash function works with definitions' "no proof for unknown definitions"
unlike "$log" 'read from the catalogs' "the hashes are the function's"
like "$log" 'schema hash shortcut: taken 0 times, declined 9 times' "every call ran as written"
is "$(hash $db)" "$V22" "the result has the v22 hash"

# a table of the owner's schemas that the owner cannot see: the function,
# SECURITY DEFINER, hashes what gm-dbo sees, and so must the catalogs'
# reading (as the superuser it would count the table, and the database
# would not be v22)
clone_db gmref_v22 $db
sql_rw $db -c "CREATE TABLE clin.gmt_hidden (pk integer PRIMARY KEY)" -c "REVOKE ALL ON clin.gmt_hidden FROM PUBLIC"
is "$(hash $db)" "$V22" "(a table gm-dbo cannot see does not change the function's hash)"
run gm-fixup_server -d $db --log-file "$work/hidden.log"
is "$rc" 0 "the fixup, with a table gm-dbo cannot see"
is "$(grep -c "schema hash $V22 read from the catalogs" "$work/hidden.log")" 2 "the catalogs, read as gm-dbo, gave the function's hash"
sql_rw $db -c "DROP TABLE clin.gmt_hidden"
is "$(hash $db)" "$V22" "the result has the v22 hash"

# where the call could give another text, or fail where the reading would
# not, the function is called (sql/hash-catalog-gate.sql): an operator of
# the owner's that the function's unqualified || meets (the hash changes,
# and gmdb reports the function's), the owner's EXECUTE taken away (the
# call fails, and the fixup with it, before anything is changed), a
# statement timeout the database sets (the call might run out of time)
clone_db gmref_v22 $db
sql_rw $db -c 'SET ROLE "gm-dbo"' \
	-c 'CREATE FUNCTION public.gmt_cat(text, name) RETURNS text LANGUAGE sql IMMUTABLE AS $f$ SELECT $1 OPERATOR(pg_catalog.||) pg_catalog.upper($2::text) $f$' \
	-c 'CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = name, FUNCTION = public.gmt_cat)'
h=$(hash $db)
[ -n "$h" ] && [ "$h" != "$V22" ]
ok $? "(an operator of the owner's changes the function's hash: ${h:-none})"
run gm-fixup_server -d $db --log-file "$work/operator.log"
[ "$rc" != 0 ]
ok $? "the fixup refuses: not the hash of any version (exit $rc)"
like "$err" "Its hash is $h\\." "it reports the function's hash"
like "$(cat "$work/operator.log")" 'schema hash: calling the function \(an operator in a schema of the search path\)' \
	"the function was called: an operator in a schema of the search path"

clone_db gmref_v22 $db
sql_rw $db -c 'REVOKE EXECUTE ON FUNCTION gm.concat_table_structure_v19_and_up() FROM PUBLIC, "gm-dbo"'
run gm-fixup_server -d $db --log-file "$work/revoked.log"
[ "$rc" != 0 ]
ok $? "the owner may not call the function: the fixup refuses (exit $rc)"
like "$(cat "$work/revoked.log")" 'permission denied for function concat_table_structure_v19_and_up' "with the function's error"
like "$(cat "$work/revoked.log")" 'schema hash: calling the function \(this session may not call the function\)' \
	"the function was called, not the catalogs read"

clone_db gmref_v22 $db
sql postgres -c "ALTER DATABASE $db SET statement_timeout = '10min'" >/dev/null
run gm-fixup_server -d $db --log-file "$work/timeout.log"
is "$rc" 0 "a statement timeout of the database's: the fixup"
like "$(cat "$work/timeout.log")" 'schema hash: calling the function \(a statement or transaction timeout\)' \
	"the function was called: it might run out of time where the reading would not"

# what code of the owner's may leave in the session the result's hash is
# read in (the engine's owner session, where the files ran): a temporary
# type, which the function's unqualified regclass and text would meet
# first; a client encoding other than the server's, which the reading's
# lines travel through. The gate itself, in one session as gm-dbo.
clone_db gmref_v22 $db
gate() {
	sql_rw $db -c 'SET ROLE "gm-dbo"' -c 'SET search_path TO "$user", public' -c "$1" -f "$GMDB_SRCDIR/sql/hash-catalog-gate.sql" | tail -n 1
}
is "$(gate 'SELECT 1')" "" "(the gate lets a plain session read the catalogs)"
is "$(gate 'CREATE DOMAIN pg_temp.regclass AS pg_catalog.regclass CHECK (VALUE IS NULL)')" \
	"a temporary relation or type in this session" "a temporary type: the function is called"
is "$(gate "SET client_encoding TO 'SJIS'")" "the client encoding is not the server's" \
	"another client encoding: the function is called"

clone_db gmref_v22 $db
run env GMDB_EXACT=1 gm-fixup_server -d $db --log-file "$work/exact.log"
is "$rc" 0 "the fixup with GMDB_EXACT=1"
unlike "$(cat "$work/exact.log")" 'schema hash shortcut' "no shortcut, no proof"
unlike "$(cat "$work/exact.log")" 'read from the catalogs' "the hashes are the function's"
is "$(hash $db)" "$V22" "the result has the v22 hash"
done_testing
