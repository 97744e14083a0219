#!/bin/bash
# gmdb on another Debian release, in a chroot debootstrapped from the host's
# Debian mirror: the package, and the real-database layer on that release's
# own PostgreSQL.
#
#   bash tests/debian/release.sh SUITE [CARRYDIR]    (TAP on stdout; as root)
#
# SUITE is trixie (PostgreSQL 17) or forky (PostgreSQL 18; sid works too).
# In a minimal SUITE chroot:
#   - the package: built from a clean copy of HEAD (git archive) with the
#     release's debhelper, as a user; on forky (sid) the release's lintian on
#     it (no error, no warning); its dependencies resolve; installed beside the release's
#     gnumed-server, the diversions checked; debian/tests/installed-tools
#     (the autopkgtest, run as autopkgtest's null runner would) with a real
#     GNUmed database, upstream's v22 carried from PostgreSQL 15; purged,
#     gnumed-server's commands back and dpkg --verify clean;
#   - the real-database layer on the release's PostgreSQL: the reference
#     databases of PostgreSQL 15 (CARRYDIR, made by
#     tests/debian/carry-reference.sh; made here if not given) restored into
#     a cluster of the release's server, then, in the package's build tree,
#     make check of tests/gnumed/carried.sh (fingerprint of v2 ... v22,
#     upgrade 21 22 with and without a backup, the v22 fixup, each result
#     compared with upstream's of PostgreSQL 15 carried the same way),
#     tests/gnumed/downtime.sh (the downtime procedure: on trixie all but
#     its kill -9 loop, on forky the loop at three of its eleven steps; the
#     host's run on PostgreSQL 15 is the loop at every step), tests/pg/hba-lock.sh,
#     tests/pg/conn-learn.sh (the sessions' switches where no maintenance
#     database can be reached) and tests/cli/*.sh
#     (with bash-completion and mount installed: nothing skipped). Both
#     sides of every comparison run the same step definitions: the host's
#     gnumed-server tree, copied into the chroot (GMDB_UPSTREAM_DIR).
#
# The chroot shares the host's network: its clusters take the first free
# port from 5560 (trixie) or 5570 (forky), and 5580 for trixie's
# pg_upgradecluster test (GMDB_CHROOT_PORT, GMDB_CHROOT_PORT15 override).
# On trixie, also: pg_upgradecluster 15 17 with gmdb's hook (bookworm's
# postgresql-15 installed beside 17, as on a machine upgraded from bookworm).
#
# Needs debootstrap (installed if missing) and the network: the mirror is the
# host's Debian mirror (GMDB_MIRROR overrides it). Downloaded packages are
# kept in /var/cache/gmdb-ci/SUITE (GMDB_CI_CACHE overrides /var/cache/gmdb-ci)
# for faster reruns: an optimisation, never a requirement. The chroot and its
# mounts are removed on any exit.
. "$(dirname "$0")/../lib/tap.sh"
set -u
export LC_ALL=C.UTF-8 LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
GMDB_UPSTREAM_DIR_HOST=${GMDB_UPSTREAM_DIR:-/var/lib/gnumed/server}
suite=${1:-}
carry=${2:-}
start=$SECONDS
case "$suite" in
trixie) want_pg=17 port_base=5560 lint= ;;
forky|sid) want_pg=18 port_base=5570 lint=lintian ;;
*) echo "usage: release.sh trixie|forky|sid [CARRYDIR]" >&2; exit 2 ;;
esac
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
mirror=${GMDB_MIRROR:-$(host_uri debian)}
mirror=${mirror:-http://deb.debian.org/debian}
security=$(host_uri debian-security)
security=${security:-${mirror%/debian}/debian-security}
cache=${GMDB_CI_CACHE:-/var/cache/gmdb-ci}/$suite
mkdir -p "$cache/debootstrap" "$cache/apt" || bail "cannot create the cache $cache"

root=$(mktemp -d /tmp/gmch.XXXXXX) || bail "mktemp failed"
chmod 755 "$root"   # mktemp's 0700 would lock _apt, exim, man... out of /
logs=$(mktemp -d /tmp/gmch-logs.XXXXXX) || bail "mktemp failed"

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
	case "$root" in /tmp/gmch.?*) ;; *) return 0 ;; esac   # never "" or /
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
	[ -n "${own_carry:-}" ] && rm -rf "$carry"
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
# cpu_mark STEPS: the CPU time this test's cgroup spent since the last mark
# (GMDB_TEST_CPUACCT, tests/lib/cpuacct.sh), named after what ran since:
# which step of a release costs CI its time
cpu_prev=0
cpu_mark() {
	local ns
	[ -n "${tap_cg:-}" ] && ns=$(cat "$tap_cg/cpuacct.usage" 2>/dev/null) || return 0
	printf '# cpu of %s: %d s\n' "$1" $(((ns - cpu_prev) / 1000000000))
	cpu_prev=$ns
}

# --- the reference databases of PostgreSQL 15, as dumps --------------------------
own_carry=
if [ -z "$carry" ]; then
	carry=$(mktemp -d /tmp/gmcarry-own.XXXXXX) || bail "mktemp failed"
	own_carry=1
	t0=$SECONDS
	bash "$srcdir/tests/debian/carry-reference.sh" "$carry" >"$logs/carry.log" 2>&1
	rc=$?
	ok $rc "the reference databases of PostgreSQL 15 dumped to carry ($((SECONDS - t0)) s)"
	[ "$rc" = 0 ] || { show_log "$logs/carry.log"; bail "cannot dump the reference databases"; }
fi
# wait_carry: the reference dumps, once CARRYDIR has them (tests/run.sh
# makes them while this runs; it writes CARRYDIR/failed if it cannot):
# GMDB_CARRY_WAIT seconds at most
wait_carry() {
	local waited=0 limit=${GMDB_CARRY_WAIT:-0}
	while [ ! -f "$carry/done" ] && [ ! -f "$carry/failed" ] && [ "$waited" -lt "$limit" ]; do
		sleep 5
		waited=$((waited + 5))
	done
	[ "$waited" -gt 0 ] && echo "# waited $waited s for the reference dumps"
	[ -f "$carry/done" ] || bail "$carry holds no complete set of reference dumps (tests/debian/carry-reference.sh)"
}

# --- debootstrap -------------------------------------------------------------------
t0=$SECONDS
# bookworm's debootstrap has no script for forky yet: testing is made as sid is
script=/usr/share/debootstrap/scripts/$suite
[ -e "$script" ] || script=/usr/share/debootstrap/scripts/sid
debootstrap --variant=minbase --cache-dir="$cache/debootstrap" "$suite" "$root" "$mirror" "$script" \
	>"$logs/debootstrap.log" 2>&1 </dev/null &
bg=$!
wait $bg
rc=$?
bg=
ok $rc "debootstrap --variant=minbase $suite from $mirror ($((SECONDS - t0)) s)"
cpu_mark "the start and debootstrap"
[ "$rc" = 0 ] || { show_log "$logs/debootstrap.log"; bail "debootstrap $suite failed"; }
is "$(. "$root/etc/os-release"; echo "$VERSION_CODENAME")" "$suite" "the chroot is Debian $suite ($(cat "$root/etc/debian_version"))"

# the chroot's / a mount point of its own: unshare -m (tests/pg/hba-lock.sh)
# makes / private in the new namespace, which needs a mount point
mount --bind "$root" "$root" || bail "cannot bind-mount the chroot onto itself"
mount -t proc proc "$root/proc" || bail "cannot mount /proc in the chroot"
[ -s "$root/etc/resolv.conf" ] || cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# No service may start inside the chroot (postgresql comes with gnumed-server).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# What this chroot does without, none of it under test, each a cost on a
# slow machine: dpkg's fsync of every file it unpacks, man-db's index
# rebuilt after every install, the translated package descriptions, and the
# main cluster that postgresql's postinst would make (the tests make their
# own clusters, and the pg_upgradecluster test its 15/main).
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/99gmdb-ci-unsafe-io"
echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/99gmdb-ci-no-translations"
mkdir -p "$root/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.d/99gmdb-ci.conf"
echo 'man-db man-db/auto-update boolean false' >"$root/tmp/gmdb-ci.debconf"
in_chroot debconf-set-selections /tmp/gmdb-ci.debconf || bail "debconf-set-selections failed in the chroot"
if [ "$suite" = sid ]; then
	echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"
else
	cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
fi
# The mirror may be a snapshot older than a testing release's Release file
# allows (Valid-Until, a week for forky): the signatures are still checked,
# only the file's age is not.
[ "$suite" = trixie ] || echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99gmdb-snapshot-mirror"
# packages downloaded by earlier runs (apt checks them against the index)
( flock -w 60 9 && { cp -l "$cache/apt/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null ||
	cp "$cache/apt/"*.deb "$root/var/cache/apt/archives/" 2>/dev/null; } ) 9>"$cache/lock"

apt_used=1
capt update >"$logs/update.log" 2>&1
rc=$?
ok $rc "apt-get update in the chroot ($(grep -c . "$root/etc/apt/sources.list") sources of $suite)"
[ "$rc" = 0 ] || { show_log "$logs/update.log"; bail "apt-get update failed in the chroot"; }

# --- build dependencies, build, lintian -----------------------------------------------
mkdir "$root/build" "$root/build/src"
git -C "$srcdir" archive HEAD | tar -x -C "$root/build/src" || bail "git archive HEAD failed"
version=$(dpkg-parsechangelog -l "$root/build/src/debian/changelog" -S Version)

t0=$SECONDS
in_chroot sh -c 'cd /build/src && apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends build-dep ./ &&
	apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install build-essential '"$lint" \
	>"$logs/deps.log" 2>&1
rc=$?
ok $rc "apt-get build-dep ./ (debian/control's Build-Depends)${lint:+ and lintian} install in the chroot ($((SECONDS - t0)) s)"
cpu_mark "the chroot set up, apt-get update and build-dep"
[ "$rc" = 0 ] || { show_log "$logs/deps.log"; bail "cannot install the build dependencies on $suite"; }
grep -h '^Need to get' "$logs/deps.log" | sed 's/^/# build-dep: /'
dh_ver=$(cver debhelper)
like "$dh_ver" "^1[3-9]" "debhelper on $suite: $dh_ver (debhelper-compat 13)"
libpqdev_ver=$(cver libpq-dev)
like "$libpqdev_ver" "^$want_pg\." "libpq-dev on $suite: $libpqdev_ver (PostgreSQL $want_pg)"

# Rules-Requires-Root: no, so build (and lint) as a user, as a maintainer would
in_chroot useradd --home-dir /build --no-create-home --shell /bin/sh builder || bail "useradd builder failed"
in_chroot chown -R builder: /build || bail "chown builder /build failed"
t0=$SECONDS
as_builder 'cd src && DEB_BUILD_OPTIONS=parallel=2 dpkg-buildpackage -us -uc -b' >"$logs/build.log" 2>&1
rc=$?
ok $rc "dpkg-buildpackage -us -uc -b of gmdb $version on $suite, as a user, from git archive HEAD ($((SECONDS - t0)) s)"
cpu_mark "dpkg-buildpackage"
[ "$rc" = 0 ] || { show_log "$logs/build.log" 40; bail "the package does not build on $suite"; }
# the build's warnings, but libtool's usual chatter about relinking
grep -E 'warning' "$logs/build.log" | grep -v '^libtool: warning' | sort -u | head -n 10 | sed 's/^/# build: /'
arch=$(in_chroot dpkg --print-architecture)
deb=$(cd "$root/build" && ls gmdb_*_"$arch".deb 2>/dev/null | head -n 1)
changes=$(cd "$root/build" && ls gmdb_*_"$arch".changes 2>/dev/null | head -n 1)
[ -n "$deb" ] && [ -n "$changes" ] || bail "no gmdb_*_$arch.deb or .changes in the build directory"

# Lintian on the next release only: the archive checks an upload to unstable
# with unstable's lintian, and the host's package.sh runs bookworm's; trixie's,
# between the two, would add its own run and its Perl dependencies' install
# (an estimate of 1-2 % of CI's CPU: the run after this change could not tell
# it from that machine's noise).
if [ -n "$lint" ]; then
	lintian_ver=$(in_chroot lintian --version)
	run as_builder "lintian -I --pedantic $changes"
	unlike "$out" "^[EW]: " "$lintian_ver (from $suite) -I --pedantic on $changes: no errors and no warnings"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# lintian: /'
	[ -n "$err" ] && printf '%s\n' "$err" | sed 's/^/# lintian stderr: /'
else
	lintian_ver="no lintian (forky's is the one run)"
fi

# --- the built package's dependencies on the release --------------------------
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
cpu_mark "lintian (forky), apt-get install of gmdb and gnumed-server"
[ "$rc" = 0 ] || { printf '%s\n' "$out" "$err" | tail -n 30 | sed 's/^/# /'; bail "cannot install the package on $suite"; }
unlike "$out$err" "dpkg: error|Errors were encountered" "dpkg reports no error"
printf '%s\n' "$out" | grep '^Need to get' | sed 's/^/# install: /'
printf '%s\n' "$out" "$err" | grep 'gmdb:' | sed 's/^/# /'
gs_ver=$(cver gnumed-server)
pgc=$(in_chroot dpkg-query -W -f='${Package} ${Version}\n' 'postgresql-client-[0-9]*' 2>/dev/null | head -n 1)
libpq_ver=$(cver libpq5)
like "$gs_ver" "." "gnumed-server from $suite is installed: $gs_ver"
like "$pgc" "^postgresql-client-$want_pg " "postgresql-client on $suite: $pgc, libpq5 $libpq_ver"
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

# --- the autopkgtest, with a real GNUmed database ----------------------------------
# as autopkgtest's null runner runs it: from the source tree, as root, with
# AUTOPKGTEST_TMP; the reference dumps are a directory in the chroot
wait_carry
mkdir "$root/gmdb-carry" && cp -l "$carry"/* "$root/gmdb-carry/" 2>/dev/null || cp "$carry"/* "$root/gmdb-carry/" ||
	bail "cannot copy the reference dumps into the chroot"
mkdir -p "$root/tmp/autopkgtest" && chmod 755 "$root/tmp/autopkgtest"
t0=$SECONDS
in_chroot sh -c "cd /build/src && AUTOPKGTEST_TMP=/tmp/autopkgtest GMDB_TEST_REFERENCE=/gmdb-carry GMDB_TEST_PORT=$((${GMDB_CHROOT_PORT:-$port_base} + 5)) debian/tests/installed-tools" \
	>"$logs/autopkgtest.log" 2>&1
rc=$?
is "$rc" 0 "debian/tests/installed-tools (the autopkgtest) on $suite with upstream's v22 carried from PostgreSQL 15 ($((SECONDS - t0)) s)"
cpu_mark "the package checks and the autopkgtest"
grep -E '^(ok|# )' "$logs/autopkgtest.log" | sed 's/^/# autopkgtest: /'
[ "$rc" = 0 ] && grep -q 'gm-fixup_server -d gnumed_v22 applies' "$logs/autopkgtest.log"
ok $? "the autopkgtest fixed up the real v22 database with the installed gm-fixup_server"
[ "$rc" = 0 ] || show_log "$logs/autopkgtest.log" 30

# --- pg_upgradecluster 15 17, with gmdb's hook ---------------------------------------
# A practice upgrading Debian from bookworm to trixie has bookworm's
# postgresql-15 still installed beside trixie's postgresql-17, and moves its
# cluster with pg_upgradecluster. The same here: bookworm's postgresql-15
# (pinned low, for it alone), a 15/main cluster holding a real GNUmed
# database (upstream's v22, and a v21 whose schema was changed behind its
# back), pg_upgradecluster 15 main; gmdb's hook reports at "finish".
if [ "$suite" = trixie ]; then
	t0=$SECONDS
	echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list.d/bookworm.list"
	echo "deb $security bookworm-security main" >>"$root/etc/apt/sources.list.d/bookworm.list"
	printf 'Package: *\nPin: release n=bookworm\nPin-Priority: 100\n' >"$root/etc/apt/preferences.d/bookworm"
	capt update >"$logs/update-bookworm.log" 2>&1 &&
		capt --no-install-recommends install postgresql-15 >"$logs/pg15.log" 2>&1
	rc=$?
	ok $rc "bookworm's postgresql-15 installed beside trixie's postgresql-17 ($((SECONDS - t0)) s): $(cver postgresql-15)"
	[ "$rc" = 0 ] || show_log "$logs/pg15.log" 20
	p15=${GMDB_CHROOT_PORT15:-5580}
	while (exec 3<>"/dev/tcp/127.0.0.1/$p15") 2>/dev/null; do p15=$((p15 + 1)); done
	cat >"$root/build/upgradecluster.sh" <<'EOF'
set -e
# the cluster postgresql-17's postinst may have made: the upgrade makes its own
pg_dropcluster --stop 17 main 2>/dev/null || true
pg_dropcluster --stop 15 main 2>/dev/null || true
pg_createcluster --locale C.UTF-8 -p "$1" 15 main >/dev/null
pg_ctlcluster 15 main start
export PGPORT=$1
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres -f /gmdb-carry/roles.sql >/dev/null
for v in 21 22; do
	runuser -u postgres -- env PGOPTIONS="-c default_transaction_read_only=off" pg_restore --create --exit-on-error -d postgres /gmdb-carry/gmref_v$v.dump
	runuser -u postgres -- psql -X -q -d postgres -c "ALTER DATABASE gmref_v$v RENAME TO gnumed_v$v"
done
# v21, changed behind its back: a table in a hashed schema
runuser -u postgres -- env PGOPTIONS="-c default_transaction_read_only=off" psql -X -q -d gnumed_v21 -c "ALTER TABLE clin.episode ADD COLUMN not_upstreams int"
EOF
	t0=$SECONDS
	run in_chroot bash /build/upgradecluster.sh "$p15"
	is "$rc" 0 "a 15/main cluster with gnumed_v22 and gnumed_v21 (its schema changed) restored from the reference ($((SECONDS - t0)) s)"
	[ "$rc" = 0 ] || printf '%s\n' "$out" "$err" | tail -n 20 | sed 's/^/# /'
	ok "$(test -x "$root/etc/postgresql-common/pg_upgradecluster.d/gmdb-check-gnumed"; echo $?)" \
		"the package installed its hook, executable, as /etc/postgresql-common/pg_upgradecluster.d/gmdb-check-gnumed"
	ok "$(test -x "$root/etc/postgresql-common/pg_upgradecluster.d/gm-pg_upgradecluster-helper"; echo $?)" \
		"beside gnumed-server's gm-pg_upgradecluster-helper"
	t0=$SECONDS
	run in_chroot pg_upgradecluster -v 17 15 main
	is "$rc" 0 "pg_upgradecluster -v 17 15 main succeeds ($((SECONDS - t0)) s)"
	cpu_mark "postgresql-15 installed, 15/main made, pg_upgradecluster"
	printf '%s\n' "$out" "$err" | grep -E 'gmdb|phase|^Success' | sed 's/^/# pg_upgradecluster: /'
	[ "$rc" = 0 ] || printf '%s\n' "$out" "$err" | tail -n 20 | sed 's/^/# /'
	like "$out" "gmdb: checking the GNUmed databases of cluster 17/main \(upgraded from 15" "the hook ran at finish, on the new cluster"
	like "$out" "gmdb: gnumed_v22: schema hash bf45f01327fb5feb2f5d3c06ba4a6792 is the known hash of v22" \
		"it verified gnumed_v22's schema hash on PostgreSQL 17"
	like "$out" "gmdb: gnumed_v22: gnumed-server's fixups for v22 apply to it: run \"gm-fixup_server -p [0-9]+ -d gnumed_v22\"" \
		"it says gnumed-server's v22 fixup is to run next, and how"
	like "$out" "gmdb: warning: gnumed_v21: its schema hash [0-9a-f]{32} is not the known hash of any GNUmed version" \
		"it warns about gnumed_v21, whose schema was changed"
	like "$out" "gmdb: gnumed_v21: do not use it before you know why" "and says what to do"
	like "$out" "gmdb: done: 2 GNUmed database\(s\) checked" "it checked both GNUmed databases and no other"
	run in_chroot pg_lsclusters -h
	like "$out" "^17 +main +[0-9]+ +online" "17/main is online after the upgrade"
	in_chroot pg_dropcluster --stop 17 main >/dev/null 2>&1
	in_chroot pg_dropcluster --stop 15 main >/dev/null 2>&1
fi

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


# --- the real-database layer on the release's PostgreSQL --------------------------
# The package's build tree (dpkg-buildpackage left it built) runs the tests;
# what they need besides gnumed-server's dependencies: bash-completion (the
# completion tests), mount (tests/pg/hba-lock.sh's bind mount in a mount
# namespace), procps.
t0=$SECONDS
run capt --no-install-recommends install bash-completion mount procps
is "$rc" 0 "apt-get install bash-completion mount procps ($((SECONDS - t0)) s)"
[ "$rc" = 0 ] || printf '%s\n' "$out" "$err" | tail -n 20 | sed 's/^/# /'
mkdir "$root/gmdb-upstream" && cp -a "$GMDB_UPSTREAM_DIR_HOST/." "$root/gmdb-upstream/" || bail "cannot copy the host's gnumed-server tree into the chroot"
# The tests run as root, and gmdb refuses log and state directories below a
# directory an ordinary user (the builder) owns: the tree becomes root's.
in_chroot chown -R root:root /build || bail "cannot chown /build to root"
chmod 755 "$root/build"
# the chroot shares the host's network: a port above the suite's (5499 ...)
port=${GMDB_CHROOT_PORT:-$port_base}
t0=$SECONDS
cat >"$root/build/restore.sh" <<'EOF'
set -e
cd /build/src
# the first free port from $1; a few tries, each on a new cluster
port=$1
for attempt in 1 2 3 4 5; do
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
	bash tests/lib/pgcluster.sh start /tmp/gmref "$port" && break
	bash tests/lib/pgcluster.sh stop /tmp/gmref || true
	rm -rf /tmp/gmref
	[ "$attempt" = 5 ] && exit 1
	port=$((port + 1 + RANDOM % 10))
done
eval "$(bash tests/lib/pgcluster.sh env /tmp/gmref)"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f /gmdb-carry/roles.sql >/dev/null
ls /gmdb-carry/*.dump | xargs -P 2 -I{} env PGOPTIONS="-c default_transaction_read_only=off" \
	pg_restore --create --exit-on-error -d postgres {}
touch /tmp/gmref/reference.done
psql -X -A -t -d postgres -c "SELECT count(*) FROM pg_database WHERE datname ~ '^gmref_'"
EOF
run in_chroot bash /build/restore.sh "$port"
is "$rc:$out" "0:22" "the 22 reference databases and the roles of PostgreSQL 15 restored into PostgreSQL $want_pg on $suite ($((SECONDS - t0)) s)"
cpu_mark "the hook checks (trixie), the purge, the restore of the reference databases"
[ "$rc" = 0 ] || { printf '%s\n' "$err" | tail -n 20 | sed 's/^/# /'; bail "cannot restore the reference databases"; }

layer="tests/gnumed/carried.sh tests/pg/hba-lock.sh tests/pg/conn-learn.sh tests/cli/banner.sh tests/cli/fingerprint.sh
	tests/cli/fixup.sh tests/cli/hba-lock.sh tests/cli/upgrade.sh"
# The downtime procedure (tests/gnumed/downtime.sh) on both: its kill -9
# loop runs at every step on the host's PostgreSQL 15 (tests/deep-path.sh,
# GMDB_DOWNTIME_PARTS=crash), the rest of it (signals, a failing upgrade,
# the whole procedure, --retire, the fixup's) on trixie's 17, Debian's
# stable release, and the loop again on forky's 18 at three steps, whose
# undoing covers every kind of change the procedure makes on the server:
# after hba-lock, the banner's notice, the connection limit and
# pg_hba.conf; after upgrade-started, a half-built target; after
# build-record, a whole one with its record. The rest once, the loop on
# two majors: not every part on every server (in CPU time, the rest is
# about 240 s of this machine's, each step of the loop about 18 s).
layer="tests/gnumed/downtime.sh $layer"
case "$suite" in
trixie) downtime_parts=rest ;;
*) downtime_parts=crash ;;
esac
crash_steps="hba-lock upgrade-started build-record"
# GMDB_RELEASE_LAYER: another list of tests, for a developer's rerun of a
# few of them (CI runs the whole layer).
layer=${GMDB_RELEASE_LAYER:-$layer}
t0=$SECONDS
in_chroot sh -c "cd /build/src && cp -f \$(automake --print-libdir)/tap-driver.sh build-aux/ && GMDB_TEST_CLUSTER=/tmp/gmref GMDB_UPSTREAM_DIR=/gmdb-upstream GMDB_DOWNTIME_PARTS='$downtime_parts' GMDB_DOWNTIME_CRASH_STEPS='$crash_steps' timeout -k 30 60m make -j2 -s check TESTS='$(echo $layer)'" \
	>"$logs/check.log" 2>&1
rc=$?
echo "# make check of the real-database layer on PostgreSQL $want_pg: $((SECONDS - t0)) s, exit $rc"
cpu_mark "the real-database layer"
for t in $layer; do
	log=$root/build/src/${t%.sh}.log
	if [ -f "$log" ]; then
		while IFS= read -r line; do
			case "$line" in
			"ok "*"# SKIP"*) ok 1 "$suite: $t: skipped: ${line#ok }" ;;
			"ok "*) ok 0 "$suite: $t: ${line#ok }" ;;
			"not ok "*) ok 1 "$suite: $t: ${line#not ok }"
				# what the failed check said (the chroot and its logs are removed)
				awk -v l="$line" 'f && /^#/ { print; next } f { exit } $0 == l { f = 1 }' "$log" | head -n 12 ;;
			*) ok 1 "$suite: $t: $line" ;;
			esac
		done < <(grep -E '^(ok|not ok|Bail out)' "$log")
		grep -E '^# (PostgreSQL|total|timing|downtime parts)' "$log" | sed "s|^# |# $t: |"
	else
		ok 1 "$suite: $t did not run"
		show_log "$logs/check.log" 20
	fi
done
in_chroot bash /build/src/tests/lib/pgcluster.sh stop /tmp/gmref >/dev/null 2>&1

# --- leave nothing behind -----------------------------------------------------------
cleanup
is "$(mount | grep -F "$root")" "" "no mount is left below $root"
ok "$(test ! -e "$root"; echo $?)" "the chroot $root is removed"
echo "# versions on $suite: debhelper $dh_ver, $lintian_ver, $pgc, libpq5 $libpq_ver, gnumed-server $gs_ver"

done_testing
