#!/bin/bash
# gmdb's whole test suite, from a clean clone on a fresh Debian machine:
# installs what is missing (as root), builds with warnings as errors, runs
# every test layer (unit, CLI, real PostgreSQL, real GNUmed databases built by
# upstream's own bootstrapper), then the Debian package tests (this machine,
# then a debootstrapped trixie), and ends with
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
bash tests/install-deps.sh || exit 1
{ [ -x configure ] || ./autogen.sh; } && ./configure --enable-werror -q && make -j"$(nproc)" -s || {
	echo "0 passed, 1 failed"
	exit 1
}
# A hung test must not hold CI for ever: the whole suite gets 40 minutes.
timeout -k 60 40m make -j"$(nproc)" -s check >/dev/null 2>&1
status=$?
[ "$status" = 124 ] && echo "make check did not finish within 40 minutes"
if [ -f test-suite.log ]; then
	grep -E '^(not ok|Bail out)' tests/*.log tests/*/*.log 2>/dev/null | grep -v 'zz-stop' | head -n 50
fi
passed=0 failed=0 skipped=0
for trs in tests/*.trs tests/*/*.trs; do
	[ -f "$trs" ] || continue
	p=$(grep -c '^:test-result: \(PASS\|XFAIL\)' "$trs")
	f=$(grep -c '^:test-result: \(FAIL\|ERROR\|XPASS\)' "$trs")
	s=$(grep -c '^:test-result: SKIP' "$trs")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done

# A TAP script outside make check, as root (it installs packages): its
# results count in the totals. tap_script SCRIPT TIMEOUT
tap_script() {
	local log=${1%.sh}.log p f st
	if [ "$(id -u)" != 0 ]; then
		echo "$1 not run: it needs root"
		skipped=$((skipped + 1))
		return
	fi
	timeout -k 30 "$2" bash "$1" >"$log" 2>&1
	st=$?
	grep -E '^(not ok|Bail out)' "$log" | head -n 20
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c -E '^(not ok|Bail out)' "$log")
	[ "$st" != 0 ] && [ "$f" = 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f))
}
# The Debian package, built from this clone's HEAD, installed beside
# gnumed-server, triggered and purged; then the same on Debian trixie, in a
# debootstrapped chroot (needs the mirror).
tap_script tests/debian/package.sh 15m
tap_script tests/debian/trixie.sh 25m
[ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
