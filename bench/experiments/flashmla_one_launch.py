"""FlashMLA's dense decode at 64 x 4096 (or B L), page 64, for a profiler, beside mla_one_launch.py:

    FLASHTILE_FLASHMLA_LIB=lib.so ncu -k regex:flash_fwd_splitkv_mla -c 1 --launch-skip 1 \
        python3 bench/experiments/flashmla_one_launch.py [B L]

Two runs after the schedule is made: the first warms, the second is the one to profile."""
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/peers")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import flashmla  # noqa: E402
from ours import paged_cache  # noqa: E402
from mla_one_launch import launch_twice  # noqa: E402


def main():
    B, Lk = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (64, 4096)
    torch.manual_seed(0)
    table, cache, _ = paged_cache(B, Lk, 64, 1, 576)
    q = torch.randn(B, 128, 576, device="cuda", dtype=torch.bfloat16)
    prepare = flashmla.load()
    assert not isinstance(prepare, str), prepare
    run = prepare(q, cache, table, torch.full((B,), Lk, device="cuda", dtype=torch.int32), (128 + 64) ** -0.5)
    launch_twice(run)


if __name__ == "__main__":
    main()
