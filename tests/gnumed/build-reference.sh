#!/bin/bash
# Build real GNUmed databases with upstream's own bootstrapper (Debian's
# gnumed-server), into the cluster named by PGHOST/PGPORT.
#
#   build-reference.sh UPTO [LOGDIR]
#
# Runs bootstrap_gm_db_system.py on an aggregation conf made of the files of
# upstream's bootstrap-latest.conf up to update_db-v(UPTO-1)_vUPTO.conf, so
# that gnumed_v2 ... gnumed_vUPTO all exist afterwards, each made by upstream.
# Runs Debian's /usr/bin/python3 (GMDB_PYTHON to override: psycopg2 must be
# importable there). Needs gnumed-server and python3-psycopg2, a cluster whose lc_ctype is UTF-8
# and PostgreSQL < 16 (upstream's engine reads lc_ctype from pg_settings).
set -eu
upto=${1:?usage: build-reference.sh UPTO [LOGDIR]}
logdir=${2:-.}
upstream=${GMDB_UPSTREAM_DIR:-/var/lib/gnumed/server}
: "${PGPORT:?PGPORT must name the test cluster}"

mkdir -p "$logdir"
logdir=$(cd "$logdir" && pwd)
conf="$logdir/bootstrap-upto-v$upto.conf"
{
	echo "[installation]"
	echo "interactive = no"
	echo "config files = \$config files\$"
	sed -n '/^config files = \$config files\$$/,/^\$config files\$$/p' \
		"$upstream/bootstrap/bootstrap-latest.conf" | sed '1d;$d' |
	while read -r f; do
		echo "$f"
		[ "$f" = "update_db-v$((upto - 1))_v$upto.conf" ] && break
	done
	echo "\$config files\$"
} >"$conf"
grep -q "update_db-v$((upto - 1))_v$upto.conf" "$conf" || { echo "build-reference.sh: error: no upgrade to v$upto in $upstream" >&2; exit 1; }

# the engine's TMPDIR: a directory of its own (tests/lib/engine-tmpdir.sh)
tmpdir_run=$(cd "$(dirname "$0")/../lib" && pwd)/engine-tmpdir.sh
cd "$upstream/bootstrap"
GM_DB_PORT=$PGPORT "$tmpdir_run" "$logdir/tmp" ${GMDB_PYTHON:-/usr/bin/python3} ./bootstrap_gm_db_system.py --log-file="$logdir/bootstrap-upto-v$upto.log" \
	--conf-file="$conf" --quiet >"$logdir/bootstrap-upto-v$upto.out" 2>&1 || {
	tail -n 30 "$logdir/bootstrap-upto-v$upto.out" >&2
	echo "build-reference.sh: error: upstream's bootstrapper failed, see $logdir/bootstrap-upto-v$upto.log" >&2
	exit 1
}
