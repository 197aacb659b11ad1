# Prefill through a paged cache of one-row pages on Hopper (`gqa_paged.bf16.g4.p1`): what its
# copies cost. (2026-12-01, twenty-ninth session.) The overlapped order did not help page 1
# (paged_prefill_p1_overlap_variant.py), so its whole-tile loop waits on its copies: each thread
# reads 8 page-table entries and issues 8 cp.async a tile for K, and the same rows again for V.
# Hand edits of that loop alone:
#   - `ptregs`: V(n)'s copy takes the page-table entries K(n)'s copy read, kept in 8 registers a
#     thread (correct: K and V of a tile are the same rows);
#   - `noload`: no page-table read at all, the rows taken as contiguous (wrong on purpose: timing
#     only, the bound on what faster addressing could bring).
# Run from the repository root with PYTHONPATH=bench/experiments; then
# `bench_cuda.py --only paged_prefill --build NAME=DIR` (and the CUDA suite for `ptregs`).
from variant_package import main

OUT = "tmp/p1copy"
NAME = "gqa_paged.bf16.g4.p1"

START = "  __syncthreads(); // the tiles' shared memory is free\n  if (t_493 < t_496) {"
END = "  __syncthreads(); // the tiles' shared memory is free\n  if (t_496 < t_491) {"

ROW = "page_table[(long long)(b_363) * page_table_s0 + (long long)(({base} + r))]"
LOOP_HEAD = "for (int r = tid / 16, c = (tid % 16) * 8; r < 64; r += 8) {"
# Unrolled (8 rows a thread), so that the entries stay in registers.
I_HEAD = "_Pragma(\"unroll\") for (int i = 0; i < 8; ++i) { const int r = tid / 16 + 8 * i, c = (tid % 16) * 8;"


def edit(how):
    def apply(src):
        a = src.index(START)
        b = src.index(END, a)
        loop = src[a:b]
        k_pre, v_top, k_next = ROW.format(base="t_542_ahead"), ROW.format(base="t_542"), ROW.format(base="t_542_ahead")
        assert loop.count(k_pre) == 2 and loop.count(v_top) == 1, (loop.count(k_pre), loop.count(v_top))
        if how == "noload":
            loop = loop.replace(k_pre, "(t_542_ahead + r)").replace(v_top, "(t_542 + r)")
        else:
            # K's copies record each row's entry; V's reads them back.
            loop = loop.replace(LOOP_HEAD, I_HEAD)
            loop = loop.replace(k_pre, f"(ptk[i] = {k_pre})").replace(v_top, "ptk[i]")
            loop = loop.replace("  if (t_493 < t_496) {", "  int ptk[8]; // the page-table entries of K's last copy (hand edit)\n  if (t_493 < t_496) {", 1)
        return src[:a] + loop + src[b:]
    return apply


if __name__ == "__main__":
    import sys
    for name in sys.argv[1:] or ("ptregs", "noload"):
        sys.argv = [sys.argv[0], name]
        main(OUT, {name: edit(name)}, keep=(NAME + "$",), edited=NAME + "$")
