# Prefill through an FP8 cache of one-row pages on Hopper (`gqa_paged_fp8.bf16.g4.p1`): what the
# split query's FP8 scores (split-scores.ts) would bring to the plain loop, whose tiles come by
# cp.async. (2026-12-01, thirtieth session.) The compiler takes the split in overlapped loops
# alone, which need TMA, which page 1 cannot use; there the loop widens every K tile into 16-bit
# values before its scores. This hand edit of the whole-tile loop (sm_90a path):
#   - splits the query once before the loop into hi / lo E4M3 tiles (the code the compiler emits at
#     page 16, copied from that build), in 16 KiB of their own past the rest (at page 1 the widened
#     K and V share one buffer, which the split tiles cannot take): 65536 bytes, three blocks an SM;
#   - copies K's E4M3 bytes 128-byte swizzled (chunk c of row r at (c ^ r % 8)), as FP8 wgmma reads
#     them, in the loop's prologue and its copies ahead;
#   - runs the scores as 8 wgmma m64n64k32 E4M3 on hi, lo and K's staged bytes, each row's 1/s
#     folded into the scores' scale; K is no longer widened.
# Run from the repository root with PYTHONPATH=bench/experiments; then
# `bench_cuda.py --only paged_prefill --build NAME=DIR` and the CUDA suite on DIR.
import re

from variant_package import main, shipped

OUT = "tmp/p1split"
NAME = "gqa_paged_fp8.bf16.g4.p1"
DONOR = "gqa_paged_fp8.bf16.g4.p16"

PROLOGUE = "  __syncthreads(); // the tiles' shared memory is free\n  if (t_235 < t_238) {"
START = "  // full tiles\n  for (int t_284 = t_235; t_284 < t_238; ++t_284) {"
END = "  __syncthreads(); // the tiles' shared memory is free\n  if (t_238 < t_233) {"

K_DST = "cp_async16(smem + 16384 + r * 128 + c, k_cache"
K_DST_SW = "cp_async16(smem + 16384 + r * 128 + ((((c) >> 4) ^ (r & 7)) << 4), k_cache"

WIDEN_K = re.compile(r"    #if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n    // t_301: 64 x 128 fp8 widened to bf16.*?#endif\n", re.S)
SCORES = re.compile(r"(    float t_303\[32\] = \{\};\n    #if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n).*?(      wgmma_commit_wait\(\);)", re.S)
FP8_SCORES = r"""\1    // t_303: 8 x wgmma m64n64k32 E4M3, A the query's hi then lo tile, B K's staged bytes (hand edit)
    {
      wgmma_fence();
      {
        const uint64_t db = sw128_desc(smem + 16384, 16, 1024);
        const uint64_t dh = sw128_desc(smem + 49152 + wg_row * 8192, 16, 1024), dl = sw128_desc(smem + 57344 + wg_row * 8192, 16, 1024);
        #pragma unroll
        for (int kk = 0; kk < 8; ++kk) {
          wgmma_m64n64k32_ss_e4m3(t_303, (kk < 4 ? dh : dl) + (uint64_t)(((kk % 4) * 32) >> 4), db + (uint64_t)(((kk % 4) * 32) >> 4), kk != 0);
        }
      }
\2"""


def donor_parts():
    d = shipped(DONOR)
    a = d.index("#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n// d (64 x 64, 32 floats a thread) += A (64 x 32 E4M3")
    helpers = d[a:d.index("#endif\n", a) + len("#endif\n")]
    s = d.index("    // Q_149 split into two E4M3 tiles")
    split = d[s:d.index("    __syncthreads(); // the loop's first scores read them with no barrier before\n", s)]
    split = split.replace("Q_149", "Q_145").replace("t_311_rows", "t_303_rows").replace("scale2_152", "scale2_148")
    # The donor's tiles sit in its widened K's bytes (32768, 40960); here past the rest.
    assert split.count("smem + 32768 + off") == 1 and split.count("smem + 40960 + off") == 1
    split = split.replace("hi at 32768, lo at 40960", "hi at 49152, lo at 57344").replace("smem + 32768 + off", "smem + 49152 + off").replace("smem + 40960 + off", "smem + 57344 + off")
    return helpers, split


def edit(src):
    helpers, split = donor_parts()
    src = src.replace("\n// Runtime dims and scalar arguments", "\n" + helpers + "\n// Runtime dims and scalar arguments", 1)
    p = src.index(PROLOGUE)
    a = src.index(START, p)
    b = src.index(END, a)
    prologue, loop = src[p:a], src[a:b]
    assert prologue.count(K_DST) == 1 and loop.count(K_DST) == 1
    prologue = prologue.replace(K_DST, K_DST_SW)
    loop = loop.replace(K_DST, K_DST_SW)
    loop, n = WIDEN_K.subn("", loop, count=1)
    assert n == 1
    loop, n = SCORES.subn(FP8_SCORES, loop, count=1)
    assert n == 1
    # The scores' scale: each row's scale2 / s (t_303_rows), in place of scale2.
    old = "(t_303[((mt * 8 + nt) * 2 + h) * 2 + p] * scale2_148)"
    assert loop.count(old) == 1
    loop = loop.replace(old, "(t_303[((mt * 8 + nt) * 2 + h) * 2 + p] * t_303_rows[h])")
    pre = "  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n  float t_303_rows[2];\n  {\n" + split.replace("    float t_303_rows[2];", "    // (t_303_rows declared above)") + "    fence_async_proxy();\n    __syncthreads();\n  }\n  #endif\n"
    return src[:p] + prologue + pre + loop + src[b:]


if __name__ == "__main__":
    main(OUT, {"p1split": edit}, keep=(NAME + "$",), edited=NAME + "$", shared_bytes=65536)
