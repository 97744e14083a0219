# cpuacct.sh - what a test, or a whole job of tests/run.sh, costs in CPU time
# (source it; tap.sh does)
#
#   cpuacct_enter NAME    this shell, and what it starts from now on, into a
#                         new cgroup NAME.PID below its current one; sets
#                         cpuacct_cg (empty when off or impossible)
#   cpuacct_line CGROUP   its CPU time so far, as a "# cpu:" line
#
# On only with GMDB_TEST_CPUACCT=1 (tests/run.sh's default), as root, where
# cgroup v1's cpuacct controller is mounted (/sys/fs/cgroup/cpuacct, or
# cpu,cpuacct): cpuacct counts hierarchically, so a job's cgroup includes
# its tests' and the servers they start. On a busy machine the CPU time of
# a test says what it costs; its wall time says what else ran. The cgroups
# stay behind, empty once their processes are gone: cpuacct_cleanup CGROUP
# removes one and those below it.
cpuacct_cg=
cpuacct_enter() {
	local ctl path mnt
	cpuacct_cg=
	[ "${GMDB_TEST_CPUACCT:-}" = 1 ] && [ -r /proc/self/cgroup ] || return 0
	while IFS=: read -r _ ctl path; do
		case ",$ctl," in
		*,cpuacct,*)
			mnt=/sys/fs/cgroup/$ctl
			[ -w "$mnt/cgroup.procs" ] || return 0
			cpuacct_cg=$mnt${path%/}/gmdb-test.$1.$BASHPID
			;;
		esac
	done </proc/self/cgroup
	[ -n "$cpuacct_cg" ] || return 0
	{ mkdir "$cpuacct_cg" && echo "$BASHPID" >"$cpuacct_cg/cgroup.procs"; } 2>/dev/null || cpuacct_cg=
	return 0
}

# cpuacct.stat counts in USER_HZ, a hundredth of a second
cpuacct_line() {
	local ns user sys
	ns=$(cat "$1/cpuacct.usage" 2>/dev/null) || return 0
	read -r _ user _ sys < <(tr '\n' ' ' <"$1/cpuacct.stat")
	printf '# cpu: %d.%02d s (user %d.%02d s, system %d.%02d s; %s)\n' $((ns / 1000000000)) $((ns / 10000000 % 100)) \
		$((user / 100)) $((user % 100)) $((sys / 100)) $((sys % 100)) "${1##*/}"
}

# cpuacct_cleanup CGROUP: it and the cgroups below it, innermost first (a
# cgroup that still holds a process stays)
cpuacct_cleanup() {
	find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
	return 0
}
