#!/usr/bin/env bash
# Build and run every test: the README's test command, and what .ci/run runs.
#   1. install missing Debian packages (scripts/install-deps.sh)
#   2. build with -Werror and run all suites (ctest) against a throwaway
#      PostgreSQL on a loopback port and real gnuplot
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and run
#      all suites once more
#   4. build the libFuzzer targets with clang and run each for a bounded time
#      (scripts/fuzz.sh; fails on any crash, leak or sanitizer report)
#   5. run the suites and the CLI on the fixtures under Valgrind memcheck
#      (scripts/valgrind.sh, about 7 minutes on 2 cores)
# Set POOLSCOPE_SKIP_SANITIZE=1 / POOLSCOPE_SKIP_FUZZ=1 /
# POOLSCOPE_SKIP_VALGRIND=1 to skip step 3 / 4 / 5 locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/install-deps.sh
jobs=$(nproc)
pgdir=$(mktemp -d /tmp/poolscope-pg.XXXXXX)
trap 'bash "$root/scripts/pg-test-server.sh" stop "$pgdir"' EXIT
eval "$(bash scripts/pg-test-server.sh start "$pgdir")"
echo "test: PostgreSQL on 127.0.0.1:$PGPORT, gnuplot $(gnuplot --version | cut -d' ' -f2)"

run_suite() {
	local dir=$1; shift
	cmake -S . -B "$dir" -DPOOLSCOPE_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j "$jobs"
	(cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900)
}
echo "== build and test (-Werror)"
run_suite build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${POOLSCOPE_SKIP_SANITIZE:-0}" != 1 ]; then
	echo "== build and test under ASan+UBSan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DPOOLSCOPE_SANITIZE=ON
fi
if [ "${POOLSCOPE_SKIP_FUZZ:-0}" != 1 ]; then
	echo "== fuzz (bounded)"
	bash scripts/fuzz.sh "${POOLSCOPE_FUZZ_SECONDS:-20}"
fi
if [ "${POOLSCOPE_SKIP_VALGRIND:-0}" != 1 ]; then
	echo "== valgrind memcheck"
	bash scripts/valgrind.sh
fi
echo "test: all suites passed"
