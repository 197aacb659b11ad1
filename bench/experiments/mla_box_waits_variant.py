# MLA leader loop, one mbarrier a 64-column block (2026-11-30, twenty-third session): does the
# copy of a tile cost less if the leader's scores start on its first column block instead of
# waiting for the whole tile? At pages 1 and 16 the copies bound the loop (taking the leader's
# P·V away gained 1-3% there, mla_no_leader_pv_variant.py); FlashMLA lands each 64-column box
# on an mbarrier of its own. Hand edit of the shipped whole-tile loop of the TMA builds (pages 16
# and 64): the tile's boxes of column block c (0..7 latent, 8 rope) complete mbarrier (buffer, c)
# (18 more mbarriers past the shipped two, armed with 8 KiB each); the leader waits for block c
# right before the scores' first k step that reads it (inside the unrolled wgmma issue, a uniform
# spin loop) and for block 8 before the rope dot; the other groups wait for all nine at the top.
#
# Run from the repository root with PYTHONPATH=bench/experiments.
import re

from variant_package import main

OUT = "tmp/boxwaits"
BASE = 229904  # past the shipped two mbarriers (229888 + 16)
SHARED = BASE + 18 * 8


def bar(buf, c):
    return f"smem + {BASE} + (({buf}) * 9 + ({c})) * 8"


def box_waits(src):
    if "tma_box(smem" not in src:
        return src
    src = src.replace("    mbar_init_fence();\n", f"    for (int i = 0; i < 18; ++i) mbar_init(smem + {BASE} + i * 8);\n    mbar_init_fence();\n", 1)
    start = src.index("  // full tiles\n")
    end = src.index("  __syncthreads(); // the loop's published rows are read", start)
    loop = src[start:end]
    t, lo = re.search(r"for \(int (t_\d+) = (t_\d+); t_\d+ < t_\d+; \+\+t_\d+\) \{", loop).groups()
    parity = f"(({t} - {lo} - 1) >> 1) & 1"
    # The leader's waits sit among the wgmma issues: no branch around them (a branch ptxas cannot
    # see as uniform serializes every wgmma, its C7520 note). On the loop's first tile (copied
    # before the loop, its mbarriers never armed) the parity of the phase before the first, which
    # a fresh mbarrier reports complete at once.
    lead_parity = f"(int)({t} == {lo}) | ({parity})"
    split = loop.index("  } else { // the other groups")
    lead, rest = loop[:split], loop[split:]
    top = re.compile(r"      if \(" + t + r" > " + lo + r"\) mbar_wait\(smem \+ 229888 \+ \(\(" + t + r"\) & 1\) \* 8, [^\n]*\n")
    assert top.search(lead) and top.search(rest)
    lead = top.sub("      // (variant) the leader waits for each column block right before the k steps that read it\n", lead, 1)
    waits = "".join(f"      if ({t} > {lo}) mbar_wait({bar(f'{t} & 1', c)}, {parity});\n" for c in range(9))
    rest = top.sub(f"      // (variant) every column block of tile {t} landed\n" + waits, rest, 1)
    # The leader's scores: latent k steps (32: block kk / 4), then the rope dot (block 8).
    latent = re.compile(r"(          for \(int kk = 0; kk < 32; \+\+kk\) \{\n)(            wgmma_m64n64k16_ss_)")
    assert latent.search(lead)
    lead = latent.sub(lambda m: m.group(1) + f"            if ((kk & 3) == 0) mbar_wait({bar(f'{t} & 1', 'kk >> 2')}, {lead_parity});\n" + m.group(2), lead, 1)
    i = lead.index("4 x wgmma m64n64k16, B K-major")
    j = lead.rindex("\n", 0, i) + 1
    lead = lead[:j] + f"      mbar_wait({bar(f'{t} & 1', 8)}, {lead_parity}); // (variant) the rope block\n" + lead[j:]
    # The issue: 8 KiB a column block, each box onto its block's mbarrier.
    nxt = f"(({t} + 1)) & 1"
    arm = f"if (lane == 0) mbar_expect_bytes(smem + 229888 + ({nxt}) * 8, 73728);"
    assert arm in rest
    rest = rest.replace(arm, "if (lane == 0) { " + " ".join(f"mbar_expect_bytes({bar(nxt, c)}, 8192);" for c in range(9)) + " }")
    def rebox(m):
        dst = m.group(1)
        # The rope tile's buffers are 8 KiB apart, the latent tile's 64 KiB; a latent box's
        # column block is its swizzled column / 64.
        c = 8 if "* 8192)" in dst else int(re.search(r"sw128\(\(lane \* \d+\), (\d+), 64\)", dst).group(1)) // 64
        return f"tma_box({dst}, {bar(nxt, c)});"
    rest, n = re.subn(r"tma_box\((smem \+ [^\n]*?), smem \+ 229888 \+ \(\(\(" + t + r" \+ 1\)\) & 1\) \* 8\);", rebox, rest)
    assert n in (9, 36), n
    return src[:start] + lead + rest + src[end:]


VARIANTS = {"boxwaits": box_waits}


if __name__ == "__main__":
    main(OUT, VARIANTS, shared_bytes=SHARED)
