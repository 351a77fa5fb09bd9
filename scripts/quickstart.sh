#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the main job on the
# bundled real incident logs (captured from real SQLAlchemy, uvicorn and
# PostgreSQL, see fixtures/harness/README.md):
#   1. analyze the before-fix logs (the post-incident review),
#   2. replay the before-fix workload under the fix's settings,
#   3. write the before/after report with charts to out/report/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
before=fixtures/incident/before
after=fixtures/incident/after
echo "== poolscope analyze $before"
./build/poolscope analyze "$before"
echo
echo "== poolscope replay --pool 20/30/4.5 --batch-size 50 $before"
./build/poolscope replay --pool 20/30/4.5 --batch-size 50 "$before"
echo
echo "== poolscope report $before $after -o out/report"
./build/poolscope report "$before" "$after" -o out/report
echo
echo "quickstart: open out/report/report.html (charts: out/report/*.png)"
