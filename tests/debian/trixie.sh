#!/bin/bash
# The Debian package on Debian trixie (debhelper 13 and PostgreSQL 17 there),
# as root on any Debian machine: debootstraps a minimal trixie into a
# directory under /tmp, builds the binary package in it from a clean copy of
# HEAD (git archive) with trixie's debhelper, runs trixie's lintian on it,
# checks that its dependencies (libpq5, ...) resolve on trixie, installs it
# beside trixie's gnumed-server, checks the diversions, purges it and checks
# that gnumed-server has its gm-fixup_server back, untouched.
#
#   bash tests/debian/trixie.sh          (TAP on stdout)
#
# Needs debootstrap (installed if missing) and the network: the mirror is the
# host's Debian mirror (GMDB_TRIXIE_MIRROR overrides it). Downloaded packages
# are kept in /var/cache/gmdb-trixie (GMDB_TRIXIE_CACHE) for faster reruns.
# The chroot and its /proc mount are removed on any exit.
. "$(dirname "$0")/../lib/tap.sh"
set -u
export LC_ALL=C.UTF-8 LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
suite=trixie
start=$SECONDS
apt() { apt-get -q -y -o DPkg::Lock::Timeout=600 "$@" </dev/null; }

[ "$(id -u)" = 0 ] || bail "run as root: the test debootstraps and chroots"
command -v git >/dev/null || bail "git is missing: run tests/install-deps.sh"
if ! command -v debootstrap >/dev/null; then
	apt install debootstrap >/dev/null 2>&1 || bail "cannot install debootstrap"
fi

# The host's Debian mirror (deb822 or one-line sources), else deb.debian.org.
host_uri() { # $1: archive name (debian, debian-security)
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n -E "s,^[[:space:]]*URIs:[[:space:]]*(.*[^[:space:]]),\1,p
			s,^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]].*,\2,p" |
		tr ' ' '\n' | grep -E "^https?://[^[:space:]]*/$1/?\$" | sed 's,/$,,' | head -n 1
}
mirror=${GMDB_TRIXIE_MIRROR:-$(host_uri debian)}
mirror=${mirror:-http://deb.debian.org/debian}
security=$(host_uri debian-security)
security=${security:-${mirror%/debian}/debian-security}
cache=${GMDB_TRIXIE_CACHE:-/var/cache/gmdb-trixie}
mkdir -p "$cache/debootstrap" "$cache/apt" || bail "cannot create the cache $cache"

root=$(mktemp -d /tmp/gmdb-trixie.XXXXXX) || bail "mktemp failed"
chmod 755 "$root"   # mktemp's 0700 would lock _apt, exim, man... out of /
logs=$(mktemp -d /tmp/gmdb-trixie-logs.XXXXXX) || bail "mktemp failed"

# Everything mounted at or below the chroot, deepest first.
mounts_below() {
	awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r
}
# Keep what apt downloaded for the next run, passed or failed, unless
# interrupted (only what trixie still has: apt-get autoclean drops the rest).
apt_used='' interrupted='' bg=''
save_cache() {
	[ -n "$apt_used" ] && [ -z "$interrupted" ] && [ -d "$root/var/cache/apt/archives" ] || return 0
	apt_used=
	in_chroot apt-get -q -y autoclean >/dev/null 2>&1
	(
		flock -w 60 9 || exit 0
		cd "$root/var/cache/apt/archives" || exit 0
		for f in "$cache/apt/"*.deb; do
			[ -e "${f##*/}" ] || rm -f "$f"
		done
		for f in *.deb; do
			[ -e "$cache/apt/$f" ] || ln "$f" "$cache/apt/$f" 2>/dev/null || cp "$f" "$cache/apt/$f"
		done
	) 9>"$cache/lock"
	echo "# cache: $(du -sh "$cache" | cut -f1) in $cache"
}
chroot_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
	done
}
cleaned=
cleanup() {
	[ -n "$cleaned" ] && return 0
	cleaned=1
	case "$root" in /tmp/gmdb-trixie.?*) ;; *) return 0 ;; esac   # never "" or /
	local m i
	# debootstrap, if it is what runs (it unmounts what it mounted on TERM)
	if [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; then
		kill "$bg" 2>/dev/null
		for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$bg" 2>/dev/null || break; sleep 1; done
		kill -KILL "$bg" 2>/dev/null
	fi
	# processes left running inside the chroot (started by this test): TERM,
	# then KILL what is still there after 10 s
	for i in 1 2 3 4 5 6 7 8 9 10 11; do
		[ -n "$(chroot_pids)" ] || break
		# shellcheck disable=SC2046
		kill $([ "$i" = 11 ] && echo -KILL) $(chroot_pids) 2>/dev/null
		sleep 1
	done
	save_cache
	for m in $(mounts_below); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || echo "# cleanup: cannot unmount $m"
	done
	if [ -n "$(mounts_below)" ]; then
		echo "# cleanup: mounts left below $root, not removing it:"
		mounts_below | sed 's/^/#   /'
	else
		rm -rf --one-file-system "$root"
	fi
	rm -rf "$logs"
}
# the test's own stdout and stderr, for a trap that fires while they are
# redirected (inside run, say)
exec 3>&1 4>&2
finish() {
	trap '' INT TERM HUP   # timeout(1) signals twice: clean up all the same
	exec >&3 2>&4
	cleanup
	printf '# total run time: %d s\n' "$((SECONDS - start))"
}
trap finish EXIT
trap 'interrupted=1; echo "Bail out! interrupted by a signal" >&3; exit 1' INT TERM HUP

# A command inside the chroot, with a clean environment. In the background,
# waited for: bash runs the INT/TERM trap (and the cleanup) at once, instead
# of after the command, which may outlive timeout(1)'s grace period.
in_chroot() {
	chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LC_ALL=C.UTF-8 LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@" </dev/null &
	wait $!
}
capt() { in_chroot apt-get -q -y -o DPkg::Lock::Timeout=600 "$@"; }
# the same, as the unprivileged user that builds and lints, in /build
as_builder() { in_chroot runuser -u builder -- env HOME=/build sh -c "cd /build && $1"; }
cver() { in_chroot dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }
show_log() { tail -n "${2:-30}" "$1" | sed 's/^/# /'; }

# --- debootstrap -------------------------------------------------------------------
t0=$SECONDS
debootstrap --variant=minbase --cache-dir="$cache/debootstrap" "$suite" "$root" "$mirror" \
	>"$logs/debootstrap.log" 2>&1 </dev/null &
bg=$!
wait $bg
rc=$?
bg=
ok $rc "debootstrap --variant=minbase $suite from $mirror ($((SECONDS - t0)) s)"
[ "$rc" = 0 ] || { show_log "$logs/debootstrap.log"; bail "debootstrap $suite failed"; }
is "$(. "$root/etc/os-release"; echo "$VERSION_CODENAME")" "$suite" "the chroot is Debian $suite ($(cat "$root/etc/debian_version"))"

mount -t proc proc "$root/proc" || bail "cannot mount /proc in the chroot"
[ -s "$root/etc/resolv.conf" ] || cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# No service may start inside the chroot (postgresql comes with gnumed-server).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
# packages downloaded by earlier runs (apt checks them against the index)
( flock -w 60 9 && { cp -l "$cache/apt/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null ||
	cp "$cache/apt/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null; } ) 9>"$cache/lock"

apt_used=1
capt update >"$logs/update.log" 2>&1
rc=$?
ok $rc "apt-get update in the chroot ($suite, $suite-updates, $suite-security)"
[ "$rc" = 0 ] || { show_log "$logs/update.log"; bail "apt-get update failed in the chroot"; }

# --- build dependencies, build, lintian -----------------------------------------------
mkdir "$root/build" "$root/build/src"
git -C "$srcdir" archive HEAD | tar -x -C "$root/build/src" || bail "git archive HEAD failed"
version=$(dpkg-parsechangelog -l "$root/build/src/debian/changelog" -S Version)

t0=$SECONDS
in_chroot sh -c 'cd /build/src && apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends build-dep ./ &&
	apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install build-essential lintian' \
	>"$logs/deps.log" 2>&1
rc=$?
ok $rc "apt-get build-dep ./ (debian/control's Build-Depends) and lintian install in the chroot ($((SECONDS - t0)) s)"
[ "$rc" = 0 ] || { show_log "$logs/deps.log"; bail "cannot install the build dependencies on $suite"; }
grep -h '^Need to get' "$logs/deps.log" | sed 's/^/# build-dep: /'
dh_ver=$(cver debhelper)
like "$dh_ver" "^1[3-9]" "debhelper on $suite: $dh_ver (debhelper-compat 13)"
libpqdev_ver=$(cver libpq-dev)
like "$libpqdev_ver" "^17\." "libpq-dev on $suite: $libpqdev_ver (PostgreSQL 17)"

# Rules-Requires-Root: no, so build (and lint) as a user, as a maintainer would
in_chroot useradd --home-dir /build --no-create-home --shell /bin/sh builder || bail "useradd builder failed"
in_chroot chown -R builder: /build || bail "chown builder /build failed"
t0=$SECONDS
as_builder 'cd src && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b' >"$logs/build.log" 2>&1
rc=$?
ok $rc "dpkg-buildpackage -us -uc -b of gmdb $version on $suite, as a user, from git archive HEAD ($((SECONDS - t0)) s)"
[ "$rc" = 0 ] || { show_log "$logs/build.log" 40; bail "the package does not build on $suite"; }
# the build's warnings, but libtool's usual chatter about relinking
grep -E 'warning' "$logs/build.log" | grep -v '^libtool: warning' | sort -u | head -n 10 | sed 's/^/# build: /'
arch=$(in_chroot dpkg --print-architecture)
deb=$(cd "$root/build" && ls gmdb_*_"$arch".deb 2>/dev/null | head -n 1)
changes=$(cd "$root/build" && ls gmdb_*_"$arch".changes 2>/dev/null | head -n 1)
[ -n "$deb" ] && [ -n "$changes" ] || bail "no gmdb_*_$arch.deb or .changes in the build directory"

lintian_ver=$(in_chroot lintian --version)
run as_builder "lintian -I --pedantic $changes"
unlike "$out" "^[EW]: " "$lintian_ver (from $suite) -I --pedantic on $changes: no errors and no warnings"
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# lintian: /'
[ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/# lintian stderr: /'

# --- the built package's dependencies on trixie ----------------------------------
depends=$(dpkg-deb -f "$root/build/$deb" Depends)
echo "# Depends: $depends"
libpq_need=$(printf '%s\n' "$depends" | tr ',' '\n' | sed -n -E 's/^ *libpq5 \(>= ([^)]+)\).*/\1/p')
libpq_cand=$(in_chroot apt-cache policy libpq5 | sed -n 's/^ *Candidate: //p')
ok "$( [ -n "$libpq_need" ] && dpkg --compare-versions "$libpq_cand" ge "$libpq_need"; echo $?)" \
	"Depends: libpq5 (>= $libpq_need), $suite has libpq5 $libpq_cand"
run in_chroot sh -c "cd /build && apt-get -s -q -o DPkg::Lock::Timeout=600 install ./$deb gnumed-server"
is "$rc" 0 "apt-get -s install ./$deb gnumed-server: every dependency resolves on $suite"
[ "$rc" = 0 ] || printf '%s\n' "$out" "$err" | tail -n 20 | sed 's/^/# /'

# --- install beside gnumed-server ---------------------------------------------------
t0=$SECONDS
run in_chroot sh -c "cd /build && apt-get -q -y -o DPkg::Lock::Timeout=600 install ./$deb gnumed-server"
is "$rc" 0 "apt-get install ./$deb gnumed-server succeeds in the chroot ($((SECONDS - t0)) s)"
[ "$rc" = 0 ] || { printf '%s\n' "$out" "$err" | tail -n 30 | sed 's/^/# /'; bail "cannot install the package on $suite"; }
unlike "$out$err" "dpkg: error|Errors were encountered" "dpkg reports no error"
printf '%s\n' "$out" | grep '^Need to get' | sed 's/^/# install: /'
printf '%s\n' "$out" "$err" | grep 'gmdb:' | sed 's/^/# /'
gs_ver=$(cver gnumed-server)
pgc=$(in_chroot dpkg-query -W -f='${Package} ${Version}\n' 'postgresql-client-[0-9]*' 2>/dev/null | head -n 1)
libpq_ver=$(cver libpq5)
like "$gs_ver" "." "gnumed-server from $suite is installed: $gs_ver"
like "$pgc" "^postgresql-client-17 " "postgresql-client on $suite: $pgc, libpq5 $libpq_ver"
is "$(cver gmdb)" "$version" "gmdb $version is installed"

run in_chroot dpkg-divert --list
like "$out" "diversion of /usr/sbin/gm-fixup_server to /usr/sbin/gm-fixup_server\.gnumed-server by gmdb" \
	"dpkg-divert --list: /usr/sbin/gm-fixup_server is diverted by gmdb"
printf '%s\n' "$out" | grep 'by gmdb' | sed 's/^/# /'
ok "$(test -f "$root/usr/sbin/gm-fixup_server.gnumed-server"; echo $?)" \
	"gnumed-server's command is at /usr/sbin/gm-fixup_server.gnumed-server"
run in_chroot /usr/sbin/gm-fingerprint_db --version
is "$rc" 0 "/usr/sbin/gm-fingerprint_db --version exits 0"
like "$out" "gmdb.* ${version//./\\.}" "/usr/sbin/gm-fingerprint_db --version is gmdb's $version: $(printf '%s' "$out" | head -n 1)"

# --- purge ------------------------------------------------------------------------
run capt purge gmdb
is "$rc" 0 "apt-get purge gmdb succeeds"
[ "$rc" = 0 ] || printf '%s\n' "$out" "$err" | tail -n 20 | sed 's/^/# /'
run in_chroot dpkg-divert --list
unlike "$out" " by gmdb\$" "no diversion by gmdb is left"
run in_chroot dpkg -S /usr/sbin/gm-fixup_server
is "$out" "gnumed-server: /usr/sbin/gm-fixup_server" "dpkg -S: /usr/sbin/gm-fixup_server is gnumed-server's again"
ok "$(test ! -e "$root/usr/sbin/gm-fixup_server.gnumed-server"; echo $?)" "/usr/sbin/gm-fixup_server.gnumed-server is gone"
run in_chroot dpkg --verify gnumed-server
is "$rc:$out$err" "0:" "dpkg --verify gnumed-server is clean after the purge"
is "$(cver gnumed-server)" "$gs_ver" "gnumed-server $gs_ver is still installed"


# --- leave nothing behind -----------------------------------------------------------
cleanup
is "$(mount | grep -F "$root")" "" "no mount is left below $root"
ok "$(test ! -e "$root"; echo $?)" "the chroot $root is removed"
echo "# versions on $suite: debhelper $dh_ver, $lintian_ver, $pgc, libpq5 $libpq_ver, gnumed-server $gs_ver"

done_testing
