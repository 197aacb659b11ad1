"""One launch of the fp8 split decode build at 64 x 4096 (split 2048; page 16, or PAGE), for a profiler:

    ncu -k regex:gqa_decode_split_fp8 python3 bench/experiments/fp8_split_one_launch.py [DIR [PAGE]]

DIR is a package; default generated/. GQA 32 query / 8 kv heads, head dim 128, as the bench runs
it. Two launches: the first loads the module and warms the caches, the second is the one to
profile (`-c 1 --launch-skip 1`)."""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from ours import paged_cache  # noqa: E402
from generated_kernels import Kernel  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from mla_one_launch import launch_twice  # noqa: E402


def main():
    gen = sys.argv[1] if len(sys.argv) > 1 else None
    P = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    torch.manual_seed(0)
    B, L, Hq, Hk, D, split = 64, 4096, 32, 8, 128, 2048
    table, kc, vc = paged_cache(B, L, P, Hk, D, dtype=torch.float8_e4m3fn)
    S = (L + split - 1) // split
    inputs = {"q": torch.randn(B, Hq, D, device="cuda", dtype=torch.bfloat16), "k_cache": kc, "v_cache": vc,
              "k_descale": torch.full((B, Hk), 0.5, device="cuda"), "v_descale": torch.full((B, Hk), 0.5, device="cuda"),
              "page_table": table, "cache_seqlens": torch.full((B,), L, device="cuda", dtype=torch.int32),
              "out_partial": torch.empty(S, B, Hq, D, device="cuda", dtype=torch.float32),
              "lse_partial": torch.empty(S, B, Hq, device="cuda", dtype=torch.float32)}
    run = Kernel(f"gqa_decode_split_fp8.bf16.g4.p{P}", gen).prepare(inputs, {"softmax_scale": D ** -0.5, "split_len": split})
    launch_twice(run)


if __name__ == "__main__":
    main()
