#!/bin/bash
# gm-upgrade_server's command line: help, version, bad options and arguments.
# Nothing here connects to a server: every run that gets past the command
# line is pointed at an upstream tree that does not exist.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

# a run that gets that far opens its log, and as root makes the backup
# directory: both go into the test directory
export GMDB_LOG_DIR="$GMDB_TESTDIR" GMDB_BACKUP_DIR="$GMDB_TESTDIR/backups"
none=/nonexistent/gmdb

run gm-upgrade_server --help
is "$rc" 0 "--help exits 0"
like "$out" "^Usage: gm-upgrade_server \[OPTION\.\.\.\] FROM TO" "--help shows the synopsis"
for o in --check --replace-target --no-backup --backup-dir --jobs --json --yes --upstream-dir --log-file \
	--host --port --username --no-password --password --verbose --quiet --version --help; do
	like "$out" "$o" "--help lists $o"
done

run gm-upgrade_server --version
is "$rc" 0 "--version exits 0"
like "$out" "^gm-upgrade_server \(gmdb\) [0-9]+\.[0-9]+" "--version names tool, package and version"

run gm-upgrade_server --no-such-option 21 22
is "$rc" 2 "an unknown option exits 2"
like "$err" "^gm-upgrade_server: error: --no-such-option: unknown option" "and says which option"
like "$err" 'hint: Try "gm-upgrade_server --help"' "and points at --help"

# the versions
run gm-upgrade_server
is "$rc" 2 "no version exits 2"
like "$err" 'two versions are needed' "and says two are needed"

run gm-upgrade_server 21
is "$rc" 2 "one version exits 2"
like "$err" 'two versions are needed' "and says two are needed"

run gm-upgrade_server 21 22 23
is "$rc" 2 "a third version exits 2"
like "$err" 'too many arguments \(first extra: "23"\)' "and names it"

run gm-upgrade_server 21 22 no-backup quiet extra
is "$rc" 2 "an extra argument after upstream's switches exits 2"
like "$err" 'too many arguments \(first extra: "extra"\)' "and names it"

run gm-upgrade_server abc 22
is "$rc" 2 "a FROM that is not a number exits 2"
like "$err" 'invalid version "abc"' "and names it"

run gm-upgrade_server 21 xyz
is "$rc" 2 "a TO that is not a number exits 2"
like "$err" 'invalid version "xyz"' "and names it"

run gm-upgrade_server 21 no-backup
is "$rc" 2 "no-backup in the place of TO exits 2"
like "$err" 'invalid version "no-backup"' "and is taken for a version"

run gm-upgrade_server 21 23
is "$rc" 2 "versions that are not consecutive exit 2"
like "$err" 'one version at a time: 21 22, not 21 23' "and says which upgrade there is"

run gm-upgrade_server 22 21
is "$rc" 2 "a downgrade exits 2"

run gm-upgrade_server 1 2
is "$rc" 2 "FROM 1 exits 2"
like "$err" 'invalid version "1"' "and names it"

# options that do not go together, and their values
run gm-upgrade_server --no-backup --backup-dir "$GMDB_TESTDIR" 21 22
is "$rc" 2 "--no-backup with --backup-dir exits 2"
like "$err" '--no-backup and --backup-dir exclude each other' "and says so"

run gm-upgrade_server --backup-dir "$GMDB_TESTDIR" 21 22 no-backup
is "$rc" 2 "upstream's no-backup with --backup-dir exits 2"
like "$err" '--no-backup and --backup-dir exclude each other' "and says so"

for level in -1 10 x; do
	run gm-upgrade_server --backup-compress="$level" 21 22
	is "$rc" 2 "--backup-compress=$level exits 2"
done
like "$err" "--backup-compress" "and names the option"
run gm-upgrade_server --backup-compress=10 21 22
like "$err" '--backup-compress takes a gzip level from 0 \(none\) to 9' "the range is said"
run gm-upgrade_server --no-backup --backup-compress=1 21 22
is "$rc" 2 "--no-backup with --backup-compress exits 2"
like "$err" '--no-backup and --backup-compress exclude each other' "and says so"

run gm-upgrade_server --quiet --verbose 21 22
is "$rc" 2 "--quiet with --verbose exits 2"

for n in -1 65; do
	run gm-upgrade_server --check --upstream-dir "$none" --jobs "$n" 21 22
	is "$rc" 2 "--jobs $n exits 2"
	like "$err" '--jobs must be between 1 and 64' "and says what --jobs takes"
done
run gm-upgrade_server --check --upstream-dir "$none" --jobs many 21 22
is "$rc" 2 "--jobs many exits 2"
like "$err" 'many: invalid numeric value' "and names the value"

# What comes after a valid command line: the definition, looked for before
# anything connects. Reaching that error shows the line was accepted.
nodef="upstream's tree has no upgrade from v21 to v22 \(no $none/bootstrap/update_db-v21_v22.conf\)"
for a in "21 22" "v21 v22" "21 22 no-backup" "21 22 quiet" "21 22 no-backup quiet" "21 22 quiet no-backup"; do
	# shellcheck disable=SC2086
	run gm-upgrade_server --check --upstream-dir "$none" $a
	is "$rc" 2 "\"$a\" is accepted; without upstream's definition it exits 2"
	like "$err" "$nodef" "and says which definition is missing"
done
for n in 0 1 64; do
	run gm-upgrade_server --check --upstream-dir "$none" --jobs "$n" 21 22
	like "$err" "$nodef" "--jobs $n is accepted"
done

run gm-upgrade_server --upstream-dir "$none" 21 22
is "$rc" 2 "an upgrade the upstream tree lacks exits 2, without --check too"
like "$err" "$nodef" "and says which definition is missing"

run env GMDB_UPSTREAM_DIR="$none" gm-upgrade_server --check 21 22
is "$rc" 2 "GMDB_UPSTREAM_DIR is where the definition is looked for"
like "$err" "$nodef" "and the error names it"

# the downtime procedure's options
run gm-upgrade_server --recover 21 22
is "$rc" 2 "--recover with versions exits 2"
like "$err" 'take no FROM TO' "and says they take none"
run gm-upgrade_server --recover --check
is "$rc" 2 "--recover with --check exits 2"
run gm-upgrade_server --retire 21 --downtime
is "$rc" 2 "--retire with --downtime exits 2"
like "$err" 'exclude each other' "and says they exclude each other"
run gm-upgrade_server --retire abc
is "$rc" 2 "--retire with a bad version exits 2"
like "$err" 'invalid version "abc"' "and names it"
run gm-upgrade_server --grace 5 21 22
is "$rc" 2 "--grace without --downtime exits 2"
like "$err" '--grace goes with --downtime' "and says so"
run gm-upgrade_server --downtime --grace 100000 21 22
is "$rc" 2 "--grace out of range exits 2"

# the backups' options
run gm-upgrade_server --list-backups 21 22
is "$rc" 2 "--list-backups with versions exits 2"
like "$err" '--list-backups and --prune-backups take no FROM TO' "and says they take none"
run gm-upgrade_server --list-backups --prune-backups 2
is "$rc" 2 "--list-backups with --prune-backups exits 2"
run gm-upgrade_server --list-backups --check
is "$rc" 2 "--list-backups with --check exits 2"
for n in 0 10001; do
	run gm-upgrade_server --prune-backups "$n"
	is "$rc" 2 "--prune-backups $n exits 2"
	like "$err" '--prune-backups keeps between 1 and 10000' "and says what it takes"
done
run gm-upgrade_server --list-backups --no-backup
is "$rc" 2 "--list-backups with --no-backup exits 2"
empty=$(mktemp -d "$GMDB_TESTDIR/backups.XXXXXX")
chmod 755 "$empty"  # root reads it as postgres
run gm-upgrade_server --list-backups --backup-dir "$empty"
is "$rc" 0 "--list-backups of an empty directory exits 0"
like "$err" "no backups in $empty" "and says there are none"
run gm-upgrade_server --list-backups --json --backup-dir "$empty"
is "$out" "$(printf '{\n  "backup_dir": "%s",\n  "backups": []\n}' "$empty")" "--json of an empty directory: no backups"
run gm-upgrade_server --list-backups --backup-dir "$empty/none"
is "$rc" 0 "--list-backups of a directory that does not exist exits 0"
run gm-upgrade_server --prune-backups 2 --backup-dir "$empty"
is "$rc" 0 "--prune-backups of an empty directory exits 0"
like "$err" "0 backup\(s\) removed, 0 kept" "and says it removed nothing"
rm -rf "$empty"
# --help shows the directories configure was given, not fixed ones
cfg() { sed -n "s/^#define $1 \"\(.*\)\"$/\1/p" "$GMDB_BUILDDIR/config.h"; }
run gm-upgrade_server --help
help=$(printf '%s' "$out" | tr -s ' \n' '  ')
for d in "GMDB_BACKUP_DIR, else $(cfg GM_STATE_DIR)/backups" "GMDB_UPSTREAM_DIR, else $(cfg GM_UPSTREAM_DIR)" \
	"GMDB_LOG_DIR, else $(cfg GM_LOG_DIR)"; do
	case "$help" in *"$d"*) ok 0 "--help shows the configured default: $d" ;; *) ok 1 "--help shows the configured default: $d" ;; esac
done
run gm-upgrade_server --downtime --json --upstream-dir "$none" 21 22
is "$rc" 2 "--downtime --json with a missing definition exits 2"
printf '%s' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["procedure"] == "upgrade" and d["result"] == "failed" and d["state"] == "nothing changed", d
assert d["exit_status"] == 2 and d["upgrade"] is None, d' 2>&1
ok $? "and still prints its JSON summary"

# the man page and the completion know every long option --help lists
run gm-upgrade_server --help
for o in $(printf '%s\n' "$out" | grep -o -- '--[a-z][a-z-]*' | sort -u | grep -v -- '--usage'); do
	grep -q -- "${o//-/\\\\-}" "$GMDB_SRCDIR/man/gm-upgrade_server.8"
	ok $? "the man page documents $o"
	[ "$o" = --help ] || { grep -q -- "$o" "$GMDB_SRCDIR/completion/gm-upgrade_server"; ok $? "the completion offers $o"; }
done
done_testing
