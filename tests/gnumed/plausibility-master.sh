#!/bin/bash
# The plausibility checks of upstream's development tree (master 8a85b32):
# its list (update_db-v22_v23.conf) carries "--" comment lines anywhere,
# which master drops before pairing; its old side is the v22 its
# upgrade-db.sh fixed up in place. gmdb's reading of the list
# (gm_plausibility_master_items) and its checks in two halves (the old side
# first, on what gmdb will have: the clone after the fixup; the new side at
# the end) against master's own check_data_plausibility(), on the fixed-up
# v22 and the v23 master's engine made of a copy of the real v22, and on a
# pair where checks fail.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
tmp="$GMDB_TESTDIR/plausibility-master"
rm -rf "$tmp" && mkdir -p "$tmp" && chmod 777 "$tmp" || bail "cannot make $tmp"
need_upstream_master "$tmp/upstream"
checks() { "$GMDB_BUILDDIR/tests/gnumed/plausibility-run" "$@"; }
"$GMDB_BUILDDIR/tests/helpers/conf-dump" "$GMDB_UPSTREAM_MASTER_DIR/bootstrap/update_db-v22_v23.conf" |
	sed -n 's/^database gnumed_v23::upgrade plausibility checks \[\] //p' >"$tmp/items"
is "$(wc -l <"$tmp/items")" 155 "update_db-v22_v23.conf lists 155 items"
is "$(grep -c '^--' "$tmp/items")" 43 "43 of them \"--\" comment lines"

# master's verdict lines and result; gmdb's, from plausibility-run's output
upstream_verdicts() {
	/usr/bin/python3 "$GMDB_SRCDIR/tests/gnumed/upstream-plausibility-master.py" "$GMDB_UPSTREAM_MASTER_DIR" \
		"$1" "$2" "$tmp/items" "$tmp/upstream-$1.log" 2>/dev/null | grep -E '^(    \.\.\. |result: )'
}
gmdb_verdicts() {
	printf '%s\n' "$out" | awk -F'\t' '
		$1 == "FAIL" && $5 ~ /^check definition error/ { print "    ... failed (check definition error)"; next }
		$1 == "FAIL" && $5 ~ /^SQL error/ { print "    ... failed (SQL error)"; next }
		$1 == "FAIL" && $5 ~ /^data mismatch/ { print "    ... failed (data error, check [" $2 "])"; next }
		$1 == "FAIL" { print "    ... failed (unexpected problem: " $5 ")" }'
	echo "result: $([ "$rc" = 0 ] && echo True || echo False)"
}

# master's v23 and fixed-up v22: the run the cluster keeps (master_v23_cached;
# the real names only if it is to be made)
master_v23_kept || serialize_gnumed_tests
master_v23_cached "$tmp/master.log" pm_v23 pm_v22_fixed || bail "master's engine failed: $(tail -n 5 "$tmp/master.log.out")"
exec 8>&-

run checks -m -s pm_v22_fixed pm_v23 "$tmp/items"
is "$rc" 0 "master's checks, fixed-up v22 -> v23, in two halves: all pass"
is "$(printf '%s\n' "$out" | grep -c '^ok	')" 56 "56 checks ran and passed"
is "$(gmdb_verdicts)" "$(upstream_verdicts pm_v22_fixed pm_v23)" "master's check_data_plausibility() agrees"
printf '%s\n' "$out" | cut -f2 >"$tmp/tags"
sed -n 's/.*plausibility check \[\(.*\)\] succeeded$/\1/p' "$tmp/upstream-pm_v22_fixed.log" >"$tmp/upstream-tags"
cmp -s "$tmp/tags" "$tmp/upstream-tags"
ok $? "the same checks, in the same order, as master's log"
run checks -m pm_v22_fixed pm_v23 "$tmp/items"
is "$rc" 0 "in one pass: the same"
run checks -s pm_v22_fixed pm_v23 "$tmp/items"
is "$rc" 2 "read as 22.x's list (comment lines paired): refused, an odd number of items"

# checks that fail: the real v21 as the old side
clone_db gmref_v21 pm_v21 || bail "cannot clone gmref_v21"
run checks -m -s pm_v21 pm_v23 "$tmp/items"
is "$rc" 3 "v21 -> master's v23: checks fail (exit 3)"
like "$(printf '%s\n' "$out" | grep -c '^FAIL')" '^[1-9]' "some of them"
is "$(gmdb_verdicts)" "$(upstream_verdicts pm_v21 pm_v23)" "the same ones, the same way, as master's check_data_plausibility()"

drop_db pm_v21; drop_db pm_v22_fixed; drop_db pm_v23
rm -rf "$tmp"
done_testing
