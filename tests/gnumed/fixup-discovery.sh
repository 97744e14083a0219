#!/bin/bash
# gm-fixup_server without -d or a version, as Debian runs it: it finds the
# one v22 database by discovery (plain owner connections, not the owner
# session's setup), so the schema hash shortcut's proof runs on an owner
# session of its own beside the revalidation (lib/shortcut.c). In a cluster
# of its own (only gmref_v21 and gmref_v22, copied from the shared one) with
# Debian's peer authentication: every owner connection - the split REINDEX's,
# the proof's, the data import scripts' python3 - goes through the
# temporary peer grant.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference

private_workdir fixup-discovery
peer_reference_cluster "$cl" "$tmp"
sql postgres -c 'ALTER DATABASE gmref_v22 RENAME TO gnumed_v22' >/dev/null || bail "cannot rename gmref_v22"
export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs
mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" && chmod 777 "$GMDB_LOG_DIR"
hba_before=$(cat "$cl/data/pg_hba.conf")

run gm-fixup_server --jobs 2 --log-file "$tmp/run.log"
is "$rc" 0 "gm-fixup_server without a database or version"
log=$(cat "$tmp/run.log")
like "$log" 'found GNUmed database "gnumed_v22": v22' "found the v22 database"
like "$err" 'database "gnumed_v22" is v22: applying fixup_db-v22.conf' "and fixed it up"
like "$log" 'temporary peer grant|peer grant' "the owner reached through the temporary peer grant"
like "$log" 'reindexing 3[0-9][0-9] tables: [0-9]+ of the superuser.s, one after the other, then 2[0-9][0-9] of the owner.s on up to 2 connections' \
	"the REINDEX split across two owner connections"
like "$log" 'schema hash shortcut: the hash function works with definitions [0-9a-f]{32} \(proven on a session of its own, set up as the owner session\)' \
	"the shortcut's hash function proven on a session of its own"
is "$(grep -c 'SAVEPOINT gmdb_shortcut' "$tmp/run.log")" 0 "not again in the first file's transaction"
like "$log" 'schema hash shortcut: taken 9 times, declined 0 times' "the shortcut taken for the 9 files"
like "$log" 'python3: ran script \[v22-17-fixup-form-templates.py\]' "the data import scripts ran"
is "$(sql gnumed_v22 -c 'SELECT md5(gm.concat_table_structure())')" bf45f01327fb5feb2f5d3c06ba4a6792 "the result has the v22 hash"
is "$(cat "$cl/data/pg_hba.conf")" "$hba_before" "pg_hba.conf is as it was"
is "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v22'")" 0 "no session is left on the database"
done_testing
