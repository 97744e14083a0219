#!/bin/bash
# gm_plausibility_run() with upstream's own checks (update_db-v21_v22.conf)
# on clones of the gmref_v21 upstream's engine upgraded and the gmref_v22 it
# made: all pass as they passed for upstream; a changed row, broken queries
# and bad definitions fail their checks only, with values and messages.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
tmp="$GMDB_TESTDIR/plausibility"
rm -rf "$tmp" && mkdir -p "$tmp" || bail "cannot make $tmp"
conf="$GMDB_UPSTREAM_DIR/bootstrap/update_db-v21_v22.conf"
upstream_log="$GMDB_CLUSTER/reference/upstream-v21_v22.log"
checks() { "$GMDB_BUILDDIR/tests/gnumed/plausibility-run" "$@"; }
# What upstream's engine prints for the checks (and its result), from
# upstream's own check_data_plausibility() and from gmdb's results.
upstream_verdicts() {
	PGUSER=postgres /usr/bin/python3 "$GMDB_SRCDIR/tests/gnumed/upstream-plausibility.py" au_pl_old au_pl_new "$1" \
		"$tmp/upstream.log" | grep -E '^(==> |    \.\.\. |result: )'
}
gmdb_verdicts() {
	echo "==> checking migrated data for plausibility ..."
	printf '%s\n' "$out" | awk -F'\t' '
		$1 == "FAIL" && $5 ~ /^check definition error/ { print "    ... failed (check definition error)"; next }
		$1 == "FAIL" && $5 ~ /^SQL error/ { print "    ... failed (SQL error)"; next }
		$1 == "FAIL" && $5 ~ /^data mismatch/ { print "    ... failed (data error, check [" $2 "])"; next }
		$1 == "FAIL" { print "    ... failed (unexpected problem: " $5 ")" }'
	echo "result: $([ "$rc" = 0 ] && echo True || echo False)"
}
field() { awk -F'\t' -v n="$1" -v tag="$2" '$2 == tag { print $n }'; }

# The list's items as upstream's conf reader hands them over (spec 1.3):
# every line up to the terminator, stripped, nothing a comment.
awk '{ sub(/\r$/, ""); gsub(/^[ \t\f\v]+|[ \t\f\v]+$/, "") }
     inlist && $0 == "$upgrade plausibility checks$" { inlist = 0; done = 1; next }
     inlist { print }
     !done && /^upgrade plausibility checks[ \t]*[=:][ \t]*\$upgrade plausibility checks\$$/ { inlist = 1 }' \
	"$conf" >"$tmp/items" || bail "cannot read $conf"
is "$(wc -l <"$tmp/items")" 168 "update_db-v21_v22.conf lists 168 items (84 pairs)"

clone_db gmref_v21 au_pl_old || bail "cannot clone gmref_v21"
clone_db gmref_v22 au_pl_new || bail "cannot clone gmref_v22"

run checks au_pl_old au_pl_new "$tmp/items"
is "$rc" 0 "upstream's checks on v21 -> v22: all pass (exit 0)"
is "$(printf '%s\n' "$out" | grep -c '^ok	')" 60 "60 active checks ran and passed"
is "$(printf '%s\n' "$out" | grep -vc '^ok	')" 0 "none failed"
printf '%s\n' "$out" | cut -f2 >"$tmp/tags"
is "$(gmdb_verdicts)" "$(upstream_verdicts "$tmp/items")" "upstream's check_data_plausibility() agrees"
if [ -f "$upstream_log" ]; then
	sed -n 's/.*plausibility check \[\(.*\)\] succeeded$/\1/p' "$upstream_log" >"$tmp/upstream-tags"
	cmp -s "$tmp/tags" "$tmp/upstream-tags"
	ok $? "the same checks, in the same order, under the same tags as upstream's engine ran them"
else
	ok 1 "upstream's log of the reference upgrade is missing: $upstream_log"
fi
is "$(printf '%s\n' "$out" | field 3 messages) $(printf '%s\n' "$out" | field 4 messages)" \
	"$(sql au_pl_old -c 'SELECT count(1) + 3 FROM dem.message_inbox') $(sql au_pl_new -c 'SELECT count(1) FROM dem.message_inbox')" \
	"the values are the queries' results (messages: old count + 3, new count)"
like "$(printf '%s\n' "$out" | field 3 'substance view -- correctness')" '^t$' "booleans: old select True ..."
like "$(printf '%s\n' "$out" | field 3 'bills with invoices but without VAT status') $(printf '%s\n' "$out" | field 4 'bills with invoices but without VAT status')" \
	'^0 0$' "... and select 0 (integer) against count() (bigint) compare by value"

# Every value gmdb took (row 0, column 0 of each side) is the one psql gets
# for the same query as the owner with the server's defaults: gmdb's check
# sessions plan the statements inside functions generically
# (plan_cache_mode), which changes no result.
psql_values() {
	local def new tag old
	while IFS= read -r def && IFS= read -r new; do
		case $def in --*) continue ;; esac
		tag=${def%%::::*} old=${def#*::::}
		printf '%s\t%s\t%s\n' "$tag" \
			"$(psql -X -q -A -t -F '	' -U gm-dbo -d au_pl_old -c "$old" 2>/dev/null | head -n 1 | cut -f1)" \
			"$(psql -X -q -A -t -F '	' -U gm-dbo -d au_pl_new -c "$new" 2>/dev/null | head -n 1 | cut -f1)"
	done <"$tmp/items"
}
is "$(printf '%s\n' "$out" | cut -f2-4)" "$(psql_values)" "each of the 60 checks' two values is what psql gets with the server's defaults"
q="select pg_catalog.current_setting('plan_cache_mode')"
printf '%s\n' "plan cache mode::::$q" "$q" >"$tmp/pcm"
run checks au_pl_old au_pl_new "$tmp/pcm"
is "$(printf '%s\n' "$out" | cut -f1,3,4)" "ok	force_generic_plan	force_generic_plan" \
	"the checks' sessions plan the statements inside functions generically (plan_cache_mode)"
sql postgres -c "ALTER DATABASE au_pl_new SET plan_cache_mode = force_custom_plan" >/dev/null
run checks au_pl_old au_pl_new "$tmp/pcm"
is "$(printf '%s\n' "$out" | cut -f3,4)" "force_generic_plan	force_custom_plan" "where the database sets plan_cache_mode, that stays"
sql postgres -c "ALTER DATABASE au_pl_new RESET plan_cache_mode" >/dev/null

# One changed row in the new database: a patient (not on staff) marked
# deleted. Only the check counting active persons fails.
active=$(sql au_pl_new -c "SELECT count(1) FROM dem.v_active_persons")
[ "$active" -gt 0 ] || bail "no active persons to change"
sql_rw au_pl_new -c "UPDATE dem.identity SET deleted = true WHERE pk = (SELECT min(pk) FROM dem.identity i
	WHERE NOT deleted AND NOT EXISTS (SELECT 1 FROM dem.staff s WHERE s.fk_identity = i.pk))" >/dev/null ||
	bail "cannot change an identity"
run checks au_pl_old au_pl_new "$tmp/items"
is "$rc" 3 "a changed row: exit 3"
is "$(printf '%s\n' "$out" | grep -v '^ok	' | cut -f1-4)" "FAIL	v_active_persons	$active	$((active - 1))" \
	"the active persons check fails, with both values"
is "$(printf '%s\n' "$out" | field 5 v_active_persons)" \
	"data mismatch: expected $active (in old database), found $((active - 1)) (in new database)" \
	"the problem says what was expected and found"
is "$(printf '%s\n' "$out" | grep -c '^ok	')" 59 "the other 59 checks still ran and passed"
like "$err" "1 of 60 plausibility checks failed" "the error counts the failures"
is "$(gmdb_verdicts)" "$(upstream_verdicts "$tmp/items")" "upstream's check_data_plausibility() agrees"

# Upstream's debugging items (the end of the conf), and more: errors fail
# their own check only, the next query runs in a fresh transaction.
cat >"$tmp/debug" <<'ITEMS'
--skipped check::::select 'skipped in old'		-- old
--	select 'skipped in new'						-- new
check definition error::select 1				-- old
select 1									-- new
syntax error (old)::::selec 1 				-- old
select 1									-- new
syntax error (new)::::select 1 				-- old
selec 1										-- new
data mismatch error::::select 1 				-- old
select 2 -- new
after errors::::select count(1) from dem.identity
select count(1) from dem.identity
no rows::::select 1 where false
select 1
not a query::::set work_mem to '8MB'
select 1
missing relation::::select 1
select count(1) from dem.no_such_table
bool is int::::select True
select 1
null is null::::select NULL::text
select NULL::int
string is not number::::select '1'::text
select 1
two:::::::::select 1
select 1
ITEMS
run checks au_pl_old au_pl_new "$tmp/debug"
is "$rc" 3 "broken checks: exit 3, no crash"
is "$(printf '%s\n' "$out" | cut -f1,2 | tr '\t\n' ' |')" \
	"FAIL ?|FAIL syntax error (old)|FAIL syntax error (new)|FAIL data mismatch error|ok after errors|FAIL no rows|FAIL not a query|FAIL missing relation|ok bool is int|ok null is null|FAIL string is not number|FAIL ?|" \
	"every pair but the skipped one ran, in order, with upstream's verdicts"
like "$(printf '%s\n' "$out" | sed -n 1p | cut -f5)" '^check definition error: no "::::" in "check definition error::select 1' \
	"a definition without \"::::\" is a definition error"
like "$(printf '%s\n' "$out" | field 5 'syntax error (old)')" '^SQL error in the old database: syntax error at or near "selec" \(SQLSTATE 42601\)$' \
	"a broken old query fails with PostgreSQL's message"
like "$(printf '%s\n' "$out" | field 5 'syntax error (new)')" '^SQL error in the new database: syntax error at or near "selec"' \
	"a broken new query fails with PostgreSQL's message"
like "$(printf '%s\n' "$out" | field 5 'missing relation')" 'relation "dem.no_such_table" does not exist \(SQLSTATE 42P01\)' \
	"a missing relation fails with PostgreSQL's message"
like "$(printf '%s\n' "$out" | field 5 'no rows')" 'no rows' "a query without rows fails (upstream: IndexError)"
like "$(printf '%s\n' "$out" | field 5 'not a query')" 'no result set' "a command without a result set fails (upstream: no results to fetch)"
like "$(printf '%s\n' "$out" | sed -n 12p | cut -f5)" 'more than one "::::"' "two separators are a definition error"
like "$(printf '%s\n' "$out" | field 5 'string is not number')" 'never compare equal \(type OIDs 25 and 23\)$' \
	"text against a number: the same text, different types, said so"
like "$(printf '%s\n' "$out" | field 5 'data mismatch error')" '^data mismatch: expected 1 \(in old database\), found 2 \(in new database\)$' \
	"a mismatch names both values"
like "$err" "9 of 12 plausibility checks failed" "the error counts the failures"
is "$(gmdb_verdicts)" "$(upstream_verdicts "$tmp/debug")" "upstream's check_data_plausibility() agrees, failure for failure"

# As gm-upgrade_server runs them (-e): the old side in the background,
# the new side beside it, each check's new query possibly before its old
# one has finished (or failed): the same verdicts, values and messages,
# in list order, both for upstream's list (with the changed row) and for
# the broken checks, whose new queries run even where the old one fails.
for list in items debug; do
	run checks au_pl_old au_pl_new "$tmp/$list"
	plain="$rc|$out|$err"
	run checks -e au_pl_old au_pl_new "$tmp/$list"
	is "$rc|$out|$err" "$plain" "$list, the new side beside the old: the same result"
done

# Before connecting: an odd number of items is a configuration error.
head -n 3 "$tmp/items" >"$tmp/odd"
run checks au_no_such_old au_no_such_new "$tmp/odd"
is "$rc" 2 "an odd number of items: exit 2"
like "$err" "odd number of plausibility check items \(3\)" "saying so, without trying to connect"
run checks au_no_such_old au_pl_new /dev/null
is "$rc" 1 "a database that cannot be reached: exit 1"
like "$err" 'could not connect to database "au_no_such_old"' "saying which"
run checks au_pl_old au_pl_new /dev/null
is "$rc" 0 "no items: nothing to check, success"

drop_db au_pl_old
drop_db au_pl_new
rm -rf "$tmp"
done_testing
