#!/bin/bash
# gm-banner's command line: help, version, bad options, commands and
# arguments. Nothing here may reach a server: PGHOST points nowhere, so a
# connection attempt would exit 1, not 2.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
export PGHOST=/nonexistent-gmdb-socket-dir PGPORT=1

run gm-banner --help
is "$rc" 0 "--help exits 0"
like "$out" "^Usage: gm-banner \[OPTION\.\.\.\] DATABASE show\|set TEXT\|clear\|notice \[FROM TO\]\|unnotice" \
	"--help shows the synopsis with every command"
like "$out" "--json" "--help lists --json"
like "$out" "--fixup=N" "--help lists --fixup"
like "$out" "--replaced-by=DB" "--help lists --replaced-by"
like "$out" "Connection options:" "--help has the connection options"
is "$err" "" "--help prints nothing on stderr"

run gm-banner -?
is "$rc" 0 "-? exits 0"

run gm-banner --version
is "$rc" 0 "--version exits 0"
like "$out" "^gm-banner \(gmdb\) [0-9]+\.[0-9]+" "--version names tool, package and version"

run gm-banner --no-such-option db show
is "$rc" 2 "an unknown option exits 2"
like "$err" "^gm-banner: error: --no-such-option: unknown option" "and says which option"
like "$err" "hint: Try \"gm-banner --help\"" "and hints at --help"
is "$out" "" "and prints nothing on stdout"

run gm-banner
is "$rc" 2 "no arguments exit 2"
like "$err" "^gm-banner: error: no database name given$" "and say no database was given"

run gm-banner ""
is "$rc" 2 "an empty database name exits 2"

run gm-banner db
is "$rc" 2 "no command exits 2"
like "$err" "error: no command given \(show, set, clear, notice, unnotice, announce or unannounce\)" "and lists the commands"

run gm-banner db frobnicate
is "$rc" 2 "an unknown command exits 2"
like "$err" "error: unknown command \"frobnicate\"" "and names it"
like "$err" "hint: Try \"gm-banner --help\"" "with the --help hint"

run gm-banner show db
is "$rc" 2 "the command before the database exits 2"
like "$err" "unknown command \"db\"" "(the database comes first)"

for cmd in show clear unnotice; do
	run gm-banner db $cmd extra
	is "$rc" 2 "$cmd with an argument exits 2"
	like "$err" "too many arguments \(first extra: \"extra\"\)" "$cmd: names the extra argument"
done

run gm-banner db set
is "$rc" 2 "set without a text exits 2"
like "$err" "set: no text given \(use \"-\" to read it from standard input\)" "and says how to give one"

run gm-banner db set one two
is "$rc" 2 "set with two texts exits 2"
like "$err" "first extra: \"two\"" "and names the second"

for text in "" " " "   " "$(printf ' \t\n')" "$(printf '\xc2\xa0\xe3\x80\x80')"; do
	run gm-banner db set "$text"
	is "$rc" 2 "set [$(printf '%s' "$text" | od -An -tx1 | tr -d ' \n')] (blank) exits 2 before connecting"
	like "$err" "error: the banner text is empty or only white space" "and says the text is blank"
done
like "$err" "detail: The table cfg.db_logon_banner refuses a text that is empty or only spaces, and GNUmed clients show no banner for one that is only white space\." "the detail names the table's rule and the clients'"
like "$err" "hint: Use \"clear\" to remove the banner" "the hint points at clear"

out=$(printf '  \n\n' | gm-banner db set - 2>&1); rc=$?
is "$rc" 2 "set - with blank standard input exits 2"
like "$out" "the banner text is empty or only white space" "and says so"
out=$(gm-banner db set - </dev/null 2>&1); rc=$?
is "$rc" 2 "set - with empty standard input exits 2"
out=$(printf 'a\0b' | gm-banner db set - 2>&1); rc=$?
is "$rc" 2 "set - with a NUL byte exits 2"
like "$out" "the banner text contains a NUL byte" "and says so"

# a good text gets as far as connecting (exit 1): the checks above were real
run gm-banner db set "Welcome"
is "$rc" 1 "a good text is taken: the tool goes on to connect (and fails: exit 1)"
like "$err" "could not connect to database \"db\"" "the connection is what failed"
out=$(printf -- '-starts with a dash\n' | gm-banner db set - 2>&1); rc=$?
is "$rc" 1 "set - reads a text starting with a dash (and goes on to connect)"
run gm-banner db set -- "-dash"
is "$rc" 1 "set -- -TEXT takes a text starting with a dash"

run gm-banner db notice
is "$rc" 2 "notice without anything exits 2"
like "$err" "notice: give FROM TO, --fixup N or --replaced-by DB" "and says what it needs"
run gm-banner db notice 21
is "$rc" 2 "notice with FROM only exits 2"
run gm-banner db notice 21 22 23
is "$rc" 2 "notice with three versions exits 2"
like "$err" "first extra: \"23\"" "and names the third"
for pair in "22 22" "22 21"; do
	run gm-banner db notice $pair
	is "$rc" 2 "notice $pair exits 2"
	like "$err" "an upgrade goes to a higher version" "notice $pair: says why"
done
for bad in x -1 v 2.1 10000 ""; do
	run gm-banner db notice -- "$bad" 22
	is "$rc" 2 "notice [$bad] 22 exits 2"
	like "$err" "is not a version number" "notice [$bad] 22: says why"
done
run gm-banner db notice 21 v22x
is "$rc" 2 "notice 21 v22x exits 2"
run gm-banner db notice v21 v22
is "$rc" 1 "notice v21 v22 is taken (goes on to connect)"
run gm-banner db notice 21 22
is "$rc" 1 "notice 21 22 is taken (goes on to connect)"

run gm-banner db notice --fixup 22 21 22
is "$rc" 2 "--fixup with FROM TO exits 2"
like "$err" "FROM TO and --fixup exclude each other" "and says so"
run gm-banner db notice --fixup 22 --replaced-by gnumed_v22
is "$rc" 2 "--fixup with --replaced-by exits 2"
like "$err" "--fixup and --replaced-by exclude each other" "and says so"
run gm-banner db notice --fixup x
is "$rc" 2 "--fixup x exits 2"
like "$err" "--fixup: \"x\" is not a version number" "and says why"
run gm-banner db notice --fixup
is "$rc" 2 "--fixup without a value exits 2"
run gm-banner db notice --fixup v22
is "$rc" 1 "--fixup v22 is taken (goes on to connect)"
run gm-banner db notice --replaced-by ""
is "$rc" 2 "--replaced-by \"\" exits 2"
like "$err" "no name given for the database that replaced this one" "and says why"
run gm-banner db notice --replaced-by "$(printf 'a\nb')"
is "$rc" 2 "--replaced-by with a newline in the name exits 2"
like "$err" "contains a control character" "and says why"
run gm-banner db notice --replaced-by gnumed_v22
is "$rc" 1 "--replaced-by gnumed_v22 is taken (goes on to connect)"

for cmd in "set x" clear "notice 21 22" unnotice; do
	run gm-banner --json db $cmd
	is "$rc" 2 "--json with $cmd exits 2"
	like "$err" "--json goes with \"show\" only" "--json with $cmd: says so"
done
for cmd in show "set x" clear unnotice; do
	run gm-banner --fixup 22 db $cmd
	is "$rc" 2 "--fixup with $cmd exits 2"
	like "$err" "--fixup goes with \"notice\" only" "--fixup with $cmd: says so"
done
run gm-banner --replaced-by x db show
is "$rc" 2 "--replaced-by with show exits 2"

run gm-banner -q -v db show
is "$rc" 2 "--quiet with --verbose exits 2"

run gm-banner db show
is "$rc" 1 "a server that cannot be reached: exit 1"
like "$err" "^gm-banner: error: could not connect to database \"db\": " "the message says so"
is "$(printf '%s\n' "$err" | wc -l)" 1 "in one line"
# the man page and the completion know every option --help lists
bash -n "$GMDB_SRCDIR/completion/gm-banner"
ok $? "the bash completion parses"
man_text=$(sed 's/\\-/-/g' "$GMDB_SRCDIR/man/gm-banner.8")
for opt in $(gm-banner --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	[ "$opt" = --usage ] && continue  # popt's own
	like "$man_text" "(^|[^a-z-])$opt([^a-z-]|$)" "the man page documents $opt"
	like "$(cat "$GMDB_SRCDIR/completion/gm-banner")" "(^|[^a-z-])$opt([^a-z-]|$)" "the completion offers $opt"
done
for cmd in show set clear notice unnotice; do
	like "$man_text" "^\.(B|TP|BI) $cmd( |$)" "the man page documents the command $cmd"
done
done_testing
