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

like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '  [%s]\n  does not match /%s/\n' "$1" "$2" | head -n 40 | sed 's/^/# /'
	fi
}

unlike() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		printf '  [%s]\n  matches /%s/\n' "$1" "$2" | head -n 40 | sed 's/^/# /'
	else
		ok 0 "$3"
	fi
}

run() {
	local o e
	o=$(mktemp) e=$(mktemp)
	"$@" >"$o" 2>"$e" </dev/null
	rc=$?
	out=$(cat "$o") err=$(cat "$e")
	rm -f "$o" "$e"
	return 0
}

bail() {
	echo "Bail out! $*"
	exit 1
}

done_testing() {
	echo "1..$tap_n"
	# for tests/run.sh's list of the longest tests
	echo "# timing: started at $tap_t0, ran $(($(date +%s) - tap_t0)) s"
	[ "$tap_failed" = 0 ]
}
