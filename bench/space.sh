#!/bin/bash
# space.sh - what an upgrade writes, measured: the ground for the space
# estimate of gm-upgrade_server (lib/space.c)
#
#   bench/space.sh [FROM ...]        (default 21; GMDB_TEST_CLUSTER=DIR to reuse a cluster)
#
# BENCH_SOURCE=DB measures a copy of DB instead of gmref_v21 (with FROM 21
# only), e.g. a practice made by gen-practice.sh.
# For each FROM, a private cluster (full_page_writes on, max_wal_size 1GB:
# PostgreSQL's defaults, not the test cluster's) gets a copy of gmref_vFROM
# as gnumed_vFROM; then `gm-upgrade_server --yes FROM FROM+1` runs with the
# backup on, while the data directory's base/ and pg_wal/ are sampled five
# times a second. It prints the source's size, the target's size after, the
# peak growth of base/ and of pg_wal/, the WAL written (LSN difference) and
# the backup's size, each also as a share of the source's size.
. "$(dirname "$0")/lib.sh"
need_reference
make_work space
cl=$(mktemp -d /tmp/gmsp.XXXXXX) || bail "cannot make a temporary directory"
chmod 755 "$cl"
cleanup() {
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$cl" >/dev/null 2>&1
	rm -rf "$cl"
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$work" "$UPSTREAM_PYCACHE" "$ballast"
}
trap cleanup EXIT
pg_dumpall -U postgres --roles-only >"$work/roles.sql" || bail "cannot dump the roles"
src_of() { if [ "$1" = 21 ] && [ -n "${BENCH_SOURCE:-}" ]; then echo "$BENCH_SOURCE"; else echo "gmref_v$1"; fi; }
for from in ${@:-21}; do
	pg_dump -U postgres -Fc -Z0 -f "$work/v$from.dump" "$(src_of "$from")" || bail "cannot dump $(src_of "$from")"
done
ref_env=$("$GMDB_SRCDIR/tests/lib/pgcluster.sh" env "$GMDB_CLUSTER")
private_cluster "$cl"
printf 'full_page_writes = on\nmax_wal_size = 1GB\n' >>"$cl/data/postgresql.conf"
"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$cl" >/dev/null
port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$cl/data/postgresql.conf" | tail -n 1)
"$GMDB_SRCDIR/tests/lib/pgcluster.sh" start "$cl" "$port" >/dev/null || bail "cannot restart the private cluster"
psql -X -q -U postgres -d postgres -f "$work/roles.sql" >/dev/null 2>&1
export GMDB_BACKUP_DIR=$work/backups
mkdir -p "$GMDB_BACKUP_DIR" && chown postgres: "$GMDB_BACKUP_DIR"
du_b() { du -sb "$1" 2>/dev/null | cut -f1; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
machine
echo "settings: full_page_writes $(sql postgres -c 'SHOW full_page_writes'), max_wal_size $(sql postgres -c 'SHOW max_wal_size'), checkpoint_timeout $(sql postgres -c 'SHOW checkpoint_timeout')"
for from in ${@:-21}; do
	to=$((from + 1))
	sql postgres -c "DROP DATABASE IF EXISTS gnumed_v$to" -c "DROP DATABASE IF EXISTS gnumed_v$from" >/dev/null
	PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$work/v$from.dump" ||
		bail "cannot restore gmref_v$from"
	sql postgres -c "ALTER DATABASE \"$(src_of "$from")\" RENAME TO gnumed_v$from" -c CHECKPOINT >/dev/null
	src=$(sql postgres -c "SELECT pg_database_size('gnumed_v$from')")
	base0=$(du_b "$cl/data/base"); wal0=$(du_b "$cl/data/pg_wal")
	lsn0=$(sql postgres -c "SELECT pg_current_wal_lsn()")
	rm -rf "${GMDB_BACKUP_DIR:?}"/*
	gm-upgrade_server --yes --json "$from" "$to" >"$work/run-$from.json" 2>"$work/run-$from.err" &
	pid=$!
	peak_base=$base0; peak_wal=$wal0
	while kill -0 "$pid" 2>/dev/null; do
		b=$(du_b "$cl/data/base"); w=$(du_b "$cl/data/pg_wal")
		[ "${b:-0}" -gt "$peak_base" ] && peak_base=$b
		[ "${w:-0}" -gt "$peak_wal" ] && peak_wal=$w
		sleep 0.2
	done
	wait "$pid" || { cat "$work/run-$from.err" >&2; bail "the upgrade $from $to failed"; }
	lsn1=$(sql postgres -c "SELECT pg_current_wal_lsn()")
	wal=$(sql postgres -c "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
	tgt=$(sql postgres -c "SELECT pg_database_size('gnumed_v$to')")
	backup=$(du_b "$GMDB_BACKUP_DIR")
	echo "v$from -> v$to ($(src_of "$from")): source $(mb "$src") MB; target after $(mb "$tgt") MB ($(pct "$tgt" "$src"))"
	echo "  base/ peak growth $(mb $((peak_base - base0))) MB ($(pct $((peak_base - base0)) "$src")), pg_wal/ peak growth $(mb $((peak_wal - wal0))) MB"
	echo "  WAL written $(mb "$wal") MB ($(pct "$wal" "$src")), backup (pg_dump -Fd -Z1) $(mb "$backup") MB ($(pct "$backup" "$src"))"
	sql postgres -c "DROP DATABASE gnumed_v$to" -c "DROP DATABASE gnumed_v$from" >/dev/null
done
