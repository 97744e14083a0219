#!/bin/bash
# gmdb's SQL runner splits every file exactly as upstream's own runner does:
# all SQL files Debian's gnumed-server ships, plus hand-made files with each
# quirk of spec 3.4, are fed to upstream's gmPsql (with a recording stand-in
# for the database) and to gmdb's splitter; the statement streams must be
# identical, byte for byte.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

[ -d "$GMDB_UPSTREAM_DIR/sql" ] || bail "upstream's SQL tree is missing: apt-get install gnumed-server"
py=${GMDB_PYTHON:-/usr/bin/python3}
work=$GMDB_TESTDIR/runner-corpus
rm -rf "$work" && mkdir -p "$work/cases"

find "$GMDB_UPSTREAM_DIR/sql" -name '*.sql' | LC_ALL=C sort >"$work/files"
n=$(wc -l <"$work/files")
[ "$n" -gt 500 ]; ok $? "upstream ships $n SQL files"

"$GMDB_BUILDDIR/tests/helpers/sql-split" $(cat "$work/files") >"$work/gmdb.out"
"$py" "$GMDB_SRCDIR/tests/gnumed/upstream-split.py" "$GMDB_UPSTREAM_DIR" $(cat "$work/files") >"$work/upstream.out" 2>"$work/upstream.err"
ok $? "upstream's runner read them all"
cmp -s "$work/gmdb.out" "$work/upstream.out"
ok $? "every statement of every shipped file is the same as upstream's ($(grep -c '^-- statement$' "$work/gmdb.out") statements)"
[ -s "$work/gmdb.out" ] && ! cmp -s "$work/gmdb.out" "$work/upstream.out" && diff "$work/gmdb.out" "$work/upstream.out" | head -n 20 | sed 's/^/# /'

# the de_DE translations file desynchronises (spec 3.5): same batches
f=$(grep 'v21-gm-db-translations-de_DE.sql$' "$work/files" | head -n 1)
if [ -n "$f" ]; then
	c=$("$GMDB_BUILDDIR/tests/helpers/sql-split" "$f" | grep -c '^-- statement$')
	[ "$c" -lt 300 ]; ok $? "the E'\\'' desync of v21-gm-db-translations-de_DE.sql is reproduced ($c statements)"
fi

# hand-made quirks
c=$work/cases
printf 'select 1;\nselect 2' >"$c/unterminated.sql"
printf "select 'a\n\n  \nb';\nselect 2;\n" >"$c/blank-in-literal.sql"
printf "select E'it\\\\'s'; select 2;\nselect ''';\nselect 3;\n" >"$c/estring.sql"
printf 'create function f() returns int as $$ select 1; $$ language sql;\n' >"$c/dollar.sql"
printf 'select "a;b"; /* c; d */ select 1;\n' >"$c/quotes.sql"
printf 'select 1);\nselect 2;\n' >"$c/negative-depth.sql"
printf '\\set ON_ERROR_STOP 1\nselect 1;\n\\unset ON_ERROR_STOP\n\\set ON_ERROR_STOP\n \\echo x;\n\\i y.sql\n' >"$c/meta.sql"
printf '\\set ON_ERROR_STOP on\nselect 1;\n' >"$c/stop-not-integer.sql"
printf '\\set ON_ERROR_STOP 1_0\nselect 1;\n\\set ON_ERROR_STOP +0\n' >"$c/stop-python-integers.sql"
printf "select 'a\n\\\\set X 1\nb';\n" >"$c/set-in-literal.sql"
printf 'select 1;\r\nselect 2;\rselect 3;\r\n' >"$c/crlf.sql"
printf 'select a--x\n, b;\nselect 1-' >"$c/comment-merge.sql"
printf 'select 1;\n\xff\n' >"$c/not-utf8.sql"
printf 'select 1;\xc2\xa0\n\xe2\x80\x83\nselect \xc3\xa9;\n' >"$c/unicode-space.sql"
printf '/* only a comment */;\nselect 1;\n' >"$c/empty-query.sql"
: >"$c/empty.sql"
"$GMDB_BUILDDIR/tests/helpers/sql-split" "$c"/*.sql >"$work/cases-gmdb.out"
"$py" "$GMDB_SRCDIR/tests/gnumed/upstream-split.py" "$GMDB_UPSTREAM_DIR" "$c"/*.sql >"$work/cases-upstream.out" 2>/dev/null
cmp -s "$work/cases-gmdb.out" "$work/cases-upstream.out"
ok $? "the hand-made quirk files split the same ($(ls "$c" | wc -l) files)"
cmp -s "$work/cases-gmdb.out" "$work/cases-upstream.out" || diff "$work/cases-gmdb.out" "$work/cases-upstream.out" | head -n 20 | sed 's/^/# /'
grep -A1 'stop-not-integer.sql' "$work/cases-gmdb.out" | grep -q '!! fail'
ok $? "a non-integer ON_ERROR_STOP fails, as it makes upstream's runner die"

done_testing
