#!/bin/bash
# The reference databases, made on PostgreSQL 15 by upstream's own
# bootstrapper (tests/lib/common.sh's need_reference), as dumps to carry to
# other PostgreSQL majors, where upstream's engine cannot run:
#
#   bash tests/debian/carry-reference.sh OUTDIR
#
# Writes into OUTDIR (made if missing; the postgres user may read it):
#   roles.sql               the cluster's roles (common.sh's dump_roles: no
#                           GRANTED BY, which PostgreSQL 16+ refuses)
#   gmref_vN.dump           N = 2 ... 22, pg_dump -Fc
#   gmref_fixup_v22.dump    upstream's fixup_db-v22.conf run on a copy of
#                           gmref_v22 here, on PostgreSQL 15
#   done                    written last: the set is complete
# Uses the test cluster GMDB_TEST_CLUSTER (else this checkout's
# tests/tmp/cluster), building its reference databases if it has none (or
# waiting for the make check that builds them), and stops it afterwards if
# it was not running before, unless GMDB_CARRY_KEEP_CLUSTER=1 (tests/run.sh
# runs this beside make check, whose last test stops the cluster).
set -u
out=${1:?usage: carry-reference.sh OUTDIR}
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
die() { echo "carry-reference.sh: error: $*" >&2; exit 1; }
bail() { die "$*"; }   # common.sh's helpers bail on failure
was_running=
{ [ -f "$GMDB_CLUSTER/data/postmaster.pid" ] || [ "${GMDB_CARRY_KEEP_CLUSTER:-}" = 1 ]; } && was_running=1
work=$(mktemp -d /tmp/gmcarry.XXXXXX) || die "mktemp failed"
chmod 777 "$work"
names_held=
cleanup() {
	[ -n "$names_held" ] && drop_db gnumed_v22 2>/dev/null
	[ -z "$was_running" ] && "$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$GMDB_CLUSTER" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
need_reference
serialize_gnumed_tests
names_held=1
mkdir -p "$out" && chmod 755 "$out" || die "cannot make $out"
rm -f "$out/done" "$out"/*.dump "$out/roles.sql"
[ "$(sql postgres -c "SHOW server_version_num")" -lt 160000 ] ||
	die "the reference cluster is not PostgreSQL 15: upstream's engine cannot run there"

# upstream's fixup, on a copy named as upstream's engine wants it
clone_db gmref_v22 gnumed_v22 || die "cannot copy gmref_v22"
PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" fixup_db-v22.conf "$work/upstream-fixup" >&2 ||
	die "upstream's fixup_db-v22.conf failed"
drop_db gmref_fixup_v22
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO gmref_fixup_v22' >/dev/null || die "cannot rename the fixed-up copy"
# the dumps do not use the real names: the tests that do go on meanwhile
names_held=
exec 8>&-

dump_roles "$out/roles.sql" || die "cannot dump the roles"
# two at a time: the machine has two CPUs, and pg_dump waits on the server
dbs="gmref_fixup_v22 $(seq -f 'gmref_v%g' 22 -1 2)"
printf '%s\n' $dbs | xargs -P 2 -I{} pg_dump -U postgres -Fc -Z1 -f "$out/{}.dump" {} || die "pg_dump failed"
drop_db gmref_fixup_v22
chmod 644 "$out"/*
date -u +%FT%TZ >"$out/done"
echo "carry-reference.sh: $(ls "$out"/*.dump | wc -l) dumps and roles.sql in $out ($(du -sh "$out" | cut -f1))" >&2
