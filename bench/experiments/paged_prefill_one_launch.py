"""One launch of gqa_paged (bf16 cache) or gqa_paged_fp8 (E4M3 cache) on the paged prefill of
bench_paged_prefill.py (4 requests of 4096 tokens, causal, 32 query / 8 kv heads, head dim 128,
page 16), for a profiler:

    ncu -k regex:gqa_paged -c 1 --launch-skip 1 --set full \\
        python3 bench/experiments/paged_prefill_one_launch.py [fp8|bf16 [DIR]]

DIR is a package (default generated/, or FLASHTILE_GENERATED). The first launch loads and warms,
the second is the one to profile."""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from ours import paged_cache  # noqa: E402
from generated_kernels import Kernel  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mla_one_launch import launch_twice  # noqa: E402


def main():
    fp8 = (sys.argv[1] if len(sys.argv) > 1 else "fp8") == "fp8"
    gen = sys.argv[2] if len(sys.argv) > 2 else None
    torch.manual_seed(0)
    B, S, Hq, Hk, D, P = 4, 4096, 32, 8, 128, 16
    table, kc, vc = paged_cache(B, S, P, Hk, D, dtype=torch.float8_e4m3fn if fp8 else torch.bfloat16)
    inputs = {"q": torch.randn(B * S, Hq, D, device="cuda", dtype=torch.bfloat16), "k_cache": kc, "v_cache": vc, "page_table": table,
              "cache_seqlens": torch.full((B,), S, device="cuda", dtype=torch.int32),
              "cu_seqlens_q": torch.arange(0, B + 1, device="cuda", dtype=torch.int32) * S,
              "out": torch.empty(B * S, Hq, D, device="cuda", dtype=torch.bfloat16), "lse": torch.empty(B * S, Hq, device="cuda", dtype=torch.float32)}
    if fp8:
        inputs.update(k_descale=torch.full((B, Hk), 0.5, device="cuda"), v_descale=torch.full((B, Hk), 0.5, device="cuda"))
    name = f"gqa_paged{'_fp8' if fp8 else ''}.bf16.g4.p{P}"
    run = Kernel(name, gen).prepare(inputs, {"max_seqlen_q": S, "softmax_scale": D ** -0.5, "is_causal": 1})
    launch_twice(run)


if __name__ == "__main__":
    main()
