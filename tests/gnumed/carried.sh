#!/bin/bash
# gmdb on a PostgreSQL major other than 15, against upstream's PostgreSQL-15
# results carried to it. Upstream's engine runs only on PostgreSQL 15 (it
# reads lc_ctype from pg_settings, which 16 removed), so the reference
# databases and upstream's own fixup of v22 are made there and carried here
# by pg_dump and pg_restore (tests/debian/carry-reference.sh); this test
# runs in the cluster they were restored into (GMDB_TEST_CLUSTER, with
# reference.done), as tests/debian/release.sh sets it up:
#   gmref_v2 ... gmref_v22   upstream's bootstrapper and v21->v22 upgrade
#   gmref_fixup_v22          upstream's fixup_db-v22.conf run on gmref_v22
# On this server: every reference database has its version's known schema
# hash (gm-fingerprint_db --expect-version and --verify-hash); gmdb's
# upgrade 21 22 (with a backup, and without) and its v22 fixup make what
# upstream made on PostgreSQL 15. gmdb's results go through one dump and
# restore on this server first, as upstream's did, so that both sides'
# views are deparsed by the same server.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_cluster
[ -f "$GMDB_CLUSTER/reference.done" ] || bail "no carried reference databases in $GMDB_CLUSTER (tests/debian/release.sh restores them)"
[ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'gmref_fixup_v22'")" = 1 ] ||
	bail "gmref_fixup_v22 (upstream's fixup, carried from PostgreSQL 15) is missing"
serialize_gnumed_tests
work=$GMDB_TESTDIR/carried
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
export GMDB_LOG_DIR=$work/logs GMDB_BACKUP_DIR=$work/backups
mkdir -p "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR" && chmod 777 "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR"
major=$(sql postgres -c "SHOW server_version_num")
major=$((major / 10000))
echo "# PostgreSQL $(sql postgres -c "SHOW server_version")"
# as in upgrade.sh and fixup.sh: the run's times, and audit numbers that
# follow the order PostgreSQL scanned the rows in; and here, where upstream
# made its result in another cluster: orig_tableoid, the OID of the table
# an audit row was logged for (a restore gives every table a new OID, and
# the rows logged by the upgrade here carry this cluster's OIDs)
masks=(-m modified_when -m orig_when -m audit_when -m pk_audit -m gm.schema_revision.imported -t clin.episode.summary
	-m orig_tableoid)
# -N: the names of NOT NULL constraints, which PostgreSQL 18 keeps from a
# table's old name when the upgrade renames it (compare-db.sh says more)
same() { PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -B -N -w "$work/cmp-$1-$2" "${@:3}" "$1" "$2" 2>&1; }
# carry DB NEW: a copy of DB through one pg_dump and restore on this server,
# named NEW; the database's own properties (owner, settings, ACL, comment)
# come along, as with pg_restore --create. DB stays as it is. Dump and
# restore are not idempotent (PostgreSQL deparses a CHECK constraint's
# ARRAY[...] casts differently after a round), so every side of a
# comparison goes through the same number of rounds here.
carry() {
	local name
	drop_db "$2"
	pg_dump -U postgres -Fc -Z0 -f "$work/$1.dump" "$1" || return 1
	name=$(printf '%s' "$1" | sed 's/[.[\*^$]/\\&/g')
	pg_restore --create -f - "$work/$1.dump" |
		sed -E "/^(CREATE|ALTER|COMMENT ON|GRANT .* ON|REVOKE .* ON) DATABASE |^\\\\connect /s/(\"?)\\b$name\\b(\"?)/\\1$2\\2/g" |
		PGOPTIONS="-c default_transaction_read_only=off -c client_min_messages=warning" \
			psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres >/dev/null &&
	rm -f "$work/$1.dump"
}
for d in gnumed_v21 gnumed_v22; do drop_db "$d"; done
# upstream's results, one more round on this server, as gmdb's will have
carry gmref_v22 ref_v22 || bail "cannot dump and restore gmref_v22"
carry gmref_fixup_v22 ref_fixup_v22 || bail "cannot dump and restore gmref_fixup_v22"

# --- the fingerprint of every version ----------------------------------------------
for v in $(seq 2 22); do
	run gm-fingerprint_db --expect-version "$v" "gmref_v$v"
	is "$rc" 0 "PostgreSQL $major: gmref_v$v has the known schema hash of v$v"
	[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | head -n 5
done
for v in 21 22; do
	run gm-fingerprint_db --verify-hash "gmref_v$v"
	is "$rc" 0 "PostgreSQL $major: gm-fingerprint_db --verify-hash gmref_v$v (the hash recomputed from the catalogs)"
done

# --- the upgrade 21 22, with a backup ---------------------------------------------------
clone_db gmref_v21 gnumed_v21
clone_db gmref_v21 up_source_before
# What the source's owner and a superuser may have put into it. The owner:
# ALTER DATABASE ... SET role, to a role with no rights (a database setting
# applies to every session that logs in, a superuser's too). A superuser,
# where the server has them (PostgreSQL 17): a login event trigger that
# logs who logs in, at login, before gmdb can set anything; the clone
# copies it into the target. gmdb's sessions start with role=none, and
# its superuser ones, the backup's pg_dump too, with event_triggers=off.
logins=
if [ "$major" -ge 17 ]; then
	logins=1
	sql_rw gnumed_v21 <<'SQL' >/dev/null || bail "cannot make the login event trigger"
CREATE FUNCTION public.cr_login() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE LOG 'cr-login: db=% session=% current=% app=%', current_database(), session_user, current_user,
		current_setting('application_name');
END $$;
CREATE EVENT TRIGGER cr_login ON login EXECUTE FUNCTION public.cr_login();
SQL
fi
sql postgres -c "DROP ROLE IF EXISTS cr_nobody" -c "CREATE ROLE cr_nobody NOLOGIN" -c "GRANT cr_nobody TO \"gm-dbo\"" >/dev/null ||
	bail "cannot make the role cr_nobody"
PGOPTIONS="-c default_transaction_read_only=off" psql -X -q -U gm-dbo -d gnumed_v21 -c "ALTER DATABASE gnumed_v21 SET role = cr_nobody" ||
	bail "gm-dbo cannot set the role of its database"
is "$(sql gnumed_v21 -c "SELECT current_user")" cr_nobody "(a superuser's psql to gnumed_v21 acts as cr_nobody now)"
# and authentication as Debian sets it up: postgres by peer, everyone else
# by password, so that gmdb reaches the owner through its temporary peer
# grant (its superuser sessions reconnect while they grant and revoke it)
hba=$GMDB_CLUSTER/data/pg_hba.conf ident=$GMDB_CLUSTER/data/pg_ident.conf
cp -p "$hba" "$work/hba.orig" && cp -p "$ident" "$work/ident.orig" || bail "cannot keep pg_hba.conf and pg_ident.conf"
printf '%s\n' 'local all postgres peer map=crtest' 'local all all scram-sha-256' 'host all all 127.0.0.1/32 scram-sha-256' >"$hba"
printf '%s\n' 'crtest postgres postgres' 'crtest root postgres' >"$ident"
sql postgres -c "SELECT pg_reload_conf()" >/dev/null && sleep 0.5
psql -X -A -t -w -U gm-dbo -d postgres -c 'SELECT 1' >/dev/null 2>&1 &&
	bail "gm-dbo can log in without a password: the cluster is not set up as Debian's"
log_from=$(($(stat -c %s "$GMDB_CLUSTER/server.log") + 1))
run gm-upgrade_server --yes 21 22
cp -p "$work/hba.orig" "$hba" && cp -p "$work/ident.orig" "$ident" && sql postgres -c "SELECT pg_reload_conf()" >/dev/null && sleep 0.5 ||
	bail "cannot put pg_hba.conf and pg_ident.conf back"
like "$err" 'temporary owner access: the OS user' "PostgreSQL $major: the owner was reached through the temporary peer grant"
is "$rc" 0 "PostgreSQL $major: gm-upgrade_server 21 22 (with a backup), the source's owner having set its role to one with no rights"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 15 | sed 's/^/# /'
if [ -n "$logins" ]; then
	seen=$(tail -c "+$log_from" "$GMDB_CLUSTER/server.log" | grep -o 'cr-login: .*' | sort | uniq -c)
	printf '%s\n' "$seen" | sed 's/^/# /'
	like "$seen" 'cr-login: db=gnumed_v21 session=gm-dbo current=gm-dbo' \
		"PostgreSQL $major: a login event trigger in the source fired for the owner's sessions (as gm-dbo, not as cr_nobody)"
	unlike "$seen" 'session=postgres' "PostgreSQL $major: and for none of gmdb's superuser sessions, the backup's pg_dump's neither"
	unlike "$seen" 'current=cr_nobody' "PostgreSQL $major: no session of gmdb's acted as the role the owner set"
	# and it does fire for a superuser who logs in without the switches
	log_from=$(($(stat -c %s "$GMDB_CLUSTER/server.log") + 1))
	sql gnumed_v21 -c "SELECT 1" >/dev/null
	sleep 0.2
	like "$(tail -c "+$log_from" "$GMDB_CLUSTER/server.log")" 'cr-login: db=gnumed_v21 session=postgres current=cr_nobody app=psql' \
		"(the trigger fires for a superuser's psql, acting as cr_nobody)"
fi
# the source and the target as they would be without them
for d in gnumed_v21 gnumed_v22; do
	[ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$d'")" = 1 ] || continue
	PGOPTIONS="-c role=none -c default_transaction_read_only=off${logins:+ -c event_triggers=off}" psql -X -q -U postgres -d "$d" \
		-c "ALTER DATABASE $d RESET role" ${logins:+-c "DROP EVENT TRIGGER IF EXISTS cr_login" -c "DROP FUNCTION IF EXISTS public.cr_login()"} ||
		bail "cannot take the owner's setting and the login trigger out of $d again"
done
sql postgres -c "DROP ROLE cr_nobody" >/dev/null
like "$err" 'verifying the schema hash of "gnumed_v22" \.\.\. ok' "the result has the known v22 hash"
like "$err" 'checking the migrated data for plausibility \.\.\. ok' "upstream's plausibility checks passed"
unlike "$err" 'run again' "PostgreSQL $major: the backup's pg_dump (beside the upgrade) is counted as gmdb's sessions: the checks' early results are used"
out=$(same up_source_before gnumed_v21)
ok $? "PostgreSQL $major: the source gnumed_v21 is exactly as it was"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 10
ls -d "$GMDB_BACKUP_DIR"/* >/dev/null 2>&1 && pg_restore --list "$(ls -d "$GMDB_BACKUP_DIR"/* | head -n 1)" >/dev/null 2>&1
ok $? "PostgreSQL $major: the backup is a dump pg_restore reads"
carry gnumed_v22 up_gmdb_v22 || bail "cannot dump and restore gmdb's v22"
out=$(same ref_v22 up_gmdb_v22 "${masks[@]}")
ok $? "PostgreSQL $major: gmdb's upgrade 21 22 makes upstream's v22 of PostgreSQL 15: schema, rows (run times masked), roles"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20

# --- the upgrade 21 22, without a backup ------------------------------------------------
drop_db gnumed_v22
run gm-upgrade_server --yes --no-backup 21 22
is "$rc" 0 "PostgreSQL $major: gm-upgrade_server --no-backup 21 22"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 15 | sed 's/^/# /'
carry gnumed_v22 up_gmdb_v22 || bail "cannot dump and restore gmdb's v22"
out=$(same ref_v22 up_gmdb_v22 "${masks[@]}")
ok $? "PostgreSQL $major: without a backup, the same v22"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20
drop_db up_gmdb_v22; drop_db gnumed_v22; drop_db gnumed_v21; drop_db up_source_before

# --- the v22 fixup ------------------------------------------------------------------------
clone_db gmref_v22 gnumed_v22
run gm-fixup_server -d gnumed_v22 --check
is "$rc" 0 "PostgreSQL $major: gm-fixup_server --check on the carried v22: ready"
run gm-fixup_server -d gnumed_v22
is "$rc" 0 "PostgreSQL $major: gm-fixup_server 22"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 15 | sed 's/^/# /'
run gm-fingerprint_db --expect-version 22 gnumed_v22
is "$rc" 0 "PostgreSQL $major: the fixed-up database keeps the known v22 hash"
carry gnumed_v22 fx_gmdb_v22 || bail "cannot dump and restore gmdb's fixed-up v22"
out=$(same ref_fixup_v22 fx_gmdb_v22 "${masks[@]}")
ok $? "PostgreSQL $major: gmdb's v22 fixup makes upstream's fixup of PostgreSQL 15: schema, rows (run times masked), roles"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 20
drop_db fx_gmdb_v22; drop_db gnumed_v22; drop_db ref_v22; drop_db ref_fixup_v22
rm -rf "$work"
done_testing
