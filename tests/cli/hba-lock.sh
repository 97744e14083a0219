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

# lock and unlock work over the local socket only: a TCP/IP host is a usage
# error before anything connects (port 1: nothing listens there)
for h in "-h 127.0.0.1 -p 1" "-h localhost -p 1"; do
	# shellcheck disable=SC2086
	run gm-hba-lock lock $h
	is "$rc" 2 "lock $h exits 2, as the man page says"
	like "$err" 'remote access can be locked only over the server.s local socket, not over TCP/IP' "and says why"
	unlike "$err" 'could not connect' "without trying to connect"
done
run env PGHOST=127.0.0.1 PGPORT=1 gm-hba-lock lock
is "$rc" 2 "lock with PGHOST=127.0.0.1 exits 2"
grep -q 'a TCP/IP' "$GMDB_SRCDIR/man/gm-hba-lock.8"
ok $? "the man page says so under EXIT STATUS"

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

# The man page and the completion know every option --help lists, and the
# completion offers the commands and each command's options.
bash -n "$GMDB_SRCDIR/completion/gm-hba-lock"
ok $? "the bash completion parses"
man_text=$(sed 's/\\-/-/g' "$GMDB_SRCDIR/man/gm-hba-lock.8")
for opt in $(gm-hba-lock --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	[ "$opt" = --usage ] && continue  # popt's own
	like "$man_text" "(^|[^a-z-])$opt([^a-z-]|$)" "the man page documents $opt"
	like "$(cat "$GMDB_SRCDIR/completion/gm-hba-lock")" "(^|[^a-z-])$opt([^a-z-]|$)" "the completion offers $opt"
done
for cmd in lock unlock status; do
	like "$man_text" "^\.B $cmd$" "the man page documents the command $cmd"
done
for sect in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
	like "$man_text" "^\.SH \"?$sect\"?$" "the man page has $sect"
done
if [ -f /usr/share/bash-completion/bash_completion ]; then
	complete_words() {
		bash -c '. /usr/share/bash-completion/bash_completion
			. "$0/completion/gm-hba-lock"
			shift 0
			COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_gm_hba_lock; echo "${COMPREPLY[*]}"' "$GMDB_SRCDIR" "$@"
	}
	is "$(complete_words gm-hba-lock "")" "lock unlock status" "completion: the commands"
	is "$(complete_words gm-hba-lock un)" "unlock" "completion: a command's start"
	is "$(complete_words gm-hba-lock lock "")" "" "completion: nothing after the command"
	like "$(complete_words gm-hba-lock lock --)" "--terminate --grace$" "completion: lock's options"
	unlike "$(complete_words gm-hba-lock lock --)" "--force|--json" "completion: not the other commands' options"
	is "$(complete_words gm-hba-lock unlock --f)" "--force" "completion: unlock --force"
	is "$(complete_words gm-hba-lock status --j)" "--json" "completion: status --json"
else
	for i in $(seq 7); do echo "ok $((tap_n += 1)) # SKIP bash-completion is not installed"; done
fi
done_testing
