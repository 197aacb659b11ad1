# MLA split kernel, the seesaw in FlashMLA's order (2026-11-29, sixteenth session): a hand-written
# whole-tile loop in place of the compiler's, written from FlashMLA's public kernel's order of
# operations (read to learn; the code is ours, in the style of mla_seesaw64_variant.py).
#
# Why: wgmma_rates.py showed two warpgroups keep the tensor cores full with these chains, yet the
# 64-key seesaw of mla_seesaw64_variant.py leaves them idle about 40% of the time even without
# copies (0.132-0.141 ms). In that seesaw both groups issue their scores together and then wait
# for each other: group 0's softmax runs with the tensor cores idle, group 1 rescales its output
# between its two P·V (a wait in the middle), and each group waits for its last P·V before it
# issues the next scores. Here, per pair of tiles a (group 0's scores) and b = a + 1 (group 1's):
#   [0] softmax of S_a (max from m), publish al0, m0; O_L = O_L al0 + P0 V_aL (P0 in registers)
#   [1] once al0, m0 are out: softmax of S_b from m0, publish al1, m1; O_R *= al0 al1; P1 to
#       shared memory (tile b's rope slot); O_R += P1 V_bR (registers)
#   [0] once P0 V_aL is done and al1 is out: copy tile a + 2's left half and rope; P0 *= al1,
#       P0 to shared memory
#   [1] once P0 is out: O_R += P0 V_aR (shared memory), both P·V queued back to back
#   [0] once that is issued: O_L = O_L al1 + P1 V_bL (shared memory); then S_{a+2}'s left half
#       and rope queued behind it, tile a + 3's left half copied once P1 V_bL is done, then the
#       right half's scores
#   [1] tile a + 3's right half copied once P1 V_bR is done, tile a + 2's once P0 V_aR is;
#       then S_{b+2}
# so each group's softmax runs while the other's wgmmas are queued, and the next scores go in
# behind the P·V without a wait. Group 0 copies columns 0..255 and the rope of each tile (TMA
# boxes, one mbarrier a stage and half), group 1 columns 256..511. The last pair is peeled (no
# copies or scores after it), so no wgmma sits on a divergent path.
#
# Variants (packages under tmp/seesaw-fm/<name>, edits of the package at c054be4 like
# mla_tma_variant.py's):
#   fm_nocopy  no copies and no mbarrier waits in the loop (timing only: wrong output)
#   fm_tma_ef  the copies as TMA boxes under an L2 evict-first policy (pages 16 and 64)
#
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`.
import sys

import mla_seesaw64_variant as ss
import mla_tma_variant as tv
from mla_seesaw_variant import row_softmax
from variant_package import at_commit, build

OUT = "tmp/seesaw-fm"
S0, M0, S1, M1, SL1, MBAR = ss.S0, ss.M0, ss.S1, ss.M1, ss.SL1, ss.MBAR
SHARED = ss.SHARED
P0_AT = 221184  # P0, 64 x 64 bf16 swizzled (the slot the compiler's loop uses for P)
LEFT, RIGHT = [0, 1, 2, 3, 8], [4, 5, 6, 7]  # 64-column blocks (8: the rope) a group copies
STEP = ss.STEP


OPAQUE = r"""__device__ __forceinline__ uint64_t opaque64(uint64_t x) { asm volatile("mov.b64 %0, %0;\n" : "+l"(x)); return x; }
"""


def wait(bar, parity, nocopy):
    return "" if nocopy else f"\n      mbar_wait_uni({bar}, {parity});"


def scores(lat, rope, blocks, first, nocopy, bar=None, parity=None):
    """sc += Q K^T over the 64-column blocks `blocks` of the stage (lat, rope), after the wait on
    mbarrier `bar` (phase `parity`); sc zeroed first when `first`. One commit group."""
    zero = "\n      #pragma unroll\n      for (int i = 0; i < 32; ++i) sc[i] = 0.0f;" if first else ""
    body = ""
    for c in blocks:
        if c < 8:
            body += f"""
        #pragma unroll
        for (int kk = {4 * c}; kk < {4 * c + 4}; ++kk) wgmma_m64n64k16_ss_bf16<0>(sc, dq + {STEP}, dk + {STEP});"""
        else:
            body += f"""
        #pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma_m64n64k16_ss_bf16<0>(sc, dqr + {STEP}, dkr + {STEP});"""
    w = wait(bar, parity, nocopy) if bar else ""
    return f"""{zero}{w}
      wgmma_fence();
      {{
        // opaque bases (a volatile move each time): else ptxas hoists the 36 loop-invariant
        // descriptor sums out of the loop and spills
        const uint64_t dq = opaque64(sw128_desc(smem, 16, 1024)), dk = opaque64(sw128_desc({lat}, 16, 1024));
        const uint64_t dqr = opaque64(sw128_desc(smem + 65536, 16, 1024)), dkr = opaque64(sw128_desc({rope}, 16, 1024));{body}
      }}
      wgmma_commit();"""


def pack():
    pk = lambda nt, h: f"pack_bf16(sc[(({nt}) * 2 + {h}) * 2], sc[(({nt}) * 2 + {h}) * 2 + 1])"
    return f"""
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) {{
        af[kk][0] = {pk('2 * kk', 0)}; af[kk][1] = {pk('2 * kk', 1)};
        af[kk][2] = {pk('2 * kk + 1', 0)}; af[kk][3] = {pk('2 * kk + 1', 1)};
      }}"""


def rescale_p(al):
    """P (af, bf16 pairs: af[kk][j] holds row h = j & 1) times the row factor al, in place. The
    probabilities are not kept as floats (32 more registers made ptxas spill 1 KiB); a bf16 value
    rounded twice, where al is not 1, is the cost."""
    return f"""
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk)
        #pragma unroll
        for (int j = 0; j < 4; ++j) {{
          const float lo = __uint_as_float(af[kk][j] << 16) * {al}[j & 1], hi = __uint_as_float(af[kk][j] & 0xffff0000u) * {al}[j & 1];
          af[kk][j] = pack_bf16(lo, hi);
        }}"""


def store_p(p_at):
    """P (af) into the swizzled 64 x 64 tile at byte p_at, visible to the tensor cores."""
    return f"""
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk)
        #pragma unroll
        for (int j = 0; j < 4; ++j)
          *reinterpret_cast<uint32_t*>(smem + {p_at} + sw128(warp * 16 + g + 8 * (j & 1), kk * 16 + 8 * (j >> 1) + 2 * t4, 64)) = af[kk][j];
      fence_async_proxy();"""


def rows_out(al_at, mn_at):
    return f"""
      if (t4 == 0) {{
        #pragma unroll
        for (int h = 0; h < 2; ++h) {{
          reinterpret_cast<float*>(smem + {al_at})[{ss.ROW}] = al[h];
          reinterpret_cast<float*>(smem + {mn_at})[{ss.ROW}] = mn[h];
        }}
      }}"""


def copy(n, tile, blocks, lat, rope, bar, nocopy):
    return "" if nocopy else tv.boxes(n, tile, blocks, lat, rope, bar, "(tid & 127) < 32")


def group0(n, nocopy, full):
    """Group 0's part of pair ip (sc holds S_a on entry, S_{a+2} on exit when `full`)."""
    M, O = n["M"], n["O"]
    out = f"""
      float mn[2], al[2], rs[2];
{row_softmax(n['scale'], M, 8, "sc")}
      #pragma unroll
      for (int h = 0; h < 2; ++h) l_me[h] = l_me[h] * al[h] + rs[h];""" + rows_out(S0, M0) + f"""
      bar_arrive_n<2, 256>(); // al0, m0 out
      #pragma unroll
      for (int h = 0; h < 2; ++h) {M}[h] = mn[h];""" + ss.scale_o(n, "al[h]") + pack() + ss.pv_regs(n, "kA") + """
      wgmma_wait<0>();""" + ss.fence(O, 128) + """
      bar_sync_n<3, 256>(); // al1, m1 out""" + (f"""
      {{ // tile a + 2's left half and rope (this group's P0 V_aL and S_a are done with them){copy(n, 'a + 2', LEFT, 'kA', 'rA', ss.mb('sA', 0), nocopy)}
      }}""" if full else "") + ss.read_rows([("al1", S1), ("m1", M1)]) + f"""
""" + rescale_p("al1") + store_p(P0_AT) + f"""
      bar_arrive_n<4, 256>(); // P0 out
      #pragma unroll
      for (int h = 0; h < 2; ++h) {{ l_me[h] *= al1[h]; {M}[h] = m1[h]; }}
      bar_sync_n<5, 256>(); // group 1 has issued P0 V_aR, and P1 is out""" + ss.scale_o(n, "al1[h]") + ss.pv_shared(n, "(rB - smem)", "kB")
    if full:
        out += scores("kA", "rA", LEFT, True, nocopy, ss.mb("sA", 0), "ip & 1") + """
      wgmma_wait<1>(); // P1 V_bL""" + f"""
      {{ // tile a + 3's left half and rope{copy(n, 'a + 3', LEFT, 'kB', 'rB', ss.mb('sA ^ 1', 0), nocopy)}
      }}""" + scores("kA", "rA", RIGHT, False, nocopy, ss.mb("sA", 1), "ip & 1")
    return out + """
      wgmma_wait<0>();""" + ss.fence(O, 128) + ss.fence("sc", 32)


def group1(n, nocopy, full):
    """Group 1's part of pair ip (sc holds S_b on entry, S_{b+2} on exit when `full`)."""
    O = n["O"]
    out = """
      bar_sync_n<2, 256>(); // al0, m0 out""" + ss.read_rows([("al0", S0), ("m0", M0)]) + f"""
      float mn[2], al[2], rs[2];
{row_softmax(n['scale'], "m0", 8, "sc")}
      #pragma unroll
      for (int h = 0; h < 2; ++h) l_me[h] = l_me[h] * al0[h] * al[h] + rs[h];""" + rows_out(S1, M1) + """
      bar_arrive_n<3, 256>(); // al1, m1 out""" + ss.scale_o(n, "al0[h] * al[h]") + pack() + """
      // P1 goes where tile b's rope was (its scores are done; group 0 copies tile b + 2's rope
      // there only once its P1 V_bL is done)""" + store_p("(rB - smem)") + ss.pv_regs(n, "kB") + """
      bar_sync_n<4, 256>(); // P0 out""" + ss.pv_shared(n, P0_AT, "kA") + """
      bar_arrive_n<5, 256>(); // P0 V_aR issued, P1 out"""
    if full:
        out += """
      wgmma_wait<1>(); // P1 V_bR""" + f"""
      {{ // tile a + 3's right half{copy(n, 'a + 3', RIGHT, 'kB', 'rB', ss.mb('sA ^ 1', 1), nocopy)}
      }}
      wgmma_wait<0>(); // P0 V_aR""" + f"""
      {{ // tile a + 2's right half{copy(n, 'a + 2', RIGHT, 'kA', 'rA', ss.mb('sA', 1), nocopy)}
      }}""" + ss.fence(O, 128) + scores("kB", "rB", RIGHT, True, nocopy, ss.mb("sA ^ 1", 1), "(ip + 1) & 1") + scores("kB", "rB", LEFT, False, nocopy, ss.mb("sA ^ 1", 0), "(ip + 1) & 1")
    return out + """
      wgmma_wait<0>();""" + ss.fence(O, 128) + ss.fence("sc", 32)


def seesaw(n, nocopy):
    T0, T1_full, L = n["T0"], n["T1"], n["L"]
    loop = lambda G: f"""
    for (int ip = 0; ip < NP - 1; ++ip) {{ // pair ip: tiles a (group 0's scores) and a + 1 (group 1's)
      const int a = {T0} + 2 * ip;{G(n, nocopy, True)}
    }}
    {{ // the last pair: no copies or scores after it
      const int ip = NP - 1, a = {T0} + 2 * ip;{G(n, nocopy, False)}
    }}"""
    first0 = scores("kA", "rA", LEFT + RIGHT, True, nocopy)
    first1 = scores("kB", "rB", RIGHT, True, nocopy, ss.mb("sA ^ 1", 1), "0") + scores("kB", "rB", LEFT, False, nocopy, ss.mb("sA ^ 1", 0), "0")
    return f"""  // full tiles: the seesaw in FlashMLA's order (hand-written, bench/experiments/mla_seesaw_fm_variant.py)
  // on the first even number of them; an odd last one goes to the loop of the masked tiles after
  const int t_mid = ({T1_full} > {T0}) ? {T0} + (({T1_full} - {T0}) & ~1) : {T1_full};
  {{
  float l_me[2];
  #pragma unroll
  for (int h = 0; h < 2; ++h) l_me[h] = (wcol == 0) ? {L}[h] : 0.0f;
  if ({T0} < t_mid) {{
  const int sA = {T0} & 1, NP = (t_mid - {T0}) / 2;
  unsigned char* const kA = smem + 73728 + sA * 65536; // the even tiles' stage (group 0's scores)
  unsigned char* const kB = smem + 73728 + (sA ^ 1) * 65536;
  unsigned char* const rA = smem + 204800 + sA * 8192;
  unsigned char* const rB = smem + 204800 + (sA ^ 1) * 8192;
  const unsigned mbar = (unsigned)__cvta_generic_to_shared(smem + {MBAR}); // [stage][half], 8 bytes each
  if (tid == 0) {{
    #pragma unroll
    for (int i = 0; i < 4; ++i) mbar_init1(mbar + 8 * i);
    mbar_fence_init();
  }}
  cp_async_wait<0>(); // the first tile, copied by every thread
  fence_async_proxy();
  __syncthreads();
  // tile T0 + 1: group 0 its left half and rope, group 1 its right half
  if (wcol == 0) {{{copy(n, f'{T0} + 1', LEFT, 'kB', 'rB', ss.mb('sA ^ 1', 0), nocopy)}
  }} else {{{copy(n, f'{T0} + 1', RIGHT, 'kB', 'rB', ss.mb('sA ^ 1', 1), nocopy)}
  }}
  float sc[32];
  uint32_t af[4][4];
  if (wcol == 0) {{{first0}
    wgmma_wait<0>();{ss.fence("sc", 32)}{loop(group0)}
  }} else {{{first1}
    wgmma_wait<0>();{ss.fence("sc", 32)}{loop(group1)}
  }}
  }}
  if (wcol == 1 && t4 == 0) {{
    #pragma unroll
    for (int h = 0; h < 2; ++h) reinterpret_cast<float*>(smem + {SL1})[{ss.ROW}] = l_me[h];
  }}
  __syncthreads();
  if (wcol == 0) {{
    #pragma unroll
    for (int h = 0; h < 2; ++h) {L}[h] = l_me[h] + reinterpret_cast<const float*>(smem + {SL1})[{ss.ROW}];
  }}
  }}
"""


def variant(nocopy, ef):
    def edit(src):
        src = ss.splice(src, lambda n: seesaw(n, nocopy), ss.HELPERS + OPAQUE)
        src = tv.with_map(src)  # the TMA helpers and the tensor map parameter (unused without copies)
        return tv.evict_first(lambda s: s)(src) if ef else src
    return edit


VARIANTS = {"fm_nocopy": variant(True, False), "fm_tma_ef": variant(False, True)}


def main():
    for name in sys.argv[1:] or VARIANTS:
        out = f"{OUT}/{name}"
        build(out, ("mla_decode_split.", "merge_states"), "mla_decode_split.bf16", VARIANTS[name], SHARED, source=at_commit(tv.MEASURED_ON))
        tv.add_maps(out)
    print("ok")


if __name__ == "__main__":
    main()
