#!/usr/bin/env bash
# The test command: install what the tests need on a fresh Debian machine, run every test, and
# end with the plain line `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/ensure-webgpu.sh || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/build-cuda-addon.sh || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/ensure-chromium.sh || { echo "0 passed, 1 failed"; exit 1; }
npx vitest run --reporter=default --reporter=json --outputFile=.vitest-report.json
status=$?
node scripts/summary.mjs .vitest-report.json
exit $status
