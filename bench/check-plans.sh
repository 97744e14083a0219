#!/bin/bash
# check-plans.sh - the plausibility checks' queries, one by one, and what more memory would do to them
#
#   bench/check-plans.sh [SOURCE]    (default gmref_v21; or a practice of gen-practice.sh)
#
# Upgrades a fresh copy of SOURCE with `gm-upgrade_server --no-backup --yes
# 21 22` (holding the names lock only for that), keeps the result as
# bench_cp_v22, and runs check-plans.py on update_db-v21_v22.conf with
# SOURCE as the old side and bench_cp_v22 as the new: each check's two
# queries under EXPLAIN ANALYZE with the server's defaults and with
# work_mem BENCH_WORK_MEM (default 1GB), one after the other on an otherwise
# idle server. Prints a row per query (times, spilled to disk, parallel
# workers, the same plan with more memory) and the totals. bench_cp_v22 is
# dropped at the end unless BENCH_KEEP is set.
. "$(dirname "$0")/lib.sh"
src=${1:-gmref_v21}
conf=${GMDB_UPSTREAM_DIR:-/var/lib/gnumed/server}/bootstrap/update_db-v21_v22.conf
[ -r "$conf" ] || bail "no $conf (apt-get install gnumed-server)"
bench_begin check-plans 21 22 bench_cp_v22
sql postgres -c "SELECT 1 FROM pg_database WHERE datname = '$src'" | grep -q 1 || bail "no database $src"
machine
names_lock
fresh_source "$src"
t0=$(now)
gm-upgrade_server --no-backup --yes 21 22 >"$work/gmdb.out" 2>&1 ||
	{ tail -n 20 "$work/gmdb.out" >&2; bail "gm-upgrade_server failed"; }
echo "upgraded a copy of $src ($(db_size "gnumed_v21")) in $(elapsed "$t0" "$(now)") s"
keep_result bench_cp_v22 "$V22_HASH"
names_unlock
echo "load before: $(loadavg)"
python3 "$(dirname "$0")/check-plans.py" "$conf" "$src" bench_cp_v22 "${BENCH_WORK_MEM:-1GB}"
echo "load after: $(loadavg)"
