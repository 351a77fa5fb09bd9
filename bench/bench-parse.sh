#!/usr/bin/env bash
# Parse throughput benchmark: poolscope parse (every event extracted, JSON
# Lines written to /dev/null) against `grep -c` and `wc -l` on the same files
# in the same run, with peak memory.  Prints one row per file and a total.
#
#   bench/bench-parse.sh [BUILD_DIR] [MB]     (defaults: build, 512)
#
# The logs come from bench/genlogs (synthetic, every family) and are written
# to $BENCH_DIR (default /tmp/poolscope-bench); they are kept for reruns.
set -euo pipefail
build=${1:-build}
mb=${2:-512}
dir=${BENCH_DIR:-/tmp/poolscope-bench}/gen-$mb
bin=$build/poolscope
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
# run CMD...: prints "seconds peak_kb"
# (wall time from the nanosecond clock; /usr/bin/time only for peak RSS,
# since its own timer has 10 ms resolution)
run() {
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f "%M" -o /tmp/poolscope-bench.time "$@" >/dev/null 2>/tmp/poolscope-bench.err || {
		echo "error: '$*' failed:" >&2; tail -3 /tmp/poolscope-bench.err >&2; exit 2; }
	t1=$(date +%s%N)
	echo "$(echo "($t1 - $t0) / 1000000000" | bc -l) $(cat /tmp/poolscope-bench.time)"
}
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
printf "%-22s %8s %10s | %9s %9s | %9s %9s | %9s %9s %12s %9s %8s\n" file MB lines \
	"wc MB/s" "wc s" "grep MB/s" "grep s" "ps MB/s" "ps s" "lines/s" "events" "peak MB"
tb=0 tl=0 twc=0 tgr=0 tps=0
for f in "${files[@]}"; do
	bytes=$(stat -c %s "$f")
	lines=$(wc -l <"$f")
	read -r wcs _ < <(run wc -l "$f")
	read -r grs _ < <(run grep -c -e QueuePool -e duration -e HTTP "$f")
	read -r pss pkb < <(run "$bin" parse -q -o /dev/null "$f")
	events=$("$bin" parse -q "$f" | wc -l)
	printf "%-22s %8.1f %10d | %9s %9.2f | %9s %9.2f | %9s %9.2f %12.0f %9d %8.1f\n" "$(basename "$f")" \
		"$(echo "$bytes / 1048576" | bc -l)" "$lines" "$(mbps "$bytes" "$wcs")" "$wcs" \
		"$(mbps "$bytes" "$grs")" "$grs" "$(mbps "$bytes" "$pss")" "$pss" \
		"$(echo "$lines / ($pss + 0.001)" | bc -l)" "$events" "$(echo "$pkb / 1024" | bc -l)"
	tb=$((tb + bytes)) tl=$((tl + lines))
	twc=$(echo "$twc + $wcs" | bc -l) tgr=$(echo "$tgr + $grs" | bc -l) tps=$(echo "$tps + $pss" | bc -l)
done
read -r alls allkb < <(run "$bin" parse -q -o /dev/null "${files[@]}")
printf "%-22s %8.1f %10d | %9s %9.2f | %9s %9.2f | %9s %9.2f %12.0f %9s %8.1f\n" "all (one run)" \
	"$(echo "$tb / 1048576" | bc -l)" "$tl" "$(mbps "$tb" "$twc")" "$twc" "$(mbps "$tb" "$tgr")" \
	"$tgr" "$(mbps "$tb" "$alls")" "$alls" "$(echo "$tl / ($alls + 0.001)" | bc -l)" "-" \
	"$(echo "$allkb / 1024" | bc -l)"
echo "poolscope parse speed relative to grep -c: $(echo "$tgr / $alls" | bc -l | cut -c1-5)x"
