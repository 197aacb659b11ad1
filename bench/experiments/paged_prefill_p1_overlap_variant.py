# Prefill through a paged cache of one-row pages (SGLang's default page size) on Hopper,
# `gqa_paged.bf16.g4.p1`: what the overlapped order (overlap.ts: the next tile's scores issued
# before this tile's P·V, its softmax run while P·V runs) brings where the tiles come by cp.async.
# (2026-12-01, twenty-ninth session.) Page 1 copies each key row by cp.async (no TMA box spans
# one-row pages), so the build runs the plain loop: scores, wait, softmax, P·V, wait, a tile at a
# time; at page 16 the overlapped loop runs with TMA copies, 1.26-1.27x faster
# (`h200-paged-prefill-page1-2026-12-01`). This hand edit of the whole-tile loop keeps cp.async:
#   - V in two buffers (65536 bytes, still three blocks an SM), K in one;
#   - cp.async groups committed in a fixed order, K(j + 2) then V(j + 2) each step, so that one
#     `cp.async.wait_group 1` before the scores of tile j + 1 covers K(j + 1) and V(j), with one
#     block barrier for both;
#   - the copies of tiles past the last are issued for tile lo's rows into buffers no one reads
#     again (zero bytes read: the source size 0 fills zeros), so the counts never branch;
#   - P in two register sets taken in turn (ptxas serializes the wgmmas otherwise).
# Run from the repository root with PYTHONPATH=bench/experiments; then
# `bench_cuda.py --only paged_prefill --build NAME=DIR` and the CUDA suite on DIR.
from variant_package import main

OUT = "tmp/p1ovl"
NAME = "gqa_paged.bf16.g4.p1"

START = "  // full tiles\n  for (int t_538 = t_493; t_538 < t_496; ++t_538) {"
END = "  __syncthreads(); // the tiles' shared memory is free\n  if (t_496 < t_491) {"

LOOP = r"""  // full tiles
  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  // whole tiles, overlapped over cp.async copies (hand edit): V(t) in buffer t & 1
  if (t_493 < t_496) {
    uint32_t pa[4][4], pb[4][4];
    auto copy = [&](const __nv_bfloat16* __restrict__ src, int at, int n, bool on) {
      const int base = (on ? n : t_493) * 64;
      for (int r = tid / 16, c = (tid % 16) * 8; r < 64; r += 8) {
        cp_async16(smem + at + sw128(r, c, 64), src + (long long)(page_table[(long long)(b_363) * page_table_s0 + (long long)(base + r)]) * k_cache_s0 + (long long)(kvh_362) * k_cache_s1 + (long long)(c), on);
      }
      cp_async_commit();
    };
    auto copy_k = [&](int n) { copy(k_cache, 16384, n, n < t_496); };
    auto copy_v = [&](int n) { copy(v_cache, (n & 1) ? 49152 : 32768, n, n < t_496); };
    auto issue_scores = [&](float* s) {
      wgmma_fence();
      const uint64_t db = sw128_desc(smem + 16384, 16, 1024);
      const uint64_t da = sw128_desc(smem + 0 + wg_row * 8192, 16, 1024);
      #pragma unroll
      for (int kk = 0; kk < 8; ++kk) {
        wgmma_m64n64k16_ss_bf16<0>(s, da + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), db + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), kk != 0);
      }
      wgmma_commit();
    };
    auto issue_pv = [&](int n, uint32_t (&af)[4][4]) {
      wgmma_fence();
      const uint64_t db = sw128_desc(smem + ((n & 1) ? 49152 : 32768), 8192, 1024);
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        wgmma_m64n128k16_rs_bf16<1>(carry_502, af[kk], db + (uint64_t)((kk * 2048) >> 4));
      }
      wgmma_commit();
    };
    // The softmax of scores s into P (packed in af); returns through m_new / l_new / alpha.
    auto softmax = [&](const float* s, uint32_t (&af)[4][4], float* m_new, float* l_new, float* alpha) {
      #pragma unroll
      for (int h = 0; h < 2; ++h) {
        float part[4];
        #pragma unroll
        for (int i = 0; i < 16; ++i) {
          const int nt = i >> 1, p = i & 1;
          part[i % 4] = i < 4 ? s[(nt * 2 + h) * 2 + p] : fmaxf(part[i % 4], s[(nt * 2 + h) * 2 + p]);
        }
        float acc = fmaxf(fmaxf(part[0], part[2]), fmaxf(part[1], part[3]));
        acc = fmaxf(acc, __shfl_xor_sync(0xffffffffu, acc, 1));
        acc = fmaxf(acc, __shfl_xor_sync(0xffffffffu, acc, 2));
        m_new[h] = fmaxf(carry_500[h], acc * scale2_412);
      }
      float p[32];
      #pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float m_safe = m_new[h] == NEG_INF ? 0.0f : m_new[h];
        float sum = 0.0f;
        #pragma unroll
        for (int nt = 0; nt < 8; ++nt) {
          #pragma unroll
          for (int q = 0; q < 2; ++q) {
            p[(nt * 2 + h) * 2 + q] = exp2_ftz(fmaf(s[(nt * 2 + h) * 2 + q], scale2_412, -m_safe));
            sum = sum + p[(nt * 2 + h) * 2 + q];
          }
        }
        alpha[h] = exp2_ftz(carry_500[h] - m_safe);
        l_new[h] = fmaf(carry_501[h], alpha[h], sum);
      }
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        af[kk][0] = pack_bf16(p[((2 * kk) * 2 + 0) * 2 + 0], p[((2 * kk) * 2 + 0) * 2 + 1]);
        af[kk][1] = pack_bf16(p[((2 * kk) * 2 + 1) * 2 + 0], p[((2 * kk) * 2 + 1) * 2 + 1]);
        af[kk][2] = pack_bf16(p[((2 * kk + 1) * 2 + 0) * 2 + 0], p[((2 * kk + 1) * 2 + 0) * 2 + 1]);
        af[kk][3] = pack_bf16(p[((2 * kk + 1) * 2 + 1) * 2 + 0], p[((2 * kk + 1) * 2 + 1) * 2 + 1]);
      }
    };
    auto carry = [&](const float* m_new, const float* l_new, const float* alpha) {
      #pragma unroll
      for (int h = 0; h < 2; ++h) {
        #pragma unroll
        for (int nt = 0; nt < 16; ++nt) {
          carry_502[(nt * 2 + h) * 2 + 0] *= alpha[h];
          carry_502[(nt * 2 + h) * 2 + 1] *= alpha[h];
        }
        carry_500[h] = m_new[h];
        carry_501[h] = l_new[h];
      }
    };
    // K(lo) is in flight (committed before the loop). Prologue: V(lo); scores(lo); K(lo + 1), V(lo + 1).
    copy_v(t_493);
    cp_async_wait<1>(); // K(lo)
    fence_async_proxy();
    __syncthreads();
    {
      float s[32];
      issue_scores(s);
      wgmma_wait<0>();
      for (int i = 0; i < 32; ++i) reg_fence(s[i]);
      __syncthreads(); // every warp is done with K
      copy_k(t_493 + 1);
      copy_v(t_493 + 1);
      float m_new[2], l_new[2], alpha[2];
      softmax(s, pa, m_new, l_new, alpha);
      carry(m_new, l_new, alpha);
    }
    // Step j: P(j) in pin; the scores of j + 1 beside P(j)·V(j); K(j + 2), V(j + 2) issued.
    auto step = [&](int j, uint32_t (&pin)[4][4], uint32_t (&pout)[4][4]) {
      cp_async_wait<1>(); // K(j + 1), and V(j) before it
      fence_async_proxy();
      __syncthreads();
      float s[32];
      issue_scores(s);
      issue_pv(j, pin);
      wgmma_wait<1>(); // the scores (P·V still running)
      for (int i = 0; i < 32; ++i) reg_fence(s[i]);
      __syncthreads(); // every warp is done with K
      copy_k(j + 2);
      float m_new[2], l_new[2], alpha[2];
      softmax(s, pout, m_new, l_new, alpha);
      wgmma_wait<0>(); // P·V of tile j
      for (int i = 0; i < 64; ++i) reg_fence(carry_502[i]);
      __syncthreads(); // every warp is done with V(j)'s buffer
      copy_v(j + 2);
      carry(m_new, l_new, alpha);
    };
    auto last = [&](int j, uint32_t (&pin)[4][4]) {
      cp_async_wait<0>();
      fence_async_proxy();
      __syncthreads();
      issue_pv(j, pin);
      wgmma_wait<0>();
      for (int i = 0; i < 64; ++i) reg_fence(carry_502[i]);
    };
    int n = t_493;
    for (; n + 2 < t_496; n += 2) {
      step(n, pa, pb);
      step(n + 1, pb, pa);
    }
    if (n + 1 < t_496) {
      step(n, pa, pb);
      last(n + 1, pb);
    } else {
      last(n, pa);
    }
  }
  #else
  for (int t_538 = t_493; t_538 < t_496; ++t_538) {"""


# `p1ovl_unrolled` (thirtieth session): the same loop with its copies unrolled (8 rows a thread,
# a constant trip count), the form the compiler now gives page-1 gathers (copy-emit.ts): the
# rolled copies had bounded page 1, so the overlap had nothing to hide behind them. Measured
# beside the shipped plain loop with unrolled copies (two runs,
# h200-paged-prefill-p1-overlap-unrolled-{1,2}-2026-12-01): `_2` 0.96-0.98x, the spilling
# three-block form 0.87x, the rolled `p1ovl` 0.86-0.88x. Not kept.
ROLLED = "      for (int r = tid / 16, c = (tid % 16) * 8; r < 64; r += 8) {\n"
UNROLLED = "      _Pragma(\"unroll\") for (int i = 0; i < 8; ++i) {\n        const int r = tid / 16 + 8 * i, c = (tid % 16) * 8;\n"
assert LOOP.count(ROLLED) == 1


def edit(loop):
    def apply(src):
        a = src.index(START)
        b = src.index(END, a)
        body = src[a + len(START):b]
        assert body.endswith("  }\n"), body[-40:]
        return src[:a] + loop + body + "  #endif\n" + src[b:]
    return apply


# At three blocks an SM ptxas spills the unrolled form (168 registers, 124 bytes); `_2` asks for two.
TWO = lambda src: src.replace("__launch_bounds__(128, 3)", "__launch_bounds__(128, 2)", 1)
VARIANTS = {
    "p1ovl": edit(LOOP),
    "p1ovl_unrolled": edit(LOOP.replace(ROLLED, UNROLLED)),
    "p1ovl_unrolled_2": lambda src: TWO(edit(LOOP.replace(ROLLED, UNROLLED))(src)),
}

if __name__ == "__main__":
    main(OUT, VARIANTS, keep=(NAME + "$",), edited=NAME + "$", shared_bytes=65536)
