#!/bin/bash
# The tests that start PostgreSQL clusters, from a checkout in a deep
# directory (over 100 characters, as autopkgtest's, buildds' and most CI
# systems' work directories are): a Unix socket path may not exceed 107
# bytes, so every cluster must keep its socket in a short path of its own.
#
#   bash tests/deep-path.sh          (TAP on stdout; as root, as CI runs it)
#
# Copies HEAD (git archive) to /tmp/gmdeep.XXXXXX/<a long path>/gmdb, builds
# it there, and runs in that tree:
#   - tests/pg/fingerprint.sh, which starts the shared test cluster in the
#     deep tree's tests/tmp/cluster (a new one, no reference databases);
#   - every test that makes a private cluster of its own below tests/tmp
#     (tests/pg/hba-lock.sh, tests/pg/peer.sh, tests/pg/state-links.sh,
#     tests/pg/banner.sh's standby, tests/gnumed/downtime.sh), with the
#     reference databases of the main run's cluster (GMDB_TEST_CLUSTER, else
#     this checkout's tests/tmp/cluster; built there if missing).
# tests/gnumed/space.sh, announce.sh, rehearse.sh and
# tests/security/attack.sh make private clusters too, through the same
# private_cluster of tests/lib/common.sh that these prove; they stay in
# make check, which they would lengthen here by as much again. The rest
# makes no cluster. Each test's TAP lines are passed on, prefixed with
# its name. The copy is removed on exit.
#
#   bash tests/deep-path.sh --list   the tests with private clusters it runs
#
# tests/run.sh runs it beside make check and leaves those tests out of make
# check: they run once, here.
PRIVATE_TESTS="tests/pg/hba-lock.sh tests/pg/peer.sh tests/pg/state-links.sh tests/pg/banner.sh tests/gnumed/downtime.sh"
[ "${1:-}" = --list ] && { echo "$PRIVATE_TESTS"; exit 0; }
. "$(dirname "$0")/lib/tap.sh"
set -u
srcdir=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
refcluster=${GMDB_TEST_CLUSTER:-$srcdir/tests/tmp/cluster}
unset GMDB_TEST_CLUSTER
# Its clusters take ports from 5700 on: tests/run.sh runs it beside make
# check, whose clusters start at 5499.
export GMDB_TEST_PORT=${GMDB_DEEP_PORT:-5700}
command -v git >/dev/null || bail "git is missing: run tests/install-deps.sh"

top=$(mktemp -d /tmp/gmdeep.XXXXXX) || bail "mktemp failed"
chmod 755 "$top"   # the postgres user walks down to its cluster
deep=$top/a-checkout-path-as-deep-as-a-ci-workspace/builds/some-group/some-project/debian-package-build/gmdb
ref_was_running=
[ -f "$refcluster/data/postmaster.pid" ] && ref_was_running=1
cleanup() {
	[ -d "$deep" ] && "$deep/tests/lib/pgcluster.sh" stop "$deep/tests/tmp/cluster" >/dev/null 2>&1
	# GMDB_DEEP_KEEP_CLUSTER=1: the caller stops it (tests/run.sh, whose
	# make check may still be using it)
	[ -z "$ref_was_running" ] && [ "${GMDB_DEEP_KEEP_CLUSTER:-}" != 1 ] &&
		"$srcdir/tests/lib/pgcluster.sh" stop "$refcluster" >/dev/null 2>&1
	rm -rf "$top"
	printf '# total run time: %d s\n' "$((SECONDS - start))"
}
trap cleanup EXIT
mkdir -p "$deep" && git -C "$srcdir" archive HEAD | tar -x -C "$deep" || bail "git archive HEAD failed"
# the socket path a cluster directory there would have had
long="$deep/tests/tmp/hba-lock.XXXXXX/cluster/sock/.s.PGSQL.5499"
ok "$( [ ${#deep} -gt 100 ] && [ ${#long} -gt 107 ]; echo $?)" \
	"the checkout path has ${#deep} characters (a socket below it would have ${#long}, over the limit of 107)"

(cd "$deep" && ./autogen.sh && ./configure --enable-werror -q && make -j"$(nproc)" -s) >"$top/build.log" 2>&1
rc=$?
ok $rc "gmdb builds in $deep"
[ "$rc" = 0 ] || { tail -n 30 "$top/build.log" | sed 's/^/# /'; bail "the build failed"; }

# check NAME TESTS...: make check of TESTS in the deep tree, its results as TAP
check() {
	local name=$1 t log; shift
	(cd "$deep" && timeout -k 30 "${GMDB_DEEP_CHECK_LIMIT:-40m}" make -s check TESTS="$*") >"$top/$name.log" 2>&1
	for t in "$@"; do
		log=$deep/${t%.sh}.log
		if [ -f "$log" ]; then
			while IFS= read -r line; do
				case "$line" in
				"ok "*) ok 0 "$t: ${line#ok }" ;;
				"not ok "*) ok 1 "$t: ${line#not ok }" ;;
				*) ok 1 "$t: $line" ;;
				esac
			done < <(grep -E '^(ok|not ok|Bail out)' "$log")
			grep -E '^# downtime parts:' "$log" | sed "s|^# |# $t: |"
		else
			ok 1 "$t did not run"
			tail -n 20 "$top/$name.log" | sed 's/^/# /'
		fi
	done
}
t0=$SECONDS
GMDB_TEST_CLUSTER= check shared tests/pg/fingerprint.sh tests/zz-stop-cluster.sh
echo "# the shared cluster's tests: $((SECONDS - t0)) s"
t0=$SECONDS
GMDB_TEST_CLUSTER=$refcluster check private $PRIVATE_TESTS
echo "# the private clusters' tests: $((SECONDS - t0)) s"
is "$(ls -d "$deep"/tests/tmp/*/cluster 2>/dev/null)" "" "no private cluster is left in the deep tree"
done_testing
