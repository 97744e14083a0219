#!/bin/bash
# The fixup's REINDEX split by table across several owner connections
# (--jobs 2, lib/reindex.c) against REINDEX DATABASE on one (--jobs 1), on
# copies of the same real v22 database: the same indexes, each reindexed
# exactly once; index expressions evaluated as the database's owner; a
# failing index fails the step, with every table whole (upstream's retry
# without VERBOSE included) and no session left; a table the owner may not
# REINDEX TABLE keeps the single statement.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
# its fixups make group roles named like its databases, and it makes a role
# of its own: cluster-wide changes that tests comparing the cluster's roles
# must not see happen (they hold the same lock)
serialize_gnumed_tests
work=$GMDB_TESTDIR/reindex
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
export GMDB_LOG_DIR=$work/logs
mkdir -p "$GMDB_LOG_DIR" && chmod 777 "$GMDB_LOG_DIR"
dbs="gmt_reindex_1 gmt_reindex_2 gmt_reindex_x"
cleanup() {
	for d in $dbs; do sql postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1; done
	for r in gmt_reindex_other $dbs; do sql postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1; done
}
trap cleanup EXIT
cleanup

# every index's file before and after (the copies share gmref_v22's OIDs);
# not the shared catalogs': any REINDEX anywhere in the cluster (another
# test's, beside this one) gives them new files
files() { sql "$1" -c "SELECT oid, pg_relation_filenode(oid) FROM pg_class WHERE relkind = 'i' AND NOT relisshared" | sort -t "|" -k 1,1; }
# the indexes the run's log says were reindexed, with how often
reindexed() { sed -n 's/.*server: INFO: *index "\(.*\)" was reindexed$/\1/p' "$1" | sort | uniq -c; }
changed() { join "$1" "$2" -t '|' | awk -F'|' '$2 != $3 { print $1 }'; }

for j in 1 2; do
	clone_db gmref_v22 gmt_reindex_$j
	files gmt_reindex_$j >"$work/before-$j"
	run gm-fixup_server -d gmt_reindex_$j --jobs $j --log-file "$work/run-$j.log"
	is "$rc" 0 "the fixup with --jobs $j"
	files gmt_reindex_$j >"$work/after-$j"
	changed "$work/before-$j" "$work/after-$j" >"$work/changed-$j"
	reindexed "$work/run-$j.log" >"$work/reindexed-$j"
done
like "$(cat "$work/run-2.log")" 'reindexing 3[0-9][0-9] tables: [0-9]+ of the superuser.s, one after the other, then 2[0-9][0-9] of the owner.s on up to 2 connections' \
	"--jobs 2 splits the reindex by table"
unlike "$(cat "$work/run-1.log")" 'reindexing [0-9]+ tables' "--jobs 1 runs REINDEX DATABASE"
like "$(cat "$work/run-1.log")" 'REINDEX \(VERBOSE\) DATABASE "gmt_reindex_1"' "(one statement)"
n=$(wc -l <"$work/changed-1")
[ "$n" -gt 700 ]; ok $? "REINDEX DATABASE gave $n indexes that were there before new files"
cmp -s "$work/changed-1" "$work/changed-2"
ok $? "the split gave exactly the same indexes new files"
diff "$work/changed-1" "$work/changed-2" | head -n 10 | sed 's/^/# /'
cmp -s "$work/reindexed-1" "$work/reindexed-2"
ok $? "the server reindexed the same indexes, each as often, in both runs"
diff "$work/reindexed-1" "$work/reindexed-2" | head -n 10 | sed 's/^/# /'
is "$(awk '$1 != 1' "$work/reindexed-2" | wc -l)" "$(awk '$1 != 1' "$work/reindexed-1" | wc -l)" \
	"no index reindexed more often than by REINDEX DATABASE (names shared by several schemas aside)"
is "$(grep -c 'table ".*" was reindexed$' "$work/run-2.log")" "$(grep -c 'server: INFO: *table ".*" was reindexed$' "$work/run-1.log")" \
	"the log names every table once, as REINDEX (VERBOSE) DATABASE's does"
is "$(sql gmt_reindex_2 -c 'SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready')" 0 "every index is valid"

# --- the owner's index expression: run as the owner; a failing one -----------------
clone_db gmref_v22 gmt_reindex_x
PGOPTIONS='-c default_transaction_read_only=off -c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -U gm-dbo -d gmt_reindex_x <<'EOF'
CREATE TABLE public.gmt_switch (i int);
CREATE FUNCTION public.gmt_who(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RAISE NOTICE 'gmt-reindex-as %/%', session_user, current_user;
	IF EXISTS (SELECT FROM public.gmt_switch) THEN RAISE EXCEPTION 'gmt-reindex-fails'; END IF;
	RETURN i;
END $$;
CREATE INDEX gmt_who_idx ON ref.data_source (public.gmt_who(pk));
EOF
ok $? "an index whose expression calls a function of gm-dbo's (it says who runs it)"
run gm-fixup_server -d gmt_reindex_x --jobs 2 --log-file "$work/run-x.log"
is "$rc" 0 "the fixup with --jobs 2"
like "$(cat "$work/run-x.log")" 'server: NOTICE: gmt-reindex-as gm-dbo/gm-dbo' "the expression ran as gm-dbo"
unlike "$(grep 'gmt-reindex-as' "$work/run-x.log" | grep -v 'gmt-reindex-as gm-dbo/gm-dbo')" . "and as nobody else"
is "$(grep -c 'server: INFO: *index "gmt_who_idx" was reindexed' "$work/run-x.log")" 1 "the index was reindexed once"

sql_rw gmt_reindex_x -c 'INSERT INTO public.gmt_switch VALUES (1)'
files gmt_reindex_x >"$work/before-x"
revs=$(sql gmt_reindex_x -c 'SELECT count(*), max(imported) FROM gm.schema_revision')
run gm-fixup_server -d gmt_reindex_x --jobs 2 --log-file "$work/run-xf.log"
is "$rc" 1 "a failing index fails the fixup"
like "$err" 'could not reindex "gmt_reindex_x".*gmt-reindex-fails' "and says why"
like "$err" 'reindexing "gmt_reindex_x" \.\.\. failed' "in the reindex step"
unlike "$err" 'revalidating' "nothing after it ran"
like "$(cat "$work/run-xf.log")" 'trying again without VERBOSE, as upstream does' "upstream's retry without VERBOSE ran"
like "$(cat "$work/run-xf.log")" 'REINDEX DATABASE "gmt_reindex_x"' "as REINDEX DATABASE"
files gmt_reindex_x >"$work/after-x"
oid=$(sql gmt_reindex_x -c "SELECT 'ref.gmt_who_idx'::regclass::oid")
is "$(changed "$work/before-x" "$work/after-x" | grep -cx "$oid")" 0 "the failing index kept its file"
is "$(sql gmt_reindex_x -c 'SELECT count(*) FROM pg_index WHERE NOT indisvalid OR NOT indisready')" 0 "every index is valid"
is "$(sql gmt_reindex_x -c 'SELECT count(*), max(imported) FROM gm.schema_revision')" "$revs" "no fixup file ran"
is "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gmt_reindex_x'")" 0 "no session is left on the database"
sql_rw gmt_reindex_x -c 'DELETE FROM public.gmt_switch'

# --- a table neither the owner's nor a superuser's: one statement -----------------------
sql postgres -c 'CREATE ROLE gmt_reindex_other' >/dev/null
sql_rw gmt_reindex_x -c 'CREATE TABLE public.gmt_other (i int PRIMARY KEY); ALTER TABLE public.gmt_other OWNER TO gmt_reindex_other'
run gm-fixup_server -d gmt_reindex_x --jobs 2 --log-file "$work/run-xo.log"
is "$rc" 0 "the fixup with another role's table in the database"
like "$(cat "$work/run-xo.log")" 'reindexing on one connection: the database owner may not REINDEX TABLE "public.gmt_other"' \
	"reindexes on one connection, and says why"
like "$(cat "$work/run-xo.log")" 'server: INFO: *index "gmt_other_pkey" was reindexed' "the table's index included"

done_testing
