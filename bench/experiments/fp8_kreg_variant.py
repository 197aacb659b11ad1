# FP8 split decode, K widened in registers (2026-11-29, thirteenth session): a hand edit of the
# compiler's gqa_decode_split_fp8 CUDA C to learn what widening the keys while building the
# mma.sync fragments would give before the compiler is taught it.
#
# Today each 32 x 128 E4M3 key tile is widened shared-to-shared (8 values a step, between two
# barriers) and read back by ldmatrix. Here each lane reads its B fragments straight from the
# E4M3 tile: one 8-byte load gives the four key pairs of two k16 steps. That needs the reduction
# index permuted within each 32-column block, the same way on both sides; the query tile (read
# once a block) is permuted in shared memory after it lands, so its ldmatrix fragments match.
# Lane (g, t4) of k16 step 2j + q holds slots 2 t4 + e and 2 t4 + 8 + e; they map to dims
# 32 j + 8 t4 + 4 q + e and 32 j + 8 t4 + 4 q + 2 + e. V keeps the shared-memory widening.
#
# Writes tmp/fp8kreg/pkg: a package of the gqa_decode_split_fp8 and merge_states builds with the
# edited builds' sm_90a PTX, the edits made to the CUDA C the compiler wrote before fp8-keys.ts
# (commit d9fba21, read with `git show`). Run from the repository root with generated/ built.
import re

from variant_package import at_commit, build

OUT = "tmp/fp8kreg"

PERMUTE_Q = r"""
  { // Q's columns permuted within each 32-column block to the order the E4M3 key fragments are read in
    uint32_t w[32];
    #pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int e = tid + 32 * i, r = e >> 6, wd = e & 63, j = wd >> 4, q = (wd >> 3) & 1, s2 = wd & 7;
      const int phys = 32 * j + (s2 < 4 ? 8 * s2 + 4 * q : 8 * (s2 - 4) + 4 * q + 2);
      w[i] = *reinterpret_cast<const uint32_t*>(smem + r * 272 + phys * 2);
    }
    __syncthreads();
    #pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int e = tid + 32 * i;
      *reinterpret_cast<uint32_t*>(smem + (e >> 6) * 272 + (e & 63) * 4) = w[i];
    }
    __syncthreads();
  }
"""


def kdot(acc, bf16):
    mma = "mma_bf16" if bf16 else "mma_f16"
    wid = "true" if bf16 else "false"
    return f"""    float {acc}[16] = {{}};
    #pragma unroll
    for (int j = 0; j < 4; ++j) {{ // two k16 steps: each lane's four key pairs of a key row in one 8-byte read
      uint32_t a[2][4];
      ldsm_x4(a[0], smem + 0 + (warp * 16 + (lane & 15)) * 272 + (2 * j * 16 + (lane >> 4) * 8) * 2);
      ldsm_x4(a[1], smem + 0 + (warp * 16 + (lane & 15)) * 272 + ((2 * j + 1) * 16 + (lane >> 4) * 8) * 2);
      #pragma unroll
      for (int nt = 0; nt < 4; ++nt) {{
        const uint2 w = *reinterpret_cast<const uint2*>(smem + 4352 + (nt * 8 + g) * 144 + j * 32 + t4 * 8);
        {mma}(&{acc}[nt * 4], a[0], e4m3x2_widen<{wid}>(w.x, 0), e4m3x2_widen<{wid}>(w.x, 1));
        {mma}(&{acc}[nt * 4], a[1], e4m3x2_widen<{wid}>(w.y, 0), e4m3x2_widen<{wid}>(w.y, 1));
      }}
    }}
"""


def edit(src):
    lines = src.split("\n")
    out, i, n = [], 0, 0
    while i < len(lines):
        l = lines[i]
        if re.search(r"// t_\d+: 32 x 128 fp8 widened to b?f16", l) and "smem + 4352" in lines[i + 4]:
            assert out[-1].strip() == "__syncthreads();"
            out.pop()  # the barrier before the widening: nothing else writes what the keys' reads need
            bf16 = "fp8x8_widen<true>" in lines[i + 4]
            j = i + 1
            while lines[j].strip() != "__syncthreads();":
                j += 1
            j += 1  # past the widening's closing barrier
            assert "dot(Q, K^T)" in lines[j], lines[j]
            out.append(lines[j])
            acc = re.search(r"float (t_\d+)\[16\] = \{\};", lines[j + 1]).group(1)
            # skip the kk loop: from "#pragma unroll" + "for (int kk" to its closing brace at the same indent
            k = j + 2
            assert lines[k + 1].strip().startswith("for (int kk = 0; kk < 8; ++kk)"), lines[k + 1]
            indent = lines[k + 1][: len(lines[k + 1]) - len(lines[k + 1].lstrip())]
            end = k + 2
            while lines[end] != indent + "}":
                end += 1
            out.append(kdot(acc, bf16).rstrip("\n"))
            i = end + 1
            n += 1
            continue
        out.append(l)
        if re.match(r"\s*cp_async_wait<0>\(\); // Q_\d+ has arrived", l):
            assert lines[i + 1].strip() == "__syncthreads();"
            out.append(lines[i + 1])
            out.append(PERMUTE_Q.rstrip("\n"))
            i += 2
            continue
        i += 1
    assert n >= 1
    return "\n".join(out), n


def main():
    # The compiler's output before it learned this (d9fba21), edited.
    build(f"{OUT}/pkg", ("gqa_decode_split_fp8.", "merge_states"), "gqa_decode_split_fp8.", lambda src: edit(src)[0], source=at_commit("d9fba21"))
    print("ok")


if __name__ == "__main__":
    main()
