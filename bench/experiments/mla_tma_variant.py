# MLA split kernel, TMA experiment (2026-11-29, fifteenth session): the latent tiles of the full
# tiles copied by the Tensor Memory Accelerator (cp.async.bulk.tensor, one thread issuing a few
# boxes a tile) instead of 16-byte cp.async by 128 threads, in two loops:
#   leader_tma  the compiler's leader loop as shipped, warpgroup 1's copies of tile t + 1 replaced
#               by thread 128 issuing them as boxes onto mbarrier (t + 1) & 1
#   ss64_tma    the 64-key seesaw of mla_seesaw64_variant.py (CHUNKED, bra.uni), each group's
#               half-tile copies issued by its first thread as boxes
#   ss64        the same seesaw with its cp.async copies, on the same source (for comparison)
# Added in the sixteenth session (2026-11-29), each timed beside the shipped build in one call
# (h200-mla-seesaw-tma-ef-2026-11-29.*):
#   ss64_tma_ef, leader_tma_ef  the boxes under an L2 evict-first policy (FlashMLA's write-up)
#   ss64_tma_offset, ss64_tma_ef_offset  with mla_seesaw64_variant's OFFSET (group 1's scores
#               issued once group 0's are done)
#
# Why: without copies the leader loop took 0.153 ms and the seesaw 0.140 ms (64 x 4096, page 16),
# with them 0.187 and 0.189. The cp.async copies cost warpgroup 1 (or both groups) 36 copies, a
# page-table read per page and the address arithmetic of each, a tile and a thread; a TMA box
# moves P rows x 64 columns (128 bytes a row, swizzled as wgmma reads them) for one instruction.
#
# The box is one page's rows of one 64-column block (pages of 16 or 64 rows; page 1 keeps
# cp.async: a one-row box would take 9 instructions a row). The tensor map (CUtensorMap, 128
# bytes) views c_kv as 2-D [slots, 576] bf16 with 128-byte swizzle; it is passed by value as one
# more kernel parameter (`__grid_constant__`), and the package's manifest says so
# (cuda.tensorMaps, which bench_cuda.py encodes with cuTensorMapEncodeTiled). The Node runtime does
# not pass tensor maps: these builds run in bench_cuda.py alone (its err column checks them).
#
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`.
import json
import re
import sys

import mla_seesaw64_variant as ss
from mla_seesaw_variant import names
from variant_package import at_commit, build

OUT = "tmp/tma"
# The package these edits apply to: the last one before the compiler emitted TMA itself (5f297c3).
MEASURED_ON = "c054be4"
MBAR_LEADER = 229888  # two mbarriers after the leader build's 229888 bytes
SHARED = max(ss.SHARED, MBAR_LEADER + 16)

TMA_HELPERS = r"""
// A CUtensorMap as the driver encodes it (cuTensorMapEncodeTiled): 128 opaque bytes.
struct __align__(64) TmaMap { unsigned long long v[16]; };
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void mbar_init1(unsigned a) { asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\n" :: "r"(a) : "memory"); }
__device__ __forceinline__ void mbar_fence_init() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }
// One arrival that also makes the mbarrier's phase wait for `bytes` more bytes of TMA copies.
__device__ __forceinline__ void mbar_expect_tx(unsigned a, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" :: "r"(a), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_wait_uni(unsigned a, int parity) {
  asm volatile("{\n.reg .pred p;\nWAIT_%=:\nmbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n@!p bra.uni WAIT_%=;\n}\n" :: "r"(a), "r"(parity) : "memory");
}
// Box (column c0, row c1) of the map into shared memory at dst (swizzled by the map), counted on
// the mbarrier at bar.
__device__ __forceinline__ void tma_box(unsigned char* dst, const TmaMap* map, int c0, int c1, unsigned bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(c0), "r"(c1), "r"(bar) : "memory");
}
#endif
"""


def boxes(n, tile, blocks, lat, rope, bar, warp):
    """Warp `warp` (a condition) issues tile `tile`'s column blocks `blocks` (0..7 latent, 8 the
    rope) onto mbarrier `bar`, which its lane 0 arms with their bytes: lane j takes pages j,
    j + 32, ... of the tile (one box a page and block), so the boxes of up to 32 pages go out in
    one instruction a block."""
    P = n["PAGE"]
    pages = 64 // P
    lat_blocks = [c for c in blocks if c < 8]
    nbytes = 64 * 128 * len(blocks)
    lines = "".join(f"\n              tma_box({lat} + {c * 8192} + j * {P * 128}, &c_kv_map, {c * 64}, row, {bar});" for c in lat_blocks)
    if 8 in blocks:
        lines += f"\n              tma_box({rope} + j * {P * 128}, &c_kv_map, 512, row, {bar});"
    return f"""
        if ({warp}) {{ // tile {tile}, column blocks {blocks}: {pages} page(s) x {len(blocks)} box(es) of {P} row(s) x 64 columns
          const int* const pt = page_table + (long long)({n['b']}) * page_table_s0 + (({tile}) * 64) / {P};
          if (lane == 0) mbar_expect_tx({bar}, {nbytes});
          __syncwarp();
          #pragma unroll
          for (int k = 0; k < {(pages + 31) // 32}; ++k) {{
            const int j = lane + 32 * k;
            if (j < {pages}) {{
              const int row = pt[j] * {P};{lines}
            }}
          }}
        }}"""


def ss_copy(n, tile, half, lat, rope, bar, nocopy, with_rope, with_latent=True):
    """mla_seesaw64_variant.copy's TMA twin: the group's first thread issues the half."""
    assert with_latent and not nocopy
    blocks = list(range(4 * half, 4 * half + 4)) + ([8] if with_rope else [])
    return boxes(n, tile, blocks, lat, rope, bar, "(tid & 127) < 32")


def seesaw_tma(src):
    saved = ss.copy
    ss.copy = ss_copy
    try:
        out = ss.chunked_uni()(src)
    finally:
        ss.copy = saved
    # one arrival a phase (the issuing thread's expect_tx), not 128 cp.async arrivals
    out = out.replace("mbar_init(mbar + 8 * i, 128);", "mbar_init(mbar + 8 * i, 1);\n    mbar_fence_init();")
    return with_map(out)


def with_map(src):
    src = src.replace("    const Params P) {", "    const Params P,\n    const __grid_constant__ TmaMap c_kv_map) {", 1)
    at = src.index("// Runtime dims and scalar arguments")
    return src[:at] + TMA_HELPERS + src[at:]


def leader_tma(src):
    """The shipped leader loop with warpgroup 1's copies of the full tiles as TMA boxes."""
    n = names(src)
    start = src.index("  // full tiles\n")
    end = src.index("  __syncthreads(); // the loop's published rows are read", start)
    loop = src[start:end]
    t, T0, T1 = re.search(r"for \(int (t_\d+) = (t_\d+); t_\d+ < (t_\d+); \+\+t_\d+\) \{", loop).groups()
    # the waits at the top of both groups' tiles: tile T0 came by cp.async before the loop
    wait = re.search(r"      cp_async_wait<0>\(\); // (C_\d+), (Kr_\d+) arrived\n", loop).group(0)
    loop = loop.replace(wait, wait + f"      if ({t} > {T0}) mbar_wait_uni(mbar + ({t} & 1) * 8, (({t} - {T0} - 1) >> 1) & 1); // tile {t}'s boxes landed\n")
    # warpgroup 1's two copy blocks (latent, rope), from the first `if (t + 1 < T1)` to the second commit
    other = loop.index("  } else { // the other groups")
    a = loop.index(f"      if ({t} + 1 < {T1}) {{", other)
    b = loop.index("      cp_async_commit();\n", loop.index("      cp_async_commit();\n", a) + 1) + len("      cp_async_commit();\n")
    lat, rope, bar = f"(smem + 73728 + (({t} + 1) & 1) * 65536)", f"(smem + 204800 + (({t} + 1) & 1) * 8192)", f"(mbar + (({t} + 1) & 1) * 8)"
    issue = f"      if ({t} + 1 < {T1}) {{" + boxes(n, f"{t} + 1", list(range(9)), lat, rope, bar, "(tid >> 5) == 4") + "\n      }\n"
    loop = loop[:other] + loop[other:a] + issue + loop[b:]
    init = f"""  const unsigned mbar = (unsigned)__cvta_generic_to_shared(smem + {MBAR_LEADER}); // one a stage
  if (tid == 0) {{ mbar_init1(mbar); mbar_init1(mbar + 8); mbar_fence_init(); }}
  // (the first tile's __syncthreads in the loop orders the init before any box is issued)
"""
    body = "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n" + init + loop + "#else\n" + src[start:end] + "#endif\n"
    return with_map(src[:start] + body + src[end:])


EVICT_FIRST_BOX = r"""__device__ __forceinline__ void tma_box(unsigned char* dst, const TmaMap* map, int c0, int c1, unsigned bar) {
  // L2 evict-first: each latent row is read by the two blocks of a request at about the same time
  // and never again, so it need not displace what stays
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;\n"
               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(c0), "r"(c1), "r"(bar), "l"(policy) : "memory");
}"""


def evict_first(edit):
    """`edit` with every TMA box copied under an L2 evict-first policy (FlashMLA's write-up found it
    raised the L2 hit rate)."""
    def out(src):
        src = edit(src)
        a = src.index("__device__ __forceinline__ void tma_box(")
        b = src.index("\n}\n", a) + 3
        return src[:a] + EVICT_FIRST_BOX + "\n" + src[b:]
    return out


def seesaw_tma_with(**flags):
    """seesaw_tma with mla_seesaw64_variant's flags (OFFSET, EARLY, ROPE_EARLY) set."""
    def edit(src):
        saved = ss.chunked_uni
        ss.chunked_uni = lambda: saved(**flags)
        try:
            return seesaw_tma(src)
        finally:
            ss.chunked_uni = saved
    return edit


VARIANTS = {"leader_tma": leader_tma, "ss64_tma": seesaw_tma, "ss64": ss.chunked_uni(),
            "ss64_tma_ef": evict_first(seesaw_tma), "ss64_tma_offset": seesaw_tma_with(OFFSET=True),
            "ss64_tma_ef_offset": evict_first(seesaw_tma_with(OFFSET=True)), "leader_tma_ef": evict_first(leader_tma)}


def add_maps(out):
    """The manifest of package `out` says which edited builds take c_kv's tensor map."""
    path = f"{out}/manifest.json"
    man = json.load(open(path))
    for name, entries in man["kernels"].items():
        m = re.fullmatch(r"mla_decode_split\.bf16\.p(\d+)", name)
        if not m:
            continue
        for e in entries:
            if "sm_90a" in e["cuda"]["ptx"]:
                e["cuda"]["tensorMaps"] = [{"tensor": "c_kv", "box": [64, int(m.group(1))], "swizzle": 128}]
    json.dump(man, open(path, "w"))


def main():
    for name in sys.argv[1:] or VARIANTS:
        build(f"{OUT}/{name}", ("mla_decode_split.", "merge_states"), "mla_decode_split.bf16", VARIANTS[name], SHARED, source=at_commit(MEASURED_ON))
        if "_tma" in name:
            add_maps(f"{OUT}/{name}")
    print("ok")


if __name__ == "__main__":
    main()
