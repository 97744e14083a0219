#!/bin/bash
# upgrade.sh - upstream's v21 -> v22 upgrade against gmdb's, side by side
#
#   bench/upgrade.sh [ROUNDS]        (default 3; GMDB_TEST_CLUSTER=DIR to reuse a cluster)
#
# Each round copies the same real gnumed_v21 (gmref_v21, made by upstream's
# bootstrapper) twice and times, as whole processes, upstream's engine on
# update_db-v21_v22.conf (tests/gnumed/run-upstream.sh) and
# `gm-upgrade_server --no-backup --yes 21 22`, in alternating order. Both
# results must have the v22 schema hash and compare equal (compare-db.sh,
# run times masked). Then one gmdb round with GMDB_EXACT=1 (the schema-hash
# shortcut off) and one with the backup on, and gmdb's time by step (--json).
# BENCH_SOURCE=DB benchmarks another v21 database than gmref_v21 (large.sh
# does, with gen-practice.sh's): then the documents' binary content is
# compared by checksum, not through compare-db.sh. BENCH_EXTRAS lists the
# extra gmdb rounds (default "exact backup"; "" for none).
. "$(dirname "$0")/lib.sh"
rounds=${1:-3}
src=${BENCH_SOURCE:-gmref_v21}
extras=${BENCH_EXTRAS-exact backup}
masks=("${MASKS[@]}")
[ "$src" = gmref_v21 ] || masks+=(-m blobs.doc_obj.data)
bench_begin upgrade 21 22 bench_up_v22 bench_gm_v22

run_upstream() {  # round
	local t0 t1
	t0=$(now)
	PGUSER=postgres "$UPSTREAM_RUN" update_db-v21_v22.conf "$work/upstream-$1" || bail "upstream's engine failed in round $1"
	t1=$(now)
	elapsed "$t0" "$t1"
}

# the plausibility checks of upstream's log and of gmdb's --json summary
plaus_upstream() {
	printf 'upstream %d passed %d failed' "$(grep -c 'plausibility check \[.*\] succeeded' "$work/upstream-$1.log")" \
		"$(grep -ci 'plausibility check \[.*\] failed' "$work/upstream-$1.log")"
}
plaus_gmdb() {
	/usr/bin/python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))["plausibility"]; print("gmdb %d passed %d failed" % (p["checks"] - p["failed"], p["failed"]))' "$work/gmdb-$1.json"
}

run_gmdb() {  # label, options...
	local label=$1 t0 t1; shift
	t0=$(now)
	gm-upgrade_server --yes --json "$@" 21 22 >"$work/gmdb-$label.json" 2>"$work/gmdb-$label.err" ||
		{ tail -n 20 "$work/gmdb-$label.err" >&2; bail "gm-upgrade_server failed in round $label"; }
	t1=$(now)
	elapsed "$t0" "$t1"
}

echo "# gmdb bench/upgrade.sh: $src -> v22, $rounds rounds"
machine
echo "source:  $src, $(db_size "$src")"
ups=() gms=()
for r in $(seq "$rounds"); do
	names_lock
	if [ $((r % 2)) = 1 ]; then order="upstream gmdb"; else order="gmdb upstream"; fi
	load=$(loadavg)
	for who in $order; do
		fresh_source "$src"
		if [ "$who" = upstream ]; then
			tu=$(run_upstream "$r") || exit 1
			keep_result bench_up_v22 "$V22_HASH"
		else
			tg=$(run_gmdb "$r" --no-backup) || exit 1
			keep_result bench_gm_v22 "$V22_HASH"
		fi
	done
	names_unlock
	same_results "$work" "$src" "round $r" "${masks[@]}"
	ups+=("$tu") gms+=("$tg")
	printf 'round %d (%s first): upstream %6.2f s  gmdb %6.2f s  ratio %.2f  load %s; plausibility checks: %s, %s; both hash %s, %s\n' \
		"$r" "${order%% *}" "$tu" "$tg" "$(ratio "$tu" "$tg")" "$load" "$(plaus_upstream "$r")" "$(plaus_gmdb "$r")" "$V22_HASH" "$same"
done
mu=$(median "${ups[@]}") mg=$(median "${gms[@]}")
printf 'median:  upstream %6.2f s  gmdb %6.2f s  gmdb takes %.1f %% of upstream'"'"'s time (upstream/gmdb = %.2f)\n' \
	"$mu" "$mg" "$(awk -v a="$mg" -v b="$mu" 'BEGIN { print 100 * a / b }')" "$(ratio "$mu" "$mg")"

# what the schema-hash shortcut contributes, and what the backup costs
case " $extras " in *" exact "*)
	names_lock
	fresh_source "$src"
	te=$(export GMDB_EXACT=1; run_gmdb exact --no-backup) || exit 1
	keep_result bench_gm_v22 "$V22_HASH"
	names_unlock
	printf 'gmdb, shortcut off (GMDB_EXACT=1), no backup: %6.2f s\n' "$te"
esac
case " $extras " in *" backup "*)
	names_lock
	fresh_source "$src"
	backup_dir
	tb=$(export GMDB_BACKUP_DIR=$bdir; run_gmdb backup) || { rm -rf "$bdir"; exit 1; }
	bsize=$(du -sh "$bdir" | cut -f1)
	rm -rf "$bdir"
	keep_result bench_gm_v22 "$V22_HASH"
	names_unlock
	printf 'gmdb, backup on (GMDB_BACKUP_DIR, %s):       %6.2f s\n' "$bsize" "$tb"
	grep -E 'backup' "$work/gmdb-backup.err" | sed 's/^/  /'
esac

echo "gmdb's steps, last timed round (its progress lines; the --json summary below):"
grep -E '\.\.\. ok|done in' "$work/gmdb-$rounds.err" | sed 's/^/  /'
echo "  --json steps: $(/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(", ".join("%s %.2f" % (s["step"], s["seconds"]) for s in d["steps"]), "; total %.2f s, %d statements" % (d["seconds"], d["statements"]))' "$work/gmdb-$rounds.json")"
if [ -f "$work/gmdb-exact.err" ]; then
	echo "gmdb's steps with the shortcut off (GMDB_EXACT=1):"
	grep -E '^bundle|done in' "$work/gmdb-exact.err" | sed 's/^/  /'
fi
echo "upstream's engine, last timed round: $(grep -c . "$work/upstream-$rounds.log") log lines"
