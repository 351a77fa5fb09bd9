#!/usr/bin/env bash
# CLI golden cases: each folder under fixtures/cases/ holds
#   cmd        the command line, with poolscope as $POOLSCOPE and paths
#              relative to the case folder (run from there)
#   expected   expected stdout (exact), optional
#   status     expected exit code (default 0)
#   stderr     optional: a grep -E pattern that stderr must match
# Prints one line per case and a final "N passed, N failed".
set -u
bin=${1:?usage: run-cases.sh POOLSCOPE_BIN CASES_DIR}
dir=${2:?usage: run-cases.sh POOLSCOPE_BIN CASES_DIR}
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
export POOLSCOPE=$bin
pass=0 fail=0
for c in "$dir"/*/; do
	[ -f "$c/cmd" ] || continue
	name=$(basename "$c")
	want_status=0
	[ -f "$c/status" ] && want_status=$(cat "$c/status")
	out=$(mktemp) err=$(mktemp)
	(cd "$c" && bash -c "$(cat cmd)" >"$out" 2>"$err")
	got=$?
	ok=1
	if [ "$got" != "$want_status" ]; then
		echo "FAIL $name: exit $got, want $want_status"; sed 's/^/  stderr: /' "$err" | head -5; ok=0
	fi
	if [ -f "$c/expected" ] && ! diff -u "$c/expected" "$out" >/dev/null; then
		echo "FAIL $name: stdout differs:"; diff -u "$c/expected" "$out" | head -20; ok=0
	fi
	if [ -f "$c/stderr" ] && ! grep -Eq "$(cat "$c/stderr")" "$err"; then
		echo "FAIL $name: stderr does not match /$(cat "$c/stderr")/:"; head -5 "$err"; ok=0
	fi
	rm -f "$out" "$err"
	if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok   $name"; else fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ] && [ $pass -gt 0 ]
