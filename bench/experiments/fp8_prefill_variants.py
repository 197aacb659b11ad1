# Prefill through the paged cache over an fp8 (E4M3) cache on Hopper (`gqa_paged_fp8`, bf16
# query, P·V in f16): what its loop spends on widening. (2026-12-01, twenty-seventh session.) The
# shipped sm_90a loop copies each tile's E4M3 bytes by cp.async to a staging area, then every
# thread widens 8 values a step into the one 16-bit swizzled tile wgmma reads (K to bf16: cvt to
# f16x2, two f16 -> f32 and a pack; V to f16: the cvt alone), with a barrier before and after.
#   - `nowiden`: the widening steps left out (timing only: the tile keeps stale values);
#   - `nocvt`: the same loads and stores, the bytes stored as they are (timing only);
#   - `kf16`: K's cvt alone, its f16 bits read as bf16 (timing only; what f16 scores would cost).
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`,
# with PYTHONPATH=bench/experiments; then `bench_cuda.py --only paged_prefill --build NAME=DIR`.
import re

from variant_package import main

OUT = "tmp/fp8prefill"

COPY = ("__device__ __forceinline__ void fp8x8_copy(unsigned char* dst, uint2 raw) {\n"
        "  *reinterpret_cast<uint4*>(dst) = make_uint4(raw.x, raw.y, raw.x, raw.y);\n}\n")


def nocvt(s):
    s = re.sub(r"fp8x8_widen<(true|false)>\(smem", "fp8x8_copy(smem", s)
    return s.replace("// ldmatrix: four 8x8", COPY + "// ldmatrix: four 8x8", 1)


VARIANTS = {
    "nowiden": lambda s: re.subn(r"fp8x8_widen<(true|false)>\(smem[^;]*;", "", s)[0],
    "nocvt": nocvt,
    "kf16": lambda s: s.replace("fp8x8_widen<true>(smem", "fp8x8_widen<false>(smem"),
}

if __name__ == "__main__":
    main(OUT, VARIANTS, keep=("gqa_paged_fp8.",), edited="gqa_paged_fp8.bf16.g4.p16")
