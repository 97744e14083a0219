#!/bin/bash
# large.sh - the v21 -> v22 upgrade, upstream against gmdb, on larger practices
#
#   bench/large.sh [PATIENTS:DOC_KB ...]     (default: 200:256 2000:256)
#
# For each size: gen-practice.sh fills a copy of the real gnumed_v21 with
# PATIENTS synthetic patients carrying DOC_KB KiB of documents each, then
# upgrade.sh times upstream's engine and gm-upgrade_server on copies of it
# (BENCH_ROUNDS rounds, default 1; BENCH_EXTRAS extra gmdb rounds, default
# none: "backup" shows what the backup costs at that size), checks both
# results (v22 schema hash, upstream's and gmdb's plausibility checks, the
# same rows and documents) and drops everything again.
. "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || set -- 200:256 2000:256
need_reference
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp "${TMPDIR:-/tmp}/gmdb-bench-large.XXXXXX")
trap 'quiet drop_db bench_large_v21; rm -f "$out"' EXIT
echo "# gmdb bench/large.sh: $*"
machine
summary=()
for spec in "$@"; do
	patients=${spec%%:*} doc_kb=${spec#*:}
	echo "## $patients patients, $doc_kb KiB of documents each"
	"$here/gen-practice.sh" bench_large_v21 "$patients" "$doc_kb" || exit 1
	size=$(sql postgres -c "SELECT pg_database_size('bench_large_v21')")
	BENCH_SOURCE=bench_large_v21 BENCH_EXTRAS=${BENCH_EXTRAS-} "$here/upgrade.sh" "${BENCH_ROUNDS:-1}" | tee "$out" |
		grep -v -E '^(machine|server|date|# gmdb)' || exit 1
	m=$(grep '^median:' "$out") || exit 1
	read -r tu tg <<<"$(sed -E 's/^median: +upstream +([0-9.]+) s +gmdb +([0-9.]+) s.*/\1 \2/' <<<"$m")"
	summary+=("$(printf '%6d patients x %4d KiB: %8.0f MB  upstream %8.2f s  gmdb %8.2f s  upstream/gmdb %.2f' \
		"$patients" "$doc_kb" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')" "$tu" "$tg" "$(ratio "$tu" "$tg")")")
	quiet drop_db bench_large_v21
done
echo "## summary (medians)"
printf '%s\n' "${summary[@]}"
