#!/bin/bash
# gm-hba-lock's command line: help, version, bad options, commands and
# combinations. Nothing here reaches a server.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
export GMDB_STATE_DIR=$GMDB_TESTDIR/cli-hba-state
rm -rf "$GMDB_STATE_DIR"

run gm-hba-lock --help
is "$rc" 0 "--help exits 0"
like "$out" "^Usage: gm-hba-lock \[OPTION\.\.\.\] lock\|unlock\|status" "--help shows the synopsis"
like "$out" "--terminate" "--help lists --terminate"
like "$out" "--grace=SECONDS" "--help lists --grace"
like "$out" "-f, --force" "--help lists --force"
like "$out" "-j, --json" "--help lists --json"
like "$out" "Connection options:" "--help has the connection options"
like "$out" "Common options:" "--help has the common options"

run gm-hba-lock -?
is "$rc" 0 "-? exits 0"
like "$out" "^Usage:" "-? shows the usage"

run gm-hba-lock --version
is "$rc" 0 "--version exits 0"
like "$out" "^gm-hba-lock \(gmdb\) [0-9]+\.[0-9]+" "--version names tool, package and version"

run gm-hba-lock --no-such-option lock
is "$rc" 2 "an unknown option exits 2"
like "$err" "^gm-hba-lock: error: --no-such-option: unknown option" "and says which option"
like "$err" "hint: Try \"gm-hba-lock --help\"" "and hints at --help"
is "$out" "" "and prints nothing on stdout"

run gm-hba-lock
is "$rc" 2 "no command exits 2"
like "$err" "error: no command given \(lock, unlock or status\)" "and says which commands there are"

for bad in locked LOCK open ""; do
	run gm-hba-lock "$bad"
	is "$rc" 2 "command \"$bad\" exits 2"
	like "$err" "error: unknown command \"$bad\" \(lock, unlock or status\)" "command \"$bad\" is named"
done

run gm-hba-lock lock unlock
is "$rc" 2 "two commands exit 2"
like "$err" "too many arguments \(first extra: \"unlock\"\)" "and the extra one is named"

for bad in abc -1 1.5 86401; do
	run gm-hba-lock --terminate --grace "$bad" lock
	is "$rc" 2 "--grace $bad exits 2"
	like "$err" "invalid --grace \"$bad\"" "--grace $bad is explained"
done
run gm-hba-lock --grace 5 lock
is "$rc" 2 "--grace without --terminate exits 2"
like "$err" "--grace needs --terminate" "and says so"
run gm-hba-lock --terminate unlock
is "$rc" 2 "--terminate with unlock exits 2"
like "$err" "--terminate goes with lock only" "and says so"
run gm-hba-lock --force lock
is "$rc" 2 "--force with lock exits 2"
like "$err" "--force goes with unlock only" "and says so"
run gm-hba-lock --json lock
is "$rc" 2 "--json with lock exits 2"
like "$err" "--json goes with status only" "and says so"
run gm-hba-lock -q -v status
is "$rc" 2 "--quiet with --verbose exits 2"
run gm-hba-lock --grace
is "$rc" 2 "--grace without a value exits 2"

# Usage errors come before anything is touched: no state directory made.
[ ! -e "$GMDB_STATE_DIR" ]
ok $? "usage errors create no state directory"

# Only root and the postgres OS user may run it, whatever the command.
if [ "$(id -u)" = 0 ]; then
	for cmd in lock unlock status; do
		run runuser -u nobody -- env GMDB_STATE_DIR="$GMDB_STATE_DIR" "$GMDB_BUILDDIR/tools/gm-hba-lock" "$cmd"
		is "$rc" 1 "$cmd as nobody exits 1"
		like "$err" "^gm-hba-lock: error: gm-hba-lock must run as root or as the OS user \"postgres\"" \
			"$cmd as nobody is refused clearly"
		like "$err" "detail: It runs as \"nobody\"" "$cmd as nobody: the detail names the user"
	done
	[ ! -e "$GMDB_STATE_DIR" ]
	ok $? "a refused user creates no state directory"
else
	for i in $(seq 10); do echo "ok $((tap_n += 1)) # SKIP not root (CI runs as root)"; done
fi
done_testing
