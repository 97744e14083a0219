#!/bin/bash
# gm-fingerprint_db on bad input, against a real (throw-away) server:
# each is a one-line error with the documented exit status.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_cluster

drop_db fp_plain
sql postgres -c "CREATE DATABASE fp_plain" >/dev/null || bail "cannot create a database"

run gm-fingerprint_db fp_no_such_db
is "$rc" 1 "a database that does not exist: exit 1"
like "$err" "^gm-fingerprint_db: error: could not connect to database \"fp_no_such_db\": .*(database \"fp_no_such_db\" does not exist|Datenbank »fp_no_such_db« existiert nicht)$" "the message says so"
is "$(printf '%s\n' "$err" | wc -l)" 1 "in one line"

run gm-fingerprint_db fp_plain
is "$rc" 3 "a database that is not GNUmed: exit 3"
like "$err" "error: database \"fp_plain\" is not a GNUmed database" "the message says so"
is "$out" "" "nothing on stdout"

# a port nobody listens on
port=$(free_port)
run gm-fingerprint_db -h 127.0.0.1 -p "$port" fp_plain
is "$rc" 1 "a server that is down: exit 1"
like "$err" "^gm-fingerprint_db: error: could not connect to database \"fp_plain\": .*(refused|No such file)" "the message says why"
is "$(printf '%s\n' "$err" | wc -l)" 1 "in one line"

# a wrong password: the test cluster asks gmdb_pwtest for one over TCP
lock_roles
sql postgres -c "DROP ROLE IF EXISTS gmdb_pwtest" >/dev/null
sql postgres -c "CREATE ROLE gmdb_pwtest LOGIN PASSWORD 'right-password'" >/dev/null
PGPASSWORD=wrong-password run gm-fingerprint_db -h 127.0.0.1 -U gmdb_pwtest fp_plain
is "$rc" 1 "a wrong password: exit 1"
like "$err" "password authentication failed for user \"gmdb_pwtest\"|Passwort-Authentifizierung für Benutzer »gmdb_pwtest« fehlgeschlagen" "the message says so"
run gm-fingerprint_db -h 127.0.0.1 -U gmdb_pwtest fp_plain
is "$rc" 1 "no password and no terminal: exit 1 without prompting"
like "$err" "hint: Give the password in ~/.pgpass or PGPASSFILE" "with a hint where to put it"

# upstream's form: the password as second argument (warned about)
run gm-fingerprint_db -h 127.0.0.1 -U gmdb_pwtest fp_plain right-password
is "$rc" 3 "the password argument is used (the database is reached: not GNUmed, exit 3)"
like "$err" "warning: a password on the command line can be seen by other users" "and warned about"

# a password file works
pgpass=$(mktemp)
echo "127.0.0.1:$PGPORT:*:gmdb_pwtest:right-password" >"$pgpass"
chmod 600 "$pgpass"
PGPASSFILE=$pgpass run gm-fingerprint_db -h 127.0.0.1 -U gmdb_pwtest fp_plain
is "$rc" 3 "PGPASSFILE is honoured"
rm -f "$pgpass"

# run as root with no user: becomes postgres (peer/trust over the socket)
if [ "$(id -u)" = 0 ]; then
	run env -u PGUSER gm-fingerprint_db -v -v fp_plain
	like "$err" "running as the OS user \"postgres\"" "as root, the tool becomes the postgres OS user"
	like "$err" "connecting to database \"fp_plain\" as \"postgres\"" "and connects as postgres"
else
	echo "ok $((tap_n += 1)) # SKIP not root: no privileges to drop (CI runs as root)"
	echo "ok $((tap_n += 1)) # SKIP not root"
fi

# --output to a place that cannot be written: exit 1 before connecting
run gm-fingerprint_db --output /nonexistent-dir/fp.txt fp_plain
is "$rc" 1 "an output file that cannot be created: exit 1"
like "$err" "could not open output file \"/nonexistent-dir/fp.txt\"" "the message names it"

sql postgres -c "DROP ROLE gmdb_pwtest" >/dev/null
unlock_roles
drop_db fp_plain
done_testing
