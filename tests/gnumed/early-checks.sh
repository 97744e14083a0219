#!/bin/bash
# The old side of the plausibility checks runs early, on the source, while
# the clone is upgraded; its results may describe the clone only if the
# source did not change meanwhile (gm-upgrade_server(8), the checks). A
# copy of the real tree whose first bundle starts with a file that waits for
# the test's go-ahead (a session on the database gmtest_go) gives the test a
# moment after the clone and before the checks, whatever the machine's
# speed, to act on the source:
#   nothing          the early results are used
#   a session        that only reads: gmdb cannot tell, throws them away and
#                    runs the old side again, on the source as it is now
#   a write          that changes a count (a new communication channel): run
#                    again, the check fails, as upstream's (which reads the
#                    source at the end) does
# and with the backup, which runs beside the upgrade: its pg_dump's
# sessions are gmdb's; a run that fails after the dump keeps it, one that
# fails while it runs stops it and removes it. Last, the run's wait at its
# end for the backends of the sessions it closed gives up at a signal.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
serialize_gnumed_tests
work=$GMDB_TESTDIR/early-checks
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
export GMDB_LOG_DIR=$work/logs
mkdir -p "$GMDB_LOG_DIR" && chmod 777 "$GMDB_LOG_DIR"
for d in gnumed_v21 gnumed_v22 gmtest_go; do drop_db "$d"; done
sql postgres -c "CREATE DATABASE gmtest_go" >/dev/null || bail "cannot create gmtest_go"

# the tree: bootstrap/ and pycommon/ copied, sql/ linked; the first bundle
# of update_db-v21_v22.conf starts with wait.sql
tree=$work/tree
mkdir -p "$tree" && cp -a "$GMDB_UPSTREAM_DIR/bootstrap" "$GMDB_UPSTREAM_DIR/pycommon" "$tree/" &&
	ln -s "$GMDB_UPSTREAM_DIR/sql" "$tree/sql" || bail "cannot copy the upstream tree"
# (quoted as upstream's files are: its runner knows no dollar quotes)
cat >"$work/wait.sql" <<'EOF'
-- gmdb's tests (early-checks.sh): wait until someone is on gmtest_go
DO '
BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE datname = ''gmtest_go'') LOOP
		PERFORM pg_catalog.pg_sleep(0.05);
		PERFORM pg_catalog.pg_stat_clear_snapshot();
	END LOOP;
END';
EOF
awk -v f="$work/wait.sql" '!done && /^\[bundle / { inb = 1 } inb && !done && /^schema = \$schema\$/ { print; print f; done = 1; next } { print }' \
	"$GMDB_UPSTREAM_DIR/bootstrap/update_db-v21_v22.conf" >"$tree/bootstrap/update_db-v21_v22.conf"
grep -qx "$work/wait.sql" "$tree/bootstrap/update_db-v21_v22.conf"
ok $? "(the first bundle starts with the file that waits)"
chmod -R a+rX "$work"

# upgrade ACTION [OPTION...]: gm-upgrade_server 21 22 on a fresh copy of
# the real v21 (with the options, else --no-backup); once its session
# waits in wait.sql, ACTION runs (a shell command; $pid is the run's),
# then the go-ahead; sets rc, err, log. With stop_dump=1, the backup's
# pg_dump is stopped (SIGSTOP) as soon as it runs, and dump is its pid
# (empty if it ended first).
stop_dump= dump= ncase=0
upgrade() {
	local action=$1 pid go n
	shift
	drop_db gnumed_v22 && clone_db gmref_v21 gnumed_v21 || bail "cannot copy gmref_v21"
	rm -f "$GMDB_LOG_DIR"/*
	dump=
	gm-upgrade_server --upstream-dir "$tree" "${@:---no-backup}" --yes 21 22 >"$work/out" 2>"$work/err" 8>&- &
	pid=$!
	for n in $(seq 30000); do
		if [ -n "$stop_dump" ] && [ -z "$dump" ] && dump=$(pgrep -P "$pid" -x pg_dump); then
			kill -STOP "$dump"
		fi
		[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v22'
			AND query LIKE '%gmtest_go%' AND pid <> pg_backend_pid()")" = 1 ] && break
		kill -0 "$pid" 2>/dev/null || break
		[ -n "$stop_dump" ] && [ -z "$dump" ] || sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null || { wait "$pid"; cat "$work/err" >&2; bail "gm-upgrade_server ended before it waited"; }
	eval "$action"
	sql gmtest_go -c "SELECT pg_sleep(3600)" >/dev/null 2>&1 8>&- &
	go=$!
	wait "$pid"
	rc=$?
	# the go-ahead's session ends (killing the shell would leave psql)
	sql postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'gmtest_go'" >/dev/null
	wait "$go" 2>/dev/null
	err=$(cat "$work/err"); cp "$work/err" "$work/err.$((++ncase))"
	log=$(cat "$GMDB_LOG_DIR"/gm-upgrade_server-*.log 2>/dev/null)
}

# 1. nobody on the source: the early results are used
upgrade :
is "$rc" 0 "nobody on the source: the upgrade succeeds"
like "$log" 'the old side of the plausibility checks runs on "gnumed_v21" meanwhile' "the old side ran early, on the source"
unlike "$log" 'run again' "and its results were used"

# 2. a session that only reads
upgrade 'sql gnumed_v21 -c "SELECT count(*) FROM dem.identity" >/dev/null'
is "$rc" 0 "a session that only read the source: the upgrade succeeds"
like "$err" '"gnumed_v21" may have changed since it was cloned \([0-9]+ session\(s\) since, [0-9]+ of them gmdb.s, 0 on it now\): its plausibility checks run again' \
	"the early results are thrown away, the old side runs again"
like "$err" 'checking the migrated data for plausibility \.\.\. ok' "and the checks pass"

# 3. a write that changes what a check counts
upgrade 'sql_rw gnumed_v21 -c "INSERT INTO dem.lnk_identity2comm (fk_identity, url, fk_type) VALUES ((SELECT min(pk) FROM dem.identity), '"'gmdb-test@example.org'"', (SELECT min(pk) FROM dem.enum_comm_types))" >/dev/null'
is "$rc" 3 "a row added to the source meanwhile: the upgrade fails (exit 3)"
like "$err" 'its plausibility checks run again' "the early results are thrown away"
like "$err" 'plausibility check "communication channels" failed' "the check of what changed fails, as upstream's would"
is "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v22'")" 0 "nothing is left of the new database"

# 4. the backup beside the upgrade: its pg_dump's sessions (one, and one
# per worker) are counted as gmdb's, whatever the number of jobs
bk=$work/backups
mkdir -p "$bk" && chown postgres: "$bk"
for jobs in 1 3; do
	rm -rf "${bk:?}"/*
	upgrade : --backup-dir "$bk" --jobs "$jobs"
	is "$rc" 0 "with a backup (--jobs $jobs): the upgrade succeeds"
	like "$log" "backing up \"gnumed_v21\" to $bk/backup-upgrade_v21_to_v22-.*\.dir, beside the upgrade" \
		"--jobs $jobs: the backup starts after the clone, beside the upgrade"
	unlike "$log" 'run again' "--jobs $jobs: the early results were used: pg_dump's sessions were counted as gmdb's"
	b=$(ls -d "$bk"/backup-*.dir 2>/dev/null)
	[ -f "$b/gmdb-backup.info" ] && grep -qx complete=1 "$b/gmdb-backup.info" && pg_restore --list "$b" >/dev/null 2>&1
	ok $? "--jobs $jobs: the backup is complete and recorded"
done

# 5. the run fails once the dump is done: the backup is kept
rm -rf "${bk:?}"/*
# (done: no pg_dump child of the run but a zombie, which the run has not
# waited for yet)
upgrade 'while ps --ppid "$pid" -o stat=,comm= | grep -q "^[^Z].* pg_dump"; do sleep 0.1; done; kill -TERM "$pid"' --backup-dir "$bk"
is "$rc" 1 "SIGTERM after the backup was done: exit 1"
like "$err" "the backup of \"gnumed_v21\" was done before the run failed; it is kept: $bk/backup-" \
	"it says the backup is kept"
b=$(ls -d "$bk"/backup-*.dir 2>/dev/null)
[ -f "$b/gmdb-backup.info" ] && grep -qx complete=1 "$b/gmdb-backup.info" && pg_restore --list "$b" >/dev/null 2>&1
ok $? "and it is complete and recorded"
is "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v22'")" 0 "nothing is left of the new database"

# 6. the run fails while the dump runs (stopped, so that it still runs):
# the dump and its workers are stopped, and the partial dump goes
stop_dump=1
for attempt in 1 2 3; do
	rm -rf "${bk:?}"/*
	upgrade 'kill -TERM "$pid"' --backup-dir "$bk"
	[ -n "$dump" ] && break
	echo "# attempt $attempt: pg_dump ended before the test could stop it"
done
stop_dump=
[ -n "$dump" ] || bail "pg_dump always ended before the test could stop it"
is "$rc" 1 "SIGTERM while the backup runs: exit 1"
like "$err" "the backup of \"gnumed_v21\" is stopped" "it says the backup is stopped"
like "$err" "the partial dump $bk/backup-upgrade_v21_to_v22-.*\.dir is removed" "and that the partial dump is removed"
is "$(ls -A "$bk")" "" "nothing of the dump is left"
pgrep -f "pg_dump.*$bk" >/dev/null
is "$?" 1 "no pg_dump process is left"
is "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v22'")" 0 "nothing is left of the new database"
is "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v21'")" 0 "nobody is left on the source"

# 7. the target's side starts once nothing writes to the target any more:
# after gmdb's audit check, beside the verification of the schema hash
upgrade :
is "$rc" 0 "the target's side early: the upgrade succeeds"
order=$(printf '%s\n' "$log" | grep -o -e 'checking the audit trail and notification triggers \.\.\. ok' \
	-e 'the new side of the plausibility checks runs on "gnumed_v22" meanwhile' \
	-e 'verifying the schema hash of "gnumed_v22"$' -e 'checking the migrated data for plausibility \.\.\. ok' | paste -sd'|' -)
is "$order" 'checking the audit trail and notification triggers ... ok|the new side of the plausibility checks runs on "gnumed_v22" meanwhile|verifying the schema hash of "gnumed_v22"|checking the migrated data for plausibility ... ok' \
	"after the audit check, before the hash is verified, and done by the checks' step"
is "$(printf '%s\n' "$log" | grep -c 'connecting to database "gnumed_v22" as "[^"]*" (plausibility check: new)')" 2 \
	"on two connections (one per CPU, --jobs), opened once: none for the checks' step itself"
unlike "$log" 'connecting to database "gnumed_v22" as "postgres" \(plausibility check: new\)' \
	"as the owner the target was made for, with no superuser session to look it up"

# 8. the run ends while a query of the target's side runs (one that would
# sleep for an hour, added to the tree's checks): it is cancelled, and
# nothing is left
slow=$work/tree-slow
mkdir -p "$slow" && cp -a "$tree/bootstrap" "$tree/pycommon" "$slow/" && ln -s "$GMDB_UPSTREAM_DIR/sql" "$slow/sql"
sed -i 's/^upgrade plausibility checks = \$upgrade plausibility checks\$$/&\ngmdb slow::::select 1\n\tselect 1 from pg_catalog.pg_sleep(3600)/' \
	"$slow/bootstrap/update_db-v21_v22.conf"
grep -q 'pg_sleep(3600)' "$slow/bootstrap/update_db-v21_v22.conf"
ok $? "(a tree whose checks have one that sleeps on the target)"
chmod -R a+rX "$slow"
saved=$tree tree=$slow
# (from the go-ahead on: the sleeping query, then SIGTERM; a run still
# there a minute later is killed, so that one that does not cancel its
# query fails the test instead of hanging it)
upgrade '( for n in $(seq 1200); do [ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '"'gnumed_v22'"' AND query LIKE '"'%pg_sleep(3600)%'"' AND state = '"'active'"' AND pid <> pg_backend_pid()")" = 1 ] && break; sleep 0.1; done; kill -TERM "$pid"; for n in $(seq 600); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL "$pid" ) 8>&- &'
tree=$saved
is "$rc" 1 "SIGTERM while a query of the target's side runs: exit 1"
like "$err" 'interrupted' "it says it was interrupted"
like "$log" 'the new side of the plausibility checks runs on "gnumed_v22" meanwhile' "(the target's side ran early)"
is "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()")" 0 \
	"the sleeping query was cancelled"
is "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v22'")" 0 "nothing is left of the new database"

# 9. the run's last wait, for the backends of the sessions it closed
# (gmdb(7)), gives up at a second signal: the owner session leaves a
# temporary table in the target and waits until the test holds a lock on
# it, so that its backend waits at its end; once the run waits for it,
# SIGINT. (Without giving up it would wait its 5 s and say so.)
linger=$work/tree-linger
mkdir -p "$linger" && cp -a "$tree/bootstrap" "$tree/pycommon" "$linger/" && ln -s "$GMDB_UPSTREAM_DIR/sql" "$linger/sql"
linger_sql >"$work/linger.sql"
sed -i "s|^$work/wait.sql\$|&\n$work/linger.sql|" "$linger/bootstrap/update_db-v21_v22.conf"
grep -qx "$work/linger.sql" "$linger/bootstrap/update_db-v21_v22.conf"
ok $? "(a tree whose first bundle leaves a temporary table in the owner session)"
chmod -R a+rX "$linger" "$work/linger.sql"
lingered=
# (the lock once the table is there, SIGINT once the run's last wait runs)
lock_then_int() {
	local n owner ns
	linger_wait "$pid" gnumed_v22
	[ -n "$ns" ] || return
	linger_lock gnumed_v22 "$ns"
	echo "$owner" >"$work/lingered"
	for n in $(seq 6000); do
		kill -0 "$pid" 2>/dev/null || return
		[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'postgres' AND application_name = 'gmdb'
			AND query LIKE '%int4[])%pg_backend_pid()%'")" = 1 ] && break
		sleep 0.05
	done
	kill -INT "$pid"
}
saved=$tree tree=$linger
rm -f "$work/lingered"
upgrade '( lock_then_int ) 8>&- &'
tree=$saved
lingered=$(cat "$work/lingered" 2>/dev/null)
left=$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE pid = '${lingered:-0}'")
linger_release
[ -n "$lingered" ]
ok $? "(the owner session made its temporary table, and the test holds a lock on it: backend $lingered)"
is "$rc" 0 "the upgrade succeeds"
like "$log" "1 of the run's closed sessions still have a backend: not waiting for them any longer \\(signal 2\\)" \
	"its last wait for its sessions' backends gives up at SIGINT, and says so"
is "$left" 1 "(the owner session's backend was still there: it waited at its end)"

for d in gnumed_v21 gnumed_v22 gmtest_go; do drop_db "$d"; done
done_testing
