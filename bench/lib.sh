# lib.sh - what gmdb's benchmarks share (source it)
#
# Builds on tests/lib/common.sh: the tools of the build tree on PATH
# (GMDB_BUILDDIR, default the repository top), the cluster of
# GMDB_TEST_CLUSTER (else a throw-away one of the tests) and the reference
# databases gmref_v2 ... gmref_v22 (built by upstream's bootstrapper if the
# cluster lacks them).
bail() { echo "bench: error: $*" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/common.sh"
set -o pipefail
export PATH="$GMDB_BUILDDIR/tools:$PATH"
for t in gm-upgrade_server gm-fixup_server; do
	[ -x "$GMDB_BUILDDIR/tools/$t" ] || bail "$GMDB_BUILDDIR/tools/$t is not built: ./autogen.sh && ./configure && make"
done
UPSTREAM_RUN=$GMDB_SRCDIR/tests/gnumed/run-upstream.sh
# Python's compiled modules, kept from run to run as on a Debian server: a
# machine that sets PYTHONDONTWRITEBYTECODE (some sandboxes do) would have
# both engines compile upstream's modules every run. Upstream's engine, run
# as root, keeps them beside its sources; here in the bench's own directory
# (UPSTREAM_PYCACHE, run-upstream.sh), so that the installed tree
# stays as dpkg left it. gmdb's python3 keeps them in its cache directory
# (the postgres user's ~/.cache/gmdb). The first round warms both.
# BENCH_NO_PYC=1: neither keeps them (PYTHONDONTWRITEBYTECODE=1 for both).
if [ "${BENCH_NO_PYC:-}" = 1 ]; then export PYTHONDONTWRITEBYTECODE=1; else unset PYTHONDONTWRITEBYTECODE; fi
COMPARE=$GMDB_SRCDIR/tests/lib/compare-db.sh
MASKS=(-B -m modified_when -m orig_when -m audit_when -m gm.schema_revision.imported)
V22_HASH=bf45f01327fb5feb2f5d3c06ba4a6792

# The real names (gnumed_vN) are shared with the tests and other users of the
# cluster: hold the lock only while a round uses them.
# On the way out with the lock held (a failed round), drop_names drops what
# the round left under those names.
names_lock() { exec 8>"$GMDB_CLUSTER.names.lock"; flock 8; names_held=1; }
names_unlock() { exec 8>&-; names_held=; }
names_held=
drop_names() {
	local d
	[ -n "$names_held" ] || return 0
	for d in "$@"; do quiet drop_db "$d"; done
}

# drop_db and clone_db, without the server's NOTICEs ("does not exist, skipping")
quiet() { "$@" 2> >(grep -v '^NOTICE:' >&2); }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# make_work NAME: $work, a fresh directory for the run's files, and the
# tools' log directory in it (GMDB_LOG_DIR); the caller removes $work
make_work() {
	work=$(mktemp -d "${TMPDIR:-/tmp}/gmdb-bench-$1.XXXXXX") || bail "cannot make a temporary directory"
	# root's, outside $work (others may pass through it to logs/; nothing
	# of theirs may lie where root runs code from)
	UPSTREAM_PYCACHE=$(mktemp -d "${TMPDIR:-/tmp}/gmdb-bench-pycache.XXXXXX") || bail "cannot make a temporary directory"
	export UPSTREAM_PYCACHE
	# root's as well: warm_memory's files
	ballast=$(mktemp -d "${TMPDIR:-/tmp}/gmdb-bench-ballast.XXXXXX") || bail "cannot make a temporary directory"
	# root's: what root writes here (outputs, upstream's logs and tar
	# archive, pg_dump's files) nobody else can put a link in the way of;
	# others (gmdb's tools as they log) only pass through to logs/, which
	# is sticky. Backup directories: backup_dir.
	chmod 711 "$work"
	export GMDB_LOG_DIR=$work/logs
	mkdir -p "$GMDB_LOG_DIR" && chmod 1777 "$GMDB_LOG_DIR"
}

# bench_begin NAME FROM TO [RESULT...]: a benchmark of FROM -> TO (fixup:
# FROM = TO): the reference databases, $work (make_work NAME), and on the
# way out (bench_end) gnumed_vFROM and gnumed_vTO dropped if a round left
# them while holding the names lock, the lock freed, and unless BENCH_KEEP
# is set the kept results RESULT... and $work removed
bench_begin() {
	bench_from=$2 bench_to=$3
	bench_results=("${@:4}")
	need_reference
	make_work "$1"
	trap bench_end EXIT
}
bench_end() {
	local d
	drop_names "gnumed_v$bench_from" "gnumed_v$bench_to"
	names_unlock
	[ -z "${BENCH_KEEP:-}" ] || return 0
	for d in "${bench_results[@]}"; do quiet drop_db "$d"; done
	rm -rf "$work" "$UPSTREAM_PYCACHE" "$ballast"
}

# backup_dir: $bdir, $work/backups, postgres's and 0700, as
# gm-upgrade_server makes one (its pg_dump writes there as postgres)
backup_dir() {
	bdir=$work/backups
	[ -d "$bdir" ] || { mkdir -m 700 "$bdir" && chown postgres: "$bdir"; } || bail "cannot make $bdir"
}

# free_mb: the machine's free memory, in MiB
free_mb() { awk '/^MemFree:/ { print int($2 / 1024) }' /proc/meminfo; }

# json_steps FILE: gm-upgrade_server's --json steps as "name=seconds ..."
json_steps() {
	/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(" ".join("%s=%.1f" % (s["step"].replace(" ", "_"), s["seconds"]) for s in d["steps"]))' "$1"
}

# fresh_source SOURCE: gnumed_vFROM a fresh copy of SOURCE, checkpointed,
# and no gnumed_vTO (the caller holds the names lock)
fresh_source() {
	quiet drop_db "gnumed_v$bench_to" && quiet clone_db "$1" "gnumed_v$bench_from" ||
		bail "could not copy $1 to gnumed_v$bench_from"
	sql "gnumed_v$bench_from" -c 'CHECKPOINT' >/dev/null
	warm_memory
}

# warm_memory: the machine's free memory (but 128 MiB) filled with page
# cache the kernel can take back at once, so that what a run writes
# (a clone, a backup) gets memory as on a server that has been up a while.
# Some virtual machines hand memory back to their host as soon as it is
# free (free page reporting); there the first write to such a page costs a
# fault in the host: measured here, 100-200 MB/s, one CPU in the kernel,
# against 0.6-3 GB/s for memory in use (bench/RESULTS.md, section 20). The
# fill is a sparse file read once (zeros, no disk), one per call, in
# $ballast (the kernel reclaims those pages first: read once, never
# again). Not timed; it takes as long as the first write would have.
# BENCH_COLD_MEMORY=1: no fill (the machine as it is).
warm_memory() {
	local free f t0
	warmed=
	[ "${BENCH_COLD_MEMORY:-}" != 1 ] || return 0
	free=$(free_mb)
	# (what is left free is as cold as before: 1 GiB left cost a 1 GB
	# clone 9.8 s once, against 1.0 s)
	[ "$free" -gt 256 ] || { warmed="0 MB"; return 0; }
	f=$(mktemp "$ballast/fill.XXXXXX") || bail "cannot make a file in $ballast"
	t0=$(now)
	truncate -s "$((free - 128))M" "$f" && cat "$f" >/dev/null || bail "could not fill the page cache"
	# (a file system that keeps no page cache for holes, tmpfs, fills
	# nothing: the free memory after it says so)
	warmed="$((free - 128)) MB in $(elapsed "$t0" "$(now)") s, $(free_mb) MB free after"
}

# keep_result NAME HASH: gnumed_vTO, which must have schema hash HASH, kept
# as NAME; gnumed_vFROM dropped
keep_result() {
	local h
	h=$(schema_hash "gnumed_v$bench_to") || bail "no gnumed_v$bench_to after the run"
	[ "$h" = "$2" ] || bail "gnumed_v$bench_to has schema hash $h, not $2"
	quiet drop_db "$1" && sql postgres -c "ALTER DATABASE \"gnumed_v$bench_to\" RENAME TO \"$1\"" >/dev/null &&
		quiet drop_db "gnumed_v$bench_from" || bail "could not keep the result as $1"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
schema_hash() { sql "$1" -c "SELECT md5(gm.concat_table_structure())"; }
db_size() { sql postgres -c "SELECT pg_size_pretty(pg_database_size('$1'))"; }

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

machine() {
	echo "machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM"
	echo "server:  $(sql postgres -c 'SHOW server_version'), shared_buffers $(sql postgres -c 'SHOW shared_buffers'), fsync $(sql postgres -c 'SHOW fsync')"
	echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC'), gmdb $(git -C "$GMDB_SRCDIR" describe --always --dirty 2>/dev/null)"
	echo "memory:  $([ "${BENCH_COLD_MEMORY:-}" = 1 ] && echo "as it is (BENCH_COLD_MEMORY=1)" || echo "free memory filled with page cache before each run (warm_memory)")"
	echo "python:  compiled modules $([ "${PYTHONDONTWRITEBYTECODE:-}" = 1 ] && echo "not kept (BENCH_NO_PYC=1)" || echo "kept from run to run by both engines")"
}

# compare_results WORK A B [MASK...]: compare-db.sh on two results; prints
# its verdict. If they differ only in the numbers the audit rows got
# (pk_audit: a multi-row UPDATE numbers its audit rows in the order it meets
# the rows, which depends on the table's physical order, which autovacuum
# can change while an upgrade runs), says so and succeeds. Otherwise shows
# the differing rows of each such table (kept in WORK/diff) and fails.
compare_results() {
	local work=$1 a=$2 b=$3 out t; shift 3
	if out=$(PGUSER=postgres "$COMPARE" -w "$work/compare" "$@" "$a" "$b" 2>&1); then
		printf '%s\n' "$out"
		return 0
	fi
	if PGUSER=postgres "$COMPARE" -w "$work/compare" "$@" -m pk_audit "$a" "$b" >/dev/null 2>&1; then
		printf '%s\n' "$out" | sed -n '/^rows differ in:/,$p' | sed 's/^/# /' >&2
		echo "same except the order of pk_audit in $(printf '%s\n' "$out" | sed -n 's/^  \([a-z_0-9]*\.[a-z_0-9]*\)$/\1/p' | sort -u | paste -sd, -) (equal with -m pk_audit)"
		return 0
	fi
	printf '%s\n' "$out" >&2
	mkdir -p "$work/diff"
	for t in $(printf '%s\n' "$out" | sed -n 's/^  \([a-z_0-9]*\.[a-z_0-9]*\)$/\1/p' | sort -u); do
		sql "$a" -c "SELECT * FROM $t ORDER BY 1" >"$work/diff/$t.$a" 2>&1
		sql "$b" -c "SELECT * FROM $t ORDER BY 1" >"$work/diff/$t.$b" 2>&1
		echo "--- $t: $a vs $b" >&2
		diff "$work/diff/$t.$a" "$work/diff/$t.$b" | head -n 10 | cut -c1-400 >&2
	done
	echo "kept: $work and the databases $a, $b" >&2
	return 1
}

# The generated practices' documents, as one checksum (compare-db.sh masks
# their data: too big to print).
blobsum() { sql "$1" -c "SELECT count(*) || ' documents, md5 ' || md5(string_agg(md5(data), '' ORDER BY pk)) FROM blobs.doc_obj"; }

# same_results WORK SRC WHAT [MASK...]: upstream's bench_up_v22 and gmdb's
# bench_gm_v22 of a round (WHAT names it in a failure) must be equal, the
# documents of a generated practice (SRC other than gmref_v21) too; sets
# $same to what was found, else bails, keeping both.
same_results() {
	local work=$1 src=$2 what=$3 cmp b1 b2; shift 3
	if cmp=$(compare_results "$work" bench_up_v22 bench_gm_v22 "$@"); then
		same="equal: $cmp"
		if [ "$src" != gmref_v21 ]; then
			b1=$(blobsum bench_up_v22) b2=$(blobsum bench_gm_v22)
			[ "$b1" = "$b2" ] || bail "$what: the documents differ: $b1 vs $b2"
			same="$same; documents equal: $b1"
		fi
	else
		BENCH_KEEP=1
		bail "$what: upstream's and gmdb's v22 differ (see above)"
	fi
}
