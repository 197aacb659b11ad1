# Shared by the experiments that time one kernel from two packages (a new build beside an old
# one): the ragged causal-prefill tensors through a paged cache, and the timing of both builds on
# them with their outputs compared.
import torch

from generated_kernels import Kernel
from timing import bench, rel_err


def ragged_prefill(q, kc, vc, table, B, S, Hq, D, **extra):
    """One prefill of S tokens per request over the paged cache: a fresh NaN-filled output, and
    the kernel's tensors."""
    out = torch.full((B * S, Hq, D), float("nan"), device="cuda", dtype=q.dtype)
    return out, {"q": q, "k_cache": kc, "v_cache": vc, "page_table": table,
                 "cache_seqlens": torch.full((B,), S, device="cuda", dtype=torch.int32),
                 "cu_seqlens_q": torch.arange(0, B + 1, device="cuda", dtype=torch.int32) * S, "out": out,
                 "lse": torch.empty(B * S, Hq, device="cuda", dtype=torch.float32), **extra}


def new_beside_old(name, new, old, tensors, scalars, flops, rows, row, tag):
    """Time kernel `name` from packages `new` and `old` on tensors() (an output and the tensors),
    append a row each ({**row, kernel, build, ms, tflops}) and print one line with the speedup
    and the two outputs' relative difference."""
    outs = {}
    for label, gen in (("new", new), ("old", old)):
        out, ts = tensors()
        run = Kernel(name, gen).prepare(ts, scalars)
        ms = bench(run)
        run()
        torch.cuda.synchronize()
        outs[label] = out.clone()
        rows.append({**row, "kernel": name, "build": label, "ms": ms, "tflops": flops / ms / 1e9})
    err = rel_err(outs["new"], outs["old"])
    a, b = rows[-2], rows[-1]
    print(f"{name:26s} {tag}  new {a['ms']:.3f} ms ({a['tflops']:.0f} TFLOP/s)  old {b['ms']:.3f} ms ({b['tflops']:.0f})  {b['ms'] / a['ms']:.2f}x  new vs old {err:.1e}")
