"""The MLA leader loop's TMA copies issued before the wait on the tile they follow (hand edit, for
timing before the emitter does it).

As emitted (tma.ts, leader-emit.ts), every warp of a whole-tile iteration t first waits for tile
t's boxes to land, then meets the others at the block barrier, and only then does the copying warp
issue tile t + 1 into the buffer tile t - 1 used. So the copy of t + 1 cannot start before t has
landed: one tile in flight a block, and a tile every max(compute, copy) at best. The buffer of
t + 1 is free as soon as every warp is done with t - 1, which the barrier alone says. Here the
barrier comes first, the copying warp issues t + 1, and only then does each warp wait for tile t's
boxes (the leader before its scores, the other group before the P.V that reads the tile): two
tiles in flight while t is still landing, a tile every max(compute, (compute + copy) / 2).

    python3 bench/experiments/mla_issue_early_variant.py OUT_DIR   # then bench_cuda.py --build early=OUT_DIR
"""
import re
import sys

from variant_package import at_commit, build

WAIT = re.compile(
    r"      #if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n"
    r"      (if \(t_\d+ > t_\d+\) mbar_wait\(.*\); // the boxes of .* landed)\n"
    r"      #endif\n"
)
BARRIER = re.compile(r"      __syncthreads\(\); // this tile's .* arrived; every warp is done with the other buffers\n")
PUBLISHED = re.compile(r"      published_wait\(\); // .* published\n")


def early(src):
    waits = list(WAIT.finditer(src))
    assert len(waits) == 2, "expected the leader's and the other group's box waits"
    out, at = [], 0
    for k, w in enumerate(waits):
        bar = BARRIER.search(src, w.end())
        wait = f"      #if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n      {w.group(1)}\n      #endif\n"
        # the leader waits right after the barrier; the other group after issuing t + 1, just
        # before it waits for what the leader published (the first read of the tile)
        anchor = bar if k == 0 else PUBLISHED.search(src, bar.end())
        pos = anchor.end() if k == 0 else anchor.start()
        out += [src[at:w.start()], src[w.end():pos], wait]
        at = pos
    out.append(src[at:])
    return "".join(out)


if __name__ == "__main__":
    build(sys.argv[1], ("mla_", "merge_states"), ("mla_paged.bf16.p16", "mla_paged.bf16.p64", "mla_decode_split.bf16.p16", "mla_decode_split.bf16.p64"), early, source=at_commit("e026b4e"))  # the package these runs edited
