#!/bin/bash
# rehearse.sh - how good is the rehearsal's downtime estimate?
#
#   bench/rehearse.sh [ROUNDS]       (default 2; GMDB_TEST_CLUSTER=DIR to reuse a cluster)
#
# Each round copies the source (gmref_v21, or BENCH_SOURCE, e.g. a practice
# made by gen-practice.sh) to gnumed_v21, runs `gm-upgrade_server --rehearse
# --json 21 22` on it, then the real run that follows, `gm-upgrade_server
# --yes --json 21 22` with the backup on (what the downtime procedure runs
# once everyone is out), timed as a whole process. It prints the estimate
# and its parts (backup, clone, upgrade, checks) next to the real run's
# wall time and steps, and the rehearsal's own time.
. "$(dirname "$0")/lib.sh"
rounds=${1:-2}
src=${BENCH_SOURCE:-gmref_v21}
bench_begin rehearse 21 22
export GMDB_BACKUP_DIR=$work/backups
mkdir -p "$GMDB_BACKUP_DIR" && chown postgres: "$GMDB_BACKUP_DIR"
js() { python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"; }

echo "# gmdb bench/rehearse.sh: $src -> v22, $rounds rounds"
machine
echo "source:  $src, $(db_size "$src")"
for r in $(seq "$rounds"); do
	names_lock
	quiet drop_db gnumed_v22 && quiet clone_db "$src" gnumed_v21 || bail "could not copy $src to gnumed_v21"
	sql gnumed_v21 -c CHECKPOINT >/dev/null
	load=$(loadavg)
	t0=$(now)
	gm-upgrade_server --rehearse --json 21 22 >"$work/rehearse-$r.json" 2>"$work/rehearse-$r.err" ||
		{ tail -n 20 "$work/rehearse-$r.err" >&2; bail "the rehearsal failed in round $r"; }
	t1=$(now)
	[ "$(js "$work/rehearse-$r.json" "j['will_succeed'] and j['cleaned_up']")" = True ] ||
		bail "round $r: the rehearsal did not say the run will succeed, or left something"
	rm -rf "${GMDB_BACKUP_DIR:?}"/*
	t2=$(now)
	gm-upgrade_server --yes --json 21 22 >"$work/real-$r.json" 2>"$work/real-$r.err" ||
		{ tail -n 20 "$work/real-$r.err" >&2; bail "the real run failed in round $r"; }
	t3=$(now)
	real=$(elapsed "$t2" "$t3")
	est=$(js "$work/rehearse-$r.json" "'%.1f' % j['estimate']['downtime_seconds']")
	printf 'round %d: estimate %6.1f s (%s), real run %6.1f s (%s); estimate/real %.2f; rehearsal took %.1f s; load %s\n' \
		"$r" "$est" \
		"$(js "$work/rehearse-$r.json" "'backup %.1f + clone %.1f + upgrade %.1f + checks %.1f' % tuple(j['estimate'][k] for k in ('backup_seconds', 'clone_seconds', 'upgrade_seconds', 'checks_seconds'))")" \
		"$real" \
		"$(js "$work/real-$r.json" "'backup %.1f, clone %.1f, the rest %.1f' % (sum(s['seconds'] for s in j['steps'] if s['step'] == 'backup'), sum(s['seconds'] for s in j['steps'] if s['step'] == 'clone'), sum(s['seconds'] for s in j['steps'] if s['step'] not in ('backup', 'clone')))")" \
		"$(ratio "$est" "$real")" "$(elapsed "$t0" "$t1")" "$load"
	quiet drop_db gnumed_v22
	quiet drop_db gnumed_v21
	names_unlock
done
