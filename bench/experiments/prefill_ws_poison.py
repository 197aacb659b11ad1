"""Rows past a sequence's keys: does a NaN in the next sequence's V reach this sequence's output?

The spec loads K and V `where kr < k_len`: rows past the keys are zeros. A TMA box of a partial
tile reads whatever rows follow (the next sequence's), and P = 0 there, but 0 * NaN is NaN. Two
sequences of 100 and 300 tokens; V of the second gets a NaN in its sixth row (inside the first
sequence's first 128-key tile); the first sequence's output is checked against float32 math.

    python3 bench/experiments/prefill_ws_poison.py LABEL=PACKAGE_DIR ...   # e.g. shipped=generated
"""
import sys

import torch

from generated_kernels import Kernel

H, D = 16, 128


def run(gen, causal):
    torch.manual_seed(1)
    lens = [100, 300]
    total = sum(lens)
    q, k, v = (torch.randn(total, H, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    v[lens[0] + 5, :, :] = float("nan")
    cu = torch.tensor([0, lens[0], total], device="cuda", dtype=torch.int32)
    out = torch.zeros_like(q)
    lse = torch.empty(total, H, device="cuda", dtype=torch.float32)
    name = f"mha_prefill.bf16.hd128.{'causal' if causal else 'nocausal'}"
    Kernel(name, gen).prepare({"q": q, "k": k, "v": v, "cu_seqlens_q": cu, "cu_seqlens_k": cu, "out": out, "lse": lse},
                              {"max_seqlen_q": max(lens), "softmax_scale": D ** -0.5})()
    torch.cuda.synchronize()
    n = lens[0]
    s = torch.einsum("qhd,khd->hqk", q[:n].float(), k[:n].float()) * D ** -0.5
    if causal:
        s = s.masked_fill(torch.ones(n, n, device="cuda", dtype=torch.bool).triu(1), float("-inf"))
    ref = torch.einsum("hqk,khd->qhd", s.softmax(-1), v[:n].float())
    got = out[:n].float()
    finite = bool(torch.isfinite(got).all())
    err = ((got - ref).abs().max() / ref.abs().max()).item() if finite else float("nan")
    return finite, err


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        label, gen = arg.split("=", 1)
        for causal in (False, True):
            finite, err = run(gen, causal)
            print(f"{label:12s} {'causal' if causal else 'nocausal':9s} first sequence's output finite: {finite}  max rel. error {err:.1e}")
