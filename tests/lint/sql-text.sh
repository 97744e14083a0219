#!/bin/bash
# No string value reaches SQL through printf-style formatting in lib/: SQL
# text from values is built by gm_sqlf() only (its conversions quote), and
# gm_sqlf()'s templates hold no %s. tests/lint/sql-text.pl finds the
# literals; this checks that it finds what it must, then runs it on lib/.
. "$(dirname "$0")/../lib/tap.sh"
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
lint="$src/tests/lint/sql-text.pl"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bad() { # NAME C-TEXT: the lint must flag it
	printf '%s\n' "$2" >"$tmp/t.c"
	perl "$lint" "$tmp/t.c" >/dev/null
	is "$?" 1 "flags $1"
}
good() { # NAME C-TEXT: the lint must leave it alone
	printf '%s\n' "$2" >"$tmp/t.c"
	out=$(perl "$lint" "$tmp/t.c")
	is "$?:$out" "0:" "leaves alone $1"
}
bad "a DROP INDEX built with %s" 'q = gm_xasprintf("DROP INDEX IF EXISTS %s.%s CASCADE", a, b);'
bad "a literal split over lines" 'q = gm_xasprintf("select gm.transfer_users("
	"'"'"'%s'"'"'::text)", db);'
bad "a statement after a comment line" 'gm_buf_addf(&b, "\n-- idempotent:\ncreate index idx_%s on x(y);", n);'
bad "%.*s and %-10s" 'snprintf(q, n, "ALTER DATABASE %.*s SET x TO %-10s", 3, a, b);'
bad "set session authorization %s" 'q = gm_xasprintf("set session authorization %s", lit);'
good "gm_sqlf's %I and %L" 'q = gm_sqlf(c, "DROP DATABASE %I; select %L", a, b);'
good "a message that mentions SQL" 'gm_log(GM_LOG_NOTICE, "dropping the existing target \"%s\"", db);'
good "integers only" 'q = gm_xasprintf("SELECT md5(gm.concat_table_structure(%d::integer))", v);'
good "commented-out code" '/* q = gm_xasprintf("DROP DATABASE %s", a); */'

files=$(ls "$src"/lib/*.c | grep -v '/sql-embedded\.c$')
# shellcheck disable=SC2086
out=$(perl "$lint" $files)
is "$?:$out" "0:" "lib/ builds no SQL text from a string with printf-style formatting"
done_testing
