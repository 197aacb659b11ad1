# MLA leader loop at page 64 (named barriers, leader-emit.ts): the leader's own P·V waited for
# with the next tile's scores instead of at once (2026-11-30, twenty-third session). Nsight
# Compute put 750-1429 stall samples of the leader's loop on that wait
# (h200-ncu-mla-pairwise-*-p64-2026-11-30.txt): the leader idles while its P·V runs, then
# issues the next scores. Here it commits P·V without a wait and goes on to the next tile: its
# latent scores' wait (wait_group 0) covers both, the accumulator is fenced there, the arrival on
# named barrier 3 (the tile's buffer is read) moves after that wait (the next tile's), and one
# wait after the loop covers the last tile's P·V.
#
# Run from the repository root with PYTHONPATH=bench/experiments.
import re

from variant_package import main

OUT = "tmp/pvdefer"


def deferred(src):
    if "buffer_read_arrive();" not in src:
        return src
    start = src.index("  // full tiles\n")
    end = src.index("  } else { // the other groups", start)
    lead = src[start:end]
    t, lo = re.search(r"for \(int (t_\d+) = (t_\d+); t_\d+ < t_\d+; \+\+t_\d+\) \{", lead).groups()
    acc = re.search(r"wgmma_m64n256k16_rs_\w+<1>\((carry_\d+), af\[kk\]", lead).group(1)
    fence = f"        wgmma_commit_wait();\n        #pragma unroll\n        for (int i = 0; i < 128; ++i) {{\n          reg_fence({acc}[i]);\n        }}\n"
    assert lead.count(fence) == 1
    lead = lead.replace(fence, "        wgmma_commit(); // (variant) waited for with the next tile's latent scores, or after the loop\n")
    # The latent scores' wait: the first commit_wait of the body.
    first = "        wgmma_commit_wait();\n"
    i = lead.index(first)
    j = i + len(first)
    lead = (lead[:j] + f"        #pragma unroll\n        for (int i = 0; i < 128; ++i) reg_fence({acc}[i]); // (variant) the last tile's P·V is done too\n"
            f"        if ({t} > {lo}) buffer_read_arrive(); // (variant) the last tile's buffer is read\n" + lead[j:])
    arrive = re.compile(r"      #if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n      if \(" + t + r" \+ 1 < t_\d+\) buffer_read_arrive\(\);[^\n]*\n      #endif\n")
    assert arrive.search(lead)
    lead = arrive.sub("", lead, 1)
    close = "\n    }\n"
    k = lead.rindex(close) + len(close)
    lead = lead[:k] + f"    wgmma_wait<0>(); // (variant) the last tile's P·V\n    #pragma unroll\n    for (int i = 0; i < 128; ++i) reg_fence({acc}[i]);\n" + lead[k:]
    return src[:start] + lead + src[end:]


VARIANTS = {"pvdefer": deferred}


if __name__ == "__main__":
    main(OUT, VARIANTS)
