# MLA split kernel, seesaw experiment (2026-11-29, thirteenth session): a hand-written whole-tile
# loop put in place of the compiler's leader loop in mla_decode_split.bf16.p{1,16,64}.cu, to learn
# what the two warpgroups taking turns would give before the compiler is taught to emit it.
#
# Each 64-key tile is cut into two 32-key halves; warpgroup g leads half g of every tile: its
# scores (36 x wgmma m64n32k16 from shared memory) and softmax, then it publishes P (bf16, its
# 32 columns of the 64 x 64 swizzled P tile), the rows' rescale factor and max, and arrives on
# named barrier 1 + g. The other group, at the top of its own half, waits there, rescales its
# accumulator and runs P·V on the published half (P from shared memory) while its own scores
# run; each group then runs P·V on its own half from registers. So one group's softmax runs
# while the other's wgmmas keep the tensor cores busy. The row sum is kept per group and added
# after the loop. Group g also copies half g of the next tile, a tile ahead, and waits for its
# own copies alone (named barrier 3 + g, its 128 threads): there is no block barrier in the loop.
#
# This is the third version timed (v3, `h200-mla-seesaw-v3-*`). v1 (`-v1-*`) waited for the
# followed half's P·V before publishing its own half, and issued the scores' wait and the followed
# P·V together; v2 (`-v2-*`) published first, freed the P columns with named barrier 5 + g, but
# issued its copies before that barrier: the rows it overwrote could still be read by the other
# group's P·V (12 of 18 cases wrong). All three were slower than the leader loop (docs/performance.md).
#
# Writes tmp/seesaw/pkg: a package (manifest trimmed to mla_decode_split and merge_states, with
# the new shared-memory size) whose mla_decode_split.bf16.p* PTX is built from the edited CUDA C
# by nvcc (sm_90a), the rest copied from generated/. Run from the repository root after
# `node bin/flashtile.mjs compile kernels-src --out generated`.
import re

from variant_package import build

OUT = "tmp/seesaw"
ALPHA, MROW, LX = 229888, 230400, 230912
SHARED = LX + 256

# Named barriers over N threads (sync waits, arrive does not): the groups' hand-offs in the seesaw
# scripts of this folder.
NAMED_BARRIERS = r"""template <int ID, int N> __device__ __forceinline__ void bar_sync_n() { asm volatile("bar.sync %0, %1;\n" :: "n"(ID), "n"(N) : "memory"); }
template <int ID, int N> __device__ __forceinline__ void bar_arrive_n() { asm volatile("bar.arrive %0, %1;\n" :: "n"(ID), "n"(N) : "memory"); }
"""

HELPERS = r"""
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// d (64 x 32 of this warpgroup, 16 floats a thread) += A (64 x 16, shared memory) · B (16 x 32, shared memory).
template <int TRANS_B> __device__ __forceinline__ void wgmma_m64n32k16_ss_bf16(float* d, uint64_t da, uint64_t db) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
               "wgmma.mma_async.sync.aligned.m64n32k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15}, %16, %17, p, 1, 1, 0, %18;\n}\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15])
               : "l"(da), "l"(db), "n"(TRANS_B));
}
#endif
""" + NAMED_BARRIERS + "\n"


def names(src):
    full = src.index("  // full tiles\n")
    loop = re.search(r"for \(int (t_\d+) = (t_\d+); t_\d+ < (t_\d+); \+\+t_\d+\) \{", src[full:])
    carries = re.findall(r"float (carry_\d+)\[(2|128)\];", src)
    scale = re.findall(r"const float (t_\d+) = \(P\.softmax_scale \* 1\.4426950408889634f\);", src[:full])[-1]
    return {
        "T0": loop.group(2), "T1": loop.group(3), "scale": scale,
        "b": re.search(r"const int (b_\d+) = \(int\)blockIdx\.z;", src).group(1),
        "M": carries[0][0], "L": carries[1][0], "O": carries[2][0],
        "PAGE": int(re.search(r"PAGE = (\d+)", src).group(1)),
    }


def row(h="h"):
    return f"(warp * 16 + g + 8 * {h})"


def scores(G):
    step = "(uint64_t)((((kk >> 2) * 8192) + (kk & 3) * 32) >> 4)"
    return f"""
      float sc[16];
      #pragma unroll
      for (int i = 0; i < 16; ++i) sc[i] = 0.0f;
      wgmma_fence();
      {{
        const uint64_t db = sw128_desc(smem + 73728 + (T & 1) * 65536 + {G} * 4096, 16, 1024);
        const uint64_t da = sw128_desc(smem + 0, 16, 1024);
        #pragma unroll
        for (int kk = 0; kk < 32; ++kk) wgmma_m64n32k16_ss_bf16<0>(sc, da + {step}, db + {step});
      }}
      {{
        const uint64_t db = sw128_desc(smem + 204800 + (T & 1) * 8192 + {G} * 4096, 16, 1024);
        const uint64_t da = sw128_desc(smem + 65536, 16, 1024);
        #pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma_m64n32k16_ss_bf16<0>(sc, da + {step}, db + {step});
      }}
      wgmma_commit();"""


def fence_o(n):
    return f"""
      #pragma unroll
      for (int i = 0; i < 128; ++i) reg_fence({n['O']}[i]);"""


def follow(n, G, stage):
    H = 1 - G
    O, M = n["O"], n["M"]
    return f"""
      bar_sync_n<{1 + H}, 256>(); // the other group published its half
      float a_o[2];
      #pragma unroll
      for (int h = 0; h < 2; ++h) {{
        a_o[h] = reinterpret_cast<const float*>(smem + {ALPHA + 256 * H})[{row()}];
        {M}[h] = reinterpret_cast<const float*>(smem + {MROW + 256 * H})[{row()}];
        l_me[h] *= a_o[h];
      }}
      #pragma unroll
      for (int nt = 0; nt < 32; ++nt)
        #pragma unroll
        for (int h = 0; h < 2; ++h)
          #pragma unroll
          for (int p = 0; p < 2; ++p) {O}[(nt * 2 + h) * 2 + p] *= a_o[h];
      wgmma_fence();
      {{
        const uint64_t db = sw128_desc(smem + 73728 + ({stage}) * 65536 + wg_col * 4 * 8192, 8192, 1024);
        const uint64_t da = sw128_desc(smem + 221184, 16, 1024);
        #pragma unroll
        for (int kk = 0; kk < 2; ++kk) wgmma_m64n256k16_ss_bf16<1>({O}, da + (uint64_t)((({2 * H} + kk) * 32) >> 4), db + (uint64_t)((({2 * H} + kk) * 2048) >> 4));
      }}
      wgmma_commit();"""


def top_wait(n):
    return "\n      wgmma_wait<0>(); // this group's P·V of the tile before" + fence_o(n)


def copies(n, G):
    P, b = n["PAGE"], n["b"]
    if P == 1:  # one table entry a row
        rows = f"""        int srcC[16], srcR[2]; // cache rows (slots)
        #pragma unroll
        for (int i = 0; i < 16; ++i) srcC[i] = page_table[(long long)({b}) * page_table_s0 + base + tg / 64 + i * 2];
        #pragma unroll
        for (int i = 0; i < 2; ++i) srcR[i] = page_table[(long long)({b}) * page_table_s0 + base + tg / 8 + i * 16];"""
    else:  # the half's 32 rows lie in 32 / PAGE pages (one if PAGE >= 32); row r's page is r / PAGE, known per i
        k = max(1, 32 // P)
        rows = f"""        int ent[{k}], srcC[16], srcR[2];
        #pragma unroll
        for (int j = 0; j < {k}; ++j) ent[j] = page_table[(long long)({b}) * page_table_s0 + base / {P} + j];
        #pragma unroll
        for (int i = 0; i < 16; ++i) srcC[i] = ent[(2 * i) / {P}] * {P} + base % {P} + (tg / 64 + 2 * i) % {P};
        #pragma unroll
        for (int i = 0; i < 2; ++i) srcR[i] = ent[(16 * i) / {P}] * {P} + base % {P} + (tg / 8 + 16 * i) % {P};"""
    return f"""
      if (T + 1 < {n['T1']}) {{ // this group's half of the next tile, into the stage tile T - 1 left
        const int base = (T + 1) * 64 + {32 * G}, tg = tid & 127;
        unsigned char* dstC = smem + 73728 + ((T + 1) & 1) * 65536;
        unsigned char* dstR = smem + 204800 + ((T + 1) & 1) * 8192;
{rows}
        const int cC = (tg % 64) * 8, cR = (tg % 8) * 8;
        // sw128(32 G + x + 2 i, cC, 64) with x = tg / 64 spelled out: the row's XOR term is x + 2 (i % 4), so
        // ptxas keeps four offsets live across the loop instead of sixteen
        const int x = tg / 64;
        unsigned char* dstRow = dstC + (cC >> 6) * 8192 + ({32 * G} + x) * 128;
        #pragma unroll
        for (int i = 0; i < 16; ++i) cp_async16(dstRow + i * 256 + ((((cC >> 3) & 7) ^ (x + 2 * (i & 3))) << 4), c_kv + (long long)srcC[i] * c_kv_s0 + cC, true);
        #pragma unroll
        for (int i = 0; i < 2; ++i) cp_async16(dstR + sw128({32 * G} + tg / 8 + i * 16, cR, 64), c_kv + (long long)srcR[i] * c_kv_s0 + 512 + cR, true);
      }}
      cp_async_commit();"""


def row_softmax(scale, prev, tiles, dst):
    """The online softmax of this thread's two rows of the score tile sc (`tiles` 8-column tiles,
    scaled in place): mn (new max) from the running max `prev`, al = 2^(prev - mn), the
    probabilities into `dst` (sc itself, or another array of the same layout), rs (row sums).
    mn, al and rs are declared by the caller."""
    idx = "(nt * 2 + h) * 2 + p"
    return f"""      #pragma unroll
      for (int h = 0; h < 2; ++h) {{
        float mx = NEG_INF;
        #pragma unroll
        for (int nt = 0; nt < {tiles}; ++nt)
          #pragma unroll
          for (int p = 0; p < 2; ++p) {{ sc[{idx}] *= {scale}; mx = fmaxf(mx, sc[{idx}]); }}
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        mn[h] = fmaxf({prev}[h], mx);
        const float ms = (mn[h] == NEG_INF) ? 0.0f : mn[h];
        al[h] = exp2_ftz({prev}[h] - ms);
        float sum = 0.0f;
        #pragma unroll
        for (int nt = 0; nt < {tiles}; ++nt)
          #pragma unroll
          for (int p = 0; p < 2; ++p) {{ {dst}[{idx}] = exp2_ftz(sc[{idx}] - ms); sum += {dst}[{idx}]; }}
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        rs[h] = sum;
      }}"""


def lead(n, G, first, free_sync="", free_arrive="", copy=""):
    O, M = n["O"], n["M"]
    return f"""
      wgmma_wait<{0 if first else 1}>(); // this half's scores
      #pragma unroll
      for (int i = 0; i < 16; ++i) reg_fence(sc[i]);
      float pr[16], al[2], rs[2], mn[2];
{row_softmax(n['scale'], M, 4, "pr")}
      {free_sync}{copy}
      #pragma unroll
      for (int h = 0; h < 2; ++h)
        #pragma unroll
        for (int nt = 0; nt < 4; ++nt)
          *reinterpret_cast<uint32_t*>(smem + 221184 + sw128({row()}, {32 * G} + nt * 8 + 2 * t4, 64)) = pack_bf16(pr[(nt * 2 + h) * 2], pr[(nt * 2 + h) * 2 + 1]);
      if (t4 == 0) {{
        #pragma unroll
        for (int h = 0; h < 2; ++h) {{
          reinterpret_cast<float*>(smem + {ALPHA + 256 * G})[{row()}] = al[h];
          reinterpret_cast<float*>(smem + {MROW + 256 * G})[{row()}] = mn[h];
        }}
      }}
      fence_async_proxy();
      bar_arrive_n<{1 + G}, 256>(); // this half published
      wgmma_wait<0>(); // the followed half's P·V is done: the accumulator is free, and so are those P columns
      {fence_o(n).strip()}
      {free_arrive}
      #pragma unroll
      for (int h = 0; h < 2; ++h) {{ l_me[h] = l_me[h] * al[h] + rs[h]; {M}[h] = mn[h]; }}
      #pragma unroll
      for (int nt = 0; nt < 32; ++nt)
        #pragma unroll
        for (int h = 0; h < 2; ++h)
          #pragma unroll
          for (int p = 0; p < 2; ++p) {O}[(nt * 2 + h) * 2 + p] *= al[h];
      uint32_t af[2][4];
      #pragma unroll
      for (int kk = 0; kk < 2; ++kk) {{
        af[kk][0] = pack_bf16(pr[((2 * kk) * 2 + 0) * 2], pr[((2 * kk) * 2 + 0) * 2 + 1]);
        af[kk][1] = pack_bf16(pr[((2 * kk) * 2 + 1) * 2], pr[((2 * kk) * 2 + 1) * 2 + 1]);
        af[kk][2] = pack_bf16(pr[((2 * kk + 1) * 2 + 0) * 2], pr[((2 * kk + 1) * 2 + 0) * 2 + 1]);
        af[kk][3] = pack_bf16(pr[((2 * kk + 1) * 2 + 1) * 2], pr[((2 * kk + 1) * 2 + 1) * 2 + 1]);
      }}
      wgmma_fence();
      {{
        const uint64_t db = sw128_desc(smem + 73728 + (T & 1) * 65536 + wg_col * 4 * 8192, 8192, 1024);
        #pragma unroll
        for (int kk = 0; kk < 2; ++kk) wgmma_m64n256k16_rs_bf16<1>({O}, af[kk], db + (uint64_t)((({2 * G} + kk) * 2048) >> 4));
      }}
      wgmma_commit();"""


def own_copies_landed(G):
    return f"""
      cp_async_wait<0>(); // this group's half of tile T (copied a tile ago) has landed
      fence_async_proxy();
      bar_sync_n<{3 + G}, 128>();"""


def seesaw(n):
    T0, T1, O, M, L = n["T0"], n["T1"], n["O"], n["M"], n["L"]
    fs = lambda G: f"bar_sync_n<{5 + G}, 256>(); // the other group's P·V of this group's previous half is done"
    fa = lambda G: f"bar_arrive_n<{5 + (1 - G)}, 256>(); // done with the other group's P columns"
    g0 = (f"    {{\n      const int T = {T0};" + scores(0) + copies(n, 0) + lead(n, 0, True) + "\n    }\n"
          f"    for (int T = {T0} + 1; T < {T1}; ++T) {{" + top_wait(n) + own_copies_landed(0) + scores(0)
          + follow(n, 0, "(T - 1) & 1") + lead(n, 0, False, fs(0), fa(0), copies(n, 0)) + "\n    }\n"
          f"    {{ // the last tile's second half" + top_wait(n) + follow(n, 0, f"({T1} - 1) & 1") + "\n      wgmma_wait<0>();"
          + fence_o(n) + "\n    }\n")
    g1 = (f"    for (int T = {T0}; T < {T1}; ++T) {{" + top_wait(n) + f"\n      if (T > {T0}) {{" + own_copies_landed(1) + "\n      }" + scores(1)
          + follow(n, 1, "T & 1") + lead(n, 1, False, f"if (T > {T0}) " + fs(1), f"if (T + 1 < {T1}) " + fa(1), copies(n, 1)) + "\n    }\n"
          "    wgmma_wait<0>();" + fence_o(n) + "\n")
    return f"""  // full tiles: the seesaw (hand-written, bench/experiments/mla_seesaw_variant.py)
  {{
  float l_me[2];
  #pragma unroll
  for (int h = 0; h < 2; ++h) l_me[h] = (wcol == 0) ? {L}[h] : 0.0f;
  if ({T0} < {T1}) {{
  cp_async_wait<0>(); // the first tile, copied by every thread
  fence_async_proxy();
  __syncthreads();
  if (wcol == 0) {{
{g0}  }} else {{
{g1}  }}
  }}
  if (wcol == 1 && t4 == 0) {{
    #pragma unroll
    for (int h = 0; h < 2; ++h) reinterpret_cast<float*>(smem + {LX})[{row()}] = l_me[h];
  }}
  __syncthreads();
  if (wcol == 0) {{
    #pragma unroll
    for (int h = 0; h < 2; ++h) {L}[h] = l_me[h] + reinterpret_cast<const float*>(smem + {LX})[{row()}];
  }}
  }}
"""


def edit(src):
    n = names(src)
    start = src.index("  // full tiles\n")
    end = src.index("  __syncthreads(); // the loop's published rows are read", start)
    old = src[start:end]
    body = "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n" + seesaw(n) + "#else\n" + old + "#endif\n"
    src = src[:start] + body + src[end:]
    at = src.index("// Runtime dims and scalar arguments")
    return src[:at] + HELPERS + src[at:]


def main():
    build(f"{OUT}/pkg", ("mla_decode_split.", "merge_states"), "mla_decode_split.bf16", edit, SHARED)
    print("ok")


if __name__ == "__main__":
    main()
