#!/bin/bash
# Settings a practice's admin may have given the server (ALTER SYSTEM,
# postgresql.conf) or the environment (PGDATESTYLE), which gmdb's sessions
# inherit: gmdb's result is what upstream's engine makes under the same
# settings. In a copy of the shared cluster (its settings are changed).
#
# DateStyle: psycopg2 sets the output format of every connection of
# upstream's engine to ISO where it is not (its day/month order kept), so
# the text upstream's SQL makes of a timestamp is ISO whatever the server's
# DateStyle. The v20->v21 step writes such a text into clin.episode
# ('[substance use] (auto-added by v21.0 @ ' || clock_timestamp()::text ||
# ')'); upstream's engine, run with the server's DateStyle 'SQL, DMY',
# writes "@ 2026-12-04 12:35:09.166393+00" there.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
private_workdir server-settings
copy_reference_cluster "$cl"
export GMDB_LOG_DIR=$tmp/logs GMDB_BACKUP_DIR=$tmp/backups
mkdir -p "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR" && chmod 777 "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR"
iso='@ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9.]+[+-][0-9]{2}'
summary() { sql gnumed_v21 -c "SELECT summary FROM clin.episode WHERE summary LIKE '%(auto-added by v21.0 @ %'"; }
reload() { sql template1 -c "SELECT pg_reload_conf()" >/dev/null; }

# --- the server's DateStyle --------------------------------------------------------
sql postgres -c "ALTER SYSTEM SET DateStyle = 'SQL, DMY'" >/dev/null && reload || bail "cannot set DateStyle"
is "$(sql postgres -c "SHOW DateStyle")" "SQL, DMY" "the server's DateStyle is 'SQL, DMY'"
clone_db gmref_v20 gnumed_v20
run gm-upgrade_server --no-backup 20 21
is "$rc" 0 "gm-upgrade_server 20 21 under the server's DateStyle 'SQL, DMY'"
s=$(summary)
like "$s" "$iso" "the timestamp upstream's SQL writes into clin.episode is ISO, as upstream's engine writes it"
printf '# %s\n' "$s"
sql postgres -c "ALTER SYSTEM RESET DateStyle" >/dev/null && reload

# --- PGDATESTYLE, and sessions the pool reuses (DISCARD ALL) -----------------------
drop_db gnumed_v21
clone_db gmref_v20 gnumed_v20
run env PGDATESTYLE='German' gm-upgrade_server --no-backup 20 21
is "$rc" 0 "gm-upgrade_server 20 21 with PGDATESTYLE=German"
like "$(summary)" "$iso" "the timestamp is ISO there too"
run env PGDATESTYLE='German' gm-fingerprint_db gnumed_v21
is "$rc" 0 "gm-fingerprint_db with PGDATESTYLE=German"
like "$out" 'Most recent \.modified_when: [0-9]{4}-[0-9]{2}-[0-9]{2} ' "its times are ISO, as upstream's fingerprint has them"

# --- default_transaction_read_only on for the whole server ---------------------------
# Upstream's engine makes its changes in read-write transactions, and
# psycopg2 sets its autocommit sessions (CREATE and DROP DATABASE)
# read-write: it upgrades such a cluster. gmdb's sessions on the
# maintenance database, where it clones, drops and alters databases, are
# read-write too.
drop_db gnumed_v21
clone_db gmref_v21 gnumed_v21
export GMDB_STATE_DIR=$tmp/state GMDB_SYSCONF_DIR=$tmp/etc
mkdir -p "$GMDB_STATE_DIR" "$tmp/etc"
hba=$cl/data/pg_hba.conf
cp -p "$hba" "$tmp/hba.orig"
sql postgres -c "ALTER SYSTEM SET default_transaction_read_only = on" >/dev/null && reload || bail "cannot set default_transaction_read_only"
is "$(sql template1 -c "SHOW default_transaction_read_only")" "on" "the server's default_transaction_read_only is on"
run gm-upgrade_server --no-backup 21 22
is "$rc" 0 "gm-upgrade_server 21 22 with default_transaction_read_only on"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 5 | sed 's/^/# /'
run gm-fixup_server -d gnumed_v22
is "$rc" 0 "gm-fixup_server with default_transaction_read_only on"
rw() { local db=$1; shift; PGOPTIONS="-c default_transaction_read_only=off" psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d "$db" "$@"; }
rw template1 -c "DROP DATABASE gnumed_v22" >/dev/null
run gm-upgrade_server --downtime --no-backup --grace 1 21 22
is "$rc" 0 "gm-upgrade_server --downtime 21 22 with default_transaction_read_only on"
[ "$rc" = 0 ] || printf '%s\n' "$out$err" | tail -n 8 | sed 's/^/# /'
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is the original again, byte for byte"
is "$(sql template1 -c "SELECT datconnlimit FROM pg_database WHERE datname = 'gnumed_v21'")" "-1" \
	"gnumed_v21's connection limit is as before"
run gm-upgrade_server --retire 21
is "$rc" 0 "gm-upgrade_server --retire 21 with default_transaction_read_only on"
rw template1 -c "ALTER SYSTEM RESET default_transaction_read_only" >/dev/null && reload

# --- a connection limit on the owner -----------------------------------------------
# gmdb runs upstream's SQL as the owner gm-dbo, on several sessions at a
# time (upstream's engine only as the superuser): with too few slots for
# gm-dbo the run fails, saying why, and leaves nothing behind. A REINDEX
# that gets fewer sessions than it wants makes do with those (the log).
rw template1 -c "DROP DATABASE gnumed_v22" -c "ALTER DATABASE gnumed_v21 WITH ALLOW_CONNECTIONS true" >/dev/null
sql template1 -c 'ALTER ROLE "gm-dbo" CONNECTION LIMIT 2' >/dev/null || bail "cannot limit gm-dbo"
run gm-upgrade_server --no-backup 21 22
is "$rc" 1 "gm-upgrade_server 21 22 with gm-dbo's connection limit 2: exit 1"
like "$err" 'too many connections for role .gm-dbo.' "it says why"
unlike "$err" 'python3 ended abnormally' "(not just that python3 ended)"
like "$err" 'Nothing is left of the new database' "it says that nothing is left"
is "$(sql template1 -c "SELECT count(*) FROM pg_database WHERE datname = 'gnumed_v22'")" 0 "no gnumed_v22 is left"
sql template1 -c 'ALTER ROLE "gm-dbo" CONNECTION LIMIT -1' >/dev/null

done_testing
