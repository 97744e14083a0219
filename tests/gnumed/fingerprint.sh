#!/bin/bash
# gm-fingerprint_db against upstream's own fingerprint (gmPG2.get_db_fingerprint
# from Debian's gnumed-server) on real databases: a gnumed_v21 built by
# upstream's bootstrapper, and the gnumed_v22 upstream's engine makes of it.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
upstream_fp() { PGUSER=postgres /usr/bin/python3 "$GMDB_SRCDIR/tests/gnumed/upstream-fingerprint.py" "$@"; }

for v in 21 22; do
	db=fp_v$v
	clone_db gmref_v$v $db || bail "cannot clone gmref_v$v"
	ref=$(upstream_fp $db) || bail "upstream's fingerprint failed on $db"

	run gm-fingerprint_db $db
	is "$rc" 0 "v$v: exit 0"
	is "$out" "$ref" "v$v: the fingerprint is upstream's, line for line"
	like "$out" "Schema hash: [0-9a-f]{32} \(v$v\)" "v$v: the hash is recognised as v$v"

	run gm-fingerprint_db --with-dump $db
	is "$out" "$(upstream_fp $db --with-dump)" "v$v: --with-dump is upstream's, structure text and all"

	run gm-fingerprint_db --verify-hash $db
	is "$rc" 0 "v$v: --verify-hash exits 0"
	hash=$(printf '%s\n' "$out" | sed -n 's/^ *Schema hash: \([0-9a-f]*\).*/\1/p')
	like "$out" "Recomputed hash: $hash \(agrees\)" "v$v: the recomputed hash agrees with the database's function"

	run gm-fingerprint_db --expect-version $v $db
	is "$rc" 0 "v$v: --expect-version $v exits 0"
	other=$((v == 21 ? 22 : 21))
	run gm-fingerprint_db --expect-version $other $db
	is "$rc" 3 "v$v: --expect-version $other exits 3"
	like "$err" "does not have the schema hash of v$other" "v$v: and says so"
	like "$err" "is the known hash of v$v" "v$v: naming the version the hash does match"

	out_file="$GMDB_TESTDIR/gm_db-$db-fingerprint.log"
	rm -f "$out_file"
	run gm-fingerprint_db --output "$out_file" $db
	is "$(cat "$out_file")" "$ref" "v$v: --output writes the same fingerprint to the file"

	run gm-fingerprint_db --json $db
	is "$rc" 0 "v$v: --json exits 0"
	printf '%s' "$out" >"$GMDB_TESTDIR/fp.json"
	# the JSON's facts against upstream's text
	facts=$(/usr/bin/python3 - "$GMDB_TESTDIR/fp.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print('%20s: %s' % ('Name (DB)', d['database']))
print('%20s: %s' % ('Size (DB)', d['size']))
print('%20s: %s (v%s)' % ('Schema hash', d['schema_hash'], d['schema_version']))
print('%20s: %s' % ('Version (PG)', d['server_version']))
print('%20s: %s' % ('Encoding (PG)', d['encoding']))
print('%20s: %s' % ('LC_COLLATE (PG)', d['lc_collate']))
print('%20s: %s' % ('LC_CTYPE (PG)', d['lc_ctype']))
for k, v in d['counts'].items():
    print('%20s: %s' % (k, v))
PY
)
	is "$facts" "$(printf '%s\n' "$ref" | tail -n +3)" "v$v: --json carries the same facts as upstream's fingerprint"
	identity=$(sql $db -c "SELECT count(*) FROM ONLY dem.identity")
	ntables=$(sql $db -c "SELECT count(*) FROM information_schema.tables WHERE table_schema IN ('dem','clin','blobs','cfg','ref','i18n','bill') AND table_type = 'BASE TABLE'")
	is "$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["tables"]), [t["rows"] for t in d["tables"] if (t["schema"],t["table"])==("dem","identity")][0])' "$GMDB_TESTDIR/fp.json")" \
		"$ntables $identity" "v$v: --json lists every table of the hashed schemas with its rows"
	run gm-fingerprint_db --tables $db
	like "$out" "^ *$identity  dem\.identity$" "v$v: --tables adds the row counts to the text"
	drop_db $db
done

# PGOPTIONS, and a database's or role's default search_path, change nothing:
# gmdb ignores PGOPTIONS and computes the hash with the search_path upstream's
# hash is defined with. (tests/lib/common.sh unsets PGOPTIONS: set here.) A
# schema "evil" shadows pg_catalog's md5() where it comes first in the path.
db=fp_path
clone_db gmref_v22 $db || bail "cannot clone gmref_v22"
sql_rw $db <<'SQL' >/dev/null || bail "cannot make schema evil"
CREATE SCHEMA evil;
CREATE FUNCTION evil.md5(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$SELECT '0123456789abcdef0123456789abcdef'::text$$;
GRANT USAGE ON SCHEMA evil TO PUBLIC;
SQL
ref=$(upstream_fp $db) || bail "upstream's fingerprint failed on $db"
run gm-fingerprint_db $db
is "$out" "$ref" "search paths: without PGOPTIONS the fingerprint is upstream's"
is "$(PGOPTIONS='-c search_path=evil,pg_catalog' psql -X -A -t -U postgres -d $db -c "SELECT md5(gm.concat_table_structure())")" \
	0123456789abcdef0123456789abcdef "(psql with PGOPTIONS search_path evil,pg_catalog: md5() is evil's)"
fp() { gm-fingerprint_db --verify-hash --tables "$@" $db 2>&1; echo "exit $?"; }
plain=$(fp)
like "$plain" "Schema hash: [0-9a-f]{32} \(v22\)" "search paths: the plain fingerprint has the v22 hash"
like "$plain" "Recomputed hash: [0-9a-f]{32} \(agrees\)" "and the recomputed one agrees"
like "$plain" "^exit 0$" "and exits 0"
dump=$(gm-fingerprint_db --with-dump $db)
for o in "-c search_path=public" "-c search_path=evil,pg_catalog" "-c search_path=clin,dem,public" \
	"-c search_path=pg_catalog" "-c statement_timeout=1" "--search_path=evil,pg_catalog"; do
	is "$(PGOPTIONS="$o" fp)" "$plain" "PGOPTIONS='$o': the same fingerprint, hash and recomputed hash"
done
is "$(PGOPTIONS='-c search_path=evil,pg_catalog' gm-fingerprint_db --with-dump $db)" "$dump" \
	"PGOPTIONS='-c search_path=evil,pg_catalog': --with-dump the same, structure text and all"
is "$(PGOPTIONS='-c search_path=evil,pg_catalog' gm-fixup_server --check -d $db 2>&1 | head -n 1)" \
	"database \"$db\": v22, schema hash $(printf '%s\n' "$plain" | sed -n 's/^ *Schema hash: \([0-9a-f]*\).*/\1/p')" \
	"PGOPTIONS='-c search_path=evil,pg_catalog': gm-fixup_server --check finds the v22 hash"
sql postgres -c "ALTER DATABASE $db SET search_path = evil, pg_catalog" >/dev/null
is "$(fp)" "$plain" "a database default search_path evil,pg_catalog: the same fingerprint"
sql postgres -c "ALTER DATABASE $db RESET search_path" >/dev/null
lock_roles
sql postgres -c "ALTER ROLE postgres IN DATABASE $db SET search_path = clin, dem, public" >/dev/null
is "$(fp)" "$plain" "a role default search_path clin,dem,public: the same fingerprint"
sql postgres -c "ALTER ROLE postgres IN DATABASE $db RESET search_path" >/dev/null
# The owner's ALTER DATABASE ... SET role: every session that logs in would
# act as that role, a superuser's too (a database setting is applied at
# login). gmdb's sessions start with role=none, which outweighs it.
# fp_nobody has no rights in the database: acting as it, nothing is read.
sql postgres -c "DROP ROLE IF EXISTS fp_nobody" -c "CREATE ROLE fp_nobody NOLOGIN" -c "GRANT fp_nobody TO \"gm-dbo\"" >/dev/null ||
	bail "cannot make the role fp_nobody"
PGOPTIONS="-c default_transaction_read_only=off" psql -X -q -U gm-dbo -d $db -c "ALTER DATABASE $db SET role = fp_nobody" ||
	bail "gm-dbo cannot set the role of its database"
is "$(sql $db -c "SELECT current_user || ' ' || session_user")" "fp_nobody postgres" \
	"(after the owner's ALTER DATABASE $db SET role = fp_nobody, a superuser's psql acts as fp_nobody)"
is "$(fp)" "$plain" "a database setting role = fp_nobody by the owner: the same fingerprint, row counts and all"
run gm-fixup_server --check -d $db
is "$rc" 0 "a database setting role = fp_nobody: gm-fixup_server --check works"
is "$(printf '%s\n' "$out" | head -n 1)" \
	"database \"$db\": v22, schema hash $(printf '%s\n' "$plain" | sed -n 's/^ *Schema hash: \([0-9a-f]*\).*/\1/p')" \
	"and finds the v22 hash"
sql postgres -c "ALTER DATABASE $db RESET role" -c "DROP ROLE fp_nobody" >/dev/null
unlock_roles
drop_db $db

# A v19-and-up hash function broken the way older databases have it (spec 4.4):
# the fingerprint still has the right hash, and nothing is written.
db=fp_broken
clone_db gmref_v21 $db || bail "cannot clone gmref_v21"
good_hash=$(sql $db -c "SELECT md5(gm.concat_table_structure())")
sql_rw $db <<'SQL' || bail "cannot break the hash function"
DO $$
DECLARE src text;
BEGIN
	SELECT prosrc INTO src FROM pg_proc WHERE oid = 'gm.concat_table_structure_v19_and_up()'::regprocedure;
	IF position('contype::TEXT' IN src) = 0 THEN RAISE EXCEPTION 'unexpected function body'; END IF;
	EXECUTE format('CREATE OR REPLACE FUNCTION gm.concat_table_structure_v19_and_up() RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS %L',
		replace(src, 'contype::TEXT', 'contype'));
END $$;
SQL
run sql $db -c "SELECT md5(gm.concat_table_structure())"
like "$err" "operator is not unique" "the broken function fails the way upstream's old one does"
before=$(sql $db -c "SELECT md5(prosrc) FROM pg_proc WHERE proname = 'concat_table_structure_v19_and_up'")
run gm-fingerprint_db --verify-hash $db
is "$rc" 0 "a broken hash function: exit 0"
like "$out" "Schema hash: $good_hash " "the hash is the one the intact function gave"
like "$err" "broken on this server \(SQLSTATE 42725\)" "the fallback is announced"
is "$(sql $db -c "SELECT md5(prosrc) FROM pg_proc WHERE proname = 'concat_table_structure_v19_and_up'")" "$before" "nothing was written: the function is still the broken one"
drop_db $db
done_testing
