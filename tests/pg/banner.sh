#!/bin/bash
# gm-banner on bad input, against real (throw-away) servers: a database that
# is not GNUmed, one that does not exist, a user without the privileges, and
# a standby in recovery. Each is an error with the documented exit status,
# and nothing is changed.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_cluster

# The table as GNUmed makes it (spec 9), for databases that are not GNUmed.
make_banner_table() {
	sql "$1" <<'SQL'
CREATE SCHEMA cfg;
CREATE TABLE cfg.db_logon_banner (
	message text CHECK (trim(message) <> ''),
	singularizer boolean UNIQUE DEFAULT true CHECK (singularizer IS true)
);
INSERT INTO cfg.db_logon_banner (message) VALUES ('Welcome');
SQL
}

drop_db bn_plain
drop_db bn_table
sql postgres -c "CREATE DATABASE bn_plain" >/dev/null || bail "cannot create a database"
sql postgres -c "CREATE DATABASE bn_table" >/dev/null || bail "cannot create a database"
make_banner_table bn_table >/dev/null || bail "cannot create the banner table"

# --- not a GNUmed database: exit 3 -------------------------------------------------
for cmd in show "show --json" "set Welcome" clear "notice 21 22" "notice --fixup 22" unnotice; do
	run gm-banner bn_plain $cmd
	is "$rc" 3 "$cmd on a database without cfg.db_logon_banner: exit 3"
	like "$err" "^gm-banner: error: database \"bn_plain\" is not a GNUmed database
detail: It has no table cfg.db_logon_banner\.$" "$cmd: says it is not a GNUmed database, and why"
	is "$out" "" "$cmd: nothing on stdout"
done
is "$(sql bn_plain -c "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'cfg'")" 0 \
	"nothing was created in it"

# --- a database that does not exist: exit 1 -----------------------------------------
for cmd in show "set Welcome" clear "notice 21 22" unnotice; do
	run gm-banner bn_no_such_db $cmd
	is "$rc" 1 "$cmd on a database that does not exist: exit 1"
	like "$err" "^gm-banner: error: could not connect to database \"bn_no_such_db\": .*(database \"bn_no_such_db\" does not exist|Datenbank »bn_no_such_db« existiert nicht)$" \
		"$cmd: says so, in one line"
done

# --- the table is all gm-banner needs ----------------------------------------------
run gm-banner bn_table notice 21 22
is "$rc" 0 "a database with just the table: notice works"
run gm-banner bn_table unnotice
is "$(sql bn_table -c "SELECT message FROM cfg.db_logon_banner")" "Welcome" "and unnotice gives the text back"

# --- round trips, checked with psql byte for byte ------------------------------------
# the database defaults to read-only, as GNUmed databases do: every write
# needs gm-banner's BEGIN READ WRITE
sql postgres -c "ALTER DATABASE bn_table SET default_transaction_read_only = on" >/dev/null
hexstr() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
stored_hex() { sql bn_table -c "SELECT encode(convert_to(message, 'UTF8'), 'hex') FROM cfg.db_logon_banner"; }
rows() { sql bn_table -c "SELECT count(*) FROM cfg.db_logon_banner"; }
set_raw() {
	if [ -z "$1" ]; then
		sql bn_table -c "BEGIN READ WRITE; DELETE FROM cfg.db_logon_banner; COMMIT" >/dev/null
	else
		sql bn_table -c "BEGIN READ WRITE; DELETE FROM cfg.db_logon_banner;
			INSERT INTO cfg.db_logon_banner (message) VALUES (convert_from(decode('$1', 'hex'), 'UTF8')); COMMIT" >/dev/null
	fi
}
text=$'O\'Brien said "hi"; C:\\path\\ and \\n (no newline), $1 %s\nzweite Zeile: \u00c4rztin Gr\u00fc\u00dfe \u20ac \u65e5\u672c\n\nlast'
run gm-banner bn_table set "$text"
is "$rc:$out$err" "0:" "set with quotes, backslashes, non-ASCII letters and newlines: exit 0, silent"
is "$(stored_hex)" "$(hexstr "$text")" "the table holds it byte for byte"
is "$(gm-banner bn_table show | od -An -v -tx1 | tr -d ' \n')" "$(hexstr "$text")0a" "show gives it back byte for byte (and a newline)"
is "$(gm-banner --json bn_table show | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["banner"].encode().hex())')" \
	"$(hexstr "$text")" "show --json gives it back byte for byte"
is "$(sql bn_table -c "SHOW default_transaction_read_only")" on "(the database still defaults to read-only)"

for blank in "" " " $'\t\n ' $'\u00a0'; do
	run gm-banner bn_table set "$blank"
	is "$rc" 2 "set [$(hexstr "$blank")]: a blank text exits 2"
	like "$err" "^gm-banner: error: the banner text is empty or only white space" "set [$(hexstr "$blank")]: says so"
done
is "$(stored_hex)" "$(hexstr "$text")" "the banner is unchanged"

for orig in "$(hexstr "$text")" "$(hexstr 'Welcome')" "$(hexstr $'\n  ends and starts with white space\n\n')" ""; do
	set_raw "$orig"
	name="original [${orig:0:16}...]"
	[ -z "$orig" ] && name="no banner"
	run gm-banner bn_table notice 21 22
	is "$rc:$out" "0:" "$name: notice exits 0"
	notice_hex=$(stored_hex)
	like "$(sql bn_table -c "SELECT message FROM cfg.db_logon_banner")" \
		"^\*\*\* Notice from the database administrator \(gmdb\) \*\*\*
An upgrade of this GNUmed database from v21 to v22 has been in progress since [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} " \
		"$name: the notice, with the time, comes first"
	case $orig in
	"") unlike "$notice_hex" "0a0a" "$name: nothing follows the notice" ;;
	*) like "$notice_hex" "0a0a$orig\$" "$name: the original follows it unchanged" ;;
	esac
	run gm-banner bn_table notice 21 22
	is "$rc" 0 "$name: a second notice exits 0"
	is "$(sql bn_table -c "SELECT count(*) FROM regexp_matches((SELECT message FROM cfg.db_logon_banner), 'Notice from the database administrator', 'g')")" 1 \
		"$name: and does not stack"
	run gm-banner bn_table unnotice
	is "$rc:$out$err" "0:" "$name: unnotice exits 0, silent"
	is "$(stored_hex)" "$orig" "$name: the original is back byte for byte"
	is "$(rows)" "$([ -z "$orig" ] && echo 0 || echo 1)" "$name: and as many rows as before"
	run gm-banner bn_table unnotice
	is "$rc" 0 "$name: a second unnotice exits 0"
	is "$err" "the logon banner of database \"bn_table\" has no notice from gmdb: nothing to do" "$name: and says there was nothing to do"
	is "$(stored_hex)" "$orig" "$name: and changes nothing"
done
# the practice's text may hold lines that look like gmdb's markers: notice
# and unnotice keep all of it, byte for byte
B='*** Notice from the database administrator (gmdb) ***'
EL='*** End of notice (gmdb) ***'
V1=$'An upgrade of this GNUmed database from v21 to v22 has been in progress since 2026-11-24 21:30 UTC.\nAnything entered now may be lost: please close GNUmed and wait until the upgrade is finished.'
marker_texts=(
	"$B"
	"$B"$'\n'"foo"$'\n'"$EL"
	"$B"$'\n'"foo"$'\n'"$EL"$'\n\n'"bar"
	"$B"$'\n'"$EL"$'\n\n'
	$'intro\n'"$B"$'\nfoo\n'"$EL"$'\n\nbar'
	$'text\n\n'"$B"
	"$B"$'\nfoo\n'"$EL"$'\n\n'"$B"$'\nbar\n'"$EL"
	"$EL"$'\n\n'"$B"
	"$B"$'\r\nfoo\r\n'"$EL"$'\r\n\r\nbar'
	"$B"$'\n'"$V1"$'!\n'"$EL"$'\n\nbar'
	"$B"$'\n'"$V1"$'\n\n'"$EL"$'\n\nbar'
)
for i in "${!marker_texts[@]}"; do
	t=${marker_texts[$i]}
	set_raw "$(hexstr "$t")"
	run gm-banner bn_table unnotice
	is "$rc:$(stored_hex)" "0:$(hexstr "$t")" "marker text $i: unnotice finds no notice and leaves the text alone"
	run gm-banner bn_table notice 21 22
	is "$rc" 0 "marker text $i: notice exits 0"
	like "$(stored_hex)" "0a0a$(hexstr "$t")\$" "marker text $i: the text follows the notice unchanged"
	run gm-banner bn_table notice --fixup 22
	is "$rc" 0 "marker text $i: a second notice exits 0"
	run gm-banner bn_table unnotice
	is "$rc:$err" "0:" "marker text $i: unnotice exits 0"
	is "$(stored_hex)" "$(hexstr "$t")" "marker text $i: and gives the text back byte for byte"
done
gm-banner bn_table set "$B"$'\n'"foo"$'\n'"$EL"
gm-banner bn_table notice 21 22 && gm-banner bn_table unnotice
is "$(stored_hex)" "$(hexstr "$B"$'\n'"foo"$'\n'"$EL")" "a text with marker lines set with gm-banner survives notice and unnotice"
# a notice the current version wrote before the end line had a check
set_raw "$(hexstr "$B"$'\n'"$V1"$'\n'"$EL"$'\n\n'"Welcome")"
run gm-banner bn_table unnotice
is "$rc:$(stored_hex)" "0:$(hexstr Welcome)" "an old-style notice of gmdb's is taken out"
# gmdb's notice with its text changed by hand: refused, nothing touched
gm-banner bn_table notice 21 22
sql bn_table -c "BEGIN READ WRITE; UPDATE cfg.db_logon_banner SET message = replace(message, 'Anything entered', 'Everything entered'); COMMIT" >/dev/null
changed=$(stored_hex)
run gm-banner bn_table unnotice
is "$rc" 3 "unnotice of a notice whose text was changed: exit 3"
like "$err" "starts with a damaged gmdb notice" "and says so"
is "$(stored_hex)" "$changed" "and leaves the banner alone"

# writers lock the table: notices at the same time do not stack, unnotices at
# the same time do not collide (without the lock the second one may fail)
set_raw "$(hexstr "$text")"
pids=()
for i in 1 2 3 4 5 6; do
	gm-banner bn_table notice 21 22 & pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "six notices at the same time all exit 0"
is "$(sql bn_table -c "SELECT count(*) FROM regexp_matches((SELECT message FROM cfg.db_logon_banner), 'Notice from the database administrator', 'g')")" 1 \
	"and leave one notice"
gm-banner bn_table unnotice & p1=$!
gm-banner bn_table unnotice 2>/dev/null & p2=$!
wait $p1 && wait $p2
ok $? "two unnotices at the same time both exit 0"
is "$(stored_hex)" "$(hexstr "$text")" "and leave the original byte for byte"

run gm-banner -q bn_table unnotice
is "$rc:$err" "0:" "unnotice -q with nothing to do is silent"

# -v shows the SQL: the transaction is read-write, the text a parameter
run gm-banner -v bn_table set "Robert'); DROP TABLE cfg.db_logon_banner; --"
is "$rc" 0 "set -v exits 0"
like "$err" "sql: BEGIN READ WRITE" "-v shows the explicit read-write transaction"
like "$err" "^INSERT INTO cfg\.db_logon_banner \(message\) VALUES \(\\\$1\)" "-v shows the text goes in as a parameter"
unlike "$err" "DROP TABLE" "the text itself is not in the SQL"
is "$(sql bn_table -c "SELECT message FROM cfg.db_logon_banner")" "Robert'); DROP TABLE cfg.db_logon_banner; --" \
	"a text that looks like SQL is stored as text"
run gm-banner -v -v bn_table show
like "$err" "^SELECT message FROM cfg\.db_logon_banner" "-v shows the query show runs"
unlike "$err" "BEGIN READ WRITE" "show does not write"

run gm-banner bn_table clear
is "$rc:$(rows)" "0:0" "clear removes the row"
run gm-banner bn_table show
is "$rc:$out$err" "0:" "show without a banner: exit 0, no output"
run gm-banner bn_table clear
is "$rc:$(rows)" "0:0" "clear without a banner: exit 0"
set_raw "$(hexstr Welcome)"

# --- run as root with no user: becomes postgres (peer over the socket) ---------------
if [ "$(id -u)" = 0 ]; then
	run env -u PGUSER gm-banner -v -v bn_table show
	like "$err" "running as the OS user \"postgres\"" "as root, the tool becomes the postgres OS user"
	like "$err" "connecting to database \"bn_table\" as \"postgres\"" "and connects as postgres"
	is "$rc:$out" "0:Welcome" "and shows the banner"
else
	echo "ok $((tap_n += 1)) # SKIP not root: no privileges to drop (CI runs as root)"
	echo "ok $((tap_n += 1)) # SKIP not root"
	echo "ok $((tap_n += 1)) # SKIP not root"
fi

# --- a user who may read the banner but not write it: exit 1 ------------------------
lock_roles
sql postgres -c "DROP ROLE IF EXISTS bn_reader" >/dev/null
sql postgres -c "CREATE ROLE bn_reader LOGIN" >/dev/null
sql bn_table -c "BEGIN READ WRITE; GRANT USAGE ON SCHEMA cfg TO bn_reader; GRANT SELECT ON cfg.db_logon_banner TO bn_reader; COMMIT" >/dev/null ||
	bail "cannot grant bn_reader SELECT on the banner"
run gm-banner -U bn_reader bn_table show
is "$rc:$out" "0:Welcome" "a user with SELECT may show the banner"
for cmd in "set Hello" clear "notice 21 22" unnotice; do
	run gm-banner -U bn_reader bn_table $cmd
	is "$rc" 1 "$cmd as a user without write privileges: exit 1"
	like "$err" "error: could not .* logon banner of database \"bn_table\": (permission denied for table db_logon_banner|keine Berechtigung für Tabelle db_logon_banner)" \
		"$cmd: says permission was denied"
	like "$err" "hint: Run as root \(then the tool connects as postgres\), or as a member of \"gm-doctors\"" "$cmd: says who may"
done
is "$(sql bn_table -c "SELECT message FROM cfg.db_logon_banner")" "Welcome" "the banner is unchanged"

# --- a standby in recovery: show works, changes exit 1 ------------------------------
# A small cluster of its own, restarted as a standby (standby.signal, no
# primary): it stays in recovery and takes read-only connections.
standby=$GMDB_TESTDIR/banner-standby
stop_standby() { "$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$standby" 2>/dev/null; rm -rf "$standby"; }
trap stop_standby EXIT
stop_standby
sport=$(free_port)
"$GMDB_SRCDIR/tests/lib/pgcluster.sh" start "$standby" "$sport" >&2 || bail "cannot start a cluster for the standby"
# its socket directory (a short one, new at every start)
sockdir() { "$GMDB_SRCDIR/tests/lib/pgcluster.sh" env "$standby" | sed -n "s/^export PGHOST='\([^']*\)'.*/\1/p"; }
ssock=$(sockdir)
PGHOST=$ssock PGPORT=$sport sql postgres -c "CREATE DATABASE bn_standby" >/dev/null || bail "cannot create a database"
PGHOST=$ssock PGPORT=$sport make_banner_table bn_standby >/dev/null || bail "cannot create the banner table"
"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$standby"
if [ "$(id -u)" = 0 ]; then
	runuser -u postgres -- touch "$standby/data/standby.signal"
else
	touch "$standby/data/standby.signal"
fi
"$GMDB_SRCDIR/tests/lib/pgcluster.sh" start "$standby" "$sport" >&2 || bail "cannot start the standby"
ssock=$(sockdir)
is "$(PGHOST=$ssock PGPORT=$sport sql postgres -c "SELECT pg_is_in_recovery()")" t "the standby is in recovery"

run gm-banner -h "$ssock" -p "$sport" bn_standby show
is "$rc:$out" "0:Welcome" "show works on a standby"
for cmd in "set Hello" clear "notice 21 22" "notice --replaced-by gnumed_v23" unnotice; do
	run gm-banner -h "$ssock" -p "$sport" bn_standby $cmd
	is "$rc" 1 "$cmd on a standby: exit 1"
	like "$err" "^gm-banner: error: cannot change the logon banner of database \"bn_standby\": the server is a standby in recovery
detail: A standby is read-only\.
hint: Change the banner on the primary server; the standby receives the change from there\.$" "$cmd: says so, and where to do it"
done
run gm-banner -h "$ssock" -p "$sport" bn_standby show
is "$out" "Welcome" "the standby's banner is unchanged"

stop_standby
trap - EXIT
drop_db bn_table
sql postgres -c "DROP ROLE bn_reader" >/dev/null
unlock_roles
drop_db bn_plain
done_testing
