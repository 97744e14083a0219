#!/bin/bash
# trust-cost.sh - what keeping gm-dbo's code away from the superuser costs
#
#   GMDB_OLD_BUILD=DIR bench/trust-cost.sh [ROUNDS]   (default 5; GMDB_TEST_CLUSTER=DIR)
#
# DIR is a build tree of an earlier gmdb (tools/ built there), e.g. of the
# commit before the owner connections: `git worktree add /tmp/old 00e9767 &&
# cd /tmp/old && ./autogen.sh && ./configure -q && make -s`. Each round
# copies gmref_v21 and times, as whole processes, the old and this tree's
# `gm-upgrade_server --no-backup --yes 21 22`, then on each result the old
# and the new `gm-fixup_server 22`, in alternating order. Both upgrades'
# results must compare equal (compare-db.sh, run times masked).
#
# Use a cluster whose local logins other than postgres's go by peer (as
# Debian's do: `local all postgres trust`, `local all all peer` in
# pg_hba.conf): the new build then reaches gm-dbo through its temporary
# peer grant, the old one by SET SESSION AUTHORIZATION.
. "$(dirname "$0")/lib.sh"
rounds=${1:-5}
old=${GMDB_OLD_BUILD:?set GMDB_OLD_BUILD to an earlier gmdb build tree}
[ -x "$old/tools/gm-upgrade_server" ] || bail "$old/tools/gm-upgrade_server is not built"
new=$GMDB_BUILDDIR
bench_begin trust 21 22 bench_old_v22 bench_new_v22

upgrade() {  # BUILD LABEL: time one upgrade of a fresh gnumed_v21, keep the result as bench_LABEL_v22
	local t0 t1
	fresh_source gmref_v21
	t0=$(now)
	"$1/tools/gm-upgrade_server" --no-backup --yes 21 22 >"$work/up-$2.out" 2>&1 ||
		{ tail -n 20 "$work/up-$2.out" >&2; bail "the $2 gm-upgrade_server failed"; }
	t1=$(now)
	keep_result "bench_$2_v22" "$V22_HASH"
	elapsed "$t0" "$t1"
}

fixup() {  # BUILD LABEL: time one fixup of a copy of bench_LABEL_v22 named gnumed_v22
	local t0 t1
	quiet drop_db gnumed_v22 && quiet clone_db "bench_$2_v22" gnumed_v22 || bail "could not copy bench_$2_v22"
	t0=$(now)
	"$1/tools/gm-fixup_server" -d gnumed_v22 22 >"$work/fix-$2.out" 2>&1 ||
		{ tail -n 20 "$work/fix-$2.out" >&2; bail "the $2 gm-fixup_server failed"; }
	t1=$(now)
	quiet drop_db gnumed_v22
	elapsed "$t0" "$t1"
}

echo "# gmdb bench/trust-cost.sh: $rounds rounds, old build $(git -C "$old" describe --always --dirty 2>/dev/null || echo "$old")"
machine
echo "local logins: $(grep -E '^[[:space:]]*local' "$(sql postgres -c 'SHOW hba_file')" | tr -s ' \t' ' ' | paste -sd ';' -)"
up_old=() up_new=() fx_old=() fx_new=()
# both STEP ARRAY: STEP (upgrade or fixup) with each build in $order, the
# times into ARRAY_old and ARRAY_new, and onto $line
both() {
	local which b t
	for which in $order; do
		if [ "$which" = old ]; then b=$old; else b=$new; fi
		t=$($1 "$b" "$which") || exit 1
		eval "$2_$which+=($t)"
		line="$line $1 $which ${t}s,"
	done
}
for r in $(seq 1 "$rounds"); do
	names_lock
	if [ $((r % 2)) = 1 ]; then order="old new"; else order="new old"; fi
	line="round $r (load $(loadavg)):"
	both upgrade up
	verdict=$(compare_results "$work" bench_old_v22 bench_new_v22 "${MASKS[@]}") || { echo "$verdict"; bail "the results differ in round $r"; }
	both fixup fx
	line="${line%,}"
	names_unlock
	echo "$line; results: $verdict"
done
echo "upgrade 21 22 median: old $(median "${up_old[@]}") s, new $(median "${up_new[@]}") s (new/old $(ratio "$(median "${up_new[@]}")" "$(median "${up_old[@]}")"))"
echo "fixup 22 median:      old $(median "${fx_old[@]}") s, new $(median "${fx_new[@]}") s (new/old $(ratio "$(median "${fx_new[@]}")" "$(median "${fx_old[@]}")"))"
if grep -q 'temporary owner access' "$work"/up-new.out "$work"/fix-new.out 2>/dev/null; then
	echo "the new build reached gm-dbo through its temporary peer grant"
else
	echo "the new build reached gm-dbo directly (no peer grant was needed)"
fi
