# MLA split kernel, 64-key seesaw experiment (2026-11-29, fourteenth session): a hand-written
# whole-tile loop put in place of the compiler's leader loop in mla_decode_split.bf16.p*.cu, the
# schedule FlashMLA's write-up describes, built here from that description with cp.async copies.
#
# Why: the leader loop runs each 64-key tile as one chain (group 0's scores, its softmax, both
# groups' P·V, a barrier), 2.4 us a tile even without copies, against about 1.2 us of tensor
# work. The 32-key seesaw (mla_seesaw_variant.py) lost because m64n32k16 reads the query from
# shared memory twice a tile. Here each group takes whole 64-key tiles in turn:
#   warpgroup 0 owns output columns 0..255 and the even tiles a, warpgroup 1 columns 256..511 and
#   the odd tiles b = a + 1. Per pair of tiles:
#   [0] S0 = Q K_a^T; m0 = max(m, rowmax S0), al0 = 2^(m - m0), P0 = 2^(S0 - m0); publish P0,
#       al0, m0 (shared memory); O_L = O_L al0 + P0 V_aL (P0 from registers)
#   [1] S1 = Q K_b^T (issued beside [0]); O_R = O_R al0 + P0 V_aR (P0 from shared memory);
#       m1 = max(m0, rowmax S1), al1 = 2^(m0 - m1), P1 = 2^(S1 - m1); publish P1, al1, m1;
#       O_R = O_R al1 + P1 V_bR (P1 from registers)
#   [0] O_L = O_L al1 + P1 V_bL (P1 from shared memory); m = m1
# (FlashMLA's write-up scales P0 by al1 instead, so that group 1 adds both products at once.)
# so one group's softmax runs while the other's wgmmas keep the tensor cores busy. The row sums
# are kept per group (each relative to the same running max) and added after the loop.
#
# Shared memory as the leader loop has it (225.3 KiB): Q (latent 64 KiB, rope 8 KiB), two stages of
# (latent, rope) tiles, stage a & 1 for tile a, P0 8 KiB, row slots, and four mbarriers. P1 goes
# into tile b's rope tile once b's scores are done (nothing else reads it; group 0 copies tile
# b + 2's rope there only after its P1·V). Copies: the latent columns 0..255 of a stage are read
# past the scores only by group 0 (its P·V), columns 256..511 only by group 1, so group 0 copies
# the first half of the next tiles as soon as its P·V is done and group 1 the second half; each
# half lands on an mbarrier (cp.async.mbarrier.arrive.noinc). Only an even number of whole tiles
# takes the seesaw; an odd last one joins the loop of the masked tiles after it (leader schedule).
#
# Measured (H200, docs/performance.md): correct (the suite); with ss64_chunked_uni 0.181 / 0.189 /
# 0.189 ms at page 1 / 16 / 64 against 0.181 / 0.194 / 0.207 for the leader loop it replaced, but
# no faster than the leader loop once row-reads.ts dropped its copies' remainders (0.187 at pages
# 16 and 64). 0.140 ms without copies against 0.153 for the leader loop without copies. EARLY was
# slower, ROPE_EARLY no different; OFFSET 0.195 ms at page 16 (0.139 without copies).
#
# Variants (packages under tmp/seesaw64/<name>):
#   ss64         the schedule above
#   ss64_chunked the scores' first half issued before the second half's mbarrier wait
#   ss64_chunked_uni  ss64_chunked with the wait's branch marked uniform (bra.uni)
#   ss64_early, ss64_rope, ss64_early_rope  ss64_chunked_uni with EARLY and/or ROPE_EARLY (below)
#   ss64_offset, ss64_offset_nocopy  ss64_chunked_uni with OFFSET, and the same without copies
#   ss64_nocopy  the same with no copies in the loop and no mbarrier waits (timing only: wrong)
#
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`.
import re
import sys

from mla_seesaw_variant import NAMED_BARRIERS, names, row_softmax
from variant_package import at_commit, build

# The leader build these edits were measured on (the package before row-reads.ts gave each row its
# place in its page without a remainder).
MEASURED_ON = "9e534c5"
OUT = "tmp/seesaw64"
S0, M0, S1, M1, SL1, MBAR = 229376, 229632, 229888, 230144, 230400, 230656
SHARED = MBAR + 32

HELPERS = r"""
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// d (64 x 64, 32 floats a thread) += A (64 x 16, A fragments in registers) · B (16 x 64, shared memory, K-major).
__device__ __forceinline__ void wgmma_m64n64k16_rs_bf16(float* d, const uint32_t a[4], uint64_t db) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
}
__device__ __forceinline__ void mbar_init(unsigned a, unsigned count) { asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" :: "r"(a), "r"(count) : "memory"); }
// The mbarrier at a counts one arrival once every cp.async this thread issued before has landed.
__device__ __forceinline__ void cp_async_mbar_arrive(unsigned a) { asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" :: "r"(a) : "memory"); }
__device__ __forceinline__ void mbar_wait(unsigned a, int parity) {
  asm volatile("{\n.reg .pred p;\nWAIT_%=:\nmbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n@!p bra WAIT_%=;\n}\n" :: "r"(a), "r"(parity) : "memory");
}
#endif
""" + NAMED_BARRIERS + "\n"

ROW = "(warp * 16 + g + 8 * h)"
STEP = "(uint64_t)((((kk >> 2) * 8192) + (kk & 3) * 32) >> 4)"


def fence(arr, n):
    return f"\n      #pragma unroll\n      for (int i = 0; i < {n}; ++i) reg_fence({arr}[i]);"


def slot(n, pos):
    P = n["PAGE"]
    return f"(page_table[(long long)({n['b']}) * page_table_s0 + ({pos}) / {P}] * {P} + ({pos}) % {P})"


def copy(n, tile, half, lat, rope, bar, nocopy, with_rope, with_latent=True):
    """Half `half` of tile `tile`'s latent columns (and with `with_rope` its rope columns) into the
    stage (lat, rope), by this group's 128 threads, landing on mbarrier `bar`."""
    if nocopy:
        return ""
    # Row r = x + 4 i (x = tg / 32 < 4) has r % 8 = x + 4 (i % 2), so two destination offsets and a
    # stride of 4 rows cover the 16 rows (sixteen sw128 offsets would stay live across the loop).
    rope_part = "" if not with_rope else f"""
        {{
          const int cr = (tg & 7) * 8;
          unsigned char* const dr = {rope} + sw128(tg >> 3, cr, 64); // rows tg / 8 + 16 i share r % 8
          #pragma unroll
          for (int i = 0; i < 4; ++i) cp_async16(dr + i * 2048, c_kv + (long long){slot(n, 'base + (tg >> 3) + 16 * i')} * c_kv_s0 + 512 + cr, true);
        }}"""
    if not with_latent:  # the rope alone; the mbarrier arrival of this group's next copy covers it
        return f"""
      {{ // the rope columns of tile {tile}
        const int tg = tid & 127, base = ({tile}) * 64;{rope_part}
      }}"""
    return f"""
      {{ // half {half} of tile {tile} (latent columns {256 * half}..{256 * half + 255}{' and the rope' if with_rope else ''})
        const int tg = tid & 127, base = ({tile}) * 64, x = tg >> 5, c = (tg & 31) * 8 + {256 * half};
        unsigned char* const d0 = {lat} + sw128(x, c, 64);
        unsigned char* const d1 = {lat} + sw128(x + 4, c, 64) - 512;
        int src[16];
        #pragma unroll
        for (int i = 0; i < 16; ++i) src[i] = {slot(n, 'base + x + 4 * i')};
        #pragma unroll
        for (int i = 0; i < 16; ++i) cp_async16(((i & 1) ? d1 : d0) + i * 512, c_kv + (long long)src[i] * c_kv_s0 + c, true);{rope_part}
        cp_async_mbar_arrive({bar});
      }}"""


EARLY = False  # group 1 waits for its P0·V before its softmax, so tile a + 2's second half goes out sooner
ROPE_EARLY = False  # group 0 copies tile a + 2's rope right after its scores (not group 1 with the second half)
OFFSET = False  # group 1 issues its scores only once group 0's are done (named barrier 8), so they run during group 0's softmax
CHUNKED = False  # the second half's wait between the two halves' wgmmas (ptxas then serializes them: C7520)


def scores(lat, rope, bar0, bar1, parity, nocopy):
    """sc = Q K^T over the stage (lat, rope), once mbarriers bar0 and bar1 have seen its halves
    land (with CHUNKED, the first 256 latent columns' wgmmas go before the second wait).
    Committed, not waited for."""
    wait = lambda bar: "" if nocopy else f"\n      mbar_wait({bar}, {parity});\n      fence_async_proxy();"
    first, second = (wait(bar0), wait(bar1)) if CHUNKED else (wait(bar0) + wait(bar1), "")
    return f"""
      float sc[32];
      #pragma unroll
      for (int i = 0; i < 32; ++i) sc[i] = 0.0f;{first}
      wgmma_fence();
      {{
        const uint64_t da = sw128_desc(smem, 16, 1024), db = sw128_desc({lat}, 16, 1024);
        #pragma unroll
        for (int kk = 0; kk < 16; ++kk) wgmma_m64n64k16_ss_bf16<0>(sc, da + {STEP}, db + {STEP});{second}
        #pragma unroll
        for (int kk = 16; kk < 32; ++kk) wgmma_m64n64k16_ss_bf16<0>(sc, da + {STEP}, db + {STEP});
      }}
      {{
        const uint64_t db = sw128_desc({rope}, 16, 1024);
        #pragma unroll
        const uint64_t da = sw128_desc(smem + 65536, 16, 1024);
        #pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma_m64n64k16_ss_bf16<0>(sc, da + {STEP}, db + {STEP});
      }}
      wgmma_commit();"""


def softmax(n, prev):
    """sc (waited for already) -> probabilities in place, mn (new max), al (2^(prev - mn)), rs
    (row sums) from the running max `prev`; then P packed as bf16 A fragments (af)."""
    pk = lambda nt, h: f"pack_bf16(sc[(({nt}) * 2 + {h}) * 2], sc[(({nt}) * 2 + {h}) * 2 + 1])"
    return f"""
      float mn[2], al[2], rs[2];
{row_softmax(n['scale'], prev, 8, "sc")}
      uint32_t af[4][4];
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) {{
        af[kk][0] = {pk('2 * kk', 0)}; af[kk][1] = {pk('2 * kk', 1)};
        af[kk][2] = {pk('2 * kk + 1', 0)}; af[kk][3] = {pk('2 * kk + 1', 1)};
      }}"""


def publish(p_at, al, mn, al_at, mn_at):
    """P (af, the A fragments) into the swizzled 64 x 64 tile at p_at, and the rows' al and mn."""
    return f"""
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk)
        #pragma unroll
        for (int j = 0; j < 4; ++j)
          *reinterpret_cast<uint32_t*>(smem + {p_at} + sw128(warp * 16 + g + 8 * (j & 1), kk * 16 + 8 * (j >> 1) + 2 * t4, 64)) = af[kk][j];
      if (t4 == 0) {{
        #pragma unroll
        for (int h = 0; h < 2; ++h) {{
          reinterpret_cast<float*>(smem + {al_at})[{ROW}] = {al}[h];
          reinterpret_cast<float*>(smem + {mn_at})[{ROW}] = {mn}[h];
        }}
      }}
      fence_async_proxy();"""


def read_rows(names_offsets):
    decl = ", ".join(f"{v}[2]" for v, _ in names_offsets)
    body = " ".join(f"{v}[h] = reinterpret_cast<const float*>(smem + {off})[{ROW}];" for v, off in names_offsets)
    return f"""
      float {decl};
      #pragma unroll
      for (int h = 0; h < 2; ++h) {{ {body} }}"""


def scale_o(n, expr):
    return f"""
      #pragma unroll
      for (int nt = 0; nt < 32; ++nt)
        #pragma unroll
        for (int h = 0; h < 2; ++h)
          #pragma unroll
          for (int p = 0; p < 2; ++p) {n['O']}[(nt * 2 + h) * 2 + p] *= {expr};"""


def pv_regs(n, lat):
    """O += P (af, registers) · V (this group's 256 columns of the stage `lat`). Committed."""
    return f"""
      wgmma_fence();
      {{
        const uint64_t db = sw128_desc({lat} + wg_col * 4 * 8192, 8192, 1024);
        #pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma_m64n256k16_rs_bf16<1>({n['O']}, af[kk], db + (uint64_t)((kk * 2048) >> 4));
      }}
      wgmma_commit();"""


def pv_shared(n, p_at, lat):
    """O += P (shared memory at p_at) · V (this group's 256 columns of the stage `lat`). Committed."""
    return f"""
      wgmma_fence();
      {{
        const uint64_t da = sw128_desc(smem + {p_at}, 16, 1024), db = sw128_desc({lat} + wg_col * 4 * 8192, 8192, 1024);
        #pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma_m64n256k16_ss_bf16<1>({n['O']}, da + {STEP}, db + (uint64_t)((kk * 2048) >> 4));
      }}
      wgmma_commit();"""


def mb(s, h):
    return f"(mbar + (({s}) * 2 + {h}) * 8)"


def group0(n, nocopy):
    """Group 0's part of pair ip: tile a's scores and P·V, then tile a + 1's P·V."""
    M, T1, O = n["M"], "t_mid", n["O"]
    out = scores("kA", "rA", mb("sA", 0), mb("sA", 1), "(ip - 1) & 1", nocopy) + """
      wgmma_wait<0>();""" + fence("sc", 32) + ("""
      bar_arrive_n<8, 256>(); // this pair's first scores are done: group 1's may start""" if OFFSET else "") + (f"""
      if (a + 2 < {T1}) {{ // the rope tile is free once the scores are done{copy(n, 'a + 2', 0, 'kA', 'rA', None, nocopy, True, False)}
      }}""" if ROPE_EARLY else "") + softmax(n, M) + """
      #pragma unroll
      for (int h = 0; h < 2; ++h) l_me[h] = l_me[h] * al[h] + rs[h];
      if (ip > 0) bar_sync_n<7, 256>(); // group 1 is done with the P0 before""" + publish(221184, "al", "mn", S0, M0) + f"""
      bar_arrive_n<2, 256>(); // P0, al0, m0 published
      #pragma unroll
      for (int h = 0; h < 2; ++h) {M}[h] = mn[h];""" + scale_o(n, "al[h]") + pv_regs(n, "kA") + """
      wgmma_wait<0>();""" + fence(O, 128)
    return out + f"""
      if (a + 2 < {T1}) {{ // columns 0..255 of the stage are free: the next even tile's half{copy(n, 'a + 2', 0, 'kA', 'rA', mb('sA', 0), nocopy, False)}
      }}
      bar_sync_n<3, 256>(); // P1, al1, m1 published""" + read_rows([("al1", S1), ("m1", M1)]) + f"""
      #pragma unroll
      for (int h = 0; h < 2; ++h) {{ l_me[h] *= al1[h]; {M}[h] = m1[h]; }}""" + scale_o(n, "al1[h]") + pv_shared(n, "(rB - smem)", "kB") + """
      wgmma_wait<0>();""" + fence(O, 128) + f"""
      if (a + 3 < {T1}) {{ // the stage of tile a + 1 is free but for columns 256..511 (group 1's P·V): the rest of tile a + 3{copy(n, 'a + 3', 0, 'kB', 'rB', mb('sA ^ 1', 0), nocopy, True)}
      }}"""


def offset_wait():
    return """
      bar_sync_n<8, 256>(); // group 0's scores of this pair are done""" if OFFSET else ""


def group1(n, nocopy):
    """Group 1's part of pair ip: tile a's P·V (P0 from shared memory), tile a + 1's scores and P·V."""
    T1, O = "t_mid", n["O"]
    if EARLY:
        return offset_wait() + scores("kB", "rB", mb("sA ^ 1", 0), mb("sA ^ 1", 1), "ip & 1", nocopy) + """
      bar_sync_n<2, 256>(); // P0, al0, m0 published""" + read_rows([("al0", S0), ("m0", M0)]) + scale_o(n, "al0[h]") + pv_shared(n, 221184, "kA") + """
      wgmma_wait<0>(); // the scores and the P0 · V""" + fence("sc", 32) + fence(O, 128) + f"""
      if (a + 2 < {T1}) {{
        bar_arrive_n<7, 256>(); // done with P0{copy(n, 'a + 2', 1, 'kA', 'rA', mb('sA', 1), nocopy, not ROPE_EARLY)}
      }}""" + softmax(n, "m0") + """
      #pragma unroll
      for (int h = 0; h < 2; ++h) l_me[h] = l_me[h] * al0[h] * al[h] + rs[h];""" + publish("(rB - smem)", "al", "mn", S1, M1) + """
      bar_arrive_n<3, 256>(); // P1, al1, m1 published""" + scale_o(n, "al[h]") + pv_regs(n, "kB") + """
      wgmma_wait<0>();""" + fence(O, 128) + f"""
      if (a + 3 < {T1}) {{{copy(n, 'a + 3', 1, 'kB', 'rB', mb('sA ^ 1', 1), nocopy, False)}
      }}"""
    return offset_wait() + scores("kB", "rB", mb("sA ^ 1", 0), mb("sA ^ 1", 1), "ip & 1", nocopy) + """
      bar_sync_n<2, 256>(); // P0, al0, m0 published""" + read_rows([("al0", S0), ("m0", M0)]) + scale_o(n, "al0[h]") + pv_shared(n, 221184, "kA") + """
      wgmma_wait<1>(); // the scores (the P0 · V just issued may run on)""" + fence("sc", 32) + softmax(n, "m0") + """
      #pragma unroll
      for (int h = 0; h < 2; ++h) l_me[h] = l_me[h] * al0[h] * al[h] + rs[h];
      // P1 goes where this tile's rope columns were (its scores are done; group 0 copies tile a + 3's
      // rope there only after its P1 · V)""" + publish("(rB - smem)", "al", "mn", S1, M1) + """
      bar_arrive_n<3, 256>(); // P1, al1, m1 published
      wgmma_wait<0>();""" + fence(O, 128) + f"""
      if (a + 2 < {T1}) {{
        bar_arrive_n<7, 256>(); // done with P0{copy(n, 'a + 2', 1, 'kA', 'rA', mb('sA', 1), nocopy, not ROPE_EARLY)}
      }}""" + scale_o(n, "al[h]") + pv_regs(n, "kB") + """
      wgmma_wait<0>();""" + fence(O, 128) + f"""
      if (a + 3 < {T1}) {{{copy(n, 'a + 3', 1, 'kB', 'rB', mb('sA ^ 1', 1), nocopy, False)}
      }}"""


def seesaw(n, nocopy):
    T0, T1, T1_full, L = n["T0"], "t_mid", n["T1"], n["L"]
    loop = lambda G: f"""
    for (int ip = 0; ip < NP; ++ip) {{ // pair ip: tiles a (group 0's scores) and a + 1 (group 1's)
      const int a = {T0} + 2 * ip;{G(n, nocopy)}
    }}"""
    return f"""  // full tiles: the 64-key seesaw (hand-written, bench/experiments/mla_seesaw64_variant.py) on
  // the first even number of them; an odd last one goes to the loop of the masked tiles after
  const int t_mid = ({T1_full} > {T0}) ? {T0} + (({T1_full} - {T0}) & ~1) : {T1_full};
  {{
  float l_me[2];
  #pragma unroll
  for (int h = 0; h < 2; ++h) l_me[h] = (wcol == 0) ? {L}[h] : 0.0f;
  if ({T0} < {T1}) {{
  const int sA = {T0} & 1, NP = ({T1} - {T0}) / 2;
  unsigned char* const kA = smem + 73728 + sA * 65536; // the even tiles' stage (group 0's scores)
  unsigned char* const kB = smem + 73728 + (sA ^ 1) * 65536;
  unsigned char* const rA = smem + 204800 + sA * 8192;
  unsigned char* const rB = smem + 204800 + (sA ^ 1) * 8192;
  const unsigned mbar = (unsigned)__cvta_generic_to_shared(smem + {MBAR}); // [stage][half], 8 bytes each
  if (tid == 0) {{
    #pragma unroll
    for (int i = 0; i < 4; ++i) mbar_init(mbar + 8 * i, 128);
  }}
  cp_async_wait<0>(); // the first tile, copied by every thread (its mbarrier waits pass at once: parity 1 of a fresh barrier)
  fence_async_proxy();
  __syncthreads();
  if ({T0} + 1 < {T1}) {{ // tile T0 + 1: each group its half
    if (wcol == 0) {{{copy(n, f'{T0} + 1', 0, 'kB', 'rB', mb('sA ^ 1', 0), nocopy, True)}
    }} else {{{copy(n, f'{T0} + 1', 1, 'kB', 'rB', mb('sA ^ 1', 1), nocopy, False)}
    }}
  }}
  if (wcol == 0) {{{loop(group0)}
  }} else {{{loop(group1)}
  }}
  }}
  if (wcol == 1 && t4 == 0) {{
    #pragma unroll
    for (int h = 0; h < 2; ++h) reinterpret_cast<float*>(smem + {SL1})[{ROW}] = l_me[h];
  }}
  __syncthreads();
  if (wcol == 0) {{
    #pragma unroll
    for (int h = 0; h < 2; ++h) {L}[h] = l_me[h] + reinterpret_cast<const float*>(smem + {SL1})[{ROW}];
  }}
  }}
"""


def splice(src, loop, helpers):
    """The build's CUDA C with its whole-tile loop replaced on sm_90a by loop(names) (which ends
    its even tiles at t_mid; the masked loop after starts there) and `helpers` before the params."""
    n = names(src)
    start = src.index("  // full tiles\n")
    end = src.index("  __syncthreads(); // the loop's published rows are read", start)
    old = src[start:end]
    # t_mid: where the loop of the masked tiles after starts (on sm_80 it is the old bound)
    body = ("#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n" + loop(n) + "#else\n"
            + f"  const int t_mid = {n['T1']};\n" + old + "#endif\n")
    rest = re.sub(rf"\b{n['T1']}\b", "t_mid", src[end:])
    src = src[:start] + body + rest
    at = src.index("// Runtime dims and scalar arguments")
    return src[:at] + helpers + src[at:]


def variant(nocopy):
    return lambda src: splice(src, lambda n: seesaw(n, nocopy), HELPERS)


def with_flags(nocopy=False, uni=False, **flags):
    """The edit with these module flags set (CHUNKED, EARLY, ROPE_EARLY, OFFSET). With `uni` the
    mbarrier wait's branch is marked uniform (bra.uni): ptxas then no longer serializes the
    scores' wgmmas around a wait between them (no C7520)."""
    def edit(src):
        saved = {k: globals()[k] for k in flags}
        globals().update(flags)
        try:
            out = variant(nocopy)(src)
        finally:
            globals().update(saved)
        return out.replace("@!p bra WAIT_%=;", "@!p bra.uni WAIT_%=;") if uni else out
    return edit


def chunked_uni(**flags):
    return with_flags(uni=True, CHUNKED=True, **flags)


VARIANTS = {
    "ss64": variant(False), "ss64_chunked": with_flags(CHUNKED=True), "ss64_chunked_uni": chunked_uni(),
    "ss64_nocopy": variant(True),
    "ss64_early": chunked_uni(EARLY=True), "ss64_rope": chunked_uni(ROPE_EARLY=True),
    "ss64_early_rope": chunked_uni(EARLY=True, ROPE_EARLY=True),
    "ss64_offset": chunked_uni(OFFSET=True), "ss64_offset_nocopy": with_flags(nocopy=True, OFFSET=True),
}


def main():
    for name in sys.argv[1:] or VARIANTS:
        build(f"{OUT}/{name}", ("mla_decode_split.", "merge_states"), "mla_decode_split.bf16", VARIANTS[name], SHARED, source=at_commit(MEASURED_ON))
    print("ok")


if __name__ == "__main__":
    main()
