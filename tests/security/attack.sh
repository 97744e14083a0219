#!/bin/bash
# The attack layer of issue 13 (trust boundaries): gm-dbo and the postgres
# OS user plant what they can in real GNUmed databases and in gmdb's state
# directory, then root runs every tool on them. Afterwards gm-dbo is no
# superuser, no role appeared, nothing planted ran with superuser rights,
# no file outside gmdb's own changed, and every run either worked or said
# why it refused. tests/security/README lists the vectors and what each
# one proves.
#
# It runs in a private cluster (the tools edit its pg_hba.conf) set up as
# Debian ships one: peer for postgres, passwords for everyone else; gm-dbo
# has a password and plants over the socket as itself. gmref_v21 and
# gmref_v22 are copied in from the shared reference cluster; every
# database attacked is a clone of them.
. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/common.sh"
need_reference
here=$GMDB_SRCDIR/tests/security

# short paths: the socket lives under the cluster directory
tmp=$(mktemp -d /tmp/gmatk.XXXXXX) || bail "cannot make a temporary directory"
chmod 755 "$tmp"
cl=$tmp/cl
# the tools' logs and the server's are kept in tests/tmp/attack for a look afterwards
keep=$GMDB_TESTDIR/attack
cleanup() {
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$cl" >/dev/null 2>&1
	rm -rf "$keep" && mkdir -p "$keep" && cp -a "$tmp/logs" "$cl/server.log" "$keep/" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- the databases, from the shared reference cluster ---------------------------------
dump_roles "$tmp/roles.sql" || bail "cannot dump the roles of the reference cluster"
pg_dump -U postgres -Fc -Z0 -f "$tmp/v21.dump" gmref_v21 & p1=$!
pg_dump -U postgres -Fc -Z0 -f "$tmp/v22.dump" gmref_v22 & p2=$!
wait "$p1" && wait "$p2" || bail "cannot dump the reference databases"
private_cluster "$cl"
restore_roles "$tmp/roles.sql" || bail "cannot restore the roles of the reference cluster in the private cluster"
PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$tmp/v21.dump" & p1=$!
PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$tmp/v22.dump" & p2=$!
wait "$p1" && wait "$p2" || bail "cannot restore the reference databases in the private cluster"
for v in 21 22; do
	sql postgres -c "ALTER DATABASE gmref_v$v RENAME TO orig_v$v" >/dev/null || bail "cannot rename gmref_v$v"
done
rm -f "$tmp"/*.dump "$tmp/roles.sql"
[ "$(sql postgres -c "SELECT string_agg(rolname, ', ') FROM pg_roles WHERE rolsuper AND rolname <> 'postgres'")" = "" ] ||
	bail "the reference cluster has superusers besides postgres (an earlier attack got through?)"

# --- the cluster as Debian ships it ----------------------------------------------------
# postgres by peer (root too: the test's own psql), everyone else by password
hba=$cl/data/pg_hba.conf ident=$cl/data/pg_ident.conf
dbo_pw=gm-dbo-knows-this
sql postgres -c "ALTER ROLE \"gm-dbo\" PASSWORD '$dbo_pw'" >/dev/null || bail "cannot give gm-dbo a password"
cat >"$hba" <<'HBA'
# as Debian ships it; root may connect as postgres (the test's own psql)
local   all   postgres                       peer map=gmdbtest
local   all   all                            scram-sha-256
host    all   all        127.0.0.1/32        scram-sha-256
HBA
printf 'gmdbtest postgres postgres\ngmdbtest root postgres\n' >"$ident"
chown postgres: "$hba" "$ident" && chmod 600 "$hba" "$ident"
sql postgres -c "SELECT pg_reload_conf()" >/dev/null || bail "cannot reload the private cluster"
sleep 0.5
[ "$(PGPASSWORD=$dbo_pw psql -X -A -t -w -U gm-dbo -d postgres -c 'SELECT 1' 2>&1)" = 1 ] ||
	bail "gm-dbo cannot log in with its password"
psql -X -A -t -w -U gm-dbo -d postgres -c 'SELECT 1' >/dev/null 2>&1 &&
	bail "gm-dbo can log in without its password: the cluster is not set up as Debian's"

# psql as gm-dbo (GNUmed databases default to read-only transactions)
dbo() {
	local db=$1; shift
	PGPASSWORD=$dbo_pw PGOPTIONS="-c client_min_messages=warning -c default_transaction_read_only=off" \
		psql -X -q -A -t -w -v ON_ERROR_STOP=1 -U gm-dbo -d "$db" "$@"
}
# gm-dbo's CREATE DATABASE ... TEMPLATE; the template's settings copied by
# postgres (lc_messages is not gm-dbo's to set)
dbo_clone() {  # SOURCE NAME
	echo 'CREATE DATABASE :"n" TEMPLATE :"src";' | dbo postgres -v src="$1" -v n="$2" >/dev/null &&
	sql postgres -v src="$1" -v n="$2" >/dev/null <<-'EOF'
	SELECT pg_catalog.format('ALTER DATABASE %I SET %s TO %L', :'n', split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
	  FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase,
	       pg_catalog.unnest(s.setconfig) c
	 WHERE d.datname = :'src' AND s.setrole = 0 \gexec
	EOF
}
# the schema hash as gm-dbo sees it (the test never calls a gm-dbo
# function as a superuser itself)
dbo_hash() { dbo "$1" -c "SELECT pg_catalog.md5(gm.concat_table_structure())"; }
v21_hash=$(dbo_hash orig_v21) && v22_hash=$(dbo_hash orig_v22) || bail "cannot read the schema hashes as gm-dbo"

# --- gm-dbo plants (vectors a, b, e) ---------------------------------------------------
psqlbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
plant() {  # DB FILE...
	local db=$1 f; shift
	for f in "$@"; do
		dbo "$db" -v psqlbin="$psqlbin" -v dry="${GMDB_ATTACK_DRY:-0}" -f "$here/$f" >"$tmp/plant.out" 2>&1 ||
			{ sed 's/^/# /' "$tmp/plant.out"; bail "gm-dbo could not plant $f in $db"; }
	done
}
clone_db orig_v21 gnumed_v21 || bail "cannot clone orig_v21"
clone_db orig_v22 atk_v22 || bail "cannot clone orig_v22"
clone_db orig_v22 atk_fp || bail "cannot clone orig_v22"
plant gnumed_v21 plant-common.sql plant-functions.sql plant-index.sql plant-count.sql plant-upgrade.sql
plant atk_v22 plant-common.sql plant-functions.sql plant-index.sql plant-count.sql
plant atk_fp plant-common.sql plant-functions.sql plant-fingerprint.sql
is "$(dbo_hash gnumed_v21)" "$v21_hash" "setup: the planted gnumed_v21 still has the schema hash of v21"
is "$(dbo_hash atk_v22)" "$v22_hash" "setup: the planted atk_v22 still has the schema hash of v22"
echo "# planted as gm-dbo: $(dbo gnumed_v21 -c "SELECT string_agg(what, ', ') FROM evil.planted")"
dbo atk_fp -c "SELECT pg_catalog.md5(message) FROM cfg.db_logon_banner" >"$tmp/fp-banner.md5"

# The harness sees what it must: evil.attack() run by gm-dbo leaves a
# record; run by a superuser it leaves one that says so, and escalates
# (through COPY TO PROGRAM: the database defaults to read-only
# transactions). Undone before the "before" is taken.
probe_from=$(stat -c %s "$cl/server.log")
dbo atk_v22 -c "SELECT evil.attack('probe')" >/dev/null
sql atk_v22 -c "SELECT evil.attack('probe')" >/dev/null
sleep 0.2
probe=$(tail -c +$((probe_from + 1)) "$cl/server.log" | grep -a -o 'gmdb-attack: tag=probe .*superuser=.' | sed 's/.*superuser=//' | sort | paste -sd ' ' -)
is "$probe" "f t" "setup: evil.attack() records in the server log who ran it, gm-dbo or a superuser"
if [ "${GMDB_ATTACK_DRY:-0}" = 0 ]; then
	is "$(sql postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'gm-dbo'")/$(sql postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'evil_probe_program'")" \
		t/1 "setup: run by a superuser, evil.attack() escalates (so the checks below can fail)"
fi
sql postgres -c 'ALTER ROLE "gm-dbo" NOSUPERUSER' -c 'DROP ROLE IF EXISTS evil_probe' -c 'DROP ROLE IF EXISTS evil_probe_program' >/dev/null
sql_rw atk_v22 -c "DELETE FROM public.attack_log WHERE tag = 'probe'" >/dev/null

# vector c: databases named by gm-dbo (who has CREATEDB), clones of the v22
names=("x\" superuser login password 'pw' --" "gm x" "gm'a")
esc_name=$'gm\e[31mred'
for n in "${names[@]}" "$esc_name"; do
	dbo_clone orig_v22 "$n" || bail "gm-dbo cannot create database \"$n\""
done

# vector d: gmdb's directories; the state directory is the postgres OS user's
export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs GMDB_BACKUP_DIR=$tmp/backups GMDB_SYSCONF_DIR=$tmp/etc
mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" "$GMDB_BACKUP_DIR" "$tmp/etc/gnumed" "$tmp/etc/cron.daily" "$tmp/out"
chown postgres: "$GMDB_STATE_DIR" "$GMDB_BACKUP_DIR"
chmod 777 "$GMDB_LOG_DIR"
printf 'GM_DATABASE="gnumed_v21"\n' >"$tmp/etc/gnumed/gnumed-backup.conf"
printf '[profile local]\nhost =\ndatabase = gnumed_v21\n' >"$tmp/etc/gnumed/gnumed-client.conf"
st=$GMDB_STATE_DIR
as_pg() { runuser -u postgres -- "$@"; }
pg_plant() { as_pg "$@" || bail "the postgres OS user could not plant: $*"; }
# a journal --recover refused is kept: where it was, or set aside beside it
kept() {  # COPY
	local f
	for f in $(find "$st" -type f -name "${journal##*/}*"); do cmp -s "$f" "$1" && return 0; done
	return 1
}
# root's files the planted links point at: a root-only canary with a
# secret in it, a world-readable one (anyone knows its checksum), a
# root-only directory
secret=CANARY-$RANDOM$RANDOM-SECRET
canary=$tmp/canary canary2=$tmp/canary2 rootdir=$tmp/rootdir
make_files() {
	rm -rf "$canary" "$canary2" "$rootdir"
	# key=value lines, so that a tool reading it as its state has something to show
	printf '%s\n' "procedure=fixup" "source=$secret" "path=$secret" "original_sha256=$secret" \
		"locked_sha256=$secret" >"$canary" && chmod 600 "$canary"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$canary2" && chmod 644 "$canary2"
	mkdir -m 700 "$rootdir"
}
files_state() { stat -c '%n %u:%g %a %s' "$canary" "$canary2" "$rootdir"; sha256sum "$canary" "$canary2"; ls -A "$rootdir"; }
make_files
files_before=$(files_state)
cp -p "$hba" "$tmp/hba.orig" && cp -p "$ident" "$tmp/ident.orig"

# Everything gm-dbo and postgres did is in place: what is there now is the
# "before". Roles with their rights; the server log from here on.
roles_q="SELECT rolname || ' super=' || rolsuper || ' login=' || rolcanlogin || ' createrole=' || rolcreaterole
	 || ' createdb=' || rolcreatedb || ' replication=' || rolreplication || ' bypassrls=' || rolbypassrls
	 FROM pg_catalog.pg_roles ORDER BY 1"
sql postgres -c "$roles_q" >"$tmp/roles.before"
log_start=$(stat -c %s "$cl/server.log")
phase_log=$log_start

# --- the checks --------------------------------------------------------------------------
nrun=0
# tool LABEL CMD...: run it as root, keep its output, say how it went
tool() {
	local label=$1 first; shift
	run "$@"
	nrun=$((nrun + 1))
	printf '%s\n' "$label" >"$tmp/out/$nrun.label"
	printf '%s\n' "$out" >"$tmp/out/$nrun.stdout"
	printf '%s\n' "$err" >"$tmp/out/$nrun.stderr"
	first=$(printf '%s\n' "$err" | grep -m 1 'error:')
	[ -n "$first" ] || first=$(printf '%s\n%s\n' "$err" "$out" | grep -m 1 .)
	echo "# diag: $label: exit $rc: $(printf '%s' "$first" | LC_ALL=C tr -d '\000-\037\177' | cut -c 1-200)"
}
# the same for a run the test kills on purpose (GMDB_TEST_CRASH_AT): no
# "Killed" from the shell
crash() { local label=$1; shift; tool "$label" sh -c '"$@"; exit $?' sh "$@"; }
# the run worked, or refused with a documented exit status and a reason
# that is not a raw SQL error
documented() {  # WHAT
	local why=
	case $rc in
	0) ;;
	1 | 2 | 3 | 4)
		printf '%s\n' "$err" | grep -q 'error: .' || why="exit $rc without an error message"
		printf '%s\n' "$err" | grep -Eiq 'syntax error|42601|unterminated (quoted|dollar)|zero-length delimited' &&
			why="a raw SQL syntax error" ;;
	*) why="exit $rc is not one of the documented statuses" ;;
	esac
	is "$why" "" "$1: worked, or refused with a documented status and a reason"
}
expect() {  # WHAT STATUS
	is "$rc" "$2" "$1: exit $2"
	[ "$rc" = "$2" ] || printf '%s\n' "$err" | tail -n 4 | LC_ALL=C tr -d '\000-\010\013-\037\177' | sed 's/^/#   /'
}
# Each check below puts back what it found changed, so that the next
# one's result is its own.
files_intact() {  # WHAT
	is "$(files_state)" "$files_before" "$1: root's canary files and directory are untouched"
	[ "$(files_state)" = "$files_before" ] || make_files
}
hba_intact() {  # WHAT
	if cmp -s "$hba" "$tmp/hba.orig" && cmp -s "$ident" "$tmp/ident.orig"; then
		ok 0 "$1: pg_hba.conf and pg_ident.conf are back to their exact bytes"
	else
		ok 1 "$1: pg_hba.conf and pg_ident.conf are back to their exact bytes"
		diff "$tmp/hba.orig" "$hba" | head -n 10 | sed 's/^/#   /'
		cp -p "$tmp/hba.orig" "$hba" && cp -p "$tmp/ident.orig" "$ident"
		sql postgres -c "SELECT pg_reload_conf()" >/dev/null
	fi
}
# roles that appeared or whose rights changed, but for the rightless group
# role upstream makes for each database it works on
role_changes() {
	sql postgres -c "$roles_q" >"$tmp/roles.now"
	{ sql postgres -c "SELECT datname FROM pg_database"; printf '%s\n' "${names[@]}"; } >"$tmp/dbs"
	diff "$tmp/roles.before" "$tmp/roles.now" | sed -n 's/^[<>] //p' | while IFS= read -r line; do
		name=${line% super=*}
		case $line in
		*" super=false login=false createrole=false createdb=false replication=false bypassrls=false")
			grep -qxF -- "$name" "$tmp/dbs" && ! grep -qF -- "$name super=" "$tmp/roles.before" && continue ;;
		esac
		printf '%s\n' "$line"
	done
}
# the planted code's records since OFFSET that match PATTERN, as
# "N tag in database;..."
superuser_runs() {  # OFFSET PATTERN
	tail -c +$(($1 + 1)) "$cl/server.log" | grep -a -o 'gmdb-attack: .*' | LC_ALL=C tr -d '\000-\011\013-\037\177' |
		grep -a "$2" | sed -E 's/.*tag=([^ ]*) db=(.*) before=.*/\1 in \2/' | sort | uniq -c | awk '{$1=$1; print}' |
		paste -sd ';' -
}
# After each phase: gm-dbo is no superuser, no role appeared, nothing
# planted ran with superuser rights nor in a superuser's session. Then
# the damage is undone.
no_escalation() {  # PHASE
	local changes
	is "$(sql postgres -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'gm-dbo'")" f "$1: gm-dbo is not a superuser"
	changes=$(role_changes)
	is "$(printf '%s' "$changes" | paste -sd ';' -)" "" "$1: no role appeared, no role's rights changed"
	is "$(superuser_runs "$phase_log" 'superuser=t')" "" "$1: nothing gm-dbo planted ran with superuser rights"
	is "$(superuser_runs "$phase_log" 'superuser=f session=super')" "" \
		"$1: no superuser session ran gm-dbo's code, not even as gm-dbo (SECURITY DEFINER, REINDEX)"
	echo "# diag: $1 (at ${SECONDS} s): planted code that ran in an ordinary session: $(superuser_runs "$phase_log" 'session=ordinary')"
	phase_log=$(stat -c %s "$cl/server.log")
	sql postgres -c 'ALTER ROLE "gm-dbo" NOSUPERUSER' >/dev/null
	printf '%s\n' "$changes" | while IFS= read -r line; do
		name=${line% super=*}
		[ -n "$line" ] && ! grep -qF -- "$name super=" "$tmp/roles.before" &&
			echo 'DROP ROLE IF EXISTS :"r";' | sql postgres -v r="$name" >/dev/null
	done
}

# --- d) the postgres OS user's links in the state directory --------------------------------
pg_plant mkdir -p "$st/hba-lock"
pg_plant ln -sfn "$canary2" "$st/hba-lock/lock"
pg_plant ln -sfn "$canary" "$st/hba-lock/state"
pg_plant ln -sfn "$canary" "$st/hba-lock/original"
for cmd in status lock unlock; do
	tool "gm-hba-lock $cmd, state files linked to root's" gm-hba-lock $cmd
	documented "gm-hba-lock $cmd (state files are links)"
done
files_intact "hba-lock/lock, state, original as links"
hba_intact "hba-lock/lock, state, original as links"
rm -rf "$st/hba-lock"

# the whole hba-lock directory a link to a root-only directory
pg_plant ln -sfn "$rootdir" "$st/hba-lock"
for cmd in lock unlock; do
	tool "gm-hba-lock $cmd, hba-lock/ linked to a root directory" gm-hba-lock $cmd
	documented "gm-hba-lock $cmd (hba-lock/ is a link)"
done
files_intact "hba-lock/ as a link"
hba_intact "hba-lock/ as a link"
rm -rf "$st/hba-lock"

# a forged lock state: "unlock" would put postgres's bytes into a root
# file whose checksum anyone can compute
pg_plant mkdir -p "$st/hba-lock"
printf 'forged by postgres\n' >"$tmp/forged" && chmod 644 "$tmp/forged"
as_pg sh -c 'umask 077; cat "$1" >"$2/hba-lock/original"' sh "$tmp/forged" "$st" || bail "postgres cannot plant"
as_pg sh -c 'umask 077; printf "%s\n" "# gm-hba-lock" "path=$1" "locked_at=2026-01-01 00:00:00 UTC" \
	"locked_at_epoch=1767225600" "pid=1" "user=root" "command=gm-hba-lock lock" \
	"original_sha256=$2" "locked_sha256=$3" >"$4/hba-lock/state"' sh \
	"$canary2" "$(sha256sum <"$tmp/forged" | cut -d' ' -f1)" "$(sha256sum <"$canary2" | cut -d' ' -f1)" "$st" ||
	bail "postgres cannot plant"
for cmd in status unlock "unlock --force"; do
	tool "gm-hba-lock $cmd, a forged state naming a root file" gm-hba-lock $cmd
	documented "gm-hba-lock $cmd (forged state)"
done
files_intact "a forged hba-lock state"
hba_intact "a forged hba-lock state"
rm -rf "$st/hba-lock"

# a truncated real state file, of a procedure killed after the connection
# limit: refused and kept; the whole file then undoes everything
limit_before=$(sql postgres -c "SELECT datconnlimit FROM pg_database WHERE datname = 'gnumed_v21'")
banner_before=$(dbo gnumed_v21 -c "SELECT pg_catalog.md5(message) FROM cfg.db_logon_banner")
GMDB_TEST_CRASH_AT=connlimit crash "gm-upgrade_server --downtime, killed after the connection limit" \
	gm-upgrade_server --downtime --no-backup --yes --grace 1 21 22
expect "gm-upgrade_server --downtime killed after the connection limit" 137
# the journal it left: procedure.state today; whatever regular file it
# is, it must be in the state directory
journal=$st/procedure.state
[ -f "$journal" ] || journal=$(find "$st" -type f -newer "$tmp/roles.before" ! -name '*lock*' | head -n 1)
if [ -n "$journal" ] && [ -s "$journal" ]; then
	echo "# diag: the journal is $journal"
	cp -p "$journal" "$tmp/state.full"
	head -c $(($(stat -c %s "$tmp/state.full") / 2)) "$tmp/state.full" >"$journal"
	cp "$journal" "$tmp/state.planted"
	tool "gm-upgrade_server --recover, truncated state file" gm-upgrade_server --recover
	[ "$rc" != 0 ]
	ok $? "--recover refuses a truncated state file (exit $rc)"
	documented "gm-upgrade_server --recover (truncated state file)"
	kept "$tmp/state.planted"
	ok $? "and keeps it as it was"
	rm -f "$journal"
	for f in $(find "$st" -type f -name "${journal##*/}*"); do cmp -s "$f" "$tmp/state.planted" && rm -f "$f"; done
	cp -p "$tmp/state.full" "$journal"
else
	ok 1 "the killed procedure left its journal in the state directory"
	journal=$st/procedure.state
fi
tool "gm-upgrade_server --recover, the whole state file" gm-upgrade_server --recover
expect "gm-upgrade_server --recover with the whole state file" 0
is "$(sql postgres -c "SELECT datconnlimit FROM pg_database WHERE datname = 'gnumed_v21'")" "$limit_before" \
	"the connection limit of gnumed_v21 is restored"
is "$(dbo gnumed_v21 -c "SELECT pg_catalog.md5(message) FROM cfg.db_logon_banner")" "$banner_before" \
	"the banner of gnumed_v21 is as it was"
rm -f "$journal"

# the downtime procedure's lock and temporary state file as links; the
# procedure killed right after its first change (if it does not refuse)
pg_plant ln -sfn "$canary" "$st/procedure.lock"
pg_plant ln -sfn "$canary2" "$journal.new"
GMDB_TEST_CRASH_AT=notice crash "gm-upgrade_server --downtime, procedure.lock and .new linked to root's" \
	gm-upgrade_server --downtime --no-backup --yes --grace 1 21 22
[ "$rc" = 137 ] || documented "gm-upgrade_server --downtime (procedure.lock and .new are links)"
files_intact "procedure.lock and procedure.state.new as links"
rm -f "$st/procedure.lock" "$journal.new"
tool "gm-upgrade_server --recover after it" gm-upgrade_server --recover
documented "gm-upgrade_server --recover (after the links)"
rm -f "$journal"

# the journal itself a link to a root-only file
pg_plant ln -sfn "$canary" "$journal"
tool "gm-hba-lock status, procedure.state linked to a root-only file" gm-hba-lock status
documented "gm-hba-lock status (procedure.state is a link)"
tool "gm-upgrade_server --recover, procedure.state linked to a root-only file" gm-upgrade_server --recover
[ "$rc" != 0 ]
ok $? "--recover refuses a state file that is a link (exit $rc)"
documented "gm-upgrade_server --recover (procedure.state is a link)"
files_intact "procedure.state as a link"
rm -f "$journal"

# state files --recover cannot understand: random bytes, empty
for kind in random empty; do
	case $kind in
	random) as_pg sh -c 'head -c 700 /dev/urandom >"$1"' sh "$journal" ;;
	empty) as_pg sh -c ': >"$1"' sh "$journal" ;;
	esac
	cp "$journal" "$tmp/state.planted"
	tool "gm-upgrade_server --recover, $kind state file" gm-upgrade_server --recover
	[ "$rc" != 0 ]
	ok $? "--recover refuses a state file of $kind bytes (exit $rc)"
	documented "gm-upgrade_server --recover (state file of $kind bytes)"
	kept "$tmp/state.planted"
	ok $? "and keeps it as it was"
	like "$err" "${journal##*/}" "and names it"
	rm -f "$journal"
	for f in $(find "$st" -type f -name "${journal##*/}*"); do cmp -s "$f" "$tmp/state.planted" && rm -f "$f"; done
done

files_intact "the state file tests"
hba_intact "the state file tests"
no_escalation "the state directory tests (the downtime runs read gnumed_v21)"

# --- the fingerprint -----------------------------------------------------------------------
tool "gm-fingerprint_db atk_v22" gm-fingerprint_db atk_v22
expect "gm-fingerprint_db on the planted atk_v22" 0
tool "gm-fingerprint_db -e 22 atk_v22" gm-fingerprint_db -e 22 atk_v22
expect "gm-fingerprint_db -e 22: the planted atk_v22 has v22's hash" 0
tool "gm-fingerprint_db --verify-hash atk_v22" gm-fingerprint_db --verify-hash atk_v22
expect "gm-fingerprint_db --verify-hash on the planted atk_v22" 0
tool "gm-fingerprint_db -t --json atk_v22" gm-fingerprint_db -t --json atk_v22
expect "gm-fingerprint_db -t --json on the planted atk_v22" 0
tool "gm-fingerprint_db -e 21 gnumed_v21" gm-fingerprint_db -e 21 gnumed_v21
expect "gm-fingerprint_db -e 21 on the planted gnumed_v21" 0
tool "gm-fingerprint_db -t atk_fp" gm-fingerprint_db -t atk_fp
documented "gm-fingerprint_db -t atk_fp (a counted table is a view; search_path set by gm-dbo)"
tool "gm-fingerprint_db --verify-hash atk_fp" gm-fingerprint_db --verify-hash atk_fp
documented "gm-fingerprint_db --verify-hash atk_fp"
no_escalation "gm-fingerprint_db"
# root's own PGOPTIONS pointing at gm-dbo's schemas
PGOPTIONS="-c search_path=evil,public" tool "PGOPTIONS=search_path gm-fingerprint_db -e 22 atk_v22" \
	gm-fingerprint_db -e 22 atk_v22
expect "PGOPTIONS='-c search_path=evil,public' does not change the schema hash of atk_v22" 0
PGOPTIONS="-c search_path=evil,public" tool "PGOPTIONS=search_path gm-fingerprint_db --verify-hash atk_v22" \
	gm-fingerprint_db --verify-hash atk_v22
expect "PGOPTIONS='-c search_path=evil,public' gm-fingerprint_db --verify-hash atk_v22" 0
no_escalation "gm-fingerprint_db with PGOPTIONS"

# --- the banner ----------------------------------------------------------------------------
tool "gm-banner atk_v22 show" gm-banner atk_v22 show
expect "gm-banner show on the planted atk_v22" 0
tool "gm-banner atk_v22 set" gm-banner atk_v22 set "Praxis: 8-12 Uhr"
expect "gm-banner set on the planted atk_v22" 0
tool "gm-banner atk_v22 notice 22 23" gm-banner atk_v22 notice 22 23
expect "gm-banner notice on the planted atk_v22" 0
tool "gm-banner atk_v22 unnotice" gm-banner atk_v22 unnotice
expect "gm-banner unnotice on the planted atk_v22" 0
is "$(dbo atk_v22 -c "SELECT message FROM cfg.db_logon_banner")" "Praxis: 8-12 Uhr" "and the banner is the practice's again"
# on a terminal (script(1) gives it one) the banner's control characters
# are shown, not obeyed; into a pipe or file it goes byte for byte
tool "gm-banner atk_fp show (4 MB with escape sequences, on a terminal)" script -qec "gm-banner atk_fp show" /dev/null
expect "gm-banner show of a 4 MB banner" 0
tool "gm-banner atk_fp notice 22 23 (4 MB)" gm-banner atk_fp notice 22 23
expect "gm-banner notice on a 4 MB banner" 0
tool "gm-banner atk_fp unnotice (4 MB)" gm-banner atk_fp unnotice
expect "gm-banner unnotice on a 4 MB banner" 0
is "$(dbo atk_fp -c "SELECT pg_catalog.md5(message) FROM cfg.db_logon_banner")" "$(cat "$tmp/fp-banner.md5")" \
	"after notice and unnotice the 4 MB banner is the same, byte for byte"
no_escalation "gm-banner"

# --- the hba lock, in a clean state directory ------------------------------------------------
for cmd in lock status unlock; do
	tool "gm-hba-lock $cmd" gm-hba-lock $cmd
	expect "gm-hba-lock $cmd" 0
done
hba_intact "gm-hba-lock lock, unlock"

# --- the fixup of the planted database -------------------------------------------------------
tool "gm-fixup_server -d atk_v22 --check" gm-fixup_server -d atk_v22 --check
expect "gm-fixup_server --check on the planted atk_v22" 0
no_escalation "gm-fixup_server --check"
tool "gm-fixup_server -d atk_v22" gm-fixup_server -d atk_v22
documented "gm-fixup_server on the planted atk_v22"
expect "gm-fixup_server on the planted atk_v22" 0
no_escalation "gm-fixup_server"
plant atk_v22 plant-nasty.sql
tool "gm-fixup_server --downtime -d atk_v22 (names that need quoting)" gm-fixup_server --downtime --grace 1 -d atk_v22
documented "gm-fixup_server --downtime on atk_v22 with names that need quoting"
# upstream's own gm.create_all_enc_epi_sanity_check_triggers(), in the
# database, cannot handle such names (nor can upstream's engine): the run
# fails, says where, and the procedure undoes it all
expect "gm-fixup_server --downtime on atk_v22 with names that need quoting" 1
like "$err" 'error: "select gm.create_all_enc_epi_sanity_check_triggers\(\)": ' \
	"gm-fixup_server --downtime: it is upstream's sanity check generator that fails on them, and the message says so"
hba_intact "gm-fixup_server --downtime"
no_escalation "gm-fixup_server --downtime"

# --- c) the database names gm-dbo chose --------------------------------------------------------
for n in "${names[@]}"; do
	tool "gm-fingerprint_db [$n]" gm-fingerprint_db "$n"
	expect "gm-fingerprint_db on database [$n]" 0
	tool "gm-banner [$n] show" gm-banner "$n" show
	expect "gm-banner show on database [$n]" 0
	tool "gm-fixup_server -d [$n] --check" gm-fixup_server -d "$n" --check
	expect "gm-fixup_server --check on database [$n]" 0
	tool "gm-fixup_server -d [$n]" gm-fixup_server -d "$n"
	documented "gm-fixup_server on database [$n]"
	expect "gm-fixup_server on database [$n]" 0
	no_escalation "database [$n]"
done
# a name with terminal escape sequences: discovery lists it
tool "gm-fixup_server --check (discovery; a database name with escape sequences)" gm-fixup_server --check
documented "gm-fixup_server --check with discovery"
tool "gm-fingerprint_db [a database name with escape sequences]" gm-fingerprint_db "$esc_name"
documented "gm-fingerprint_db on a database name with escape sequences"

# --- the upgrade ---------------------------------------------------------------------------------
tool "gm-upgrade_server --check 21 22" gm-upgrade_server --check 21 22
expect "gm-upgrade_server --check 21 22 on the planted gnumed_v21" 0
no_escalation "gm-upgrade_server --check"
tool "gm-upgrade_server --no-backup --yes 21 22" gm-upgrade_server --no-backup --yes 21 22
documented "gm-upgrade_server 21 22 on the planted gnumed_v21"
expect "gm-upgrade_server 21 22 on the planted gnumed_v21" 0
no_escalation "gm-upgrade_server"
drop_db gnumed_v22
plant gnumed_v21 plant-nasty.sql
tool "gm-upgrade_server --downtime --yes 21 22 (with a backup; names that need quoting)" \
	gm-upgrade_server --downtime --yes --grace 1 21 22
documented "gm-upgrade_server --downtime 21 22 on gnumed_v21 with names that need quoting"
expect "gm-upgrade_server --downtime 21 22 (with a backup; names that need quoting)" 1
like "$err" 'error: "select gm.create_all_enc_epi_sanity_check_triggers\(\)": ' \
	"gm-upgrade_server --downtime: it is upstream's sanity check generator that fails on them, and the message says so"
hba_intact "gm-upgrade_server --downtime"
no_escalation "gm-upgrade_server --downtime"
tool "gm-upgrade_server --recover (nothing to do)" gm-upgrade_server --recover
expect "gm-upgrade_server --recover with nothing recorded" 0

# --- afterwards: the whole run -------------------------------------------------------------------
for db in gnumed_v21 gnumed_v22 atk_v22 atk_fp; do
	exists=$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$db'")
	[ "$exists" = 1 ] || { echo "# diag: $db does not exist (its upgrade failed): no attack_log to read"; continue; }
	is "$(sql "$db" -c "SELECT count(*) FROM public.attack_log WHERE superuser OR superuser_session")" 0 \
		"no row of $db's public.attack_log shows a superuser or a superuser's session"
done
phase_log=$log_start
no_escalation "the whole run"
files_intact "the whole run"
hba_intact "the whole run"
leaked= escaped= banner_escaped=
for f in "$tmp"/out/*.label; do
	label=$(LC_ALL=C tr -d '\000-\037' <"$f")
	cat "${f%.label}.stdout" "${f%.label}.stderr" | grep -aqF -- "$secret" && leaked="$leaked[$label] "
	case $label in
	"gm-banner atk_fp show"*) grep -aq $'\e' "${f%.label}.stdout" && banner_escaped="[$label]" ;;
	*) cat "${f%.label}.stdout" "${f%.label}.stderr" | grep -aq $'\e' && escaped="$escaped[$label] " ;;
	esac
done
is "$leaked" "" "no tool printed the content of a root-only file"
is "$escaped" "" "no tool printed a terminal escape sequence from a database name or comment"
is "$banner_escaped" "" "gm-banner show does not pass the banner's escape sequences to root's terminal raw"

done_testing
