# Prefill through the paged cache over an fp8 (E4M3) cache on Hopper (`gqa_paged_fp8.bf16.g4.p16`):
# can the scores read K's E4M3 bytes directly, with FP8 wgmma, instead of a widened copy?
# (2026-12-01, twenty-ninth session.) The shipped whole-tile loop widens each K tile (8 KiB of
# E4M3 into 16 KiB of bf16) before its scores. Here, in that loop alone (the masked loops keep the
# widening):
#   - the bf16 query tile is split once, before the loop, into two E4M3 tiles, hi = e4m3(q * s)
#     and lo = e4m3(q * s - hi), s a power of two a row putting the row's largest |q| in
#     [128, 256) (exact; hi + lo keeps about bf16's 8 significant bits); they take the 16 KiB
#     of the widened K tile, which this loop no longer needs;
#   - K's boxes land 128-byte swizzled (the map's swizzle 128), the layout FP8 wgmma reads;
#   - the scores are hi . K^T + lo . K^T: 8 x wgmma m64n64k32 e4m3 (as many instructions, each
#     the time of a bf16 k16 one), no widening, no block barrier before them; each row's scores
#     are multiplied by 1/s (folded into the scale the loop already applies);
#   - V is widened as before (FP8 wgmma takes only K-major B: V would need a transpose).
# Run from the repository root with PYTHONPATH=bench/experiments; then
# `bench_cuda.py --only paged_prefill --build NAME=DIR`, and the CUDA suite on DIR.
import json

from variant_package import at_commit, main

OUT = "tmp/fp8qsplit"
NAME = "gqa_paged_fp8.bf16.g4.p16"

START = "  __syncthreads(); // the tiles' shared memory is free\n  if (t_239 < t_242) {"
END = "  #else\n  for (int t_290 = t_239; t_290 < t_242; ++t_290) {"

HELPER = r"""
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// d (64 x 64, 32 floats a thread) (+)= A (64 x 32 E4M3, shared) . B (32 x 64 E4M3, shared, K-major).
__device__ __forceinline__ void wgmma_m64n64k32_ss_e4m3(float* d, uint64_t da, uint64_t db, int add) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
               : "l"(da), "l"(db), "r"(add));
}
// Four floats as four E4M3 bytes (the first in the low byte), rounded to nearest, saturating.
__device__ __forceinline__ uint32_t e4m3x4(float a, float b, float c, float d) {
  const uint32_t lo = __nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3);
  const uint32_t hi = __nv_cvt_float2_to_fp8x2(make_float2(c, d), __NV_SATFINITE, __NV_E4M3);
  return lo | (hi << 16);
}
// Byte j (0..3) of four E4M3 bytes as a float.
__device__ __forceinline__ float e4m3_at(uint32_t w, int j) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)((w >> (j & 2 ? 16 : 0)) & 0xffff), __NV_E4M3);
  const __half2 v = *reinterpret_cast<const __half2*>(&h);
  return (j & 1) ? __high2float(v) : __low2float(v);
}
#endif
"""

# Q (bf16, swizzled at 0) split into hi at 32768 and lo at 40960 (E4M3, 128-byte rows, swizzled):
# each lane takes 32 columns of its two accumulator rows, so the row's scale stays in its lanes.
SPLIT = r"""  // the query split into two E4M3 tiles for the whole-tile loop's FP8 scores (hand edit)
  float qs2[2];
  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if (t_239 < t_242) {
    #pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = warp * 16 + g + 8 * h;
      float x[32];
      #pragma unroll
      for (int j = 0; j < 4; ++j) {
        const uint4 v = *reinterpret_cast<const uint4*>(smem + sw128(r, t4 * 32 + j * 8, 64));
        const uint32_t w[4] = {v.x, v.y, v.z, v.w};
        #pragma unroll
        for (int e = 0; e < 4; ++e) {
          x[j * 8 + 2 * e] = __uint_as_float(w[e] << 16);
          x[j * 8 + 2 * e + 1] = __uint_as_float(w[e] & 0xffff0000u);
        }
      }
      float amax = 0.0f;
      #pragma unroll
      for (int i = 0; i < 32; ++i) amax = fmaxf(amax, fabsf(x[i]));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
      // amax < 2^(e - 126); s = 2^(134 - e) puts it under 256 (E4M3 reaches 448).
      const int e = min(max((__float_as_int(amax) >> 23) & 255, 8), 254);
      const float s = __int_as_float((261 - e) << 23);
      qs2[h] = scale2_152 * __int_as_float((e - 7) << 23);
      uint32_t hw[8], lw[8];
      #pragma unroll
      for (int i = 0; i < 8; ++i) {
        const float a = x[4 * i] * s, b = x[4 * i + 1] * s, c = x[4 * i + 2] * s, d = x[4 * i + 3] * s;
        hw[i] = e4m3x4(a, b, c, d);
        lw[i] = e4m3x4(a - e4m3_at(hw[i], 0), b - e4m3_at(hw[i], 1), c - e4m3_at(hw[i], 2), d - e4m3_at(hw[i], 3));
      }
      #pragma unroll
      for (int k = 0; k < 2; ++k) {
        const int off = r * 128 + (((2 * t4 + k) ^ (r & 7)) << 4);
        *reinterpret_cast<uint4*>(smem + 32768 + off) = make_uint4(hw[4 * k], hw[4 * k + 1], hw[4 * k + 2], hw[4 * k + 3]);
        *reinterpret_cast<uint4*>(smem + 40960 + off) = make_uint4(lw[4 * k], lw[4 * k + 1], lw[4 * k + 2], lw[4 * k + 3]);
      }
    }
    fence_async_proxy(); // wgmma reads these tiles through the async proxy
    __syncthreads(); // the loop's first scores read them with no barrier of their own before
  }
  #endif
"""

KWIDEN_HEAD = "// t_309: 64 x 128 fp8 widened to bf16, shared to shared, 16 values per step"
OLD_DESCS = ("const uint64_t db = sw128_desc(smem + 32768, 16, 1024);", "const uint64_t da = sw128_desc(smem + 0 + wg_row * 8192, 16, 1024);")
OLD_LOOP_HEAD = "for (int kk = 0; kk < 8; ++kk) {"
OLD_WGMMA = "wgmma_m64n64k16_ss_bf16<0>(t_311, da + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), db + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), kk != 0);"
NEW_WGMMA = ("wgmma_m64n64k32_ss_e4m3(t_311, ((kk >> 2) ? dl : dh) + (uint64_t)(((kk & 3) * 32) >> 4), db + (uint64_t)(((kk & 3) * 32) >> 4), kk != 0);")


def drop_k_widening(loop):
    """Each K widening block of the whole-tile loop (its head comment through the barrier after
    it) removed: the scores read the staged bytes."""
    out, at = [], 0
    while True:
        i = loop.find(KWIDEN_HEAD, at)
        if i < 0:
            break
        line_start = loop.rindex("\n", 0, i) + 1
        j = loop.index("__syncthreads();\n", i) + len("__syncthreads();\n")
        out.append(loop[at:line_start])
        at = j
    out.append(loop[at:])
    return "".join(out)


def edit(src):
    a = src.index(START)
    b = src.index(END, a)
    loop = src[a:b]
    n_widen = loop.count(KWIDEN_HEAD)
    loop = drop_k_widening(loop)
    loop = loop.replace(OLD_DESCS[0], "const uint64_t db = sw128_desc(smem + 16384, 16, 1024);")
    loop = loop.replace(OLD_DESCS[1], "const uint64_t dh = sw128_desc(smem + 32768, 16, 1024), dl = sw128_desc(smem + 40960, 16, 1024);")
    n_wgmma = loop.count(OLD_WGMMA)
    loop = loop.replace(OLD_WGMMA, NEW_WGMMA)
    n_scale = loop.count("(t_311[((mt * 8 + nt) * 2 + h) * 2 + p] * scale2_152)")
    loop = loop.replace("(t_311[((mt * 8 + nt) * 2 + h) * 2 + p] * scale2_152)", "(t_311[((mt * 8 + nt) * 2 + h) * 2 + p] * qs2[h])")
    loop = loop.replace("(E4M3 bytes, dense rows)", "(E4M3 bytes, 128-byte swizzled)")
    assert n_widen == n_wgmma == n_scale and n_widen >= 3, (n_widen, n_wgmma, n_scale)
    # The split, after the barrier that frees the tiles, before the loop's first K copy.
    head = "  __syncthreads(); // the tiles' shared memory is free\n"
    loop = head + SPLIT + loop[len(head):]
    src = src[:a] + loop + src[b:]
    return src.replace("// Runtime dims and scalar arguments", HELPER + "// Runtime dims and scalar arguments", 1)


def swizzle_k(out):
    """The manifest of package `out` with K's map swizzled (128 bytes), V's dense as shipped."""
    path = f"{out}/manifest.json"
    man = json.load(open(path))
    for e in man["kernels"][NAME]:
        for m in e["cuda"]["tensorMaps"]:
            if m["tensor"] == "k_cache":
                m["swizzle"] = 128
    json.dump(man, open(path, "w"))


if __name__ == "__main__":
    import sys
    sys.argv = sys.argv[:1] + ["qsplit"]
    # An edit of the package before the compiler took it (7f00376): 1ca05d8's CUDA C.
    main(OUT, {"qsplit": edit}, keep=(NAME,), edited=NAME, source=at_commit("1ca05d8"))
    swizzle_k(f"{OUT}/qsplit")
