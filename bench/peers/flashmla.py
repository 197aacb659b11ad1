"""FlashMLA (github.com/deepseek-ai/FlashMLA) as a peer for the MLA decode section of bench_cuda.py.

FlashMLA's dense decode runs on sm_90a with a page size of 64, bf16, latent 512 + rope 64. It is
taken from the `flash_mla` Python package when that is installed, or else from a library built by
bench/peers/build-flashmla.sh and named by FLASHTILE_FLASHMLA_LIB. Its split schedule is made once,
outside the timing, as its users do (the package makes it on the first call and reuses it).
"""
import ctypes
import functools
import os

import torch


@functools.cache  # one library load a process, however many shapes are timed
def load():
    """A function (q [B,H,576], cache [pages*64, 1, 576], table [B, n] int32, seqlens [B] int32,
    scale) -> a callable that runs one decode and returns out [B,H,512]; or a string saying why
    FlashMLA is not available here."""
    if torch.cuda.get_device_capability() != (9, 0):
        return "FlashMLA's dense decode needs sm_90"
    lib = os.environ.get("FLASHTILE_FLASHMLA_LIB")
    if lib:
        return _from_library(lib)
    try:
        import flash_mla
    except ImportError:
        return "no flash_mla package and no FLASHTILE_FLASHMLA_LIB (bench/peers/build-flashmla.sh)"
    return _from_package(flash_mla)


def _from_package(flash_mla):
    def prepare(q, cache, table, seqlens, scale):
        B, H, D = q.shape
        q4, k4 = q.view(B, 1, H, D), cache.view(-1, 64, 1, D)
        meta, splits = flash_mla.get_mla_metadata(seqlens, H, 1)  # the newest version ignores these

        def run():
            return flash_mla.flash_mla_with_kvcache(q4, k4, table, seqlens, 512, meta, splits, softmax_scale=scale)[0].view(B, H, 512)
        run()
        return run
    return prepare


def _from_library(path):
    lib = ctypes.CDLL(path)
    lib.flashmla_last_error.restype = ctypes.c_char_p
    p, i, f, l = ctypes.c_void_p, ctypes.c_int, ctypes.c_float, ctypes.c_long
    lib.flashmla_dense_decode.argtypes = [p, p, p, p, p, p, l, i, i, i, i, f, p, p, p, p, i, i, p]

    def prepare(q, cache, table, seqlens, scale):
        B, H, D = q.shape
        assert cache.shape[0] % 64 == 0 and table.is_contiguous() and q.is_contiguous()
        # As FlashMLA's interface sizes it: SMs / (ceil(heads / 64) query tiles), one kv head.
        sm_parts = max(torch.cuda.get_device_properties(0).multi_processor_count // ((H + 63) // 64), 1)
        dev = dict(device=q.device)
        meta = torch.empty(sm_parts, lib.flashmla_sched_meta_ints(), dtype=torch.int32, **dev)
        splits = torch.empty(B + 1, dtype=torch.int32, **dev)
        out = torch.empty(B, H, 512, dtype=q.dtype, **dev)
        lse = torch.empty(B, H, dtype=torch.float32, **dev)
        lse_acc = torch.empty(B + sm_parts, H, dtype=torch.float32, **dev)
        o_acc = torch.empty(B + sm_parts, H, 512, dtype=torch.float32, **dev)

        def call(plan):
            rc = lib.flashmla_dense_decode(q.data_ptr(), cache.data_ptr(), out.data_ptr(), lse.data_ptr(), seqlens.data_ptr(), table.data_ptr(),
                                           table.stride(0), B, H, D, cache.shape[0] // 64, scale, meta.data_ptr(), splits.data_ptr(),
                                           lse_acc.data_ptr(), o_acc.data_ptr(), sm_parts, plan, torch.cuda.current_stream().cuda_stream)
            if rc:
                raise RuntimeError("FlashMLA: " + lib.flashmla_last_error().decode())
            return out
        call(1)

        def run():
            return call(0)
        return run
    return prepare
