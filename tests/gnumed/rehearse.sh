#!/bin/bash
# Rehearsing without downtime (issue 10, point 3): gm-upgrade_server
# --rehearse and gm-fixup_server --rehearse copy the source while a client
# session keeps writing to it, run the real upgrade or fixup on the copy,
# report, and leave every database, role and file of the cluster as they
# found them. In a cluster of its own, local logins by peer as on Debian (the
# run's temporary owner access goes into pg_hba.conf and must come out).
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference

cleanup_extra() { [ -n "${wpid:-}" ] && kill "$wpid" 2>/dev/null; }
peer_workdir gmr
sql postgres -c "ALTER DATABASE gmref_v21 RENAME TO gnumed_v21" -c "ALTER DATABASE gmref_v22 RENAME TO gnumed_v22" >/dev/null ||
	bail "cannot rename the databases"
export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs GMDB_SYSCONF_DIR=$tmp/etc GMDB_BACKUP_DIR=$tmp/backups TMPDIR=$tmp/tmpdir
mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" "$tmp/etc" "$GMDB_BACKUP_DIR" "$TMPDIR"
chmod 777 "$GMDB_LOG_DIR" "$TMPDIR"
chown postgres: "$GMDB_BACKUP_DIR"

# Everything of the cluster a rehearsal could leave changed: its databases
# (name, owner, comment, settings, limits, ACL), roles (every attribute),
# memberships, the authentication files, and the files gmdb writes (the
# state, backup and temporary directories).
state() {
	sql postgres -c "SELECT d.datname, pg_get_userbyid(d.datdba), shobj_description(d.oid, 'pg_database'), d.datconnlimit,
		d.datallowconn, d.datacl, (SELECT array_agg(c ORDER BY c) FROM pg_db_role_setting s, unnest(s.setconfig) c
		WHERE s.setdatabase = d.oid) FROM pg_database d ORDER BY 1" \
		-c "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolconnlimit,
		rolbypassrls, rolconfig FROM pg_roles ORDER BY 1" \
		-c "SELECT r.rolname, m.rolname, a.admin_option FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
		JOIN pg_roles m ON m.oid = a.member ORDER BY 1, 2"
	md5sum "$cl/data/pg_hba.conf" "$cl/data/pg_ident.conf"
	(cd "$tmp" && find state backups tmpdir | sort)
}

# a client session that keeps writing to the source, one row every 0.2 s,
# as long as the file "$tmp/write" is there
writer() {
	local n=0
	while [ -e "$tmp/write" ]; do
		n=$((n + 1))
		printf "INSERT INTO dem.message_inbox (fk_staff, fk_inbox_item_type, comment) VALUES (1, 1, 'writer %d');\n" "$n"
		sleep 0.2
	done
	echo "$n" >"$tmp/written"
}
start_writer() {
	: >"$tmp/write"
	sql_rw "$1" -c "DELETE FROM dem.message_inbox WHERE comment LIKE 'writer %'" >/dev/null
	writer | PGOPTIONS="-c default_transaction_read_only=off" psql -X -q -v ON_ERROR_STOP=1 -U postgres -d "$1" \
		>"$tmp/writer.out" 2>&1 &
	wpid=$!
	sleep 1
}
stop_writer() {
	rm -f "$tmp/write"
	wait "$wpid"
	is "$?" 0 "the writing session never failed"
	wpid=
	is "$(sql "$1" -c "SELECT count(*) FROM dem.message_inbox WHERE comment LIKE 'writer %'")" "$(cat "$tmp/written")" \
		"every row it sent was written"
}

# gm-dbo's function in a CHECK constraint of a table of gm-dbo's with a row:
# loading that row runs it, and it fails when it runs with the superuser's
# rights, as the rehearsal's restore must never run it (nor anything else
# of the owner's). (An index's expression would not do: PostgreSQL runs it
# as the table's owner anyway.)
sql_rw gnumed_v21 -c 'SET ROLE "gm-dbo"' -c "CREATE FUNCTION public.gmdb_probe(integer) RETURNS integer
	LANGUAGE plpgsql IMMUTABLE AS \$\$ BEGIN
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'gmdb_probe ran as the superuser %', current_user;
	END IF;
	RETURN \$1; END \$\$" -c "CREATE TABLE public.gmdb_probe_t (x integer CHECK (public.gmdb_probe(x) = x))" \
	-c "INSERT INTO public.gmdb_probe_t VALUES (1)" >/dev/null || bail "cannot plant the probe"

before=$(state)
start_writer gnumed_v21
run gm-upgrade_server --rehearse --json 21 22
is "$rc" 0 "--rehearse 21 22 while a client writes to gnumed_v21: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 8 | sed 's/^/# /'
stop_writer gnumed_v21
is "$(state)" "$before" "every database, role, membership and file of the cluster is as it was"
[ "$(state)" = "$before" ] || diff <(printf '%s\n' "$before") <(state) | head -n 20 | sed 's/^/# /'
printf '%s\n' "$out" >"$tmp/r.json"
check_json() {  # python expression over j, description
	python3 -c "import json, sys; j = json.load(open('$tmp/r.json')); sys.exit(0 if ($1) else 1)"
	ok $? "$2"
}
check_json "j['will_succeed'] is True and j['error'] is None" "--json: the real run will succeed"
check_json "[s['step'] for s in j['steps']][:2] == ['clone', 'repair hash function'] and 'bundles' in [s['step'] for s in j['steps']] and all(s['result'] == 'ok' for s in j['steps'])" \
	"--json: the steps of the real run, each ok"
check_json "j['plausibility']['checks'] >= 50 and j['plausibility']['failed'] == 0" "--json: every plausibility check ran and passed"
check_json "j['copy']['dump_bytes'] > 0 and j['copy']['dump_seconds'] > 0 and j['copy']['restore_seconds'] > 0" \
	"--json: the copy's dump (the real backup's form) and restore, timed"
check_json "abs(j['estimate']['downtime_seconds'] - (j['estimate']['backup_seconds'] + j['estimate']['clone_seconds'] + j['estimate']['upgrade_seconds'] + j['estimate']['checks_seconds'])) < 0.05 and j['estimate']['clone_seconds'] > 0" \
	"--json: the downtime estimate is backup + clone + upgrade + checks"
check_json "j['space']['measured'] and j['space']['enough'] and j['space']['file_systems'][0]['need_bytes'] > j['source_bytes']" \
	"--json: the space the real run needs, measured"
check_json "j['cleaned_up'] is True" "--json: it says everything it made is gone"
like "$err" "copying \"gnumed_v21\" without blocking anyone" "it copied the source with pg_dump, not as a template"
unlike "$err" "gmdb_probe ran as the superuser" "nothing of gm-dbo's ran with the superuser's rights (the probe in a CHECK constraint)"

# the fixup, in text
before=$(state)
start_writer gnumed_v22
run gm-fixup_server --rehearse -d gnumed_v22
is "$rc" 0 "gm-fixup_server --rehearse while a client writes to gnumed_v22: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 8 | sed 's/^/# /'
stop_writer gnumed_v22
is "$(state)" "$before" "every database, role, membership and file of the cluster is as it was"
like "$out" "Result: the real run will succeed" "it says the real fixup will succeed"
like "$out" "snapshot \(as --downtime makes it\): [0-9.]+ s" "it timed the snapshot"
like "$out" "Estimated downtime of the real run \(--downtime\): [0-9]+ s = snapshot [0-9.]+ s \+ fixup [0-9.]+ s" \
	"it estimates the downtime"
like "$(printf '%s' "$out" | tr '\n' ' ')" "Space the real run needs: +ok: [0-9]+ MB free on the file system of" "and the space"
like "$out" "Everything the rehearsal made is gone" "and says everything it made is gone"

# a rehearsal that fails: the real run would, and nothing is left either
tree=$tmp/tree
mkdir -p "$tree" && cp -a "$GMDB_UPSTREAM_DIR/bootstrap" "$GMDB_UPSTREAM_DIR/sql" "$tree/"
ln -s "$GMDB_UPSTREAM_DIR/pycommon" "$tree/pycommon"
chmod -R a+rX "$tree"
f=$(grep -l 'ON_ERROR_STOP 1' "$tree"/sql/v21-v22/dynamic/*.sql | head -n 1)
printf '\nselect * from gmdb_injected_failure;\n' >>"$f"
before=$(state)
run gm-upgrade_server --rehearse --upstream-dir "$tree" 21 22
is "$rc" 3 "a rehearsal of an upgrade that fails: exit 3"
like "$out" "Result: the real run would FAIL: .*gmdb_injected_failure" "it says the real run would fail, and why"
like "$err" "the rehearsal failed, so would the real run" "the error says so"
is "$(state)" "$before" "every database, role, membership and file of the cluster is as it was"

run gm-upgrade_server --rehearse --check 21 22
is "$rc" 2 "--rehearse with --check: a usage error"
run gm-upgrade_server --rehearse --downtime 21 22
is "$rc" 2 "--rehearse with --downtime: a usage error"
run gm-fixup_server --rehearse --keep-snapshot
is "$rc" 2 "gm-fixup_server --rehearse --keep-snapshot: a usage error"

done_testing
