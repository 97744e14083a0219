#!/bin/bash
# engine-tmpdir.sh DIR COMMAND... - run upstream's engine (COMMAND) with a
# TMPDIR of its own.
#
# bootstrap_gm_db_system.py writes the audit schema to
# $TMPDIR/audit-trail-schema.sql, a fixed name: two runs at once in one
# /tmp interleave their files (seen in CI: one run read the other's
# half-written trigger, a syntax error). DIR is made anew (mode 0700, owned
# by postgres when run as root: the engine becomes postgres), COMMAND runs
# with TMPDIR=DIR, DIR is removed; exits with COMMAND's status.
dir=${1:?usage: engine-tmpdir.sh DIR COMMAND...}
shift
rm -rf "$dir" && mkdir -m 700 "$dir" || exit 1
if [ "$(id -u)" = 0 ]; then chown postgres: "$dir" || exit 1; fi
TMPDIR=$dir "$@"
st=$?
rm -rf "$dir"
exit $st
