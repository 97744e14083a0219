#!/bin/bash
# gmdb on a throw-away demo: build gmdb, make a throw-away PostgreSQL cluster,
# build a real GNUmed database in it with upstream's own bootstrapper (Debian's
# gnumed-server, about two minutes), run the gmdb tools on it and show what
# they found. Everything is removed at the end (GMDB_DEMO_KEEP=1 keeps it).
# Run as root on Debian (installs what is missing with apt-get).
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing what is missing, building gmdb"
bash tests/install-deps.sh
{ [ -x configure ] || ./autogen.sh >/dev/null; } && ./configure -q && make -s -j"$(nproc)" >/dev/null
export PATH="$top/tools:$PATH"

demo=$(mktemp -d /tmp/gmdb-demo.XXXXXX)
chmod 755 "$demo"
cleanup() {
	if [ "${GMDB_DEMO_KEEP:-0}" = 1 ]; then
		echo "kept: cluster in $demo (stop it with: tests/lib/pgcluster.sh stop $demo/cluster)"
	else
		tests/lib/pgcluster.sh stop "$demo/cluster" || true
		rm -rf "$demo"
	fi
}
trap cleanup EXIT

say "a throw-away PostgreSQL cluster in $demo"
port=5499
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
tests/lib/pgcluster.sh start "$demo/cluster" "$port"
eval "$(tests/lib/pgcluster.sh env "$demo/cluster")"
unset PGUSER
mkdir -p "$demo/logs" && chmod 777 "$demo/logs"

say "building a real gnumed_v21 with upstream's bootstrapper (about two minutes)"
PGUSER=postgres tests/gnumed/build-reference.sh 21 "$demo/logs"

say "gm-fingerprint_db --verify-hash --expect-version 21 gnumed_v21"
gm-fingerprint_db --verify-hash --expect-version 21 gnumed_v21
echo "(exit status $?: the database has the known v21 schema hash)"

say "the schema hash of every database upstream's chain left behind"
for v in $(seq 2 21); do
	printf 'gnumed_v%-3s ' "$v"
	gm-fingerprint_db --json "gnumed_v$v" | /usr/bin/python3 -c \
		'import json,sys; d=json.load(sys.stdin); print(d["schema_hash"], "v%s" % d["schema_version"], d["size"])'
done
