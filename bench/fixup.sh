#!/bin/bash
# fixup.sh - upstream's v22 fixup against gmdb's, side by side
#
#   bench/fixup.sh [ROUNDS]        (default 3; GMDB_TEST_CLUSTER=DIR to reuse a cluster)
#   BENCH_OLD=DIR bench/fixup.sh [ROUNDS]
#
# Each round copies the same real gnumed_v22 (gmref_v22: made by upstream's
# bootstrapper and upstream's update_db-v21_v22.conf) twice and times, as
# whole processes, upstream's engine on fixup_db-v22.conf
# (tests/gnumed/run-upstream.sh) and `gm-fixup_server -d gnumed_v22`, in
# alternating order. Both results must keep the v22 schema hash and compare
# equal (compare-db.sh, run times masked). With BENCH_OLD, the build tree of
# an earlier gmdb (tools/ built there; e.g. `git archive COMMIT | tar -x -C
# DIR`, then ./autogen.sh && ./configure -q && make -s in DIR), each round
# also times that build's gm-fixup_server on a third copy (the three take
# turns at going first); its result must keep the v22 hash.
. "$(dirname "$0")/lib.sh"
rounds=${1:-3}
bench_begin fixup 22 22 bench_fxup_v22 bench_fxgm_v22 bench_fxold_v22

old=${BENCH_OLD:-}
[ -z "$old" ] || [ -x "$old/tools/gm-fixup_server" ] || bail "$old/tools/gm-fixup_server is not built"
echo "# gmdb bench/fixup.sh: gmref_v22, fixup_db-v22.conf vs gm-fixup_server, $rounds rounds${old:+, and the build in $old}"
machine
[ -z "$old" ] || echo "old:     $old ($(git -C "$old" describe --always 2>/dev/null || cat "$old/.version" 2>/dev/null || echo "not a git tree"))"
ups=() gms=() olds=()
for r in $(seq "$rounds"); do
	names_lock
	if [ -n "$old" ]; then
		case $((r % 3)) in 1) order="upstream gmdb old" ;; 2) order="gmdb old upstream" ;; 0) order="old upstream gmdb" ;; esac
	elif [ $((r % 2)) = 1 ]; then order="upstream gmdb"; else order="gmdb upstream"; fi
	load=$(loadavg)
	for who in $order; do
		fresh_source gmref_v22
		t0=$(now)
		if [ "$who" = upstream ]; then
			PGUSER=postgres "$UPSTREAM_RUN" fixup_db-v22.conf "$work/upstream-$r" || bail "upstream's fixup failed in round $r"
			tu=$(elapsed "$t0" "$(now)")
			keep_result bench_fxup_v22 "$V22_HASH"
		elif [ "$who" = old ]; then
			"$old/tools/gm-fixup_server" -d gnumed_v22 >"$work/old-$r.err" 2>&1 ||
				{ tail -n 20 "$work/old-$r.err" >&2; bail "the old gm-fixup_server failed in round $r"; }
			to=$(elapsed "$t0" "$(now)")
			keep_result bench_fxold_v22 "$V22_HASH"
		else
			gm-fixup_server -d gnumed_v22 --json >"$work/gmdb-$r.json" 2>"$work/gmdb-$r.err" ||
				{ tail -n 20 "$work/gmdb-$r.err" >&2; bail "gm-fixup_server failed in round $r"; }
			tg=$(elapsed "$t0" "$(now)")
			keep_result bench_fxgm_v22 "$V22_HASH"
		fi
	done
	names_unlock
	if cmp=$(compare_results "$work" bench_fxup_v22 bench_fxgm_v22 "${MASKS[@]}"); then
		same="equal: $cmp"
	else
		BENCH_KEEP=1
		bail "round $r: upstream's and gmdb's fixed-up v22 differ (see above)"
	fi
	ups+=("$tu") gms+=("$tg")
	[ -z "$old" ] || olds+=("$to")
	printf 'round %d (%s first): upstream %6.2f s  gmdb %6.2f s  ratio %.2f%s  load %s; both hash %s, %s\n' \
		"$r" "${order%% *}" "$tu" "$tg" "$(ratio "$tu" "$tg")" "${old:+  old gmdb $(printf '%.2f' "$to") s (v22 hash)}" "$load" "$V22_HASH" "$same"
done
mu=$(median "${ups[@]}") mg=$(median "${gms[@]}")
[ -z "$old" ] || printf 'median:  old gmdb %6.2f s: %.1f %% of upstream'"'"'s time; this gmdb takes %.1f %% of the old one'"'"'s\n' \
	"$(median "${olds[@]}")" "$(awk -v a="$(median "${olds[@]}")" -v b="$mu" 'BEGIN { print 100 * a / b }')" \
	"$(awk -v a="$mg" -v b="$(median "${olds[@]}")" 'BEGIN { print 100 * a / b }')"
printf 'median:  upstream %6.2f s  gmdb %6.2f s  gmdb takes %.1f %% of upstream'"'"'s time (upstream/gmdb = %.2f)\n' \
	"$mu" "$mg" "$(awk -v a="$mg" -v b="$mu" 'BEGIN { print 100 * a / b }')" "$(ratio "$mu" "$mg")"
echo "gmdb's steps, last round (its progress lines):"
grep -E '\.\.\. ok|done|fixup' "$work/gmdb-$rounds.err" | sed 's/^/  /'
echo "  --json: $(/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print({k: v for k, v in d.items() if k in ("result", "seconds", "statements", "files", "steps")})' "$work/gmdb-$rounds.json")"
