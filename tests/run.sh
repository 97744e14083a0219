#!/bin/bash
# gmdb's whole test suite, from a clean clone on a fresh Debian machine:
# installs what is missing (as root), builds with warnings as errors, runs
# every test layer (unit, CLI, real PostgreSQL, real GNUmed databases built by
# upstream's own bootstrapper) on PostgreSQL 15, and ends with
# "N passed, N failed". Outside make check, as root: the tests that start
# clusters again from a checkout path over 100 characters long; the Debian
# package on this machine (bookworm); and Debian trixie (PostgreSQL 17) and
# forky (PostgreSQL 18), each in a debootstrapped chroot: the package there,
# and the real-database layer on that release's server with the reference
# databases carried from PostgreSQL 15. The chroots are debootstrapped,
# and the package built in them, while make check runs: they wait for the
# reference dumps only when they need them.
set -u
cd "$(dirname "$0")/.."
# Each job's CPU time, and each test's (tests/lib/cpuacct.sh), where the
# machine can count it: on a busy 2-CPU machine that, not the wall time, is
# what a test costs. GMDB_TEST_CPUACCT=0 turns it off.
export GMDB_TEST_CPUACCT=${GMDB_TEST_CPUACCT:-1}
. tests/lib/cpuacct.sh
cpudir=$(mktemp -d /tmp/gmcpu.XXXXXX) || exit 1
# the whole run in a cgroup, every job's below it, and beside them one for
# the shared cluster's server, whichever job starts it (common.sh)
cpuacct_enter run
run_cg=$cpuacct_cg
[ -n "$cpuacct_cg" ] && export GMDB_TEST_CPUACCT_SHARED=$cpuacct_cg/gmdb-test.shared-cluster
# job_cgroup NAME: this subshell, and all it starts, into a cgroup of its
# own; job_cpu NAME: that cgroup's "# cpu:" line, named
job_cgroup() { cpuacct_enter "$1"; printf '%s\n' "$cpuacct_cg" >"$cpudir/$1"; }
job_cpu() {
	local cg
	cg=$(cat "$cpudir/$1" 2>/dev/null)
	[ -n "$cg" ] && cpuacct_line "$cg" | sed "s|^# cpu:|# $1: cpu:|"
	return 0
}
bash tests/install-deps.sh || exit 1
{ [ -x configure ] || ./autogen.sh; } && ./configure --enable-werror -q && make -j"$(nproc)" -s || {
	echo "0 passed, 1 failed"
	exit 1
}
# The reference databases of PostgreSQL 15, carried to the other releases
# as dumps (carry-reference.sh), made beside make check as soon as it has
# built them; the releases wait for them.
carry=$(mktemp -d /tmp/gmcarry.XXXXXX) || exit 1
chmod 755 "$carry"
bg_pids=() carry_pid= deep_pid= deep_tests=
# Each background job writes its exit status into a file of its own: the
# status of "wait PID" is lost where the PID has come round again to
# another child of this shell meanwhile (a machine whose pid_max is 32768
# goes through that many in a run: bash then says "wait: pid ... is not a
# child of this shell"). Such a job has ended, and written its file.
# job_status FILE: the status it wrote, 1 if none.
job_status() { cat "$1" 2>/dev/null || echo 1; }
rm -f tests/debian/carry-reference.status tests/debian/release-*.status tests/deep-path.status
if [ "$(id -u)" = 0 ]; then
	(
		job_cgroup carry-reference
		t0=$SECONDS
		if GMDB_CARRY_KEEP_CLUSTER=1 bash tests/debian/carry-reference.sh "$carry"; then
			echo "# carry-reference.sh: done $((SECONDS - t0)) s after make check started"
			echo 0 >tests/debian/carry-reference.status
		else
			touch "$carry/failed"
			echo 1 >tests/debian/carry-reference.status
			exit 1
		fi
	) >tests/debian/carry-reference.log 2>&1 </dev/null &
	carry_pid=$!
	# The tests that make private clusters of their own, from a deep
	# checkout path (tests/deep-path.sh): beside make check, and only
	# there (make check leaves them out), with the same reference cluster,
	# whose databases they copy once make check has built them. It is
	# stopped here at the end. Of tests/gnumed/downtime.sh only the kill -9
	# loop, at every step: the rest of it runs on trixie (release.sh).
	(
		job_cgroup deep-path
		GMDB_DOWNTIME_PARTS=crash GMDB_DEEP_KEEP_CLUSTER=1 GMDB_DEEP_CHECK_LIMIT=55m timeout -k 30 60m bash tests/deep-path.sh >tests/deep-path.log 2>&1 </dev/null
		echo $? >tests/deep-path.status
	) &
	deep_pid=$!
	deep_tests=" $(bash tests/deep-path.sh --list) "
	for suite in trixie forky; do
		(
			job_cgroup "release-$suite"
			GMDB_CARRY_WAIT=2700 timeout -k 120 80m bash tests/debian/release.sh "$suite" "$carry"
			echo $? >"tests/debian/release-$suite.status"
		) >"tests/debian/release-$suite.log" 2>&1 </dev/null &
		bg_pids+=($!)
	done
fi
# A hung test must not hold CI (90 minutes) for ever: make check gets 60
# minutes, the jobs beside it 60 (deep path) and 80 (releases). On a slow
# 2-CPU machine under their load make check took 58 minutes (README).
t0=$SECONDS
tests=
for t in $(make -s print-tests); do
	case "$deep_tests" in *" $t "*) ;; *) tests="$tests $t" ;; esac
done
(
	job_cgroup make-check
	GMDB_KEEP_SHARED_CLUSTER=$([ -n "$deep_pid" ] && echo 1) exec timeout -k 60 60m make -j"$(nproc)" -s check TESTS="$tests"
) >/dev/null 2>&1
status=$?
echo "# make check: $((SECONDS - t0)) s"
job_cpu make-check
# where make check's time went: its ten longest tests, with when each
# started (seconds after make check did)
mc0=$(($(date +%s) - (SECONDS - t0)))
grep -H '^# timing: started at' tests/*.log tests/*/*.log 2>/dev/null | grep -v -E '^tests/(debian/|deep-path)' |
	sed -E 's/^(.*)\.log:# timing: started at ([0-9]+), ran ([0-9]+) s$/\3 \2 \1/' |
	sort -rn | head -n 10 | while read -r ran at name; do
		cpu=$(sed -n 's/^# cpu: \([0-9.]*\) s .*/, CPU \1 s/p' "$name.log")
		echo "#   $name: $ran s, from $((at - mc0)) s$cpu"
	done
# and the shared cluster's server so far (tests/lib/common.sh's need_cluster;
# it builds the reference databases, and serves the deep path and the
# carried dumps too)
[ -d "${GMDB_TEST_CPUACCT_SHARED:-/nonexistent}" ] &&
	cpuacct_line "$GMDB_TEST_CPUACCT_SHARED" | sed "s/^# cpu:/# the shared cluster's server: cpu:/"
[ "$status" = 124 ] && echo "make check did not finish within 60 minutes"
if [ -f test-suite.log ]; then
	grep -E '^(not ok|Bail out)' tests/*.log tests/*/*.log 2>/dev/null |
		grep -v -E 'zz-stop|^tests/debian/|^tests/deep-path' | head -n 50
fi
passed=0 failed=0 skipped=0
for trs in tests/*.trs tests/*/*.trs; do
	[ -f "$trs" ] || continue
	p=$(grep -c '^:test-result: \(PASS\|XFAIL\)' "$trs")
	f=$(grep -c '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$trs")
	s=$(grep -c '^:test-result: SKIP' "$trs")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

# A TAP log of a script outside make check: its results count in the
# totals. tap_count LOG EXIT-STATUS
tap_count() {
	local p f
	grep -E '^(not ok|Bail out)' "$1" | head -n 20
	p=$(grep -c '^ok ' "$1")
	f=$(grep -c -E '^(not ok|Bail out)' "$1")
	[ "$2" != 0 ] && [ "$f" = 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f))
	grep -E '^# total run time' "$1" | sed "s|^# |# ${1%.log}: |"
}
# A TAP script outside make check, as root (it installs packages, starts
# clusters). tap_script SCRIPT TIMEOUT [ARG...]
tap_script() {
	local log=${1%.sh}.log script=$1 limit=$2 st
	shift 2
	if [ "$(id -u)" != 0 ]; then
		echo "$script not run: it needs root"
		skipped=$((skipped + 1))
		return
	fi
	(
		job_cgroup "${script##*/}"
		exec timeout -k 30 "$limit" bash "$script" "$@"
	) >"$log" 2>&1
	st=$?
	tap_count "$log" "$st"
	job_cpu "${script##*/}"
}
if [ -n "$carry_pid" ]; then
	wait "$carry_pid" 2>/dev/null
	if [ "$(job_status tests/debian/carry-reference.status)" = 0 ]; then
		grep '^# carry' tests/debian/carry-reference.log
		job_cpu carry-reference
	else
		tail -n 20 tests/debian/carry-reference.log
		echo "not ok - the reference databases could not be dumped for the other releases"
		failed=$((failed + 1))
	fi
fi
# The tests that start clusters, from a checkout path over 100 characters
# (started beside make check above); the Debian package, built from this clone's HEAD, installed beside
# gnumed-server, its autopkgtest run on a real database, triggered and purged.
if [ -n "$deep_pid" ]; then
	wait "$deep_pid" 2>/dev/null
	tap_count tests/deep-path.log "$(job_status tests/deep-path.status)"
	job_cpu deep-path
	bash tests/lib/pgcluster.sh stop tests/tmp/cluster >/dev/null 2>&1
else
	tap_script tests/deep-path.sh 20m
fi
GMDB_CARRY_DIR=$carry tap_script tests/debian/package.sh 15m
# trixie and forky, started in the background above
for i in "${!bg_pids[@]}"; do
	wait "${bg_pids[$i]}" 2>/dev/null
	suite=$([ "$i" = 0 ] && echo trixie || echo forky)
	st=$(job_status "tests/debian/release-$suite.status")
	tap_count "tests/debian/release-$suite.log" "$st"
	job_cpu "release-$suite"
done
# Every part of tests/gnumed/downtime.sh ran in one job at least (the deep
# path's, trixie's and forky's each choose theirs: GMDB_DOWNTIME_PARTS)
if [ "$(id -u)" = 0 ]; then
	for part in crash rest; do
		grep -h '^# tests/gnumed/downtime.sh: downtime parts:' tests/deep-path.log tests/debian/release-*.log 2>/dev/null |
			grep -q -F " $part " && continue
		echo "not ok - tests/gnumed/downtime.sh's part \"$part\" ran in none of the jobs"
		failed=$((failed + 1))
	done
fi
rm -rf "$carry" "$cpudir"
[ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
# As root (as CI runs), nothing may be skipped: a skip is a failure.
if [ "$(id -u)" = 0 ] && [ "$skipped" != 0 ]; then
	grep -h -E '^ok .*# SKIP' tests/*.log tests/*/*.log 2>/dev/null | head -n 20
	echo "$skipped tests skipped as root: counted as failures"
	failed=$((failed + skipped))
fi
if [ -n "$run_cg" ]; then
	cpuacct_line "$run_cg" | sed 's/^# cpu:/# the whole run: cpu:/'
	echo $$ >"${run_cg%/*}/cgroup.procs" 2>/dev/null
	cpuacct_cleanup "$run_cg"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
