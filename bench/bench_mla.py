"""The MLA decode sections of the CUDA benchmark (bench_cuda.py --only mla,mla_fp8): absorbed
DeepSeek MLA over a paged latent cache, bf16 or E4M3, our single pass and split-KV kernels beside
eager torch, FlexAttention and FlashMLA (page 64)."""
import math
import time

import torch

from ours import SPLITS, ours_and_builds, page_slots, paged_cache, random_descales, row, time_ours, time_split_merge, to_e4m3, write_pages
from timing import bench, rel_err


def mla(configs=((64, 4096), (16, 16384)), pages=(1, 16, 64), H=128, L=512, R=64, fp8=False):
    """Absorbed MLA decode (DeepSeek: 128 heads, latent 512 + rope 64) over a paged latent cache:
    TB/s of latent cache read. torch has no MLA kernel: the peers are eager bf16 matmuls with a
    softmax, and FlexAttention on the same cache as one kv head (q/k 576 wide, v 512). With `fp8`
    the cache is E4M3 with a descale per request (mla_paged_fp8, mla_decode_split_fp8; no peer
    takes it): TB/s of its own bytes, checked against the same math on the dequantized cache."""
    torch.manual_seed(0)
    W = L + R
    scale = (128 + 64) ** -0.5
    sec, sfx = ("mla8", "_fp8") if fp8 else ("mla", "")
    for B, Lk in configs:
        kv_bytes = B * Lk * W * (1 if fp8 else 2)
        q = torch.randn(B, H, W, device="cuda", dtype=torch.bfloat16)
        ckv = torch.randn(B, Lk, W, device="cuda", dtype=torch.bfloat16)
        desc = random_descales(B, 1) if fp8 else None
        if fp8:  # the cache holds ckv / descale in E4M3; the reference reads it dequantized
            c8 = to_e4m3(ckv, desc)
            ckv = c8.float() * desc[:, :, None]
        shape = f"B={B} L={Lk} {H} heads"
        qt, kt, vt = q.view(B, H, 1, W), ckv.view(B, 1, Lk, W), ckv[:, :, :L].view(B, 1, Lk, L)

        def eager():  # every head of a request against its one latent cache: two bmm
            s = torch.bmm(q, ckv.transpose(1, 2)).float() * scale
            return torch.bmm(torch.softmax(s, -1).to(torch.bfloat16), ckv[:, :, :L]).view(B, H, 1, L)

        def exact():  # f32 math on the dequantized cache
            s = torch.bmm(q.float(), ckv.float().transpose(1, 2)) * scale
            return torch.bmm(torch.softmax(s, -1), ckv[:, :, :L].float()).view(B, H, 1, L)

        ref = exact() if fp8 else eager()
        if not fp8:
            ms = bench(eager)
            row("mla", shape + " contiguous", "torch bmm+softmax+bmm", ms, kv_bytes / ms / 1e9, "TB/s")
        try:
            if fp8:
                raise NotImplementedError("no fp8 peer")
            from torch.nn.attention.flex_attention import flex_attention
            fa = torch.compile(flex_attention)
            f = lambda: fa(qt, kt, vt, scale=scale, enable_gqa=True)
            t0 = time.time()
            err = rel_err(f(), ref)
            ms = bench(f)
            row("mla", shape + " contiguous", "FlexAttention", ms, kv_bytes / ms / 1e9, "TB/s", f"compile {time.time() - t0:.0f} s; err {err:.1e}")
        except Exception as e:
            print(f"  FlexAttention: {type(e).__name__}: {str(e)[:160]}")
        for P in pages:
            table, cache, _ = paged_cache(B, Lk, P, 1, W, dtype=torch.float8_e4m3fn if fp8 else torch.bfloat16)
            write_pages(cache, page_slots(table, P, Lk), (c8 if fp8 else ckv).reshape(-1, 1, W))
            out = torch.empty(B, H, L, device="cuda", dtype=torch.bfloat16)
            lse = torch.empty(B, H, device="cuda", dtype=torch.float32)
            inputs = {"q_nope": q[:, :, :L].contiguous(), "q_rope": q[:, :, L:].contiguous(), "c_kv": cache, "page_table": table,
                      "cache_seqlens": torch.full((B,), Lk, device="cuda", dtype=torch.int32)}
            if fp8:
                inputs.update(k_descale=desc, v_descale=desc)
            name = f"mla_paged{sfx}.bf16.p{P}"
            for label, gen in ours_and_builds(name):
                out.zero_()
                time_ours(name, {**inputs, "cu_seqlens_q": torch.arange(0, B + 1, device="cuda", dtype=torch.int32), "out": out, "lse": lse},
                          {"max_seqlen_q": 1, "softmax_scale": scale, "is_causal": 0},
                          lambda: rel_err(out.view(B, H, 1, L), ref),
                          lambda ms, err, who=f"flashtile mla_paged{sfx}" + (f" [{label}]" if label else ""): row(sec, f"{shape} page {P}", who, ms, kv_bytes / ms / 1e9, "TB/s", f"{2 * B * H * Lk * (W + L) / ms / 1e9:.0f} TFLOP/s; err {err:.1e}"), gen)
            if P == 64 and not fp8:
                flashmla_peer(q, cache, table, B, Lk, scale, ref, shape, kv_bytes, 2 * B * H * Lk * (W + L))
            # Split-KV: about one 64-head block per SM in all (one fits at a time: 235 registers x 256
            # threads); on the H200 4096 beat 1024 and 2048 at both shapes (FLASHTILE_SPLITS sweep).
            split = max(256, 1 << math.ceil(math.log2(max(1, Lk * B * (H // 64) // 132))))
            for sp in SPLITS or [min(split, Lk)]:
                mla_split(B, Lk, P, min(sp, Lk), inputs, ref, shape, H, L, scale, kv_bytes, sec, sfx)


def flashmla_peer(q, cache, table, B, Lk, scale, ref, shape, kv_bytes, flops):
    """FlashMLA's dense decode on the same paged cache (page 64 only), when it is available here."""
    import flashmla  # bench/peers, put on the path by bench_cuda.py
    prepare = flashmla.load()
    if isinstance(prepare, str):
        print(f"  FlashMLA: not timed: {prepare}")
        return
    try:
        run = prepare(q, cache, table, torch.full((B,), Lk, device="cuda", dtype=torch.int32), scale)
        err = rel_err(run().view(B, -1, 1, ref.shape[-1]), ref)
        ms = bench(run)
        row("mla", f"{shape} page 64", "FlashMLA", ms, kv_bytes / ms / 1e9, "TB/s", f"{flops / ms / 1e9:.0f} TFLOP/s; err {err:.1e}")
    except Exception as e:
        print(f"  FlashMLA: {type(e).__name__}: {str(e)[:160]}")


def mla_split(B, Lk, P, split, inputs, ref, shape, H, L, scale, kv_bytes, sec, sfx):
    """mla_decode_split (`sfx` _fp8: over an E4M3 cache) over splits of `split` keys, then
    merge_states (HEAD_DIM 512); both timed."""
    flops = 2 * B * H * Lk * (inputs["q_nope"].shape[-1] + inputs["q_rope"].shape[-1] + L)
    name = f"mla_decode_split{sfx}.bf16.p{P}"
    for label, gen in ours_and_builds(name):
        who = f"flashtile split {split}+merge" + (f" [{label}]" if label else "")
        time_split_merge(name, inputs, {"softmax_scale": scale, "split_len": split}, (Lk + split - 1) // split, B, H, L, ref,
                         lambda ms, ms1, err, who=who: row(sec, f"{shape} page {P}", who, ms, kv_bytes / ms / 1e9, "TB/s",
                                                           f"{flops / ms / 1e9:.0f} TFLOP/s; split alone {kv_bytes / ms1 / 1e9:.2f} TB/s; err {err:.1e}"), gen)
