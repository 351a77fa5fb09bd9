#!/usr/bin/env bash
# Run the Criterion suites and the CLI on the fixtures under Valgrind's
# memcheck; fail on any memory error or definite leak.
#
#   scripts/valgrind.sh [SUITE_REGEX]     (default: every suite)
#
# What runs, in build-vg/ (RelWithDebInfo, -Werror):
#   - every tests/test_* suite except the live-replay ones (timing-sensitive
#     under a 20-50x slowdown; POOLSCOPE_VG_SKIP, a regex, default "live"),
#     with --jobs 1 so Criterion's workers run one at a time
#   - the CLI golden cases (fixtures/cases/) through a valgrind wrapper,
#     except the ones that measure time or memory (parse-100mb-line,
#     parse-interrupted, audit-lock-held, hostile-signal-*, and names
#     matching the skip regex)
#   - parse, analyze, report and workload on fixtures/incident and
#     fixtures/hostile
# Criterion runs each test in a child process and does not pass on the
# child's valgrind exit code, so every process (children traced, except
# gnuplot, python3 and the PostgreSQL tools) logs to build-vg/vg-logs/ with
# -q: a non-empty log is a finding.  scripts/valgrind.supp hides the
# false reports inside PCRE2's JIT-generated code (and nothing else).  The exit status is 1 then, and the
# logs are printed.  Suites run $(nproc) at a time (POOLSCOPE_VG_JOBS).
# PostgreSQL-backed tests use POOLSCOPE_TEST_DSN, or a throwaway server
# started here.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
only=${1:-.}
build=build-vg
jobs=${POOLSCOPE_VG_JOBS:-$(nproc)}
skip=${POOLSCOPE_VG_SKIP:-live}
command -v valgrind >/dev/null || bash scripts/install-deps.sh --fuzz >/dev/null
t0=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOOLSCOPE_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
logs=$root/$build/vg-logs
rm -rf "$logs" && mkdir -p "$logs"
pgdir=
work=$(mktemp -d /tmp/poolscope-vg.XXXXXX)
cleanup() {
	[ -n "$pgdir" ] && bash "$root/scripts/pg-test-server.sh" stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${POOLSCOPE_TEST_DSN:-}" ]; then
	pgdir=$(mktemp -d /tmp/poolscope-pg.XXXXXX)
	eval "$(bash scripts/pg-test-server.sh start "$pgdir")"
fi
vg=(valgrind --tool=memcheck -q --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30
    --trace-children=yes "--suppressions=$root/scripts/valgrind.supp"
    "--trace-children-skip=*/gnuplot,*/python3*,*/postgres,*/pg_ctl,*/psql,*/initdb,*/createdb,*/runuser"
    "--log-file=$logs/%q{VG_TAG}.%p.log")
# the wrapper the CLI runs go through ($POOLSCOPE in the cases)
cat >"$build/poolscope-vg" <<EOF
#!/bin/sh
VG_TAG=\${VG_TAG:-cli} exec $(printf '%q ' "${vg[@]}") "$root/$build/poolscope" "\$@"
EOF
chmod +x "$build/poolscope-vg"

# ---- Criterion suites ----
suites=()
for t in "$build"/test_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	name=$(basename "$t")
	[[ $name =~ $only ]] || continue
	[[ $name =~ $skip ]] && { echo "valgrind: skip $name (timing-sensitive)"; continue; }
	suites+=("$name")
done
run_suite() {
	local name=$1 s0 rc
	s0=$(date +%s)
	set +e
	VG_TAG=$name POOLSCOPE_SRC=$root POOLSCOPE_BIN=$root/$build/poolscope \
		"${vg[@]}" "$build/$name" --jobs 1 >"$logs/$name.out" 2>&1
	rc=$?
	set -e
	echo "$rc $(( $(date +%s) - s0 ))" >"$logs/$name.status"
}
for s in "${suites[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
	run_suite "$s" &
done

# ---- CLI: golden cases and the main commands on the fixtures ----
run_cli() {
	local s0 rc=0
	s0=$(date +%s)
	mkdir "$work/cases"
	for c in fixtures/cases/*/; do
		case "$(basename "$c")" in
		parse-100mb-line|parse-interrupted|audit-lock-held|hostile-signal-*) continue ;;
		esac
		[[ $(basename "$c") =~ $skip ]] && continue
		ln -s "$root/$c" "$work/cases/$(basename "$c")"
	done
	set +e
	VG_TAG=cases bash tests/run-cases.sh "$root/$build/poolscope-vg" "$work/cases" \
		>"$logs/cli-cases.out" 2>&1 || rc=1
	local in=fixtures/incident/before out=fixtures/incident/after h=fixtures/hostile
	local hf=("$h"/*.log "$h"/*.csv "$h"/*.json)
	{
		VG_TAG=parse "$build/poolscope-vg" parse -q -o /dev/null "$in" "$out" || rc=1
		VG_TAG=analyze "$build/poolscope-vg" analyze -q --json "$in" >/dev/null || rc=1
		VG_TAG=compare "$build/poolscope-vg" compare -q "$in" "$out" >/dev/null
		[ $? -le 1 ] || rc=1
		VG_TAG=report "$build/poolscope-vg" report -q -o "$work/report" "$in" "$out" || rc=1
		VG_TAG=workload "$build/poolscope-vg" workload -q -o "$work/wl.tsv" "$in" || rc=1
		VG_TAG=replay "$build/poolscope-vg" replay -q --json --pool 20/30/4.5 "$work/wl.tsv" >/dev/null || rc=1
		VG_TAG=hostile "$build/poolscope-vg" parse -q --formats "$h/hostile.formats" "${hf[@]}" >/dev/null || rc=1
		VG_TAG=hostile "$build/poolscope-vg" report -q --single -o "$work/hreport" \
			--formats "$h/hostile.formats" "${hf[@]}" || rc=1
	} >"$logs/cli-commands.out" 2>&1
	set -e
	echo "$rc $(( $(date +%s) - s0 ))" >"$logs/cli.status"
}
if [[ cli =~ $only ]] || [ "$only" = . ]; then
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
	run_cli &
fi
wait

# ---- verdict ----
fail=0
for st in "$logs"/*.status; do
	name=$(basename "$st" .status)
	read -r rc secs <"$st"
	if [ "$rc" = 0 ]; then
		echo "valgrind: $name passed (${secs}s)"
	else
		echo "valgrind: $name FAILED (exit $rc, ${secs}s), see $logs/$name*.out"
		tail -n 15 "$logs/$name"*.out | sed 's/^/  /'
		fail=1
	fi
done
found=$(find "$logs" -name '*.log' -size +0 | sort)
if [ -n "$found" ]; then
	echo "valgrind: memory errors or leaks in $(echo "$found" | wc -l) processes:"
	for f in $found; do
		echo "== $f"
		head -n 40 "$f"
	done
	fail=1
fi
nproc_logs=$(find "$logs" -name '*.log' | wc -l)
echo "valgrind: $nproc_logs processes checked, $(echo "$found" | grep -c . || true) with findings, $(( $(date +%s) - t0 ))s in all"
exit $fail
