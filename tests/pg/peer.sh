#!/bin/bash
# The temporary peer grant (lib/peer.c) against a real server, through the
# test driver tests/helpers/peer-hold. It edits pg_hba.conf and
# pg_ident.conf, so it makes a throw-away cluster of its own and stops it at
# the end, whatever happens. Run as root (as CI does): peer-hold becomes the
# postgres OS user, whose grant lets it log in as "gm-dbo".
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

[ "$(id -u)" = 0 ] || bail "tests/pg/peer.sh must run as root (it switches to the postgres and nobody OS users)"
tmp=$(mktemp -d "$GMDB_TESTDIR/peer.XXXXXX") || bail "cannot make a temporary directory"
chmod 755 "$tmp"
cl=$tmp/cluster
holders=
cleanup() {
	local p
	for p in $holders; do kill -9 "$p" 2>/dev/null; done
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$cl" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

private_cluster "$cl"
export GMDB_STATE_DIR=$tmp/state
hba=$cl/data/pg_hba.conf
ident=$cl/data/pg_ident.conf
hold=$GMDB_BUILDDIR/tests/helpers/peer-hold

# The test's own psql (root, as postgres) is trusted; every other local
# login needs peer authentication without a map (OS user = role); CRLF, a
# comment that mentions gmdb-peer, a line that looks like a grant's but is
# the admin's, no newline at the end.
printf '%s\n' "# peer.sh's original" \
	"local   all   postgres   trust" \
	"# gmdb-peer is what a gmdb run writes on top; this is the admin's comment" \
	"local   all   \"gm-dbo\"   peer map=gmdb-1-0badc0de" >"$hba"
printf 'local   all   all   peer\r\nhost    all   all   127.0.0.1/32   trust\r\n# the end, no newline' >>"$hba"
printf '# MAPNAME SYSTEM-USERNAME PG-USERNAME\ngmdb-1-0badc0de nobody "gm-dbo"\nothermap root postgres' >"$ident"
chown postgres:postgres "$hba" "$ident" && chmod 640 "$hba" && chmod 600 "$ident"
sql postgres -c "SELECT pg_reload_conf()" >/dev/null || bail "cannot reach the private cluster"
sleep 0.3
sql postgres -c 'CREATE ROLE "gm-dbo" LOGIN' -c 'CREATE DATABASE peerdb OWNER "gm-dbo"' >/dev/null ||
	bail "cannot make the role and database"
cp -p "$hba" "$tmp/hba.orig"
cp -p "$ident" "$tmp/ident.orig"

# What psql says when the server refuses such a login, in English or (the
# cluster made with GMDB_TEST_LC_MESSAGES=de_DE.UTF-8) German.
refused='Peer authentication failed for user "gm-dbo"|Peer-Authentifizierung für Benutzer »gm-dbo« fehlgeschlagen'

# A login as gm-dbo over the socket, as the OS user $1.
as_dbo() {
	runuser -u "$1" -- env PGHOST="$PGHOST" PGPORT="$PGPORT" \
		psql -X -A -t -w -U gm-dbo -d peerdb -c "SELECT session_user, current_setting('is_superuser')" 2>&1
}
owner_mode() { stat -c '%U:%G %a' "$1"; }
load_time() { sql postgres -c "SELECT pg_conf_load_time()"; }
unchanged() { cmp -s "$hba" "$tmp/hba.orig" && cmp -s "$ident" "$tmp/ident.orig"; }
blocks() { grep -c '^# gmdb-peer gmdb-' "$1"; }

# start_hold NAME ARGS...: peer-hold grant ARGS in the background, its pid
# in $NAME_pid, output in $tmp/NAME.out/.err; waits until it granted (or ended).
start_hold() {
	local name=$1 i pid; shift
	"$hold" grant "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	holders="$holders $pid"
	eval "${name}_pid=$pid"
	for i in $(seq 300); do
		grep -q '^granted' "$tmp/$name.out" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# wait_line FILE REGEX: until FILE has a line matching (10 s).
wait_line() {
	local i
	for i in $(seq 100); do grep -Eq "$2" "$1" && return 0; sleep 0.1; done
	return 1
}

# --- before -------------------------------------------------------------------
like "$(as_dbo postgres)" "$refused" "before: the postgres OS user cannot log in as gm-dbo"

# --- grant, use, revoke ------------------------------------------------------------
before=$(load_time)
start_hold a gm-dbo
ok $? "peer-hold grants gm-dbo" || sed "s/^/# /" "$tmp/a.err"
like "$(cat "$tmp/a.err")" 'temporary owner access: the OS user "postgres" may log in as role "gm-dbo"' "the grant says what it allows"
[ "$(load_time)" != "$before" ]
ok $? "the server reloaded"
is "$(as_dbo postgres)" "gm-dbo|off" "granted: the postgres OS user logs in as gm-dbo, who is not a superuser"
like "$(as_dbo nobody)" "$refused" "granted: another OS user still cannot"
marker="^# gmdb-peer (gmdb-$a_pid-[0-9a-f]{8}) pid $a_pid started [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z: temporary owner access; removed when the run ends, or by \"gm-upgrade_server --recover\"$"
like "$(head -n 1 "$hba")" "$marker" "pg_hba.conf line 1: the marker (gmdb, map, pid, start, what removes it)"
map=$(head -n 1 "$hba" | sed -E "s/$marker/\\1/")
is "$(sed -n 2p "$hba")" "local all \"gm-dbo\" peer map=$map" "pg_hba.conf line 2: the rule, on top"
is "$(head -n 1 "$ident")" "$(head -n 1 "$hba")" "pg_ident.conf line 1: the same marker"
is "$(sed -n 2p "$ident")" "$map postgres \"gm-dbo\"" "pg_ident.conf line 2: the map"
tail -n +3 "$hba" | cmp -s - "$tmp/hba.orig"
ok $? "pg_hba.conf below the two lines: the original byte for byte"
tail -n +3 "$ident" | cmp -s - "$tmp/ident.orig"
ok $? "pg_ident.conf below the two lines: the original byte for byte"
is "$(owner_mode "$hba") $(owner_mode "$ident")" "postgres:postgres 640 postgres:postgres 600" "both files keep owner and mode"
is "$(sql postgres -c "SELECT (SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL) + (SELECT count(*) FROM pg_ident_file_mappings WHERE error IS NOT NULL)")" 0 \
	"the server finds no error in either file"
ls -a "$cl/data" | grep -q '\.gmdb\.'
[ $? != 0 ]
ok $? "no temporary file is left in the directory"

before=$(load_time)
kill -TERM "$a_pid"; wait "$a_pid"
is "$?" 0 "SIGTERM: peer-hold revokes and exits 0"
cmp "$hba" "$tmp/hba.orig"
ok $? "after revoke pg_hba.conf is the original byte for byte"
cmp "$ident" "$tmp/ident.orig"
ok $? "after revoke pg_ident.conf is the original byte for byte"
is "$(owner_mode "$hba") $(owner_mode "$ident")" "postgres:postgres 640 postgres:postgres 600" "with owner and mode"
[ "$(load_time)" != "$before" ]
ok $? "the server reloaded"
like "$(as_dbo postgres)" "$refused" "revoked: the login as gm-dbo fails again"

# --- revoke needs no connection of the caller's: an exit path may have closed it ----
PEER_HOLD_CLOSE=1 start_hold j gm-dbo
ok $? "a grant whose run closes its connection before the revoke"
before=$(load_time)
kill -TERM "$j_pid"; wait "$j_pid"
is "$?" 0 "the revoke still succeeds (exit 0)"
unchanged
ok $? "and both files are the originals again"
[ "$(load_time)" != "$before" ]
ok $? "and the server reloaded"

# --- a run that stays root (as gm-hba-lock and the downtime procedure do) ------------
PEER_HOLD_KEEP_ROOT=1 start_hold r gm-dbo
ok $? "a run that stays root grants"
is "$(sed -n 2p "$ident" | cut -d' ' -f2-)" "root \"gm-dbo\"" "the map is for the OS user root"
is "$(as_dbo root)" "gm-dbo|off" "root logs in as gm-dbo"
like "$(as_dbo postgres)" "$refused" "the postgres OS user does not"
kill -TERM "$r_pid"; wait "$r_pid"
is "$?" 0 "the run revokes (exit 0)"
unchanged
ok $? "and both files are the originals again"

# --- the same role granted twice in one run: one grant ------------------------------
PEER_HOLD_PAUSE=3 start_hold b gm-dbo 2
ok $? "peer-hold grants gm-dbo twice"
is "$(blocks "$hba")/$(blocks "$ident")" "1/1" "one block in each file"
[ ! -s "$tmp/b.err" ] || ! grep -q 'is not the first one' "$tmp/b.err"
ok $? "the second grant is the first one"
kill -TERM "$b_pid"
wait_line "$tmp/b.out" '^revoked 1 of 2'
ok $? "the first revoke is done"
is "$(as_dbo postgres)" "gm-dbo|off" "after one of two revokes the grant still works"
wait "$b_pid"
is "$?" 0 "the second revoke ends it (exit 0)"
unchanged
ok $? "and both files are the originals again"

# --- a run killed with -9 leaves its lines; recover removes exactly them -------------
start_hold d gm-dbo
ok $? "a run that stays grants"
start_hold c gm-dbo
ok $? "a run that will be killed grants too"
is "$(blocks "$hba")/$(blocks "$ident")" "2/2" "each run has its own block in each file"
kill -9 "$c_pid"; wait "$c_pid" 2>/dev/null
is "$(blocks "$hba")/$(blocks "$ident")" "2/2" "kill -9 leaves the killed run's lines behind"
grep -q "pid $c_pid started" "$hba" && grep -q "pid $c_pid started" "$ident"
ok $? "(its own, in both files)"
# a block of a pid that runs another process (pid 1 started long before the marker says)
{ printf '# gmdb-peer gmdb-1-deadbeef pid 1 started 2001-01-01T00:00:00Z: temporary owner access; removed when the run ends, or by "gm-upgrade_server --recover"\n'
  printf 'local all "gm-dbo" peer map=gmdb-1-deadbeef\n'; cat "$hba"; } >"$tmp/hba.new"
cat "$tmp/hba.new" >"$hba"
before=$(load_time)
run "$hold" recover
is "$rc" 0 "recover exits 0"
is "$out" "removed 2" "recover cleans up two runs: the killed one and the reused pid's"
like "$err" "removing the temporary owner access of a gmdb run that ended \(pid $c_pid, " "and names the killed run"
is "$(blocks "$hba")/$(blocks "$ident")" "1/1" "the live run's lines stay"
grep -q "pid $d_pid started" "$hba" && grep -q "pid $d_pid started" "$ident"
ok $? "(its own, in both files)"
like "$(head -n 1 "$hba")" "pid $d_pid started" "on top of pg_hba.conf"
tail -n +3 "$hba" | cmp -s - "$tmp/hba.orig" && tail -n +3 "$ident" | cmp -s - "$tmp/ident.orig"
ok $? "everything else is the original, the admin's look-alike lines too"
[ "$(load_time)" != "$before" ]
ok $? "the server reloaded"
is "$(as_dbo postgres)" "gm-dbo|off" "the live run's grant still works"
kill -TERM "$d_pid"; wait "$d_pid"
is "$?" 0 "the live run revokes and exits 0"
unchanged
ok $? "and both files are the originals again"
run "$hold" recover
is "$out" "removed 0" "recover with nothing left over removes nothing"
unchanged
ok $? "and changes nothing"

# --- role names that cannot be written safely -------------------------------------
sql postgres -c 'CREATE ROLE "bad""role" LOGIN' >/dev/null
run "$hold" grant 'bad"role'
is "$rc" 3 "a role name with a double quote: exit 3"
like "$err" 'error: role name cannot be written into pg_hba.conf safely' "and says why"
unchanged
ok $? "nothing was written"
run "$hold" grant "$(printf 'gm-dbo\nlocal all all trust')"
is "$rc" 3 "a role name with a newline: exit 3"
unchanged
ok $? "nothing was written"

# --- a server that rejects the edited file: the files stay as they were --------------
printf '\nlocal   all   all   no-such-method\n' >>"$hba"  # the original ends without a newline
cp -p "$hba" "$tmp/hba.bad"
before=$(load_time)
run "$hold" grant gm-dbo
is "$rc" 3 "pg_hba.conf the server rejects: exit 3"
like "$err" "error: the server rejects pg_hba.conf \"$hba\" with gmdb's temporary lines" "and says so"
like "$err" 'detail: pg_hba_file_rules: line [0-9]+ \(line 8 of the original\): invalid authentication method "no-such-method"' \
	"naming the line of the original and the server's complaint"
cmp -s "$hba" "$tmp/hba.bad" && cmp -s "$ident" "$tmp/ident.orig"
ok $? "both files are as they were, byte for byte"
is "$(load_time)" "$before" "the server never reloaded"
cp -p "$tmp/hba.orig" "$hba"

printf '\nbadmap onlyone\n' >>"$ident"
cp -p "$ident" "$tmp/ident.bad"
run "$hold" grant gm-dbo
is "$rc" 3 "pg_ident.conf the server rejects: exit 3"
like "$err" "error: the server rejects pg_ident.conf \"$ident\" with gmdb's temporary lines" "and says so"
cmp -s "$hba" "$tmp/hba.orig" && cmp -s "$ident" "$tmp/ident.bad"
ok $? "both files are as they were (pg_hba.conf never touched)"
is "$(load_time)" "$before" "the server never reloaded"
cp -p "$tmp/ident.orig" "$ident"

# --- files this process may not write, a server reached over TCP/IP ---------------
chown root:postgres "$hba"; chmod 440 "$hba"
run "$hold" grant gm-dbo
is "$rc" 3 "pg_hba.conf not writable by the postgres OS user: exit 3"
like "$err" "error: file \"$hba\" is not writable by this process" "and says so"
like "$err" 'hint: .*~/\.pgpass' "with a hint"
chown postgres:postgres "$hba"; chmod 640 "$hba"
unchanged
ok $? "nothing was written"
# recover over TCP/IP: nothing it could clean, no error
run env PGHOST=127.0.0.1 "$hold" recover
is "$rc.$out" "0.removed 0" "recover over TCP/IP: exit 0, nothing removed"
# leftovers in a file recover may not write: exit 3, nothing changed
start_hold k gm-dbo
kill -9 "$k_pid"; wait "$k_pid" 2>/dev/null
cp -p "$hba" "$tmp/hba.left"; cp -p "$ident" "$tmp/ident.left"
chown root:postgres "$hba"; chmod 440 "$hba"
run "$hold" recover
is "$rc" 3 "leftovers in a file recover may not write: exit 3"
like "$err" "error: file \"$hba\" is not writable by this process" "and says so"
chown postgres:postgres "$hba"; chmod 640 "$hba"
cmp -s "$hba" "$tmp/hba.left" && cmp -s "$ident" "$tmp/ident.left"
ok $? "nothing was changed"
run "$hold" recover
is "$rc.$out" "0.removed 1" "once it may write it, recover removes them"
unchanged
ok $? "and both files are the originals again"
run env PGHOST=127.0.0.1 "$hold" grant gm-dbo
is "$rc" 3 "over TCP/IP: exit 3"
like "$err" "needs a connection over the local socket" "and says why"
unchanged
ok $? "nothing was written"

# --- with gm-hba-lock ---------------------------------------------------------------
# The downtime procedure's order: lock, grant, revoke, unlock.
run gm-hba-lock lock
is "$rc" 0 "gm-hba-lock lock"
cp -p "$hba" "$tmp/hba.locked"
start_hold e gm-dbo
ok $? "a grant while remote access is locked"
is "$(as_dbo postgres)" "gm-dbo|off" "works"
kill -TERM "$e_pid"; wait "$e_pid"
cmp -s "$hba" "$tmp/hba.locked"
ok $? "the revoke leaves the locked file byte for byte"
run gm-hba-lock unlock
is "$rc" 0 "gm-hba-lock unlock after the revoke exits 0"
unchanged
ok $? "and both files are the originals"

# A crashed run's lines between lock and unlock never block the unlock.
run gm-hba-lock lock
start_hold f gm-dbo
kill -9 "$f_pid"; wait "$f_pid" 2>/dev/null
run gm-hba-lock unlock
is "$rc" 0 "unlock over a killed run's lines exits 0"
like "$err" "removing the temporary owner access of a gmdb run that ended \(pid $f_pid, " "after removing them"
unchanged
ok $? "both files are the originals"

# A crashed run's lines before the lock are not kept in the original.
start_hold g gm-dbo
kill -9 "$g_pid"; wait "$g_pid" 2>/dev/null
run gm-hba-lock lock
is "$rc" 0 "lock over a killed run's lines exits 0"
cmp -s "$GMDB_STATE_DIR/hba-lock/original" "$tmp/hba.orig"
ok $? "the original kept is without them"
run gm-hba-lock unlock
unchanged
ok $? "unlock: both files are the originals"

# A run that grants before the lock and revokes after the unlock.
start_hold h gm-dbo
cp -p "$hba" "$tmp/hba.granted"
run gm-hba-lock lock
is "$rc" 0 "lock while a run's grant is in place exits 0"
cmp -s "$GMDB_STATE_DIR/hba-lock/original" "$tmp/hba.orig"
ok $? "the original kept is without the live run's lines"
is "$(head -n 2 "$hba")" "$(head -n 2 "$tmp/hba.granted")" "the live run's lines stay on top of the locked file"
is "$(as_dbo postgres)" "gm-dbo|off" "and its grant works"
run gm-hba-lock status
like "$out" "file: as locked" "status: as locked"
run gm-hba-lock unlock
is "$rc" 0 "unlock while the run's grant is in place exits 0"
cmp -s "$hba" "$tmp/hba.granted"
ok $? "the original is back, with the live run's lines on top"
kill -TERM "$h_pid"; wait "$h_pid"
is "$?" 0 "the run revokes after the unlock"
unchanged
ok $? "both files are the originals"

# A run that grants before the lock and revokes before the unlock.
start_hold i gm-dbo
run gm-hba-lock lock
is "$rc" 0 "lock while a run's grant is in place (2)"
kill -TERM "$i_pid"; wait "$i_pid"
is "$?" 0 "the run revokes while remote access is locked"
run gm-hba-lock status
like "$out" "file: as locked" "status: as locked"
run gm-hba-lock unlock
is "$rc" 0 "unlock after the run's revoke exits 0"
unchanged
ok $? "both files are the originals"
# --- the grant's check of itself, in the server's language -------------------
# A grant is confirmed by a login as the role (gm_peer_verify_login): a
# refusal by authentication fails the grant, anything else (here the role's
# connection limit) does not. The server answers a login in the language of
# its postgresql.conf's lc_messages (German on a German Debian), before any
# setting of the session's: the check must go by the SQLSTATE, not the text.
# set_messages LOCALE: the server's lc_messages, in effect for new sessions.
set_messages() {
	local i
	sql postgres -c "ALTER SYSTEM SET lc_messages = '$1'" -c "SELECT pg_reload_conf()" >/dev/null || return 1
	for i in $(seq 100); do
		[ "$(sql postgres -c 'SHOW lc_messages')" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
for lang in C.UTF-8 de_DE.UTF-8; do
	set_messages "$lang" || bail "cannot set lc_messages = '$lang' in the private cluster"
	if [ "$lang" = de_DE.UTF-8 ]; then
		like "$(sql postgres -c 'SELECT 1/0' 2>&1)" 'Division durch Null' "$lang: the server speaks German" ||
			bail "the server cannot speak German: the locale de_DE.UTF-8 is needed (tests/install-deps.sh makes it)"
	fi
	run "$hold" verify gm-dbo
	is "$rc" 1 "$lang: no grant, the login as gm-dbo is refused by peer authentication: the check fails (exit 1)"
	like "$err" 'error: the temporary peer grant for role "gm-dbo" does not work' "$lang: and says so"
	like "$err" "detail: .*28000: ($refused)" "$lang: with the server's message"
	start_hold v gm-dbo || bail "peer-hold could not grant gm-dbo"
	sql postgres -c 'ALTER ROLE "gm-dbo" CONNECTION LIMIT 0' >/dev/null
	PEER_HOLD_VERBOSE=1 run "$hold" verify gm-dbo
	is "$rc" 0 "$lang: granted, but gm-dbo's connection limit refuses the login: no failure of the grant (exit 0)"
	like "$err" 'could not try the temporary peer grant for role "gm-dbo": .*53300' "$lang: only logged"
	sql postgres -c 'ALTER ROLE "gm-dbo" CONNECTION LIMIT -1' >/dev/null
	kill -TERM "$v_pid"; wait "$v_pid"
	unchanged
	ok $? "$lang: the grant revoked, both files are the originals"
done
sql postgres -c 'ALTER SYSTEM RESET lc_messages' -c "SELECT pg_reload_conf()" >/dev/null
done_testing
