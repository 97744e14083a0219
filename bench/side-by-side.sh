#!/bin/bash
# side-by-side.sh - upstream's whole upgrade against gmdb's, at several sizes, with and without backup
#
#   bench/side-by-side.sh [ROUNDS [SOURCE ...]]    (default: 1 round; gmref_v21)
#
# For each SOURCE (a v21 database: gmref_v21, or one made by gen-practice.sh)
# and each mode (no backup, backup), ROUNDS rounds, each on fresh copies of
# the same SOURCE, the two engines in alternating order:
#
#  upstream  what upstream's gm-upgrade_server runs (upgrade-db.sh), timed
#            as a whole: its preamble's pg_dump of gnumed_v21 (with backup:
#            --format=tar into a file; no-backup: the checksum pass,
#            --compress=0 --no-sync --format=custom to /dev/null), then its
#            engine on update_db-v21_v22.conf (tests/gnumed/run-upstream.sh);
#            as the superuser where upstream's script logs in as gm-dbo
#  gmdb      gm-upgrade_server --yes --json [--no-backup] 21 22
#
# BENCH_FIRST_ROUND=N numbers the rounds from N: odd rounds run upstream
# first, even ones gmdb (2: a single round with gmdb first).
#
# Before each engine's run, fresh_source fills the free memory with page
# cache (warm_memory in lib.sh; BENCH_COLD_MEMORY=1: not), untimed.
#
# Both results must have the v22 schema hash and compare equal
# (compare-db.sh, run times masked; generated sources: the documents'
# content by checksum). Prints one line per round and writes
# $BENCH_OUT (default bench/runs/side-by-side.tsv, appended): source, MB,
# mode, round, upstream's dump and engine seconds, gmdb's wall time and its
# steps, the share, the load, the verdict, and upstream's plausibility
# checks' seconds (from its log). bench/plot.sh draws it.
. "$(dirname "$0")/lib.sh"
rounds=${1:-1}
shift || true
[ $# -gt 0 ] || set -- gmref_v21
out=${BENCH_OUT:-$GMDB_SRCDIR/bench/runs/side-by-side.tsv}
modes=${BENCH_MODES:-nobackup backup}
# BENCH_FIRST_ROUND=2: the rounds count from 2 (an even round: gmdb first)
first_round=${BENCH_FIRST_ROUND:-1}
bench_begin side 21 22 bench_up_v22 bench_gm_v22
backup_dir

# upstream: sets td (dump) and te (engine)
run_upstream() {  # mode label
	local t0 t1 t2 pgdump
	pgdump=/usr/lib/postgresql/$(sql postgres -c "SELECT current_setting('server_version_num')::int / 10000")/bin/pg_dump
	t0=$(now)
	if [ "$1" = backup ]; then
		PGUSER=postgres "$pgdump" --dbname=gnumed_v21 --format=tar --file="$work/upstream.tar" ||
			bail "upstream's backup failed"
	else
		PGUSER=postgres "$pgdump" --dbname=gnumed_v21 --compress=0 --no-sync --format=custom --file=/dev/null ||
			bail "upstream's checksum pass failed"
	fi
	t1=$(now)
	PGUSER=postgres "$UPSTREAM_RUN" update_db-v21_v22.conf "$work/upstream-$2" || bail "upstream's engine failed ($2)"
	t2=$(now)
	rm -f "$work/upstream.tar"
	td=$(elapsed "$t0" "$t1") te=$(elapsed "$t1" "$t2")
	# its plausibility checks, from its log (whole seconds): from reading
	# the list to the last line
	uc=$(/usr/bin/python3 -c '
import sys, datetime
ts = lambda l: datetime.datetime.strptime(l[:19], "%Y-%m-%d %H:%M:%S")
start = last = None
for l in open(sys.argv[1], errors="replace"):
    if not l[:4].isdigit():
        continue
    if start is None and "upgrade plausibility checks] found" in l:
        start = ts(l)
    last = ts(l)
print(int((last - start).total_seconds()) if start else "?")' "$work/upstream-$2.log")
}

run_gmdb() {  # mode label
	local t0 t1 opt=--no-backup
	[ "$1" = backup ] && opt=
	t0=$(now)
	GMDB_BACKUP_DIR=$bdir gm-upgrade_server --yes --json $opt 21 22 >"$work/gmdb-$2.json" 2>"$work/gmdb-$2.err" ||
		{ tail -n 20 "$work/gmdb-$2.err" >&2; bail "gm-upgrade_server failed ($2)"; }
	t1=$(now)
	rm -rf "${bdir:?}"/backup-*
	tg=$(elapsed "$t0" "$t1")
	steps=$(json_steps "$work/gmdb-$2.json")
	early=$(grep -c 'may have changed since it was cloned' "$work/gmdb-$2.err" || true)
}

echo "# gmdb bench/side-by-side.sh: $rounds round(s) of $* ($modes)"
machine
[ -s "$out" ] || printf 'source\tMB\tmode\tround\tfirst\tupstream_dump\tupstream_engine\tupstream\tgmdb\tshare\tload\tgmdb_steps\tequal\tupstream_checks\n' >"$out"
for src in "$@"; do
	mb=$(sql postgres -c "SELECT pg_database_size('$src') / 1000000")
	for mode in $modes; do
		for r in $(seq "$first_round" $((first_round + rounds - 1))); do
			names_lock
			if [ $((r % 2)) = 1 ]; then order="upstream gmdb"; else order="gmdb upstream"; fi
			load=$(loadavg)
			for who in $order; do
				fresh_source "$src"
				if [ "$who" = upstream ]; then
					wu=$warmed
					run_upstream "$mode" "$src-$mode-$r"
					keep_result bench_up_v22 "$V22_HASH"
				else
					wg=$warmed
					run_gmdb "$mode" "$src-$mode-$r"
					keep_result bench_gm_v22 "$V22_HASH"
				fi
			done
			names_unlock
			load="$load / $(loadavg)"
			masks=("${MASKS[@]}")
			[ "$src" = gmref_v21 ] || masks+=(-m blobs.doc_obj.data)
			same_results "$work" "$src" "$src $mode round $r" "${masks[@]}"
			tu=$(awk -v a="$td" -v b="$te" 'BEGIN { printf "%.2f", a + b }')
			share=$(awk -v a="$tg" -v b="$tu" 'BEGIN { printf "%.2f", a / b }')
			[ "$early" = 0 ] || steps="$steps (early checks run again)"
			printf '%s %s MB %-8s round %d (%s first): upstream %7.2f s (dump %.2f + engine %.2f, its checks %s s)  gmdb %7.2f s  share %s  load %s\n  gmdb steps: %s\n  %s\n' \
				"$src" "$mb" "$mode" "$r" "${order%% *}" "$tu" "$td" "$te" "$uc" "$tg" "$share" "$load" "$steps" "$same"
			[ -z "$wu$wg" ] || echo "  memory filled before upstream's run: $wu; before gmdb's: $wg"
			printf '%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$src" "$mb" "$mode" "$r" "${order%% *}" \
				"$td" "$te" "$tu" "$tg" "$share" "$load" "$steps" "$same" "$uc" >>"$out"
		done
	done
done
