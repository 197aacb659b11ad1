# MLA split kernel, L2 evict-first experiment on the shipped builds (2026-11-29, sixteenth session).
#
# Why: FlashMLA's write-up found an evict-first cache hint on its TMA copies raised the L2 hit
# rate. Applied by hand to the TMA experiments of mla_tma_variant.py, it took 2-4% off the seesaw
# and 2-5% off the leader loop at pages 16 and 64 (h200-mla-seesaw-tma-ef-2026-11-29.*). Here it is
# tried on what the compiler ships now, one edit of the helpers each (the loops are untouched):
#   ef_tma  the TMA boxes (pages 16 and 64) under an L2::evict_first policy
#   ef_all  the same, and every cp.async of the kernel too (page 1's copies, the first and masked
#           tiles, Q)
# Measured: ef_all's page-1 build stopped the GPU with an illegal instruction at its first launch
# (h200-mla-evict-first-cpasync-2026-11-29.log; its suite, h200-cuda-suite-mla-ef-all-*, failed
# every case after it), so page 1 keeps plain cp.async. ef_tma is what tma.ts now emits.
#
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`.
import sys

from variant_package import build

OUT = "tmp/evict-first"
# One policy register, made once (createpolicy has no inputs and is not volatile: ptxas hoists it).
POLICY = 'uint64_t policy; asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\\n" : "=l"(policy));'

TMA_OLD = 'asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\\n"\n               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(x), "r"(y), "r"((unsigned)__cvta_generic_to_shared(bar)) : "memory");'
TMA_NEW = POLICY + '\n  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;\\n"\n               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(x), "r"(y), "r"((unsigned)__cvta_generic_to_shared(bar)), "l"(policy) : "memory");'
CP_OLD = 'asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\\n" :: "r"(d), "l"(src), "r"(ok ? 16 : 0));'
CP_NEW = POLICY + '\n  asm volatile("cp.async.cg.shared.global.L2::cache_hint [%0], [%1], 16, %2, %3;\\n" :: "r"(d), "l"(src), "r"(ok ? 16 : 0), "l"(policy));'


def replace(src, old, new):
    assert old in src, old[:60]
    return src.replace(old, new)


def ef_tma(src):
    return replace(src, TMA_OLD, TMA_NEW) if "tma_box(" in src else src


def ef_all(src):
    return replace(ef_tma(src), CP_OLD, CP_NEW)


VARIANTS = {"ef_tma": ef_tma, "ef_all": ef_all}


def main():
    for name in sys.argv[1:] or VARIANTS:
        build(f"{OUT}/{name}", ("mla_decode_split.", "merge_states"), "mla_decode_split.bf16", VARIANTS[name])
    print("ok")


if __name__ == "__main__":
    main()
