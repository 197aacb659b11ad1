"""The overlapped whole-tile loop with the accumulator's rescale skipped where no row's max moved
(hand edit, for timing before the emitter does it).

In each tile the loop multiplies P.V's accumulator (64 floats a thread at head dim 128) by the
rows' alpha = exp2(m_old - m_new). Past the first tiles of a long row the running max rarely moves
and alpha is exactly 1. Here the multiply runs only where some lane of the warp has an alpha
other than 1 (`__all_sync`, a warp-uniform branch taken after P.V's wait, with no wgmma in
flight): skipping a multiply by 1.0 changes no bit of the result.

    python3 bench/experiments/skip_rescale_variant.py OUT_DIR   # writes OUT_DIR/skip

Measured on an H200 beside the package at 09e9f5c (`--only prefill,decode,swa --head-dims 128
--build skip=...`, bench/results/h200-skip-rescale-experiment-2026-11-30.{log,json}; the four
edited builds 24 of 24 in the CUDA suite) and not kept: head dim 128 prefill 1.02-1.04x at
S >= 8192, 0.99-1.01x below; swa_paged 1.01x; gqa_paged at page 16, 16 x 16384 0.94x (0.360
against 0.337 ms), the other paged shapes within 1%.
"""
import re
import sys

from variant_package import build

MARK = "// whole tiles: the next tile's scores issued before this tile's P"
# The rescale's loop nest as emitted: for mt { for h { for nt { for p { carry[..] = carry[..] * alpha[mt * 2 + h]; } } } }
NEST = re.compile(r"(?P<ind> *)#pragma unroll\n(?P=ind)for \(int mt = 0; mt < 1; \+\+mt\) \{\n(?:.*\n){6} *(?P<acc>carry_\d+)\[[^\n]*\] = \((?P=acc)\[[^\n]*\] \* (?P<alpha>alpha_\d+)\[mt \* 2 \+ h\]\);\n(?:(?P=ind) *\}\n){4}")


def skip(src):
    start = src.index(MARK)
    end = src.index("\n  #else\n", start)
    part = src[start:end]

    def wrap(m):
        ind, alpha = m.group("ind"), m.group("alpha")
        body = "".join("  " + line + "\n" for line in m.group(0).rstrip("\n").split("\n"))
        return f"{ind}if (!__all_sync(0xffffffffu, {alpha}[0] == 1.0f && {alpha}[1] == 1.0f)) {{ // some row's max moved\n{body}{ind}}}\n"
    part, n = NEST.subn(wrap, part)
    assert n >= 3, n
    return src[:start] + part + src[end:]


if __name__ == "__main__":
    out = sys.argv[1]
    builds = ("mha_prefill.bf16.hd128.causal", "mha_prefill.bf16.hd128.nocausal", "swa_paged.bf16.p16", "gqa_paged.bf16.g4.p16")
    build(f"{out}/skip", ("mha_prefill.bf16", "swa_paged.bf16", "gqa_paged.bf16"), builds, skip)
