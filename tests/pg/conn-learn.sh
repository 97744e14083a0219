#!/bin/bash
# How a run's sessions start (lib/conn.c): every one with "-c role=none",
# the run's own superuser ones on PostgreSQL 17 and later with
# "-c event_triggers=off" too. gmdb learns which from the run's first
# session on a maintenance database (postgres, else template1). Where
# pg_hba.conf lets it reach neither, its sessions ask for both switches
# and go without the second only where the server refuses it by name.
# A throw-away cluster of its own (it edits pg_hba.conf).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

private_workdir conn-learn
private_cluster "$cl"
major=$(sql postgres -c "SELECT current_setting('server_version_num')::int / 10000")
hba=$cl/data/pg_hba.conf
sql postgres -c "CREATE DATABASE cl_plain" >/dev/null || bail "cannot make cl_plain"
cp -p "$hba" "$tmp/hba.orig"
reload() { sql cl_plain -c "SELECT pg_reload_conf()" >/dev/null; }

# 1. both maintenance databases reachable: learnt from the first session
# (a database that is not GNUmed's: the run's sessions read enough of it to
# say so, exit 3)
run gm-fingerprint_db -v -v cl_plain
is "$rc" 3 "gm-fingerprint_db cl_plain: exit 3"
like "$err" 'error: database "cl_plain" is not a GNUmed database' "its sessions read the database"
like "$err" 'connecting to database "(postgres|template1)"' "(the first session is on a maintenance database)"
unlike "$err" 'could not learn' "what the sessions start with was learnt there"

# 2. neither reachable (pg_hba.conf rejects them for everyone but its own
# lines, which come first): the run still works
{ printf '%s\n' "local postgres,template1 all reject" "host postgres,template1 all 127.0.0.1/32 reject"; cat "$tmp/hba.orig"; } >"$hba"
reload || bail "cannot reload the cluster's configuration"
for n in $(seq 100); do
	psql -X -A -t -w -U postgres -d template1 -c 'SELECT 1' >/dev/null 2>&1 || break
	sleep 0.1
done
psql -X -A -t -w -U postgres -d postgres -c 'SELECT 1' >/dev/null 2>&1
is "$?" 2 "(postgres and template1 are out of reach now)"
run gm-fingerprint_db -v -v cl_plain
is "$rc" 3 "gm-fingerprint_db cl_plain, with no maintenance database to learn from: exit 3 as before"
like "$err" 'error: database "cl_plain" is not a GNUmed database' "its sessions still read the database"
like "$err" 'could not learn the server.s version from a maintenance database' "it says it could not learn"
if [ "$major" -ge 17 ]; then
	unlike "$err" 'the server refuses event_triggers' "PostgreSQL $major: the superuser's sessions keep event_triggers=off"
	unlike "$err" 'could not connect to database "cl_plain"' "PostgreSQL $major: no session on cl_plain failed"
else
	like "$err" 'the server refuses event_triggers: sessions start with "-c role=none"' \
		"PostgreSQL $major: the server refuses the switch by name, and the sessions go on without it"
fi
cp -p "$tmp/hba.orig" "$hba"
reload
done_testing
