#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the main job on the
# bundled real incident logs (captured from real SQLAlchemy, uvicorn and
# PostgreSQL, see fixtures/harness/README.md):
#   1. analyze the before-fix logs (the post-incident review),
#   2. replay the before-fix workload under the fix (pool 20/30, timeout 4.5 s
#      as the incident's 45 s compressed 10x, batches of 125 on 5
#      connections committing per group),
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
fix=(--pool 20/30/4.5 --batch-size 125 --batch-concurrency 5 --commit group)
echo "== poolscope replay ${fix[*]} $before"
./build/poolscope replay "${fix[@]}" "$before"
echo
mkdir -p out
# The after logs hold no TimeoutError message to read the overflow from, so
# the deployed settings are stated, as a reviewer would.
echo "== poolscope report --pool-after 20/30/4.5 $before $after -o out/report"
./build/poolscope report --pool-after 20/30/4.5 "$before" "$after" -o out/report
echo
echo "quickstart: open out/report/report.html (charts: out/report/*.png)"
