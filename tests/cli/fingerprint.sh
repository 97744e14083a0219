#!/bin/bash
# gm-fingerprint_db's command line: help, version, bad options and arguments.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

run gm-fingerprint_db --help
is "$rc" 0 "--help exits 0"
like "$out" "^Usage: gm-fingerprint_db \[OPTION\.\.\.\] DATABASE \[PASSWORD\]" "--help shows the synopsis"
like "$out" "--expect-version=N" "--help lists --expect-version"
like "$out" "Connection options:" "--help has the connection options"
like "$out" "-U, --username=USERNAME" "--help lists -U"

run gm-fingerprint_db -?
is "$rc" 0 "-? exits 0"
like "$out" "^Usage:" "-? shows the usage"

run gm-fingerprint_db --version
is "$rc" 0 "--version exits 0"
like "$out" "^gm-fingerprint_db \(gmdb\) [0-9]+\.[0-9]+" "--version names tool, package and version"

run gm-fingerprint_db --no-such-option gnumed_v22
is "$rc" 2 "an unknown option exits 2"
like "$err" "^gm-fingerprint_db: error: --no-such-option: unknown option" "and says which option"
like "$err" "hint: Try \"gm-fingerprint_db --help\"" "and hints at --help"
is "$out" "" "and prints nothing on stdout"

run gm-fingerprint_db
is "$rc" 2 "no database exits 2"
like "$err" "error: no database name given" "and says so"

run gm-fingerprint_db a b c
is "$rc" 2 "three arguments exit 2"
like "$err" "too many arguments \(first extra: \"c\"\)" "and names the first extra one"

for bad in abc -1 1 23 99999; do
	run gm-fingerprint_db --expect-version "$bad" gnumed_v22
	is "$rc" 2 "--expect-version $bad exits 2"
	like "$err" "no known schema hash for version" "--expect-version $bad is explained"
done

run gm-fingerprint_db -q -v gnumed_v22
is "$rc" 2 "--quiet with --verbose exits 2"

run gm-fingerprint_db --expect-version
is "$rc" 2 "--expect-version without a value exits 2"
done_testing
