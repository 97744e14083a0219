#!/bin/bash
# ab.sh - one gmdb build against another: gm-upgrade_server 21 22 on the same source
#
#   GMDB_OLD_BUILD=DIR bench/ab.sh [ROUNDS [SOURCE [OPTION...]]]
#       (default: 2 rounds, gmref_v21, no options; GMDB_TEST_CLUSTER=DIR)
#
# DIR is a build tree of an earlier gmdb, e.g. `git archive 2ac84dd | tar
# -x -C /tmp/gmold && (cd /tmp/gmold && ./autogen.sh && ./configure -q &&
# make -s)`. Each round copies SOURCE (a v21 database: gmref_v21 or one of
# gen-practice.sh) to gnumed_v21 and times, as whole processes, the old
# and this tree's `gm-upgrade_server --yes --json OPTION... 21 22` in
# alternating order (a backup, if any, into a directory of the run's,
# removed after). Both results must have the v22 hash and compare equal
# (compare-db.sh, run times masked; a generated practice's documents by
# checksum). Prints per round each build's wall time and its steps from
# --json, then the medians.
. "$(dirname "$0")/lib.sh"
rounds=${1:-2}
src=${2:-gmref_v21}
shift 2 2>/dev/null || shift $#
old=${GMDB_OLD_BUILD:?set GMDB_OLD_BUILD to an earlier gmdb build tree}
[ -x "$old/tools/gm-upgrade_server" ] || bail "$old/tools/gm-upgrade_server is not built"
new=$GMDB_BUILDDIR
bench_begin ab 21 22 bench_old_v22 bench_new_v22
backup_dir

# upgrade BUILD LABEL OPTION...: time one upgrade of a fresh copy of $src,
# keep the result as bench_LABEL_v22; prints "SECONDS STEPS"
upgrade() {
	local b=$1 l=$2 t0 t1 steps; shift 2
	fresh_source "$src"
	rm -rf "${bdir:?}"/*
	t0=$(now)
	case " $* " in *" --no-backup "*) ;; *) set -- --backup-dir "$bdir" "$@" ;; esac
	"$b/tools/gm-upgrade_server" --yes --json "$@" 21 22 >"$work/$l.json" 2>"$work/$l.err" ||
		{ tail -n 20 "$work/$l.err" >&2; bail "the $l gm-upgrade_server failed"; }
	t1=$(now)
	steps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join("%s=%.1f" % (s["step"], s["seconds"]) for s in d["steps"]))' "$work/$l.json")
	keep_result "bench_${l}_v22" "$V22_HASH"
	rm -rf "${bdir:?}"/*
	echo "$(elapsed "$t0" "$t1") $steps"
}

echo "# gmdb bench/ab.sh: $rounds rounds, $src ($(db_size "$src")), options: ${*:-none}; old build $(git -C "$old" describe --always --dirty 2>/dev/null || echo "$old")"
machine
t_old=() t_new=()
for r in $(seq 1 "$rounds"); do
	names_lock
	if [ $((r % 2)) = 1 ]; then order="old new"; else order="new old"; fi
	line="round $r (load $(loadavg)):"
	for which in $order; do
		if [ "$which" = old ]; then b=$old; else b=$new; fi
		res=$(upgrade "$b" "$which" "$@") || exit 1
		eval "t_$which+=(${res%% *})"
		line="$line
  $which ${res%% *} s (${res#* })"
	done
	masks=("${MASKS[@]}")
	[ "$src" = gmref_v21 ] || masks+=(-m blobs.doc_obj.data)
	verdict=$(compare_results "$work" bench_old_v22 bench_new_v22 "${masks[@]}") || bail "the results differ in round $r"
	if [ "$src" != gmref_v21 ]; then
		b1=$(blobsum bench_old_v22) b2=$(blobsum bench_new_v22)
		[ "$b1" = "$b2" ] || bail "round $r: the documents differ: $b1 vs $b2"
		verdict="$verdict; documents equal"
	fi
	names_unlock
	echo "$line"
	echo "  results: $(printf '%s' "$verdict" | tail -n 1)"
done
mo=$(median "${t_old[@]}") mn=$(median "${t_new[@]}")
echo "median: old $mo s, new $mn s, new / old $(ratio "$mn" "$mo")"
