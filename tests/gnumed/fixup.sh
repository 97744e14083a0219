#!/bin/bash
# gm-fixup_server against upstream's own fixup, side by side, on two copies
# of the same real v22 database (made by upstream's bootstrapper and
# upstream's update_db-v21_v22.conf); then the second run, --check, --list,
# the lock, discovery, bad input, and that no session is left when it ends.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
serialize_gnumed_tests
work=$GMDB_TESTDIR/fixup
rm -rf "$work" && mkdir -p "$work" && chmod 777 "$work"
# pk_audit: rows logged by one multi-row statement are numbered in the order
# PostgreSQL scans them, which depends on when pages were pruned, i.e. on
# whatever else the cluster was doing: a property of the run, like the times.
masks=(-m modified_when -m orig_when -m audit_when -m pk_audit -m gm.schema_revision.imported)
hash() { sql "$1" -c "SELECT md5(gm.concat_table_structure())"; }
export GMDB_LOG_DIR=$work/logs
mkdir -p "$GMDB_LOG_DIR" && chmod 777 "$GMDB_LOG_DIR"

# --- upstream's fixup on one copy -------------------------------------------------
clone_db gmref_v22 gnumed_v22
PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" fixup_db-v22.conf "$work/upstream" >"$work/upstream.err" 2>&1
ok $? "upstream's fixup_db-v22.conf ran"
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO fx_upstream' >/dev/null

# --- gmdb's on the other ----------------------------------------------------------
clone_db gmref_v22 gnumed_v22
run gm-fixup_server -d gnumed_v22 --check
is "$rc" 0 "--check on the unfixed v22 database: ready"
like "$out" 'database "gnumed_v22": v22, schema hash bf45f01327fb5feb2f5d3c06ba4a6792' "--check names the database, version and hash"
run gm-fixup_server -d gnumed_v22 --list
is "$rc" 0 "--list"
is "$(printf '%s\n' "$out" | grep -c '\.sql$')" 9 "--list names the 9 SQL files of the v22-fixups bundle"
like "$out" 'v22-import-form-templates\.py' "and the data import scripts"

run gm-fixup_server -d gnumed_v22 --log-file "$work/gmdb.log"
is "$rc" 0 "gm-fixup_server ran"
like "$err" 'bundle "v22-fixups" \(9 files\) \.\.\. ok' "with a progress line per step"
like "$err" 'schema hash bf45f01327fb5feb2f5d3c06ba4a6792' "and says the result hash"
[ -s "$work/gmdb.log" ]; ok $? "the log file was written where --log-file said"
like "$(cat "$work/gmdb.log")" 'v22-ref-paperwork_templates-fixups.sql' "the log names the files run"
unlike "$err" '^(INFO|NOTICE|DETAIL): ' "the server's notices (REINDEX (VERBOSE)'s 1100 lines) stay off the terminal"
like "$(cat "$work/gmdb.log")" 'server: INFO: index .* was reindexed' "they go to the log"
# upstream's fingerprint of the result (its step 17), taken beside the hash:
# the same as gm-fingerprint_db's of the finished database (but its size)
fp_lines() { grep -E '^ *(Schema hash|Version \(PG\)|Encoding|LC_|Patients|Contacts|Episodes|Issues|Results|Vaccinations|Documents|Objects|Organiz|Most recent|Earliest)'; }
logged_fp=$(sed -n '/DEBUG   fixed-up fingerprint:$/,/^20[0-9][0-9]-/p' "$work/gmdb.log" | fp_lines)
like "$logged_fp" 'Schema hash: bf45f01327fb5feb2f5d3c06ba4a6792 \(v22' "the log has the fixed-up database's fingerprint with the v22 hash"
is "$logged_fp" "$(gm-fingerprint_db gnumed_v22 | fp_lines)" "the same as gm-fingerprint_db's of the fixed-up database"
sql postgres -c 'ALTER DATABASE gnumed_v22 RENAME TO fx_gmdb' >/dev/null

# --- the same result --------------------------------------------------------------
out=$(PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$work/compare" "${masks[@]}" fx_upstream fx_gmdb 2>&1)
ok $? "upstream's and gmdb's fixups leave the same database: schema, rows (run times masked), roles"
printf '%s\n' "$out" | sed 's/^/# /' | head -n 30

# --- a second run changes nothing that counts -------------------------------------
sql postgres -c 'ALTER DATABASE fx_gmdb RENAME TO gnumed_v22' >/dev/null
h1=$(hash gnumed_v22)
run gm-fixup_server -d gnumed_v22
is "$rc" 0 "a second run on the same database succeeds"
is "$(hash gnumed_v22)" "$h1" "and leaves the schema hash unchanged"
ls "$GMDB_LOG_DIR"/gm-fixup_server-*.log >/dev/null 2>&1
ok $? "without --log-file, a new log file in GMDB_LOG_DIR"

# --- python's compiled modules, kept for the next run -----------------------------
# (this machine may set PYTHONDONTWRITEBYTECODE: unset where a cache is meant)
pyc=$(mktemp -d /tmp/gmdb-pyc.XXXXXX)
[ "$(id -u)" != 0 ] || chown postgres: "$pyc"
pyrun() { # LOGNAME [ENV...]: a fixup of gnumed_v22, its log in $work/LOGNAME.log
	local log=$work/$1.log; shift
	run env -u PYTHONDONTWRITEBYTECODE GMDB_CACHE_DIR="$pyc/gmdb" "$@" gm-fixup_server -d gnumed_v22 -q --log-file "$log"
	pylog=$(grep 'python3: gmdb: ' "$log")
}
pyrun pyc1
is "$rc" 0 "a fixup with a cache directory for python's compiled modules"
like "$pylog" "bytecode cache $pyc/gmdb\$" "python3 keeps upstream's compiled modules there (the log says so)"
gmpg2=$(find "$pyc/gmdb" -name 'gmPG2.*.pyc' -path '*/pycommon/*')
[ -n "$gmpg2" ]; ok $? "gmPG2 is among them"
is "$(stat -c '%a %U' "$pyc/gmdb")" "700 $(stat -c %U "$pyc")" "in a directory of python's user alone (mode 700)"
m1=$(stat -c %Y.%s "$gmpg2")
sleep 1.1
pyrun pyc2
is "$rc" 0 "the next run"
is "$(stat -c %Y.%s "$gmpg2")" "$m1" "reads them and does not write them again"
chmod 750 "$pyc/gmdb"
pyrun pyc3
is "$rc" 0 "a cache directory others may read"
like "$pylog" "no bytecode cache: $pyc/gmdb is not this user's alone" "is not used, and the log says why"
rm -rf "$pyc/gmdb"
mkdir -m 700 "$pyc/other" && chown --reference="$pyc" "$pyc/other" && ln -s other "$pyc/gmdb"
pyrun pyc4
is "$rc" 0 "a cache directory that is a symlink"
like "$pylog" "no bytecode cache: $pyc/gmdb is a symlink" "is not used either"
rm -f "$pyc/gmdb"
chmod 777 "$pyc"
pyrun pyc5
is "$rc" 0 "a cache directory in a directory others may write to"
like "$pylog" "no bytecode cache: $pyc may be written to by others" "is not used"
[ ! -e "$pyc/gmdb" ]; ok $? "and not made"
chmod 700 "$pyc"
pyrun pyc6 PYTHONDONTWRITEBYTECODE=1
like "$pylog" "no bytecode cache: PYTHONDONTWRITEBYTECODE is set" "PYTHONDONTWRITEBYTECODE is obeyed"
pyrun pyc7 GMDB_CACHE_DIR=
like "$pylog" "no bytecode cache: no cache directory" "GMDB_CACHE_DIR set empty: no cache"
mkdir -m 700 "$pyc/env" && chown --reference="$pyc" "$pyc/env"
pyrun pyc8 GMDB_CACHE_DIR= PYTHONPYCACHEPREFIX="$pyc/env"
is "$rc" 0 "no cache, and a PYTHONPYCACHEPREFIX in the caller's environment"
is "$(find "$pyc/env" -mindepth 1 | head -n 1)" "" "that directory is not used either"
pyrun pyc9 GMDB_CACHE_DIR=cache/gmdb
like "$pylog" "no bytecode cache: cache/gmdb is not an absolute path" "a relative GMDB_CACHE_DIR: no cache"
mkdir -m 700 "$pyc/nobodys" && chown nobody "$pyc/nobodys"
pyrun pyc10 GMDB_CACHE_DIR="$pyc/nobodys"
like "$pylog" "no bytecode cache: $pyc/nobodys belongs to another user" "another user's directory: no cache"
rm -rf "$pyc"

# --- JSON -------------------------------------------------------------------------
run gm-fixup_server -d gnumed_v22 --json -q
is "$rc" 0 "--json run"
printf '%s' "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["result"] == "ok" and d["version"] == 22 and d["schema_hash"] == "bf45f01327fb5feb2f5d3c06ba4a6792"'
ok $? "--json prints a valid summary with result, version and hash"

# --- one run at a time ------------------------------------------------------------
fifo=$work/lockfifo
mkfifo "$fifo"
( echo "SELECT pg_advisory_lock(1735222370, hashtext('gnumed_v22'));"; echo "SELECT 'held';"; cat "$fifo" ) |
	psql -X -q -A -t -U postgres -d postgres >"$work/lock.out" 2>&1 &
lockpid=$!
for _ in $(seq 50); do grep -q held "$work/lock.out" 2>/dev/null && break; sleep 0.1; done
run gm-fixup_server -d gnumed_v22
is "$rc" 4 "a second run while another holds the lock exits 4"
like "$err" 'lock' "and says that another run holds it"
echo '\q' >"$fifo"
wait "$lockpid" 2>/dev/null
run gm-fixup_server -d gnumed_v22 --check
is "$rc" 0 "once the holder is gone, the lock is free again"

# --- discovery --------------------------------------------------------------------
run gm-fixup_server --check
is "$rc" 3 "no -d in a cluster with several v22 databases: exit 3"
like "$err" 'more than one v22 database' "ambiguity is named, not guessed"

# --- bad input ---------------------------------------------------------------------
run gm-fixup_server -d postgres --check
is "$rc" 3 "a database that is not GNUmed: exit 3"
like "$err" 'not a GNUmed database' "and said so"
run gm-fixup_server -d gmdb_no_such_db --check
is "$rc" 1 "a database that does not exist: exit 1"
run gm-fixup_server -d gnumed_v22 99
is "$rc" 2 "a version upstream has no fixup for: exit 2"
like "$err" 'no fixup for v99' "and said so"
run gm-fixup_server -d gnumed_v22 --upstream-dir "$work/nowhere"
is "$rc" 2 "an upstream tree that is not there: exit 2"

# a tree with one SQL file missing: found by --check, nothing changed
tree=$work/tree
mkdir -p "$tree" && cp -a "$GMDB_UPSTREAM_DIR/bootstrap" "$GMDB_UPSTREAM_DIR/sql" "$tree/"
ln -s "$GMDB_UPSTREAM_DIR/pycommon" "$tree/pycommon"
chmod -R a+rX "$tree"
mv "$tree/sql/v21-v22/fixups/v22-invoice_id_grants-fixup.sql" "$work/"
h1=$(hash gnumed_v22)
run gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" --check
is "$rc" 3 "a definition listing a missing SQL file: --check exits 3"
like "$err" 'v22-invoice_id_grants-fixup.sql' "naming the file"
run gm-fixup_server -d gnumed_v22 --upstream-dir "$tree"
is "$rc" 3 "a real run refuses it too, before changing anything"
is "$(hash gnumed_v22)" "$h1" "nothing changed"
mv "$work/v22-invoice_id_grants-fixup.sql" "$tree/sql/v21-v22/fixups/"

# the run ends with none of its sessions left on the server: a session of
# the run leaves a temporary table and waits until another session (the
# test's) holds a lock on it, so that the session's backend, which drops
# the table as it ends, waits for that lock (a backend ends a moment after
# its client closes the session, on a busy server not at once: this makes
# the moment as long as the test likes). The test lets go once the run has
# said its last line and is still there, waiting.
# lingering_run WHAT: such a run, WHAT's session lingering; its tests
lingering_run() {
	local what=$1 gpid n rc left locker=
	gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" >"$work/out" 2>"$work/err" 8>&- &
	gpid=$!
	owner= ns=
	linger_wait "$gpid" gnumed_v22
	if [ -n "$ns" ]; then
		linger_lock gnumed_v22 "$ns"
		locker=$!
	fi
	# until the run's last line, then a second for it to end
	for n in $(seq 1200); do
		kill -0 "$gpid" 2>/dev/null || break
		grep -q 'schema hash' "$work/err" && break
		sleep 0.05
	done
	for n in $(seq 10); do
		kill -0 "$gpid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$gpid" 2>/dev/null && linger_release
	wait "$gpid"
	rc=$?
	left=$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE pid = '${owner:-0}'")
	linger_release
	[ -n "$locker" ] && wait "$locker" 2>/dev/null
	[ -n "$owner" ] && [ -n "$ns" ]
	ok $? "($what made its temporary table: backend $owner)"
	is "$rc" 0 "a run whose backend of $what cannot end at once: exit 0"
	is "$left" 0 "and when it ends, none of its sessions is left (it waited for the backend)"
	like "$(cat "$work/err")" 'schema hash bf45f01327fb5feb2f5d3c06ba4a6792' "(the temporary table changed nothing else)"
}
last=$tree/sql/v21-v22/fixups/v22-release_notes-fixup.sql
cp -p "$last" "$work/last.sql"
linger_sql >>"$last"
lingering_run "the last file's owner session"
cp -p "$work/last.sql" "$last"
# the data import scripts' session: python3's own, which gmdb knows by
# what python3 says (the last script lingers once it has run)
script=$tree/sql/v21-v22/python/v22-17-fixup-form-templates.py
cp -p "$script" "$work/script.py"
linger_sql >"$work/linger.sql"
chmod a+r "$work/linger.sql"
cat >>"$script" <<EOF

# gmdb's tests (tests/gnumed/fixup.sh): the session lingers
_gmt_upstreams_run = run
def run(conn=None):
	result = _gmt_upstreams_run(conn=conn)
	create, linger = open('$work/linger.sql').read().split(';\n', 1)
	curs = conn.cursor()
	curs.execute(create)
	conn.commit()
	curs.execute(linger)
	conn.commit()
	return result
EOF
lingering_run "the data import scripts' session"
cp -p "$work/script.py" "$script"

# a file that fails: the run fails naming file, line, PostgreSQL's message
# a result without v22's hash: the run fails at the verification, and the
# fingerprint taken beside it ends with it (no session of its is left)
printf 'create table dem.gmdb_not_upstreams (x integer);\n' >>"$last"
run gm-fixup_server -d gnumed_v22 --upstream-dir "$tree" --log-file "$work/nohash.log"
is "$rc" 3 "a fixup whose result lacks v22's schema hash: exit 3"
like "$err" '"gnumed_v22" does not have the schema hash of v22' "and says so"
unlike "$(cat "$work/nohash.log")" 'fixed-up fingerprint:' "no fingerprint is logged for it"
is "$(sql postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gnumed_v22'")" 0 "no session is left on the database"
cp -p "$work/last.sql" "$last"
sql gnumed_v22 -c 'BEGIN READ WRITE; DROP TABLE dem.gmdb_not_upstreams; COMMIT' >/dev/null
is "$(hash gnumed_v22)" bf45f01327fb5feb2f5d3c06ba4a6792 "(the table dropped again: v22's hash)"

printf '\\set ON_ERROR_STOP 1\nselect 1;\nselect * from gmdb_no_such_table;\n' >>"$tree/sql/v21-v22/fixups/v22-dem-v_message_inbox-fixup.sql"
run gm-fixup_server -d gnumed_v22 --upstream-dir "$tree"
is "$rc" 1 "a fixup file failing under ON_ERROR_STOP: exit 1"
like "$err" 'v22-dem-v_message_inbox-fixup\.sql:[0-9]+: .*gmdb_no_such_table.* does not exist' "the error names file, line and PostgreSQL's message"
like "$err" '42P01' "and the SQLSTATE"
like "$err" 'log' "and the log file"

# python3 missing where data import scripts need it
run env GMDB_PYTHON=/nonexistent/python3 gm-fixup_server -d gnumed_v22 --check
is "$rc" 3 "no python3 for upstream's data import scripts: --check exits 3"
like "$err" 'python' "and says python3 (with psycopg2) is needed"

drop_db fx_upstream
drop_db gnumed_v22
done_testing
