#!/bin/bash
# A cluster without the database "postgres". PostgreSQL does not need it
# ("postgres" is only the default database of its tools) and some admins
# drop or rename it. gmdb's own cluster-wide sessions go to it where it is
# (a session kept on template1, the default template, would make another
# user's CREATE DATABASE fail); without it they must go to template1 and
# not be kept there. Every tool, and the downtime procedure, must work
# the same, and leave no session of its own on template1. In a cluster of
# its own, local logins by peer as on Debian (the owner through gmdb's
# temporary peer grant), with the real names gnumed_v21 and gnumed_v22.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference

peer_orig_workdir gmnm
hba=$cl/data/pg_hba.conf
cp -p "$hba" "$tmp/hba.orig"
clone_db orig_v21 gnumed_v21 || bail "cannot copy orig_v21"
sql postgres -c "SELECT 1" >/dev/null || bail "no database postgres to begin with"
sql template1 -c "ALTER DATABASE postgres RENAME TO maintenance_away" >/dev/null || bail "cannot rename the database postgres"
is "$(sql template1 -c "SELECT count(*) FROM pg_database WHERE datname = 'postgres'")" 0 \
	"the cluster has no database \"postgres\""

exists() { [ "$(sql template1 -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }
drop() { sql template1 -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null; }
# WHAT: no session is left on template1 (a backend takes some
# milliseconds to exit after its session is closed: up to 5 s), and
# another user's CREATE DATABASE from it works
template1_free() {
	local n i
	for i in $(seq 50); do
		n=$(sql template1 -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'template1' AND pid <> pg_backend_pid()")
		[ "$n" = 0 ] && break
		sleep 0.1
	done
	is "$n" 0 "$1: no session is left on template1"
	sql template1 -c "CREATE DATABASE gmt_after TEMPLATE template1" >/dev/null && drop gmt_after
	ok $? "$1: a CREATE DATABASE from template1 works right after"
}
# WHAT: the last run's error output and log say nothing of a missing
# database "postgres"
no_complaint() {
	unlike "$err$out" 'database "postgres" does not exist' "$1: nothing on the output about the database \"postgres\""
}

# --- gm-hba-lock -----------------------------------------------------------------------
run gm-hba-lock status
is "$rc" 0 "gm-hba-lock status: exit 0"
like "$out" "unlocked|not locked" "it says that remote access is open"
no_complaint "gm-hba-lock status"
run gm-hba-lock lock
is "$rc" 0 "gm-hba-lock lock: exit 0"
run gm-hba-lock status
like "$out" "locked" "status: locked"
run gm-hba-lock unlock
is "$rc" 0 "gm-hba-lock unlock: exit 0"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is the original again, byte for byte"
template1_free "gm-hba-lock"

# --- gm-fingerprint_db, gm-banner ---------------------------------------------------------
run gm-fingerprint_db gnumed_v21
is "$rc" 0 "gm-fingerprint_db: exit 0"
no_complaint "gm-fingerprint_db"
run gm-banner gnumed_v21 set "Praxis banner"
is "$rc" 0 "gm-banner set: exit 0"
run gm-banner gnumed_v21 show
like "$out" "Praxis banner" "gm-banner show: the banner set"
template1_free "gm-fingerprint_db and gm-banner"

# --- gm-upgrade_server -----------------------------------------------------------------
run gm-upgrade_server --check 21 22
is "$rc" 0 "gm-upgrade_server --check: exit 0"
no_complaint "gm-upgrade_server --check"
run gm-upgrade_server --no-backup --yes 21 22
is "$rc" 0 "gm-upgrade_server 21 22: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 20 | sed 's/^/# /'
no_complaint "gm-upgrade_server 21 22"
exists gnumed_v22
ok $? "gnumed_v22 is there"
template1_free "gm-upgrade_server 21 22"

# --- gm-fixup_server -------------------------------------------------------------------
run gm-fixup_server -d gnumed_v22
is "$rc" 0 "gm-fixup_server -d gnumed_v22: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 20 | sed 's/^/# /'
no_complaint "gm-fixup_server"
template1_free "gm-fixup_server"

# --- the upgrade with a backup ---------------------------------------------------------
drop gnumed_v22
mkdir -m 700 "$tmp/backups" && chown postgres: "$tmp/backups"
GMDB_BACKUP_DIR=$tmp/backups run gm-upgrade_server --yes 21 22
is "$rc" 0 "gm-upgrade_server 21 22 with a backup: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 20 | sed 's/^/# /'
no_complaint "gm-upgrade_server with a backup"
template1_free "gm-upgrade_server with a backup"

# --- the rehearsal ---------------------------------------------------------------------
drop gnumed_v22
run gm-upgrade_server --rehearse --no-backup 21 22
is "$rc" 0 "gm-upgrade_server --rehearse: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 20 | sed 's/^/# /'
no_complaint "gm-upgrade_server --rehearse"
exists gnumed_v22
is "$?" 1 "the rehearsal leaves no gnumed_v22"
template1_free "gm-upgrade_server --rehearse"

# --- the downtime procedures -----------------------------------------------------------
run gm-upgrade_server --downtime --no-backup --grace 1 21 22
is "$rc" 0 "gm-upgrade_server --downtime: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$out$err" | tail -n 20 | sed 's/^/# /'
no_complaint "gm-upgrade_server --downtime"
exists gnumed_v22
ok $? "the downtime procedure made gnumed_v22"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "gm-upgrade_server --downtime: pg_hba.conf is the original again, byte for byte"
[ ! -e "$GMDB_STATE_DIR/procedure.state" ]
ok $? "gm-upgrade_server --downtime: no state file is left"
template1_free "gm-upgrade_server --downtime"

run gm-fixup_server --downtime --grace 1 -d gnumed_v22 22
is "$rc" 0 "gm-fixup_server --downtime: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$out$err" | tail -n 20 | sed 's/^/# /'
no_complaint "gm-fixup_server --downtime"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "gm-fixup_server --downtime: pg_hba.conf is the original again, byte for byte"
template1_free "gm-fixup_server --downtime"

# --- a failing downtime procedure undoes its steps -------------------------------------
# (the target is there already: the upgrade refuses, the procedure re-opens access)
run gm-upgrade_server --downtime --no-backup --grace 1 21 22
is "$rc" 3 "gm-upgrade_server --downtime with gnumed_v22 there: it fails its checks (exit 3)"
like "$err" 'gnumed_v22' "it names the database in its way"
no_complaint "the failed procedure"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "the failed procedure: pg_hba.conf is the original again, byte for byte"
[ ! -e "$GMDB_STATE_DIR/procedure.state" ]
ok $? "the failed procedure: no state file is left"
template1_free "the failed procedure"
done_testing
