#!/bin/bash
# Free space, measured before any change (issue 10, point 1): a cluster
# whose data directory lives on a small file system (a tmpfs of the test's
# own), where --check refuses for lack of space and a real run (plain,
# --downtime, a fixup) never starts; a backup directory too small, refused
# before anything starts; a pg_dump that fails anyway leaves no partial
# dump; a disk that fills during the run gives a message that says so and
# what to do first; --list-backups and --prune-backups.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
[ "$(id -u)" = 0 ] || bail "this test mounts file systems: run it as root"

# short: the sockets live in it
tmp=$(mktemp -d /tmp/gms.XXXXXX) || bail "cannot make a temporary directory"
chmod 755 "$tmp"
fs=$tmp/fs bk=$tmp/bk cl=$tmp/fs/cl
mkdir -p "$fs" "$bk"
cleanup() {
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$cl" >/dev/null 2>&1
	umount "$fs" 2>/dev/null
	umount "$bk" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

pg_dumpall -U postgres --roles-only >"$tmp/roles.sql" || bail "cannot dump the roles of the reference cluster"
pg_dump -U postgres -Fc -Z0 -f "$tmp/v21.dump" gmref_v21 || bail "cannot dump gmref_v21"

mount -t tmpfs -o size=400m,mode=755 gmdb-test-data "$fs" || bail "cannot mount a tmpfs"
private_cluster "$cl"
psql -X -q -U postgres -d postgres -f "$tmp/roles.sql" >/dev/null 2>&1
PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$tmp/v21.dump" ||
	bail "cannot restore gmref_v21 in the private cluster"
sql postgres -c "ALTER DATABASE gmref_v21 RENAME TO orig_v21" -c CHECKPOINT >/dev/null || bail "cannot rename gmref_v21"
rm -f "$tmp/v21.dump"

export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs GMDB_SYSCONF_DIR=$tmp/etc GMDB_BACKUP_DIR=$tmp/backups
mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" "$tmp/etc" "$GMDB_BACKUP_DIR"
chmod 777 "$GMDB_LOG_DIR"
chown postgres: "$GMDB_BACKUP_DIR"
exists() { [ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ]; }
same() { PGUSER=postgres "$GMDB_SRCDIR/tests/lib/compare-db.sh" -w "$tmp/cmp" "$1" "$2" >"$tmp/cmp.out" 2>&1; }
used_mb() { df -B1M --output=used "$1" | tail -n 1 | tr -d ' '; }
avail_mb() { df -B1M --output=avail "$1" | tail -n 1 | tr -d ' '; }
# the tmpfs with room for mb MB more than it holds now
room() { mount -o "remount,size=$(($(used_mb "$fs") + $1))m" "$fs" || bail "cannot resize the tmpfs"; }
gm-banner orig_v21 set "Praxis banner" || bail "cannot set the banner"
sql postgres -c "ALTER DATABASE orig_v21 CONNECTION LIMIT 7" >/dev/null
clone_db orig_v21 gnumed_v21 || bail "cannot copy orig_v21"
sql postgres -c "ALTER DATABASE gnumed_v21 CONNECTION LIMIT 7" -c CHECKPOINT >/dev/null
src_mb=$(sql postgres -c "SELECT pg_database_size('gnumed_v21') / 1048576")

# --- too little room for the copy, its growth and WAL ---------------------------------
room 120
run gm-upgrade_server --check 21 22
is "$rc" 3 "--check with $(avail_mb "$fs") MB free for a ${src_mb} MB source: exit 3"
like "$out" "FAILED +free space: [0-9]+ MB free on the file system of $cl/data, the run writes up to [0-9]+ MB there \(copy [0-9]+ MB, growth [0-9]+ MB, WAL [0-9]+ MB\)" \
	"it gives the figures: free, and what the copy, its growth and WAL need"
like "$err" "check\(s\) failed: the upgrade would not start" "and says the upgrade would not start"

run gm-upgrade_server --yes --no-backup 21 22
is "$rc" 3 "a real run on the same file system: exit 3"
like "$err" "error: free space: [0-9]+ MB free on the file system of $cl/data" "it names the file system and the figures"
like "$err" "Nothing was changed" "and says nothing was changed"
unlike "$err" "cloning" "the clone never started"
exists gnumed_v22
is "$?" 1 "no gnumed_v22 was made"

run gm-upgrade_server --downtime --no-backup --grace 1 21 22
is "$rc" 3 "--downtime on the same file system: exit 3, before its first change"
like "$err" "not enough free space on the file system of $cl/data: [0-9]+ MB free, [0-9]+ MB needed" \
	"it says how much is free and how much is needed"
like "$err" "copy [0-9]+ MB, growth [0-9]+ MB, WAL [0-9]+ MB" "and what for"
is "$(gm-banner gnumed_v21 show)" "Praxis banner" "the banner has no notice"
is "$(sql postgres -c "SELECT datconnlimit FROM pg_database WHERE datname = 'gnumed_v21'")" 7 "the connection limit is as it was"
[ ! -e "$GMDB_STATE_DIR/procedure.state" ]
ok $? "no procedure was recorded"
same orig_v21 gnumed_v21
ok $? "gnumed_v21 is exactly as it was"
[ $? = 0 ] || sed 's/^/# /' "$tmp/cmp.out" | head -n 20

# --- room enough: the same check passes, the run works --------------------------------
room 600
run gm-upgrade_server --check --no-backup 21 22
is "$rc" 0 "--check with $(avail_mb "$fs") MB free: exit 0"
like "$out" "ok +free space: [0-9]+ MB free on the file system of $cl/data" "the free-space line says ok"
like "$out" "ready: gm-upgrade_server 21 22 would start now" "and the upgrade would start"

# --- the backup directory too small ----------------------------------------------------
mount -t tmpfs -o size=8m,mode=755 gmdb-test-backup "$bk" || bail "cannot mount the backup tmpfs"
chown postgres: "$bk"
run gm-upgrade_server --check --backup-dir "$bk" 21 22
is "$rc" 3 "--check with an 8 MB backup directory: exit 3"
like "$out" "FAILED +free space: [0-9]+ MB free on the file system of $bk, the run writes up to [0-9]+ MB there \(backup [0-9]+ MB\)" \
	"the backup's file system is measured with the backup's estimate"
run gm-upgrade_server --yes --backup-dir "$bk" 21 22
is "$rc" 3 "a real run with it: exit 3"
like "$err" "free space: [0-9]+ MB free on the file system of $bk" "it names the backup directory"
is "$(ls -A "$bk")" "" "nothing was written into the backup directory"
exists gnumed_v22
is "$?" 1 "no gnumed_v22 was made"

# --- pg_dump fails anyway (the disk fills meanwhile): no partial dump is left ------------
umount "$bk"
mount -t tmpfs -o size=300m,mode=755 gmdb-test-backup "$bk" || bail "cannot mount the backup tmpfs"
chown postgres: "$bk"
gm-upgrade_server --yes --backup-dir "$bk" 21 22 >"$tmp/bk.out" 2>"$tmp/bk.err" &
pid=$!
for i in $(seq 400); do ls -d "$bk"/backup-*.dir >/dev/null 2>&1 && break; sleep 0.025; done
fallocate -l "$(($(df -B1 --output=avail "$bk" | tail -n 1) - 65536))" "$bk/filler" 2>/dev/null ||
	dd if=/dev/zero of="$bk/filler" bs=1M 2>/dev/null
wait "$pid"
rc=$?
is "$rc" 1 "the disk of the backup fills while pg_dump writes: exit 1"
like "$(cat "$tmp/bk.err")" "pg_dump of \"gnumed_v21\" failed" "the error says pg_dump failed"
like "$(cat "$tmp/bk.err")" "the partial dump $bk/backup-upgrade_v21_to_v22-.*\.dir is removed" "and that the partial dump is removed"
is "$(ls -A "$bk")" "filler" "nothing of the dump is left"
exists gnumed_v22
is "$?" 1 "no gnumed_v22 was made"
umount "$bk"

# --- backups: named, listed, pruned ----------------------------------------------------
for i in 1 2; do
	# the second one gzip'ed: a backup is a backup at any level
	gm-upgrade_server --yes $([ "$i" = 2 ] && echo --backup-compress=1) 21 22 >"$tmp/run$i.out" 2>"$tmp/run$i.err" ||
		{ cat "$tmp/run$i.err"; bail "upgrade $i failed"; }
	sql postgres -c "DROP DATABASE gnumed_v22" >/dev/null
	sleep 1
done
is "$(for d in "$GMDB_BACKUP_DIR"/backup-*.dir; do ls "$d" | grep -c '\.dat\.gz$'; done | grep -vc '^0$')" 1 \
	"--backup-compress=1: that backup's data files are gzip'ed, the other's not"
mkdir "$GMDB_BACKUP_DIR/backup-upgrade_v21_to_v22-elsewhere-2020-01-01-00-00-00.dir"
chown postgres: "$GMDB_BACKUP_DIR"/*.dir
run gm-upgrade_server --list-backups
is "$rc" 0 "--list-backups: exit 0"
is "$(printf '%s\n' "$out" | grep -c '^gnumed_v21 .* v21  v22 .* UTC .* MB  ')" 2 "it lists both backups of gnumed_v21, with versions, time and size"
like "$out" "elsewhere.*\(incomplete" "a dump without gmdb's record is listed as incomplete"
run gm-upgrade_server --list-backups --json
like "$out" '"database": "gnumed_v21", "from": 21, "to": 22, "finished": "[0-9-]+ [0-9:]+ UTC", "bytes": [1-9][0-9]*, "complete": true' \
	"--json gives the same"
newest=$(printf '%s\n' "$out" | sed -n 's/.*"path": "\([^"]*\)", "database": "gnumed_v21".*/\1/p' | head -n 1)
pg_restore -l "$newest" >/dev/null
ok $? "pg_restore reads the listed backup (gmdb's record in it is no trouble)"
run gm-upgrade_server --prune-backups 1 --check
is "$rc" 0 "--prune-backups 1 --check: exit 0"
is "$(ls -d "$GMDB_BACKUP_DIR"/*.dir | wc -l)" 3 "and removes nothing"
like "$out" "would remove gnumed_v21" "it says which it would remove"
run gm-upgrade_server --prune-backups 1
is "$rc" 0 "--prune-backups 1: exit 0"
is "$(ls -d "$GMDB_BACKUP_DIR"/*.dir | sort)" "$(printf '%s\n%s' "$GMDB_BACKUP_DIR/backup-upgrade_v21_to_v22-elsewhere-2020-01-01-00-00-00.dir" "$newest" | sort)" \
	"the newest backup of gnumed_v21 and the incomplete dump are kept, the older one is gone"
run gm-upgrade_server --prune-backups 0
is "$rc" 2 "--prune-backups 0: a usage error"

# --- the disk fills during the run: the message says so, and what to do first -----------
room 600
gm-upgrade_server --yes --no-backup 21 22 >"$tmp/full.out" 2>"$tmp/full.err" &
pid=$!
for i in $(seq 400); do grep -q 'cloning' "$tmp/full.err" 2>/dev/null && break; sleep 0.025; done
fallocate -l "$(($(df -B1 --output=avail "$fs" | tail -n 1) - 65536))" "$fs/filler" 2>/dev/null ||
	dd if=/dev/zero of="$fs/filler" bs=1M 2>/dev/null
wait "$pid"
rc=$?
is "$rc" 1 "the data directory's disk fills during the upgrade: exit 1"
like "$(cat "$tmp/full.err")" "hint: The server (ran out of disk space|is down|ended the run.s connection)" "the hint says what happened to the server"
like "$(cat "$tmp/full.err")" "First (free space|start it|make sure of the cause)" "and what to do first"
like "$(cat "$tmp/full.err")" "then run \"gm-upgrade_server 21 22\" again" "and then"
grep '^hint' "$tmp/full.err" | sed 's/^/# /'
rm -f "$fs/filler"
# the server may be down, or still recovering from its own crash (the
# postmaster restarts after a PANIC): wait for that before starting it
up=
for i in $(seq 120); do
	sql postgres -c 'SELECT 1' >/dev/null 2>&1 && { up=1; break; }
	[ -f "$cl/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$cl/data/postmaster.pid")" 2>/dev/null || break
	sleep 0.5
done
if [ -z "$up" ]; then
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" start "$cl" "$PGPORT" >/dev/null 2>&1 || {
		tail -n 20 "$cl/server.log" | sed 's/^/# /'
		bail "the server does not start again"
	}
fi
same orig_v21 gnumed_v21
ok $? "gnumed_v21 is exactly as it was"
[ $? = 0 ] || sed 's/^/# /' "$tmp/cmp.out" | head -n 20
run gm-upgrade_server --yes --no-backup 21 22
is "$rc" 0 "with room again, the upgrade runs (after what the failed run left)"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 5 | sed 's/^/# /'

done_testing
