#!/bin/bash
# Throw-away PostgreSQL cluster for gmdb's tests.
#
#   pgcluster.sh start DIR [PORT]   create (if needed) and start a cluster in DIR
#   pgcluster.sh stop DIR           stop it
#   pgcluster.sh env DIR            print the PGHOST/PGPORT exports for it
#   pgcluster.sh copy SRC DIR PORT  make DIR a copy of the running cluster SRC
#                                   (pg_basebackup), to listen on PORT
#   pgcluster.sh bindir             print the server binaries' directory
#
# The cluster belongs to the "postgres" OS user when run as root (PostgreSQL
# refuses to run as root), otherwise to the calling user. It listens on a
# private Unix socket directory and on 127.0.0.1, and trusts local
# connections: nothing in it is worth protecting. The server binaries are
# taken from the newest PostgreSQL installed (or PGBINDIR).
# GMDB_TEST_LC_MESSAGES=de_DE.UTF-8 makes a new cluster's server speak that
# language (lc_messages), as a German practice's does: the tests then prove
# that gmdb reads no server message's text.
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
[ "$cmd" = bindir ] && { pgbindir; exit; }
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: pgcluster.sh start|stop|env DIR [PORT], copy SRC DIR PORT, bindir"

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
local   replication   all                trust
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
		if [ -n "${GMDB_TEST_LC_MESSAGES:-}" ]; then
			echo "lc_messages = '$GMDB_TEST_LC_MESSAGES'" >>"$dir/data/postgresql.conf"
		fi
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
copy)
	# the source: its socket and port; a replication connection, which
	# clusters made here before allowed none: added then
	src=$(cd "$dir" && pwd) dir=${3:?usage: pgcluster.sh copy SRC DIR PORT} port=${4:?usage: pgcluster.sh copy SRC DIR PORT}
	bin=$(pgbindir)
	srcport=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$src/data/postgresql.conf" | tail -n 1)
	srcsock=$(sed -n "s/^unix_socket_directories = '\(.*\)'\$/\1/p" "$src/data/postgresql.conf" | tail -n 1)
	tries=1
	if ! grep -q '^local *replication ' "$src/data/pg_hba.conf"; then
		as_owner sh -c "echo 'local   replication   all                trust' >>'$src/data/pg_hba.conf'" &&
			as_owner "$bin/pg_ctl" -D "$src/data" reload >/dev/null || die "cannot allow replication connections to $src"
		tries=20   # the postmaster rereads pg_hba.conf when it gets to it
	fi
	rm -rf "$dir" && mkdir -p "$dir" || die "cannot make $dir"
	dir=$(cd "$dir" && pwd)
	if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 755 "$dir"; fi
	for i in $(seq "$tries"); do
		as_owner "$bin/pg_basebackup" -h "$srcsock" -p "$srcport" -U postgres -D "$dir/data" -X stream -c fast && break
		[ "$i" = "$tries" ] && die "pg_basebackup of $src failed"
		rm -rf "${dir:?}/data"
		sleep 0.5
	done
	as_owner sed -i "s|^port = .*|port = $port|" "$dir/data/postgresql.conf" || die "cannot set the port of $dir"
	;;
env)
	dir=$(cd "$dir" && pwd)
	port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$dir/data/postgresql.conf" | tail -n 1)
	sock=$(sed -n "s/^unix_socket_directories = '\(.*\)'\$/\1/p" "$dir/data/postgresql.conf" | tail -n 1)
	echo "export PGHOST='$sock' PGPORT='$port' PGUSER=postgres"
	;;
*) die "unknown command \"$cmd\"" ;;
esac
