#!/bin/bash
# The whole chain: from a real gnumed_v2 made by upstream's bootstrapper,
# gmdb upgrades step by step, 2 3, 3 4, ... 21 22, and must end at the
# known v22 hash. Every step's result is checked for that version's known
# hash; a step that misses it is compared with what upstream's engine made
# of the same step (the reference gmref_vN+1, made by upstream's chain from
# gmref_vN) before anyone calls it gmdb's bug or upstream's.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
work=$GMDB_TESTDIR/chain
rm -rf "$work" && mkdir -p "$work/logs" && chmod -R 777 "$work"
# in a copy of the shared cluster (the reference databases and roles): the
# real names are its own for the twenty steps
trap '"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$work/cluster" >/dev/null 2>&1; rm -rf "$work/cluster"' EXIT
copy_reference_cluster "$work/cluster"
export GMDB_LOG_DIR=$work/logs
# pk_audit: rows logged by one multi-row statement are numbered in the order
# PostgreSQL scans them, which depends on when pages were pruned, i.e. on
# whatever else the cluster was doing: a property of the run, like the times.
masks=(-B -m modified_when -m orig_when -m audit_when -m pk_audit -m gm.schema_revision.imported -t clin.episode.summary)
for v in $(seq 2 22); do drop_db "gnumed_v$v"; done

clone_db gmref_v2 gnumed_v2
for from in $(seq 2 21); do
	to=$((from + 1))
	t0=$(date +%s.%N)
	run gm-upgrade_server --no-backup --yes --json "$from" "$to"
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
	failed_checks=$(printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["plausibility"]["failures"]))' 2>/dev/null)
	if [ "$rc" = 3 ] && [ -n "$failed_checks" ]; then
		# upstream's own checks may not hold for this database: what does
		# upstream's engine make of the same step?
		printf '%s\n' "$err" | grep 'plausibility check' | sed 's/^/# gmdb: /'
		PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" "update_db-v${from}_v$to.conf" "$work/upstream-$to" >/dev/null 2>&1
		up_rc=$?
		up_failed=$(sed -n 's/.*plausibility check \[\(.*\)\] failed.*/\1/p' "$work/upstream-$to.log" | sort -u | paste -sd' ' -)
		is "$up_rc:$up_failed" "1:$(printf '%s\n' $failed_checks | sort -u | paste -sd' ' -)" \
			"  $from $to: upstream's engine fails the same plausibility check(s) on this database ($failed_checks): upstream's, not gmdb's"
		drop_db "gnumed_v$to"
		ign=()
		for c in $failed_checks; do ign+=(--ignore-check "$c"); done
		run gm-upgrade_server --no-backup --yes "${ign[@]}" "$from" "$to"
		secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
	fi
	is "$rc" 0 "gm-upgrade_server $from $to ($(printf '%.1f' "$secs") s)"
	if [ "$rc" != 0 ]; then
		printf '%s\n' "$err" | tail -n 8 | sed 's/^/# /'
		break
	fi
	h=$(sql "gnumed_v$to" -c "SELECT md5(gm.concat_table_structure($to))" 2>/dev/null)
	want=$(sql "gmref_v$to" -c "SELECT md5(gm.concat_table_structure($to))" 2>/dev/null)
	run gm-fingerprint_db -q --expect-version "$to" "gnumed_v$to"
	is "$rc" 0 "  gnumed_v$to has the known schema hash of v$to"
	is "$h" "$want" "  gnumed_v$to has the schema hash upstream's v$to has"
	if [ "$h" != "$want" ]; then
		PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$work/cmp-$to" "${masks[@]}" "gmref_v$to" "gnumed_v$to" 2>&1 |
			head -n 30 | sed 's/^/# /'
	fi
	drop_db "gnumed_v$from"
done
run gm-fingerprint_db --expect-version 22 gnumed_v22
is "$rc" 0 "the chain ends at the known v22 hash"
drop_db gnumed_v22
done_testing
