#!/bin/bash
# The downtime procedure: gm-upgrade_server --downtime / --recover / --retire
# and gm-fixup_server --downtime. It locks pg_hba.conf, so it runs in a
# cluster of its own (stopped at the end, whatever happens), with GNUmed
# databases copied from the shared reference cluster (pg_dump, pg_restore).
# A kill -9 at every step of the procedure in turn, then --recover: the
# system must be exactly as it was each time.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference

tmp=$(mktemp -d "$GMDB_TESTDIR/downtime.XXXXXX") || bail "cannot make a temporary directory"
chmod 755 "$tmp"
cl=$tmp/cluster
cleanup() {
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$cl" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- the databases, from the shared reference cluster ---------------------------------
# uncompressed, side by side: compressing would take longer than copying
dump_roles "$tmp/roles.sql" || bail "cannot dump the roles of the reference cluster"
pg_dump -U postgres -Fc -Z0 -f "$tmp/v21.dump" gmref_v21 & p1=$!
pg_dump -U postgres -Fc -Z0 -f "$tmp/v22.dump" gmref_v22 & p2=$!
wait "$p1" && wait "$p2" || bail "cannot dump the reference databases"

private_cluster "$cl"
# Debian's way for local logins: peer authentication, so that gmdb reaches
# the owner gm-dbo only through its temporary peer grant (the superuser by
# trust here: the tests run as root)
printf 'local all postgres trust\nlocal all all peer\nhost all all 127.0.0.1/32 trust\n' >"$cl/data/pg_hba.conf"
sql postgres -c "SELECT pg_reload_conf()" >/dev/null || bail "cannot reload the private cluster"
restore_roles "$tmp/roles.sql" || bail "cannot restore the roles of the reference cluster in the private cluster"
# GNUmed databases default to read-only transactions
PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$tmp/v21.dump" & p1=$!
PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$tmp/v22.dump" & p2=$!
wait "$p1" && wait "$p2" || bail "cannot restore the reference databases in the private cluster"
for v in 21 22; do
	sql postgres -c "ALTER DATABASE gmref_v$v RENAME TO orig_v$v" >/dev/null || bail "cannot rename gmref_v$v"
done
rm -f "$tmp"/*.dump

export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs GMDB_SYSCONF_DIR=$tmp/etc
mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" "$tmp/etc/gnumed" "$tmp/etc/cron.daily"
chmod 777 "$GMDB_LOG_DIR"
printf '# upstream'"'"'s backup configuration\nGM_DATABASE="gnumed_v21"\n' >"$tmp/etc/gnumed/gnumed-backup.conf"
printf '#!/bin/sh\n' >"$tmp/etc/cron.daily/gnumed-server"
printf '[preferences]\nprofile = local\n\n[profile local]\nhost =\ndatabase = gnumed_v21\n\n[profile office]\nhost = 10.0.0.1\ndatabase = gnumed_v21\n' \
	>"$tmp/etc/gnumed/gnumed-client.conf"
state=$GMDB_STATE_DIR/procedure.state
hba=$cl/data/pg_hba.conf
cp -p "$hba" "$tmp/hba.orig"

# The practice's banner: quotes, a backslash, non-ASCII, two lines.
banner=$(printf 'Praxis Dr. "M\xc3\xbcller" \\ O'"'"'Brien: 8\xe2\x80\x9312 Uhr \xe2\x9c\x93\nBackups run at 22:00.')
gm-banner orig_v21 set "$banner" && gm-banner orig_v22 set "$banner" || bail "cannot set the banner"
banner_hex=$(printf '%s' "$banner" | od -An -v -tx1 | tr -d ' \n')
stored_hex() { sql "$1" -c "SELECT encode(convert_to(message, 'UTF8'), 'hex') FROM cfg.db_logon_banner"; }
connlimit() { sql postgres -c "SELECT datconnlimit FROM pg_database WHERE datname = '$1'"; }
exists() { [ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }
same() { PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$tmp/cmp" "$1" "$2" >"$tmp/cmp.out" 2>&1; }
# a fresh gnumed_vN with a connection limit of its own, as the practice left it
fresh() {
	clone_db "orig_v$1" "gnumed_v$1" && sql postgres -c "ALTER DATABASE gnumed_v$1 CONNECTION LIMIT 7" >/dev/null
}
sql postgres -c "ALTER DATABASE orig_v21 CONNECTION LIMIT 7" -c "ALTER DATABASE orig_v22 CONNECTION LIMIT 7" >/dev/null

# Everything as it was: the source, its banner and limit, pg_hba.conf, no
# target, no state file.
as_before() {  # DB TARGET WHAT
	same "orig_${1#gnumed_}" "$1"
	ok $? "$3: \"$1\" is exactly as it was (schema, rows, roles)"
	[ $? = 0 ] || sed 's/^/# /' "$tmp/cmp.out" | head -n 20
	is "$(stored_hex "$1")" "$banner_hex" "$3: its banner is the original, byte for byte"
	is "$(connlimit "$1")" 7 "$3: its connection limit is as before"
	cmp -s "$hba" "$tmp/hba.orig"
	ok $? "$3: pg_hba.conf is the original, byte for byte"
	if [ -n "$2" ]; then
		exists "$2"
		is "$?" 1 "$3: no \"$2\" is left"
	fi
	[ ! -e "$state" ]
	ok $? "$3: no state file is left"
}

# --- kill -9 at every step, then --recover ---------------------------------------------
first=1
for step in notice connlimit hba-lock sessions upgrade-started upgrade-done unnotice-target replaced-notice \
	connlimit-restore hba-unlock; do
	drop_db gnumed_v22
	fresh 21
	GMDB_TEST_CRASH_AT=$step run gm-upgrade_server --downtime --no-backup --grace 1 21 22
	is "$rc" 137 "kill -9 after step $step"
	[ -e "$state" ]
	ok $? "$step: the state file records the unfinished procedure"
	if [ "$step" = connlimit ]; then
		like "$(psql -X -w -h 127.0.0.1 -U gm-dbo -d gnumed_v21 -c 'SELECT 1' 2>&1)" 'too many connections for database "gnumed_v21"' \
			"$step: new sessions of ordinary roles are refused"
	fi
	if [ -n "$first" ]; then
		first=
		run gm-fingerprint_db gnumed_v21
		like "$err" "warning: an unfinished downtime procedure \(upgrade 21 22, started .* UTC, process [0-9]+\): run gm-upgrade_server --recover" \
			"another gmdb tool warns about the unfinished procedure"
		run gm-upgrade_server --downtime --no-backup 21 22
		is "$rc" 3 "a new --downtime run refuses while the state exists: exit 3"
		like "$err" 'Run "gm-upgrade_server --recover" first' "and says to run --recover"
	fi
	run gm-upgrade_server --recover
	is "$rc" 0 "$step: --recover exits 0"
	[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | tail -n 5
	as_before gnumed_v21 gnumed_v22 "$step"
done
run gm-upgrade_server --recover
is "$rc" 0 "--recover with nothing recorded: exit 0"
like "$err" "nothing to do" "and says so"

# --- a failing upgrade ------------------------------------------------------------------
tree=$tmp/tree
mkdir -p "$tree" && cp -a "$GMDB_UPSTREAM_DIR/bootstrap" "$GMDB_UPSTREAM_DIR/sql" "$tree/"
ln -s "$GMDB_UPSTREAM_DIR/pycommon" "$tree/pycommon"
chmod -R a+rX "$tree"
f=$(grep -l 'ON_ERROR_STOP 1' "$tree"/sql/v21-v22/dynamic/*.sql | head -n 1)
cp -p "$f" "$tmp/saved.sql"
printf '\nselect * from gmdb_injected_failure;\n' >>"$f"
fresh 21
run gm-upgrade_server --downtime --no-backup --grace 1 --upstream-dir "$tree" 21 22
is "$rc" 1 "a failing upgrade under --downtime: exit 1"
like "$err" "gmdb_injected_failure" "the error is the failing statement's"
like "$err" "Everything is as it was before the procedure" "and it says everything was undone"
as_before gnumed_v21 gnumed_v22 "failed upgrade"
cp -p "$tmp/saved.sql" "$f"

# --- SIGTERM in the middle: everything undone at once ------------------------------------
fresh 21
gm-upgrade_server --downtime --no-backup --grace 1 21 22 >"$tmp/term.out" 2>"$tmp/term.err" &
bg=$!
for i in $(seq 100); do grep -qx 'intent=upgrade' "$state" 2>/dev/null && break; sleep 0.1; done
sleep 2
kill -TERM "$bg"
wait "$bg"
rc=$?
is "$rc" 1 "SIGTERM while the upgrade runs: exit 1"
like "$(cat "$tmp/term.err")" "signal 15" "it says it was interrupted"
as_before gnumed_v21 gnumed_v22 "SIGTERM"

# --- a local session on the source: the clone cannot start -------------------------------
fresh 21
fifo=$tmp/fifo; mkfifo "$fifo"
(cat "$fifo" | psql -X -q -U postgres -d gnumed_v21 >/dev/null 2>&1) &
sleep 1
run gm-upgrade_server --downtime --no-backup --grace 1 21 22
is "$rc" 3 "a local session on the source: exit 3"
like "$err" '1 session is still open on "gnumed_v21"' "it says a session is open"
like "$err" 'pid [0-9]+, user "postgres", .*from the local socket' "and lists it"
echo '\q' >"$fifo"; wait
sleep 0.5
as_before gnumed_v21 gnumed_v22 "local session"

# --- the upgrade under --downtime --------------------------------------------------------
fresh 21
# a remote session of an ordinary role, open before the downtime
psql -X -w -h 127.0.0.1 -U gm-dbo -d gnumed_v21 -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
remote=$!
for i in $(seq 50); do
	[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL AND datname = 'gnumed_v21'")" = 1 ] && break
	sleep 0.1
done
run gm-upgrade_server --downtime --no-backup --grace 1 21 22
wait "$remote"
like "$err" "ended 1 remote session" "the remote session was ended after the grace period"
is "$rc" 0 "gm-upgrade_server --downtime 21 22: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | tail -n 10
is "$(stored_hex gnumed_v22)" "$banner_hex" "the new database's banner is the source's original, byte for byte"
like "$(gm-banner gnumed_v21 show)" 'This GNUmed database was replaced by "gnumed_v22"' "the source's banner says what replaced it"
is "$(gm-banner gnumed_v21 show --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["original"])' | od -An -v -tx1 | tr -d ' \n')" \
	"${banner_hex}0a" "with the practice's banner after the notice"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is the original again, byte for byte"
is "$(connlimit gnumed_v21)" 7 "the source's connection limit is restored"
is "$(connlimit gnumed_v22)" -1 "the new database has no limit"
is "$(sql postgres -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = 'gnumed_v22'")" "" \
	"the new database carries no gmdb mark"
like "$out" "database = gnumed_v22" "the end screen names the clients' setting"
like "$out" "now: \[profile office\] database = gnumed_v21" "with the current value of each client profile"
like "$out" "GM_DATABASE=\"gnumed_v22\"" "and the backup job's"
like "$out" "it is GM_DATABASE=\"gnumed_v21\" now" "with the backup job's current value"
like "$out$err" "cron.daily/gnumed-server" "the scheduled job is named"
like "$out" "gm-upgrade_server --retire 21" "and says how to retire the old database"
[ ! -e "$state" ]
ok $? "no state file is left"

# --- retire ---------------------------------------------------------------------------------
run gm-upgrade_server --retire 22
is "$rc" 3 "--retire of the newest database is refused: exit 3"
like "$err" 'newest GNUmed database' "and says why"
(cat "$fifo" | psql -X -q -U postgres -d gnumed_v21 >/dev/null 2>&1) &
sleep 1
run gm-upgrade_server --retire 21
is "$rc" 3 "--retire with a session open: exit 3"
like "$err" 'pid [0-9]+, user "postgres"' "and lists the session"
echo '\q' >"$fifo"; wait
sleep 0.5
run gm-upgrade_server --retire 21
is "$rc" 0 "--retire 21: exit 0"
like "$(psql -X -U postgres -d gnumed_v21 -c 'SELECT 1' 2>&1)" 'is not currently accepting connections' \
	"connections to the retired database are refused"
exists gnumed_v21; ok $? "the retired database still exists"
undo=$(printf '%s\n' "$out" | sed -n 's/^  or: //p')
like "$undo" "ALLOW_CONNECTIONS true" "it prints the undo with psql"
eval "$undo" >/dev/null 2>&1
is "$(sql gnumed_v21 -c 'SELECT 1' 2>&1)" 1 "the printed undo works"
run gm-upgrade_server --retire 21
run gm-upgrade_server --unretire 21
is "$rc" 0 "--unretire 21: exit 0"
is "$(sql gnumed_v21 -c 'SELECT 1' 2>&1)" 1 "and connections work again"

# --- the fixup under --downtime, with its snapshot -----------------------------------------
drop_db gnumed_v21
f=$tree/sql/v21-v22/fixups/v22-release_notes-fixup.sql
cp -p "$f" "$tmp/saved.sql"
printf '\n\\set ON_ERROR_STOP 1\nselect * from gmdb_injected_failure;\n' >>"$f"
fresh 22
run gm-fixup_server --downtime --grace 1 -d gnumed_v22 --upstream-dir "$tree" 22
is "$rc" 1 "a failing fixup under --downtime: exit 1"
like "$err" "gmdb_injected_failure" "the error is the failing statement's"
like "$err" "rolling \"gnumed_v22\" back to its snapshot \.\.\. ok" "the database is rolled back to its snapshot"
as_before gnumed_v22 gnumed_v22_gmdb_snapshot "failed fixup"

fresh 22
GMDB_TEST_CRASH_AT=fixup-started run gm-fixup_server --downtime --grace 1 -d gnumed_v22 --upstream-dir "$tree" 22
is "$rc" 137 "kill -9 while the fixup runs"
run gm-fixup_server --recover
is "$rc" 0 "gm-fixup_server --recover: exit 0"
as_before gnumed_v22 gnumed_v22_gmdb_snapshot "fixup killed"

fresh 22
GMDB_TEST_CRASH_AT=snapshot run gm-fixup_server --downtime --grace 1 -d gnumed_v22 --upstream-dir "$tree" 22
is "$rc" 137 "kill -9 after the snapshot"
run gm-fixup_server --recover
is "$rc" 0 "gm-fixup_server --recover: exit 0"
as_before gnumed_v22 gnumed_v22_gmdb_snapshot "killed after the snapshot"
cp -p "$tmp/saved.sql" "$f"

# a fixup that got through, the procedure killed before it was done: the
# database goes back to the snapshot too
fresh 22
GMDB_TEST_CRASH_AT=fixup-done run gm-fixup_server --downtime --grace 1 -d gnumed_v22 22
is "$rc" 137 "kill -9 after the fixup worked"
run gm-fixup_server --recover
is "$rc" 0 "gm-fixup_server --recover: exit 0"
like "$err" "rolling \"gnumed_v22\" back to its snapshot \.\.\. ok" "it rolls the fixed-up database back"
as_before gnumed_v22 gnumed_v22_gmdb_snapshot "killed after the fixup"

fresh 22
run gm-fixup_server --downtime --grace 1 --keep-snapshot -d gnumed_v22 22
is "$rc" 0 "gm-fixup_server --downtime --keep-snapshot: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | tail -n 10
is "$(stored_hex gnumed_v22)" "$banner_hex" "after the fixup the banner is the original, byte for byte"
is "$(connlimit gnumed_v22)" 7 "the connection limit is restored"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is the original again"
exists gnumed_v22_gmdb_snapshot; ok $? "--keep-snapshot keeps the snapshot"
same orig_v22 gnumed_v22_gmdb_snapshot
ok $? "the snapshot is the database as it was before the fixup"
[ ! -e "$state" ]
ok $? "no state file is left"
drop_db gnumed_v22_gmdb_snapshot

done_testing
