# The shared-to-shared widening of gqa_paged_fp8's tiles (copy-emit.ts widenStaged), written as
# a loop of constant trip count (each thread on one column, r = tid / 16 + 8i), unrolled in
# whole or in part, or as a loop down the rows. (2026-12-01, twenty-seventh session.) The base is
# the compiler's CUDA C for gqa_paged_fp8.bf16.g4.p16 with the constant-count loop fully
# unrolled, at three blocks an SM; every variant is correct (only the loop's form changes).
# Usage: PYTHONPATH=bench/experiments python3 bench/experiments/fp8_widen_loop_variants.py BASE.cu
import re
import sys

from variant_package import build

OUT = "tmp/fp8loop"
HEAD = re.compile(r"#pragma unroll\n(\s*)for \(int i = 0; i < 8; \+\+i\) \{\n\s*const int r = tid / 16 \+ i \* 8, c = \(tid % 16\) \* 8;\n")


def unroll(n):
    return lambda s: HEAD.sub(lambda m: f"#pragma unroll {n}\n{m[1]}for (int i = 0; i < 8; ++i) {{\n{m[1]}  const int r = tid / 16 + i * 8, c = (tid % 16) * 8;\n", s)


def rows(s):
    return HEAD.sub(lambda m: f"#pragma unroll\n{m[1]}for (int r = tid / 16, c = (tid % 16) * 8; r < 64; r += 8) {{\n", s)


VARIANTS = {"full": lambda s: s, "u1": unroll(1), "u2": unroll(2), "rows": rows}

if __name__ == "__main__":
    base = open(sys.argv[1]).read()
    assert len(HEAD.findall(base)) == 6, "expected the six widening loops of the build"
    for name, edit in VARIANTS.items():
        build(f"{OUT}/{name}", ("gqa_paged_fp8.",), "gqa_paged_fp8.bf16.g4.p16", edit, source=lambda n: base)
    print("ok")
