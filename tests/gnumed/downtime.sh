#!/bin/bash
# The downtime procedure: gm-upgrade_server --downtime / --recover / --retire
# and gm-fixup_server --downtime. It locks pg_hba.conf, so it runs in a
# cluster of its own (stopped at the end, whatever happens), with GNUmed
# databases copied from the shared reference cluster (pg_dump, pg_restore).
# A kill -9 at every step of the procedure in turn, then --recover: the
# system must be exactly as it was each time. GMDB_DOWNTIME_CRASH_STEPS
# names fewer steps (tests/debian/release.sh's run on another release's
# server, after this host's run of every step: there the steps whose
# undoing touches the server differently - notice, connection limit,
# pg_hba.conf, the upgrade, the build record - are enough).
# GMDB_DOWNTIME_PARTS names the parts that run (default: both): "crash",
# that kill -9 loop; "rest", everything after it (a crash into a new group
# role, a failing upgrade, SIGTERM, SIGHUP, a local session, --replace-target,
# the whole procedure, --retire, the fixup's procedure, its snapshot and its
# child's wait for the backends of its sessions).
# tests/run.sh runs the loop at every step on this host's PostgreSQL 15
# (tests/deep-path.sh), and tests/debian/release.sh the rest on trixie's 17
# and the loop at three steps on forky's 18: the loop on two server majors,
# the rest on one (PostgreSQL 15 and 18 no longer run it in CI). Either way
# the test ends by proving that nothing changed the databases the
# procedures were copied from. It says which parts ran ("# downtime parts:"),
# and tests/run.sh fails when a part ran in none of its jobs.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
read -r -a parts_given <<<"${GMDB_DOWNTIME_PARTS:-crash rest}"
for p in "${parts_given[@]}"; do
	case "$p" in crash | rest) ;; *) bail "GMDB_DOWNTIME_PARTS: no part $p (crash, rest)" ;; esac
done
[ "${#parts_given[@]}" -gt 0 ] || bail "GMDB_DOWNTIME_PARTS names no part (crash, rest)"
parts=" ${parts_given[*]} "
has_part() { case "$parts" in *" $1 "*) return 0 ;; esac; return 1; }
echo "# downtime parts:$parts"
need_reference

private_workdir downtime

# --- the databases, from the shared reference cluster ---------------------------------
# the shared cluster: another server, for a --recover pointed at the wrong one
shared_host=$PGHOST shared_port=$PGPORT
# Debian's way for local logins, peer authentication, so that gmdb reaches
# the owner gm-dbo only through its temporary peer grant
peer_reference_cluster "$cl" "$tmp"
for v in 21 22; do
	sql postgres -c "ALTER DATABASE gmref_v$v RENAME TO orig_v$v" >/dev/null || bail "cannot rename gmref_v$v"
done

export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs GMDB_SYSCONF_DIR=$tmp/etc
mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" "$tmp/etc/gnumed" "$tmp/etc/cron.daily"
chmod 777 "$GMDB_LOG_DIR"
printf '# upstream'"'"'s backup configuration\nGM_DATABASE="gnumed_v21"\n' >"$tmp/etc/gnumed/gnumed-backup.conf"
printf '#!/bin/sh\n' >"$tmp/etc/cron.daily/gnumed-server"
printf '[preferences]\nprofile = local\n\n[profile local]\nhost =\ndatabase = gnumed_v21\n\n[profile office]\nhost = 10.0.0.1\ndatabase = gnumed_v21\n' \
	>"$tmp/etc/gnumed/gnumed-client.conf"
state=$GMDB_STATE_DIR/procedure.state
# Hints print their commands on lines of their own, indented by four
# spaces; they must work as printed from a shell whose PGHOST and PGPORT
# name no server at all.
hint_commands() { printf '%s\n' "$1" | sed -n 's/^    \([a-z].*\)$/\1/p'; }
elsewhere() { PGHOST=/nonexistent PGPORT=1 bash -c "$1"; }
hba=$cl/data/pg_hba.conf
cp -p "$hba" "$tmp/hba.orig"

# The practice's banner: quotes, a backslash, non-ASCII, two lines.
banner=$(printf 'Praxis Dr. "M\xc3\xbcller" \\ O'"'"'Brien: 8\xe2\x80\x9312 Uhr \xe2\x9c\x93\nBackups run at 22:00.')
gm-banner orig_v21 set "$banner" && gm-banner orig_v22 set "$banner" || bail "cannot set the banner"
banner_hex=$(printf '%s' "$banner" | od -An -v -tx1 | tr -d ' \n')
stored_hex() { sql "$1" -c "SELECT encode(convert_to(message, 'UTF8'), 'hex') FROM cfg.db_logon_banner"; }
connlimit() { sql postgres -c "SELECT datconnlimit FROM pg_database WHERE datname = '$1'"; }
exists() { [ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }
# orig_v21 and orig_v22 are only ever copied: what compare-db.sh reads of
# them the first time serves every comparison (-a), and the end of the test
# proves that they are still exactly that
same() { PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$tmp/cmp" -a "$1" "$2" >"$tmp/cmp.out" 2>&1; }
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

# The end of every run: what the comparisons took for orig_v21 and orig_v22
# is what they are now (those of them compared: the kill -9 loop copies
# only orig_v21; each part compares at least one).
finish_testing() {
	local v n=0
	for v in 21 22; do
		[ -f "$tmp/cmp/orig_v$v.schema" ] || continue
		n=$((n + 1))
		PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$tmp/final" "orig_v$v" "orig_v$v" >/dev/null 2>&1 &&
			cmp -s "$tmp/final/orig_v$v.schema" "$tmp/cmp/orig_v$v.schema" && cmp -s "$tmp/final/orig_v$v.rows" "$tmp/cmp/orig_v$v.rows"
		ok $? "orig_v$v is at the end what every comparison above took it for (schema, rows): nothing changed it"
	done
	ok "$([ "$n" -gt 0 ]; echo $?)" "the databases copied were compared ($n of orig_v21, orig_v22)"
	done_testing
}

# --- kill -9 at every step, then --recover ---------------------------------------------
first=1
all_steps="notice connlimit hba-lock sessions upgrade-started upgrade-done unnotice-target build-record replaced-notice connlimit-restore hba-unlock"
has_part crash || all_steps= GMDB_DOWNTIME_CRASH_STEPS=
for step in ${GMDB_DOWNTIME_CRASH_STEPS:-$all_steps}; do
	case " $all_steps " in *" $step "*) ;; *) bail "GMDB_DOWNTIME_CRASH_STEPS: no step $step" ;; esac
	drop_db gnumed_v22
	fresh 21
	GMDB_TEST_CRASH_AT=$step run gm-upgrade_server --downtime --no-backup --grace 1 21 22
	is "$rc" 137 "kill -9 after step $step"
	[ -e "$state" ]
	ok $? "$step: the state file records the unfinished procedure"
	if [ "$step" = connlimit ]; then
		like "$(psql -X -w -h 127.0.0.1 -U gm-dbo -d gnumed_v21 -c 'SELECT 1' 2>&1)" 'too many connections for database "gnumed_v21"|zu viele Verbindungen für Datenbank »gnumed_v21«' \
			"$step: new sessions of ordinary roles are refused"
	fi
	if [ "$step" = hba-lock ]; then
		# what the crash left is named, and --check is not "ready"
		run gm-upgrade_server --check 21 22
		is "$rc" 3 "$step: --check after the crash exits 3"
		unlike "$out" '^ready' "$step: and does not say ready"
		like "$out" 'FAILED   downtime: an unfinished downtime procedure \(upgrade 21 22, started .*\) is recorded in .*procedure.state; it left gmdb.s notice in the banner of "gnumed_v21".*, connection limit 0 on "gnumed_v21", remote access locked' \
			"$step: it says what the crash left"
		like "$out" "It undoes that, as root:" "$step: and that --recover undoes it"
		is "$(hint_commands "$out")" "gm-upgrade_server --recover -h $PGHOST -p $PGPORT" "$step: the command names the server"
	fi
	if [ "$step" = connlimit ]; then
		run gm-upgrade_server --recover -h "$shared_host" -p "$shared_port"
		is "$rc" 3 "$step: --recover pointed at another server: exit 3"
		like "$err" "the journal is about the server with the data directory $cl/data, not " "$step: it says which server the journal is about"
		[ -e "$state" ]
		ok $? "$step: and keeps the journal"
	fi
	if [ -n "$first" ]; then
		first=
		run gm-fingerprint_db gnumed_v21
		like "$err" "warning: an unfinished downtime procedure \(upgrade 21 22, started .* UTC, process [0-9]+\): as root, run:" \
			"another gmdb tool warns about the unfinished procedure"
		warned=$(hint_commands "$err")
		is "$warned" "gm-upgrade_server --recover -h $PGHOST -p $PGPORT" "it prints the command, naming the server"
		run gm-upgrade_server --downtime --no-backup 21 22
		is "$rc" 3 "a new --downtime run refuses while the state exists: exit 3"
		like "$err" 'Undo what that procedure did first: as root, run:' "and says to run --recover"
		is "$(hint_commands "$err" | sort -u)" "$warned" "the same command"
		run elsewhere "$warned"
		is "$rc" 0 "$step: the printed command works as printed from a shell with another PGHOST and PGPORT"
		like "$out" 'What --recover undid:' "$step: it says what it undid"
		like "$out" 'took the notice out of the banner of "gnumed_v21"' "$step: the notice"
	else
		# no -h or -p: the journal names the server
		run elsewhere "gm-upgrade_server --recover"
		is "$rc" 0 "$step: --recover from a shell with another PGHOST and PGPORT exits 0"
	fi
	[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | tail -n 5
	as_before gnumed_v21 gnumed_v22 "$step"
done
if ! has_part rest; then
	finish_testing
	exit
fi

# the group role named after the target that the upgrade made goes too
fresh 21
GM_CORE_DB=gmdb_rt_v22 GMDB_TEST_CRASH_AT=upgrade-done run gm-upgrade_server --downtime --no-backup --grace 1 21 22
is "$rc" 137 "kill -9 after an upgrade to a target whose group role did not exist"
is "$(sql postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'gmdb_rt_v22'")" 1 "the upgrade made the group role"
run gm-upgrade_server --recover
is "$rc" 0 "--recover exits 0"
like "$out" 'dropped the new database "gmdb_rt_v22"' "it says it dropped the new database"
like "$out" 'dropped the group role "gmdb_rt_v22" the upgrade made' "and the group role"
is "$(sql postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'gmdb_rt_v22'")" 0 "the group role is gone"
as_before gnumed_v21 gmdb_rt_v22 "group role"
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

# --- SIGHUP (the ssh session went away): undone too; with SIGHUP ignored (nohup) it goes on --
fresh 21
gm-upgrade_server --downtime --no-backup --grace 1 21 22 >"$tmp/hup.out" 2>"$tmp/hup.err" &
bg=$!
for i in $(seq 100); do grep -qx 'intent=upgrade' "$state" 2>/dev/null && break; sleep 0.1; done
sleep 2
kill -HUP "$bg"
wait "$bg"
rc=$?
is "$rc" 1 "SIGHUP while the upgrade runs: exit 1"
like "$(cat "$tmp/hup.err")" "signal 1" "it says it was interrupted"
as_before gnumed_v21 gnumed_v22 "SIGHUP"
fresh 21
(trap '' HUP; exec gm-upgrade_server --downtime --no-backup --grace 1 21 22 >"$tmp/hup.out" 2>"$tmp/hup.err") &
bg=$!
for i in $(seq 100); do grep -qx 'intent=upgrade' "$state" 2>/dev/null && break; sleep 0.1; done
sleep 2
kill -HUP "$bg"
wait "$bg"
is "$?" 0 "SIGHUP to a run started with SIGHUP ignored (nohup): it goes on, exit 0"
exists gnumed_v22; ok $? "and the new database is there"
drop_db gnumed_v22

# --- a local session on the source: the procedure stops before it touches anything --------
# (every check of --check runs first; a remote session open meanwhile is not ended)
remote_sessions() {
	sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL AND datname = '$1'"
}
fresh 21
fifo=$tmp/fifo; mkfifo "$fifo"
(cat "$fifo" | psql -X -q -U postgres -d gnumed_v21 >/dev/null 2>&1) &
psql -X -w -h 127.0.0.1 -U gm-dbo -d gnumed_v21 -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
remote=$!
for i in $(seq 50); do [ "$(remote_sessions gnumed_v21)" = 1 ] && break; sleep 0.1; done
run gm-upgrade_server --downtime --json --no-backup --grace 1 21 22
is "$rc" 3 "a local session on the source: exit 3"
printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["procedure"] == "upgrade" and d["result"] == "failed" and d["state"] == "nothing changed", d
assert d["exit_status"] == 3 and "local session" in d["error"] and d["upgrade"] is None, d' 2>&1
ok $? "--json: a JSON summary also when it stops before its first change"
like "$err" '1 local session\(s\) on "gnumed_v21"' "it says a local session is open"
like "$err" 'pid [0-9]+, user "postgres", .*from the local socket' "and lists it"
like "$err" 'checking "gnumed_v21" before the downtime \.\.\. failed' "it stopped in the checks"
unlike "$err" 'notice into the banner|connection limit 0|locking remote access|ending remote sessions' \
	"before the notice, the connection limit, the lock and the ending of sessions"
is "$(remote_sessions gnumed_v21)" 1 "the remote session was not ended"
kill "$remote" 2>/dev/null; wait "$remote" 2>/dev/null
echo '\q' >"$fifo"; wait
sleep 0.5
as_before gnumed_v21 gnumed_v22 "local session"

# --- --replace-target under --downtime: as without it, checked before the first change -----
fresh 21
GMDB_BACKUP_DIR=$tmp/backups run gm-upgrade_server 21 22
is "$rc" 0 "a plain build of gnumed_v22, with a backup"
restore=$(hint_commands "$err")
like "$restore" "^runuser -u postgres -- env PGOPTIONS='-c default_transaction_read_only=off -c role=none' pg_restore -h $PGHOST -p $PGPORT --create -d postgres $tmp/backups/backup-upgrade_v21_to_v22-.*\.dir$" \
	"it prints how to restore the backup, naming the server, as the postgres user"
sql postgres -c "ALTER DATABASE gnumed_v21 RENAME TO gnumed_v21_before" >/dev/null
run elsewhere "$restore"
is "$rc" 0 "the restore works as printed from a shell with another PGHOST and PGPORT"
same orig_v21 gnumed_v21
ok $? "and gives the database back as it was"
drop_db gnumed_v21
sql postgres -c "ALTER DATABASE gnumed_v21_before RENAME TO gnumed_v21" >/dev/null
sql_rw gnumed_v22 -c "INSERT INTO dem.occupation (name) VALUES ('gmdb test: written after the build')"
run gm-upgrade_server --downtime --replace-target --no-backup --grace 1 21 22
is "$rc" 3 "--downtime --replace-target over a target with a new row: exit 3"
like "$err" 'dem\.occupation: 1 row written since the build' "it says what it found"
unlike "$err" 'notice into the banner' "before the first change"
is "$(sql gnumed_v22 -c "SELECT count(*) FROM dem.occupation WHERE name = 'gmdb test: written after the build'")" 1 \
	"the target and its new row are still there"
as_before gnumed_v21 "" "--replace-target refused"
drop_db gnumed_v22
run gm-upgrade_server --no-backup 21 22
is "$rc" 0 "a fresh plain build of gnumed_v22 (replaced below by --downtime --replace-target)"

# --- the upgrade under --downtime --------------------------------------------------------
fresh 21
run gm-upgrade_server --downtime --no-backup --grace 1 21 22
is "$rc" 3 "an unused build of gmdb's as target, without --replace-target: exit 3"
like "$err" 'nothing was written to it since \(use --replace-target to drop it\)' "and --replace-target is named"
# a remote session of an ordinary role, open before the downtime
psql -X -w -h 127.0.0.1 -U gm-dbo -d gnumed_v21 -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
remote=$!
for i in $(seq 50); do
	[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL AND datname = 'gnumed_v21'")" = 1 ] && break
	sleep 0.1
done
run gm-upgrade_server --downtime --replace-target --no-backup --grace 1 21 22
wait "$remote"
like "$err" "ended 1 remote session" "the remote session was ended after the grace period"
is "$rc" 0 "gm-upgrade_server --downtime --replace-target 21 22: exit 0"
like "$err" 'dropping the unused target "gnumed_v22" \.\.\. ok' "the unused build was dropped first"
unlike "$err" 'remote access is locked already' "no \"locked already\" about the procedure's own lock"
unlike "$err" 'gm-hba-lock lock --terminate' "no hint to end the sessions by hand"
like "$err" 'the procedure ends it after 1 second' "but that the procedure ends them"
screen=$out
[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | tail -n 10
is "$(stored_hex gnumed_v22)" "$banner_hex" "the new database's banner is the source's original, byte for byte"
like "$(gm-banner gnumed_v21 show)" 'This GNUmed database was replaced by "gnumed_v22"' "the source's banner says what replaced it"
is "$(gm-banner gnumed_v21 show --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["original"])' | od -An -v -tx1 | tr -d ' \n')" \
	"${banner_hex}0a" "with the practice's banner after the notice"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is the original again, byte for byte"
is "$(connlimit gnumed_v21)" 7 "the source's connection limit is restored"
is "$(connlimit gnumed_v22)" -1 "the new database has no limit"
like "$(sql postgres -c "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = 'gnumed_v22'")" \
	'^gmdb: built by gm-upgrade_server 21 22 from "gnumed_v21" on [^;]*; build record: ' \
	"the new database carries its build record, not the in-progress mark"
like "$out" "database = gnumed_v22" "the end screen names the clients' setting"
like "$out" "now: \[profile office\] database = gnumed_v21" "with the current value of each client profile"
like "$out" "GM_DATABASE=\"gnumed_v22\"" "and the backup job's"
like "$out" "it is GM_DATABASE=\"gnumed_v21\" now" "with the backup job's current value"
like "$out$err" "cron.daily/gnumed-server" "the scheduled job is named"
like "$out" "gm-upgrade_server --retire 21" "and says how to retire the old database"
[ ! -e "$state" ]
ok $? "no state file is left"
run gm-upgrade_server --check --replace-target 21 22
like "$out" 'nothing was written to it since: --replace-target drops it' \
	"the build record was taken after the procedure's last write to it"

# --- a plain upgrade of the replaced database: its notice stays behind -----------------
like "$out" 'WARNING  downtime: the banner of "gnumed_v21" says that it was replaced' "--check says the source was replaced"
run gm-upgrade_server --replace-target --no-backup 21 22
is "$rc" 0 "a plain upgrade of the replaced gnumed_v21"
like "$err" 'taking the notice of "gnumed_v21" out of the banner of "gnumed_v22" \.\.\. ok' "takes the copied notice out"
is "$(stored_hex gnumed_v22)" "$banner_hex" "the new database's banner is the practice's, without the \"replaced by\" notice"
like "$(gm-banner gnumed_v21 show)" 'This GNUmed database was replaced by "gnumed_v22"' "the source keeps its notice"

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
retire=$(hint_commands "$screen" | grep -- '--retire')
is "$retire" "gm-upgrade_server --retire 21 -h $PGHOST -p $PGPORT" "the end screen prints the retire command, naming the server"
run elsewhere "$retire"
is "$rc" 0 "--retire 21 as printed, from a shell with another PGHOST and PGPORT: exit 0"
like "$(psql -X -U postgres -d gnumed_v21 -c 'SELECT 1' 2>&1)" 'is not currently accepting connections|akzeptiert gegenwärtig keine Verbindungen' \
	"connections to the retired database are refused"
exists gnumed_v21; ok $? "the retired database still exists"
undo=$(printf '%s\n' "$out" | sed -n 's/^  or: //p')
unretire=$(printf '%s\n' "$out" | sed -n 's/^undo: //p')
like "$undo" "^runuser -u postgres -- psql -h $PGHOST -p $PGPORT -d template1 -c .*ALLOW_CONNECTIONS true" \
	"it prints the undo with psql, naming the server"
run elsewhere "$undo"
is "$(sql gnumed_v21 -c 'SELECT 1' 2>&1)" 1 "the printed undo works as printed from a shell with another PGHOST and PGPORT"
run gm-upgrade_server --retire 21
is "$unretire" "gm-upgrade_server --unretire 21 -h $PGHOST -p $PGPORT" "and --unretire, naming the server"
run elsewhere "$unretire"
is "$rc" 0 "--unretire 21 as printed, from a shell with another PGHOST and PGPORT: exit 0"
is "$(sql gnumed_v21 -c 'SELECT 1' 2>&1)" 1 "and connections work again"

# --- the fixup under --downtime, with its snapshot -----------------------------------------
drop_db gnumed_v21
f=$tree/sql/v21-v22/fixups/v22-release_notes-fixup.sql
cp -p "$f" "$tmp/saved.sql"
printf '\n\\set ON_ERROR_STOP 1\nselect * from gmdb_injected_failure;\n' >>"$f"
fresh 22
(cat "$fifo" | psql -X -q -U postgres -d gnumed_v22 >/dev/null 2>&1) &
sleep 1
run gm-fixup_server --downtime --grace 1 -d gnumed_v22 22
is "$rc" 3 "a local session on the database to fix: exit 3"
like "$err" '1 local session is open on "gnumed_v22"' "it says so"
unlike "$err" 'notice into the banner' "before the first change"
echo '\q' >"$fifo"; wait
sleep 0.5
as_before gnumed_v22 gnumed_v22_gmdb_snapshot "local session, fixup"
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

# the fixup's child waits for the backends of the sessions it closed before
# it reports back (gmdb(7)): the last file leaves a temporary table in its
# owner session and waits until the test holds a lock on it, so that the
# backend waits at its end. When the first end-of-run wait is seen, the
# parent must not have gone on yet (its first step after the fixup takes
# the notice out of the banner); then the test lets go.
linger_sql >>"$f"
fresh 22
gm-fixup_server --downtime --grace 1 -d gnumed_v22 --upstream-dir "$tree" 22 >"$tmp/linger.out" 2>"$tmp/linger.err" 8>&- &
gpid=$!
owner= ns= waited= early=
linger_wait "$gpid" gnumed_v22
[ -n "$ns" ] && linger_lock gnumed_v22 "$ns"
for n in $(seq 1200); do
	kill -0 "$gpid" 2>/dev/null || break
	if [ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'postgres' AND application_name = 'gmdb'
		AND query LIKE '%int4[])%pg_backend_pid()%'")" = 1 ]; then
		waited=1
		grep -q 'taking the notice out of the banner' "$tmp/linger.err" || early=1
		break
	fi
	sleep 0.05
done
linger_release
wait "$gpid"
rc=$?
cp -p "$tmp/saved.sql" "$f"
[ -n "$ns" ] && [ -n "$waited" ]
ok $? "(the fixup's owner session made its temporary table, and a run's end-of-run wait ran)"
is "$early" 1 "the fixup's child waited for its owner session's backend before the parent went on"
is "$rc" 0 "and the procedure ended well: exit 0"
[ "$rc" = 0 ] && [ "$early" = 1 ] || sed 's/^/# linger: /' "$tmp/linger.err" | tail -n 40 >&2

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
run gm-fixup_server --downtime --json --grace 1 -d gnumed_v22 22
is "$rc" 0 "gm-fixup_server --downtime --json: exit 0"
printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["procedure"] == "fixup" and d["result"] == "ok" and d["state"] == "done", d
assert d["fixup"]["result"] == "ok" and d["fixup"]["database"] == "gnumed_v22", d' 2>&1
ok $? "--json: the procedure's summary with the fixup's inside"
is "$(printf '%s\n' "$err" | grep -c 'is v22: applying fixup_db-v22.conf')" 1 "the database found is named once"
like "$err" 'dropping the snapshot "gnumed_v22_gmdb_snapshot" \.\.\. ok' "a progress line while the snapshot is dropped"
exists gnumed_v22_gmdb_snapshot
is "$?" 1 "the snapshot is gone"

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

finish_testing
