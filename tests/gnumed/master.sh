#!/bin/bash
# gmdb against upstream's development engine (ncqgm/gnumed master 8a85b32,
# the future v23), side by side, with master's own tree, on copies of the
# same real databases (the test suite's gmref_v21 and gmref_v22):
#   22 23   master's upgrade_db-v22_v23.conf (as its upgrade-db.sh 22 23:
#           fixup_db-v22.conf on gnumed_v22 in place, then
#           update_db-v22_v23.conf) against gm-upgrade_server 22 23, which
#           applies the fixup in the clone: its source must compare
#           unchanged, with nothing masked
#   fixup   master's fixup_db-v22.conf against gm-fixup_server 22
#   chain   master's update_db-v21_v22.conf (master has no aggregate
#           upgrade_db-v21_v22.conf; update_db-v21_v22.conf carries the v21
#           fixups itself), then upgrade_db-v22_v23.conf, against
#           gm-upgrade_server 21 22 and 22 23; the v22s between compared too
# and master's engine against itself: a second 22 23 must compare the same
# as the first under the masks below, and the fixed-up v22 that the
# aggregate leaves behind the same as fixup_db-v22.conf's alone.
#
# Masks (compare-db.sh), each only where the values are the time of the run
# or an order upstream's own SQL leaves undefined:
#   modified_when                  audit_fields' time of the change: the run's
#   version_created_when,          v23's audit log columns (master renamed
#   version_logged_when            22.x's orig_when and audit_when): the time
#                                  the logged version was made and logged
#   gm.schema_revision.imported    when each schema file was imported
#   clin.intake.clin_when,         v23-clin-intake_regimen-transfer_data.sql
#   clin.intake_regimen.clin_when  inserts coalesce(started, now()): the rows
#   (and clin.clin_root_item's,    of intakes without a start get the time of
#   whose children they are)       the run, the others keep theirs (-r: only
#                                  values from after the test's start)
#   pk_audit, pk_audit_trail,      the audited rows' serial, the log rows'
#   src_row_pk_audit               serial (22.x's pk_audit of the log tables,
#                                  renamed by v23) and the audited row's
#                                  serial copied into its log row: numbered
#                                  in the order a statement or loop meets the
#                                  rows, which upstream's SQL leaves undefined
#                                  and the heap's physical order decides (it
#                                  depends on when pages were pruned, i.e. on
#                                  whatever else the cluster was doing:
#                                  tests/gnumed/upgrade.sh masks pk_audit for
#                                  it). Measured in the chain, whose v22s are
#                                  made by different runs: master's
#                                  v23-ref-convert_vaccines.sql deletes unused
#                                  vaccines in a FOR loop over SELECT * FROM
#                                  ref.vaccine (master's v22 has pks 197-202
#                                  first in the heap, gmdb's 141...), and
#                                  v23-audit-audit_trail-dynamic.sql numbers
#                                  the log rows whose source row is gone with
#                                  nextval() while it loops over the log tables
#                                  as a catalog query without ORDER BY returns
#                                  them (audit.log_dose 32nd in master's v22,
#                                  68th in gmdb's: its rows got 15737... from
#                                  master, 15941... from gmdb; master's own
#                                  21 22 put it 10th and 70th in two more runs)
#   clin.intake.pk, .pk_item,      the same transfer script makes the intakes
#   clin.clin_root_item.pk_item,   in a FOR loop over SELECT * FROM
#   clin.intake_regimen.fk_intake  clin.v_substance_intakes, a view of joins
#                                  without ORDER BY: their serials follow the
#                                  plan's order, which the statistics of the
#                                  moment decide (two runs of master's own
#                                  engine on the same v22 numbered the five
#                                  intakes 372, 374, 375, 233, 167 and 233,
#                                  167, 375, 372, 374). The regimens' link to
#                                  their intake is compared by the intake's
#                                  content instead (master_intake_links),
#                                  and every child table of clin.clin_root_item
#                                  has its own pk_item compared
#   src_table_oid (-o)             compared as the name of the table it names:
#                                  tables the chain's 21 22 creates (ref.dose,
#                                  ...) get OIDs from the cluster's counter, so
#                                  master's v22 and gmdb's, made one after the
#                                  other, differ in them, and so do the audit
#                                  rows 22 23 logs for them
#   -B                             gmdb's build record (the database comment)
# Those above pk_audit differ between two runs of master's own engine on the
# same v22 (the second run below fails without them); pk_audit_trail,
# src_row_pk_audit and src_table_oid did not there (both runs start from the
# same pages and OIDs) but did in the chain; pk_audit is the 22.x tests'
# mask, for the same reason, and differed in neither. The v22 side (the fixup, the chain's v22) is masked as
# tests/gnumed/fixup.sh and upgrade.sh mask 22.x's (orig_when, audit_when are
# v22's audit columns), and the chain, which runs 21 22, as upgrade.sh masks
# that step (-t clin.episode.summary: timestamps in its text).
#
# Roles are the cluster's: compare-db.sh's role section compares the
# cluster with itself. So every run starts from the same role state, the
# one a cluster had before master's engine ran on it (roles_baseline: no
# admin option for gm-dbo, postgres not in gm-logins, gm-dbo without
# CREATEDB and CREATEROLE, no group role of a version the run makes), and
# the roles after it (every role's attributes and settings, every membership
# with its admin option and grantor) are compared with those after master's
# run of the same step. What the test takes away is given back at its end.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
serialize_gnumed_tests
lock_roles
work=$GMDB_TESTDIR/master
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
need_upstream_master "$work/upstream"
tree=$GMDB_UPSTREAM_MASTER_DIR
export GMDB_LOG_DIR=$work/logs GMDB_BACKUP_DIR=$work/backups
mkdir -p "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR" && chmod 777 "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR"
since=$(sql postgres -c "SELECT now()") || bail "cannot read the server's time"
mapfile -t masks_v23 < <(master_v23_masks "$since")
masks_v22=(-B -m modified_when -m orig_when -m audit_when -m pk_audit -m gm.schema_revision.imported)
masks_chain=("${masks_v23[@]}" -t clin.episode.summary)
same() { PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$work/cmp-$1-$2" "${@:3}" "$1" "$2" 2>&1; }
# compared DESCRIPTION A B MASK...: compare-db.sh's verdict as a test, what
# differs as comments
compared() {
	local out
	out=$(same "${@:2}")
	ok $? "$1"
	printf '%s\n' "$out" | sed 's/^/# /' | head -n 40
}
# linked DESCRIPTION A B: the regimens of A and B link the same intakes
linked() {
	local x y
	x=$(master_intake_links "$2") && y=$(master_intake_links "$3") && [ -n "$x" ] && [ "$x" = "$y" ]
	ok $? "$1"
	[ "$x" = "$y" ] || diff <(printf '%s\n' "$x") <(printf '%s\n' "$y") | head -n 10 | sed 's/^/# /'
}
secs() { echo $(($(date +%s) - $1)); }
# after "run gm-...": its exit status as a test, the end of its errors as comments
gmdb_ran() {
	is "$rc" 0 "$1"
	[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 8 | sed 's/^/# /'
}
# master_ran STATUS DESCRIPTION LOG...: master's engine's exit status as a
# test, the end of its output as comments
master_ran() {
	ok "$1" "$2"
	[ "$1" = 0 ] || tail -n 5 "${@:3}" | sed 's/^/# /'
}
dbs=(gnumed_v21 gnumed_v22 gnumed_v23 ms_source_before ms_master_v23 ms_master_v22fix ms_master2_v23
	ms_fix_master ms_fix_gmdb ms_chain_master_v22 ms_chain_master_v23 ms_chain_gmdb_v22)
for d in "${dbs[@]}"; do drop_db "$d"; done

# --- roles ---------------------------------------------------------------------------
# every role's attributes and settings, every membership (admin option, grantor)
roles() {
	sql postgres -c "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication,
			rolconnlimit, rolvaliduntil, rolconfig FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1" \
		-c "SELECT g.rolname || ' > ' || m.rolname, a.admin_option, gr.rolname
			FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
			JOIN pg_roles gr ON gr.oid = a.grantor WHERE g.rolname !~ '^pg_' ORDER BY 1" \
		-c "SELECT coalesce(r.rolname, '-'), coalesce(d.datname, '-'), s.setconfig FROM pg_db_role_setting s
			LEFT JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
			WHERE s.setrole <> 0 ORDER BY 1, 2"
}
# roles_baseline V: the role state of a cluster at v V before master's engine
# ran on it
roles_baseline() {
	sql postgres -v v="$1" <<'SQL' >/dev/null
SELECT format('REVOKE ADMIN OPTION FOR %I FROM %I', g.rolname, m.rolname)
	FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
	WHERE m.rolname = 'gm-dbo' AND a.admin_option
\gexec
SELECT 'REVOKE "gm-logins" FROM postgres' WHERE EXISTS (SELECT FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
		WHERE g.rolname = 'gm-logins' AND m.rolname = 'postgres')
\gexec
ALTER ROLE "gm-dbo" NOCREATEDB NOCREATEROLE;
SELECT format('DROP ROLE %I', rolname) FROM pg_roles
	WHERE rolname ~ '^gnumed_v[0-9]+$' AND substr(rolname, 9)::int > :v
\gexec
SQL
}
# what roles_baseline takes away, as SQL that gives it back (run at the end)
sql postgres <<'SQL' >"$work/roles-restore.sql" || bail "cannot read the cluster's roles"
SELECT format('SELECT ''CREATE ROLE %I'' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %L)' || E'\n\\gexec', rolname, rolname)
	FROM pg_roles WHERE rolname ~ '^gnumed_v[0-9]+$';
SELECT format('GRANT %I TO %I%s;', g.rolname, m.rolname, CASE WHEN a.admin_option THEN ' WITH ADMIN OPTION' ELSE '' END)
	FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
	WHERE g.rolname ~ '^gnumed_v[0-9]+$' OR m.rolname IN ('gm-dbo', 'postgres');
SELECT format('ALTER ROLE %I %s %s;', rolname, CASE WHEN rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END,
		CASE WHEN rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END)
	FROM pg_roles WHERE rolname = 'gm-dbo';
SQL
roles_restore() { sql postgres -f "$work/roles-restore.sql" >/dev/null; }
trap roles_restore EXIT
# roles_same DESCRIPTION MASTER GMDB
roles_same() {
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | grep '^[<>]' | sed 's/^</# master:/; s/^>/# gmdb:  /' | head -n 30
	fi
}

# --- 22 23: master's engine, twice --------------------------------------------------
roles_baseline 22
t0=$(date +%s)
master_v23 "$work/master-v22_v23.log" ms_master_v23 ms_master_v22fix
rc=$?
master_ran $rc "master's engine: upgrade_db-v22_v23.conf on a copy of the real v22 ($(secs "$t0") s)" "$work/master-v22_v23.log.out"
# the run the cluster keeps for the tests that use master's v23 (master_v23_cached)
[ "$rc" != 0 ] || master_v23_keep ms_master_v23 ms_master_v22fix ||
	echo "# (could not keep master's run: the tests that use it make their own)"
roles_master=$(roles)
like "$roles_master" 'gnumed_v23 > gm-dbo\|t\|postgres' "(master's engine granted its new group gnumed_v23 to gm-dbo with admin option)"
run env GMDB_UPSTREAM_DIR="$tree" gm-fingerprint_db -q -e 23 ms_master_v23
is "$rc" 0 "(gm-fingerprint_db names master's result v23)"

roles_baseline 22
t0=$(date +%s)
master_v23 "$work/master2-v22_v23.log" ms_master2_v23
master_ran $? "master's engine again, on another copy ($(secs "$t0") s)" "$work/master2-v22_v23.log.out"
roles_same "master's engine makes the same roles again" "$roles_master" "$(roles)"
compared "master's engine makes the same v23 again, under the masks" ms_master_v23 ms_master2_v23 "${masks_v23[@]}"
linked "(and links the same regimens to the same intakes)" ms_master_v23 ms_master2_v23
drop_db ms_master2_v23

# --- 22 23: gmdb with master's tree -----------------------------------------------------
roles_baseline 22
clone_db gmref_v22 gnumed_v22
clone_db gmref_v22 ms_source_before
t0=$(date +%s)
run gm-upgrade_server --upstream-dir "$tree" --no-backup --yes 22 23
gmdb_ran "gm-upgrade_server 22 23 with master's tree ($(secs "$t0") s)"
roles_same "the roles are those master's engine made: attributes, memberships, admin options, grantors" "$roles_master" "$(roles)"
compared "gmdb's v23 is master's: schema, rows (masked as above), database settings" ms_master_v23 gnumed_v23 "${masks_v23[@]}"
linked "gmdb's regimens link the same intakes as master's" ms_master_v23 gnumed_v23
compared "gmdb's source gnumed_v22 is exactly the real v22 (nothing masked: the fixup went into the clone)" ms_source_before gnumed_v22
run env GMDB_UPSTREAM_DIR="$tree" gm-fingerprint_db -q -e 23 gnumed_v23
is "$rc" 0 "gm-fingerprint_db names gmdb's result v23"
for d in gnumed_v22 gnumed_v23 ms_source_before ms_master_v23; do drop_db "$d"; done

# --- the v22 fixup: master's fixup_db-v22.conf alone, and gmdb's -------------------------
roles_baseline 22
clone_db gmref_v22 gnumed_v22
t0=$(date +%s)
master_engine fixup_db-v22.conf "$work/master-fixup.log"
master_ran $? "master's engine: fixup_db-v22.conf on a copy of the real v22 (answered yes: it asks) ($(secs "$t0") s)" \
	"$work/master-fixup.log.out"
roles_fix_master=$(roles)
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO ms_fix_master' >/dev/null
compared "master's fixup alone leaves the v22 its upgrade_db-v22_v23.conf left behind (same engine, same steps)" \
	ms_master_v22fix ms_fix_master "${masks_v22[@]}"
drop_db ms_master_v22fix

roles_baseline 22
clone_db gmref_v22 gnumed_v22
t0=$(date +%s)
run gm-fixup_server --upstream-dir "$tree" -d gnumed_v22 22
gmdb_ran "gm-fixup_server 22 with master's tree ($(secs "$t0") s)"
roles_same "the roles are those master's fixup made" "$roles_fix_master" "$(roles)"
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO ms_fix_gmdb' >/dev/null
compared "gmdb's fixup is master's: schema, rows (run times masked), database settings" ms_fix_master ms_fix_gmdb "${masks_v22[@]}"
drop_db ms_fix_master; drop_db ms_fix_gmdb

# --- the chain 21 22 23: master's engine, then gmdb's -------------------------------------
roles_baseline 21
clone_db gmref_v21 gnumed_v21
t0=$(date +%s)
master_engine update_db-v21_v22.conf "$work/master-v21_v22.log" &&
	clone_db gnumed_v22 ms_chain_master_v22 &&
	master_engine upgrade_db-v22_v23.conf "$work/master-chain-v22_v23.log"
master_ran $? "master's engine: update_db-v21_v22.conf, then upgrade_db-v22_v23.conf, on a copy of the real v21 ($(secs "$t0") s)" \
	"$work"/master-v21_v22.log.out "$work"/master-chain-v22_v23.log.out
roles_chain_master=$(roles)
sql postgres -c 'ALTER DATABASE gnumed_v23 RENAME TO ms_chain_master_v23' >/dev/null
drop_db gnumed_v21; drop_db gnumed_v22

roles_baseline 21
clone_db gmref_v21 gnumed_v21
t0=$(date +%s)
run gm-upgrade_server --upstream-dir "$tree" --no-backup --yes 21 22
gmdb_ran "gm-upgrade_server 21 22 with master's tree ($(secs "$t0") s)"
compared "gmdb's v22 is master's v22 (the chain's middle)" ms_chain_master_v22 gnumed_v22 "${masks_v22[@]}" -t clin.episode.summary
t0=$(date +%s)
run gm-upgrade_server --upstream-dir "$tree" --no-backup --yes 22 23
gmdb_ran "gm-upgrade_server 22 23 on gmdb's v22 ($(secs "$t0") s)"
roles_same "the chain's roles are those master's chain made" "$roles_chain_master" "$(roles)"
compared "gmdb's v23 from v21 is master's" ms_chain_master_v23 gnumed_v23 "${masks_chain[@]}"
linked "and its regimens link the same intakes" ms_chain_master_v23 gnumed_v23
run env GMDB_UPSTREAM_DIR="$tree" gm-fingerprint_db -q -e 23 gnumed_v23
is "$rc" 0 "gm-fingerprint_db names it v23"

# --- a collation library that changed under the database -----------------------------
# The recorded version of the database's default collation is not the
# library's (what an upgrade of the operating system's locales leaves
# behind; the test writes another version into pg_database). Master's
# engine refreshes it after the REINDEX and the revalidation, which a v22
# does not have: master counts "DO MANUALLY" as done (gmPG2's __LLAP is
# the cookie of both) and refreshes all the same. This cluster's C.UTF-8
# has no version, so PostgreSQL refuses the refresh: both engines stop
# there, with the server's own message. (A refresh that succeeds needs a
# versioned locale, which the test machines do not have.)
for who in master gmdb; do
	clone_db gmref_v22 gnumed_v22
	sql postgres -c "UPDATE pg_database SET datcollversion = 'gmdb-test' WHERE datname = 'gnumed_v22'" >/dev/null
	if [ "$who" = master ]; then
		master_engine fixup_db-v22.conf "$work/master-coll22.log"
		ok $((! $?)) "a changed default collation: master's fixup of a v22 fails"
		like "$(cat "$work/master-coll22.log")" 'refreshing database default collation version information' \
			"(it refreshes without the revalidation a v22 cannot do)"
		like "$(cat "$work/master-coll22.log")" 'invalid collation version change' "(and PostgreSQL refuses)"
	else
		run gm-fixup_server --upstream-dir "$tree" -d gnumed_v22 22
		is "$rc" 1 "gmdb's fails too (exit 1)"
		like "$err" 'refreshing the version of the default collation of "gnumed_v22"' "(it refreshes all the same)"
		like "$err" 'could not refresh the collation versions of "gnumed_v22": .*invalid collation version change' \
			"(and says what PostgreSQL said)"
	fi
done
drop_db gnumed_v22

for d in "${dbs[@]}"; do drop_db "$d"; done
done_testing
