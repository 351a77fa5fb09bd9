#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan+UBSan) and run each for a
# bounded time, $(nproc) at a time, on seed corpora made from the real
# fixtures.  Fails on any crash, leak, timeout or sanitizer report.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 20 s, all)
#
# Targets (one executable each, in build-fuzz/):
#   fuzz_parse_<family>  one log format through the real parse driver, for
#                        every family listed in fuzz/formats.h ("auto" =
#                        detection, wrappers, mixed streams)
#   fuzz_reader          the line reader alone, checked against a model
#                        (plain and gzip: members, truncation, seeking)
#   fuzz_formats_file    the --formats FILE loader and its rules on a log
#   fuzz_workload        the workload-file reader (once replay/workload.h
#                        has one)
# Seeds: 40-line slices of fixtures/incident, fixtures/pg and
# $POOLSCOPE_SHARED/reference/samples (default ../shared), small gzip files
# made here, fuzz/seeds/.  Dictionaries: fuzz/*.dict.
# Findings go to build-fuzz/findings/<target>/ (reproduce: build-fuzz/<target>
# FILE); the corpus grows in build-fuzz/corpus/<target>/ and is reused by
# later runs; build-fuzz/summary.tsv holds the figures of the last run.
# Env: POOLSCOPE_FUZZ_JOBS (parallel targets, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
only=("$@")
shared=${POOLSCOPE_SHARED:-../shared}
jobs=${POOLSCOPE_FUZZ_JOBS:-$(nproc)}
bash scripts/install-deps.sh --fuzz >/dev/null
formats=$(sed -n 's/^#define POOLSCOPE_FUZZ_FORMAT_LIST "\(.*\)"/\1/p' fuzz/formats.h)
[ -n "$formats" ] || { echo "fuzz: no POOLSCOPE_FUZZ_FORMAT_LIST in fuzz/formats.h" >&2; exit 2; }
formats=${formats//,/;}
formats=${formats// /;}
CC=clang cmake -S . -B build-fuzz -DPOOLSCOPE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	"-DPOOLSCOPE_FUZZ_FORMATS=$formats" >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null

# every registered format must have its target (fuzz/formats.h is a list
# kept by hand; a format added to parsers/registry.c without it is unfuzzed)
missing=
for f in $(ASAN_OPTIONS=detect_leaks=0 build-fuzz/poolscope help formats |
	   awk '/^Log formats/ { on = 1; next } /^Line wrappers/ { on = 0 } on && NF { print $1 }'); do
	case ";$formats;" in *";$f;"*) ;; *) missing="$missing $f" ;; esac
done
if [ -n "$missing" ]; then
	echo "fuzz: registered but not in fuzz/formats.h:$missing (add them to POOLSCOPE_FUZZ_FORMAT_LIST)" >&2
	exit 1
fi

# ---- seed corpora (rebuilt each run; cheap) ----
seed=build-fuzz/seed
rm -rf "$seed" && mkdir -p "$seed/logs" "$seed/reader" "$seed/formats" "$seed/workload"
n=0
for f in fixtures/incident/*/*.log fixtures/incident/*/*.csv fixtures/incident/*/*.json \
	 fixtures/incident/*/console/* fixtures/pg/* fixtures/formats/*.log fixtures/hostile/* \
	 fixtures/cases/*/*.log "$shared"/reference/samples/*; do
	[ -f "$f" ] || continue
	case "$f" in *.gz) continue ;; esac
	split -l 40 -a 4 "$f" "$seed/logs/$(basename "$f")." 2>/dev/null || true
	n=$((n + 1))
done
# keep every 7th slice: enough variety, quick to load
ls "$seed/logs" | awk 'NR % 7 != 1' | sed "s|^|$seed/logs/|" | xargs -r rm -f
# small gzip seeds: one member, two members, truncated, a real .gz's head
i=0
for f in $(ls "$seed"/logs/* | awk 'NR % 10 == 1' | head -12); do
	i=$((i + 1))
	gzip -n -c "$f" >"$seed/logs/gz$i.gz"
	{ head -c 300 "$f" | gzip -n -c; tail -c +301 "$f" | gzip -n -c; } >"$seed/logs/gz$i-members.gz"
	gzip -n -c "$f" | head -c -9 >"$seed/logs/gz$i-truncated.gz"
done
for f in fixtures/incident/*/*.gz; do
	[ -f "$f" ] && head -c 3000 "$f" >"$seed/logs/head-$(basename "$(dirname "$f")")-$(basename "$f")"
done
# the reader's seeds: a control byte (see fuzz/fuzz_reader.c) + payload
i=0
for f in $(ls "$seed"/logs/* | awk 'NR % 4 == 1'); do
	i=$((i + 1))
	case "$f" in *.gz) ctls='00' ;; *) ctls='00 01 03 05 09 11 31 41 4b' ;; esac
	for c in $ctls; do
		{ printf "\\x$c"; head -c 8192 "$f"; } >"$seed/reader/$i-$c"
	done
done
# the formats file: example and hand-made rules, a NUL, then a log
{ cat fixtures/formats/example.formats; printf '\0'; cat fixtures/formats/example.log; } \
	>"$seed/formats/example"
cp fuzz/seeds/formats/* fixtures/cases/*/*.formats "$seed/formats/" 2>/dev/null || true
# the workload reader: files written by `poolscope workload`, if it exists
if ASAN_OPTIONS=detect_leaks=0 build-fuzz/poolscope workload --help >/dev/null 2>&1; then
	for d in fixtures/incident/before fixtures/incident/after; do
		[ -d "$d" ] || continue
		ASAN_OPTIONS=detect_leaks=0 build-fuzz/poolscope workload -q -o "$seed/workload/$(basename "$d")" \
			"$d" >/dev/null 2>&1 || true
	done
fi
cp fuzz/seeds/workload/* "$seed/workload/" 2>/dev/null || true
cp fuzz/seeds/reader/* "$seed/reader/" 2>/dev/null || true
echo "fuzz: seeds from $n files ($(ls "$seed/logs" | wc -l) log slices, $(ls "$seed/reader" | wc -l) reader," \
	"$(ls "$seed/formats" | wc -l) formats, $(ls "$seed/workload" | wc -l) workload), ${secs}s per target, $jobs at a time"

# ---- run ----
dict_for() { # target -> dictionary file (may be made here), or nothing
	local t=$1 fam
	case "$t" in
	fuzz_parse_auto) cat fuzz/*.dict | grep -v '^#' | sort -u >build-fuzz/all.dict
		echo build-fuzz/all.dict; return ;;
	fuzz_parse_*) fam=${t#fuzz_parse_} ;;
	fuzz_*) fam=${t#fuzz_} ;;
	esac
	for d in "fuzz/$fam.dict" "fuzz/${fam%%_*}.dict"; do
		[ -f "$d" ] && { echo "$d"; return; }
	done
	case "$fam" in *access*) [ -f fuzz/access.dict ] && echo fuzz/access.dict ;; esac
	return 0
}
seed_for() {
	case "$1" in
	fuzz_reader) echo "$seed/reader" ;;
	fuzz_formats_file) echo "$seed/formats" ;;
	fuzz_workload) echo "$seed/workload" ;;
	*) echo "$seed/logs" ;;
	esac
}
run_one() { # target: runs it, writes build-fuzz/<name>.log and .status
	local t=$1 name dict corpus findings
	name=$(basename "$t")
	corpus=build-fuzz/corpus/$name
	findings=build-fuzz/findings/$name
	mkdir -p "$corpus" "$findings"
	dict=$(dict_for "$name")
	set +e
	"$t" "$corpus" "$(seed_for "$name")" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		-close_fd_mask=3 -artifact_prefix="$findings/" -print_final_stats=1 \
		${dict:+-dict=$dict} >"build-fuzz/$name.log" 2>&1
	echo $? >"build-fuzz/$name.status"
	set -e
}
targets=()
for t in build-fuzz/fuzz_*; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	if [ ${#only[@]} -gt 0 ]; then
		case " ${only[*]} " in *" $(basename "$t") "*) ;; *) continue ;; esac
	fi
	targets+=("$t")
done
for t in "${targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
	run_one "$t" &
done
wait
fail=0
printf 'target\tseconds\texecs\texecs_per_s\tcov\tft\tcorpus\tresult\n' >build-fuzz/summary.tsv
for t in "${targets[@]}"; do
	name=$(basename "$t")
	log=build-fuzz/$name.log
	# (a target that fails on its seeds has no cov/ft lines: || true)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
	corp=$(ls "build-fuzz/corpus/$name" | wc -l)
	if [ "$(cat "build-fuzz/$name.status")" = 0 ]; then
		res=ok
		echo "fuzz: $name ok: ${execs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus $corp"
	else
		res=FAILED
		echo "fuzz: $name FAILED (exit $(cat "build-fuzz/$name.status")), see $log and build-fuzz/findings/$name/"
		grep -E 'ERROR|SUMMARY|check failed|==[0-9]+==|Test unit written' "$log" | head -12 || true
		fail=1
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$secs" "${execs:-0}" \
		"$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" "${cov:-0}" "${ft:-0}" "$corp" "$res" \
		>>build-fuzz/summary.tsv
done
exit $fail
