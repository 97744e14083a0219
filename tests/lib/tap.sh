# tap.sh - TAP output for gmdb's shell tests (source it)
#
#   ok COND-EXIT-STATUS DESCRIPTION     (use: cmd; ok $? "desc")
#   is GOT WANT DESCRIPTION
#   like GOT REGEX DESCRIPTION
#   unlike GOT REGEX DESCRIPTION
#   run CMD...                          run, capture $out (stdout), $err (stderr), $rc
#   bail MESSAGE                        abort the whole test (counts as an error)
#   done_testing
tap_n=0
tap_failed=0
tap_t0=$(date +%s)
# GMDB_TEST_CPUACCT=1: the test's CPU time at its end (tests/lib/cpuacct.sh)
. "${BASH_SOURCE[0]%/*}/cpuacct.sh"
tap_cg=${0##*/}
cpuacct_enter "${tap_cg%.sh}"
tap_cg=$cpuacct_cg

ok() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '  got:  [%s]\n  want: [%s]\n' "$1" "$2" | head -n 40 | sed 's/^/# /'
	fi
}

# does a line of TEXT match REGEX (grep -E)? tap_grep TEXT REGEX: one
# process, not two (no printf in a pipe); empty text has no line to match
tap_grep() { [ -n "$1" ] && grep -Eq -- "$2" <<<"$1"; }

like() {
	if tap_grep "$1" "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '  [%s]\n  does not match /%s/\n' "$1" "$2" | head -n 40 | sed 's/^/# /'
	fi
}

unlike() {
	if tap_grep "$1" "$2"; then
		ok 1 "$3"
		printf '  [%s]\n  matches /%s/\n' "$1" "$2" | head -n 40 | sed 's/^/# /'
	else
		ok 0 "$3"
	fi
}

# run's files: a directory made on its first call, removed by done_testing
# and bail; each call's own pair of files in it (a process the command
# left behind may still write to its pair)
tap_run_dir= tap_run_n=0
run() {
	local f
	if [ -z "$tap_run_dir" ]; then
		# in /tmp, not TMPDIR: a test may point TMPDIR at a directory it
		# proves gmdb leaves empty (tests/gnumed/rehearse.sh)
		tap_run_dir=$(mktemp -d /tmp/gmtap.XXXXXX) || bail "mktemp failed"
	fi
	tap_run_n=$((tap_run_n + 1))
	f=$tap_run_dir/$BASHPID.$tap_run_n
	"$@" >"$f.out" 2>"$f.err" </dev/null
	rc=$?
	# what $(cat FILE) gives, read by bash itself: no process started (a
	# test makes hundreds of these calls, each process a cost on a slow
	# machine)
	IFS= read -r -d '' out <"$f.out" || :
	IFS= read -r -d '' err <"$f.err" || :
	out=${out%"${out##*[!$'\n']}"} err=${err%"${err##*[!$'\n']}"}
	return 0
}

bail() {
	echo "Bail out! $*"
	[ -n "$tap_run_dir" ] && rm -rf "$tap_run_dir"
	exit 1
}

done_testing() {
	echo "1..$tap_n"
	[ -n "$tap_run_dir" ] && rm -rf "$tap_run_dir"
	tap_run_dir=
	# for tests/run.sh's list of the longest tests
	echo "# timing: started at $tap_t0, ran $(($(date +%s) - tap_t0)) s"
	[ -n "$tap_cg" ] && cpuacct_line "$tap_cg"
	[ "$tap_failed" = 0 ]
}
