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

# the runner of upstream's development tree (master 8a85b32, the future
# v23): every SQL file of that tree, the quirk files above and master's own
# quirks, against master's gmPsql.run_script
need_upstream_master "$work/upstream-master"
mdir=$GMDB_UPSTREAM_MASTER_DIR
find "$mdir/sql" -name '*.sql' | LC_ALL=C sort >"$work/mfiles"
"$GMDB_BUILDDIR/tests/helpers/sql-split" -m $(cat "$work/mfiles") >"$work/m-gmdb.out"
"$py" "$GMDB_SRCDIR/tests/gnumed/upstream-split.py" "$mdir" $(cat "$work/mfiles") >"$work/m-upstream.out" 2>"$work/m-upstream.err"
ok $? "master's runner read them all ($(wc -l <"$work/mfiles") files)"
cmp -s "$work/m-gmdb.out" "$work/m-upstream.out"
ok $? "master: every statement of every file of the tree is the same as master's runner's ($(grep -c '^-- statement$' "$work/m-gmdb.out") statements)"
cmp -s "$work/m-gmdb.out" "$work/m-upstream.out" || diff "$work/m-gmdb.out" "$work/m-upstream.out" | head -n 20 | sed 's/^/# /'
grep -A1 'au/pbs_drugs_import.sql$' "$work/m-gmdb.out" | grep -q '!! fail'
ok $? "master: a \\copy line fails the file, as it makes master's runner fail"
m=$work/mcases
mkdir -p "$m"
printf '\xef\xbb\xbfselect 1;\nselect 2;\n' >"$m/bom.sql"
printf 'select 1;\n\xef\xbb\xbfselect 2;\n' >"$m/bom-later.sql"
printf 'set default_transaction_read_only to off;\nselect 1;\n  set\tdefault_transaction_read_only  to  on;\nSET default_transaction_read_only to off;\nset default_transaction_read_only = off;\nset default_transaction_read_only to  o\n;\n' >"$m/read-only.sql"
printf "select 'a\nset default_transaction_read_only to off;\nb';\n" >"$m/read-only-in-literal.sql"
printf '\\set ON_ERROR_STOP 1\n \\unset ON_ERROR_STOP\n\\set ON_ERROR_STOP\n\t\\set  ON_ERROR_STOP on\nselect 1;\n' >"$m/stop.sql"
printf "select 'a\n\\\\set X 1\nb';\nselect 1\n\\\\\n;\n \\\\echo hi;\n" >"$m/backslash-text.sql"
printf 'select 1;\n\\\\echo hi\nselect 2;\n' >"$m/meta-fails.sql"
printf 'select 1;\n\\\\set X 1\nselect 2;\n' >"$m/set-other-fails.sql"
"$GMDB_BUILDDIR/tests/helpers/sql-split" -m "$c"/*.sql "$m"/*.sql >"$work/mcases-gmdb.out"
"$py" "$GMDB_SRCDIR/tests/gnumed/upstream-split.py" "$mdir" "$c"/*.sql "$m"/*.sql >"$work/mcases-upstream.out" 2>/dev/null
cmp -s "$work/mcases-gmdb.out" "$work/mcases-upstream.out"
ok $? "master: the quirk files split the same ($(ls "$c" "$m" | grep -c '\.sql$') files)"
cmp -s "$work/mcases-gmdb.out" "$work/mcases-upstream.out" || diff "$work/mcases-gmdb.out" "$work/mcases-upstream.out" | head -n 20 | sed 's/^/# /'
grep -A1 'meta-fails.sql$' "$work/mcases-gmdb.out" | grep -q '!! fail'
ok $? "master: a meta-command outside a literal fails the file"
grep -A2 'bom.sql$' "$work/mcases-gmdb.out" | grep -qx 'select 1'
ok $? "master: the byte order mark is not sent"

done_testing
