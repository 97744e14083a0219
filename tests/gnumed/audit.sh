#!/bin/bash
# gm_audit_generate() against upstream's own generator
# (gmAuditSchemaGenerator.create_audit_ddl from Debian's gnumed-server, its
# items written to a file as upstream's engine writes them) on clones of
# real databases: the DDL must be the same, byte for byte, and must run.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
tmp="$GMDB_TESTDIR/audit"
rm -rf "$tmp" && mkdir -p "$tmp" || bail "cannot make $tmp"

upstream_ddl() { PGUSER=postgres /usr/bin/python3 "$GMDB_SRCDIR/tests/gnumed/upstream-audit-ddl.py" "$@" 2>"$tmp/upstream.err"; }
gmdb_ddl() { "$GMDB_BUILDDIR/tests/gnumed/audit-ddl" "$@"; }
# psql as gm-dbo the way upstream's engine runs the file: owner session,
# read-write despite the databases' default_transaction_read_only.
as_owner() {
	local db=$1; shift
	psql -X -q -v ON_ERROR_STOP=1 -U postgres -d "$db" -c 'SET default_transaction_read_only TO off' \
		-c 'SET SESSION AUTHORIZATION "gm-dbo"' "$@"
}

for v in 12 18 21 22; do
	db=au_audit_v$v
	clone_db gmref_v$v $db || bail "cannot clone gmref_v$v"
	upstream_ddl $db "$tmp/up-v$v.sql" gm-dbo || bail "upstream's generator failed on $db: $(cat "$tmp/upstream.err")"
	gmdb_ddl $db gm-dbo >"$tmp/gm-v$v.sql" 2>"$tmp/gm.err"
	is "$?" 0 "v$v: gm_audit_generate succeeds"
	cmp "$tmp/up-v$v.sql" "$tmp/gm-v$v.sql"
	ok $? "v$v: the DDL is upstream's, byte for byte"
	ntables=$(sql $db -c "SELECT count(*) FROM audit.audited_tables")
	is "$(grep -c '^CREATE TRIGGER zt_upd_' "$tmp/gm-v$v.sql")" "$ntables" "v$v: update triggers for all $ntables registered tables"
	if [ $v -ge 21 ]; then
		like "$(grep -c 'gm.account_is_dbowner_or_staff(SESSION_USER)' "$tmp/gm-v$v.sql")" "^[1-9]" \
			"v$v: the checked variants (gm.account_is_dbowner_or_staff exists)"
	else
		is "$(grep -c 'account_is_dbowner_or_staff' "$tmp/gm-v$v.sql")" 0 "v$v: the unchecked variants (pre-v21)"
	fi
	run as_owner $db -f "$tmp/gm-v$v.sql"
	is "$rc" 0 "v$v: the DDL runs (psql -f, ON_ERROR_STOP, as gm-dbo)"
	unlike "$err" "ERROR" "v$v: without an error"
	gmdb_ddl $db gm-dbo >"$tmp/gm-v$v-again.sql"
	cmp "$tmp/gm-v$v.sql" "$tmp/gm-v$v-again.sql"
	ok $? "v$v: once run, the DDL generated again is the same"
	drop_db $db
done

# gmref_v5 (like v3 to v7) has a log table whose columns are named
# differently from its table's: today's generator gives up on it, upstream's
# and gmdb's alike, for the same column.
db=au_audit_v5
clone_db gmref_v5 $db || bail "cannot clone gmref_v5"
upstream_ddl $db "$tmp/up-v5.sql" gm-dbo
is "$?" 3 "v5: upstream's generator gives up"
like "$(cat "$tmp/upstream.err")" 'column "\.pk int4" not found in audit table' "v5: upstream: the log table lacks \"pk int4\""
run gmdb_ddl $db gm-dbo
is "$rc" 3 "v5: gm_audit_generate gives up (exit 3)"
like "$err" '"audit\.log_lnk_job2person" does not fit "dem\.lnk_job2person": it has no column "pk" of type int4' \
	"v5: for the same column"
drop_db $db

# A newly registered table: the log table is created, and auditing works.
db=au_audit_new
clone_db gmref_v21 $db || bail "cannot clone gmref_v21"
sql_rw $db -c 'SET SESSION AUTHORIZATION "gm-dbo"' -f - <<'SQL' >/dev/null || bail "cannot register a new table"
CREATE TABLE clin.au_probe (pk serial PRIMARY KEY, note text NOT NULL, tags text[], amount numeric(8,2), seen timestamptz)
	INHERITS (audit.audit_fields);
SELECT audit.register_table_for_auditing('clin', 'au_probe');
SQL
upstream_ddl $db "$tmp/up-new.sql" gm-dbo || bail "upstream's generator failed on $db: $(cat "$tmp/upstream.err")"
gmdb_ddl $db gm-dbo >"$tmp/gm-new.sql"
is "$?" 0 "new table: gm_audit_generate succeeds"
cmp "$tmp/up-new.sql" "$tmp/gm-new.sql"
ok $? "new table: the DDL is upstream's, byte for byte"
like "$(cat "$tmp/gm-new.sql")" "create table audit\.log_au_probe \(
		pk int4,
		note text,
		tags text\[\],
		amount numeric,
		seen timestamptz
\) inherits \(audit\.audit_trail\);" "new table: the log table's columns, types as upstream spells them"
run as_owner $db -f "$tmp/gm-new.sql"
is "$rc" 0 "new table: the DDL runs"
# as postgres, whom the checked triggers let through
run sql_rw $db -c "INSERT INTO clin.au_probe (note) VALUES ('first')" -c "UPDATE clin.au_probe SET note = 'second'" \
	-c "DELETE FROM clin.au_probe"
is "$rc" 0 "new table: insert, update and delete go through the audit triggers"
is "$(sql $db -c "SELECT string_agg(audit_action || ':' || note || ':' || orig_version, ',' ORDER BY pk_audit) FROM audit.log_au_probe")" \
	"UPDATE:first:0,DELETE:second:1" "new table: the audit trail has the old rows"

# Where upstream's generator gives up, so does gmdb.
fails_like_upstream() {
	local what=$1 pattern=$2
	upstream_ddl $db "$tmp/up-bad.sql" gm-dbo
	is "$?" 3 "$what: upstream's generator gives up"
	run gmdb_ddl $db gm-dbo
	is "$rc" 3 "$what: gm_audit_generate gives up (exit 3)"
	is "$out" "" "$what: and produces no DDL"
	like "$err" "$pattern" "$what: saying why"
}
sql_rw $db -c "ALTER TABLE audit.log_au_probe DROP COLUMN amount" >/dev/null || bail "cannot alter the log table"
fails_like_upstream "a log table lacking a column" 'log table "audit.log_au_probe" does not fit "clin.au_probe": it has no column "amount" of type numeric'
sql_rw $db -c "ALTER TABLE audit.log_au_probe ADD COLUMN amount text" >/dev/null || bail "cannot alter the log table"
fails_like_upstream "a log table column of another type" 'has no column "amount" of type numeric'
sql_rw $db -c "ALTER TABLE audit.log_au_probe DROP COLUMN amount" -c "ALTER TABLE audit.log_au_probe ADD COLUMN amount numeric" \
	-c "ALTER TABLE audit.log_au_probe ADD COLUMN extra int" >/dev/null || bail "cannot alter the log table"
upstream_ddl $db "$tmp/up-extra.sql" gm-dbo || bail "upstream's generator failed on $db"
gmdb_ddl $db gm-dbo >"$tmp/gm-extra.sql"
cmp "$tmp/up-extra.sql" "$tmp/gm-extra.sql"
ok $? "extra columns in a log table are fine, for both"
sql_rw $db -c "INSERT INTO audit.audited_tables (schema, table_name) VALUES ('clin', 'au_nothere')" >/dev/null ||
	bail "cannot register a missing table"
fails_like_upstream "a registered table that does not exist" 'the table "clin.au_nothere" registered for auditing does not exist'
sql_rw $db -c "DELETE FROM audit.audited_tables" >/dev/null || bail "cannot empty the registry"
fails_like_upstream "nothing registered" 'no tables are registered for auditing'
drop_db $db
rm -rf "$tmp"
done_testing
