#!/bin/bash
# cpu.sh - where gm-upgrade_server's CPU time goes: one run, sampled
#
#   bench/cpu.sh [SOURCE [OPTION ...]]    (default gmref_v21; OPTIONs go to gm-upgrade_server, default --no-backup)
#
# Upgrades a fresh copy of SOURCE (fresh_source: memory filled as for the
# other benchmarks) with `gm-upgrade_server --yes OPTION... 21 22` while
# cpu-sample.py watches: the machine's busy, idle and stolen CPU time, the CPU
# time of each kind of PostgreSQL process (the checks' old side is the
# owner on gnumed_v21, the target's sessions are on gnumed_v22), and how
# busy the CPUs were in each 5 s. gmdb's steps from its --json. The result
# must have the v22 schema hash; it is dropped.
. "$(dirname "$0")/lib.sh"
src=${1:-gmref_v21}
shift || true
[ $# -gt 0 ] || set -- --no-backup
bench_begin cpu 21 22
backup_dir
sql postgres -c "SELECT 1 FROM pg_database WHERE datname = '$src'" | grep -q 1 || bail "no database $src"
echo "# gmdb bench/cpu.sh: $src ($(db_size "$src")), gm-upgrade_server $*"
machine
names_lock
fresh_source "$src"
echo "memory filled: $warmed"
/usr/bin/python3 "$(dirname "$0")/cpu-sample.py" "$work/stop" >"$work/cpu.txt" &
sampler=$!
# stopped on every way out (it also stops once this script is gone)
trap 'kill "$sampler" 2>/dev/null; bench_end' EXIT
sleep 0.5
t0=$(now)
GMDB_BACKUP_DIR=$bdir gm-upgrade_server --yes --json "$@" 21 22 >"$work/gmdb.json" 2>"$work/gmdb.err" ||
	{ touch "$work/stop"; tail -n 20 "$work/gmdb.err" >&2; bail "gm-upgrade_server failed"; }
t1=$(now)
sleep 0.3
touch "$work/stop"
wait "$sampler" || bail "cpu-sample.py failed"
h=$(schema_hash gnumed_v22) && [ "$h" = "$V22_HASH" ] || bail "gnumed_v22 has schema hash $h, not $V22_HASH"
quiet drop_db gnumed_v22
quiet drop_db gnumed_v21
names_unlock
echo "gm-upgrade_server: $(elapsed "$t0" "$t1") s"
echo "steps: $(json_steps "$work/gmdb.json")"
cat "$work/cpu.txt"
