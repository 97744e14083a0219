#!/bin/bash
# Run upstream's engine (bootstrap_gm_db_system.py from Debian's
# gnumed-server) on one of its confs, against the cluster named by PGHOST and
# PGPORT, exactly as upstream's gm-upgrade_server / gm-fixup_server do after
# their shell preamble (which only blocks on prompts and makes a backup):
#
#   run-upstream.sh CONF LOGSTEM     e.g. update_db-v21_v22.conf /tmp/x/up
#
# Writes LOGSTEM.log (the engine's log) and LOGSTEM.out (its output).
# The engine writes its audit schema to audit-trail-schema.sql in TMPDIR,
# a fixed name (bootstrap_gm_db_system.py): two runs at once in one /tmp
# interleave their files (seen in CI: a syntax error in the other run's
# half-written trigger). Each run gets a TMPDIR of its own, LOGSTEM.tmp,
# owned by postgres, whom the engine becomes; removed afterwards.
set -eu
conf=${1:?usage: run-upstream.sh CONF LOGSTEM}
stem=${2:?usage: run-upstream.sh CONF LOGSTEM}
upstream=${GMDB_UPSTREAM_DIR:-/var/lib/gnumed/server}
: "${PGPORT:?PGPORT must name the test cluster}"
mkdir -p "$(dirname "$stem")"
stem=$(cd "$(dirname "$stem")" && pwd)/$(basename "$stem")
rm -rf "$stem.log" "$stem.tmp"
mkdir -m 700 "$stem.tmp"
[ "$(id -u)" != 0 ] || chown postgres: "$stem.tmp"
trap 'rm -rf "$stem.tmp"' EXIT
cd "$upstream/bootstrap"
TMPDIR=$stem.tmp GM_DB_PORT=$PGPORT ${GMDB_PYTHON:-/usr/bin/python3} ./bootstrap_gm_db_system.py \
	--log-file="$stem.log" --conf-file="$conf" --quiet >"$stem.out" 2>&1 || {
	tail -n 20 "$stem.out" >&2
	echo "run-upstream.sh: error: upstream's engine failed on $conf, see $stem.log" >&2
	exit 1
}
