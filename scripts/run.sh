#!/usr/bin/env bash
# The main job: install, make sure WebGPU works, compile kernels-src/ and check every kernel.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
bash scripts/ensure-webgpu.sh
node --import tsx scripts/main.ts
