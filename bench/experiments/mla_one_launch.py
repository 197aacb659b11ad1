"""One launch of an MLA split build at 64 x 4096 (page 16, or PAGE), for a profiler:

    ncu -k regex:mla_decode_split python3 bench/experiments/mla_one_launch.py [DIR [PAGE [paged]]]

DIR is a package (or a one-kernel package from mla_pipeline_variants.py); default generated/.
With `paged`, the single-pass mla_paged build instead (one query token a request, as the bench
runs it: `ncu -k regex:mla_paged ...`).
Two launches: the first loads the module and warms the caches, the second is the one to profile
(`-c 1 --launch-skip 1`)."""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 2)[0])
from ours import paged_cache  # noqa: E402
from generated_kernels import Kernel  # noqa: E402


def main():
    gen = sys.argv[1] if len(sys.argv) > 1 else None
    P = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    torch.manual_seed(0)
    B, Lk, H, L, W = 64, 4096, 128, 512, 576
    table, cache, _ = paged_cache(B, Lk, P, 1, W)
    q = torch.randn(B, H, W, device="cuda", dtype=torch.bfloat16)
    S = 1
    inputs = {"q_nope": q[:, :, :L].contiguous(), "q_rope": q[:, :, L:].contiguous(), "c_kv": cache, "page_table": table,
              "cache_seqlens": torch.full((B,), Lk, device="cuda", dtype=torch.int32),
              "out_partial": torch.empty(S, B, H, L, device="cuda", dtype=torch.float32),
              "lse_partial": torch.empty(S, B, H, device="cuda", dtype=torch.float32)}
    if len(sys.argv) > 3 and sys.argv[3] == "paged":
        del inputs["out_partial"], inputs["lse_partial"]
        inputs.update(cu_seqlens_q=torch.arange(0, B + 1, device="cuda", dtype=torch.int32),
                      out=torch.empty(B, H, L, device="cuda", dtype=torch.bfloat16), lse=torch.empty(B, H, device="cuda", dtype=torch.float32))
        run = Kernel(f"mla_paged.bf16.p{P}", gen).prepare(inputs, {"max_seqlen_q": 1, "softmax_scale": (128 + 64) ** -0.5, "is_causal": 0})
    else:
        run = Kernel(f"mla_decode_split.bf16.p{P}", gen).prepare(inputs, {"softmax_scale": (128 + 64) ** -0.5, "split_len": Lk})
    launch_twice(run)


def launch_twice(run):
    """The two launches a profile needs (the first loads and warms, the second is profiled with
    `-c 1 --launch-skip 1`); the other one-launch scripts of this folder use it too."""
    run()
    run()
    torch.cuda.synchronize()
    print("ok")


if __name__ == "__main__":
    main()
