#!/bin/bash
# gm-hba-lock against a real server. Locking remote access would break the
# other tests' shared cluster, so this test makes a throw-away cluster of
# its own and stops it at the end, whatever happens.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

private_workdir hba-lock
bgpid=
cleanup_extra() { [ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null; }

private_cluster "$cl"
export GMDB_STATE_DIR=$tmp/state
state=$GMDB_STATE_DIR/hba-lock
hba=$cl/data/pg_hba.conf

# An original with a bit of everything: comments, a continued host record,
# CRLF, no newline at the end.
printf '%s\n' "# gm-hba-lock's test original" \
	"local   all   all                        trust" \
	"host    all   gmdb_pwtest   127.0.0.1/32   scram-sha-256" \
	"host    all   all           127.0.0.1/32   trust" \
	"host    all   all   \\" \
	"        10.0.0.0/8   md5" >"$hba"
printf 'hostnossl all all 192.168.0.0/16 md5\r\n# the end, no newline' >>"$hba"
chown postgres:postgres "$hba" && chmod 640 "$hba"
sql postgres -c "SELECT pg_reload_conf()" >/dev/null || bail "cannot reach the private cluster"
cp -p "$hba" "$tmp/original"

tcp() { psql -X -A -t -w -h 127.0.0.1 -U postgres -d postgres -c "SELECT 'tcp ok'" 2>&1; }
sock() { psql -X -A -t -w -U postgres -d postgres -c "SELECT 'socket ok'" 2>&1; }
load_time() { sql postgres -c "SELECT pg_conf_load_time()"; }
owner_mode() { stat -c '%U:%G %a' "$1"; }
sleep 0.2
is "$(tcp)" "tcp ok" "before: TCP connections over 127.0.0.1 work"

run gm-hba-lock status
is "$rc" 0 "status before any lock exits 0"
like "$out" "^pg_hba.conf: $hba$" "status names the server's pg_hba.conf"
like "$out" "remote access: not locked by gm-hba-lock" "status says it is not locked"
run gm-hba-lock status --json
is "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["locked"], d["hba_file"], len(d["remote_sessions"]))')" \
	"False $hba 0" "status --json before any lock: not locked"

# A session open from the network before the lock.
psql -X -w -h 127.0.0.1 -U postgres -d postgres -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
bgpid=$!
for i in $(seq 50); do
	[ "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE client_addr IS NOT NULL AND query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()")" = 1 ] && break
	sleep 0.1
done

before=$(load_time)
run gm-hba-lock lock
is "$rc" 0 "lock exits 0"
like "$err" "remote access is locked: 4 network rules in \"$hba\" disabled" "lock says what it did"
like "$err" "1 remote session is still open \(new ones are refused\)" "lock lists the remote session still open"
like "$err" "pid [0-9]+: user \"postgres\", database \"postgres\", from 127\.0\.0\.1" "with its pid, user, database, address"
like "$err" "gm-hba-lock lock --terminate" "and says how to end it"
[ "$(load_time)" != "$before" ]
ok $? "the server reloaded its configuration"
like "$(tcp)" "pg_hba.conf rejects connection for host \"127.0.0.1\"|pg_hba.conf lehnt Verbindung ab für Host »127.0.0.1«" "locked: a TCP connection over 127.0.0.1 is refused"
is "$(sock)" "socket ok" "locked: the superuser still connects over the local socket"
is "$(owner_mode "$hba")" "postgres:postgres 640" "the locked file keeps owner and mode"
grep -qx "local   all   all                        trust" "$hba"
ok $? "the local line is untouched"
is "$(grep -c '^#gm-hba-lock# ' "$hba")" 5 "the 4 network records (5 physical lines) are commented out"
is "$(grep -c '^host .*reject$' "$hba")" 2 "two reject rules are on top"
is "$(sql postgres -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")" 0 "the server finds no error in the locked file"
cmp -s "$state/original" "$tmp/original"
ok $? "the exact original is kept in the state directory"
is "$(sed -n 's/^original_sha256=//p' "$state/state")" "$(sha256sum <"$tmp/original" | cut -d' ' -f1)" "the state records the original's SHA-256"
is "$(sed -n 's/^locked_sha256=//p' "$state/state")" "$(sha256sum <"$hba" | cut -d' ' -f1)" "the state records the locked file's SHA-256"
like "$(cat "$state/state")" "pid=[0-9]+" "the state records the run's pid"
like "$(cat "$state/state")" "command=gm-hba-lock lock" "and its command"
locked_copy=$tmp/locked; cp -p "$hba" "$locked_copy"

run gm-hba-lock status
is "$rc" 0 "status while locked exits 0"
like "$out" "remote access: locked" "status says locked"
like "$out" "locked since: [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC" "since when"
like "$out" "locked by: run [0-9]+ of root: gm-hba-lock lock" "by which run"
like "$out" "file: as locked" "and that the file is as locked"
like "$out" "remote sessions: 1" "and the remote session"
run gm-hba-lock status --json
is "$rc" 0 "status --json exits 0"
is "$(printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["locked"], d["file"], d["hba_file"] == d["locked_file"], len(d["remote_sessions"]), d["remote_sessions"][0]["client_addr"], d["run"]["user"], d["current_sha256"] == d["locked_sha256"])')" \
	"True locked True 1 127.0.0.1 root True" "status --json is JSON with the same facts"

# Lock twice = one lock; --terminate ends the remote session.
run gm-hba-lock lock --terminate --grace 1
is "$rc" 0 "lock again exits 0"
like "$err" "remote access is locked already \(since .* UTC, by run [0-9]+ of root\)" "and says it was locked already"
like "$err" "ending it in 1 second" "--grace waits"
like "$err" "ended 1 remote session" "--terminate ends the remote session"
cmp -s "$hba" "$locked_copy"
ok $? "the second lock changed nothing"
cmp -s "$state/original" "$tmp/original"
ok $? "and the kept original is still the original"
wait "$bgpid"
[ $? != 0 ]
ok $? "the remote session was ended"
bgpid=
run gm-hba-lock status --json
is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["remote_sessions"]))')" 0 "no remote sessions are left"

# Another run holding the lock: exit 4, nothing touched.
run flock "$state/lock" gm-hba-lock unlock
is "$rc" 4 "while another run holds the lock: exit 4"
like "$err" "another gm-hba-lock run holds the lock \"$state/lock\"" "and says so"
cmp -s "$hba" "$locked_copy"
ok $? "and changes nothing"

# unlock: the exact bytes back, TCP again.
before=$(load_time)
run gm-hba-lock unlock
is "$rc" 0 "unlock exits 0"
like "$err" "remote access is unlocked: \"$hba\" is the original again" "unlock says so"
cmp "$hba" "$tmp/original"
ok $? "unlock restores the file byte for byte"
is "$(owner_mode "$hba")" "postgres:postgres 640" "with its owner and mode"
[ "$(load_time)" != "$before" ]
ok $? "the server reloaded"
is "$(tcp)" "tcp ok" "unlocked: TCP connections work again"
[ ! -e "$state/state" ] && [ ! -e "$state/original" ]
ok $? "the state is cleared"

run gm-hba-lock unlock
is "$rc" 0 "unlock without a lock exits 0"
like "$err" "remote access is not locked by gm-hba-lock: nothing to do" "and says it is a no-op"
cmp -s "$hba" "$tmp/original"
ok $? "and leaves the file alone"

# A run that stopped before the reload: the locked file is in place but the
# server still uses the original. lock makes it take effect.
run gm-hba-lock lock
is "$rc" 0 "lock (for the interrupted run)"
cp -p "$hba" "$tmp/locked2"
cp "$tmp/original" "$hba" && sql postgres -c "SELECT pg_reload_conf()" >/dev/null && sleep 0.3
cp "$tmp/locked2" "$hba"
is "$(tcp)" "tcp ok" "(the server still uses the original rules)"
run gm-hba-lock lock
is "$rc" 0 "lock over a locked file the server has not loaded exits 0"
like "$err" "remote access is locked already" "and says it was locked"
like "$(tcp)" "rejects connection|lehnt Verbindung ab" "and the lock takes effect"

# A run that stopped before putting the locked file in place: the state
# is recorded, the original is in place. status tells; lock locks afresh.
cp "$tmp/original" "$hba" && sql postgres -c "SELECT pg_reload_conf()" >/dev/null && sleep 0.3
run gm-hba-lock status
like "$out" "file: the original \(the lock is not in effect\)" "status tells the lock is not in effect"
run gm-hba-lock lock
is "$rc" 0 "lock over a lock never completed exits 0"
like "$err" "remote access is locked: 4 network rules" "and locks afresh"
like "$(tcp)" "rejects connection|lehnt Verbindung ab" "TCP connections are refused again"
cmp -s "$state/original" "$tmp/original"
ok $? "the kept original is still the original"

# A damaged copy of the original is never written.
cp -p "$state/original" "$tmp/kept"
cp -p "$hba" "$tmp/locked3"
echo "# damage" >>"$state/original"
run gm-hba-lock unlock
is "$rc" 1 "unlock with a damaged kept original: exit 1"
like "$err" "error: the kept original \"$state/original\" is damaged" "and says so"
cmp -s "$hba" "$tmp/locked3"
ok $? "the locked file is left alone"
cp -p "$tmp/kept" "$state/original"
run gm-hba-lock unlock
is "$rc" 0 "unlock once the kept original is whole again"
cmp "$hba" "$tmp/original"
ok $? "and the original is back byte for byte"

# Someone edits the file while it is locked.
run gm-hba-lock lock
is "$rc" 0 "lock (for the concurrent edit)"
echo "# added by another admin" >>"$hba"
cp -p "$hba" "$tmp/edited"
run gm-hba-lock unlock
is "$rc" 3 "unlock over a file changed since the lock: exit 3"
like "$err" "error: file \"$hba\" was changed since gm-hba-lock locked it" "and says so"
like "$err" "hint: Nothing was changed\..*gm-hba-lock unlock --force" "and how to proceed"
cmp -s "$hba" "$tmp/edited"
ok $? "the changed file is left alone"
like "$(tcp)" "rejects connection|lehnt Verbindung ab" "remote access stays locked"
run gm-hba-lock status
like "$out" "file: changed since it was locked" "status tells the file was changed"
run gm-hba-lock lock
is "$rc" 3 "lock over a changed locked file: exit 3"
like "$err" "was changed since gm-hba-lock locked it" "and says so"
run gm-hba-lock unlock --force
is "$rc" 0 "unlock --force exits 0"
like "$err" "warning: file \"$hba\" was changed while locked: the changed file is kept as \"$state/changed-[0-9]+\"" "and keeps the changed file"
cmp "$hba" "$tmp/original"
ok $? "unlock --force restores the original byte for byte"
cmp -s "$(ls "$state"/changed-* | head -n 1)" "$tmp/edited"
ok $? "the changed file is kept as it was"
is "$(tcp)" "tcp ok" "and TCP connections work again"

# A candidate the server rejects is never loaded: an invalid line in the
# original (not reloaded, so the running server keeps working) makes the
# server's view flag the candidate; the original goes back untouched.
printf "\nlocal   all   all   no-such-method\n" >>"$hba"  # the original ends without a newline
cp -p "$hba" "$tmp/bad"
before=$(load_time)
run gm-hba-lock lock
is "$rc" 3 "a candidate the server rejects: exit 3"
like "$err" "error: the server rejects the locked version of \"$hba\"" "and says so"
like "$err" "detail: pg_hba_file_rules: line [0-9]+ \(line 9 of the original\): invalid authentication method \"no-such-method\"" "naming the line of the original and the server's complaint"
like "$err" "hint: The original was put back and the server was not reloaded" "and what happened"
cmp "$hba" "$tmp/bad"
ok $? "the original is back byte for byte"
is "$(owner_mode "$hba")" "postgres:postgres 640" "with its owner and mode"
is "$(load_time)" "$before" "the server never reloaded"
is "$(tcp)" "tcp ok" "TCP connections still work"
[ ! -e "$state/state" ]
ok $? "no lock is recorded"
cp -p "$tmp/original" "$hba"

# include directives are refused, naming file and line.
printf "\ninclude_if_exists extra.conf\n" >>"$hba"
cp -p "$hba" "$tmp/include"
run gm-hba-lock lock
is "$rc" 3 "an include directive: exit 3"
like "$err" "error: file \"$hba\" line 9 includes other files \(\"include_if_exists\"\)" "the message names file and line"
cmp -s "$hba" "$tmp/include"
ok $? "the file is left alone"
[ ! -e "$state/state" ]
ok $? "no lock is recorded"
cp -p "$tmp/original" "$hba"

# A symbolic link would be replaced by a file: refused.
mv "$hba" "$hba.real" && ln -s "$hba.real" "$hba"
run gm-hba-lock lock
is "$rc" 3 "pg_hba.conf as a symbolic link: exit 3"
like "$err" "error: file \"$hba\" is a symbolic link" "and says so"
[ -L "$hba" ] && cmp -s "$hba.real" "$tmp/original"
ok $? "the link and its file are left alone"
rm "$hba" && mv "$hba.real" "$hba"

# A file other than the server's at the same path (as in another mount
# namespace or container): the server's own reading tells, nothing is
# written.
if unshare -m true 2>/dev/null; then
	printf 'local all all trust\n' >"$tmp/impostor"
	run unshare -m sh -c 'mount --bind "$1" "$2" && exec gm-hba-lock lock' sh "$tmp/impostor" "$hba"
	is "$rc" 3 "a file the server does not see at that path: exit 3"
	like "$err" "error: the server does not see the file gm-hba-lock reads at \"$hba\"" "and says so"
	cmp -s "$hba" "$tmp/original" && [ "$(cat "$tmp/impostor")" = "local all all trust" ] && [ ! -e "$state/state" ]
	ok $? "nothing is written or recorded"
else
	for i in 1 2 3; do echo "ok $((tap_n += 1)) # SKIP no mount namespaces here (unshare -m)"; done
fi

# Over TCP, lock would cut itself off: refused.
run env PGHOST=127.0.0.1 gm-hba-lock lock
is "$rc" 2 "lock over TCP/IP: exit 2"
like "$err" "must reach the server over its local socket" "and says why"

# What a run writes about itself into pg_hba.conf stays a comment: an
# argument ending in a backslash (the server joins the next line, the first
# reject rule, to a line ending in one, comments too) and a user name with
# a newline and a rule in it.
sql postgres -c 'CREATE DATABASE "hba\"' || bail "cannot create database hba\\"
run env SUDO_USER=$'x\nlocal all all trust #' gm-hba-lock lock -d 'hba\'
is "$rc" 0 "lock -d 'hba\\' (an argument ending in a backslash) exits 0"
is "$(sql postgres -c "SELECT string_agg(type || ' ' || array_to_string(database, ',') || ' ' || array_to_string(user_name, ',') || ' ' || coalesce(address, '-') || ' ' || auth_method, ' | ' ORDER BY line_number) FROM pg_hba_file_rules WHERE error IS NULL")" \
	"host all all all reject | host replication all all reject | local all all - trust" \
	"pg_hba_file_rules: the two reject rules, then the original's local rule, nothing else"
is "$(sql postgres -c "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL")" 0 "and no error"
like "$(tcp)" "pg_hba.conf rejects connection for host \"127.0.0.1\"|pg_hba.conf lehnt Verbindung ab für Host »127.0.0.1«" "a TCP connection is refused"
like "$(grep '^# Locked' "$hba")" "^# Locked .* by run [0-9]+ of root \(sudo from x\\\\x0alocal all all trust #\): gm-hba-lock lock -d 'hba\\\\'$" \
	"the header names the run, the newline escaped, the argument quoted as the shell reads it"
is "$(grep -c '\\$' "$hba")" 1 "the only line ending in a backslash is the original's continued record"
like "$(cat "$state/state")" "command=gm-hba-lock lock -d 'hba\\\\'" "the state records the command quoted"
is "$(grep -c '^user=' "$state/state")" 1 "and the user on one line"
run gm-hba-lock unlock -d 'hba\'
is "$rc" 0 "unlock exits 0"
cmp "$hba" "$tmp/original"
ok $? "and restores the original byte for byte"
sql postgres -c 'DROP DATABASE "hba\"'

# As the postgres OS user (the file's owner) it works too.
run runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" GMDB_STATE_DIR="$GMDB_STATE_DIR" \
	"$GMDB_BUILDDIR/tools/gm-hba-lock" lock
is "$rc" 0 "lock as the postgres OS user exits 0"
like "$(tcp)" "rejects connection|lehnt Verbindung ab" "and locks"
is "$(owner_mode "$hba")" "postgres:postgres 640" "the file keeps owner and mode"
run runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" GMDB_STATE_DIR="$GMDB_STATE_DIR" \
	"$GMDB_BUILDDIR/tools/gm-hba-lock" unlock
is "$rc" 0 "unlock as the postgres OS user exits 0"
cmp "$hba" "$tmp/original"
ok $? "and restores the original byte for byte"

# Anyone else is refused.
run runuser -u nobody -- env PGHOST="$PGHOST" PGPORT="$PGPORT" GMDB_STATE_DIR="$GMDB_STATE_DIR" \
	"$GMDB_BUILDDIR/tools/gm-hba-lock" lock
is "$rc" 1 "lock as nobody exits 1"
like "$err" "gm-hba-lock must run as root or as the OS user \"postgres\"" "and is refused clearly"
is "$(tcp)" "tcp ok" "and locks nothing"

# As root, the tool stays root for the files and connects as postgres.
run gm-hba-lock -v -v status
like "$err" "connecting as the OS user \"postgres\", staying root" "root connects as the postgres OS user"
done_testing
