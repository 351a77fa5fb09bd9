#!/usr/bin/env bash
# Parse throughput benchmark: poolscope parse (every event extracted, JSON
# Lines written to /dev/null) against `grep -c` and `wc -l` on the same files
# in the same run, with peak memory.  Prints one row per file and a total.
# Speeds are per CPU second (user + sys), which a busy machine disturbs far
# less than wall time; parse's wall time is shown too.
#
#   bench/bench-parse.sh [BUILD_DIR] [MB]     (defaults: build, 512)
#
# Every command runs BENCH_RUNS times (default 3) and the run with the least
# CPU time counts: on a shared machine the spread between runs is mostly
# other work, and the minimum is the repeatable figure.
#
# The logs come from bench/genlogs (synthetic, every family) and are written
# to $BENCH_DIR (default /tmp/poolscope-bench); they are kept for reruns.
set -euo pipefail
build=${1:-build}
mb=${2:-512}
dir=${BENCH_DIR:-/tmp/poolscope-bench}/gen-$mb
bin=$build/poolscope
runs=${BENCH_RUNS:-3}
[ -x "$bin" ] || { echo "error: no $bin (build first: cmake -S . -B $build && cmake --build $build)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
mkdir -p "$dir"
if [ ! -f "$dir/.done" ]; then
	echo "bench: generating $mb MB of logs in $dir" >&2
	"$build/genlogs" -o "$dir" --mb "$mb" >/dev/null
	touch "$dir/.done"
fi
files=("$dir"/app.log "$dir"/gunicorn-access.log "$dir"/nginx-access.log "$dir"/postgresql.log "$dir"/postgresql.csv "$dir"/postgresql.json)
cat "${files[@]}" >/dev/null # warm the page cache so every tool sees the same
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# run CMD...: prints "wall_s cpu_s peak_kb" of the run with the least CPU
# time of $runs, and the largest peak.  CPU (user + sys) is the figure to
# compare on a shared machine: wall time moves with whatever else runs.
# stdout goes to a file, never /dev/null: GNU grep notices /dev/null and
# stops at the first match, which once made `grep -c` look 100x faster.
run() {
	local t0 t1 i
	: >"$tmp/runs"
	for ((i = 0; i < runs; i++)); do
		t0=$(date +%s%N)
		/usr/bin/time -f "%U %S %M" -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || {
			echo "error: '$*' failed:" >&2; tail -3 "$tmp/err" >&2; exit 2; }
		t1=$(date +%s%N)
		awk -v w="$(( t1 - t0 ))" '{ printf "%.3f %.2f %d\n", w / 1e9, $1 + $2, $3 }' \
			"$tmp/time" >>"$tmp/runs"
	done
	awk 'NR == 1 || $2 < c { w = $1; c = $2 } $3 > m { m = $3 }
	     END { printf "%s %s %d\n", w, c, m }' "$tmp/runs"
}
# MB/s from bytes and seconds (10 ms resolution of CPU time: floor at 0.01)
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s < 0.01) s = 0.01; printf "%.0f", b / 1048576 / s }'; }
printf "%-20s %7s %9s | %6s %6s | %6s %6s | %6s %6s %6s %10s %8s %7s\n" file MB lines \
	"wc cpu" "MB/s" "grep" "MB/s" "ps" "ps cpu" "MB/s" "lines/s" "events" "peak MB"
tb=0 tl=0 twc=0 tgr=0 tps=0
for f in "${files[@]}"; do
	bytes=$(stat -c %s "$f")
	lines=$(wc -l <"$f")
	read -r _ wcc _ < <(run wc -l "$f")
	read -r _ grc _ < <(run grep -c -e QueuePool -e duration -e HTTP "$f")
	read -r psw psc pkb < <(run "$bin" parse -q -o /dev/null "$f")
	events=$("$bin" parse -q "$f" | wc -l)
	printf "%-20s %7.1f %9d | %6.2f %6s | %6.2f %6s | %6.2f %6.2f %6s %10.0f %8d %7.1f\n" \
		"$(basename "$f")" "$(echo "$bytes / 1048576" | bc -l)" "$lines" \
		"$wcc" "$(mbps "$bytes" "$wcc")" "$grc" "$(mbps "$bytes" "$grc")" \
		"$psw" "$psc" "$(mbps "$bytes" "$psc")" \
		"$(awk -v l="$lines" -v s="$psc" 'BEGIN { if (s < 0.01) s = 0.01; print l / s }')" \
		"$events" "$(echo "$pkb / 1024" | bc -l)"
	tb=$((tb + bytes)) tl=$((tl + lines))
	twc=$(echo "$twc + $wcc" | bc -l) tgr=$(echo "$tgr + $grc" | bc -l) tps=$(echo "$tps + $psc" | bc -l)
done
read -r allw allc allkb < <(run "$bin" parse -q -o /dev/null "${files[@]}")
printf "%-20s %7.1f %9d | %6.2f %6s | %6.2f %6s | %6.2f %6.2f %6s %10.0f %8s %7.1f\n" "all (one run)" \
	"$(echo "$tb / 1048576" | bc -l)" "$tl" "$twc" "$(mbps "$tb" "$twc")" "$tgr" "$(mbps "$tb" "$tgr")" \
	"$allw" "$allc" "$(mbps "$tb" "$allc")" \
	"$(awk -v l="$tl" -v s="$allc" 'BEGIN { if (s < 0.01) s = 0.01; print l / s }')" "-" \
	"$(echo "$allkb / 1024" | bc -l)"
echo "columns: CPU seconds (user+sys), least of $runs runs, and MB/s per CPU second; ps = poolscope parse wall seconds"
echo "poolscope parse CPU speed relative to grep -c: $(awk -v g="$tgr" -v p="$allc" 'BEGIN { printf "%.2f", g / p }')x"
