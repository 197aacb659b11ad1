"""A warp-specialized prefill kernel (hand-written, for timing before the compiler can schedule it):
`mha_prefill.bf16.hd{HD}.{causal,nocausal}` with the shipped builds' arguments, and TMA maps of 64 x
64 boxes of K and V (the manifest entry says so).

The shipped `mha_prefill` runs one warpgroup a 64-row block, three blocks an SM, each copying every
K and V tile for itself (L2 at 80% of its peak under Nsight Compute); blocks of two or three row
warpgroups that share the tiles ran 0.65-0.82x, their block barriers keeping the groups in step
(docs/performance-history.md). Here, as FA3 and cuDNN arrange it, a block of 64 x NC query rows has
NC + 1 warpgroups: a producer (24 registers, `setmaxnreg`) whose one thread copies TN-key K and V
tiles by TMA into two stages each, each stage with a "full" mbarrier (the copy's bytes) and an
"empty" one (the 128 x NC consumer threads' arrivals once their wgmmas have read it); and NC
consumer warpgroups of 64 rows each (240 registers for two, 160 for three), which never wait for
each other, only for the stages.
Each consumer runs the shipped loop's order (the next tile's scores issued beside this tile's
P.V), with P in one register set packed once P.V is done (PSETS 1; 2: two sets taken in turn,
packed at once, as the shipped loop has them). The last tile is masked (keys past the row's end,
or past its diagonal when causal: there the tiles past the block's last row's diagonal are left
out, and blocks run longest first).

Options: `PINGPONG`, FA3's turn-taking between the consumers (named barriers 8.. make each group
issue its wgmmas only after the one before it in a ring has issued its own, so their softmaxes
fall in each other's matrix work). `TAIL_CP`: the tile past the keys' end (where k_len % TN != 0) copied by cp.async of
every producer thread, rows past k_len zero-filled as the spec's `where kr < k_len` says; by TMA
that tile reads the next sequence's rows, and a NaN there reaches this sequence's output through
P = 0 (bench/experiments/prefill_ws_poison.py shows it). Each thread waits for its copies and
fences them for the tensor cores, then thread 0 arrives on the stage's mbarrier. The group meets
thread 0 (a named barrier) before waiting for that stage's empty mbarrier: a parity wait names a
phase only for a waiter at most one phase behind, and without it the suite failed (0.15 error,
h200-cuda-suite-prefill-ws-tail-race-2026-12-01.log).

    python3 bench/experiments/prefill_ws_variant.py OUT_DIR   # writes OUT_DIR/ws, wspp, wspp64, wspp64x2, wspptail, ws64, ws64c3, ws256

ptxas: 168 registers at entry, no spill in the consumers (with TAIL_CP, 16-24 bytes in the
producer's cp.async path at 24 registers; 40 / 232 gives none but ran 2% slower not causal). With
P in two sets at 128-key tiles ptxas spilled 72 bytes and serialized every wgmma (C7512) even at
240 registers.

Measured on an H200, each with FLASHTILE_GENERATED holding the shipped hd128 builds (`--only
prefill --head-dims 128 --build ...`; 6 of 6 suite cases every package), TFLOP/s:
- h200-prefill-ws-causal-2026-12-01.{log,json}, shipped / ws / wspp / cuDNN: not causal S = 8192
  615 / 684 / 709 / 686, 16384 596 / 677 / 693 / 688; causal 8192 566 / 647 / 663 / 617, 16384
  586 / 696 / 726 / 641; at S = 512-1024 0.92-1.01x the shipped build (half as many blocks).
- h200-prefill-ws-tiles-2026-12-01.{log,json}, 8192 not causal: wspp 708, 64-key tiles with one
  P set 640, with two 621 (shipped 606).
- h200-prefill-ws-tail34-2026-12-01.{log,json}, wspp / wspptail (24 / 240 registers, `wspptail4` in
  the log; `wspptail3` is 40 / 232) / shipped /
  cuDNN: not causal 8192 711 / 715 / 625 / 687, 16384 718 / 718 / 611 / 691; causal 8192 667 /
  662 / 570 / 620, 16384 728 / 727 / 590 / 646. The poison check in the same call
  (h200-prefill-ws-poison-2-2026-12-01.log): wspp's first sequence NaN, wspptail's finite, 2.8e-3.
  (Those runs had the ping-pong on barriers 3-4 and the tail's on 5; since, 8.. and 15.)
- h200-prefill-ws-headdims-2026-12-01.{log,json} (`--head-dims 128,64,256 --seqs 2048,8192,16384`,
  every package 6 of 6 in the suite), ws / shipped / cuDNN at S = 8192 / 16384: head dim 128
  (wspptail) not causal 716 / 722 against 613 / 590 and 691 / 691, causal 656 / 723 against 565 /
  585 and 614 / 640; head dim 64 with three consumers (ws64c3, 192-row blocks) not causal 536 /
  555 against 484 / 491 and 486 / 492, causal 472 / 514 against 429 / 456 and 437 / 453 (two
  consumers, ws64: 445 / 461, 410 / 454); head dim 256 with 64-key tiles (ws256) not causal 704 /
  692 against 625 / 618 and 743 / 721, causal 680 / 726 against 581 / 604 and 680 / 696.
"""
import gzip
import json
import os
import subprocess
import sys

# setmaxnreg's split of the registers at entry (65536 / threads): two consumers 128 x 24 + 256 x
# 240, three 128 x 24 + 384 x 160.
PRODUCER_REGS = 24
CONSUMER_REGS = {2: 240, 3: 160}


def offsets(tn, hd=128, nc=2):
    """K's two stages, V's, the mbarriers (fullK[2], fullV[2], emptyK[2], emptyV[2]), the end:
    after Q's nc 64-row parts."""
    k = nc * 64 * hd * 2
    v = k + 2 * tn * hd * 2
    bars = v + 2 * tn * hd * 2
    return k, v, bars, bars + 64


def regs(n, first=0):
    return ", ".join(f"%{i}" for i in range(first, first + n))


def wgmma_wrappers(tn, hd):
    """The scores' wgmma (m64 n tn k16, both operands in shared memory, the first k step writing d)
    and P.V's (m64 n hd k16, P in registers, V MN-major), named apart from the preamble's."""
    def outs(n):
        return ", ".join(f'"+f"(d[{i}])' for i in range(n))
    n, m = tn // 2, hd // 2
    return (
        f"__device__ __forceinline__ void ws_ss_n{tn}(float* d, uint64_t da, uint64_t db, int add) {{\n"
        f'  asm volatile("{{\\n.reg .pred p;\\nsetp.ne.b32 p, %{n + 2}, 0;\\n"\n'
        f'               "wgmma.mma_async.sync.aligned.m64n{tn}k16.f32.bf16.bf16 {{{regs(n)}}}, %{n}, %{n + 1}, p, 1, 1, 0, 0;\\n}}\\n"\n'
        f"               : {outs(n)}\n"
        '               : "l"(da), "l"(db), "r"(add));\n'
        "}\n"
        f"__device__ __forceinline__ void ws_rs_n{hd}(float* d, const uint32_t a[4], uint64_t db) {{\n"
        f'  asm volatile("wgmma.mma_async.sync.aligned.m64n{hd}k16.f32.bf16.bf16 {{{regs(m)}}}, {{{regs(4, m)}}}, %{m + 4}, 1, 1, 1, 1;\\n"\n'
        f"               : {outs(m)}\n"
        '               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));\n'
        "}\n"
    )


HELPERS = r"""
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ unsigned su32(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void mbar_init_n(unsigned char* bar, unsigned n) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" :: "r"(su32(bar)), "r"(n) : "memory");
}
__device__ __forceinline__ void mbar_arrive(unsigned char* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" :: "r"(su32(bar)) : "memory");
}
__device__ __forceinline__ void named_sync(int id, int n) { asm volatile("bar.sync %0, %1;\n" :: "r"(id), "r"(n) : "memory"); }
__device__ __forceinline__ void named_arrive(int id, int n) { asm volatile("bar.arrive %0, %1;\n" :: "r"(id), "r"(n) : "memory"); }
template <int N> __device__ __forceinline__ void regs_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" :: "n"(N)); }
template <int N> __device__ __forceinline__ void regs_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" :: "n"(N)); }
@WGMMA@
#endif
"""

KERNEL = r"""
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define FULL_K(s) (smem + @BARS@ + 8 * (s))
#define FULL_V(s) (smem + @BARS@ + 16 + 8 * (s))
#define EMPTY_K(s) (smem + @BARS@ + 32 + 8 * (s))
#define EMPTY_V(s) (smem + @BARS@ + 48 + 8 * (s))

// One consumer warpgroup's state and steps: 64 query rows, O in HD / 2 floats a thread.
struct Rows {
  float o[HD / 2];
  float m[2], l[2];
  uint64_t da;  // this group's Q half
  float scale2;
  int t4;
  int lim[2];  // a row's keys end (causal: its diagonal), relative to the sequence's first key
};

__device__ __forceinline__ uint64_t k_desc(unsigned char* smem, int s) { return sw128_desc(smem + @K_OFF@ + s * (TN * HD * 2), 16, 1024); }
__device__ __forceinline__ uint64_t v_desc(unsigned char* smem, int s) { return sw128_desc(smem + @V_OFF@ + s * (TN * HD * 2), TN * 128, 1024); }

__device__ __forceinline__ void issue_scores(float* sc, const Rows& R, uint64_t db) {
  #pragma unroll
  for (int kk = 0; kk < HD / 16; ++kk)
    SCORES_WGMMA(sc, R.da + (uint64_t)(((kk >> 2) * 8192 + (kk & 3) * 32) >> 4), db + (uint64_t)(((kk >> 2) * (TN * 128) + (kk & 3) * 32) >> 4), kk != 0);
}
__device__ __forceinline__ void issue_pv(Rows& R, uint32_t (*pk)[4], uint64_t db) {
  #pragma unroll
  for (int kk = 0; kk < TN / 16; ++kk) PV_WGMMA(R.o, pk[kk], db + (uint64_t)((kk * 2048) >> 4));
}
// The online softmax of one 128-key tile of scores, in place (sc becomes P in f32); alpha for O.
template <bool MASK>
__device__ __forceinline__ void softmax(Rows& R, float* sc, float* alpha, int key0) {
  if (MASK) {
    #pragma unroll
    for (int i = 0; i < TN / 2; ++i) if (key0 + (i >> 2) * 8 + 2 * R.t4 + (i & 1) >= R.lim[(i >> 1) & 1]) sc[i] = __int_as_float(0xff800000);
  }
  #pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    float part[4];
    #pragma unroll
    for (int i = 0; i < TN / 4; ++i) {
      const float x = sc[(i >> 1) * 4 + hh * 2 + (i & 1)];
      part[i & 3] = i < 4 ? x : fmaxf(part[i & 3], x);
    }
    float mx = fmaxf(fmaxf(part[0], part[2]), fmaxf(part[1], part[3]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(R.m[hh], mx * R.scale2);
    const float m_safe = m_new == __int_as_float(0xff800000) ? 0.0f : m_new;
    alpha[hh] = exp2_ftz(R.m[hh] - m_safe);
    float sum = 0.0f;
    #pragma unroll
    for (int i = 0; i < TN / 4; ++i) {
      const int j = (i >> 1) * 4 + hh * 2 + (i & 1);
      sc[j] = exp2_ftz(fmaf(sc[j], R.scale2, -m_safe));
      sum += sc[j];
    }
    R.l[hh] = fmaf(R.l[hh], alpha[hh], sum);
    R.m[hh] = m_new;
  }
}
// P packed as wgmma's A fragments, once the P.V that read the last P is done (one register set).
__device__ __forceinline__ void pack(const float* sc, uint32_t (*pk)[4]) {
  #pragma unroll
  for (int kk = 0; kk < TN / 16; ++kk) {
    pk[kk][0] = pack_bf16(sc[(2 * kk) * 4 + 0], sc[(2 * kk) * 4 + 1]);
    pk[kk][1] = pack_bf16(sc[(2 * kk) * 4 + 2], sc[(2 * kk) * 4 + 3]);
    pk[kk][2] = pack_bf16(sc[(2 * kk + 1) * 4 + 0], sc[(2 * kk + 1) * 4 + 1]);
    pk[kk][3] = pack_bf16(sc[(2 * kk + 1) * 4 + 2], sc[(2 * kk + 1) * 4 + 3]);
  }
}
// Tile j: its scores issued beside P(j-1).V(j-1) (from pin) and their softmax run while it runs;
// then O rescaled. One P set (pin == pout): P(j) packed once P.V is done; two: packed at once.
template <bool MASK>
__device__ __forceinline__ void step(unsigned char* smem, Rows& R, int j, uint32_t (*pin)[4], uint32_t (*pout)[4], int me) {
  const int s = j & 1, sp = (j - 1) & 1;
  mbar_wait(FULL_K(s), (j >> 1) & 1);
  float sc[TN / 2];
#if PINGPONG
  named_sync(8 + me, 256);  // my turn to issue
#endif
  wgmma_fence();
  issue_scores(sc, R, k_desc(smem, s));
  wgmma_commit();
  mbar_wait(FULL_V(sp), ((j - 1) >> 1) & 1);
  issue_pv(R, pin, v_desc(smem, sp));
  wgmma_commit();
#if PINGPONG
  named_arrive(8 + (me + 1) % NC, 256);  // the next group's turn
#endif
  wgmma_wait<1>();
  #pragma unroll
  for (int i = 0; i < TN / 2; ++i) reg_fence(sc[i]);
  mbar_arrive(EMPTY_K(s));
  float alpha[2];
  softmax<MASK>(R, sc, alpha, j * TN);
#if PSETS == 2
  pack(sc, pout);
#endif
  wgmma_wait<0>();
  #pragma unroll
  for (int i = 0; i < HD / 2; ++i) reg_fence(R.o[i]);
  mbar_arrive(EMPTY_V(sp));
  #pragma unroll
  for (int i = 0; i < HD / 2; ++i) R.o[i] *= alpha[(i >> 1) & 1];
#if PSETS == 1
  pack(sc, pout);
#endif
}
__device__ __forceinline__ void step_any(unsigned char* smem, Rows& R, int j, int nu, uint32_t (*pin)[4], uint32_t (*pout)[4], int me) {
  if (j < nu) step<false>(smem, R, j, pin, pout, me);
  else step<true>(smem, R, j, pin, pout, me);
}
__device__ __forceinline__ void last_pv(unsigned char* smem, Rows& R, int j, uint32_t (*pin)[4]) {
  const int s = j & 1;
  mbar_wait(FULL_V(s), (j >> 1) & 1);
  wgmma_fence();
  issue_pv(R, pin, v_desc(smem, s));
  wgmma_commit();
  wgmma_wait<0>();
  mbar_arrive(EMPTY_V(s));
}
#endif

extern "C" __global__ void __launch_bounds__(128 * (NC + 1), 1) @ENTRY@(
    const __nv_bfloat16* __restrict__ q,
    const __nv_bfloat16* __restrict__ k,
    const __nv_bfloat16* __restrict__ v,
    const int* __restrict__ cu_seqlens_q,
    const int* __restrict__ cu_seqlens_k,
    __nv_bfloat16* __restrict__ out,
    float* __restrict__ lse,
    const Params P,
    const __grid_constant__ TmaMap k_map,
    const __grid_constant__ TmaMap v_map1) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(1024) unsigned char smem[];
  const int tid = threadIdx.x;
  const int wg = __shfl_sync(0xffffffffu, tid >> 7, 0);
  // Causal blocks run longest first.
  const int m = CAUSAL ? (int)(gridDim.x - 1 - blockIdx.x) : (int)blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int q0 = cu_seqlens_q[b], q_len = cu_seqlens_q[b + 1] - q0;
  if (m * BM >= q_len) return;
  const int k0 = cu_seqlens_k[b], k_len = cu_seqlens_k[b + 1] - k0;
  // Tiles of 128 keys: every row of the block sees a key of the first nu (causal: the keys up to
  // the first row's diagonal), and some row one of the first nt.
  const int diag = m * BM + k_len - q_len;  // the first row's last key (causal)
  const int nt = CAUSAL ? (diag + BM - 1 < 0 ? 0 : min((k_len + TN - 1) / TN, (diag + BM - 1) / TN + 1)) : (k_len + TN - 1) / TN;
  const int nu = CAUSAL ? max(0, min(max(0, min(k_len, diag + 1)) / TN, nt - 1)) : nt - 1;
  if (tid == 0) {
    for (int i = 0; i < 4; ++i) mbar_init(smem + @BARS@ + 8 * i);
    for (int i = 4; i < 8; ++i) mbar_init_n(smem + @BARS@ + 8 * i, 128 * NC);
    mbar_init_fence();
  }
  __syncthreads();
  if (wg == 0) {
    regs_dec<PRODUCER_REGS>();
#if TAIL_CP
    // Tiles past the keys' end (the last, where k_len % TN != 0) by cp.async of every producer
    // thread, rows past k_len zero-filled as the spec's `where kr < k_len` says (TMA would read
    // the next sequence's rows there); each thread waits for its copies and fences them for the
    // tensor cores, then thread 0 arrives for all.
    const int pt = tid;
    // Thread 0 alone copies the tiles whose rows are all keys (the others would only poll the
    // empty mbarriers); the whole group the one past the end, if any.
    const int whole = min(nt, k_len / TN);
    for (int j = pt == 0 ? 0 : whole; j < nt; ++j) {
      const int s = j & 1, ph = (j >> 1) & 1;
      const bool tail = j >= whole;
      // An mbarrier's parity names its phase only for a waiter at most one phase behind: the
      // group meets thread 0 past its earlier tiles' waits before waiting for the tail's stage.
      if (tail) named_sync(15, 128);
      #pragma unroll
      for (int kv = 0; kv < 2; ++kv) {
        unsigned char* const full = kv ? FULL_V(s) : FULL_K(s);
        unsigned char* const dst = smem + (kv ? @V_OFF@ : @K_OFF@) + s * (TN * HD * 2);
        mbar_wait(kv ? EMPTY_V(s) : EMPTY_K(s), ph ^ 1);
        if (!tail) {
          mbar_expect_bytes(full, TN * HD * 2);
          #pragma unroll
          for (int c = 0; c < HD / 64; ++c)
            #pragma unroll
            for (int r = 0; r < TN / 64; ++r)
              tma_box_reused(dst + c * (TN * 128) + r * 8192, kv ? &v_map1 : &k_map, h * HD + c * 64, k0 + j * TN + r * 64, full);
        } else {
          const __nv_bfloat16* const src = kv ? v : k;
          for (int r = pt / (HD / 8), c = (pt % (HD / 8)) * 8; r < TN; r += 128 / (HD / 8)) {
            const bool ok = j * TN + r < k_len;
            cp_async16(dst + sw128(r, c, TN), src + (ok ? (long long)(k0 + j * TN + r) * P.heads * HD + h * HD + c : 0), ok);
          }
          cp_async_wait_all();
          fence_async_proxy();
          named_sync(15, 128);
          if (pt == 0) mbar_arrive(full);
        }
      }
    }
#else
    if (tid == 0) {
      for (int j = 0; j < nt; ++j) {
        const int s = j & 1, ph = (j >> 1) & 1;
        mbar_wait(EMPTY_K(s), ph ^ 1);
        mbar_expect_bytes(FULL_K(s), TN * HD * 2);
        #pragma unroll
        for (int c = 0; c < HD / 64; ++c)
          #pragma unroll
          for (int r = 0; r < TN / 64; ++r)
            tma_box_reused(smem + @K_OFF@ + s * (TN * HD * 2) + c * (TN * 128) + r * 8192, &k_map, h * HD + c * 64, k0 + j * TN + r * 64, FULL_K(s));
        mbar_wait(EMPTY_V(s), ph ^ 1);
        mbar_expect_bytes(FULL_V(s), TN * HD * 2);
        #pragma unroll
        for (int c = 0; c < HD / 64; ++c)
          #pragma unroll
          for (int r = 0; r < TN / 64; ++r)
            tma_box_reused(smem + @V_OFF@ + s * (TN * HD * 2) + c * (TN * 128) + r * 8192, &v_map1, h * HD + c * 64, k0 + j * TN + r * 64, FULL_V(s));
      }
    }
#endif
  } else {
    regs_inc<CONSUMER_REGS>();
    const int me = wg - 1, lt = tid - 128 * wg;
    const int lane = lt & 31, g = lane >> 2;
    const int row0 = m * BM + me * 64;
    const long long qs = (long long)P.heads * HD;
    Rows R;
    R.t4 = lane & 3;
    R.scale2 = P.softmax_scale * 1.4426950408889634f;
    #pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int row = row0 + (lt >> 5) * 16 + g + 8 * hh;
      R.lim[hh] = CAUSAL ? min(k_len, row + k_len - q_len + 1) : k_len;
    }
    for (int r = lt / (HD / 8), c = (lt % (HD / 8)) * 8; r < 64; r += 128 / (HD / 8)) {
      const bool ok = row0 + r < q_len;
      cp_async16(smem + @Q_OFF@ + me * (64 * HD * 2) + sw128(r, c, 64), q + (ok ? (long long)(q0 + row0 + r) * qs + h * HD + c : 0), ok);
    }
    cp_async_wait_all();
    fence_async_proxy();
    named_sync(1 + me, 128);
    R.da = sw128_desc(smem + @Q_OFF@ + me * (64 * HD * 2), 16, 1024);
    #pragma unroll
    for (int i = 0; i < HD / 2; ++i) R.o[i] = 0.0f;
    R.m[0] = R.m[1] = __int_as_float(0xff800000);
    R.l[0] = R.l[1] = 0.0f;
    if (nt > 0) {
      uint32_t pk[TN / 16][4];
#if PSETS == 2
      uint32_t pb[TN / 16][4];
#endif
      float alpha[2];
#if PINGPONG
      if (me == NC - 1) named_arrive(8, 256);  // group 0 issues first
#endif
      {  // tile 0: no P.V to run beside its scores
        mbar_wait(FULL_K(0), 0);
        float sc[TN / 2];
#if PINGPONG
        named_sync(8 + me, 256);
#endif
        wgmma_fence();
        issue_scores(sc, R, k_desc(smem, 0));
        wgmma_commit();
#if PINGPONG
        named_arrive(8 + (me + 1) % NC, 256);
#endif
        wgmma_wait<0>();
        #pragma unroll
        for (int i = 0; i < TN / 2; ++i) reg_fence(sc[i]);
        mbar_arrive(EMPTY_K(0));
        softmax<true>(R, sc, alpha, 0);
        pack(sc, pk);
      }
      int j = 1;
#if PSETS == 1
      for (; j < nu; ++j) step<false>(smem, R, j, pk, pk, me);
      for (; j < nt; ++j) step<true>(smem, R, j, pk, pk, me);
      last_pv(smem, R, nt - 1, pk);
#else
      for (; j + 1 < nt; j += 2) {
        step_any(smem, R, j, nu, pk, pb, me);
        step_any(smem, R, j + 1, nu, pb, pk, me);
      }
      if (j < nt) {
        step_any(smem, R, j, nu, pk, pb, me);
        last_pv(smem, R, j, pb);
      } else {
        last_pv(smem, R, j - 1, pk);
      }
#endif
#if PINGPONG
      if (me == 0) named_sync(8, 256);  // the last group's last arrival for me
#endif
    }
    const int wrow = row0 + (lt >> 5) * 16 + g;
    #pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float l = R.l[hh];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const int row = wrow + hh * 8;
      if (row < q_len) {
        const float inv = 1.0f / (l == 0.0f ? 1.0f : l);
        uint32_t* dst = reinterpret_cast<uint32_t*>(out + (long long)(q0 + row) * qs + h * HD + 2 * R.t4);
        #pragma unroll
        for (int n8 = 0; n8 < HD / 8; ++n8) dst[n8 * 4] = pack_bf16(R.o[n8 * 4 + hh * 2] * inv, R.o[n8 * 4 + hh * 2 + 1] * inv);
        if (R.t4 == 0) lse[(long long)(q0 + row) * P.heads + h] = l == 0.0f ? __int_as_float(0xff800000) : (R.m[hh] + log2f(l)) * 0.6931471805599453f;
      }
    }
  }
#endif
}
"""


def source(name, causal, pingpong, tn=128, psets=1, tail_cp=False, hd=128, nc=2):
    # The helpers and Params of the shipped head-dim-128 build (the same for every mha_prefill).
    shipped = open("generated/cuda/mha_prefill.bf16.hd128.nocausal.cu").read()
    pre = shipped[: shipped.index("// 3 block(s) per SM")]
    body = HELPERS.replace("@WGMMA@", wgmma_wrappers(tn, hd)) + KERNEL
    K_OFF, V_OFF, BARS, _ = offsets(tn, hd, nc)
    for k, val in (("@ENTRY@", name.replace(".", "_")), ("@BARS@", BARS), ("@K_OFF@", K_OFF), ("@V_OFF@", V_OFF), ("@Q_OFF@", 0)):
        body = body.replace(k, str(val))
    header = "// Hand-written (bench/experiments/prefill_ws_variant.py): a producer warpgroup and consumer warpgroups.\n"
    header += f"#define PINGPONG {int(pingpong)}\n#define CAUSAL {int(causal)}\n#define TAIL_CP {int(tail_cp)}\n"
    header += f"#define PRODUCER_REGS {PRODUCER_REGS}\n#define CONSUMER_REGS {CONSUMER_REGS[nc]}\n"
    header += f"#define TN {tn}\n#define PSETS {psets}\n#define HD {hd}\n#define NC {nc}\n#define BM (64 * NC)\n"
    header += f"#define SCORES_WGMMA ws_ss_n{tn}\n#define PV_WGMMA ws_rs_n{hd}\n"
    return header + pre + body


def package(out, pingpong, tn=128, psets=1, tail_cp=False, hd=128, nc=2):
    os.makedirs(f"{out}/cuda", exist_ok=True)
    kernels = {}
    for causal in (False, True):
        name = f"mha_prefill.bf16.hd{hd}.{'causal' if causal else 'nocausal'}"
        kernels[name] = [build(out, name, causal, pingpong, tn, psets, tail_cp, hd, nc)]
    json.dump({"kernels": kernels}, open(f"{out}/manifest.json", "w"))


def build(out, NAME, causal, pingpong, tn, psets, tail_cp, hd, nc):
    cu, ptx = f"{out}/{NAME}.cu", f"{out}/{NAME}.sm_90a.ptx"
    open(cu, "w").write(source(NAME, causal, pingpong, tn, psets, tail_cp, hd, nc))
    subprocess.run(["nvcc", "-ptx", "-gencode=arch=compute_90a,code=sm_90a", "-std=c++17", "-O3", cu, "-o", ptx], check=True)
    r = subprocess.run(["nvcc", "-cubin", "-gencode=arch=compute_90a,code=sm_90a", "-std=c++17", "-O3", "-Xptxas", "-v", cu, "-o", f"{out}/{NAME}.cubin"],
                       capture_output=True, text=True, check=True)
    print(out, NAME, " ".join(l.strip() for l in r.stderr.splitlines() if ("registers" in l or "spill" in l or "C75" in l or "warn" in l) and "C7519" not in l))
    with open(ptx, "rb") as f, gzip.open(f"{out}/cuda/{NAME}.sm_90a.ptx.gz", "wb") as z:
        z.write(f.read())
    # The shipped entry, with this kernel's block, grid (64 * nc-row blocks), shared memory and
    # TMA maps (64 x 64 boxes of K and V).
    entry = next(e for e in json.load(open("generated/manifest.json"))["kernels"][NAME] if e["cuda"]["file"] == f"{NAME}.cu")
    entry["params"]["BLOCK_M"], entry["params"]["BLOCK_N"] = 64 * nc, tn
    entry["grid"][0]["args"][1] = 64 * nc
    box = {"box": [64, 64], "swizzle": 128, "rowDims": 2}
    entry["cuda"].update(blockDim=[128 * (nc + 1), 1, 1], sharedBytes=offsets(tn, hd, nc)[3], ptx={"sm_90a": f"{NAME}.sm_90a.ptx.gz"},
                         tensorMaps=[{"tensor": "k", **box}, {"tensor": "v", **box}])
    entry["cuda"].pop("resources", None)
    return entry


if __name__ == "__main__":
    out = sys.argv[1]
    package(f"{out}/ws", False)
    package(f"{out}/wspp", True)
    package(f"{out}/wspp64", True, 64, 1)  # 64-key tiles, P in one register set
    package(f"{out}/wspp64x2", True, 64, 2)  # 64-key tiles, two P sets taken in turn (the shipped loop's)
    package(f"{out}/wspptail", True, 128, 1, True)  # the tile past the keys' end zero-filled by cp.async
    package(f"{out}/ws64", True, 128, 1, True, 64, 2)  # head dim 64, two consumers
    package(f"{out}/ws64c3", True, 128, 1, True, 64, 3)  # head dim 64, three consumers (192-row blocks)
    package(f"{out}/ws256", True, 64, 1, True, 256, 2)  # head dim 256, 64-key tiles
    print("ok")
