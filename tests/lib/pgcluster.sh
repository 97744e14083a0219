#!/bin/bash
# Throw-away PostgreSQL cluster for gmdb's tests.
#
#   pgcluster.sh start DIR [PORT]   create (if needed) and start a cluster in DIR
#   pgcluster.sh stop DIR           stop it
#   pgcluster.sh env DIR            print the PGHOST/PGPORT exports for it
#
# The cluster belongs to the "postgres" OS user when run as root (PostgreSQL
# refuses to run as root), otherwise to the calling user. It listens on a
# private Unix socket directory and on 127.0.0.1, and trusts local
# connections: nothing in it is worth protecting. The server binaries are
# taken from the newest PostgreSQL installed (or PGBINDIR).
#
# The socket directory is a short one of its own, made at every start
# (/tmp/gmsock.XXXXXX, DIR/sock links to it) and removed at stop: a socket
# path may not exceed 107 bytes, and DIR may be deep (a CI checkout, an
# autopkgtest's work directory).
set -eu

die() { echo "pgcluster.sh: error: $*" >&2; exit 1; }

pgbindir() {
	if [ -n "${PGBINDIR:-}" ]; then echo "$PGBINDIR"; return; fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] || die "no PostgreSQL server installed (apt-get install postgresql)"
	echo "$d"
}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# The server must not inherit the caller's descriptors: a test holding a
# flock(1) on one would otherwise leave it held by the postmaster for ever.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
done

# The socket directory of a stopped cluster: DIR/sock (a link to the short
# directory, or a directory itself in clusters made before) and what it
# links to, if that is one of ours and empty (the server removes its socket
# and lock file when it stops; what a crash left there stays).
remove_sockdir() {
	local target
	if [ -L "$dir/sock" ]; then
		target=$(readlink "$dir/sock")
		case "$target" in /tmp/gmsock.??????) rmdir "$target" 2>/dev/null ;; esac
		rm -f "$dir/sock"
	elif [ -d "$dir/sock" ]; then
		rmdir "$dir/sock" 2>/dev/null
	fi
	return 0
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pgcluster.sh start|stop|env DIR [PORT]"

case "$cmd" in
start)
	port=${3:-5499}
	bin=$(pgbindir)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 755 "$dir"; fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bin/initdb" -D "$dir/data" --encoding=UTF8 --locale=C.UTF-8 \
			--auth-local=trust --auth-host=trust -U postgres >"$dir/initdb.log" 2>&1 \
			|| { cat "$dir/initdb.log" >&2; die "initdb failed"; }
		# trust for everyone but one role kept for password tests
		cat >"$dir/data/pg_hba.conf" <<HBA
local   all   all                        trust
host    all   gmdb_pwtest   127.0.0.1/32   scram-sha-256
host    all   all           127.0.0.1/32   trust
HBA
		cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
unix_socket_directories = ''
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 256MB
max_wal_size = 4GB
CONF
	fi
	if [ ! -f "$dir/data/postmaster.pid" ]; then
		remove_sockdir
		sock=$(as_owner mktemp -d /tmp/gmsock.XXXXXX) || die "cannot make a socket directory in /tmp"
		chmod 755 "$sock"
		as_owner ln -s "$sock" "$dir/sock" || die "cannot link $dir/sock to $sock"
		as_owner sed -i "s|^unix_socket_directories = .*|unix_socket_directories = '$sock'|" "$dir/data/postgresql.conf" ||
			die "cannot set unix_socket_directories in $dir/data/postgresql.conf"
	fi
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
		|| { tail -n 20 "$dir/server.log" >&2; die "the server did not start"; }
	;;
stop)
	bin=$(pgbindir)
	[ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
	[ -f "$dir/data/postmaster.pid" ] || remove_sockdir
	;;
env)
	dir=$(cd "$dir" && pwd)
	port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$dir/data/postgresql.conf" | tail -n 1)
	sock=$(sed -n "s/^unix_socket_directories = '\(.*\)'\$/\1/p" "$dir/data/postgresql.conf" | tail -n 1)
	echo "export PGHOST='$sock' PGPORT='$port' PGUSER=postgres"
	;;
*) die "unknown command \"$cmd\"" ;;
esac
