# MLA split kernel: how fast would the leader loop run if warpgroup 0 had no P·V of its own?
# (2026-11-30, twenty-third session; timing only, columns 0..255 of the output are wrong on
# purpose.) The question behind it: a third warpgroup taking the leader's 256 output columns
# would leave warpgroup 0 only the scores and the softmax, so its chain a tile (scores ->
# softmax -> publish) would shrink by its P·V. This bounds what that schedule could gain, from
# above: here the leader's P·V is simply gone (a quarter less tensor work too).
#   - `pairwise`: mla_tma_pairwise_variant.py (named barriers between the groups, no block
#     barrier in the whole-tile loop), for reference in the same call;
#   - `nopv0`: pairwise, and the leader's rescale and P·V of the whole-tile loop removed;
#   - `nopv0_block`: the shipped loop (block barrier a tile) with the same removal;
#   - `nopv0_p1`: the same at every page size, page 1 included.
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`,
# with PYTHONPATH=bench/experiments.

from mla_tma_pairwise_variant import pairwise
from variant_package import main

OUT = "tmp/nopv0"


def drop_leader_pv(src, tma_only=True):
    if tma_only and "tma_box(smem" not in src:
        return src
    start = src.index("  // full tiles\n")
    end = src.index("  } else { // the other groups", start)
    loop = src[start:end]
    at = loop.index("      published_arrive();\n") + len("      published_arrive();\n")
    stop = loop.index("      #endif\n", at) + len("      #endif\n")
    loop = loop[:at] + "      // (timing only) the leader's rescale and P·V are left out\n" + loop[stop:]
    return src[:start] + loop + src[end:]


VARIANTS = {
    "pairwise": pairwise,
    "nopv0": lambda s: drop_leader_pv(pairwise(s)),
    "nopv0_block": drop_leader_pv,
    # Page 1 too (cp.async copies by group 1, the block barrier a tile).
    "nopv0_p1": lambda s: drop_leader_pv(s, tma_only=False),
}


if __name__ == "__main__":
    main(OUT, VARIANTS, keep=("mla_decode_split.", "merge_states"), edited="mla_decode_split.")
