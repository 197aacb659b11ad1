"""FlexAttention, the peer every prefill section times (torch.compile of flex_attention with a
block mask made outside the timing)."""
import time

import torch

from ours import row
from timing import bench


def flex_prefill(qt, kt, vt, flops, shape, window=None, gqa=False, section=None):
    """Time FlexAttention (torch.compile) on causal attention, within `window` keys back if given,
    and print its row in `section` (prefill, or swa with a window)."""
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        def mask(b, h, qi, ki):
            ok = ki <= qi
            return ok & (qi - ki <= window) if window is not None else ok
        S = qt.shape[2]
        bm = create_block_mask(mask, None, None, S, S)
        fa = torch.compile(flex_attention)
        f = lambda: fa(qt, kt, vt, block_mask=bm, enable_gqa=gqa)
        t0 = time.time()
        f()
        torch.cuda.synchronize()
        ms = bench(f)
        row(section or ("prefill" if window is None else "swa"), shape, "FlexAttention", ms, flops / ms / 1e9, "TFLOP/s", f"compile {time.time() - t0:.0f} s")
    except Exception as e:
        print(f"  FlexAttention: {type(e).__name__}: {str(e)[:120]}")
