#!/usr/bin/env bash
# Build bench/peers/flashmla_shim.cu into a shared library that bench_cuda.py can time as a peer
# (FLASHTILE_FLASHMLA_LIB=path), for machines without the flash_mla Python package.
#   bash bench/peers/build-flashmla.sh FLASHMLA_CHECKOUT OUT.so
# FLASHMLA_CHECKOUT is a clone of github.com/deepseek-ai/FlashMLA with its csrc/cutlass submodule.
# Needs nvcc >= 12.3 for sm_90a; no GPU, no torch. The flags are those of FlashMLA's setup.py.
set -euo pipefail
src=$(cd "$1" && pwd)/csrc
out=$2
here=$(cd "$(dirname "$0")" && pwd)
nvcc=${NVCC:-nvcc}
flags=(-O3 -std=c++20 -DNDEBUG -D_USE_MATH_DEFINES -Wno-deprecated-declarations
  -U__CUDA_NO_HALF_OPERATORS__ -U__CUDA_NO_HALF_CONVERSIONS__ -U__CUDA_NO_HALF2_OPERATORS__
  -U__CUDA_NO_BFLOAT16_CONVERSIONS__ --expt-relaxed-constexpr --expt-extended-lambda --use_fast_math
  -DFLASH_MLA_DISABLE_FP16 -gencode arch=compute_90a,code=sm_90a -Xcompiler -fPIC
  -I"$src" -I"$src/kerutils/include" -I"$src/sm90" -I"$src/cutlass/include" -I"$src/cutlass/tools/util/include")
tmp=$(mktemp -d)
trap "rm -rf $tmp" EXIT
pids=()
for f in "$here/flashmla_shim.cu" "$src/sm90/decode/dense/instantiations/bf16.cu" \
         "$src/smxx/decode/combine/combine.cu" "$src/smxx/decode/get_decoding_sched_meta/get_decoding_sched_meta.cu"; do
  "$nvcc" "${flags[@]}" -c "$f" -o "$tmp/$(basename "$f" .cu).o" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
"$nvcc" -shared -gencode arch=compute_90a,code=sm_90a -o "$out" "$tmp"/*.o
echo "built $out"
