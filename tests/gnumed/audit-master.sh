#!/bin/bash
# gm_audit_generate_by(master's generator) against the audit generator of
# upstream's development tree (bootstrap/gmAuditSchemaGenerator.py with
# gmAuditSchemaDefs.py, the future v23), its items written to a file as
# that tree's engine writes them: the same DDL, byte for byte, in each of
# its three variants (pre-v21, v21/v22, v23), and it runs.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
tmp="$GMDB_TESTDIR/audit-master"
rm -rf "$tmp" && mkdir -p "$tmp" && chmod 777 "$tmp" || bail "cannot make $tmp"
need_upstream_master "$tmp/upstream"

upstream_ddl() {
	GMDB_UPSTREAM_DIR=$GMDB_UPSTREAM_MASTER_DIR PGUSER=postgres /usr/bin/python3 \
		"$GMDB_SRCDIR/tests/gnumed/upstream-audit-ddl.py" "$@" >/dev/null 2>"$tmp/upstream.err"
}
gmdb_ddl() { "$GMDB_BUILDDIR/tests/gnumed/audit-ddl" -g master "$@"; }
as_owner() {
	local db=$1; shift
	psql -X -q -v ON_ERROR_STOP=1 -U postgres -d "$db" -c 'SET default_transaction_read_only TO off' \
		-c 'SET SESSION AUTHORIZATION "gm-dbo"' "$@"
}

# same DB VARIANT: both generators on DB; the variant's comment item; it runs
same() {
	local db=$1 variant=$2
	upstream_ddl $db "$tmp/up-$db.sql" gm-dbo || bail "upstream's generator failed on $db: $(cat "$tmp/upstream.err")"
	gmdb_ddl $db gm-dbo >"$tmp/gm-$db.sql" 2>"$tmp/gm.err"
	is "$?" 0 "$db: master's generator succeeds"
	cmp "$tmp/up-$db.sql" "$tmp/gm-$db.sql"
	ok $? "$db: the DDL is master's, byte for byte"
	ntables=$(sql $db -c "SELECT count(*) FROM audit.audited_tables")
	is "$(grep -c "^-- creating $variant audit schema script;\$" "$tmp/gm-$db.sql")" "$ntables" \
		"$db: the $variant variant for all $ntables registered tables"
	run as_owner $db -f "$tmp/gm-$db.sql"
	is "$rc" 0 "$db: the DDL runs (psql -f, ON_ERROR_STOP, as gm-dbo)"
}

# pre-v21 and v21/v22: copies of the real databases
clone_db gmref_v18 au_master_v18 || bail "cannot clone gmref_v18"
same au_master_v18 pre-v21
drop_db au_master_v18
clone_db gmref_v22 au_master_v22 || bail "cannot clone gmref_v22"
same au_master_v22 v21/v22
drop_db au_master_v22

# v23: made by master's own engine from a copy of the real v22 (the run the
# cluster keeps: master_v23_cached; the real names only if it is to be made)
master_v23_kept || serialize_gnumed_tests
master_v23_cached "$tmp/master.log" au_master_v23 || bail "master's engine failed: $(tail -n 5 "$tmp/master.log.out")"
exec 8>&- # the real names are free again
same au_master_v23 v23
is "$(grep -c '^create unique index idx_uniq__audit__log_[a-z_0-9]*__pk_audit_per_row_ver$' "$tmp/gm-au_master_v23.sql")" \
	"$ntables" "v23: a unique index per log table on (src_row_pk_audit, row_version)"
# a newly registered table: its log table is created with the v23 columns
sql_rw au_master_v23 -c 'SET SESSION AUTHORIZATION "gm-dbo"' -f - <<'SQL' >/dev/null || bail "cannot register a new table"
CREATE TABLE clin.au_probe (pk serial PRIMARY KEY, note text NOT NULL, tags text[]) INHERITS (audit.audit_fields);
SELECT audit.register_table_for_auditing('clin', 'au_probe');
SQL
same au_master_v23 v23
like "$(cat "$tmp/gm-au_master_v23.sql")" "create table audit\.log_au_probe \(
	pk int4,
	note text,
	tags text\[\]
\) inherits \(audit\.audit_trail\);" "v23, a new table: its log table"
run sql_rw au_master_v23 -c "INSERT INTO clin.au_probe (note) VALUES ('first')" -c "UPDATE clin.au_probe SET note = 'second'" \
	-c "DELETE FROM clin.au_probe"
is "$rc" 0 "v23, a new table: insert, update and delete go through the v23 triggers"
is "$(sql au_master_v23 -c "SELECT string_agg(version_logged_why || ':' || note || ':' || row_version, ',' ORDER BY pk_audit_trail) FROM audit.log_au_probe")" \
	"UPDATE:first:1,DELETE:second:2" "v23, a new table: the audit trail has the old rows, versions from 1"
drop_db au_master_v23
rm -rf "$tmp"
done_testing
