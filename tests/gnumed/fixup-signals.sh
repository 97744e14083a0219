#!/bin/bash
# A fixup stopped halfway: ^C, SIGTERM, kill -9 and a server that stops.
# gm-fixup_server (no --downtime) ends the clean way and at once on ^C and
# SIGTERM, in a bundle, in the data import scripts (python3 stopped too)
# and while a constraint is validated: exit 1, "interrupted by signal",
# what to do next, its temporary owner access taken back, none of its
# sessions left, python3's directory gone. A run killed with -9 leaves its
# access lines; the next run takes them out even though it gets in through
# them. A server that stops under a file: exit 1 and a message that says
# so (the false "session authorization changed" of d2ca5f6 came from a
# narrower moment, between a file's end and its check, that a test cannot
# hit on purpose). And --downtime with a source that does not exist exits
# as --check does.
# In a cluster of its own, local logins by peer as on Debian.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference

peer_workdir gmsig
sql postgres -c "ALTER DATABASE gmref_v22 RENAME TO gnumed_v22" >/dev/null || bail "cannot rename the database"
export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs TMPDIR=$tmp/tmpdir
mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" "$TMPDIR"
chmod 777 "$GMDB_LOG_DIR" "$TMPDIR"
hash() { sql "$1" -c "SELECT md5(gm.concat_table_structure())"; }
auth_files() { md5sum <"$cl/data/pg_hba.conf"; md5sum <"$cl/data/pg_ident.conf"; }
auth0=$(auth_files)
sessions() { sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v22'"; }

# upstream's tree, a copy the test can add to
tree=$tmp/tree
mkdir -p "$tree" && cp -a "$GMDB_UPSTREAM_DIR/bootstrap" "$GMDB_UPSTREAM_DIR/sql" "$tree/"
ln -s "$GMDB_UPSTREAM_DIR/pycommon" "$tree/pycommon"
chmod -R a+rX "$tree"
last=$tree/sql/v21-v22/fixups/v22-release_notes-fixup.sql
cp -p "$last" "$tmp/last.sql"
script=$tree/sql/v21-v22/python/v22-17-fixup-form-templates.py
cp -p "$script" "$tmp/script.py"

# in_sleep PID: until PID's run sits in the statement "select pg_sleep(600)"
# on gnumed_v22 (up to 60 s)
in_sleep() {
	local n
	for n in $(seq 600); do
		kill -0 "$1" 2>/dev/null || return 1
		[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v22' AND query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()")" != 0 ] &&
			return 0
		sleep 0.1
	done
	return 1
}
# in_script: until python3 sleeps in the last data import script (its file)
in_script() {
	local n
	for n in $(seq 600); do
		[ -e "$tmp/in-script" ] && return 0
		sleep 0.1
	done
	return 1
}
# started_as_terminal CMD...: CMD in a process group of its own, with
# SIGINT as a terminal leaves it (a background job of a script has it
# ignored); its pid (= the group's) in $gpid
started_as_terminal() {
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' "$@" >"$tmp/out" 2>"$tmp/err" &
	gpid=$!
}
import_dirs() { find "$TMPDIR" -maxdepth 1 -name 'gmdb-import.*' | wc -l; }
# unstick: what a run sits in ends (the statement, python3)
unstick() {
	sql postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'gnumed_v22' AND query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()" >/dev/null
	pkill -TERM -P "$gpid" python3 2>/dev/null
}
# stopped_by_term WHAT: SIGTERM to the run $gpid, which sits in something
# that lasts 600 s (a statement, python3, a lock the test holds), and what
# every such stop must leave: the run ended without waiting for that (the
# test gives it 120 s, then lets go of what it holds), exit 1, the message,
# nothing of the run's left
stopped_by_term() {
	local ended=1
	kill -TERM "$gpid"
	for _ in $(seq 1200); do kill -0 "$gpid" 2>/dev/null || { ended=0; break; }; sleep 0.1; done
	[ -n "${release:-}" ] && $release
	[ "$ended" = 0 ] || unstick
	wait "$gpid"
	is "$?" 1 "SIGTERM $1: exit 1"
	ok "$ended" "it ended without waiting for what it sat in"
	like "$(cat "$tmp/err")" 'error: .*interrupted by signal 15' "it says it was interrupted"
	is "$(auth_files)" "$auth0" "pg_hba.conf and pg_ident.conf are as they were"
	is "$(sessions)" 0 "none of its sessions is left"
	is "$(import_dirs)" 0 "nor python3's directory"
}

# --- SIGTERM while a statement of a bundle runs -------------------------------------
printf 'select pg_sleep(600);\n' >>"$last"
gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" >"$tmp/out" 2>"$tmp/err" 8>&- &
gpid=$!
in_sleep "$gpid"
ok $? "(the run sits in the bundle's pg_sleep)"
grep -q '^# gmdb-peer ' "$cl/data/pg_hba.conf"
ok $? "(the run has its temporary owner access)"
stopped_by_term "in a bundle (the statement cancelled)"
like "$(cat "$tmp/err")" 'statement by statement up to where it was stopped' "and what that left"
like "$(cat "$tmp/err")" 'Run gm-fixup_server again' "and what to do next"
cp -p "$tmp/last.sql" "$last"

# --- ^C to the whole process group while python3 runs the import scripts --------------
cat >>"$script" <<EOF

# gmdb's tests (tests/gnumed/fixup-signals.sh): the last script waits
_gmt_upstreams_run = run
def run(conn=None):
	result = _gmt_upstreams_run(conn=conn)
	import time
	open('$tmp/in-script', 'w').close()
	time.sleep(600)
	return result
EOF
chmod 777 "$tmp"
started_as_terminal gm-fixup_server -d gnumed_v22 --upstream-dir "$tree"
in_script
ok $? "(python3 sits in the last data import script)"
kill -INT -- "-$gpid"
wait "$gpid"
rc=$?
is "$rc" 1 "^C in the data import scripts: exit 1"
like "$(cat "$tmp/err")" 'error: interrupted by signal 2' "it says it was interrupted"
is "$(auth_files)" "$auth0" "pg_hba.conf and pg_ident.conf are as they were"
is "$(sessions)" 0 "none of its sessions is left, python3's neither"
is "$(import_dirs)" 0 "nor python3's directory"
# SIGTERM to gmdb alone (as the downtime procedure forwards it, or kill
# does): python3's session is not gmdb's to cancel, so gmdb stops python3
rm -f "$tmp/in-script"
gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" >"$tmp/out" 2>"$tmp/err" 8>&- &
gpid=$!
in_script
ok $? "(python3 sits in the last data import script again)"
stopped_by_term "to gmdb alone in the data import scripts (python3 stopped)"
like "$(cat "$tmp/err")" 'python3 was stopped in the data import scripts' "and where"
cp -p "$tmp/script.py" "$script"
chmod 755 "$tmp"
rm -f "$tmp/in-script"

# --- SIGTERM while a constraint is validated (the superuser steps) ---------------------
# the validation of dem.identity's constraints waits for the test's SHARE
# lock on it (REINDEX, before, goes by it)
unvalidated() { sql gnumed_v22 -c "SELECT count(*) FROM pg_constraint WHERE contype IN ('c', 'f') AND NOT convalidated"; }
flags0=$(unvalidated)
sql_rw gnumed_v22 -c "BEGIN" -c "LOCK TABLE dem.identity IN SHARE MODE" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 8>&- &
locker=$!
gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" >"$tmp/out" 2>"$tmp/err" 8>&- &
gpid=$!
waiting=1
for _ in $(seq 600); do
	[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v22' AND wait_event_type = 'Lock' AND query LIKE '%VALIDATE CONSTRAINT%' AND pid <> pg_backend_pid()")" != 0 ] &&
		{ waiting=0; break; }
	sleep 0.1
done
ok $waiting "(the run waits to validate a constraint of dem.identity)"
unlock() {
	sql postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'" >/dev/null
	wait "$locker" 2>/dev/null
}
release=unlock
stopped_by_term "while a constraint is validated (the validation cancelled)"
release=
is "$(unvalidated)" "$flags0" "the constraints' validated flags are as they were"

# --- the validation's session ended by someone else --------------------------------------
# (an admin's pg_terminate_backend, a server going down): the run fails,
# and does not take that for a constraint its data breaks
sql_rw gnumed_v22 -c "BEGIN" -c "LOCK TABLE dem.identity IN SHARE MODE" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 8>&- &
locker=$!
gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" >"$tmp/out" 2>"$tmp/err" 8>&- &
gpid=$!
waiting=1
for _ in $(seq 600); do
	[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v22' AND wait_event_type = 'Lock' AND query LIKE '%VALIDATE CONSTRAINT%' AND pid <> pg_backend_pid()")" != 0 ] &&
		{ waiting=0; break; }
	sleep 0.1
done
ok $waiting "(the run waits to validate a constraint of dem.identity again)"
sql postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'gnumed_v22' AND query LIKE '%VALIDATE CONSTRAINT%' AND pid <> pg_backend_pid()" >/dev/null
wait "$gpid"
rc=$?
unlock
is "$rc" 1 "the validation's session ended by pg_terminate_backend: exit 1"
like "$(cat "$tmp/err")" 'error: revalidating the constraints of "gnumed_v22": .*(terminating connection|server closed the connection)' "it says what ended"
unlike "$(cat "$tmp/err")" 'does not hold for its data|Repair the rows' "and does not blame the data"
is "$(unvalidated)" "$flags0" "the constraints' validated flags are as they were"
is "$(auth_files)" "$auth0" "pg_hba.conf and pg_ident.conf are as they were"

# --- the next run finishes the fixup ------------------------------------------------
run gm-fixup_server -d gnumed_v22 --upstream-dir "$tree"
is "$rc" 0 "the next run finishes the fixup"
is "$(hash gnumed_v22)" bf45f01327fb5feb2f5d3c06ba4a6792 "v22's hash"

# --- kill -9: the lines stay; the next run takes them out though it gets in by them ---
printf 'select pg_sleep(600);\n' >>"$last"
gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" >"$tmp/out" 2>"$tmp/err" 8>&- &
gpid=$!
in_sleep "$gpid"
ok $? "(a run sits in the bundle's pg_sleep)"
kill -KILL "$gpid"
wait "$gpid" 2>/dev/null
unstick
for _ in $(seq 100); do [ "$(sessions)" = 0 ] && break; sleep 0.1; done
grep -q "^# gmdb-peer gmdb-$gpid-" "$cl/data/pg_hba.conf"
ok $? "kill -9 leaves the killed run's lines in pg_hba.conf"
runuser -u postgres -- psql -X -At -d gnumed_v22 -U gm-dbo -c 'SELECT session_user' >/dev/null 2>&1
ok $? "(through them the OS user postgres gets in as gm-dbo)"
cp -p "$tmp/last.sql" "$last"
run gm-fixup_server -d gnumed_v22 --upstream-dir "$tree"
is "$rc" 0 "the next run succeeds"
like "$err" 'took out the temporary owner access that 1 ended run\(s\) left' "and says it took out the dead run's lines"
is "$(auth_files)" "$auth0" "pg_hba.conf and pg_ident.conf are as they were"
runuser -u postgres -- psql -X -At -d gnumed_v22 -U gm-dbo -c 'SELECT session_user' >/dev/null 2>&1
is "$?" 2 "(the OS user postgres no longer gets in as gm-dbo)"
is "$(hash gnumed_v22)" bf45f01327fb5feb2f5d3c06ba4a6792 "v22's hash"

# --- the server stops under a file whose errors do not stop it -------------------------
# (pg_ctl itself: the socket directory stays where it is)
pgctl() { runuser -u postgres -- "$("$GMDB_SRCDIR/tests/lib/pgcluster.sh" bindir)/pg_ctl" -D "$cl/data" "$@" >/dev/null; }
# (the file's last statement: its error is let through, and the file ends)
printf 'select pg_sleep(600);\n' >>"$last"
gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" >"$tmp/out" 2>"$tmp/err" 8>&- &
gpid=$!
in_sleep "$gpid"
ok $? "(the run sits in the bundle's pg_sleep)"
pgctl -m fast -w stop
wait "$gpid"
rc=$?
is "$rc" 1 "the server stopped under the run: exit 1"
unlike "$(cat "$tmp/err")" 'session authorization' "no word of a changed session authorization"
like "$(cat "$tmp/err")" 'connection|server' "it says the server went away"
pgctl -l "$cl/server.log" -w -t 60 start || bail "cannot start the private cluster again"
cp -p "$tmp/last.sql" "$last"
run gm-fixup_server -d gnumed_v22 --upstream-dir "$tree"
is "$rc" 0 "after the restart the next run succeeds"
is "$(auth_files)" "$auth0" "and pg_hba.conf and pg_ident.conf are as they were"

# --- --downtime with a source that does not exist -----------------------------------
run gm-upgrade_server --yes --downtime 21 22
is "$rc" 3 "--downtime upgrade of a source that does not exist: exit 3, as --check"
like "$err" 'database "gnumed_v21" does not exist' "and says so"
run gm-upgrade_server --check 21 22
is "$rc" 3 "(--check: 3 too)"
run gm-fixup_server --downtime -d gmt_nosuch --upstream-dir "$tree" 22
is "$rc" 1 "--downtime fixup of a database that does not exist: exit 1, as gm-fixup_server's own"
like "$err" 'database "gmt_nosuch" does not exist|Datenbank »gmt_nosuch« existiert nicht' "and says so"
run gm-fixup_server -d gmt_nosuch --json --upstream-dir "$tree"
is "$rc" 1 "a plain fixup of a database that does not exist: exit 1"
printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["database"] == "gmt_nosuch" and d["result"] == "failed" and ("does not exist" in d["error"] or "existiert nicht" in d["error"]) else 1)'
ok $? "--json names the database it was told, the failure and the error"
is "$(auth_files)" "$auth0" "pg_hba.conf and pg_ident.conf are as they were"

done_testing
