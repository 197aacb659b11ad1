# MLA over an fp8 cache on Hopper (`mla_paged_fp8`, `mla_decode_split_fp8`, bf16 query): how
# much of the copying group's longer path per tile is the widening arithmetic? (2026-12-01,
# twenty-sixth session.) Each pair of E4M3 values goes to bf16 in four instructions on the
# shipped sm_90a path (cvt to f16x2, two f16 -> f32, one pack to bf16x2).
#   - `f16`: the cvt alone, its f16 bits kept as bf16 (timing only: wrong on purpose);
#   - `nowiden`: the in-place widening's stores left out (timing only: the tiles stay E4M3);
#   - `bits`: the bytes moved into the bf16 fields and the pair multiplied by 2^120 (the
#     sm_80 routine's arithmetic, without its NaN patch: NaN codes give +-480);
#   - `bitsnan`: the same with NaN codes patched to NaN by a carry test (add 1 to the 7 bits).
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`,
# with PYTHONPATH=bench/experiments.
import re

from variant_package import main

OUT = "tmp/fp8widen"

HEAD = "template <bool BF16> __device__ __forceinline__ uint32_t e4m3x2_widen(uint32_t w, int hi) {\n"
SHIPPED_BF16 = "  if (!BF16) return h;\n"


def bits(nan):
    patch = "  const uint32_t n = ((t & 0x7f007f00u) + 0x01000100u) & 0x80008000u;\n  r |= n - (n >> 9);\n" if nan else ""
    return (HEAD + "#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890\n  if (BF16) {\n"
            "  const uint32_t t = __byte_perm(w, 0u, hi ? 0x3424 : 0x1404);\n"
            "  const uint32_t x = (t & 0x80008000u) | ((t & 0x7f007f00u) >> 4);\n"
            "  const __nv_bfloat162 b = __hmul2(*reinterpret_cast<const __nv_bfloat162*>(&x), __float2bfloat162_rn(0x1p120f));\n"
            "  uint32_t r = *reinterpret_cast<const uint32_t*>(&b);\n" + patch + "  return r;\n  }\n#endif\n")


def sub(s, old, new):
    assert old in s, old[:60]
    return s.replace(old, new)


VARIANTS = {
    "f16": lambda s: sub(s, SHIPPED_BF16, "  return h;\n"),
    "nowiden": lambda s: re.subn(r"fp8x16_store<true>\([^;]*raw\[j\]\);", "", s)[0],
    "bits": lambda s: sub(s, HEAD, bits(False)),
    "bitsnan": lambda s: sub(s, HEAD, bits(True)),
}

if __name__ == "__main__":
    main(OUT, VARIANTS, keep=("mla_paged_fp8", "mla_decode_split_fp8", "merge_states"), edited=("mla_paged_fp8.bf16.p64", "mla_decode_split_fp8.bf16.p64"))
