"""torch SDPA's FlashAttention-2 and cuDNN backends, the peers the prefill, decode and
paged-prefill sections time on contiguous tensors (the bar of issue 4 is the flash backend)."""
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from ours import row
from timing import bench

BACKENDS = (("SDPA flash (FA2)", SDPBackend.FLASH_ATTENTION), ("SDPA cuDNN", SDPBackend.CUDNN_ATTENTION))


def sdpa_peers(section, shape, q, k, v, amount, unit, **kw):
    """Time F.scaled_dot_product_attention(q, k, v, **kw) under each backend and print its row
    (`amount` / time: FLOPs for TFLOP/s, bytes for TB/s); return the first backend's output, the
    reference our rows are compared with (None if no backend ran). A backend that refuses the
    shape prints one line instead."""
    ref = None
    for name, backend in BACKENDS:
        try:
            with sdpa_kernel(backend):
                f = lambda: F.scaled_dot_product_attention(q, k, v, **kw)
                ms = bench(f)
                ref = f() if ref is None else ref
            row(section, shape, name, ms, amount / ms / 1e9, unit)
        except Exception as e:
            print(f"  {name}: {type(e).__name__}: {str(e)[:80]}")
    return ref
