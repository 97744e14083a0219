#!/bin/bash
# Install what gmdb needs to build and to run its tests, from Debian's archive.
# Run as root; does nothing for packages already installed.
set -eu
pkgs="build-essential autoconf automake libtool pkg-config libpq-dev libpopt-dev
      postgresql postgresql-client postgresql-common gnumed-server python3-psycopg2
      dpkg-dev debhelper devscripts lintian fakeroot git bash-completion
      debootstrap"
missing=$(for p in $pkgs; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"; done)
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: error: missing packages:" $missing >&2
	echo "hint: run as root (sudo), or install them with apt-get" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
