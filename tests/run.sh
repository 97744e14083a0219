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

# The Debian package, built from this clone's HEAD, installed beside
# gnumed-server, triggered and purged (root only: it installs packages).
if [ "$(id -u)" = 0 ]; then
	timeout -k 30 15m bash tests/debian/package.sh >tests/debian/package.log 2>&1
	pstatus=$?
	grep -E '^(not ok|Bail out)' tests/debian/package.log | head -n 20
	p=$(grep -c '^ok ' tests/debian/package.log)
	f=$(grep -c -E '^(not ok|Bail out)' tests/debian/package.log)
	[ "$pstatus" != 0 ] && [ "$f" = 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f))
else
	echo "tests/debian/package.sh not run: it needs root"
	skipped=$((skipped + 1))
fi

# The same package built, linted, installed beside gnumed-server and purged
# on Debian trixie, in a debootstrapped chroot (root only, needs the mirror).
if [ "$(id -u)" = 0 ]; then
	timeout -k 30 25m bash tests/debian/trixie.sh >tests/debian/trixie.log 2>&1
	tstatus=$?
	grep -E '^(not ok|Bail out)' tests/debian/trixie.log | head -n 20
	p=$(grep -c '^ok ' tests/debian/trixie.log)
	f=$(grep -c -E '^(not ok|Bail out)' tests/debian/trixie.log)
	[ "$tstatus" != 0 ] && [ "$f" = 0 ] && f=1
	passed=$((passed + p)) failed=$((failed + f))
else
	echo "tests/debian/trixie.sh not run: it needs root"
	skipped=$((skipped + 1))
fi
[ "$status" != 0 ] && [ "$failed" = 0 ] && failed=1
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
