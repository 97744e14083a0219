#!/bin/bash
# upgrade-master.sh - upstream's development engine's v22 -> v23 upgrade
# (ncqgm/gnumed master 8a85b32, the future gnumed-server 23) against gmdb's,
# side by side
#
#   bench/upgrade-master.sh [ROUNDS]   (default 3; GMDB_TEST_CLUSTER=DIR to reuse a cluster)
#
# The same method as upgrade.sh: each round copies the real gnumed_v22
# (gmref_v22, made by upstream's bootstrapper) twice and times, as whole
# processes, in alternating order, master's engine on upgrade_db-v22_v23.conf
# (what master's upgrade-db.sh 22 23 runs: fixup_db-v22.conf on the source
# in place, then update_db-v22_v23.conf) and
# `gm-upgrade_server --upstream-dir MASTER --no-backup --yes 22 23` (the
# fixup applied to the clone). Both results must have the v23 schema hash
# and compare equal under tests/gnumed/master.sh's masks (master_v23_masks
# in tests/lib/common.sh), their regimens linking the same intakes. The
# master tree is the project's shared input
# (../shared/upstream/gnumed-master-*-server.tar.gz, or GMDB_UPSTREAM_MASTER).
. "$(dirname "$0")/lib.sh"
rounds=${1:-3}
V23_HASH=73b15f63b0946e6837f306d770991f97
bench_begin upgrade-master 22 23 bench_up_v23 bench_gm_v23
since=$(sql postgres -c "SELECT now()") || bail "cannot read the server's time"
mapfile -t masks < <(master_v23_masks "$since")
need_upstream_master "$work/master"
run_master() {  # round
	local t0 t1
	t0=$(now)
	master_engine upgrade_db-v22_v23.conf "$work/master-$1.log" ||
		{ tail -n 5 "$work/master-$1.log.out" >&2; bail "master's engine failed in round $1"; }
	t1=$(now)
	elapsed "$t0" "$t1"
}

run_gmdb() {  # round
	local t0 t1
	t0=$(now)
	gm-upgrade_server --upstream-dir "$GMDB_UPSTREAM_MASTER_DIR" --yes --json --no-backup 22 23 \
		>"$work/gmdb-$1.json" 2>"$work/gmdb-$1.err" ||
		{ tail -n 20 "$work/gmdb-$1.err" >&2; bail "gm-upgrade_server failed in round $1"; }
	t1=$(now)
	elapsed "$t0" "$t1"
}

echo "# gmdb bench/upgrade-master.sh: gmref_v22 -> v23 with master 8a85b32's tree, $rounds rounds"
machine
echo "source:  gmref_v22, $(db_size gmref_v22)"
ups=() gms=()
for r in $(seq "$rounds"); do
	names_lock
	if [ $((r % 2)) = 1 ]; then order="master gmdb"; else order="gmdb master"; fi
	load=$(loadavg)
	for who in $order; do
		fresh_source gmref_v22
		if [ "$who" = master ]; then
			tu=$(run_master "$r") || exit 1
			keep_result bench_up_v23 "$V23_HASH"
		else
			tg=$(run_gmdb "$r") || exit 1
			keep_result bench_gm_v23 "$V23_HASH"
		fi
	done
	names_unlock
	if cmp=$(compare_results "$work" bench_up_v23 bench_gm_v23 "${masks[@]}") &&
	   [ "$(master_intake_links bench_up_v23)" = "$(master_intake_links bench_gm_v23)" ]; then
		same="equal: $cmp; the regimens link the same intakes"
	else
		BENCH_KEEP=1
		bail "round $r: master's and gmdb's v23 differ (see above)"
	fi
	ups+=("$tu") gms+=("$tg")
	printf 'round %d (%s first): master %6.2f s  gmdb %6.2f s  ratio %.2f  load %s; both hash %s, %s\n' \
		"$r" "${order%% *}" "$tu" "$tg" "$(ratio "$tu" "$tg")" "$load" "$V23_HASH" "$same"
done
mu=$(median "${ups[@]}") mg=$(median "${gms[@]}")
printf 'median:  master %6.2f s  gmdb %6.2f s  gmdb takes %.1f %% of master'"'"'s time (master/gmdb = %.2f)\n' \
	"$mu" "$mg" "$(awk -v a="$mg" -v b="$mu" 'BEGIN { print 100 * a / b }')" "$(ratio "$mu" "$mg")"
echo "gmdb's steps, last round:"
grep -E '\.\.\. (ok|skipped)|done in' "$work/gmdb-$rounds.err" | sed 's/^/  /'
