#!/bin/bash
# The session pool (lib/conn.c, gm_conn_pool_begin): during the read-only
# checks before an upgrade's clone and before a fixup's first change, the
# run's own sessions are reset and reused instead of opened again. On the
# real v21 and v22, read from the run's debug log (-vv):
#   - the pool is on from the start and off before the first change (the
#     clone; the fixup's roles), and sessions are reused while it is on;
#   - no session is opened on template1 while it is on (a kept session
#     there would make another user's CREATE DATABASE fail): those go to
#     the maintenance database postgres;
#   - the sessions the pool kept are closed when it goes off (it says how
#     many), and the clone, which fails while any other session is on its
#     source, works;
#   - an owner's session (gm-dbo's) is never given again: the reused
#     sessions are all of the run's own user, by their backend's PID;
#   - a child forked while the pool is on (pool-fork-run) is never given
#     a session its parent kept, and does not end it: the parent gets it
#     back, alive.
# That the results equal upstream's is upgrade.sh's and fixup.sh's.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
serialize_gnumed_tests
work=$GMDB_TESTDIR/pool
rm -rf "$work" && mkdir -p "$work/logs" && chmod -R 777 "$work"
export GMDB_LOG_DIR=$work/logs
trap 'for d in gnumed_v21 gnumed_v22 gmt_pool; do drop_db "$d"; done' EXIT
for d in gnumed_v21 gnumed_v22 gmt_pool; do drop_db "$d"; done

# pool_checks LOG FIRST-CHANGE WHAT: the pool's window in LOG (from "session
# pool on" to "session pool off"), which must close before the line
# matching FIRST-CHANGE
pool_checks() {
	local log=$1 change=$2 what=$3 on off first reused n
	on=$(grep -n 'DEBUG   session pool on:' "$log" | head -n 1 | cut -d: -f1)
	off=$(grep -n 'DEBUG   session pool off:' "$log" | head -n 1 | cut -d: -f1)
	first=$(grep -n -E "$change" "$log" | head -n 1 | cut -d: -f1)
	ok "$([ -n "$on" ] && [ -n "$off" ] && [ "$on" -lt "$off" ]; echo $?)" "$what: the pool goes on, then off (log lines ${on:-none}, ${off:-none})"
	ok "$([ -n "$first" ] && [ -n "$off" ] && [ "$off" -lt "$first" ]; echo $?)" \
		"$what: off before the first change (line ${first:-none})"
	is "$(grep -c 'DEBUG   session pool on:' "$log")" 1 "$what: on once"
	reused=$(sed -n 's/.*DEBUG   session pool off: \([0-9]*\) sessions reused, .*/\1/p' "$log" | head -n 1)
	n=$(sed -n "${on:-1},${off:-1}p" "$log" | grep -c 'DEBUG   reusing a session on database')
	ok "$([ "${reused:-0}" -gt 0 ]; echo $?)" "$what: sessions were reused (${reused:-none})"
	is "$n" "${reused:-}" "$what: every reuse in the log, all while the pool was on"
	is "$(grep -c 'DEBUG   reusing a session' "$log")" "$n" "$what: none after it went off"
	is "$(sed -n "${on:-1},${off:-1}p" "$log" | grep -c 'connecting to database "template1"')" 0 \
		"$what: no session opened on template1 while it was on"
	# the backends given again: each first opened as the run's own user
	# (postgres here), never as the owner
	is "$(sed -n "${on:-1},${off:-1}p" "$log" | sed -n 's/.*DEBUG   reusing a session on database .* (backend \([0-9]*\))$/\1/p' | sort -u |
		while read -r pid; do sed -n "1,${off:-1}p" "$log" | grep -E "DEBUG   connected to database .* as \"[^\"]*\" \(backend $pid\)\$" | tail -n 1 |
			sed -n 's/.* as "\([^"]*\)" (backend.*/\1/p'; done | sort -u | paste -sd, -)" postgres \
		"$what: every session reused was one of the run's own user's, none the owner's"
	n=$(sed -n 's/.*DEBUG   session pool off: .*, \([0-9]*\) kept sessions closed$/\1/p' "$log" | head -n 1)
	ok "$([ "${n:-0}" -gt 0 ]; echo $?)" "$what: it closed the sessions it kept when it went off (${n:-none})"
}

# --- the upgrade ---------------------------------------------------------------------
clone_db gmref_v21 gnumed_v21
run gm-upgrade_server -vv --no-backup --yes --log-file "$work/upgrade.log" 21 22
is "$rc" 0 "gm-upgrade_server -vv --no-backup --yes 21 22"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 8 | sed 's/^/# /'
run gm-fingerprint_db -q --expect-version 22 gnumed_v22
is "$rc" 0 "the result has the v22 hash"
pool_checks "$work/upgrade.log" 'STEP    cloning "gnumed_v21"' "upgrade"

# --- the fixup -----------------------------------------------------------------------
clone_db gmref_v22 gmt_pool
run gm-fixup_server -vv -d gmt_pool --log-file "$work/fixup.log"
is "$rc" 0 "gm-fixup_server -vv -d gmt_pool"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 8 | sed 's/^/# /'
run gm-fingerprint_db -q --expect-version 22 gmt_pool
is "$rc" 0 "the result has the v22 hash"
pool_checks "$work/fixup.log" 'STEP    preparing the roles' "fixup"

# --- a fork while the pool is on ---------------------------------------------------------
read -r kept child reused alive < <("$GMDB_BUILDDIR/tests/gnumed/pool-fork-run" postgres)
ok "$([ -n "$child" ] && [ "$child" -gt 0 ] && [ "$child" != "$kept" ]; echo $?)" \
	"a child forked while the pool is on opens a session of its own (backend ${child:-none}), not the parent's kept one (${kept:-none})"
is "${reused:-}:${alive:-}" "$kept:1" "the parent gets its kept session back, alive"
done_testing
