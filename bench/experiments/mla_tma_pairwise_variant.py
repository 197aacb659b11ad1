# MLA split kernel, pairwise barriers with TMA copies (2026-11-29, fifteenth session): the shipped
# leader loop of mla_decode_split.bf16.p{16,64} (whose whole tiles TMA copies, tma.ts) with its
# one block barrier a tile replaced by named barriers between the two groups, so that group 0
# may run the next tile's scores and softmax while group 1 still runs this tile's P·V.
#
# What the block barrier ordered, and what orders it here:
#   - this tile arrived: the mbarrier of its buffer (both groups wait on it already), and for the
#     loop's first tile (cp.async by every thread before the loop) the block barrier, kept there;
#   - P and the row factors are free before group 0 publishes the next tile's: group 1 arrives on
#     named barrier 2 after its P·V, group 0 syncs there right before publishing;
#   - the buffer TMA refills is free (group 0's P·V of the tile before is done): group 0 arrives
#     on named barrier 3 after its P·V, group 1 syncs there after its own P·V, before it arrives
#     on 2 (so arrivals alternate with syncs on both barriers) and before it issues the next copy.
# Page 1 keeps the block barrier (its cp.async copies by group 1 need it to be seen by group 0).
# Twenty-third session: run again on a later package it was 6-7% faster at page 64 and 1-2% slower
# at page 16; the compiler now emits it at page 64 (leader-emit.ts).
#
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`.
import re

from mla_seesaw_variant import NAMED_BARRIERS
from variant_package import main

OUT = "tmp/pairwise"

HELPERS = "\n" + NAMED_BARRIERS


def pairwise(src):
    if "tma_box(smem" not in src:
        return src
    start = src.index("  // full tiles\n")
    end = src.index("  __syncthreads(); // the loop's published rows are read", start)
    loop = src[start:end]
    t, lo, hi = re.search(r"for \(int (t_\d+) = (t_\d+); t_\d+ < (t_\d+); \+\+t_\d+\) \{", loop).groups()
    top = re.search(r"      __syncthreads\(\); // this tile's [^\n]*every warp is done with the other buffers\n", loop).group(0)
    loop = loop.replace(top, f"      if ({t} == {lo}) __syncthreads(); // the loop's first tile, copied by every thread\n")
    split = loop.index("  } else { // the other groups")
    leader, others = loop[:split], loop[split:]
    pub = re.search(r"      // t_\d+: published for the other groups' dots", leader).start()
    leader = leader[:pub] + f"      if ({t} > {lo}) bar_sync_n<2, 256>(); // group 1 is done with the last P\n" + leader[pub:]
    # the end of each version's body: the for loop's closing brace
    close = "\n    }\n"
    i = leader.rindex(close)
    leader = leader[:i] + f"\n      if ({t} + 1 < {hi}) bar_arrive_n<3, 256>(); // this tile's buffer is read" + leader[i:]
    j = others.rindex(close)
    others = (others[:j] + f"\n      if ({t} + 1 < {hi}) {{\n        bar_sync_n<3, 256>(); // group 0 is done with this tile's buffer: the copy after next may go there"
              f"\n        bar_arrive_n<2, 256>(); // done with P\n      }}" + others[j:])
    src = src[:start] + leader + others + src[end:]
    at = src.index("// Runtime dims and scalar arguments")
    return src[:at] + HELPERS + src[at:]


VARIANTS = {"pairwise": pairwise}


if __name__ == "__main__":
    main(OUT, VARIANTS)
