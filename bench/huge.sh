#!/usr/bin/env bash
# Huge input: peak memory and speed of `poolscope parse -o /dev/null` and
# `poolscope analyze --json` on synthetic logs of 100 MB, 1 GB and 4 GB
# (bench/genlogs: every family, six files), then a file that grows while
# it is read.  Prints one row per run; the generated logs live in
# $HUGE_DIR (default /tmp/poolscope-huge) and are deleted at the end.
#
#   bench/huge.sh [BUILD_DIR] [SIZES_MB...]     (defaults: build, 100 1024 4096)
#
# What must hold (exit 1 if not):
#   - parse: peak RSS flat, within 64 MB of the 100 MB run at every size
#     (it streams: one line, one record, one event at a time)
#   - growing file: parse exits 0 while a writer appends; every event but
#     the one of the last line read equals the same event of a parse of the
#     finished file (a consistent prefix)
#   - analyze: peak RSS within 64 MB of the smallest run at every size too
#     (it streams the events; holds, requests and sorts past fixed budgets
#     wait in $TMPDIR, and the distributions are capped: docs/analysis.md
#     "Memory")
set -euo pipefail
build=${1:-build}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1024 4096)
bin=$build/poolscope
dir=${HUGE_DIR:-/tmp/poolscope-huge}
[ -x "$bin" ] && [ -x "$build/genlogs" ] || {
	echo "error: no $bin or $build/genlogs (cmake -S . -B $build && cmake --build $build)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing (apt-get install time)" >&2; exit 2; }
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
fail=0

# run NAME CMD...: wall seconds and peak RSS (KB) of CMD into $secs $kb
run() {
	local t0 t1
	t0=$(date +%s%N)
	/usr/bin/time -f %M -o "$dir/time" "$@" >/dev/null 2>"$dir/err" || {
		echo "error: '$*' failed:" >&2; tail -3 "$dir/err" >&2; exit 2; }
	t1=$(date +%s%N)
	secs=$(echo "($t1 - $t0) / 1000000000" | bc -l)
	kb=$(tail -1 "$dir/time")
}

printf '%-8s %-8s %10s %12s %8s %9s %10s\n' size command "input MB" events "secs" "MB/s" "peak MB"
base_parse_kb=
for mb in "${sizes[@]}"; do
	d=$dir/gen-$mb
	"$build/genlogs" -o "$d" --mb "$mb" >/dev/null 2>&1
	files=("$d"/*)
	bytes=$(cat "${files[@]}" | wc -c)
	events=$("$bin" parse -q --summary "${files[@]}" | grep -o '"events":[0-9]*' |
		 awk -F: '{ s += $2 } END { print s }')
	cat "${files[@]}" >/dev/null # warm the page cache
	run "$bin" parse -q -o /dev/null "${files[@]}"
	printf '%-8s %-8s %10.0f %12d %8.2f %9.0f %10.1f\n' "${mb}MB" parse "$(echo "$bytes / 1048576" | bc -l)" \
		"$events" "$secs" "$(echo "$bytes / 1048576 / $secs" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
	if [ -z "$base_parse_kb" ]; then
		base_parse_kb=$kb
	elif [ "$kb" -gt $((base_parse_kb + 65536)) ]; then
		echo "huge: FAIL parse peak RSS ${kb} KB at ${mb} MB, ${base_parse_kb} KB at ${sizes[0]} MB: not flat"
		fail=1
	fi
	run "$bin" analyze -q --json "${files[@]}"
	printf '%-8s %-8s %10.0f %12d %8.2f %9.0f %10.1f\n' "${mb}MB" analyze "$(echo "$bytes / 1048576" | bc -l)" \
		"$events" "$secs" "$(echo "$bytes / 1048576 / $secs" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
	if [ -z "${base_analyze_kb:-}" ]; then
		base_analyze_kb=$kb
	elif [ "$kb" -gt $((base_analyze_kb + 65536)) ]; then
		echo "huge: FAIL analyze peak RSS ${kb} KB at ${mb} MB, ${base_analyze_kb} KB at ${sizes[0]} MB: not flat"
		fail=1
	fi
	printf '%-8s %-8s %10s %12s %8s %9s %10.0f\n' "" "" "" "" "" "bytes/ev" "$(echo "$kb * 1024 / $events" | bc -l)"
	rm -rf "$d"
done

# ---- a file that grows while it is read ----
# A writer appends gunicorn access lines (one event each) in chunks that
# end mid-line, while parse reads the file: parse must finish cleanly and
# what it gave must be a prefix of what the finished file gives.
g=$dir/growing.log
: >"$g"
"$build/genlogs" -o "$dir/src" --mb 200 >/dev/null 2>&1
src=$dir/src/gunicorn-access.log
(
	size=$(stat -c %s "$src") chunk=65521 i=0
	while [ $((i * chunk)) -lt "$size" ]; do
		dd if="$src" of="$g" bs=$chunk skip=$i count=1 oflag=append conv=notrunc status=none
		i=$((i + 1))
	done
) &
writer=$!
sleep 0.2
set +e
"$bin" parse -q "$g" >"$dir/during.jsonl" 2>"$dir/during.err"
rc=$?
set -e
wait $writer
n=$(wc -l <"$dir/during.jsonl")
"$bin" parse -q "$g" >"$dir/full.jsonl"
head -n "$n" "$dir/full.jsonl" >"$dir/after.jsonl"
same=$(cmp -n "$(head -n $((n > 0 ? n - 1 : 0)) "$dir/during.jsonl" | wc -c)" "$dir/during.jsonl" "$dir/after.jsonl" >/dev/null && echo yes || echo no)
total=$(wc -l <"$dir/full.jsonl")
echo "growing file: parse exit $rc, read $n of $total events while the writer ran; first $((n > 0 ? n - 1 : 0)) equal to a full parse: $same"
if [ "$rc" != 0 ] || [ "$same" != yes ]; then
	echo "huge: FAIL growing file"; sed 's/^/  /' "$dir/during.err" | head -5
	fail=1
fi
exit $fail
