#!/bin/bash
# Install what gmdb needs to build and to run its tests, from Debian's archive.
# Run as root; does nothing for packages already installed.
set -eu
pkgs="build-essential autoconf automake libtool pkg-config libpq-dev libpopt-dev
      postgresql postgresql-client postgresql-common gnumed-server python3-psycopg2
      dpkg-dev debhelper devscripts lintian fakeroot git bash-completion
      debootstrap locales"
missing=$(for p in $pkgs; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"; done)
# tests/pg/peer.sh runs a server that answers in German, as a German
# practice's does: the locale must exist
has_de() { locale -a 2>/dev/null | grep -qix 'de_DE.utf-\?8'; }
[ -z "$missing" ] && has_de && exit 0
if [ "$(id -u)" != 0 ]; then
	[ -z "$missing" ] || echo "install-deps.sh: error: missing packages:" $missing >&2
	has_de || echo "install-deps.sh: error: missing the locale de_DE.UTF-8" >&2
	echo "hint: run as root (sudo), or install them with apt-get (the locale: locale-gen)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$missing" ]; then
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
if ! has_de; then
	sed -i 's/^# *\(de_DE.UTF-8 UTF-8\)/\1/' /etc/locale.gen
	grep -qx 'de_DE.UTF-8 UTF-8' /etc/locale.gen || echo 'de_DE.UTF-8 UTF-8' >>/etc/locale.gen
	locale-gen >/dev/null
fi
