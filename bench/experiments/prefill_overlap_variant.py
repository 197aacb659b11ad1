"""Prefill's whole-tile loop with the next tile's scores issued before this tile's P.V (FA3's
overlap within one warpgroup), as a hand edit for timing before the emitter does it.

As emitted, each tile of `mha_prefill` runs S = Q.K^T, waits for it, runs the softmax, then
O += P.V and waits for that: the warpgroup's own tensor work never overlaps its softmax, and
what hides the softmax is other blocks on the SM (three at head dim 128). Here, in the loop over
whole tiles (sm_90a only; the masked tiles before and after it are untouched):

    S(0) = Q.K(0)^T; wait; softmax(S(0)) -> P(0)
    for j:  issue S(j+1) = Q.K(j+1)^T;  issue O += P(j).V(j)
            wait for S(j+1) (P.V still running); K's buffer refilled (tile j+1+KS)
            softmax(S(j+1)) -> P(j+1), alpha          <- beside P(j).V(j) on the tensor cores
            wait for P.V; V's buffer refilled (tile j+VS); O *= alpha

K and V tiles are copied by TMA into KS and VS buffers (a tile t in buffer t % KS, landing on
that buffer's mbarrier at phase (t / KS) & 1). The exponent takes the scale in one FFMA
(exp2(s * scale2 - m)), the row max taken on the unscaled scores (the scale is positive).

    python3 bench/experiments/prefill_overlap_variant.py OUT_DIR   # writes OUT_DIR/<variant> packages

Measured on an H200 (`--only prefill --head-dims 128,256 --build k2v2b2=... --build k1v2b3=...
--build k1v1b3=...` beside the package at f9fcb62, bench/results/h200-prefill-overlap-experiment-
2026-11-30.{log,json}; every edited build 18 of 18 in the CUDA suite): at head dim 128, K in one
buffer and V in two with three blocks an SM (k1v2b3) took 1.09-1.15x less time at every length,
causal and not (S = 8192 not causal: 1.860 against 2.051 ms); V in one buffer too (k1v1b3)
1.06-1.12x; both double-buffered with two blocks an SM (k2v2b2) 0.95-1.03x. At head dim 256
(two blocks an SM either way, k1v1b3 only) ptxas spilled 24-180 bytes: 0.98-1.06x not causal,
0.92-0.96x causal.
"""
import json
import re
import sys

from variant_package import build

LOOP = re.compile(r"  // full tiles\n  for \(int (t_\d+) = (t_\d+); \1 < (t_\d+); \+\+\1\) \{\n")
FREE = "  __syncthreads(); // the tiles' shared memory is free\n"
HELPERS = r"""#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void mbar_expect_if(bool on, unsigned char* bar, unsigned bytes) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %2, 0;\n@p mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n}\n"
               :: "r"((unsigned)__cvta_generic_to_shared(bar)), "r"(bytes), "r"((int)on) : "memory");
}
__device__ __forceinline__ void tma_box_if(bool on, unsigned char* dst, const TmaMap* map, int x, int y, unsigned char* bar) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %5, 0;\n@p cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n}\n"
               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(x), "r"(y), "r"((unsigned)__cvta_generic_to_shared(bar)), "r"((int)on) : "memory");
}
#endif

"""


def overlap(ks, vs, blocks):
    def edit(src):
        m = LOOP.search(src)
        lo, hi = m.group(2), m.group(3)
        start = src.rindex(FREE, 0, m.start()) + len(FREE)
        end = src.index(FREE, m.end())
        original = src[start:end]
        dims = re.search(r"HEAD_DIM = (\d+), CAUSAL = \w+, BLOCK_M = (\d+), BLOCK_N = (\d+)", src)
        D, BM, BN = (int(x) for x in dims.groups())
        assert BM == 64 and BN == 64, (BM, BN)
        cm, cl, co = re.findall(r"  float (carry_\d+)\[\d+\];\n", src)[:3]
        scale2 = re.search(r"const float (scale2_\d+) =", src).group(1)
        k0 = re.search(r"const int (k0_\d+) = cu_seqlens_k", src).group(1)
        h = re.search(r"const int (h_\d+) = \(int\)blockIdx.y;", src).group(1)
        bars_old = re.findall(r"mbar_init\(smem \+ (\d+)\);", src)
        QB, KB = BM * D * 2, BN * D * 2
        K = [QB + i * KB for i in range(ks)]
        V = [QB + ks * KB + i * KB for i in range(vs)]
        BAR = QB + (ks + vs) * KB
        KBAR = [BAR + 8 * i for i in range(ks)]
        VBAR = [BAR + 8 * (ks + i) for i in range(vs)]
        total = BAR + 8 * (ks + vs)
        nt_s = BN // 8  # n8 tiles of a score row
        kc = D // 64  # 64-column boxes of a K or V tile
        ksteps = D // 16

        def sel(offs, i):
            return offs[0] if len(offs) == 1 else f"({i} ? {offs[1]} : {offs[0]})"

        def copy(kind, t, cond):
            # Predicated, not branched on: a divergent branch while a wgmma is in flight makes
            # ptxas serialize the wgmmas.
            offs, bars, n, mp = (K, KBAR, ks, "k_map") if kind == "K" else (V, VBAR, vs, "v_map1")
            b = f"(({t}) % {n})" if n > 1 else "0"
            boxes = "\n".join(
                f"        tma_box_if(on, smem + {sel(offs, b)} + {c * BN * 128}, &{mp}, x + {c * 64}, y, smem + {sel(bars, b)});"
                for c in range(kc)
            )
            return (
                f"      {{ // {kind} of tile {lo} + {t} by TMA into buffer {b}\n"
                f"        const bool on = {cond};\n"
                f"        mbar_expect_if(on, smem + {sel(bars, b)}, {KB});\n"
                f"        const int x = {h} * {D}, y = {k0} + ({lo} + {t}) * {BN};\n"
                f"{boxes}\n      }}\n"
            )

        def descs(ts, tv):
            # Both descriptors made before the iteration's first wgmma: an instruction defining a
            # wgmma's input while another is in flight makes ptxas serialize them (C7513).
            bk = f"(({ts}) % {ks})" if ks > 1 else "0"
            bv = f"(({tv}) % {vs})" if vs > 1 else "0"
            return (
                f"      const uint64_t dk0 = sw128_desc(smem + {sel(K, bk)}, 16, 1024);\n"
                f"      const uint64_t dv0 = sw128_desc(smem + {sel(V, bv)}, {BN * 128}, 1024);\n"
                f"      uint64_t dks[{ksteps}], dvs[{BN // 16}];\n"
                f"      #pragma unroll\n      for (int kk = 0; kk < {ksteps}; ++kk) asm volatile(\"mov.b64 %0, %1;\" : \"=l\"(dks[kk]) : \"l\"(dk0 + (uint64_t)(((kk >> 2) * {BN * 128} + (kk & 3) * 32) >> 4)));\n"
                f"      #pragma unroll\n      for (int kk = 0; kk < {BN // 16}; ++kk) asm volatile(\"mov.b64 %0, %1;\" : \"=l\"(dvs[kk]) : \"l\"(dv0 + (uint64_t)((kk * 2048) >> 4)));\n"
            )

        def scores(t):
            b = f"(({t}) % {ks})" if ks > 1 else "0"
            return (
                f"      mbar_wait(smem + {sel(KBAR, b)}, (({t}) / {ks}) & 1);\n"
                f"      #pragma unroll\n      for (int i = 0; i < {BN // 2}; ++i) s_acc[i] = 0.0f;\n"
                f"      wgmma_fence();\n"
                f"      {{\n"
                f"        #pragma unroll\n"
                f"        for (int kk = 0; kk < {ksteps}; ++kk) {{\n"
                f"          wgmma_m64n{BN}k16_ss_bf16<0>(s_acc, da + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), dks[kk]);\n"
                f"        }}\n      }}\n"
                f"      wgmma_commit();\n"
            )

        def pv(t, pin):
            b = f"(({t}) % {vs})" if vs > 1 else "0"
            return (
                f"      mbar_wait(smem + {sel(VBAR, b)}, (({t}) / {vs}) & 1);\n"
                f"      wgmma_fence();\n"
                f"      {{\n"
                f"        #pragma unroll\n"
                f"        for (int kk = 0; kk < {BN // 16}; ++kk) {{\n"
                f"          wgmma_m64n{D}k16_rs_bf16<1>({co}, {pin}[kk], dvs[kk]);\n"
                f"        }}\n      }}\n"
                f"      wgmma_commit();\n"
            )

        softmax = lambda pout: f"""      // softmax of s_acc: P into {pout}, alpha, the running max and sum updated (s_acc, a wgmma's
      // accumulator, is only read here: writing it while P.V runs makes ptxas serialize them)
      float pe[{BN // 2}];
      #pragma unroll
      for (int i = 0; i < {BN // 2}; ++i) reg_fence(s_acc[i]);
      #pragma unroll
      for (int hh = 0; hh < 2; ++hh) {{
        float mx = NEG_INF;
        #pragma unroll
        for (int nt = 0; nt < {nt_s}; ++nt) mx = fmaxf(mx, fmaxf(s_acc[nt * 4 + hh * 2], s_acc[nt * 4 + hh * 2 + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf({cm}[hh], mx * {scale2});
        const float m_safe = m_new == NEG_INF ? 0.0f : m_new;
        alpha[hh] = exp2_ftz({cm}[hh] - m_safe);
        {cm}[hh] = m_new;
        float sum = 0.0f;
        #pragma unroll
        for (int nt = 0; nt < {nt_s}; ++nt) {{
          #pragma unroll
          for (int p = 0; p < 2; ++p) {{
            const float e = exp2_ftz(fmaf(s_acc[nt * 4 + hh * 2 + p], {scale2}, -m_safe));
            pe[nt * 4 + hh * 2 + p] = e;
            sum += e;
          }}
        }}
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        {cl}[hh] = {cl}[hh] * alpha[hh] + sum;
      }}
      #pragma unroll
      for (int kk = 0; kk < {BN // 16}; ++kk) {{
        {pout}[kk][0] = pack_bf16(pe[(2 * kk) * 4 + 0], pe[(2 * kk) * 4 + 1]);
        {pout}[kk][1] = pack_bf16(pe[(2 * kk) * 4 + 2], pe[(2 * kk) * 4 + 3]);
        {pout}[kk][2] = pack_bf16(pe[(2 * kk + 1) * 4 + 0], pe[(2 * kk + 1) * 4 + 1]);
        {pout}[kk][3] = pack_bf16(pe[(2 * kk + 1) * 4 + 2], pe[(2 * kk + 1) * 4 + 3]);
      }}
"""
        rescale = f"""      #pragma unroll
      for (int i = 0; i < {D // 2}; ++i) {co}[i] *= alpha[(i >> 1) & 1];
"""
        def step(j, pin, pout):
            # tile j's P.V (P in pin) beside tile j + 1's scores and softmax (P into pout)
            return f"""{descs(f"{j} + 1", j)}{scores(f"{j} + 1")}{pv(j, pin)}      wgmma_wait<1>();
      __syncthreads(); // every warp is done with K's buffer
{copy("K", f"{j} + 1 + {ks}", f"tid == 0 && {j} + 1 + {ks} < nf")}{softmax(pout)}      wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < {D // 2}; ++i) reg_fence({co}[i]);
      __syncthreads(); // every warp is done with V's buffer
{copy("V", f"{j} + {vs}", f"tid == 0 && {j} + {vs} < nf")}{rescale}"""

        # Two P register sets taken in turn, the loop unrolled twice: a copy from one to the
        # other, even after the wait, had ptxas serialize the wgmmas (its C7513 note).
        new = f"""  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  // full tiles, the next tile's scores issued before this tile's P.V (prefill_overlap_variant.py: K in {ks}, V in {vs} buffer(s))
  if ({lo} < {hi}) {{
    const int nf = {hi} - {lo};
    float s_acc[{BN // 2}], alpha[2];
    uint32_t pa[{BN // 16}][4], pb[{BN // 16}][4];
    for (int t = 0; t < {ks}; ++t)
{copy("K", "t", "tid == 0 && t < nf")}    for (int t = 0; t < {vs}; ++t)
{copy("V", "t", "tid == 0 && t < nf")}    const uint64_t da = sw128_desc(smem + 0, 16, 1024);
    {{
{descs("0", "0")}{scores("0")}      wgmma_wait<0>();
      __syncthreads(); // every warp is done with K's buffer
{copy("K", ks, f"tid == 0 && {ks} < nf")}{softmax("pa")}{rescale}    }}
    int j = 0;
    for (; j + 2 < nf; j += 2) {{
      {{
{step("j", "pa", "pb")}      }}
      {{
{step("(j + 1)", "pb", "pa")}      }}
    }}
    if (j + 1 < nf) {{
      {{
{step("j", "pa", "pb")}      }}
      {{
{descs("0", "nf - 1")}{pv("nf - 1", "pb")}      }}
    }} else {{
{descs("0", "nf - 1")}{pv("nf - 1", "pa")}    }}
    wgmma_wait<0>();
    #pragma unroll
    for (int i = 0; i < {D // 2}; ++i) reg_fence({co}[i]);
  }}
  #else
{original}  #endif
"""
        src = src[:start] + new + src[end:]
        k = src.index("// Runtime dims")
        src = src[:k] + HELPERS + src[k:]
        inits = "\n".join(f"    mbar_init(smem + {b});" for b in KBAR + VBAR)
        olds = "\n".join(f"    mbar_init(smem + {b});" for b in bars_old)
        assert olds in src
        src = src.replace(olds, inits)
        return src.replace("__launch_bounds__(128, 3)", f"__launch_bounds__(128, {blocks})"), total
    return edit


def package(out, builds, ks, vs, blocks):
    """Package `out`: every mha_prefill build, `builds` edited; each edited build's manifest entry
    takes the edit's shared-memory size."""
    ed = overlap(ks, vs, blocks)
    sizes = {}

    def edit(src):
        src, total = ed(src)
        sizes[re.search(r"Instance (\S+):", src).group(1)] = total
        return src
    build(out, ("mha_prefill.bf16",), builds, edit)
    man = json.load(open(f"{out}/manifest.json"))
    for entries in man["kernels"].values():
        for e in entries:
            name = e["cuda"]["file"][:-3]
            if name in sizes:
                e["cuda"]["sharedBytes"] = sizes[name]
    json.dump(man, open(f"{out}/manifest.json", "w"))
    print(out, sizes)


if __name__ == "__main__":
    out = sys.argv[1]
    hd128 = ("mha_prefill.bf16.hd128.causal", "mha_prefill.bf16.hd128.nocausal")
    hd256 = ("mha_prefill.bf16.hd256.causal", "mha_prefill.bf16.hd256.nocausal")
    package(f"{out}/k2v2b2", hd128, 2, 2, 2)
    package(f"{out}/k1v2b3", hd128, 1, 2, 3)
    package(f"{out}/k1v1b3", hd128 + hd256, 1, 1, 3)  # head dim 256 keeps its two blocks
