#!/bin/bash
# Unpack one release of Debian's gnumed-server package, fetched once from
# the host's Debian mirror (the archive's pool) and kept in a cache:
#
#   gnumed-server-deb.sh VERSION DIR     e.g. 22.35-1 /tmp/x
#
# Prints the unpacked upstream tree (DIR/var/lib/gnumed/server). The cache
# is $GMDB_DEB_CACHE (default /var/cache/gmdb-ci); a .deb already there is
# used as it is.
set -eu
version=${1:?usage: gnumed-server-deb.sh VERSION DIR}
dir=${2:?usage: gnumed-server-deb.sh VERSION DIR}
cache=${GMDB_DEB_CACHE:-/var/cache/gmdb-ci}
deb=gnumed-server_${version}_all.deb

host_uri() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		sed -n -E "s,^[[:space:]]*URIs:[[:space:]]*(.*[^[:space:]]),\1,p
			s,^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]].*,\2,p" |
		tr ' ' '\n' | grep -E '^https?://[^[:space:]]*/debian/?$' | sed 's,/$,,' | head -n 1
}

mkdir -p "$cache"
if [ ! -s "$cache/$deb" ]; then
	mirror=$(host_uri)
	mirror=${mirror:-http://deb.debian.org/debian}
	command -v curl >/dev/null || apt-get install -y -q curl >/dev/null 2>&1 ||
		{ echo "gnumed-server-deb.sh: error: curl is missing" >&2; exit 1; }
	curl -fsS --retry 3 --max-time 300 -o "$cache/$deb.part" "$mirror/pool/main/g/gnumed-server/$deb" ||
		{ rm -f "$cache/$deb.part"; echo "gnumed-server-deb.sh: error: cannot fetch $mirror/pool/main/g/gnumed-server/$deb" >&2; exit 1; }
	mv "$cache/$deb.part" "$cache/$deb"
fi
rm -rf "$dir" && mkdir -p "$dir"
dpkg-deb -x "$cache/$deb" "$dir"
chmod -R a+rX "$dir"
echo "$dir/var/lib/gnumed/server"
