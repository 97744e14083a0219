#!/bin/bash
# gm-banner on a real GNUmed database (a clone of gmref_v22, made by
# upstream's bootstrapper): round trips of the banner, and of the downtime
# notice, which must leave the practice's own text byte for byte. What is in
# the table is always checked with psql, not with the tool itself.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference

db=bn_v22
clone_db gmref_v22 $db || bail "cannot clone gmref_v22"
# a clone does not inherit the database's settings: make it read-only by
# default as upstream's bootstrapper does for gnumed_v22
sql postgres -c "ALTER DATABASE $db SET default_transaction_read_only = on" >/dev/null
BEGIN_LINE='*** Notice from the database administrator (gmdb) ***'

hexstr() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
# the banner as stored, in hex ("" when there is no row)
stored_hex() { sql $db -c "SELECT encode(convert_to(message, 'UTF8'), 'hex') FROM cfg.db_logon_banner"; }
rows() { sql $db -c "SELECT count(*) FROM cfg.db_logon_banner"; }
# how often the begin line is in the banner
markers() {
	sql $db -v m="$BEGIN_LINE" <<'SQL'
SELECT coalesce((length(message) - length(replace(message, :'m', ''))) / length(:'m'), 0) FROM cfg.db_logon_banner
SQL
}
# write the banner with psql, from hex ("" = no banner)
set_raw() {
	if [ -z "$1" ]; then
		sql $db -c "BEGIN READ WRITE; DELETE FROM cfg.db_logon_banner; COMMIT" >/dev/null
	else
		sql $db -c "BEGIN READ WRITE; DELETE FROM cfg.db_logon_banner;
			INSERT INTO cfg.db_logon_banner (message) VALUES (convert_from(decode('$1', 'hex'), 'UTF8')); COMMIT" >/dev/null
	fi
}
# what "show" prints, in hex
show_hex() { gm-banner $db show | od -An -v -tx1 | tr -d ' \n'; }
# a field of "show --json": hex of the string, or null
json_field() {
	gm-banner $db show --json |
		/usr/bin/python3 -c 'import json, sys; v = json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else v.encode().hex())' "$1"
}

is "$(sql $db -c "SHOW default_transaction_read_only")" on \
	"the GNUmed database defaults to read-only transactions (so every write below needs READ WRITE)"

# --- show ------------------------------------------------------------------------
ref=$(stored_hex)
like "$(sql $db -c "SELECT message FROM cfg.db_logon_banner")" "^Welcome to the USS Enterprise" "the clone has upstream's demo banner"
run gm-banner $db show
is "$rc" 0 "show exits 0"
is "$err" "" "show says nothing on stderr"
is "$(show_hex)" "${ref}0a" "show prints the banner byte for byte, and a newline"
is "$(json_field banner)" "$ref" "show --json: \"banner\" is the banner"
is "$(json_field original)" "$ref" "show --json: \"original\" is the banner (no notice)"
is "$(json_field notice)" null "show --json: \"notice\" is null"
is "$(gm-banner $db show --json | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["database"])')" \
	"$db" "show --json: \"database\" is the database"

# --- set and clear -------------------------------------------------------------------
text=$'It\'s "quoted", \'twice\'; a \\ backslash, \\\\ two, \\n (not a newline), $1, %s, E\'\\x41\'\nGr\u00fc\u00dfe aus M\u00fcnchen: \u00c4rztin, \u00e9t\u00e9, \u20ac 5, \u65e5\u672c\u8a9e'
run gm-banner $db set "$text"
is "$rc" 0 "set with quotes, backslashes, a newline and non-ASCII letters exits 0"
is "$(stored_hex)" "$(hexstr "$text")" "the table holds that text byte for byte"
is "$(show_hex)" "$(hexstr "$text")0a" "show gives it back byte for byte"
is "$(json_field banner)" "$(hexstr "$text")" "show --json gives it back byte for byte"
is "$(rows)" 1 "one row"

text=$'\n  starts with a newline,\n\nends with two spaces and two newlines  \n\n'
printf '%s\n' "$text" | gm-banner $db set -
is "$?" 0 "set - exits 0"
is "$(stored_hex)" "$(hexstr "$text")" "set - takes standard input less one trailing newline, byte for byte"
gm-banner $db show | gm-banner $db set -
is "$(stored_hex)" "$(hexstr "$text")" "show | set - changes nothing"
printf -- '-starts with a dash' | gm-banner $db set -
is "$(stored_hex)" "$(hexstr "-starts with a dash")" "set - takes a text starting with a dash"
gm-banner $db set -- "--two dashes"
is "$(stored_hex)" "$(hexstr "--two dashes")" "set -- TEXT takes a text starting with dashes"

run gm-banner $db set $'  \n\t'
is "$rc" 2 "set of a blank text exits 2"
like "$err" "the banner text is empty or only white space" "and says so"
is "$(stored_hex)" "$(hexstr "--two dashes")" "and leaves the banner alone"

run gm-banner $db clear
is "$rc" 0 "clear exits 0"
is "$(rows)" 0 "clear removes the row"
run gm-banner $db show
is "$rc" 0 "show without a banner exits 0"
is "$out$err" "" "and prints nothing"
is "$(json_field banner)" null "show --json: \"banner\" is null"
is "$(json_field original)" null "show --json: \"original\" is null"
run gm-banner $db clear
is "$rc" 0 "clear without a banner exits 0"
is "$(rows)" 0 "and there is still no row"

# --- notice and unnotice keep the original byte for byte -----------------------------
originals=(
	"$ref"
	""
	"$(hexstr $'\n\nstarts with two newlines')"
	"$(hexstr $'ends with two newlines\n\n')"
	"$(hexstr '  spaces before and after  ')"
	"$(hexstr $' \n newlines and spaces at both ends \n ')"
	"$(hexstr $'\n')"
	"$(hexstr $'It\'s "quoted" \\ back\\slash \u00c4rztin \u20ac')"
	"$(hexstr "$BEGIN_LINE")"
)
names=(
	"upstream's demo banner" "no banner" "leading newlines" "trailing newlines" "spaces at both ends"
	"newlines and spaces at both ends" "a single newline" "quotes, backslashes, non-ASCII"
	"a text that is only the begin line"
)
for i in "${!originals[@]}"; do
	orig=${originals[$i]} name=${names[$i]}
	set_raw "$orig"
	before_rows=$(rows)
	# the practice's own text may hold the begin line: one more notice then
	want_markers=$(( $(markers) + 1 ))
	run gm-banner $db notice 21 22
	is "$rc" 0 "$name: notice exits 0"
	is "$(markers)" "$want_markers" "$name: the banner has one notice"
	like "$(sql $db -c "SELECT message FROM cfg.db_logon_banner")" "^\*\*\* Notice from the database administrator \(gmdb\) \*\*\*
An upgrade of this GNUmed database from v21 to v22 has been in progress since " "$name: the notice comes first"
	is "$(json_field original)" "${orig:-null}" "$name: show --json has the original byte for byte"
	run gm-banner $db notice 21 22
	is "$rc" 0 "$name: notice again exits 0"
	is "$(markers)" "$want_markers" "$name: still one notice (a notice replaces a notice)"
	run gm-banner $db unnotice
	is "$rc" 0 "$name: unnotice exits 0"
	is "$out$err" "" "$name: unnotice prints nothing"
	is "$(stored_hex)" "$orig" "$name: unnotice gives the original back byte for byte"
	is "$(rows)" "$before_rows" "$name: as many rows as before ($before_rows)"
	run gm-banner $db unnotice
	is "$rc" 0 "$name: unnotice again exits 0"
	is "$err" "the logon banner of database \"$db\" has no notice from gmdb: nothing to do" "$name: and says so"
	is "$(stored_hex)" "$orig" "$name: and changes nothing"
done

# --- the kinds of notice ------------------------------------------------------------
set_raw "$ref"
TZ=UTC gm-banner $db notice 21 22
msg=$(sql $db -c "SELECT message FROM cfg.db_logon_banner")
like "$msg" "from v21 to v22 has been in progress since [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC\." \
	"the upgrade notice gives the time in the zone of the tool (TZ=UTC)"
TZ=Europe/Berlin gm-banner $db notice --fixup 22
msg=$(sql $db -c "SELECT message FROM cfg.db_logon_banner")
like "$msg" "A repair \(fixup\) of this GNUmed database \(v22\) has been in progress since [-0-9]{10} [0-9:]{5} CES?T \(UTC\+0[12]:00\)\." \
	"--fixup replaces it with the fixup notice, with a named time zone and its offset (TZ=Europe/Berlin)"
unlike "$msg" "from v21 to v22" "the upgrade notice is gone"
is "$(markers)" 1 "one notice"
gm-banner $db notice --replaced-by gnumed_v23
msg=$(sql $db -c "SELECT message FROM cfg.db_logon_banner")
like "$msg" "This GNUmed database was replaced by \"gnumed_v23\" on .*
Please connect to gnumed_v23 instead" "--replaced-by replaces it with the replaced-by notice"
is "$(markers)" 1 "one notice"
like "$(json_field notice)" "^$(hexstr 'This GNUmed database was replaced by')" "show --json: \"notice\" is the notice text"
is "$(sql $db -c "SELECT public._(message) = message FROM cfg.db_logon_banner")" t \
	"clients (select _(message)) see the notice and banner verbatim"
gm-banner $db unnotice
is "$(stored_hex)" "$ref" "after three notices, unnotice gives the original back"

# someone edits the practice's text while the notice is up: the edit stays
gm-banner $db notice 21 22
sql $db -c "BEGIN READ WRITE; UPDATE cfg.db_logon_banner SET message = replace(message, 'Welcome to the USS', 'Hello from the USS'); COMMIT" >/dev/null
gm-banner $db unnotice
is "$(stored_hex)" "$(hexstr "$(sql $db -c "SELECT replace(convert_from(decode('$ref', 'hex'), 'UTF8'), 'Welcome to the USS', 'Hello from the USS')")")" \
	"an edit of the original text during the notice survives unnotice"
set_raw "$ref"

# set replaces notice and all
gm-banner $db notice 21 22
gm-banner $db set "plain"
is "$(stored_hex)" "$(hexstr plain)" "set replaces a banner with a notice, notice and all"

# a notice whose text was changed by hand: neither notice nor unnotice touch it
gm-banner $db notice 21 22
sql $db -c "BEGIN READ WRITE; UPDATE cfg.db_logon_banner SET message = replace(message, 'may be lost', 'will be lost'); COMMIT" >/dev/null
damaged=$(stored_hex)
run gm-banner $db unnotice
is "$rc" 3 "unnotice of a damaged notice exits 3"
like "$err" "error: the logon banner of database \"$db\" starts with a damaged gmdb notice" "and says so"
like "$err" "hint: Look at it with \"gm-banner $db show\"" "and says what to do"
is "$(stored_hex)" "$damaged" "and leaves the banner alone"
run gm-banner $db notice --fixup 22
is "$rc" 3 "notice on a damaged notice exits 3"
is "$(stored_hex)" "$damaged" "and leaves the banner alone"

# a banner whose message is NULL counts as none
sql $db -c "BEGIN READ WRITE; DELETE FROM cfg.db_logon_banner; INSERT INTO cfg.db_logon_banner (message) VALUES (NULL); COMMIT" >/dev/null
run gm-banner $db show
is "$rc:$out" "0:" "a NULL message: show prints nothing"
gm-banner $db notice 21 22 && gm-banner $db unnotice
is "$(rows)" 0 "a NULL message is no banner: after notice and unnotice there is no row"

# a member of gm-doctors (who may write the banner in GNUmed, spec 9) can
# do all of it, without being a superuser
set_raw "$ref"
lock_roles
sql postgres -c "DROP ROLE IF EXISTS bn_doctor" >/dev/null
sql postgres -c "CREATE ROLE bn_doctor LOGIN IN ROLE \"gm-doctors\"" >/dev/null || bail "cannot create a gm-doctors member"
run gm-banner -U bn_doctor $db notice 21 22
is "$rc" 0 "a member of gm-doctors: notice exits 0"
is "$(markers)" 1 "a member of gm-doctors: the notice is there"
run gm-banner -U bn_doctor $db unnotice
is "$rc:$(stored_hex)" "0:$ref" "a member of gm-doctors: unnotice gives the original back"
run gm-banner -U bn_doctor $db set "Praxis geschlossen"
is "$rc:$(stored_hex)" "0:$(hexstr "Praxis geschlossen")" "a member of gm-doctors: set works"
run gm-banner -U bn_doctor $db clear
is "$rc:$(rows)" "0:0" "a member of gm-doctors: clear works"
sql postgres -c "DROP ROLE bn_doctor" >/dev/null
unlock_roles

drop_db $db
done_testing
