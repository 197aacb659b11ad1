# MLA split kernel, L2 prefetch experiment (2026-11-29, fourteenth session): hand edits of the
# shipped leader loop in mla_decode_split.bf16.p{1,16,64}.cu, to learn whether the copies' cost
# (0.181 -> 0.153 ms at 64 x 4096 without them, docs/performance.md) is DRAM latency that an L2
# prefetch issued further ahead would hide, before the compiler is taught to emit one.
#
# Every block asks for its next 72 KiB tile at the same moment (the blocks run in lockstep), so a
# tile's cp.async meet DRAM in one burst with one tile of slack. Here warpgroup 1, right after it
# issues the cp.async of tile t + 1, also asks L2 for tile t + D with
# `cp.async.bulk.prefetch.L2.global` (no shared memory, no registers held): two threads a cache
# row, 576 bytes each. It does that before it waits for P, so the page-table read the prefetch
# address needs stalls only a warp that is idle anyway. By the time tile t + D's cp.async go out,
# its rows should be in L2.
#
# Variants (each a package under tmp/l2pf/<name>):
#   pf2, pf3, pf4  the prefetch D = 2, 3 or 4 tiles ahead
#   hint           no prefetch; the cp.async carry `.L2::256B` (fetch 256-byte sectors into L2)
#
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`.
import re
import sys

from variant_package import at_commit, build

# The leader build these edits were measured on (the package before row-reads.ts gave each row its
# place in its page without a remainder).
MEASURED_ON = "9e534c5"
OUT = "tmp/l2pf"

HELPER = r"""
// L2 prefetch of `bytes` contiguous bytes (a multiple of 16, 16-byte aligned); sm_90.
__device__ __forceinline__ void prefetch_l2(const void* p, unsigned bytes) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;\n" :: "l"(p), "r"(bytes) : "memory");
#endif
}
"""


def group1_loop(src):
    """(start of group 1's whole-tile loop, its loop variable, its end bound)."""
    full = src.index("  // full tiles\n")
    at = src.index("} else { // the other groups", full)
    m = re.compile(r"for \(int (t_\d+) = t_\d+; t_\d+ < (t_\d+); \+\+t_\d+\) \{").search(src, at)
    return m.start(), m.group(1), m.group(2)


def prefetch(D):
    def edit(src):
        start, t, t1 = group1_loop(src)
        page = int(re.search(r"PAGE = (\d+)", src).group(1))
        b = re.search(r"const int (b_\d+) = \(int\)blockIdx\.z;", src).group(1)
        wait = src.index("published_wait();", start)
        block = f"""if ({t} + {D} < {t1}) {{ // L2 prefetch of tile {t} + {D}: two threads a cache row, 576 bytes each
        const int r = (tid - 128) & 63, half = (tid - 128) >> 6, pos = ({t} + {D}) * 64 + r;
        const int slot = page_table[(long long)({b}) * page_table_s0 + pos / {page}] * {page} + pos % {page};
        prefetch_l2(c_kv + (long long)slot * c_kv_s0 + half * 288, 576);
      }}
      """
        src = src[:wait] + block + src[wait:]
        at = src.index("// Runtime dims and scalar arguments")
        return src[:at] + HELPER + src[at:]
    return edit


def hint(src):
    old = 'asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\\n"'
    assert old in src
    return src.replace(old, 'asm volatile("cp.async.cg.shared.global.L2::256B [%0], [%1], 16, %2;\\n"')


VARIANTS = {"pf2": prefetch(2), "pf3": prefetch(3), "pf4": prefetch(4), "hint": hint}


def main():
    for name in sys.argv[1:] or VARIANTS:
        build(f"{OUT}/{name}", ("mla_decode_split.", "merge_states"), "mla_decode_split.bf16", VARIANTS[name], source=at_commit(MEASURED_ON))
    print("ok")


if __name__ == "__main__":
    main()
