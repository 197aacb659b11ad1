# gqa_paged_fp8's shared-to-shared widening on Hopper 16 values a step instead of 8 (one 16-byte
# read of the staged E4M3 row, two 16-byte stores), 4 steps a thread instead of 8.
# (2026-12-01, twenty-seventh session.) `x16`: each thread stores its low 8 values first; `x16swap`:
# the threads writing the tile's second 64-column block store their high 8 first, so a
# quarter-warp's first stores fall on 8 distinct 16-byte bank groups. Every variant is correct.
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`
# (the build with the whole-unrolled 8-value loop), with PYTHONPATH=bench/experiments.
import re

from variant_package import main

OUT = "tmp/fp8x16"
LOOP = re.compile(r"for \(int i = 0; i < 8; \+\+i\) \{\n(\s*)const int r = tid / 16 \+ i \* 8, c = \(tid % 16\) \* 8;\n"
                  r"\s*fp8x8_widen<(true|false)>\(smem \+ (\d+) \+ sw128\(r, c, 64\), \*reinterpret_cast<const uint2\*>\(smem \+ (\d+) \+ r \* 144 \+ c\)\);\n")


def x16(swap):
    def body(m):
        ind, bf, dst, src = m[1], m[2], m[3], m[4]
        s = "(tid >> 2) & 1" if swap else "0"
        return (f"for (int i = 0; i < 4; ++i) {{\n{ind}const int r = tid / 8 + i * 16, c = (tid % 8) * 16, s = {s};\n"
                f"{ind}const uint4 w = *reinterpret_cast<const uint4*>(smem + {src} + r * 144 + c);\n"
                f"{ind}fp8x8_widen<{bf}>(smem + {dst} + sw128(r, c + 8 * s, 64), s ? make_uint2(w.z, w.w) : make_uint2(w.x, w.y));\n"
                f"{ind}fp8x8_widen<{bf}>(smem + {dst} + sw128(r, c + 8 - 8 * s, 64), s ? make_uint2(w.x, w.y) : make_uint2(w.z, w.w));\n")

    def edit(src):
        out, n = LOOP.subn(body, src)
        assert n == 6, n
        return out
    return edit


VARIANTS = {"x8": lambda s: s, "x16": x16(False), "x16swap": x16(True)}

if __name__ == "__main__":
    main(OUT, VARIANTS, keep=("gqa_paged_fp8.",), edited="gqa_paged_fp8.bf16.g4.p16")
