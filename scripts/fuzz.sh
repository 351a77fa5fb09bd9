#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan+UBSan) and run each for a
# bounded time on a seed corpus made from the real fixtures.  Fails on any
# crash, leak or sanitizer report.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 20; CI uses the default)
# Findings are written to build-fuzz/findings/<target>/; the corpus grows in
# build-fuzz/corpus/<target>/ and is reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
bash scripts/install-deps.sh --fuzz >/dev/null
formats=$(sed -n 's/^#define POOLSCOPE_FUZZ_FORMAT_LIST "\(.*\)"/\1/p' fuzz/formats.h 2>/dev/null || true)
[ -n "$formats" ] || formats="auto"
CC=clang cmake -S . -B build-fuzz -DPOOLSCOPE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	"-DPOOLSCOPE_FUZZ_FORMATS=$formats" >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
seed=build-fuzz/seed
rm -rf "$seed" && mkdir -p "$seed"
# seeds: 40-line slices of every real log we ship or reference
n=0
for f in fixtures/incident/*/*.log fixtures/incident/*/*.csv fixtures/incident/*/*.json \
	 fixtures/pg/* fixtures/cases/*/*.log ../shared/reference/samples/*; do
	[ -f "$f" ] || continue
	case "$f" in *.gz) continue ;; esac
	split -l 40 -a 4 "$f" "$seed/$(basename "$f")." 2>/dev/null || true
	n=$((n + 1))
done
# keep the seed corpus small enough to load quickly
ls "$seed" | awk 'NR % 7 != 0' | sed "s|^|$seed/|" | xargs -r rm -f
echo "fuzz: seeds from $n files ($(ls "$seed" | wc -l) slices), ${secs}s per target"
fail=0
for t in build-fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	corpus=build-fuzz/corpus/$name
	findings=build-fuzz/findings/$name
	mkdir -p "$corpus" "$findings"
	case "$name" in
	fuzz_formats_file) extra=(-dict=fuzz/formats.dict) ;;
	*) extra=() ;;
	esac
	if [ ${#extra[@]} -gt 0 ] && [ ! -f "${extra[0]#-dict=}" ]; then extra=(); fi
	if "$t" "$corpus" "$seed" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		-close_fd_mask=2 -artifact_prefix="$findings/" -print_final_stats=1 ${extra[@]+"${extra[@]}"} \
		>"build-fuzz/$name.log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "build-fuzz/$name.log")
		cov=$(grep -o 'cov: [0-9]*' "build-fuzz/$name.log" | tail -1)
		echo "fuzz: $name ok: $execs runs, $cov"
	else
		echo "fuzz: $name FAILED, see build-fuzz/$name.log and $findings/"
		grep -E 'ERROR|SUMMARY|==[0-9]+==' "build-fuzz/$name.log" | head -10
		fail=1
	fi
done
exit $fail
