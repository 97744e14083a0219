#!/bin/bash
# gmdb's definition reader (conf.c) reads every definition exactly as
# upstream's own parser does: parse_INI_stream of 22.x's pycommon/gmCfg2.py
# (Debian's gnumed-server) and of the development tree's
# pycommon/gmCfgINI.py (master 8a85b32, the future v23: the same parser
# under a new name, its lists now carrying "--" comment lines), on all of
# each tree's bootstrap/*.conf and on hand-made files with each quirk.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

[ -d "$GMDB_UPSTREAM_DIR/bootstrap" ] || bail "upstream's tree is missing: apt-get install gnumed-server"
py=${GMDB_PYTHON:-/usr/bin/python3}
work=$GMDB_TESTDIR/conf-corpus
rm -rf "$work" && mkdir -p "$work/cases"
need_upstream_master "$work/upstream-master"
dump() { "$GMDB_BUILDDIR/tests/helpers/conf-dump" "$@"; }
upstream() { local tree=$1; shift; "$py" "$GMDB_SRCDIR/tests/gnumed/upstream-conf.py" "$tree" "$@"; }

# same NAME TREE FILE...: conf.c and TREE's parser agree on every file
same() {
	local name=$1 tree=$2; shift 2
	dump "$@" >"$work/$name-gmdb.out"
	upstream "$tree" "$@" >"$work/$name-upstream.out" 2>"$work/$name-upstream.err"
	ok $? "$name: upstream's parser read them all ($# files)"
	cmp -s "$work/$name-gmdb.out" "$work/$name-upstream.out"
	ok $? "$name: every option of every file is upstream's ($(grep -c '^[^=!]' "$work/$name-gmdb.out") lines)"
	cmp -s "$work/$name-gmdb.out" "$work/$name-upstream.out" ||
		diff "$work/$name-gmdb.out" "$work/$name-upstream.out" | head -n 20 | sed 's/^/# /'
}

same "22.x" "$GMDB_UPSTREAM_DIR" "$GMDB_UPSTREAM_DIR"/bootstrap/*.conf
same "master" "$GMDB_UPSTREAM_MASTER_DIR" "$GMDB_UPSTREAM_MASTER_DIR"/bootstrap/*.conf
grep -q '^database gnumed_v23::upgrade plausibility checks \[\] --' "$work/master-gmdb.out"
ok $? "master: the plausibility list keeps its \"--\" comment lines as items (its engine skips them)"

c=$work/cases
printf '[a]\nx = 1 # comment\ny: 2\nz=\n' >"$c/values.conf"
printf '[a]\nl = $l$\n-- a comment\n# not a comment in a list\n\n  spaced  \n$l$\n' >"$c/list.conf"
printf '[a]\nx = 1\nx = 2\n[a]\ny = 3\n' >"$c/duplicates.conf"
printf 'x = 1\n[ a ]\n; noise\n#noise\nx = 1\r\n' >"$c/noise.conf"
printf '[a]\nl = $l$\nitem\n' >"$c/unclosed.conf"
printf '[a\nx = 1\n' >"$c/bad-group.conf"
printf '[a]\nnoseparator\n' >"$c/no-separator.conf"
printf '[]\n' >"$c/empty-group.conf"
printf '[a]\nx = $x$ # c\n$x$\n' >"$c/list-comment.conf"
for tree in "$GMDB_UPSTREAM_DIR" "$GMDB_UPSTREAM_MASTER_DIR"; do
	dump "$c"/*.conf >"$work/cases-gmdb.out"
	upstream "$tree" "$c"/*.conf >"$work/cases-upstream.out" 2>/dev/null
	cmp -s "$work/cases-gmdb.out" "$work/cases-upstream.out"
	ok $? "the quirk files read the same as with $tree's parser ($(ls "$c" | wc -l) files)"
	cmp -s "$work/cases-gmdb.out" "$work/cases-upstream.out" ||
		diff "$work/cases-gmdb.out" "$work/cases-upstream.out" | head -n 20 | sed 's/^/# /'
done
rm -rf "$work"
done_testing
