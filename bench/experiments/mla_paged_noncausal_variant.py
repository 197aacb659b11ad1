# MLA single pass (`mla_paged`): how much of its gap to the split kernel alone is the causal
# mask it carries for every call? (2026-11-30, twenty-fourth session; timing only: the variant
# is wrong for causal calls on purpose.) ptxas gives the shipped page-64 bf16 build 227
# registers and 184 KB of code against the split kernel's 217 and 125 KB, with the same
# whole-tile loop; with `P.is_causal` replaced by 0 it gives 220 and 103 KB.
#   - `noncausal`: every mla_paged build with the runtime flag `is_causal` folded to 0.
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`,
# with PYTHONPATH=bench/experiments.

from variant_package import main

OUT = "tmp/noncausal"

VARIANTS = {"noncausal": lambda s: s.replace("P.is_causal", "0")}

if __name__ == "__main__":
    main(OUT, VARIANTS, edited="mla_paged.")
