#!/bin/bash
# The schema hash shortcut of gm-fixup_server (lib/shortcut.c): proven by
# the hash that identifies the database (-d), computed on a session set up
# as the owner session, and taken for every file of the real v22 fixup:
# the run computes the hash twice (identify, result); not taken for
# definitions it does not know, nor with GMDB_EXACT=1.
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
like "$log" 'schema hash shortcut: the hash function works with definitions [0-9a-f]{32} \(proven as "gm-dbo" on the session set up as the owner session that identified the database\)' \
	"the hash that identified the database proved the hash function"
like "$log" 'gm-dbo"?: .* as upstream.s session has it|connected to "gmt_shortcut" as its owner "gm-dbo"' "(on a session of the owner's)"
is "$(grep -c 'SAVEPOINT gmdb_shortcut' "$work/early.log")" 0 "no proof again in the first file's transaction"
unlike "$log" 'proven on a session of its own' "nor on a session of its own"
is "$(grep -c 'concat_table_structure(.*)$' "$work/early.log" | head -n 1)" 2 "the hash was computed twice: the database's, the result's"
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
like "$log" 'schema hash shortcut: taken 0 times, declined 9 times' "every call ran as written"
is "$(hash $db)" "$V22" "the result has the v22 hash"

clone_db gmref_v22 $db
run env GMDB_EXACT=1 gm-fixup_server -d $db --log-file "$work/exact.log"
is "$rc" 0 "the fixup with GMDB_EXACT=1"
unlike "$(cat "$work/exact.log")" 'schema hash shortcut' "no shortcut, no proof"
is "$(hash $db)" "$V22" "the result has the v22 hash"
done_testing
