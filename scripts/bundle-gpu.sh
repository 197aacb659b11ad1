#!/usr/bin/env bash
# Bundle what the GPU machine runs (it has no node_modules): the CUDA correctness suite and the
# CUDA benchmark driver, as plain ES modules in .bundle/ (git-ignored), plus the addon.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-cuda-addon.sh >/dev/null
mkdir -p .bundle
npx esbuild scripts/cuda-suite.ts --bundle --platform=node --format=esm --target=node20 --outfile=.bundle/cuda-suite.mjs --log-level=warning
echo "bundled: $(ls .bundle)"
