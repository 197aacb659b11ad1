#!/usr/bin/env bash
# Build the flashtile CUDA addon (runtime/backends/cuda/addon) into
#   runtime/backends/cuda/addon/build/Release/flashtile_cuda.node
# It links no CUDA library (libcuda.so.1 is dlopen'ed at init()), so it builds on any Linux
# machine with a C compiler and Node's headers. Tries node-gyp first (npm's bundled one, or one
# on PATH), then a plain compiler. Exits non-zero if neither works.
#
#   bash scripts/build-cuda-addon.sh              # the addon
#   bash scripts/build-cuda-addon.sh --selftest   # also the self-test's PTX (nvcc) and the
#                                                 # bundle .bundle/cuda-runtime.mjs (esbuild)
# Environment: FLASHTILE_CUDA_BUILD=gyp|cc forces one way; NODE_INCLUDE=dir overrides where
# node_api.h is looked for in the plain-compiler build, FLASHTILE_CUDA_ADDON_OUT=file its output.
set -euo pipefail
cd "$(dirname "$0")/.."
addon=runtime/backends/cuda/addon
out=$addon/build/Release/flashtile_cuda.node
how=${FLASHTILE_CUDA_BUILD:-}
# The plain-compiler build may write elsewhere (tests build the fallback without touching the
# addon a running process has loaded).
[ "$how" = cc ] && [ -n "${FLASHTILE_CUDA_ADDON_OUT:-}" ] && out=$FLASHTILE_CUDA_ADDON_OUT

build_gyp() {
  local gyp=""
  if command -v node-gyp >/dev/null 2>&1; then
    gyp="node-gyp"
  else
    local npm_js
    npm_js=$(command -v npm >/dev/null 2>&1 && readlink -f "$(command -v npm)" || true)
    local cand
    cand="$(dirname "$(dirname "$npm_js")")/node_modules/node-gyp/bin/node-gyp.js"
    [ -n "$npm_js" ] && [ -f "$cand" ] && gyp="node $cand"
  fi
  [ -n "$gyp" ] || { echo "build-cuda-addon: no node-gyp found" >&2; return 1; }
  # npm's config (nodedir=/usr here) reaches node-gyp through npm_config_* when npm runs us; when
  # run directly, pass the headers' location if npm knows it, so node-gyp needs no download.
  local nodedir=${npm_config_nodedir:-}
  if [ -z "$nodedir" ] && command -v npm >/dev/null 2>&1; then
    nodedir=$(npm config get nodedir 2>/dev/null || true)
    [ "$nodedir" = "undefined" ] || [ "$nodedir" = "null" ] && nodedir=""
  fi
  (cd "$addon" && $gyp rebuild --loglevel=warn ${nodedir:+--nodedir="$nodedir"})
}

build_cc() {
  local inc=${NODE_INCLUDE:-}
  if [ -z "$inc" ]; then
    local prefix
    prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
    for d in "$prefix/include/node" /usr/include/node /usr/local/include/node; do
      [ -f "$d/node_api.h" ] && { inc=$d; break; }
    done
  fi
  [ -n "$inc" ] && [ -f "$inc/node_api.h" ] || { echo "build-cuda-addon: node_api.h not found (set NODE_INCLUDE)" >&2; return 1; }
  local cc=${CC:-}
  if [ -z "$cc" ]; then
    if command -v gcc >/dev/null 2>&1; then cc=gcc; elif command -v cc >/dev/null 2>&1; then cc=cc;
    elif command -v g++ >/dev/null 2>&1; then cc="g++ -x c"; else
      echo "build-cuda-addon: no C compiler (gcc, cc or g++)" >&2; return 1; fi
  fi
  mkdir -p "$(dirname "$out")"
  # The addon is C and uses only libc and libdl: nothing of libstdc++/libgcc to carry along.
  $cc -std=c11 -O2 -Wall -Wextra -Wno-unused-parameter -fPIC -shared -fvisibility=hidden \
    -DNAPI_VERSION=8 -DNODE_GYP_MODULE_NAME=flashtile_cuda -I"$inc" \
    "$addon/flashtile_cuda.c" -o "$out" -ldl
}

ok=0
case "$how" in
  gyp) build_gyp && ok=1 ;;
  cc) build_cc && ok=1 ;;
  *) if build_gyp; then ok=1; else echo "build-cuda-addon: node-gyp failed; trying a plain compiler" >&2; build_cc && ok=1; fi ;;
esac
[ "$ok" = 1 ] && [ -f "$out" ] || { echo "build-cuda-addon: FAILED" >&2; exit 1; }
echo "build-cuda-addon: built $out"

if [ "${1:-}" = "--selftest" ]; then
  st=runtime/backends/cuda/selftest
  nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  if [ -x "$nvcc" ] || command -v "$nvcc" >/dev/null 2>&1; then
    "$nvcc" -ptx -arch=sm_80 -o "$st/axpy.sm_80.ptx" "$st/axpy.cu"
    echo "build-cuda-addon: built $st/axpy.sm_80.ptx"
  else
    echo "build-cuda-addon: no nvcc; keeping $st/axpy.sm_80.ptx as it is" >&2
  fi
  node_modules/.bin/esbuild runtime/backends/cuda/index.ts --bundle --platform=node --format=esm \
    --outfile=.bundle/cuda-runtime.mjs --log-level=warning
  echo "build-cuda-addon: built .bundle/cuda-runtime.mjs"
fi
