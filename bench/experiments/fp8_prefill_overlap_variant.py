# Prefill through the paged cache over an fp8 (E4M3) cache on Hopper (`gqa_paged_fp8`, bf16
# query, page 16, 4 q heads a kv head): what the bf16 cache's loop order would bring it.
# (2026-12-01, twenty-eighth session.) The shipped full-tile loop runs, each tile: wait K, copy V,
# widen K into the one 16-bit tile, scores, softmax, copy the next K, wait V, widen V into that
# same tile, P·V, with a block barrier before and after each widening and each dot waited for at
# once. The bf16 cache's loop (overlap.ts) issues the next tile's scores and this tile's P·V back
# to back and runs the softmax while P·V still runs. Hand edits of the full-tile loop alone:
#   - `ovl`: K and V widened into tiles of their own (16 KiB more shared memory: 67584 bytes,
#     still three blocks an SM); each iteration waits for V(n) and K(n+1), widens both, copies
#     V(n+1) and K(n+2) by cp.async, issues scores(n+1) and P·V(n), and runs softmax(n+1) while
#     P·V(n) runs;
#   - `ovl_tma`: the same with the staging tiles copied by TMA (one 128-byte x 16-row box a page,
#     dense rows, lane j of the first warp issuing page j's) instead of every thread's cp.async.
# Run from the repository root with PYTHONPATH=bench/experiments; then
# `bench_cuda.py --only paged_prefill --build NAME=DIR`, and the CUDA suite on DIR.
import json
import re

from variant_package import main, shipped

OUT = "tmp/fp8ovl"
NAME = "gqa_paged_fp8.bf16.g4.p16"
HELPERS = shipped("gqa_paged.bf16.g4.p16")
HELPERS = HELPERS[HELPERS.index("// A CUtensorMap as the driver encodes it"):HELPERS.index("// Runtime dims and scalar arguments")]

START = "  __syncthreads(); // the tiles' shared memory is free\n  if (t_239 < t_242) {"
END = "  // kernels-src/lib/masks.ts:9: return j <= i + k_len - q_len\n  __syncthreads(); // the tiles' shared memory is free\n  if (t_242 < t_237) {"

# Staging (E4M3 bytes), widened K, widened V, mbarriers: byte offsets for each copy method.
LAYOUT = {
    "cp": dict(kst=16384, vst=25600, pitch=144, kw=34816, vw=51200, end=67584),
    "tma": dict(kst=16384, vst=24576, pitch=128, kw=32768, vw=49152, kbar=65536, vbar=65544, end=65552),
    # two K staging tiles (K(n+2) in flight a whole iteration before it is widened)
    "kmid": dict(kst=16384, kst2=24576, vst=32768, pitch=128, kw=40960, vw=57344, kbar=73728, kbar2=73736, vbar=73744, end=73752),
}

CP_COPY = """
    auto copy_{x} = [&](int n) {{
      const int base = n * 64;
      for (int r = tid / 8, c = (tid % 8) * 16; r < 64; r += 16) {{
        cp_async16(smem + {st} + r * 144 + c, {x}_cache + (long long)((page_table[(long long)(b_108) * page_table_s0 + (long long)(safe_div((base + r), 16))] * 16) + safe_rem((base + r), 16)) * {x}_cache_s0 + (long long)(kvh_107) * {x}_cache_s1 + (long long)(c), true);
      }}
      cp_async_commit();
    }};
    auto wait_{x} = [&](int n) {{ (void)n; }};"""

TMA_COPY = """
    auto copy_{x} = [&](int n) {{
      if (tid < 32) {{
        const int base = n * 64;
        if (lane == 0) mbar_expect_bytes(smem + {bar}, 8192);
        __syncwarp();
        if (lane < 4) {{
          const int y = page_table[(long long)(b_108) * page_table_s0 + (long long)(safe_div((base + lane * 16), 16))] * 16;
          tma_box_reused(smem + {st} + lane * 16 * 128, &{x}_cache_map, kvh_107 * 128, y, smem + {bar});
        }}
      }}
    }};
    auto wait_{x} = [&](int n) {{ mbar_wait(smem + {bar}, (n - t_239) & 1); }};"""

LOOP = """  __syncthreads(); // the tiles' shared memory is free
  // [experiment fp8_prefill_overlap_variant.py] the full tiles in the bf16 cache's order
  if (t_239 < t_242) {{
{copies}
    auto widen_k = [&]() {{
      #pragma unroll
      for (int i = 0; i < 4; ++i) {{
        const int r = tid / 8 + i * 16, c = (tid % 8) * 16;
        const int s = (c >> 6) & 1;
        const uint4 w = *reinterpret_cast<const uint4*>(smem + {kst} + r * {pitch} + c);
        fp8x8_widen<true>(smem + {kw} + sw128(r, c + 8 * s, 64), s ? make_uint2(w.z, w.w) : make_uint2(w.x, w.y));
        fp8x8_widen<true>(smem + {kw} + sw128(r, c + 8 - 8 * s, 64), s ? make_uint2(w.x, w.y) : make_uint2(w.z, w.w));
      }}
    }};
    auto widen_v = [&]() {{
      #pragma unroll
      for (int i = 0; i < 4; ++i) {{
        const int r = tid / 8 + i * 16, c = (tid % 8) * 16;
        const int s = (c >> 6) & 1;
        const uint4 w = *reinterpret_cast<const uint4*>(smem + {vst} + r * {pitch} + c);
        fp8x8_widen<false>(smem + {vw} + sw128(r, c + 8 * s, 64), s ? make_uint2(w.z, w.w) : make_uint2(w.x, w.y));
        fp8x8_widen<false>(smem + {vw} + sw128(r, c + 8 - 8 * s, 64), s ? make_uint2(w.x, w.y) : make_uint2(w.z, w.w));
      }}
    }};
    // scores(K widened) into s, committed as their own group
    auto issue_scores = [&](float* s) {{
      const uint64_t db = sw128_desc(smem + {kw}, 16, 1024);
      const uint64_t da = sw128_desc(smem + 0 + wg_row * 8192, 16, 1024);
      #pragma unroll
      for (int kk = 0; kk < 8; ++kk) {{
        wgmma_m64n64k16_ss_bf16<0>(s, da + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), db + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), kk > 0);
      }}
      wgmma_commit();
    }};
    // acc += P·V(widened), committed as their own group
    auto issue_pv = [&](uint32_t (&af)[4][4]) {{
      const uint64_t db = sw128_desc(smem + {vw}, 8192, 1024);
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) {{
        wgmma_m64n128k16_rs_f16<1>(carry_246, af[kk], db + (uint64_t)((kk * 2048) >> 4));
      }}
      wgmma_commit();
    }};
    // The online softmax of scores s (the shipped loop's steps): m and the lane part of l
    // updated, P packed as f16 into af, alpha the factor the accumulator still owes.
    auto softmax = [&](float* s, float* alpha, uint32_t (&af)[4][4]) {{
      float p[32];
      #pragma unroll
      for (int h = 0; h < 2; ++h) {{
        float part[4];
        #pragma unroll
        for (int nt = 0; nt < 8; ++nt) {{
          #pragma unroll
          for (int q = 0; q < 2; ++q) {{
            const int i = (nt * 2 + h) * 2 + q;
            s[i] = s[i] * scale2_152;
            part[(nt * 2 + q) % 4] = nt * 2 + q < 4 ? s[i] : fmaxf(part[(nt * 2 + q) % 4], s[i]);
          }}
        }}
        part[0] = fmaxf(part[0], part[2]);
        part[1] = fmaxf(part[1], part[3]);
        float mx = fmaxf(part[0], part[1]);
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(carry_244[h], mx);
        const float m_safe = m_new == NEG_INF ? 0.0f : m_new;
        float sum = 0.0f;
        #pragma unroll
        for (int nt = 0; nt < 8; ++nt) {{
          #pragma unroll
          for (int q = 0; q < 2; ++q) {{
            const int i = (nt * 2 + h) * 2 + q;
            p[i] = exp2_ftz(s[i] - m_safe);
            sum = sum + p[i];
          }}
        }}
        alpha[h] = exp2_ftz(carry_244[h] - m_safe);
        carry_245[h] = fmaf(carry_245[h], alpha[h], sum);
        carry_244[h] = m_new;
      }}
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) {{
        af[kk][0] = pack_f16(p[((2 * kk) * 2 + 0) * 2 + 0], p[((2 * kk) * 2 + 0) * 2 + 1]);
        af[kk][1] = pack_f16(p[((2 * kk) * 2 + 1) * 2 + 0], p[((2 * kk) * 2 + 1) * 2 + 1]);
        af[kk][2] = pack_f16(p[((2 * kk + 1) * 2 + 0) * 2 + 0], p[((2 * kk + 1) * 2 + 0) * 2 + 1]);
        af[kk][3] = pack_f16(p[((2 * kk + 1) * 2 + 1) * 2 + 0], p[((2 * kk + 1) * 2 + 1) * 2 + 1]);
      }}
    }};
    auto rescale = [&](const float* alpha) {{
      #pragma unroll
      for (int nt = 0; nt < 16; ++nt) {{
        #pragma unroll
        for (int h = 0; h < 2; ++h) {{
          carry_246[(nt * 2 + h) * 2 + 0] *= alpha[h];
          carry_246[(nt * 2 + h) * 2 + 1] *= alpha[h];
        }}
      }}
    }};
    uint32_t pf[4][4], pg[4][4];
    copy_k(t_239);
    copy_v(t_239);
    {prologue_wait}
    __syncthreads();
    widen_k();
    fence_async_proxy();
    __syncthreads();
    if (t_239 + 1 < t_242) copy_k(t_239 + 1);
    {cp_commit}
    {{
      float s[32];
      float alpha[2];
      wgmma_fence();
      issue_scores(s);
      wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 32; ++i) reg_fence(s[i]);
      softmax(s, alpha, pf);
      rescale(alpha);
    }}
    // Tile n but the last: V(n) and K(n+1) widened, scores(n+1) and P·V(n) issued back to back,
    // softmax(n+1) while P·V(n) runs. P in two sets taken in turn (pin read by P·V(n), pout
    // written by softmax(n+1)), so no register a running wgmma reads is written.
    auto step = [&](int n, uint32_t (&pin)[4][4], uint32_t (&pout)[4][4]) {{
      {loop_wait}
      __syncthreads(); // V(n) and K(n+1) staged; scores(n) and P·V(n-1) done with the 16-bit tiles
      widen_v();
      widen_k();
      fence_async_proxy();
      __syncthreads();
      copy_v(n + 1);
      if (n + 2 < t_242) copy_k(n + 2);
      {cp_commit}
      float s[32];
      float alpha[2];
      wgmma_fence();
      issue_scores(s);
      issue_pv(pin);
      wgmma_wait<1>();
      #pragma unroll
      for (int i = 0; i < 32; ++i) reg_fence(s[i]);
      softmax(s, alpha, pout);
      wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 64; ++i) reg_fence(carry_246[i]);
      rescale(alpha);
    }};
    auto last = [&](uint32_t (&pin)[4][4]) {{
      {last_wait}
      __syncthreads();
      widen_v();
      fence_async_proxy();
      __syncthreads();
      wgmma_fence();
      issue_pv(pin);
      wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 64; ++i) reg_fence(carry_246[i]);
    }};
    int n = t_239;
    for (; n + 2 < t_242; n += 2) {{
      step(n, pf, pg);
      step(n + 1, pg, pf);
    }}
    if (n + 1 < t_242) {{
      step(n, pf, pg);
      last(pg);
    }} else {{
      last(pf);
    }}
  }}
"""

# `ovl_tma_kmid`: as `ovl_tma`, but K(n+2) is widened while P·V(n) runs (after the scores(n+1)
# that read the K tile are waited for), not at the top of the next iteration; two K staging
# tiles (73752 bytes, still three blocks an SM) so each K copy has a whole iteration to land.
KMID = """  __syncthreads(); // the tiles' shared memory is free
  // [experiment fp8_prefill_overlap_variant.py, kmid] the full tiles in the bf16 cache's order, K widened beside P·V
  if (t_239 < t_242) {{
    // K(m) goes to staging tile (m - lo) & 1, its mbarrier's phase ((m - lo) >> 1) & 1.
    auto copy_k = [&](int m) {{
      if (tid < 32) {{
        const int rel = m - t_239, base = m * 64;
        unsigned char* st = smem + ((rel & 1) ? {kst2} : {kst});
        unsigned char* bar = smem + ((rel & 1) ? {kbar2} : {kbar});
        if (lane == 0) mbar_expect_bytes(bar, 8192);
        __syncwarp();
        if (lane < 4) {{
          const int y = page_table[(long long)(b_108) * page_table_s0 + (long long)(safe_div((base + lane * 16), 16))] * 16;
          tma_box_reused(st + lane * 16 * 128, &k_cache_map, kvh_107 * 128, y, bar);
        }}
      }}
    }};
    auto wait_k = [&](int m) {{ const int rel = m - t_239; mbar_wait(smem + ((rel & 1) ? {kbar2} : {kbar}), (rel >> 1) & 1); }};
    auto copy_v = [&](int n) {{
      if (tid < 32) {{
        const int base = n * 64;
        if (lane == 0) mbar_expect_bytes(smem + {vbar}, 8192);
        __syncwarp();
        if (lane < 4) {{
          const int y = page_table[(long long)(b_108) * page_table_s0 + (long long)(safe_div((base + lane * 16), 16))] * 16;
          tma_box_reused(smem + {vst} + lane * 16 * 128, &v_cache_map, kvh_107 * 128, y, smem + {vbar});
        }}
      }}
    }};
    auto wait_v = [&](int n) {{ mbar_wait(smem + {vbar}, (n - t_239) & 1); }};
    auto widen_k = [&](int m) {{
      const unsigned char* st = smem + (((m - t_239) & 1) ? {kst2} : {kst});
      #pragma unroll
      for (int i = 0; i < 4; ++i) {{
        const int r = tid / 8 + i * 16, c = (tid % 8) * 16;
        const int s = (c >> 6) & 1;
        const uint4 w = *reinterpret_cast<const uint4*>(st + r * 128 + c);
        fp8x8_widen<true>(smem + {kw} + sw128(r, c + 8 * s, 64), s ? make_uint2(w.z, w.w) : make_uint2(w.x, w.y));
        fp8x8_widen<true>(smem + {kw} + sw128(r, c + 8 - 8 * s, 64), s ? make_uint2(w.x, w.y) : make_uint2(w.z, w.w));
      }}
    }};
""" + LOOP[LOOP.index("    auto widen_v = "):LOOP.index("    uint32_t pf[4][4], pg[4][4];")] + """    uint32_t pf[4][4], pg[4][4];
    copy_k(t_239);
    if (t_239 + 1 < t_242) copy_k(t_239 + 1);
    copy_v(t_239);
    wait_k(t_239);
    widen_k(t_239);
    fence_async_proxy();
    __syncthreads();
    if (t_239 + 2 < t_242) copy_k(t_239 + 2); // K(lo)'s staging tile is read
    {{
      float s[32];
      float alpha[2];
      wgmma_fence();
      issue_scores(s);
      wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 32; ++i) reg_fence(s[i]);
      softmax(s, alpha, pf);
      rescale(alpha);
    }}
    __syncthreads(); // every warp's scores(lo) are done with the widened K
    if (t_239 + 1 < t_242) {{
      wait_k(t_239 + 1);
      widen_k(t_239 + 1);
      fence_async_proxy();
    }}
    // Tile n but the last: the widened K holds K(n+1); V(n) widened, scores(n+1) and P·V(n)
    // issued back to back, then K(n+2) widened and softmax(n+1) run while P·V(n) runs.
    auto step = [&](int n, uint32_t (&pin)[4][4], uint32_t (&pout)[4][4]) {{
      wait_v(n);
      __syncthreads(); // K(n+1) widened and its staging tile read; P·V(n-1) done with the widened V
      if (n + 3 < t_242) copy_k(n + 3);
      widen_v();
      fence_async_proxy();
      __syncthreads();
      copy_v(n + 1);
      float s[32];
      float alpha[2];
      wgmma_fence();
      issue_scores(s);
      issue_pv(pin);
      wgmma_wait<1>();
      #pragma unroll
      for (int i = 0; i < 32; ++i) reg_fence(s[i]);
      if (n + 2 < t_242) {{
        __syncthreads(); // every warp's scores(n+1) are done with the widened K
        wait_k(n + 2);
        widen_k(n + 2);
        fence_async_proxy();
      }}
      softmax(s, alpha, pout);
      wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 64; ++i) reg_fence(carry_246[i]);
      rescale(alpha);
    }};
    auto last = [&](uint32_t (&pin)[4][4]) {{
      wait_v(t_242 - 1);
      __syncthreads();
      widen_v();
      fence_async_proxy();
      __syncthreads();
      wgmma_fence();
      issue_pv(pin);
      wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 64; ++i) reg_fence(carry_246[i]);
    }};
    int n = t_239;
    for (; n + 2 < t_242; n += 2) {{
      step(n, pf, pg);
      step(n + 1, pg, pf);
    }}
    if (n + 1 < t_242) {{
      step(n, pf, pg);
      last(pg);
    }} else {{
      last(pf);
    }}
  }}
"""


def loop(how):
    at = LAYOUT[how]
    if how == "kmid":
        return KMID.format(**at)
    if how == "cp":
        copies = CP_COPY.format(x="k", st=at["kst"]) + CP_COPY.format(x="v", st=at["vst"])
        # cp.async groups complete in order: K(lo), V(lo), then one group an iteration.
        waits = dict(prologue_wait="cp_async_wait<1>();", loop_wait="cp_async_wait<0>();", last_wait="cp_async_wait<0>();", cp_commit="")
    else:
        copies = TMA_COPY.format(x="k", st=at["kst"], bar=at["kbar"]) + TMA_COPY.format(x="v", st=at["vst"], bar=at["vbar"])
        waits = dict(prologue_wait="wait_k(t_239);", loop_wait="wait_v(n);\n      wait_k(n + 1);", last_wait="wait_v(t_242 - 1);", cp_commit="")
    return LOOP.format(copies=copies, **at, **waits)


def edit(how):
    def apply(src):
        a, b = src.index(START), src.index(END)
        src = src[:a] + loop(how) + src[b:]
        if how in ("tma", "kmid"):
            src = src.replace("// Runtime dims and scalar arguments", HELPERS + "// Runtime dims and scalar arguments", 1)
            src = src.replace("    const Params P) {", "    const Params P,\n    const __grid_constant__ TmaMap k_cache_map,\n"
                              "    const __grid_constant__ TmaMap v_cache_map) {", 1)
            # The mbarriers, initialized once before the first barrier of the kernel.
            src = src.replace("  __syncthreads(); // the previous iteration's readers are done with these tiles\n  // Q_",
                              "  if (tid == 0) { " + "".join(f"mbar_init(smem + {LAYOUT[how][b]}); " for b in ("kbar", "kbar2", "vbar") if b in LAYOUT[how]) + "mbar_init_fence(); }\n"
                              "  __syncthreads(); // the previous iteration's readers are done with these tiles\n  // Q_", 1)
        return src
    return apply


def add_maps(out):
    """The manifest of package `out` with the TMA variant's two maps (dense 128-byte rows)."""
    path = f"{out}/manifest.json"
    man = json.load(open(path))
    for e in man["kernels"][NAME]:
        e["cuda"]["tensorMaps"] = [{"tensor": t, "box": [128, 16], "swizzle": 0, "rowDims": 2} for t in ("k_cache", "v_cache")]
    json.dump(man, open(path, "w"))


VARIANTS = {"ovl": edit("cp"), "ovl_tma": edit("tma"), "ovl_tma_kmid": edit("kmid")}
SHARED = {"ovl": LAYOUT["cp"]["end"], "ovl_tma": LAYOUT["tma"]["end"], "ovl_tma_kmid": LAYOUT["kmid"]["end"]}

if __name__ == "__main__":
    import sys
    for name in sys.argv[1:] or VARIANTS:
        sys.argv = [sys.argv[0], name]
        main(OUT, {name: VARIANTS[name]}, keep=("gqa_paged_fp8.bf16.g4.p16", "gqa_paged.bf16.g4.p16"), edited=NAME, shared_bytes=SHARED[name])
        if name.startswith("ovl_tma"):
            add_maps(f"{OUT}/{name}")
