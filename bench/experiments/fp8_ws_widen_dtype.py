# gqa_paged_fp8's causal prefill with a bf16 and with an f16 query, one package beside another:
# written to ask whether the warp-specialized producer that widens the E4M3 tiles (the local
# branch exp/fp8-ws-producer-widen, 2026-12-02) is held back by its conversions. Widening to bf16
# (the bf16 query's K) takes four instructions a pair, to f16 one. If the f16 build gains far more
# over the one-warpgroup blocks than the bf16 one, the conversions are what limits it.
# GQA 32 / 8 heads, head dim 128, B=4 S=4096 and B=1 S=16384, pages 1 and 16; each output is
# compared with the other package's.
#
# Usage, from the repository root on a CUDA machine:
#   python3 bench/experiments/fp8_ws_widen_dtype.py NEW_PACKAGE OLD_PACKAGE [--json out.json]
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from ours import page_slots, paged_cache, random_descales, to_e4m3, write_pages  # noqa: E402
from two_builds import new_beside_old, ragged_prefill  # noqa: E402


def main():
    new, old = sys.argv[1], sys.argv[2]
    out_json = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
    Hq, Hk, D = 32, 8, 128
    torch.manual_seed(0)
    rows = []
    print(torch.cuda.get_device_name(), torch.__version__)
    for B, S in ((4, 4096), (1, 16384)):
        flops = 4 * B * S * S * Hq * D / 2
        k = torch.randn(B, Hk, S, D, device="cuda")
        v = torch.randn(B, Hk, S, D, device="cuda")
        kdesc, vdesc = random_descales(B, Hk), random_descales(B, Hk)
        kq, vq = to_e4m3(k, kdesc), to_e4m3(v, vdesc)
        for P in (1, 16):
            table, kc, vc = paged_cache(B, S, P, Hk, D, dtype=torch.float8_e4m3fn)
            slots = page_slots(table, P, S)
            write_pages(kc, slots, kq.transpose(1, 2).reshape(-1, Hk, D))
            write_pages(vc, slots, vq.transpose(1, 2).reshape(-1, Hk, D))
            for dt, tdt in (("bf16", torch.bfloat16), ("f16", torch.float16)):
                name = f"gqa_paged_fp8.{dt}.g4.p{P}"
                q = torch.randn(B * S, Hq, D, device="cuda", dtype=tdt)
                new_beside_old(name, new, old, lambda: ragged_prefill(q, kc, vc, table, B, S, Hq, D, k_descale=kdesc, v_descale=vdesc),
                               {"max_seqlen_q": S, "softmax_scale": D ** -0.5, "is_causal": 1}, flops, rows, {"B": B, "S": S}, f"B={B} S={S:5d}")
    if out_json:
        json.dump(rows, open(out_json, "w"), indent=1)


if __name__ == "__main__":
    main()
