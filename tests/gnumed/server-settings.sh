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
reload() { sql postgres -c "SELECT pg_reload_conf()" >/dev/null; }

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

done_testing
