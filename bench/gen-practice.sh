#!/bin/bash
# gen-practice.sh - a copy of the real gnumed_v21 filled with synthetic patients
#
#   bench/gen-practice.sh TARGET [PATIENTS [DOC_KB]]    (defaults: 1000 patients, 256 KiB)
#
# Copies gmref_v21 (BENCH_SOURCE to copy another) to TARGET (dropped first;
# not a gnumed_vN name) and runs gen-practice.sql on it: PATIENTS synthetic
# patients with their records and DOC_KB KiB of binary documents each, row
# inserts through GNUmed's own triggers, no DDL. Checks that the schema
# hash is still the one of the source, vacuums and analyzes, prints the size.
. "$(dirname "$0")/lib.sh"
target=${1:?usage: gen-practice.sh TARGET [PATIENTS [DOC_KB]]}
patients=${2:-1000}
doc_kb=${3:-256}
src=${BENCH_SOURCE:-gmref_v21}
case $target in gnumed_v*|gmref_v*) bail "use a name of your own for TARGET, not $target" ;; esac
need_reference
quiet clone_db "$src" "$target" || bail "could not copy $src to $target"
h0=$(schema_hash "$target") || bail "no schema hash in $target"
t0=$(now)
psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$target" -v patients="$patients" -v doc_kb="$doc_kb" \
	-f "$(dirname "$0")/gen-practice.sql" | grep -v '^Time:' || bail "generating into $target failed"
t1=$(now)
psql -X -q -U postgres -d "$target" -c 'VACUUM (ANALYZE)' || bail "could not vacuum $target"
t2=$(now)
h1=$(schema_hash "$target")
[ "$h1" = "$h0" ] || bail "the schema hash of $target changed: $h0 -> $h1"
echo "$target: $(db_size "$target"), schema hash $h1 as $src's; generated in $(elapsed "$t0" "$t1") s, vacuumed in $(elapsed "$t1" "$t2") s"
