"""Benchmark flashtile's CUDA kernels beside the best peers, in one process on one GPU.

Runs anywhere with an NVIDIA GPU, PyTorch and cuda-python (`pip install torch cuda-python`):

    python3 bench/bench_cuda.py [--only prefill,paged_prefill,decode,decode_fp8,mla,mla_fp8,swa] [--json out.json]

Our kernels are loaded from generated/ (the PTX the compiler shipped) with the CUDA driver API and
launched on PyTorch's stream with the manifest's ABI: one pointer per tensor, then one by-value
struct of dims and scalars. Peers: torch SDPA with the FlashAttention-2 and cuDNN backends, and
FlexAttention (torch.compile) where a shape is given, and for MLA decode FlashMLA
(bench/peers/flashmla.py) where it is installed or built. Every figure is a median over CUDA-event
timed repetitions, printed with the card's name; ratios compare runs of the same process.
Correctness is the job of scripts/cuda-suite.ts; here each of our outputs is only checked against
the peer's with a loose tolerance, so a fast wrong kernel cannot look good. The MLA sections are in
bench_mla.py, prefill through the paged cache in bench_paged_prefill.py, FlexAttention in flex.py,
what the sections share (rows, timing our builds, --build packages) in ours.py.
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from bench_mla import mla
from bench_paged_prefill import paged_prefill
from flex import flex_prefill
from generated_kernels import ROOT, Kernel
from sdpa import sdpa_peers
from ours import (BUILDS, CARD, ROWS, SPLITS, ours_and_builds, page_slots, paged_cache, random_descales, row, time_ours, time_split_merge,
                  to_e4m3, write_pages)
from timing import bench, rel_err

sys.path.insert(0, os.path.join(ROOT, "bench", "peers"))  # peers built from other projects' sources


def prefill(head_dims=(128, 64, 256), seqs=(512, 1024, 2048, 4096, 8192, 16384), flex_at=8192):
    torch.manual_seed(0)
    H, total = 16, 16384
    for D in head_dims:
        for causal in (False, True):
            build = f"mha_prefill.bf16.hd{D}.{'causal' if causal else 'nocausal'}"
            ours = Kernel(build)
            for S in seqs:
                B = total // S
                q, k, v = (torch.randn(total, H, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
                cu_q = torch.arange(0, total + 1, S, device="cuda", dtype=torch.int32)
                out = torch.empty_like(q)
                lse = torch.empty(total, H, device="cuda", dtype=torch.float32)
                scale = D ** -0.5
                args = {"q": q, "k": k, "v": v, "cu_seqlens_q": cu_q, "cu_seqlens_k": cu_q, "out": out, "lse": lse}
                scalars = {"max_seqlen_q": S, "softmax_scale": scale}
                run = ours.prepare(args, scalars)
                flops = 4 * S * S * H * D * B / (2 if causal else 1)
                shape = f"hd{D} S={S} B={B} {'causal' if causal else 'full'}"
                qt, kt, vt = (x.view(B, S, H, D).transpose(1, 2) for x in (q, k, v))
                ref = sdpa_peers("prefill", shape, qt, kt, vt, flops, "TFLOP/s", is_causal=causal)
                ms = bench(run)
                run()
                torch.cuda.synchronize()
                err = rel_err(out.view(B, S, H, D).transpose(1, 2), ref) if ref is not None else float("nan")
                row("prefill", shape, "flashtile", ms, flops / ms / 1e9, "TFLOP/s", f"err vs SDPA {err:.1e}")
                for label, gen in ours_and_builds(build)[1:]:
                    def report(ms, err, label=label):
                        row("prefill", shape, f"flashtile [{label}]", ms, flops / ms / 1e9, "TFLOP/s", f"err vs SDPA {err:.1e}")
                    out.fill_(float("nan"))
                    time_ours(build, args, scalars, lambda: rel_err(out.view(B, S, H, D).transpose(1, 2), ref), report, gen)
                if S == flex_at and causal and D == 128:
                    flex_prefill(qt, kt, vt, flops, shape)


def decode(configs=((64, 4096), (16, 16384), (128, 1024)), pages=(1, 16, 64)):
    torch.manual_seed(0)
    Hq, Hk, D = 32, 8, 128
    for B, L in configs:
        kv_bytes = 2 * B * L * Hk * D * 2
        q = torch.randn(B, Hq, D, device="cuda", dtype=torch.bfloat16)
        kd = torch.randn(B, Hk, L, D, device="cuda", dtype=torch.bfloat16)
        vd = torch.randn(B, Hk, L, D, device="cuda", dtype=torch.bfloat16)
        shape = f"B={B} L={L}"
        ref = sdpa_peers("decode", shape + " contiguous", q.view(B, Hq, 1, D), kd, vd, kv_bytes, "TB/s", enable_gqa=True)
        for P in pages:
            table, kc, vc = paged_cache(B, L, P, Hk, D)
            # Write the contiguous K/V into the pages so every kernel reads the same values.
            slots = page_slots(table, P, L)
            write_pages(kc, slots, kd.transpose(1, 2).reshape(-1, Hk, D))
            write_pages(vc, slots, vd.transpose(1, 2).reshape(-1, Hk, D))
            seqlens = torch.full((B,), L, device="cuda", dtype=torch.int32)
            cu_q = torch.arange(0, B + 1, device="cuda", dtype=torch.int32)
            out = torch.empty(B, Hq, D, device="cuda", dtype=torch.bfloat16)
            lse = torch.empty(B, Hq, device="cuda", dtype=torch.float32)
            # gqa_paged (64-row CUDA tiles) and gqa_decode (the same spec with 16-row tiles): both
            # write the output directly, no split, no merge.
            for kernel in ("gqa_paged", "gqa_decode"):
                name = f"{kernel}.bf16.g4.p{P}"
                for label, gen in ours_and_builds(name):
                    who = f"flashtile {kernel}" + (f" [{label}]" if label else "")
                    time_ours(name,
                              {"q": q, "k_cache": kc, "v_cache": vc, "page_table": table, "cache_seqlens": seqlens, "cu_seqlens_q": cu_q, "out": out, "lse": lse},
                              {"max_seqlen_q": 1, "softmax_scale": D ** -0.5, "is_causal": 0},
                              lambda: rel_err(out.view(B, Hq, 1, D), ref) if ref is not None else float("nan"),
                              lambda ms, err, who=who: row("decode", f"{shape} page {P}", who, ms, kv_bytes / ms / 1e9, "TB/s", f"err {err:.1e}"), gen)
            split = max(256, 1 << math.ceil(math.log2(max(1, L * B * Hk // (132 * 8)))))
            for sp in SPLITS or [min(split, L)]:
                split_decode(B, L, P, min(sp, L), q, kc, vc, table, seqlens, ref, shape)


def split_decode(B, L, P, split, q, kc, vc, table, seqlens, ref, shape, Hq=32, Hk=8, D=128, descales=None):
    """gqa_decode_split (gqa_decode_split_fp8 with `descales`, an E4M3 cache) over splits of
    `split` keys, then merge_states; both kernels timed, TB/s of the cache's own bytes."""
    fp8 = descales is not None
    kv_bytes = 2 * B * L * Hk * D * (1 if fp8 else 2)
    inputs = {"q": q, "k_cache": kc, "v_cache": vc, "page_table": table, "cache_seqlens": seqlens}
    if fp8:
        inputs.update(k_descale=descales[0], v_descale=descales[1])
    name = f"gqa_decode_split{'_fp8' if fp8 else ''}.bf16.g4.p{P}"
    for label, gen in ours_and_builds(name):
        who = f"flashtile split {split}+merge" + (f" [{label}]" if label else "")
        time_split_merge(name, inputs, {"softmax_scale": D ** -0.5, "split_len": split}, (L + split - 1) // split, B, Hq, D, ref,
                         lambda ms, ms1, err, who=who: row("decode8" if fp8 else "decode", f"{shape} page {P}{' fp8 kv' if fp8 else ''}", who, ms,
                                                           kv_bytes / ms / 1e9, "TB/s", f"split alone {kv_bytes / ms1 / 1e9:.2f} TB/s; err {err:.1e}"), gen)


def decode_fp8(configs=((64, 4096), (16, 16384), (128, 1024)), pages=(1, 16, 64)):
    """Paged decode over an E4M3 cache with per (request, kv head) descales: TB/s of fp8 KV read.
    Checked against SDPA (f32 math) on the dequantized cache; torch has no fp8 paged peer."""
    torch.manual_seed(0)
    Hq, Hk, D = 32, 8, 128
    for B, L in configs:
        kv_bytes = 2 * B * L * Hk * D  # one byte per element
        q = torch.randn(B, Hq, D, device="cuda", dtype=torch.bfloat16)
        kdesc, vdesc = random_descales(B, Hk), random_descales(B, Hk)
        kq = to_e4m3(torch.randn(B, Hk, L, D, device="cuda"), kdesc)
        vq = to_e4m3(torch.randn(B, Hk, L, D, device="cuda"), vdesc)
        kd, vd = kq.float() * kdesc[:, :, None, None], vq.float() * vdesc[:, :, None, None]
        with sdpa_kernel(SDPBackend.MATH):
            ref = F.scaled_dot_product_attention(q.float().view(B, Hq, 1, D), kd, vd, enable_gqa=True)
        shape = f"B={B} L={L}"
        for P in pages:
            table, kc, vc = paged_cache(B, L, P, Hk, D, dtype=torch.float8_e4m3fn)
            slots = page_slots(table, P, L)
            write_pages(kc, slots, kq.transpose(1, 2).reshape(-1, Hk, D))
            write_pages(vc, slots, vq.transpose(1, 2).reshape(-1, Hk, D))
            seqlens = torch.full((B,), L, device="cuda", dtype=torch.int32)
            cu_q = torch.arange(0, B + 1, device="cuda", dtype=torch.int32)
            out = torch.empty(B, Hq, D, device="cuda", dtype=torch.bfloat16)
            lse = torch.empty(B, Hq, device="cuda", dtype=torch.float32)
            # As over a 16-bit cache: 64-row tiles (gqa_paged_fp8) and one warp per request and kv
            # head (gqa_decode_fp8), both without a merge.
            for kernel in ("gqa_paged_fp8", "gqa_decode_fp8"):
                name = f"{kernel}.bf16.g4.p{P}"
                for label, gen in ours_and_builds(name):
                    who = f"flashtile {kernel}" + (f" [{label}]" if label else "")
                    time_ours(name,
                              {"q": q, "k_cache": kc, "v_cache": vc, "k_descale": kdesc, "v_descale": vdesc, "page_table": table, "cache_seqlens": seqlens,
                               "cu_seqlens_q": cu_q, "out": out, "lse": lse}, {"max_seqlen_q": 1, "softmax_scale": D ** -0.5, "is_causal": 0},
                              lambda: rel_err(out.view(B, Hq, 1, D), ref),
                              lambda ms, err, who=who: row("decode8", f"{shape} page {P} fp8 kv", who, ms, kv_bytes / ms / 1e9, "TB/s", f"err vs dequantized {err:.1e}"), gen)
            # Split-KV over the E4M3 cache at three split lengths (the best one varies with the shape).
            for sp in SPLITS or sorted({min(s, L) for s in (1024, 2048, 4096)}):
                split_decode(B, L, P, sp, q, kc, vc, table, seqlens, ref, shape, descales=(kdesc, vdesc))


def swa(S=8192, W=1024, Hq=16, Hk=4, D=128, pages=(16, 1)):
    torch.manual_seed(0)
    q = torch.randn(S, Hq, D, device="cuda", dtype=torch.bfloat16)
    out = torch.empty_like(q)
    lse = torch.empty(S, Hq, device="cuda", dtype=torch.float32)
    flops = 4 * S * min(W + 1, S) * Hq * D  # visible pairs (window + diagonal), roughly
    shape = f"S={S} window {W} causal, {Hq}/{Hk} heads hd{D}"
    qt = q.view(1, S, Hq, D).transpose(1, 2)
    i = torch.arange(S, device="cuda")
    allowed = (i[None, :] <= i[:, None]) & (i[:, None] - i[None, :] <= W)
    flex_kv = None  # FlexAttention reads the first page size's keys, contiguous
    for P in pages:
        # Page 16's row keeps the shape's name alone (the tables since the first run); others name their page.
        where = shape if P == 16 else f"{shape} page {P}"
        table, kc, vc = paged_cache(1, S, P, Hk, D)
        slots = page_slots(table, P, S)
        kt, vt = kc[slots].view(1, S, Hk, D).transpose(1, 2), vc[slots].view(1, S, Hk, D).transpose(1, 2)
        flex_kv = flex_kv or (kt, vt)
        name = f"swa_paged.bf16.p{P}"
        try:
            tensors = {"q": q, "k_cache": kc, "v_cache": vc, "page_table": table, "cache_seqlens": torch.tensor([S], device="cuda", dtype=torch.int32),
                       "cu_seqlens_q": torch.tensor([0, S], device="cuda", dtype=torch.int32), "out": out, "lse": lse}
            scalars = {"max_seqlen_q": S, "softmax_scale": D ** -0.5, "is_causal": 1, "window_left": W, "window_right": 0}
            # The reference: SDPA with an explicit window mask (math backend, fine for one check).
            ref = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=allowed, enable_gqa=True)
            for label, gen in ours_and_builds(name):
                who = "flashtile swa_paged" + (f" [{label}]" if label else "")
                def report(ms, err, who=who):
                    row("swa", where, who, ms, flops / ms / 1e9, "TFLOP/s", f"paged, page {P}; err vs SDPA {err:.1e}")
                out.fill_(float("nan"))
                time_ours(name, tensors, scalars, lambda: rel_err(out.view(1, S, Hq, D).transpose(1, 2), ref), report, gen)
        except Exception as e:
            print(f"  {name}: {type(e).__name__}: {str(e)[:160]}")
    kt, vt = flex_kv
    flex_prefill(qt, kt, vt, flops, shape, window=W, gqa=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="prefill,paged_prefill,decode,decode_fp8,mla,mla_fp8,swa")
    ap.add_argument("--json")
    ap.add_argument("--head-dims", help="prefill head dims, e.g. 128,64")
    ap.add_argument("--seqs", help="prefill sequence lengths, e.g. 2048,8192")
    ap.add_argument("--mla-pages", help="MLA page sizes, e.g. 16 (default 1,16,64)")
    ap.add_argument("--build", action="append", default=[], help="label=dir[@sm_80]: another build of the package, timed beside ours (prefill, swa, paged decode, the decode and MLA splits); @sm_80 loads its portable PTX")
    a = ap.parse_args()
    print(f"{CARD}, torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}", flush=True)
    for b in a.build:
        label, _, path = b.partition("=")
        BUILDS[label] = path
    ints = lambda x: tuple(int(v) for v in x.split(","))
    pre = {**({"head_dims": ints(a.head_dims)} if a.head_dims else {}), **({"seqs": ints(a.seqs)} if a.seqs else {})}
    for part in a.only.split(","):
        t0 = time.time()
        {"prefill": lambda: prefill(**pre), "paged_prefill": paged_prefill, "decode": decode, "decode_fp8": decode_fp8, "mla": lambda: mla(**({"pages": ints(a.mla_pages)} if a.mla_pages else {})),
         "mla_fp8": lambda: mla(fp8=True, **({"pages": ints(a.mla_pages)} if a.mla_pages else {})), "swa": swa}[part]()
        print(f"-- {part}: {time.time() - t0:.0f} s", flush=True)
    if a.json:
        json.dump(ROWS, open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
