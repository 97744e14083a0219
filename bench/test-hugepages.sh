#!/bin/bash
# test-hugepages.sh - what huge pages save the test suite's servers
#
#   GMDB_TEST_CLUSTER=DIR [BENCH_JOBS=N] bench/test-hugepages.sh [ROUNDS [PAGES [TEST...]]]
#       (default: 2 rounds, 1280 pages, the four real-database tests below,
#       as many tests at once as there are CPUs, as tests/run.sh runs them;
#       tests/run.sh itself uses no huge pages: RESULTS section 14)
#
# As root. Each round runs the same make check of TEST... twice, with no
# huge pages and with up to PAGES huge pages of 2 MB allowed as surplus
# pages (vm.nr_overcommit_hugepages: taken when a cluster starts, given
# back when it stops; in alternating
# order), the test cluster DIR restarted before each so that its shared
# memory is mapped the one way or the other. The server is started in a
# cgroup of its own (cgroup v1's cpuacct, tests/lib/cpuacct.sh) and the
# tests in another: prints per run the server's CPU time, the tests' (their
# clients, and whatever servers they start themselves), the wall time and
# the huge pages the server held at the end (in use and reserved); then the
# medians. The kernel's setting is put back at the end, the cluster left
# stopped. The tests are those of the shared cluster whose time is mostly
# its server's: many short sessions.
set -u
cd "$(dirname "$0")/.."
. tests/lib/cpuacct.sh
export GMDB_TEST_CPUACCT=1
die() { echo "test-hugepages.sh: error: $*" >&2; exit 1; }
rounds=${1:-2}
pages=${2:-1280}
shift 2 2>/dev/null || shift $#
tests=${*:-tests/gnumed/banner.sh tests/gnumed/fingerprint.sh tests/gnumed/audit-check.sh tests/gnumed/guard.sh}
[ "$(id -u)" = 0 ] || die "run as root: it sets vm.nr_overcommit_hugepages"
ctl=/proc/sys/vm/nr_overcommit_hugepages
[ -w "$ctl" ] || die "$ctl cannot be written here"
[ "$(cat /proc/sys/vm/nr_hugepages)" = 0 ] ||
	die "vm.nr_hugepages is $(cat /proc/sys/vm/nr_hugepages): the runs without huge pages would use that pool"
cl=${GMDB_TEST_CLUSTER:?set GMDB_TEST_CLUSTER to the test cluster (with its reference databases)}
[ -f "$cl/reference.done" ] || die "$cl has no reference databases (run make check with GMDB_TEST_CLUSTER=$cl once)"
port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$cl/data/postgresql.conf" | tail -n 1)
jobs=${BENCH_JOBS:-$(nproc)}
before=$(cat "$ctl")
trap 'echo "$before" >"$ctl"' EXIT
cpuacct_enter bench-hugepages
top=$cpuacct_cg
[ -n "$top" ] || die "no cgroup v1 cpuacct controller here to count CPU time with"
ns() { cat "$1/cpuacct.usage"; }
secs() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e9 }'; }

echo "# $(date -u '+%F %T') UTC, $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "# main $(git rev-parse --short HEAD 2>/dev/null); $jobs at a time; tests: $tests"
printf '%-6s %6s %10s %10s %8s %10s %6s\n' round pages server_s tests_s wall_s huge_held load
results=()
for r in $(seq 1 "$rounds"); do
	order="0 $pages"
	[ $((r % 2)) = 0 ] && order="$pages 0"
	for hp in $order; do
		echo "$hp" >"$ctl"
		bash tests/lib/pgcluster.sh stop "$cl" >/dev/null 2>&1
		# the server in a cgroup of its own: what it does for the tests
		srv=$top/server.$r.$hp
		mkdir "$srv" || die "cannot make $srv"
		(echo "$BASHPID" >"$srv/cgroup.procs" && bash tests/lib/pgcluster.sh start "$cl" "$port" >/dev/null 2>&1) ||
			die "cannot start $cl"
		tst=$top/tests.$r.$hp
		mkdir "$tst"
		s0=$(ns "$srv")
		t0=$(date +%s.%N)
		(echo "$BASHPID" >"$tst/cgroup.procs" && GMDB_TEST_CLUSTER=$cl make -j"$jobs" -s check TESTS="$tests" >"/tmp/test-hugepages.$hp.out" 2>&1)
		rc=$?
		t1=$(date +%s.%N)
		s1=$(ns "$srv")
		held=$(awk '/^HugePages_(Total|Rsvd):/ {h += $2} /^HugePages_Free:/ {h -= $2} END {print h}' /proc/meminfo)
		[ "$rc" = 0 ] || die "make check failed with $hp huge pages: /tmp/test-hugepages.$hp.out"
		row=$(printf '%-6s %6s %10s %10s %8s %10s %6s' "$r" "$hp" "$(secs $((s1 - s0)))" "$(secs "$(ns "$tst")")" \
			"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$held" "$(cut -d' ' -f1 /proc/loadavg)")
		echo "$row"
		results+=("$row")
	done
done
# the cluster is left stopped (the next make check starts it), the
# kernel's count as it was, the cgroups removed
bash tests/lib/pgcluster.sh stop "$cl" >/dev/null 2>&1
echo "$before" >"$ctl"
echo $$ >"${top%/*}/cgroup.procs" 2>/dev/null
cpuacct_cleanup "$top"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for hp in 0 "$pages"; do
	sel=$(printf '%s\n' "${results[@]}" | awk -v p="$hp" '$2 == p')
	echo "# median with $hp huge pages: server $(echo "$sel" | awk '{print $3}' | median) s, tests $(echo "$sel" | awk '{print $4}' | median) s, wall $(echo "$sel" | awk '{print $5}' | median) s"
done
