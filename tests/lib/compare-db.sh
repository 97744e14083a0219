#!/bin/bash
# compare-db.sh - are two GNUmed databases the same?
#
#   compare-db.sh [-w WORKDIR] [-a] [-N] [-B] [-m MASK]... [-t SCHEMA.TABLE.COLUMN]...
#                 [-s SINCE -r SCHEMA.TABLE.COLUMN...] [-o OIDCOL]... DB_A DB_B
#
# Compares, in the cluster named by PGHOST/PGPORT (as the superuser):
#   schema    pg_dump --schema-only --create (ACLs, database settings and
#             comment included), the database names made equal
#   rows      every row of every table (outside the system schemas), as
#             text, sorted; columns named by a MASK are left out
#   roles     the cluster's roles with their attributes, and memberships
#             (cluster-wide: identical when both databases live in the same
#             cluster, which is what the tests use; compared for form)
# MASK is COLUMN (any table) or SCHEMA.TABLE.COLUMN: columns whose values
# are the time of the run (audit timestamps, ...). -t names a text column
# in which timestamps (YYYY-MM-DD HH:MM:SS...) are masked, the rest of the
# text still compared (upstream writes the run's time into some texts).
# -r names a timestamp column in which upstream's SQL writes the time of the
# run into some rows only (now() as a default for a missing value): values
# at or after SINCE (-s, a timestamp taken before the runs) are masked,
# earlier ones are still compared.
# -o names a column (any table, or SCHEMA.TABLE.COLUMN) holding a table's
# OID, compared as the name of that table: a table the run creates gets its
# OID from the cluster's counter, which other runs in the cluster advance.
# -N leaves out the names of NOT NULL constraints: PostgreSQL 18 makes
# them catalog constraints named after the table, and a table renamed after
# its creation keeps the old name's constraints, which a database made on
# 15 and restored on 18 cannot have (the restore names them anew).
# -B leaves out a database comment that is gmdb's build record ("gmdb:
# built by gm-upgrade_server ...", see lib/build.c): the one way a target
# gmdb built differs from upstream's on purpose.
# -a: DB_A is a database nothing writes to (a test's pristine copy, compared
# again and again): its schema and rows are read from WORKDIR when an
# earlier comparison there read them with the same options, else read and
# kept there. The test proves at its end that DB_A is still what was kept.
# Prints what differs;
# exits 0 if nothing does, 1 if something does, 2 on error.
set -u
work=
masks=()
tmasks=()
rmasks=()
omasks=()
since=
nnnames=
build_record=
keep_a=
opts="$*"
while getopts w:m:t:r:s:o:NBa o; do
	case $o in
	w) work=$OPTARG ;;
	a) keep_a=1 ;;
	N) nnnames=1 ;;
	B) build_record=1 ;;
	m) masks+=("$OPTARG") ;;
	t) tmasks+=("$OPTARG") ;;
	r) rmasks+=("$OPTARG") ;;
	s) since=$OPTARG ;;
	o) omasks+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 2 ] && { [ ${#rmasks[@]} = 0 ] || [ -n "$since" ]; } ||
	{ echo "usage: compare-db.sh [-w WORKDIR] [-N] [-B] [-m MASK]... [-t SCHEMA.TABLE.COLUMN]... [-s SINCE -r SCHEMA.TABLE.COLUMN...] [-o OIDCOL]... DB_A DB_B" >&2; exit 2; }
a=$1 b=$2
[ -n "$work" ] || work=$(mktemp -d)
mkdir -p "$work"
# -a: the options but the database names identify what was kept of DB_A
kept_key="${opts% "$a" "$b"}"
reuse_a=
[ -n "$keep_a" ] && [ -f "$work/$a.kept" ] && [ "$(cat "$work/$a.kept")" = "$kept_key" ] && reuse_a=1
[ -n "$keep_a" ] && [ -z "$reuse_a" ] && rm -f "$work/$a.kept"
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -U "${PGUSER:-postgres}" -d "$1" "${@:2}"; }

# 1. schema
for db in "$a" "$b"; do
	[ -n "$reuse_a" ] && [ "$db" = "$a" ] && continue
	pg_dump -U "${PGUSER:-postgres}" --schema-only --create "$db" >"$work/$db.schema.raw" || exit 2
	# the database's own name, quoted or not, becomes DBNAME
	sed -e "/^\\\\\(un\)\{0,1\}restrict /d" -e "s/\"$db\"/DBNAME/g" -e "s/\\b$db\\b/DBNAME/g" \
		${nnnames:+-e 's/ CONSTRAINT [^ ]* NOT NULL/ NOT NULL/g'} "$work/$db.schema.raw" >"$work/$db.schema"
	if [ -n "$build_record" ]; then
		perl -0pi -e "s/--\n-- Name: DATABASE DBNAME; Type: COMMENT;[^\n]*\n--\n\nCOMMENT ON DATABASE DBNAME IS 'gmdb: built by gm-upgrade_server [^\n]*';\n\n\n//" "$work/$db.schema"
	fi
done
differ=0
if ! cmp -s "$work/$a.schema" "$work/$b.schema"; then
	echo "schema differs:"
	diff "$work/$a.schema" "$work/$b.schema" | head -n 40
	differ=1
fi

# 2. rows
maskre=$(printf '%s\n' "${masks[@]:-}" | sed '/^$/d' | paste -sd'|' -)
tables_sql="SELECT format('%I.%I', n.nspname, c.relname), n.nspname || '.' || c.relname,
  (SELECT string_agg(CASE WHEN n.nspname || '.' || c.relname || '.' || a.attname = ANY (:'masks_time'::text[])
      THEN format('regexp_replace(%I::text, ''[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([+-][0-9]{2}(:[0-9]{2})?)?'', ''<time>'', ''g'')', a.attname)
      WHEN n.nspname || '.' || c.relname || '.' || a.attname = ANY (:'masks_run'::text[])
      THEN format('CASE WHEN %I >= %L::timestamptz THEN ''<run>'' ELSE %I::text END', a.attname, :'since', a.attname)
      WHEN a.attname = ANY (:'masks_oid'::text[]) OR n.nspname || '.' || c.relname || '.' || a.attname = ANY (:'masks_oid'::text[])
      THEN format('%I::regclass::text', a.attname)
      ELSE format('%I', a.attname) END, ',' ORDER BY a.attnum) FROM pg_attribute a
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      AND NOT (a.attname = ANY (:'masks_col'::text[]) OR n.nspname || '.' || c.relname || '.' || a.attname = ANY (:'masks_full'::text[])))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast' ORDER BY 2"
mcol="{$(printf '%s\n' "${masks[@]:-}" | grep -v '\.' | sed '/^$/d' | paste -sd, -)}"
mfull="{$(printf '%s\n' "${masks[@]:-}" | grep '\.' | paste -sd, -)}"
mtime="{$(printf '%s\n' "${tmasks[@]:-}" | sed '/^$/d' | paste -sd, -)}"
mrun="{$(printf '%s\n' "${rmasks[@]:-}" | sed '/^$/d' | paste -sd, -)}"
moid="{$(printf '%s\n' "${omasks[@]:-}" | sed '/^$/d' | paste -sd, -)}"
for db in "$a" "$b"; do
	[ -n "$reuse_a" ] && [ "$db" = "$a" ] && continue
	q "$db" -F $'\t' -v masks_col="$mcol" -v masks_full="$mfull" -v masks_time="$mtime" -v masks_run="$mrun" -v masks_oid="$moid" -v since="${since:-infinity}" <<<"$tables_sql" >"$work/$db.tables" || exit 2
	while IFS=$'\t' read -r ident name cols; do
		[ -n "$cols" ] || cols="1"
		echo "SELECT '$name', md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')), count(*) FROM (SELECT ROW($cols)::text AS r FROM $ident) s;"
	done <"$work/$db.tables" | q "$db" >"$work/$db.rows" || exit 2
done
[ -n "$keep_a" ] && [ -z "$reuse_a" ] && printf '%s\n' "$kept_key" >"$work/$a.kept"
if ! cmp -s "$work/$a.rows" "$work/$b.rows"; then
	echo "rows differ in:"
	diff "$work/$a.rows" "$work/$b.rows" | grep '^[<>]' | cut -d'|' -f1 | sort -u | sed 's/^[<>] /  /' | uniq | head -n 40
	differ=1
fi

# 3. roles and memberships (cluster-wide)
for db in "$a" "$b"; do
	q "$db" -c "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolconnlimit, rolvaliduntil FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1" >"$work/$db.roles"
	q "$db" -c "SELECT r.rolname, m.rolname, am.admin_option FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member WHERE r.rolname !~ '^pg_' ORDER BY 1, 2" >>"$work/$db.roles"
done
if ! cmp -s "$work/$a.roles" "$work/$b.roles"; then
	echo "roles differ:"
	diff "$work/$a.roles" "$work/$b.roles" | head -n 20
	differ=1
fi
[ "$differ" = 0 ] && echo "same: schema ($(wc -l <"$work/$a.schema") lines), rows of $(wc -l <"$work/$a.rows") tables, roles"
exit $differ
