#!/bin/bash
# Runs after every other test: stop the shared test cluster.
. "$(dirname "$0")/lib/tap.sh"
GMDB_TESTDIR=${GMDB_TESTDIR:-$(dirname "$0")/tmp}
if [ -n "${GMDB_TEST_CLUSTER:-}" ]; then
	ok 0 "the test cluster $GMDB_TEST_CLUSTER was given from outside: left running"
elif [ -f "$GMDB_TESTDIR/cluster/data/postmaster.pid" ]; then
	"$(dirname "$0")/lib/pgcluster.sh" stop "$GMDB_TESTDIR/cluster"
	ok $? "the shared test cluster stopped"
else
	ok 0 "no shared test cluster was running"
fi
done_testing
