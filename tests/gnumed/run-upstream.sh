#!/bin/bash
# Run upstream's engine (bootstrap_gm_db_system.py from Debian's
# gnumed-server) on one of its confs, against the cluster named by PGHOST and
# PGPORT, exactly as upstream's gm-upgrade_server / gm-fixup_server do after
# their shell preamble (which only blocks on prompts and makes a backup):
#
#   run-upstream.sh CONF LOGSTEM     e.g. update_db-v21_v22.conf /tmp/x/up
#
# Writes LOGSTEM.log (the engine's log) and LOGSTEM.out (its output); the
# engine's TMPDIR is LOGSTEM.tmp while it runs (tests/lib/engine-tmpdir.sh).
set -eu
tmpdir_run=$(cd "$(dirname "$0")/../lib" && pwd)/engine-tmpdir.sh
conf=${1:?usage: run-upstream.sh CONF LOGSTEM}
stem=${2:?usage: run-upstream.sh CONF LOGSTEM}
upstream=${GMDB_UPSTREAM_DIR:-/var/lib/gnumed/server}
: "${PGPORT:?PGPORT must name the test cluster}"
mkdir -p "$(dirname "$stem")"
stem=$(cd "$(dirname "$stem")" && pwd)/$(basename "$stem")
rm -f "$stem.log"
cd "$upstream/bootstrap"
# the benchmarks: python's compiled modules kept there (bench/lib.sh)
[ -z "${UPSTREAM_PYCACHE:-}" ] || export PYTHONPYCACHEPREFIX=$UPSTREAM_PYCACHE
GM_DB_PORT=$PGPORT "$tmpdir_run" "$stem.tmp" ${GMDB_PYTHON:-/usr/bin/python3} ./bootstrap_gm_db_system.py \
	--log-file="$stem.log" --conf-file="$conf" --quiet >"$stem.out" 2>&1 || {
	tail -n 20 "$stem.out" >&2
	echo "run-upstream.sh: error: upstream's engine failed on $conf, see $stem.log" >&2
	exit 1
}
