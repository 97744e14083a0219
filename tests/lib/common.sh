# common.sh - what gmdb's shell tests share (source it after tap.sh)
#
# Provides the built tools on PATH, and for tests that need PostgreSQL a
# throw-away cluster shared by the whole test run (started on first use,
# stopped by tests/zz-stop-cluster.sh) plus real GNUmed databases built once
# per test run by upstream's own bootstrapper:
#   gmref_v2 ... gmref_v21   made by bootstrap_gm_db_system.py (bootstrap-latest chain)
#   gmref_v22                made of gmref_v21 by upstream's update_db-v21_v22.conf
# Tests never connect to a gmref_* database: they clone it (clone_db).
set -u
: "${GMDB_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${GMDB_BUILDDIR:=$GMDB_SRCDIR}"
: "${GMDB_TESTDIR:=$GMDB_BUILDDIR/tests/tmp}"
: "${GMDB_UPSTREAM_DIR:=/var/lib/gnumed/server}"
export GMDB_SRCDIR GMDB_BUILDDIR GMDB_TESTDIR GMDB_UPSTREAM_DIR
export PATH="$GMDB_BUILDDIR/tools:$PATH"
# The programs themselves rather than the wrappers in front of them: each
# call through one costs a shell or a Perl start, about a tenth of a second
# of CPU on a slow machine, and the suite makes thousands of calls. The same
# programs run, in the same environment:
#  - libtool's wrapper script tools/NAME sets LD_LIBRARY_PATH to lib/.libs
#    and execs tools/.libs/NAME (a build with shared libraries);
#  - /usr/bin/psql, pg_dump, ... are postgresql-common's pg_wrapper, which
#    runs the newest installed version's: the directory pgcluster.sh's
#    clusters run theirs from (pgcluster.sh bindir; PGBINDIR overrides it).
if [ -x "$GMDB_BUILDDIR/tools/.libs/gm-upgrade_server" ] && [ -d "$GMDB_BUILDDIR/lib/.libs" ]; then
	export LD_LIBRARY_PATH="$GMDB_BUILDDIR/lib/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	PATH="$GMDB_BUILDDIR/tools/.libs:$PATH"
fi
if tests_pgbin=$("$GMDB_SRCDIR/tests/lib/pgcluster.sh" bindir 2>/dev/null); then
	PATH="$tests_pgbin:$PATH"
fi
# Messages in English whatever the machine's locale.
export LC_ALL=C.UTF-8 LANG=C.UTF-8
unset PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS
mkdir -p "$GMDB_TESTDIR"
chmod 755 "$GMDB_TESTDIR" 2>/dev/null || true

# GMDB_TEST_CLUSTER names a cluster directory (made by pgcluster.sh) to use
# instead of a new one, e.g. to keep the reference databases between runs.
GMDB_CLUSTER=${GMDB_TEST_CLUSTER:-$GMDB_TESTDIR/cluster}

# A free TCP port on 127.0.0.1 (from 5499 on, or GMDB_TEST_PORT).
free_port() {
	local p=${GMDB_TEST_PORT:-5499}
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

# on_free_port DIR FAILURE MAKE: "MAKE DIR PORT" makes a cluster in DIR and
# starts it on PORT; PG* pointed at it. Another test may take the free port
# first: up to five ports are tried, then the test bails out with FAILURE
# and what the last try said.
on_free_port() {
	local dir=$1 failure=$2 make=$3 errs=$GMDB_TESTDIR/cluster.$$.err attempt
	for attempt in 1 2 3 4 5; do
		if "$make" "$dir" $(($(free_port) + RANDOM % 50)) 2>"$errs"; then
			rm -f "$errs"
			eval "$("$GMDB_SRCDIR/tests/lib/pgcluster.sh" env "$dir")"
			unset PGUSER
			return 0
		fi
		"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$dir" >/dev/null 2>&1
		rm -rf "$dir"
	done
	sed 's/^/# /' "$errs"
	rm -f "$errs"
	bail "$failure"
}
new_cluster_on() { "$GMDB_SRCDIR/tests/lib/pgcluster.sh" start "$1" "$2" >/dev/null; }
copied_cluster_on() {
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" copy "$GMDB_CLUSTER" "$1" "$2" >/dev/null &&
		"$GMDB_SRCDIR/tests/lib/pgcluster.sh" start "$1" >/dev/null
}

# private_workdir NAME: a temporary directory of the test's own, $tmp
# (mode 755, under GMDB_TESTDIR), and the place of a private cluster in it,
# $cl; at exit the test's cleanup_extra (if it has one) runs, the cluster
# is stopped and the directory removed.
private_workdir() {
	tmp=$(mktemp -d "$GMDB_TESTDIR/$1.XXXXXX") || bail "cannot make a temporary directory"
	chmod 755 "$tmp"
	cl=$tmp/cluster
	trap private_workdir_cleanup EXIT
}
private_workdir_cleanup() {
	declare -F cleanup_extra >/dev/null && cleanup_extra
	"$GMDB_SRCDIR/tests/lib/pgcluster.sh" stop "$cl" >/dev/null 2>&1
	rm -rf "$tmp"
}

# peer_workdir PREFIX: a temporary directory of the test's own, $tmp
# (/tmp/PREFIX.XXXXXX: short, its cluster's paths too), and in it a
# cluster $cl with the reference databases and local logins by peer as on
# Debian (peer_reference_cluster); at exit the test's cleanup_extra (if it
# has one) runs, the cluster is stopped and the directory removed.
peer_workdir() {
	tmp=$(mktemp -d "/tmp/$1.XXXXXX") || bail "cannot make a temporary directory"
	chmod 755 "$tmp"
	cl=$tmp/cl
	trap private_workdir_cleanup EXIT
	peer_reference_cluster "$cl" "$tmp"
}

# peer_orig_workdir PREFIX: peer_workdir PREFIX with the reference
# databases renamed orig_v21 and orig_v22 (the tests make the real names
# gnumed_vN from them), and gmdb's state, log and configuration
# directories in $tmp.
peer_orig_workdir() {
	local v
	peer_workdir "$1"
	for v in 21 22; do
		sql postgres -c "ALTER DATABASE gmref_v$v RENAME TO orig_v$v" >/dev/null || bail "cannot rename gmref_v$v"
	done
	export GMDB_STATE_DIR=$tmp/state GMDB_LOG_DIR=$tmp/logs GMDB_SYSCONF_DIR=$tmp/etc
	mkdir -p "$GMDB_STATE_DIR" "$GMDB_LOG_DIR" "$tmp/etc"
	chmod 777 "$GMDB_LOG_DIR"
}

# private_cluster DIR: a cluster of the test's own in DIR (for tests that
# change the cluster, e.g. its pg_hba.conf), PG* pointed at it; the caller
# stops it.
private_cluster() {
	on_free_port "$1" "could not start a private test cluster" new_cluster_on
}

# copy_reference_cluster DIR: a private cluster in DIR that is a copy of the
# shared one, its reference databases and roles included (pg_basebackup:
# seconds for its gigabyte), started, PG* pointed at it; the caller stops
# it. A test that uses the real names gnumed_vN for minutes runs there
# instead of holding the shared cluster's names lock all that time: the
# same databases on the same server with the same settings, and the tests
# that need the lock go on meanwhile.
copy_reference_cluster() {
	need_reference
	on_free_port "$1" "could not make a copy of the shared test cluster" copied_cluster_on
}

# Start the shared cluster (once) and point PG* at it.
need_cluster() {
	(
		flock -w 600 9 || { echo "waited 10 minutes for $GMDB_CLUSTER.lock" >&2; exit 1; }
		if [ ! -f "$GMDB_CLUSTER/data/postmaster.pid" ]; then
			port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$GMDB_CLUSTER/data/postgresql.conf" 2>/dev/null | tail -n 1)
			"$GMDB_SRCDIR/tests/lib/pgcluster.sh" start "$GMDB_CLUSTER" "${port:-$(free_port)}" 9>&- >&2 || exit 1
			# GMDB_TEST_CPUACCT (tests/lib/cpuacct.sh): the server's CPU
			# is no one test's: a cgroup of its own, GMDB_TEST_CPUACCT_SHARED
			# (tests/run.sh's), else one beside the test's
			if [ -n "${tap_cg:-}" ]; then
				cg=${GMDB_TEST_CPUACCT_SHARED:-${tap_cg%/*}/gmdb-test.shared-cluster}
				{ mkdir -p "$cg" && head -n 1 "$GMDB_CLUSTER/data/postmaster.pid" >"$cg/cgroup.procs"; } 2>/dev/null || true
			fi
		fi
	) 9>"$GMDB_CLUSTER.lock" || bail "could not start the test cluster"
	eval "$("$GMDB_SRCDIR/tests/lib/pgcluster.sh" env "$GMDB_CLUSTER")"
	unset PGUSER
}

# psql as the superuser, quiet, unaligned, stop on error.
sql() {
	local db=$1; shift
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -d "$db" "$@"
}

# The same for a test's own setup writes into a GNUmed database (which
# defaults to read-only transactions).
sql_rw() {
	local db=$1; shift
	PGOPTIONS="-c client_min_messages=warning -c default_transaction_read_only=off" \
		psql -X -q -A -t -v ON_ERROR_STOP=1 -U postgres -d "$db" "$@"
}

# Build the reference databases (once per test run).
need_reference() {
	need_cluster
	(
		flock -w 1200 9 || { echo "waited 20 minutes for $GMDB_CLUSTER.reference.lock" >&2; exit 1; }
		[ -f "$GMDB_CLUSTER/reference.done" ] && exit 0
		[ -f "$GMDB_UPSTREAM_DIR/bootstrap/bootstrap_gm_db_system.py" ] ||
			{ echo "upstream's bootstrapper is missing: apt-get install gnumed-server python3-psycopg2" >&2; exit 1; }
		logdir="$GMDB_CLUSTER/reference"
		mkdir -p "$logdir" && chmod 777 "$logdir"
		# Upstream's bootstrapper creates databases from template1 and
		# fails if another session is on template1 at that moment (a
		# test's tool, its maintenance connection): a second and third try,
		# the failed try's log kept beside.
		for attempt in 1 2 3; do
			echo "# building gnumed_v2 ... gnumed_v21 with upstream's bootstrapper (about two minutes)" >&2
			for v in $(seq 2 22); do
				sql postgres -c "DROP DATABASE IF EXISTS gnumed_v$v" >/dev/null 2>&1
				sql postgres -c "DROP DATABASE IF EXISTS gmref_v$v" >/dev/null 2>&1
			done
			PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/build-reference.sh" 21 "$logdir" >&2 && break
			[ "$attempt" = 3 ] && exit 1
			for f in "$logdir"/*.log "$logdir"/*.out; do mv -f "$f" "${f%.*}.failed-$attempt.${f##*.}"; done
			echo "# upstream's bootstrapper failed (try $attempt; its logs: $logdir/*.failed-$attempt.log): once more" >&2
		done
		echo "# building gnumed_v22 with upstream's update_db-v21_v22.conf" >&2
		PGUSER=postgres "$GMDB_SRCDIR/tests/gnumed/run-upstream.sh" update_db-v21_v22.conf "$logdir/upstream-v21_v22" >&2 || exit 1
		for v in $(seq 2 22); do
			sql postgres -c "ALTER DATABASE gnumed_v$v RENAME TO gmref_v$v" || exit 1
		done
		# what master_v23_cached kept was made of the old gmref_v22
		rm -f "$GMDB_CLUSTER/master-v23.kept"
		touch "$GMDB_CLUSTER/reference.done"
	) 9>"$GMDB_CLUSTER.reference.lock" || bail "could not build the reference GNUmed databases"
}

# CREATE DATABASE ... TEMPLATE fails while anyone is connected to the
# template: another test may be reading a reference database for a moment
# (chain.sh reads their hashes), so try again for up to a minute. The
# tests' copies are made with STRATEGY FILE_COPY (PostgreSQL 15 and later:
# a checkpoint and a file copy, which on a test cluster without fsync takes
# half the time of the default WAL_LOG's reading and logging every page);
# gmdb clones the same way (lib/upgrade.c).
clone_create() {
	local i
	for i in $(seq 120); do
		sql postgres -c "CREATE DATABASE \"$2\" TEMPLATE \"$1\" OWNER \"$3\" STRATEGY FILE_COPY" >/dev/null 2>"$GMDB_TESTDIR/clone.$$.err" &&
			{ rm -f "$GMDB_TESTDIR/clone.$$.err"; return 0; }
		grep -q 'is being accessed by other users' "$GMDB_TESTDIR/clone.$$.err" || break
		sleep 0.5
	done
	cat "$GMDB_TESTDIR/clone.$$.err" >&2
	rm -f "$GMDB_TESTDIR/clone.$$.err"
	return 1
}

# clone_db SOURCE TARGET: a fresh copy (TARGET dropped first), with the
# source's owner (GNUmed's functions check that gm-dbo owns the database)
# and its database settings.
clone_db() {
	local owner
	owner=$(sql postgres -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$1'") &&
	sql postgres -c "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" >/dev/null &&
	clone_create "$1" "$2" "$owner" &&
	# the database's own settings (default_transaction_read_only, ...) are
	# not part of a template copy
	sql postgres -c "SELECT format('ALTER DATABASE %I SET %s TO %L;', '$2', split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
		FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) c
		WHERE d.datname = '$1' AND s.setrole = 0" | sql postgres >/dev/null
}

# dump_roles FILE: the cluster's roles and memberships (pg_dumpall
# --roles-only) in a form every supported server restores. PostgreSQL 16
# made role grants stricter: "GRANT ... GRANTED BY "gm-dbo"" fails there
# unless gm-dbo holds ADMIN OPTION on the role, which a PostgreSQL-15 GNUmed
# cluster does not record. The GRANTED BY clauses go (the restoring
# superuser grants; the memberships and their options are the same), and
# so does the CREATE ROLE of the superuser the target cluster has already.
dump_roles() {
	pg_dumpall -U postgres --roles-only >"$1.raw" &&
	sed -E -e '/^CREATE ROLE postgres;$/d' \
		-e 's/ GRANTED BY ("([^"]|"")*"|[[:alnum:]_$]+);$/;/' "$1.raw" >"$1" &&
	rm -f "$1.raw"
}

# restore_roles FILE: what dump_roles wrote, into the cluster PG* names;
# any error fails it.
restore_roles() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres -f "$1" >/dev/null
}

# peer_reference_cluster DIR TMP: a private cluster in DIR, local logins by
# peer as on Debian (the superuser by trust: the tests run as root), holding
# the shared cluster's roles and its gmref_v21 and gmref_v22 (dumped through
# TMP, uncompressed and side by side: compressing would take longer than
# copying); PG* name it afterwards.
peer_reference_cluster() {
	local cl=$1 tmp=$2 p1 p2
	dump_roles "$tmp/roles.sql" || bail "cannot dump the roles of the reference cluster"
	pg_dump -U postgres -Fc -Z0 -f "$tmp/v21.dump" gmref_v21 & p1=$!
	pg_dump -U postgres -Fc -Z0 -f "$tmp/v22.dump" gmref_v22 & p2=$!
	wait "$p1" && wait "$p2" || bail "cannot dump the reference databases"
	private_cluster "$cl"
	printf 'local all postgres trust\nlocal all all peer\nhost all all 127.0.0.1/32 trust\n' >"$cl/data/pg_hba.conf"
	sql postgres -c "SELECT pg_reload_conf()" >/dev/null || bail "cannot reload the private cluster"
	restore_roles "$tmp/roles.sql" || bail "cannot restore the roles of the reference cluster in the private cluster"
	# GNUmed databases default to read-only transactions
	PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$tmp/v21.dump" & p1=$!
	PGOPTIONS="-c default_transaction_read_only=off" pg_restore -U postgres --create -d postgres "$tmp/v22.dump" & p2=$!
	wait "$p1" && wait "$p2" || bail "cannot restore the reference databases in the private cluster"
	rm -f "$tmp"/*.dump
}

# The tests of a run's wait for its closed sessions' backends (gmdb(7)):
# linger_sql prints SQL in upstream's form (single quotes: its runner knows
# no dollar quotes) that leaves a temporary table gmt_linger in its session
# and waits, up to 60 s, until another session holds a lock on it; the
# session's backend then waits for that lock at its end. linger_find DB
# prints "PID SCHEMA" of gm-dbo's session on DB running it and of the
# table, once both are there (linger_wait PID DB waits for that while PID
# runs); linger_lock DB SCHEMA holds the lock (in the background),
# linger_release lets go.
linger_sql() {
	cat <<'EOF'
-- gmdb's tests (tests/lib/common.sh, linger_sql): a temporary table, kept until someone holds a lock on it
create temporary table gmt_linger (a integer);
DO '
DECLARE
	t0 timestamptz := pg_catalog.clock_timestamp();
BEGIN
	WHILE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l WHERE l.relation = ''pg_temp.gmt_linger''::regclass
			AND l.pid <> pg_catalog.pg_backend_pid() AND l.granted)
	      AND pg_catalog.clock_timestamp() < t0 + interval ''60 s'' LOOP
		PERFORM pg_catalog.pg_sleep(0.05);
	END LOOP;
END';
EOF
}
linger_find() {
	local owner ns
	owner=$(sql postgres -v db="$1" <<'EOF'
SELECT pid FROM pg_stat_activity WHERE datname = :'db' AND usename = 'gm-dbo' AND state = 'active' AND query LIKE '%gmt_linger%';
EOF
)
	# only then a session on DB: before, it could meet a run's check that
	# nobody is connected there (--downtime's "a local session is open")
	[ -n "$owner" ] || return 1
	ns=$(sql "$1" -c "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'gmt_linger'" 2>/dev/null)
	[ -n "$ns" ] && echo "$owner $ns"
}
# linger_wait PID DB: while PID runs (up to 60 s), until linger_find DB
# finds the lingering session; sets $owner and $ns (empty: not found)
linger_wait() {
	local n
	owner= ns=
	for n in $(seq 1200); do
		kill -0 "$1" 2>/dev/null || return 0
		read -r owner ns < <(linger_find "$2")
		[ -n "$ns" ] && return 0
		sleep 0.05
	done
}
linger_lock() {
	sql_rw "$1" -c "BEGIN" -c "LOCK TABLE $2.gmt_linger IN ACCESS SHARE MODE" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 8>&- &
}
linger_release() {
	sql postgres -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)'" >/dev/null
}

drop_db() {
	sql postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null
}

# Tests that need the real names (gnumed_vN) run one at a time.
serialize_gnumed_tests() {
	exec 8>"$GMDB_CLUSTER.names.lock"
	flock 8
}

# The roles lock: a test that compares the shared cluster's roles, their
# members or role settings as they are minutes apart (master.sh, guard.sh)
# holds it for its whole run; a test that makes a role or a role setting
# there for a while holds it meanwhile (lock_roles ... unlock_roles), so
# that the two never meet, whichever order make starts them in.
lock_roles() {
	exec 6>"$GMDB_CLUSTER.roles.lock"
	flock 6
}
unlock_roles() {
	exec 6>&-
}

# need_upstream_master: upstream's development tree (ncqgm/gnumed master,
# the future v23), one of the project's shared inputs: the tarball
# GMDB_UPSTREAM_MASTER names, or ../shared/upstream/gnumed-master-*-server.tar.gz
# beside the checkout (as CI has it). Unpacked into DIR (default
# $GMDB_TESTDIR/upstream-master) with the "Gnumed" link its own engine
# imports itself through; GMDB_UPSTREAM_MASTER_DIR names its server/. A
# missing tarball fails the test: these tests are never skipped.
need_upstream_master() {
	local dir=${1:-$GMDB_TESTDIR/upstream-master} tarball
	tarball=${GMDB_UPSTREAM_MASTER:-$(ls "$GMDB_SRCDIR"/../shared/upstream/gnumed-master-*-server.tar.gz 2>/dev/null | head -n 1)}
	[ -n "$tarball" ] && [ -f "$tarball" ] ||
		bail "upstream's development tree is missing: no gnumed-master-*-server.tar.gz in $GMDB_SRCDIR/../shared/upstream (or set GMDB_UPSTREAM_MASTER)"
	rm -rf "$dir" && mkdir -p "$dir" && tar -xzf "$tarball" -C "$dir" && chmod -R a+rX "$dir" &&
		ln -s "$dir/server" "$dir/Gnumed" || bail "cannot unpack $tarball"
	GMDB_UPSTREAM_MASTER_DIR=$dir/server
	GMDB_UPSTREAM_MASTER_TARBALL=$tarball
}

# master_engine CONF LOG: upstream's development engine (need_upstream_master)
# on one of its definitions, against the cluster PG* names, as its own
# upgrade-db.sh and fixup-db.sh run it (--quiet); its log is LOG, its
# output LOG.out. A definition that says "interactive = yes" (fixup_db-v22.conf,
# update_db-vX_vY.conf alone) asks "Type yes or no:" once and aborts on
# anything else, end of input included: it is answered yes. Runs as root:
# the engine becomes postgres itself.
master_engine() {
	local conf=$1 log=$2
	rm -f "$log"
	# its TMPDIR while it runs: LOG.tmp (tests/lib/engine-tmpdir.sh)
	(cd "$GMDB_UPSTREAM_MASTER_DIR/bootstrap" && echo yes | GM_CLUSTER_PORT=$PGPORT \
		"$GMDB_SRCDIR/tests/lib/engine-tmpdir.sh" "$log.tmp" /usr/bin/python3 ./bootstrap_gm_db_system.py \
		--log-file="$log" --conf-file="$conf" --quiet) >"$log.out" 2>&1
}

# master_v23_masks SINCE: compare-db.sh's options for two v23 databases made
# from the same v22 by master's engine or by gmdb (tests/gnumed/master.sh
# says why each; SINCE: the time before either run), one per line
master_v23_masks() {
	printf '%s\n' -B -m modified_when -m version_created_when -m version_logged_when -m gm.schema_revision.imported \
		-s "$1" -r clin.clin_root_item.clin_when -r clin.intake.clin_when -r clin.intake_regimen.clin_when \
		-m pk_audit -m pk_audit_trail -m src_row_pk_audit -o src_table_oid \
		-m clin.intake.pk -m clin.intake.pk_item -m clin.clin_root_item.pk_item -m clin.intake_regimen.fk_intake
}

# master_intake_links DB: each regimen of a v23 with the intake it belongs to,
# by content (the intakes' serials are masked by master_v23_masks)
master_intake_links() {
	sql "$1" -c "SELECT i.fk_encounter, i.fk_episode, i.fk_substance, i.use_type, i.narrative, i.notes4patient,
			i.notes4us, r.amount, r.unit, r.narrative, r.comment_on_start, r.discontinued, r.discontinue_reason,
			r.planned_duration
		FROM clin.intake_regimen r JOIN clin.intake i ON i.pk = r.fk_intake ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"
}

# master_v23 LOG TARGET [FIXED]: a v23 made by upstream's development engine
# from a copy of the real v22 (upgrade_db-v22_v23.conf: the fixup of
# gnumed_v22 in place, then the update), renamed TARGET; the fixed-up copy
# of v22 is renamed FIXED, or dropped. Needs need_upstream_master and
# serialize_gnumed_tests (it uses the real names).
master_v23() {
	local log=$1 target=$2 fixed=${3:-}
	clone_db gmref_v22 gnumed_v22 && drop_db gnumed_v23 && drop_db "$target" || return 1
	[ -z "$fixed" ] || drop_db "$fixed" || return 1
	master_engine upgrade_db-v22_v23.conf "$log" || return 1
	sql postgres -c "ALTER DATABASE gnumed_v23 RENAME TO \"$target\"" >/dev/null || return 1
	if [ -n "$fixed" ]; then
		sql postgres -c "ALTER DATABASE gnumed_v22 RENAME TO \"$fixed\"" >/dev/null
	else
		drop_db gnumed_v22
	fi
}

# The v23 of master_v23, and the v22 its fixup left behind, are the same
# databases whichever test asks for them: the cluster keeps one such run
# (gmref_master_v23, gmref_master_v22fix) for the tests that use its result
# (audit-master.sh, plausibility-master.sh, guard.sh), which copy it
# (master_v23_cached), instead of running the engine once each.
# tests/gnumed/master.sh, which runs the engine twice on copies of the real
# v22 and compares the runs (with each other, and with gmdb's), keeps its
# first run (master_v23_keep): in make check it runs first. The kept pair
# belongs to one tarball and one gmref_v22 (need_reference forgets it when
# it builds the reference anew): master-v23.kept in the cluster directory
# names the tarball, and is written after both databases are complete.
master_v23_kept() {
	[ "$(cat "$GMDB_CLUSTER/master-v23.kept" 2>/dev/null)" = "$(sha256sum <"$GMDB_UPSTREAM_MASTER_TARBALL")" ] &&
		[ "$(sql postgres -c "SELECT count(*) FROM pg_database WHERE datname IN ('gmref_master_v23', 'gmref_master_v22fix')")" = 2 ]
}

# master_v23_keep V23 V22FIXED: keep copies of a v23 and fixed-up v22 that
# master_v23 made (unless a pair is kept already). Needs
# serialize_gnumed_tests.
master_v23_keep() {
	master_v23_kept && return 0
	rm -f "$GMDB_CLUSTER/master-v23.kept"
	clone_db "$1" gmref_master_v23 && clone_db "$2" gmref_master_v22fix &&
		sha256sum <"$GMDB_UPSTREAM_MASTER_TARBALL" >"$GMDB_CLUSTER/master-v23.kept"
}

# master_v23_cached LOG TARGET [FIXED]: what master_v23 LOG TARGET [FIXED]
# makes, copied from the kept run; made by master_v23 (its log LOG) and
# kept if there is none. Needs need_upstream_master, and
# serialize_gnumed_tests unless master_v23_kept (copying the kept pair
# does not use the real names; making it does).
master_v23_cached() {
	local log=$1 target=$2 fixed=${3:-}
	if ! master_v23_kept; then
		rm -f "$GMDB_CLUSTER/master-v23.kept"
		master_v23 "$log" gmref_master_v23 gmref_master_v22fix &&
			sha256sum <"$GMDB_UPSTREAM_MASTER_TARBALL" >"$GMDB_CLUSTER/master-v23.kept" || return 1
	fi
	clone_db gmref_master_v23 "$target" || return 1
	[ -z "$fixed" ] || clone_db gmref_master_v22fix "$fixed"
}
