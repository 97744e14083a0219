#!/bin/bash
# memory.sh - what a run's writes cost on this machine with its free memory cold and warm
#
#   bench/memory.sh [SOURCE]    (default gmref_v21; gen-practice.sh's gmp_5g shows it best)
#
# A clone (CREATE DATABASE ... STRATEGY file_copy, as gm-upgrade_server
# makes it) and a backup (pg_dump -Fd --jobs NPROC --compress=0, as its
# backup) of SOURCE, each timed twice: "cold", with the machine's free
# memory as it is after 30 s of rest, and "warm", right after warm_memory
# (lib.sh) filled the free memory with page cache. Some virtual machines
# hand free memory back to their host (free page reporting): their first
# write to it then costs a fault in the host. Prints the times, the free
# memory before each, and how much the kernel reported back to the host
# meanwhile, if it says. Uses names of its own (bench_mem_*), not the real
# ones; the copies and the dump are removed.
. "$(dirname "$0")/lib.sh"
src=${1:-gmref_v21}
bench_begin memory 21 21
sql postgres -c "SELECT 1 FROM pg_database WHERE datname = '$src'" | grep -q 1 || bail "no database $src"
pgdump=/usr/lib/postgresql/$(sql postgres -c "SELECT current_setting('server_version_num')::int / 10000")/bin/pg_dump
jobs=$(nproc)
rep=/sys/module/page_reporting/parameters/reported_kib
reported() { if [ -r "$rep" ]; then cat "$rep"; else echo 0; fi; }
trap 'quiet drop_db bench_mem_c; bench_end' EXIT

echo "# gmdb bench/memory.sh: $src ($(db_size "$src")), cold and warm"
machine | grep -v "^memory:"   # (this script sets the memory itself)
[ -r "$rep" ] && echo "kernel:  free page reporting on (order $(cat /sys/module/page_reporting/parameters/page_reporting_order 2>/dev/null))" ||
	echo "kernel:  no free page reporting"
printf '%-6s %-5s %9s %12s %14s\n' what memory seconds "free MB" "reported MB"
measure() {  # what memory
	local t0 r0 f
	if [ "$2" = cold ]; then sleep 30; else warm_memory; fi
	f=$(free_mb) r0=$(reported) t0=$(now)
	if [ "$1" = clone ]; then
		sql postgres -c "CREATE DATABASE bench_mem_c TEMPLATE \"$src\" STRATEGY file_copy" >/dev/null || bail "could not clone $src"
	else
		PGUSER=postgres "$pgdump" --dbname="$src" --format=directory --jobs="$jobs" --compress=0 --file="$work/dump" ||
			bail "pg_dump failed"
	fi
	printf '%-6s %-5s %9s %12s %14s\n' "$1" "$2" "$(elapsed "$t0" "$(now)")" "$f" "$((($(reported) - r0) / 1024))"
	quiet drop_db bench_mem_c
	rm -rf "$work/dump"
}
for what in clone backup; do
	measure "$what" cold
	measure "$what" warm
	measure "$what" cold
	measure "$what" warm
done
