#!/bin/bash
# gmdb on a throw-away demo: build gmdb, make a throw-away PostgreSQL cluster,
# build a real GNUmed database in it with upstream's own bootstrapper (Debian's
# gnumed-server, about two minutes), and walk upstream's downtime runbook
# with the gmdb tools: fingerprint, the 21 -> 22 upgrade (with its backup)
# inside gm-upgrade_server --downtime (banner notice, remote access locked,
# banner and access restored), the fixup inside its own downtime, the old
# database retired, the new database's fingerprint. Everything is removed at the end
# (GMDB_DEMO_KEEP=1 keeps it).
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

export GMDB_LOG_DIR=$demo/logs GMDB_BACKUP_DIR=$demo/backups GMDB_STATE_DIR=$demo/state
mkdir -p "$GMDB_BACKUP_DIR" "$GMDB_STATE_DIR" && chmod 777 "$GMDB_BACKUP_DIR" "$GMDB_STATE_DIR"

say "the practice's own logon banner"
gm-banner gnumed_v21 set "Welcome to the practice. Backups run at 22:00."
gm-banner gnumed_v21 show

say "gm-upgrade_server --check 21 22: every precondition, nothing changed"
gm-upgrade_server --check 21 22

say "gm-upgrade_server --downtime --yes --grace 5 21 22: the whole downtime runbook in one run"
# notice in the banner, connection limit 0, remote access locked, sessions
# ended, backup, clone, upstream's steps, hash, plausibility, then the
# notice out of the new database, the old one's banner saying what replaced
# it, limit and access restored; a failure undoes all of it
gm-upgrade_server --downtime --yes --grace 5 21 22

say "the new database has the practice's banner, the old one says what replaced it"
gm-banner gnumed_v22 show
gm-banner gnumed_v21 show
gm-hba-lock status | grep 'remote access'

say "gm-fixup_server --downtime -d gnumed_v22: upstream's fixups for v22, with a snapshot to roll back to"
gm-fixup_server --downtime --grace 5 -d gnumed_v22

say "gm-upgrade_server --retire 21: the old database refuses connections (kept, not dropped)"
gm-upgrade_server --retire 21

say "gm-fingerprint_db --expect-version 22 gnumed_v22"
gm-fingerprint_db --expect-version 22 gnumed_v22 | head -n 12
echo "(exit status ${PIPESTATUS[0]}: the new database has the known v22 schema hash; gnumed_v21 is kept as it was)"
ls -d "$GMDB_BACKUP_DIR"/* "$GMDB_LOG_DIR"/gm-*.log 2>/dev/null | sed 's/^/  /'
