"""Prefill through the paged KV cache, SGLang's extend path for a request with no cached prefix:
gqa_paged over a bf16 cache and gqa_paged_fp8 over an E4M3 one (per request and kv head
descales), GQA 32 query / 8 kv heads, head_dim 128, causal, pages of 1 (SGLang's default) and 16
(TMA copies on Hopper). Peers: SDPA's FA2 and cuDNN
backends and FlexAttention on contiguous bf16 K and V (none of them reads a paged or an fp8
cache). TFLOP/s counts the causal half. Part of bench_cuda.py (--only paged_prefill)."""
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from flex import flex_prefill
from sdpa import sdpa_peers
from ours import ours_and_builds, page_slots, paged_cache, random_descales, row, time_ours, to_e4m3, write_pages
from timing import rel_err


def paged_prefill(shapes=((4, 4096), (1, 16384)), Hq=32, Hk=8, D=128, pages=(1, 16)):
    torch.manual_seed(0)
    for B, S in shapes:
        flops = 4 * B * S * S * Hq * D / 2
        shape = f"B={B} S={S} causal, {Hq}/{Hk} heads"
        q = torch.randn(B, Hq, S, D, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(B, Hk, S, D, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(B, Hk, S, D, device="cuda", dtype=torch.bfloat16)
        ref = sdpa_peers("pprefill", shape + " contiguous", q, k, v, flops, "TFLOP/s", is_causal=True, enable_gqa=True)
        flex_prefill(q, k, v, flops, shape + " contiguous", gqa=True, section="pprefill")
        # Our kernels take the tokens of all requests in one ragged batch.
        qt = q.transpose(1, 2).reshape(B * S, Hq, D).contiguous()
        inputs = {"q": qt, "cache_seqlens": torch.full((B,), S, device="cuda", dtype=torch.int32),
                  "cu_seqlens_q": torch.arange(0, B + 1, device="cuda", dtype=torch.int32) * S,
                  "out": torch.empty(B * S, Hq, D, device="cuda", dtype=torch.bfloat16),
                  "lse": torch.empty(B * S, Hq, device="cuda", dtype=torch.float32)}
        scalars = {"max_seqlen_q": S, "softmax_scale": D ** -0.5, "is_causal": 1}
        got = lambda: inputs["out"].view(B, S, Hq, D).transpose(1, 2)
        for P, fp8 in ((P, fp8) for P in pages for fp8 in (False, True)):
            table, kc, vc = paged_cache(B, S, P, Hk, D, dtype=torch.float8_e4m3fn if fp8 else torch.bfloat16)
            slots = page_slots(table, P, S)
            expect = ref
            if fp8:
                kdesc, vdesc = random_descales(B, Hk), random_descales(B, Hk)
                kq, vq = to_e4m3(k, kdesc), to_e4m3(v, vdesc)
                write_pages(kc, slots, kq.transpose(1, 2).reshape(-1, Hk, D))
                write_pages(vc, slots, vq.transpose(1, 2).reshape(-1, Hk, D))
                inputs.update(k_descale=kdesc, v_descale=vdesc)
                # The check: FA2 on the dequantized cache (rounded to bf16, well inside the tolerance).
                kd = (kq.float() * kdesc[:, :, None, None]).to(torch.bfloat16)
                vd = (vq.float() * vdesc[:, :, None, None]).to(torch.bfloat16)
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    expect = F.scaled_dot_product_attention(q, kd, vd, is_causal=True, enable_gqa=True)
            else:
                write_pages(kc, slots, k.transpose(1, 2).reshape(-1, Hk, D))
                write_pages(vc, slots, v.transpose(1, 2).reshape(-1, Hk, D))
            inputs.update(k_cache=kc, v_cache=vc, page_table=table)
            name = f"gqa_paged{'_fp8' if fp8 else ''}.bf16.g4.p{P}"
            for label, gen in ours_and_builds(name):
                who = f"flashtile {name.split('.')[0]}" + (f" [{label}]" if label else "")
                inputs["out"].fill_(float("nan"))
                time_ours(name, inputs, scalars, lambda: rel_err(got(), expect) if expect is not None else float("nan"),
                          lambda ms, err, who=who: row("pprefill", f"{shape} page {P}{' fp8 kv' if fp8 else ''}", who, ms, flops / ms / 1e9, "TFLOP/s",
                                                       f"err vs FA2{' on the dequantized cache' if fp8 else ''} {err:.1e}"), gen)
