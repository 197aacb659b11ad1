"""The card's two ceilings (METHOD: measure them once, on the card the tables come from), and the
MLA decode problem's matrix products alone, as the floor any MLA kernel sits on.

    python3 bench/ceilings.py

- copy: device-to-device copy of 2 GiB, bytes read + bytes written over time (TB/s);
- gemm: a large bf16 matrix product through cuBLAS (TFLOP/s), the rate tensor-core code can reach;
- MLA's two products at 128 heads, latent 512 + rope 64 (B x L = 64 x 4096 and 16 x 16384): the
  scores (heads x 576 times 576 x L) and the output (heads x L times L x 512) as cuBLAS batched
  GEMMs on a contiguous cache, with no softmax between them. Their time, as TB/s of the latent
  cache, is what an MLA kernel at the cuBLAS rate with a free softmax would reach.
"""
import torch

from ours import CARD
from timing import bench


def main():
    print(f"{CARD}, torch {torch.__version__}", flush=True)
    n = 1 << 30
    a = torch.empty(n, dtype=torch.bfloat16, device="cuda").normal_()
    b = torch.empty_like(a)
    ms = bench(lambda: b.copy_(a))
    print(f"copy   2 GiB d2d                       {ms:8.3f} ms  {2 * a.numel() * 2 / ms / 1e9:8.2f} TB/s (read + write)", flush=True)
    del a, b
    for m in (8192, 16384):
        x = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
        y = torch.randn(m, m, dtype=torch.bfloat16, device="cuda")
        ms = bench(lambda: x @ y)
        print(f"gemm   bf16 {m}^3                     {ms:8.3f} ms  {2 * m ** 3 / ms / 1e9:8.0f} TFLOP/s", flush=True)
    H, L, W = 128, 512, 576
    for B, Lk in ((64, 4096), (16, 16384)):
        q = torch.randn(B, H, W, dtype=torch.bfloat16, device="cuda")
        c = torch.randn(B, Lk, W, dtype=torch.bfloat16, device="cuda")
        p = torch.randn(B, H, Lk, dtype=torch.bfloat16, device="cuda")
        ct = c.transpose(1, 2)
        v = c[:, :, :L]
        s_ms = bench(lambda: torch.bmm(q, ct))
        o_ms = bench(lambda: torch.bmm(p, v))
        flops = 2 * B * H * Lk * (W + L)
        kv = B * Lk * W * 2
        tot = s_ms + o_ms
        print(f"mla    B={B} L={Lk}: scores bmm {s_ms:.3f} ms + output bmm {o_ms:.3f} ms = {tot:.3f} ms"
              f"  {flops / tot / 1e9:.0f} TFLOP/s, {kv / tot / 1e9:.2f} TB/s of latent cache", flush=True)


if __name__ == "__main__":
    main()
