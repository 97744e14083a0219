#!/bin/bash
# The postgres OS user owns gmdb's state directory and plays the attacker
# there: links to a root-only file, hard links, FIFOs and directories in
# place of every file root uses (hba-lock/lock, hba-lock/state, the kept
# original, procedure.lock, procedure.state, procedure.state.new, the
# hba-lock directory itself). Then root runs gm-hba-lock status/lock/unlock
# and gm-upgrade_server --recover: the root-only file keeps its content,
# owner and mode, and every run either works or refuses (exit 3) with a
# message naming the file. And --recover on a damaged journal refuses,
# keeps it and names it. gm-hba-lock changes pg_hba.conf: a private cluster.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"

[ "$(id -u)" = 0 ] || bail "this test plays root against the postgres OS user: run it as root"
id postgres >/dev/null 2>&1 || bail "there is no OS user postgres"

private_workdir state-links
canary=$(mktemp /root/gmdb-canary-XXXXXX) || bail "cannot make the canary"
canary_dir=$(mktemp -d /root/gmdb-canary-dir-XXXXXX) || bail "cannot make the canary directory"
cleanup_extra() { rm -rf "$canary" "$canary_dir"; }

printf 'root only\n' >"$canary"
chmod 600 "$canary"
printf 'root only too\n' >"$canary_dir/file"
chmod 600 "$canary_dir/file"
chmod 700 "$canary_dir"
canary_was="$(stat -c '%U:%G %a %s' "$canary") $(sha256sum <"$canary")"
canary_dir_was="$(ls -la --time-style=+ "$canary_dir" | sed 1d | awk '{print $1, $3, $4, $5, $NF}' | sort) $(sha256sum <"$canary_dir/file")"
canary_now() { echo "$(stat -c '%U:%G %a %s' "$canary") $(sha256sum <"$canary")"; }
canary_dir_now() {
	echo "$(ls -la --time-style=+ "$canary_dir" | sed 1d | awk '{print $1, $3, $4, $5, $NF}' | sort) $(sha256sum <"$canary_dir/file")"
}

private_cluster "$cl"
hba=$cl/data/pg_hba.conf
cp -p "$hba" "$tmp/hba.orig"
export GMDB_STATE_DIR=$tmp/state
export GMDB_LOG_DIR=$tmp/log
state=$GMDB_STATE_DIR
as_pg() { runuser -u postgres -- "$@"; }

# A fresh state directory of the postgres OS user's, and pg_hba.conf as it
# was (a lock that worked is taken back by hand).
reset_state() {
	rm -rf "$state"
	mkdir -p "$state/hba-lock"
	chmod 755 "$state"
	chmod 700 "$state/hba-lock"
	chown -R postgres:postgres "$state"
	if ! cmp -s "$hba" "$tmp/hba.orig"; then
		cp -p "$tmp/hba.orig" "$hba"
		sql postgres -c "SELECT pg_reload_conf()" >/dev/null
	fi
}

# plant KIND NAME: what postgres puts at $state/NAME.
plant() {
	local kind=$1 path=$state/$2
	case $kind in
	symlink) as_pg ln -s "$canary" "$path" ;;
	dirlink) as_pg ln -s "$canary_dir" "$path" ;;
	# protected_hardlinks keeps postgres from linking root's file; a system
	# without it would not: root plants it in postgres's name
	hardlink) ln "$canary" "$path" ;;
	fifo) as_pg mkfifo "$path" ;;
	directory) as_pg mkdir "$path" ;;
	esac
}

# check_run WHAT NAME: the last run worked (0) or refused with 3, naming NAME.
check_run() {
	local what=$1 name=$2
	case $rc in
	0) ok 0 "$what: works (exit 0)" ;;
	3) like "$err" "could not use \"$state/$name\": it (is a symbolic link|is a FIFO|is a directory|has other hard links)" \
		"$what: refused (exit 3), naming \"$name\" and what it is" ;;
	*) ok 1 "$what: exit $rc (not 0 or 3)"; printf '#   %s\n' "$err" | head -n 20 ;;
	esac
}

# runs NAME: root runs every tool that touches the state directory.
runs() {
	local name=$1 c
	for c in status lock unlock; do
		run timeout 60 gm-hba-lock "$c"
		check_run "$2: gm-hba-lock $c" "$name"
	done
	run timeout 60 gm-upgrade_server --recover
	check_run "$2: gm-upgrade_server --recover" "$name"
	is "$(canary_now)" "$canary_was" "$2: the root-only file is as it was (content, owner, mode)"
	is "$(canary_dir_now)" "$canary_dir_was" "$2: the root-only directory is as it was"
}

for name in hba-lock/lock hba-lock/state hba-lock/original procedure.lock procedure.state procedure.state.new; do
	for kind in symlink hardlink fifo directory; do
		reset_state
		plant "$kind" "$name"
		runs "$name" "$kind at $name"
	done
done

# The refusals that must happen (not merely be allowed).
reset_state
plant symlink hba-lock/lock
run timeout 60 gm-hba-lock status
is "$rc" 3 "a link as hba-lock/lock: status exits 3"
like "$err" "could not use \"$state/hba-lock/lock\": it is a symbolic link \(expected a regular file owned by postgres\)" \
	"and says what it is and what was expected"
like "$err" "hint: " "with a hint"
run timeout 60 gm-hba-lock lock
is "$rc" 3 "a link as hba-lock/lock: lock exits 3"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is untouched"

reset_state
plant fifo hba-lock/state
run timeout 60 gm-hba-lock unlock
is "$rc" 3 "a FIFO as hba-lock/state: unlock exits 3 (and does not hang)"
like "$err" "\"$state/hba-lock/state\": it is a FIFO" "naming it"

reset_state
plant directory hba-lock/original
run timeout 60 gm-hba-lock lock
is "$rc" 3 "a directory as the kept original: lock exits 3"
like "$err" "\"$state/hba-lock/original\": it is a directory" "naming it"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is the original still"

reset_state
plant symlink hba-lock/original
run timeout 60 gm-hba-lock lock
is "$rc" 0 "a link as the kept original: lock replaces the link, not its target"
is "$(stat -c %F "$state/hba-lock/original")" "regular file" "the kept original is a file of its own"
cmp -s "$state/hba-lock/original" "$tmp/hba.orig"
ok $? "holding the original"
run timeout 60 gm-hba-lock unlock
is "$rc" 0 "unlock works"
cmp -s "$hba" "$tmp/hba.orig"
ok $? "pg_hba.conf is the original again"

reset_state
rmdir "$state/hba-lock"
plant dirlink hba-lock
run timeout 60 gm-hba-lock lock
is "$rc" 3 "the hba-lock directory a link to root's directory: lock exits 3"
like "$err" "could not use \"$state/hba-lock\": it is a symbolic link \(expected a directory owned by postgres\)" "naming it"
run timeout 60 gm-hba-lock status
is "$rc" 3 "status exits 3 too"
is "$(canary_dir_now)" "$canary_dir_was" "root's directory is as it was"

reset_state
plant symlink procedure.lock
run timeout 60 gm-upgrade_server --recover
is "$rc" 3 "a link as procedure.lock: --recover exits 3"
like "$err" "could not use \"$state/procedure.lock\": it is a symbolic link" "naming it"

for kind in symlink hardlink fifo directory; do
	reset_state
	plant "$kind" procedure.state
	run timeout 60 gm-upgrade_server --recover
	is "$rc" 3 "a $kind as procedure.state: --recover exits 3"
	like "$err" "could not use \"$state/procedure.state\"" "naming it"
	[ -e "$state/procedure.state" ] || [ -L "$state/procedure.state" ]
	ok $? "and leaves it where it is"
done
is "$(canary_now)" "$canary_was" "the root-only file is as it was after all of it"

# --recover on a journal it cannot understand: refused, kept, named.
# journal TEXT: a journal file as gmdb writes it (version line, checksum).
journal() {
	local body
	body=$(printf 'gmdb-journal 1\n%s\n' "$1")
	printf '%s\nsha256=%s\n' "$body" "$(printf '%s\n' "$body" | sha256sum | cut -d' ' -f1)"
}
good=$(journal 'procedure=upgrade
from=21
to=22
source=gmdb_no_such_db
started=2026-01-01 00:00:00 UTC
pid=999999
intent=hba-lock
hba_was_locked=1')

damaged() {
	local what=$1
	reset_state
	cat >"$state/procedure.state"
	chown postgres:postgres "$state/procedure.state"
	cp -p "$state/procedure.state" "$tmp/journal.before"
	run timeout 60 gm-upgrade_server --recover
	is "$rc" 3 "$what: --recover exits 3"
	like "$err" "error: could not understand the journal \"$state/procedure.state\": $2" "$what: names the journal and says what is wrong"
	like "$err" "is kept as it is; nothing was undone" "$what: says the journal is kept"
	like "$err" "CONNECTION LIMIT" "$what: the hint lists the connection limit to check"
	like "$err" "gm-hba-lock status" "$what: ... and remote access"
	like "$err" "snapshot" "$what: ... and a snapshot or target left behind"
	cmp -s "$state/procedure.state" "$tmp/journal.before"
	ok $? "$what: the journal is kept byte for byte"
	run timeout 60 gm-hba-lock status
	like "$err" "warning: (a downtime procedure may be unfinished, but could not understand the journal|an unfinished downtime procedure)" \
		"$what: the other tools warn about it"
	is "$rc" 0 "$what: and still work"
}
j=$tmp/journal.in
printf '' >"$j"
damaged "an empty journal" "it is empty" <"$j"
printf '%s\n' "$good" | head -c 60 >"$j"
damaged "a truncated journal" "its last line is incomplete" <"$j"
printf '%s\n' "$good" | head -n 4 >"$j"
damaged "a journal cut at a line" "its last line is not its checksum" <"$j"
head -c 512 /dev/urandom >"$j"
damaged "random bytes" "(it holds NUL bytes|it does not start with)" <"$j"
printf '%s\n' "$good" | sed 's/source=gmdb_no_such_db/source=gmdb_other_db/' >"$j"
damaged "a changed journal" "its checksum does not match" <"$j"
printf '%s\n' "$good" | sed '1d; $d' | sed '1i # gmdb: an unfinished downtime procedure; "gm-upgrade_server --recover" undoes it' >"$j"
damaged "a journal of an older gmdb" "it was written by an older gmdb" <"$j"
journal 'procedure=upgrade
source=x
intent=drop-everything' >"$j"
damaged "a journal with a step gmdb never writes" "it records a step \"drop-everything\"" <"$j"

# A journal it can read is recovered, with links planted around it.
reset_state
printf '%s\n' "$good" >"$state/procedure.state"
chown postgres:postgres "$state/procedure.state"
plant symlink procedure.state.new
plant symlink hba-lock/state
run timeout 60 gm-upgrade_server --recover
is "$rc" 0 "an intact journal is recovered (remote access was locked before: nothing to undo)"
like "$out" "recovered: the upgrade 21 22 is undone" "it says so"
[ ! -e "$state/procedure.state" ]
ok $? "and the journal is gone"
is "$(canary_now)" "$canary_was" "the root-only file is as it was"

done_testing
