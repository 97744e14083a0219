#!/bin/bash
# The Debian package, end to end, as root on a Debian machine with Debian's
# gnumed-server installed: builds the source and binary packages from a
# clean copy of HEAD (git archive), runs lintian on both, installs gmdb
# beside gnumed-server, checks the diversions, reinstalls gmdb, fires the
# trigger by reinstalling gnumed-server,
# purges gmdb and checks that gnumed-server has its own commands back and
# that nothing of gmdb's is left. Leaves the machine as it found it: gmdb
# purged, gnumed-server installed (reinstalled if need be).
#
#   bash tests/debian/package.sh          (TAP on stdout)
#
# Needs: dpkg-dev, debhelper, lintian, fakeroot, git, and the build
# dependencies in debian/control (tests/install-deps.sh installs them all).
. "$(dirname "$0")/../lib/tap.sh"
set -u
export LC_ALL=C.UTF-8 LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
apt() { apt-get -q -y -o DPkg::Lock::Timeout=600 "$@" </dev/null; }

[ "$(id -u)" = 0 ] || bail "run as root: the test installs and purges the package"
dpkg-query -W -f='${db:Status-Status}' gnumed-server 2>/dev/null | grep -qx installed ||
	bail "Debian's gnumed-server must be installed (apt-get install gnumed-server)"
case "$(dpkg-query -W -f='${db:Status-Status}' gmdb 2>/dev/null)" in
""|not-installed) ;;
*) bail "gmdb is installed already: this test would purge it; purge it first (apt-get purge gmdb)" ;;
esac
for p in dpkg-buildpackage lintian git fakeroot dh; do
	command -v $p >/dev/null || bail "$p is missing: run tests/install-deps.sh"
done

tmp=$(mktemp -d /tmp/gmdb-package.XXXXXX)
made_backups=
# gnumed-server's files as dpkg sees them, now: compared after the purge.
verify_before=$(dpkg --verify gnumed-server 2>&1)
cleanup() {
	case "$(dpkg-query -W -f='${db:Status-Status}' gmdb 2>/dev/null)" in
	""|not-installed) ;;
	*) apt purge gmdb >/dev/null 2>&1 || echo "# cleanup: could not purge gmdb" ;;
	esac
	if [ "$(dpkg --verify gnumed-server 2>&1)" != "$verify_before" ] ||
		! dpkg-query -W -f='${db:Status-Status}' gnumed-server | grep -qx installed; then
		apt install --reinstall gnumed-server >/dev/null 2>&1 || echo "# cleanup: could not reinstall gnumed-server"
	fi
	if [ -n "$made_backups" ]; then
		rm -rf /var/lib/gmdb/backups
		rmdir /var/lib/gmdb 2>/dev/null || true
	fi
	if [ -n "${started_cluster:-}" ] && [ -n "${cluster:-}" ]; then
		"$srcdir/tests/lib/pgcluster.sh" stop "$cluster" || echo "# cleanup: could not stop $cluster"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- build from a clean copy of HEAD -------------------------------------------
mkdir "$tmp/src"
git -C "$srcdir" archive HEAD | tar -x -C "$tmp/src" || bail "git archive HEAD failed"
(cd "$tmp/src" && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc) >"$tmp/build.log" 2>&1
rc=$?
ok $rc "dpkg-buildpackage -us -uc builds source and binary packages from git archive HEAD"
[ "$rc" = 0 ] || { tail -n 40 "$tmp/build.log" | sed 's/^/# /'; bail "the package does not build"; }
deb=$(ls "$tmp"/gmdb_*.deb)
changes=$(ls "$tmp"/gmdb_*_"$(dpkg --print-architecture)".changes)

# --- lintian ----------------------------------------------------------------------
run lintian -I --pedantic "$changes"
unlike "$out" "^[EW]: " "lintian -I --pedantic: no errors and no warnings"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'

# --- install beside gnumed-server --------------------------------------------
tools=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed -n 's|^\./usr/sbin/||p' | grep .)
pages=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed -n 's|^\./usr/share/man/man8/\(.*\)\.8\.gz$|\1|p')
like "$tools" "gm-fingerprint_db" "the package ships gm-fingerprint_db in /usr/sbin"

run apt install "$deb"
is "$rc" 0 "apt-get install ./gmdb_*.deb succeeds"
[ "$rc" = 0 ] || { printf '%s\n' "$out" "$err" | tail -n 20 | sed 's/^/# /'; bail "cannot install the package"; }

# gnumed-server's md5sum of one of its files
gs_md5() { awk -v f="${1#/}" '$2 == f {print $1}' /var/lib/dpkg/info/gnumed-server.md5sums; }

check_diversions() { # $1: when
	local t want orig
	for t in $tools; do
		is "$(dpkg-divert --listpackage "/usr/sbin/$t")" gmdb "$1: /usr/sbin/$t is diverted by gmdb"
		is "$(dpkg-divert --truename "/usr/sbin/$t")" "/usr/sbin/$t.gnumed-server" "$1: to /usr/sbin/$t.gnumed-server"
		want=$(gs_md5 "/usr/sbin/$t")
		if [ -n "$want" ]; then
			orig=$(md5sum <"/usr/sbin/$t.gnumed-server" 2>/dev/null | cut -d' ' -f1)
			is "$orig" "$want" "$1: gnumed-server's $t is intact at $t.gnumed-server"
			unlike "$(md5sum </usr/sbin/"$t" | cut -d' ' -f1)" "^$want\$" "$1: /usr/sbin/$t is not gnumed-server's"
		fi
	done
	for t in $pages; do
		is "$(dpkg-divert --truename "/usr/share/man/man8/$t.8.gz")" "/usr/share/man/man8/$t.gnumed-server.8.gz" \
			"$1: man page $t.8.gz is diverted to $t.gnumed-server.8.gz"
		want=$(gs_md5 "/usr/share/man/man8/$t.8.gz")
		[ -n "$want" ] && is "$(md5sum <"/usr/share/man/man8/$t.gnumed-server.8.gz" 2>/dev/null | cut -d' ' -f1)" "$want" \
			"$1: gnumed-server's man page $t is intact"
	done
}
check_diversions "installed"

version=$(dpkg-parsechangelog -l "$tmp/src/debian/changelog" -S Version)
run /usr/sbin/gm-fingerprint_db --version
is "$rc" 0 "gm-fingerprint_db --version exits 0"
like "$out" "gmdb.* ${version//./\\.}" "gm-fingerprint_db --version is gmdb's $version"
ok "$(test -f /etc/gmdb/gmdb.conf && grep -qx 'auto_fixup=no' /etc/gmdb/gmdb.conf; echo $?)" \
	"the conffile /etc/gmdb/gmdb.conf is installed, auto_fixup=no"
ok "$(test -f /usr/lib/*/gmdb/libgmdb.so && ! ls /usr/lib/*/gmdb/*.la >/dev/null 2>&1; echo $?)" \
	"the private libgmdb is in pkglibdir, without a .la file"
run ldd /usr/sbin/gm-fingerprint_db
like "$out" "libgmdb.so => /usr/lib/[^/]*/gmdb/libgmdb.so" "gm-fingerprint_db finds libgmdb by its RUNPATH"
for t in gm-banner gm-fixup_server gm-hba-lock gm-upgrade_server; do
	run "/usr/sbin/$t" --version
	like "$out" "gmdb.* ${version//./\\.}" "$t --version is gmdb's $version"
done

# --- the installed tools on a real GNUmed database --------------------------------
# The test suite's throw-away cluster and its reference databases (made by
# upstream's bootstrapper; built here if make check has not built them).
cluster=${GMDB_TEST_CLUSTER:-$srcdir/tests/tmp/cluster}
[ -f "$cluster/data/postmaster.pid" ] || started_cluster=1
(
	. "$srcdir/tests/lib/common.sh"
	need_reference >&2 && clone_db gmref_v22 gmdb_pkg_v22 >&2 &&
		"$srcdir/tests/lib/pgcluster.sh" env "$GMDB_CLUSTER"
) >"$tmp/cluster.env" 2>"$tmp/cluster.err"
ok $? "a real v22 database (a copy of upstream's) in the test suite's cluster"
eval "$(tail -n 1 "$tmp/cluster.env")"
export PGHOST PGPORT
unset PGUSER
run /usr/sbin/gm-fingerprint_db --expect-version 22 gmdb_pkg_v22
is "$rc" 0 "the installed gm-fingerprint_db: the database has the known v22 hash"
run /usr/sbin/gm-fixup_server --check -d gmdb_pkg_v22
is "$rc" 0 "the installed gm-fixup_server --check: ready to apply upstream's v22 fixup"
like "$out" 'ready: gm-fixup_server would apply it now' "and says so"
psql -X -q -U postgres -d postgres -c 'DROP DATABASE IF EXISTS gmdb_pkg_v22' >/dev/null 2>&1

# --- the autopkgtest, with a real GNUmed database ----------------------------------
# debian/tests/installed-tools as autopkgtest's null runner runs it (from the
# source tree, as root, AUTOPKGTEST_TMP set), on upstream's v22 restored from
# the reference dumps (GMDB_CARRY_DIR, else made here from the same cluster)
carry=${GMDB_CARRY_DIR:-}
if [ -z "$carry" ]; then
	carry=$tmp/carry
	GMDB_TEST_CLUSTER=$cluster bash "$srcdir/tests/debian/carry-reference.sh" "$carry" >"$tmp/carry.log" 2>&1
	ok $? "the reference databases dumped for the autopkgtest"
fi
mkdir -p "$tmp/autopkgtest" && chmod 755 "$tmp" "$tmp/autopkgtest"
(cd "$tmp/src" && env -u PGHOST -u PGPORT AUTOPKGTEST_TMP="$tmp/autopkgtest" GMDB_TEST_REFERENCE="$carry" debian/tests/installed-tools) \
	>"$tmp/autopkgtest.log" 2>&1
rc=$?
is "$rc" 0 "debian/tests/installed-tools (the autopkgtest) with upstream's v22 restored from the reference dumps"
grep -E '^(ok|# )' "$tmp/autopkgtest.log" | sed 's/^/# autopkgtest: /'
[ "$rc" = 0 ] && grep -q 'gm-fixup_server -d gnumed_v22 applies' "$tmp/autopkgtest.log"
ok $? "the autopkgtest fixed up the real v22 database with the installed gm-fixup_server"
[ "$rc" = 0 ] || tail -n 30 "$tmp/autopkgtest.log" | sed 's/^/# /'

# --- the trigger: reinstall gnumed-server ------------------------------------
run apt install --reinstall gnumed-server
is "$rc" 0 "apt-get install --reinstall gnumed-server succeeds with gmdb installed"
like "$out" "Processing triggers for gmdb" "it fires gmdb's trigger"
like "$out$err" "gmdb: (warning: )?gnumed-server's SQL changed|gmdb: warning: " "the trigger reports its outcome in one gmdb: line"
printf '%s\n' "$out" "$err" | grep 'gmdb:' | sed 's/^/# /'
unlike "$out$err" "dpkg: error|Errors were encountered" "dpkg reports no error"
check_diversions "after reinstalling gnumed-server"

# --- an upgrade in place: preinst upgrade, postrm upgrade, postinst configure --
run apt install --reinstall "$deb"
is "$rc" 0 "apt-get install --reinstall ./gmdb_*.deb succeeds"
check_diversions "after reinstalling gmdb"

# --- purge ------------------------------------------------------------------------
gmdb_files=$(dpkg -L gmdb)
diverted=$(LC_ALL=C dpkg-divert --list | awk '$NF == "gmdb" {print $5}')
# a backup of gmdb's, a log of gmdb's and a log of somebody else's
if [ ! -e /var/lib/gmdb/backups ]; then
	made_backups=1
	mkdir -p /var/lib/gmdb/backups && echo test >/var/lib/gmdb/backups/gnumed_v22-test.backup
fi
mkdir -p /var/log/gnumed/server
gmdb_log=/var/log/gnumed/server/gm-fingerprint_db-2000-01-01_00-00-00.log
other_log=/var/log/gnumed/server/gm-test-not-gmdb-$$.log
: >"$gmdb_log"; : >"$other_log"

# python's compiled modules, kept in the postgres user's cache (GMDB_CACHE_DIR)
pghome=$(getent passwd postgres | cut -d: -f6)
runuser -u postgres -- mkdir -p "$pghome/.cache/gmdb/var"

run apt purge gmdb
is "$rc" 0 "apt-get purge gmdb succeeds"
[ ! -e "$pghome/.cache/gmdb" ]; ok $? "the postgres user's cache of compiled modules ($pghome/.cache/gmdb) is gone"
is "$(LC_ALL=C dpkg-divert --list | awk '$NF == "gmdb"')" "" "no diversion by gmdb is left"
for f in $diverted; do
	ok "$(test ! -e "$f"; echo $?)" "$f is gone"
done
is "$(dpkg --verify gnumed-server 2>&1)" "$verify_before" "dpkg --verify gnumed-server: as before the test"
for t in $tools; do
	want=$(gs_md5 "/usr/sbin/$t")
	[ -n "$want" ] || continue
	is "$(md5sum <"/usr/sbin/$t" 2>/dev/null | cut -d' ' -f1)" "$want" "/usr/sbin/$t is gnumed-server's again"
	is "$(dpkg -S "/usr/sbin/$t" 2>/dev/null)" "gnumed-server: /usr/sbin/$t" "dpkg -S: /usr/sbin/$t belongs to gnumed-server"
done
left=
while read -r f; do
	[ -d "$f" ] && continue   # shared directories (/usr/sbin, ...) stay
	if [ -e "$f" ] || [ -L "$f" ]; then
		# a path of gnumed-server's that gmdb had diverted is back: fine
		dpkg -S "$f" >/dev/null 2>&1 || left="$left $f"
	fi
done <<<"$gmdb_files"
is "$left" "" "no file of gmdb's is left after the purge"
leftdirs=
while read -r f; do
	[ -d "$f" ] && [ "$f" != /. ] || continue
	dpkg -S "$f" >/dev/null 2>&1 || leftdirs="$leftdirs $f"
done <<<"$gmdb_files"
is "$leftdirs" "" "no directory of gmdb's alone is left"
ok "$(test ! -e /etc/gmdb; echo $?)" "/etc/gmdb is gone"
ok "$(test ! -e "$gmdb_log"; echo $?)" "gmdb's log in /var/log/gnumed/server is deleted"
ok "$(test -e "$other_log"; echo $?)" "another log in /var/log/gnumed/server is kept"
rm -f "$other_log"
ok "$(test -d /var/log/gnumed/server; echo $?)" "/var/log/gnumed/server, gnumed-server's too, stays"
if [ -n "$made_backups" ]; then
	ok "$(test -f /var/lib/gmdb/backups/gnumed_v22-test.backup; echo $?)" "a backup in /var/lib/gmdb/backups survives the purge"
	is "$(ls -A /var/lib/gmdb)" "backups" "of /var/lib/gmdb only the backups are left"
fi
is "$(dpkg-query -W -f='${db:Status-Status}' gnumed-server)" installed "gnumed-server is still installed"

done_testing
