# The paged prefill variants without a bench section of their own (local_paged, softcap_paged,
# sinks_paged) as warp-specialized 128 x 128 blocks whose producer gathers pages of 1 and 16 rows
# (warp-specialize.ts), timed beside another package's builds of them (2026-12-02, thirty-fourth
# session): GQA 32 / 8 heads, head dim 128, B=4 S=4096 prefill through the paged cache. Each
# output is compared with the other package's (the CUDA suite checks both against the float64
# reference).
#
# Usage, from the repository root on a CUDA machine:
#   python3 bench/experiments/paged_variants_ws.py NEW_PACKAGE OLD_PACKAGE [--json out.json]
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from ours import paged_cache  # noqa: E402
from two_builds import new_beside_old, ragged_prefill  # noqa: E402


def main():
    new, old = sys.argv[1], sys.argv[2]
    out_json = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    B, S, Hq, Hk, D = 4, 4096, 32, 8, 128
    torch.manual_seed(0)
    q = torch.randn(B * S, Hq, D, device="cuda", dtype=torch.bfloat16)
    variants = [
        ("softcap_paged", {}, {"is_causal": 1, "softcap": 30.0}, 0.5),
        ("sinks_paged", {"sinks": torch.randn(Hq, device="cuda")}, {"is_causal": 1}, 0.5),
        # Chunks of 1024 keys: a query sees its chunk's keys up to itself.
        ("local_paged", {}, {"attention_chunk": 1024}, 0.5 * 1024 / S),
    ]
    rows = []
    print(torch.cuda.get_device_name(), torch.__version__)
    for P in (1, 16):
        table, kc, vc = paged_cache(B, S, P, Hk, D)
        for kern, extra, scalars, share in variants:
            name = f"{kern}.bf16.p{P}"
            flops = 4 * B * S * S * Hq * D * share
            new_beside_old(name, new, old, lambda: ragged_prefill(q, kc, vc, table, B, S, Hq, D, **extra),
                           {"max_seqlen_q": S, "softmax_scale": D ** -0.5, **scalars}, flops, rows, {}, f"page {P:2d}")
    if out_json:
        json.dump(rows, open(out_json, "w"), indent=1)


if __name__ == "__main__":
    main()
