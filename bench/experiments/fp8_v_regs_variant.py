"""Hand-edited fp8 split decode: V's B fragments read straight from its E4M3 copy and widened in
registers, as the keys already are (fp8-keys.ts), instead of a shared-to-shared widening pass
into an f16 tile (8.7 KB and two barriers a tile) read back with ldmatrix.trans.

    python3 bench/experiments/fp8_v_regs_variant.py OUT_DIR [--natural]   # then bench_cuda.py --build vregs=OUT_DIR

An m16n8k16 B fragment needs, for column n = g of an n8 tile, keys 2t4, 2t4 + 1 (b0) and
2t4 + 8, 2t4 + 9 (b1): bytes of four rows of the E4M3 tile. Each lane reads one 32-bit word of
each of those rows at byte 32 blk + 4 g, and two byte permutes per pair of n8 tiles gather the
pairs for the cvt. So n8 tile j's column c is dim 32 (j / 4) + 4 c + j % 4 of the head: the
accumulator's columns are permuted, and the output store writes each lane's eight consecutive
dims of a 32-dim block as two float4 (dims 32 blk + 8 t4 + 4 p + b hold tile 4 blk + b, column
2 t4 + p). Only the output's layout changes; the sums are the same products in the same order.
`--natural` keeps the output's layout: each lane reads the one byte it needs of each of the four
rows (what fp8-values.ts now emits). Edits the g4 builds at pages 1, 16 and 64 (sm_90a) of the
package at a81e143 (V still widened through shared memory there)."""
import re
import sys

from variant_package import at_commit, build

V_RAW, ROW = 8960, 144  # the raw V tile's offset and row stride in these builds (checked below)


def no_widening(src):
    """No widening pass: V's copy is waited for and published, then read as bytes by P·V."""
    widen = re.compile(r"(    cp_async_wait<1>\(\); // V_\d+ has arrived\n    __syncthreads\(\);\n)"
                       r"    // t_\d+: 32 x 128 fp8 widened to f16, shared to shared, 8 values per step\n"
                       r"    #pragma unroll\n    for \(int e = tid; e < 512; e \+= 32\) \{\n.*?\n    \}\n    __syncthreads\(\);\n", re.S)
    src, n = widen.subn(r"\1", src)
    assert n == 3, n
    assert f"smem + {V_RAW} + r * {ROW} + c" in src
    return src


# P·V's loop over pairs of n8 tiles with their ldmatrix.trans B fragments (group 1: the accumulator).
PV = re.compile(r"      for \(int nt = 0; nt \+ 1 < 16; nt \+= 2\) \{\n        uint32_t b\[4\];\n"
                r"        ldsm_x4_trans\(b, smem \+ \d+ \+ [^\n]*\n        #pragma unroll\n"
                r"        for \(int mt = 0; mt < 1; \+\+mt\) \{\n"
                r"          mma_f16\(&(carry_\d+)\[\(mt \* 16 \+ nt\) \* 4\], a\[mt\], b\[0\], b\[1\]\);\n"
                r"          mma_f16\(&carry_\d+\[\(mt \* 16 \+ nt \+ 1\) \* 4\], a\[mt\], b\[2\], b\[3\]\);\n        \}\n      \}\n")


def natural(src):
    """Each lane reads one byte of each of its four rows at column 8 nt + g: the output's layout is kept."""
    def pv_bytes(m):
        return f"""      for (int nt = 0; nt < 16; ++nt) {{ // V's E4M3 bytes in natural order: one byte of each of four rows
        const unsigned char* vb = smem + {V_RAW} + (kk * 16 + 2 * t4) * {ROW} + nt * 8 + g;
        const uint32_t x = (uint32_t)vb[0] | ((uint32_t)vb[{ROW}] << 8) | ((uint32_t)vb[{8 * ROW}] << 16) | ((uint32_t)vb[{9 * ROW}] << 24);
        #pragma unroll
        for (int mt = 0; mt < 1; ++mt) mma_f16(&{m[1]}[(mt * 16 + nt) * 4], a[mt], e4m3x2_widen<false>(x, 0), e4m3x2_widen<false>(x, 1));
      }}
"""
    src, n = PV.subn(pv_bytes, no_widening(src))
    assert n == 3, n
    return src


def edit(src):
    src = no_widening(src)
    # P·V's B fragments from the E4M3 bytes, a word of each row.
    def pv_regs(m):
        acc = m[1]
        return f"""      for (int blk = 0; blk < 4; ++blk) {{ // V's E4M3 bytes, widened in registers (n8 tile j: dims 32 (j / 4) + 4 c + j % 4)
        const unsigned char* vb = smem + {V_RAW} + (kk * 16 + 2 * t4) * {ROW} + blk * 32 + g * 4;
        const uint32_t w0 = *reinterpret_cast<const uint32_t*>(vb), w1 = *reinterpret_cast<const uint32_t*>(vb + {ROW});
        const uint32_t w2 = *reinterpret_cast<const uint32_t*>(vb + {8 * ROW}), w3 = *reinterpret_cast<const uint32_t*>(vb + {9 * ROW});
        #pragma unroll
        for (int q = 0; q < 2; ++q) {{
          const uint32_t t01 = __byte_perm(w0, w1, 0x5140 + q * 0x2222), t23 = __byte_perm(w2, w3, 0x5140 + q * 0x2222);
          #pragma unroll
          for (int mt = 0; mt < 1; ++mt) {{
            mma_f16(&{acc}[(mt * 16 + blk * 4 + 2 * q) * 4], a[mt], e4m3x2_widen<false>(t01, 0), e4m3x2_widen<false>(t23, 0));
            mma_f16(&{acc}[(mt * 16 + blk * 4 + 2 * q + 1) * 4], a[mt], e4m3x2_widen<false>(t01, 1), e4m3x2_widen<false>(t23, 1));
          }}
        }}
      }}
"""
    src, n = PV.subn(pv_regs, src)
    assert n == 3, n
    # 3. The output store, in the permuted order: two float4 a 32-dim block and row.
    store = re.compile(r"      #pragma unroll\n      for \(int nt = 0; nt < 16; \+\+nt\) \{\n"
                       r"        if (\(\(\(\(warp \* 1 \+ mt\) \* 16 \+ g \+ 8 \* h\) < 4\)\)) \*reinterpret_cast<float2\*>\((out_partial [^\n]*?) \+ \(long long\)\(\(nt \* 8 \+ 2 \* t4 \+ 0\)\)\) = "
                       r"make_float2\(\(\((carry_\d+)\[\(\(mt \* 16 \+ nt\) \* 2 \+ h\) \* 2 \+ 0\] \* (t_\d+_rcp)\[mt \* 2 \+ h\]\) \* (t_\d+)\), [^\n]*\n      \}\n")

    def store4(m):
        cond, base, acc, rcp, desc = m[1], m[2], m[3], m[4], m[5]
        el = lambda b, p: f"{acc}[((mt * 16 + blk * 4 + {b}) * 2 + h) * 2 + {p}] * {rcp}[mt * 2 + h] * {desc}"
        vec = lambda p: "make_float4(" + ", ".join(el(b, p) for b in range(4)) + ")"
        return f"""      #pragma unroll
      for (int blk = 0; blk < 4; ++blk) {{ // dims 32 blk + 8 t4 + 4 p + b hold n8 tile 4 blk + b, column 2 t4 + p
        if {cond} {{
          float* o = {base} + (long long)(blk * 32 + 8 * t4);
          *reinterpret_cast<float4*>(o) = {vec(0)};
          *reinterpret_cast<float4*>(o + 4) = {vec(1)};
        }}
      }}
"""
    src, n = store.subn(store4, src)
    assert n == 1, n
    return src


if __name__ == "__main__":
    # The widened V tile's 8704 bytes are gone: the block's shared memory ends after raw V.
    build(sys.argv[1], ("gqa_decode_split_fp8.bf16.g4", "merge_states."), "gqa_decode_split_fp8.bf16.g4",
          natural if "--natural" in sys.argv[2:] else edit, shared_bytes=V_RAW + 32 * ROW, source=at_commit("a81e143"))
