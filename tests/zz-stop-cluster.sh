#!/bin/bash
# Runs after every other test: stop the shared test cluster.
. "$(dirname "$0")/lib/tap.sh"
GMDB_TESTDIR=${GMDB_TESTDIR:-$(dirname "$0")/tmp}
if [ "${GMDB_KEEP_SHARED_CLUSTER:-}" = 1 ]; then
	# tests/run.sh: tests/deep-path.sh may still copy databases from it
	[ -f "${GMDB_TEST_CLUSTER:-$GMDB_TESTDIR/cluster}/data/postmaster.pid" ]
	ok $? "the shared test cluster is left running for tests/deep-path.sh (tests/run.sh stops it)"
elif [ -n "${GMDB_TEST_CLUSTER:-}" ]; then
	[ -f "$GMDB_TEST_CLUSTER/data/postmaster.pid" ]
	ok $? "the test cluster $GMDB_TEST_CLUSTER was given from outside: it is still running"
else
	cluster=$GMDB_TESTDIR/cluster
	[ -f "$cluster/data/postmaster.pid" ] && "$(dirname "$0")/lib/pgcluster.sh" stop "$cluster"
	[ ! -f "$cluster/data/postmaster.pid" ]
	ok $? "the shared test cluster is not running any more"
fi
done_testing
