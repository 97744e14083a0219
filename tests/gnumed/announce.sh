#!/bin/bash
# Telling the users in their running clients (issue 10, point 2):
# gm-banner announce / unannounce (a message in the provider inbox of every
# active staff member, as the owner gm-dbo, and exactly those taken out
# again), notice --planned, and --downtime --announce, which leaves no
# announcement or notice of its own in the new database. In a cluster of its
# own (the downtime procedure locks pg_hba.conf), local logins by peer as on
# Debian, so that everything reaches gm-dbo through its temporary peer grant.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference

peer_orig_workdir gma
gm-banner orig_v21 set "Praxis banner" && gm-banner orig_v22 set "Praxis banner" || bail "cannot set the banner"
hba=$cl/data/pg_hba.conf
cp -p "$hba" "$tmp/hba.orig"

# one message of the practice's own in gmdb's inbox item type, the way a
# user or a script could make one: it is not gmdb's and must stay
own_message() {
	sql_rw "$1" -c "INSERT INTO dem.inbox_item_type (fk_inbox_item_category, description, is_user)
		SELECT pk, 'gmdb: planned downtime', false FROM dem.inbox_item_category WHERE description = 'administrative'" \
		-c "INSERT INTO dem.message_inbox (fk_staff, fk_inbox_item_type, comment, data)
		SELECT 1, pk, 'not gmdb''s', 'looks like it' || E'\n\n(gmdb announcement 0123456789abcdef)'
		FROM dem.inbox_item_type WHERE description = 'gmdb: planned downtime'" >/dev/null
}
# the inbox as the practice sees it: every row, and the item types
inbox() {
	sql "$1" -c "SELECT m.pk, m.fk_staff, t.description, m.comment, m.importance, md5(coalesce(m.data, ''))
		FROM dem.message_inbox m JOIN dem.inbox_item_type t ON t.pk = m.fk_inbox_item_type ORDER BY m.pk" \
		-c "SELECT pk, description FROM dem.inbox_item_type ORDER BY pk"
}
# staff aliases whose inbox has gmdb's announcement
announced() {
	sql "$1" -c "SELECT string_agg(s.short_alias, ',' ORDER BY s.pk) FROM dem.message_inbox m
		JOIN dem.inbox_item_type t ON t.pk = m.fk_inbox_item_type JOIN dem.staff s ON s.pk = m.fk_staff
		WHERE t.description = 'gmdb: planned downtime' AND m.data LIKE '%(gmdb announcement %)'
		AND m.comment LIKE 'GNUmed will be unavailable from %'"
}
active=$(sql orig_v22 -c "SELECT string_agg(short_alias, ',' ORDER BY pk) FROM dem.staff WHERE is_active")
inactive=$(sql orig_v22 -c "SELECT count(*) FROM dem.staff WHERE NOT is_active")
[ "$inactive" -ge 1 ] || bail "the reference database has no inactive staff member to leave out"

# --- gm-banner announce / unannounce ---------------------------------------------------
clone_db orig_v22 ann_v22 || bail "cannot copy orig_v22"
before=$(inbox ann_v22)
# a client: listens for GNUmed's table changes while the announcement is made
fifo=$tmp/listen; mkfifo "$fifo"
psql -X -q -U postgres -d ann_v22 <"$fifo" >"$tmp/listen.out" 2>&1 &
lpid=$!
exec 7>"$fifo"
echo "LISTEN gm_table_mod;" >&7
sleep 0.5
run gm-banner ann_v22 announce --in 30 --duration 20 --message "Ring Anna if in doubt." 21 22
is "$rc" 0 "announce: exit 0"
like "$out" "announced in the inbox of $(echo "$active" | tr ',' '\n' | wc -l) active staff members of \"ann_v22\"" "it says how many were told"
is "$(announced ann_v22)" "$active" "every active staff member, and only those, has the announcement in the inbox"
like "$(sql ann_v22 -c "SELECT data FROM dem.message_inbox WHERE fk_staff = 1 ORDER BY pk DESC LIMIT 1" | tr '\n' ' ')" \
	'will be unavailable from [0-9-]+ [0-9:]+ .* for about 20 minutes, for an upgrade from v21 to v22.*save your work and close GNUmed.*Ring Anna' \
	"it says when, how long and what to do"
is "$(sql ann_v22 -c "SELECT DISTINCT m.modified_by FROM dem.message_inbox m JOIN dem.inbox_item_type t ON t.pk = m.fk_inbox_item_type WHERE t.description = 'gmdb: planned downtime'")" \
	"gm-dbo" "the messages were written as the owner gm-dbo"
echo "SELECT 1;" >&7
sleep 0.5
exec 7>&-
wait "$lpid"
is "$(grep -c 'Asynchronous notification "gm_table_mod" with payload "operation=INSERT::table=dem.message_inbox' "$tmp/listen.out")" \
	"$(echo "$active" | tr ',' '\n' | wc -l)" "a listening client was told of each new message at once (gm_table_mod)"
run gm-banner ann_v22 unannounce
is "$rc" 0 "unannounce: exit 0"
like "$out" "took [0-9]+ announcements of gmdb out of the inboxes of \"ann_v22\"" "it says how many it took out"
is "$(inbox ann_v22)" "$before" "the inbox and its item types are as they were"
run gm-banner ann_v22 unannounce
is "$rc" 0 "unannounce again: exit 0"
like "$err" "hold no announcement of gmdb: nothing to do" "and says there was nothing to do"

own_message ann_v22
before=$(inbox ann_v22)
gm-banner ann_v22 announce >/dev/null || bail "announce failed"
run gm-banner ann_v22 unannounce
is "$rc" 0 "unannounce next to a message of the practice's in gmdb's item type: exit 0"
is "$(inbox ann_v22)" "$before" "only gmdb's announcements were taken out: the practice's message and the item type stay"

run gm-banner ann_v22 announce --in -5
is "$rc" 2 "announce --in -5: a usage error"
run gm-banner ann_v22 announce 21
is "$rc" 2 "announce with FROM but no TO: a usage error"
run gm-banner ann_v22 unannounce --duration 5
is "$rc" 2 "unannounce --duration: a usage error"
run gm-banner postgres announce
is "$rc" 3 "announce in a database without a provider inbox: exit 3"

run gm-banner ann_v22 notice --planned --in 30 --duration 20 21 22
is "$rc" 0 "notice --planned: exit 0"
like "$(gm-banner ann_v22 show)" "A downtime of this GNUmed database is planned from [0-9-]+ [0-9:]+ .* for about 20 minutes \(an upgrade from v21 to v22\)" \
	"the banner says when, how long and what for"
gm-banner ann_v22 unnotice
is "$(gm-banner ann_v22 show)" "Praxis banner" "unnotice gives the practice's banner back"

# --- --downtime --announce: the announcement first, none left afterwards ------------------
fresh() { clone_db "orig_v$1" "gnumed_v$1" || bail "cannot copy orig_v$1"; }
drop_db gnumed_v22
fresh 21
GMDB_TEST_CRASH_AT=announce run gm-upgrade_server --downtime --announce 0 --duration 15 --no-backup --grace 1 21 22
is "$rc" 137 "kill -9 right after the announcement"
is "$(announced gnumed_v21)" "$active" "by then every active staff member had the announcement"
like "$(gm-banner gnumed_v21 show)" "A downtime of this GNUmed database is planned from .* for about 15 minutes \(an upgrade from v21 to v22\)" \
	"and the banner the planned downtime"
run gm-hba-lock status --json
like "$out" '"locked": false' "nobody was locked out yet"
run gm-upgrade_server --recover
is "$rc" 0 "--recover: exit 0"
is "$(announced gnumed_v21)" "" "it took the announcement out"
is "$(inbox gnumed_v21)" "$(inbox orig_v21)" "the inbox is as it was"
is "$(gm-banner gnumed_v21 show)" "Praxis banner" "and the banner"

run gm-upgrade_server --downtime --announce 0 --duration 15 --no-backup --grace 1 21 22
is "$rc" 0 "--downtime --announce 0: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 5 | sed 's/^/# /'
like "$err" "announcing the downtime of \"gnumed_v21\" \(in 0 minutes\) \.\.\. ok" "it announced first"
is "$(announced gnumed_v22)" "" "the new database holds no announcement"
is "$(sql gnumed_v22 -c "SELECT count(*) FROM dem.inbox_item_type WHERE description = 'gmdb: planned downtime'")" 0 \
	"nor gmdb's inbox item type"
is "$(gm-banner gnumed_v22 show)" "Praxis banner" "and its banner is the practice's"
is "$(announced gnumed_v21)" "" "the old database holds no announcement either"
like "$(gm-banner gnumed_v21 show)" "replaced by \"gnumed_v22\"" "its banner says what replaced it"

run gm-upgrade_server --announce 5 21 22
is "$rc" 2 "--announce without --downtime: a usage error"
run gm-upgrade_server --downtime --duration 5 21 22
is "$rc" 2 "--duration without --announce: a usage error"

# --- the fixup too --------------------------------------------------------------------
drop_db gnumed_v21
drop_db gnumed_v22
fresh 22
run gm-fixup_server --downtime --announce 0 --grace 1 -d gnumed_v22 22
is "$rc" 0 "gm-fixup_server --downtime --announce 0: exit 0"
[ "$rc" = 0 ] || printf '%s\n' "$err" | tail -n 5 | sed 's/^/# /'
like "$err" "announcing the downtime of \"gnumed_v22\"" "it announced first"
is "$(announced gnumed_v22)" "" "no announcement is left in the fixed database"
is "$(gm-banner gnumed_v22 show)" "Praxis banner" "and no notice in its banner"

done_testing
