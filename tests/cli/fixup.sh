#!/bin/bash
# gm-fixup_server's command line: help, version, bad options and arguments.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

run gm-fixup_server --help
is "$rc" 0 "--help exits 0"
like "$out" "^Usage: gm-fixup_server \[OPTION\.\.\.\] \[VERSION\]" "--help shows the synopsis"
for o in --database --check --list --json --jobs --upstream-dir --log-file --username --quiet; do
	like "$out" "$o" "--help lists $o"
done

run gm-fixup_server --version
is "$rc" 0 "--version exits 0"
like "$out" "^gm-fixup_server \(gmdb\) [0-9]+\.[0-9]+" "--version names tool, package and version"

run gm-fixup_server --no-such-option
is "$rc" 2 "an unknown option exits 2"
like "$err" "^gm-fixup_server: error: --no-such-option: unknown option" "and says which option"

run gm-fixup_server 22 23
is "$rc" 2 "an extra argument exits 2"
like "$err" 'too many arguments' "and says so"

run gm-fixup_server --recover 22
is "$rc" 2 "--recover with a version exits 2"
like "$err" '--recover takes no database or version' "and says so"
run gm-fixup_server --downtime --check
is "$rc" 2 "--downtime with --check exits 2"
run gm-fixup_server --keep-snapshot 22
is "$rc" 2 "--keep-snapshot without --downtime exits 2"
like "$err" 'go with --downtime' "and says so"

run gm-fixup_server abc
is "$rc" 2 "a version that is not a number exits 2"
like "$err" 'invalid version "abc"' "and names it"

run gm-fixup_server 1
is "$rc" 2 "version 1 exits 2"

run gm-fixup_server --check --list
is "$rc" 2 "--check with --list exits 2"

run gm-fixup_server --upstream-dir /nonexistent/gmdb --check 22
is "$rc" 2 "an upstream tree that does not exist exits 2"
like "$err" 'no upstream tree at "/nonexistent/gmdb"' "and names it"

# --downtime --json: a JSON summary, also when the run ends before the procedure starts
export GMDB_LOG_DIR=$GMDB_TESTDIR
run gm-fixup_server --downtime --json --upstream-dir /nonexistent/gmdb 22
is "$rc" 2 "--downtime --json is no usage error; a missing upstream tree exits 2"
printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["procedure"] == "fixup" and d["result"] == "failed" and d["state"] == "nothing changed", d
assert d["exit_status"] == 2 and "/nonexistent/gmdb" in d["error"] and d["fixup"] is None, d' 2>&1
ok $? "and prints a JSON summary of the procedure that did not start"
run gm-fixup_server --recover --json
is "$rc" 2 "--recover with --json exits 2"
like "$err" '--recover excludes --check, --list and --json' "and says so"

run gm-fixup_server --jobs 65
is "$rc" 2 "--jobs out of range exits 2"
like "$err" '--jobs must be between 1 and 64' "and says so"

# gmdb(7) has the list of steps this man page points to
grep -q 'THE STEPS in' "$GMDB_SRCDIR/man/gm-fixup_server.8" && grep -q '^\.SH THE STEPS' "$GMDB_SRCDIR/man/gmdb.7"
ok $? "gm-fixup_server(8) points to the steps in gmdb(7), which lists them"

# the man page and the completion know every long option --help lists
run gm-fixup_server --help
for o in $(printf '%s\n' "$out" | grep -o -- '--[a-z][a-z-]*' | sort -u | grep -v -- '--usage'); do
	grep -q -- "${o//-/\\\\-}" "$GMDB_SRCDIR/man/gm-fixup_server.8"
	ok $? "the man page documents $o"
	[ "$o" = --help ] || { grep -q -- "$o" "$GMDB_SRCDIR/completion/gm-fixup_server"; ok $? "the completion offers $o"; }
done
done_testing
