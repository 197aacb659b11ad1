"""The MLA kernels' output tile staged through shared memory before it goes to global memory (hand
edit, for timing before the emitter does it): Nsight Compute put 77-81% of the epilogue's stall
samples on the LSU queue (`lg`), with each warp store writing 8 rows x 16 or 32 bytes. Here each
thread writes its pairs into a padded [64, 520] tile in the freed key buffers, the block meets at a
barrier, and then each thread stores whole 16-byte chunks of rows: a warp writes 512 contiguous
bytes a store.

    python3 bench/experiments/store_staged_variant.py OUT_DIR    # then bench_cuda.py --build staged=OUT_DIR
"""
import re
import sys

from variant_package import build

ROW = "((warp * 1 + mt) * 16 + g + 8 * h)"
STORE = re.compile(
    r"  // (out(?:_partial)?): two adjacent columns a store \(store-pairs\.ts\)\n"
    r"(?:\s*#pragma unroll\n\s*for \([^\n]*\n){3}"
    r"\s*if \((.*?)\) \*reinterpret_cast<(\w+)\*>\(\1 \+ (.*) \+ \(long long\)\(\(wcol \* 256 \+ nt \* 8 \+ 2 \* t4 \+ 0\)\)\) = (\w+)\((.*)\);\n"
    r"(?:\s*\}\n){3}"
)
LD = 520  # padded row: the pairs' writes (8 rows x 4 lanes) fall in distinct banks
STAGE = 73728  # the key buffers, free once the loop is done


def staged(src):
    m = STORE.search(src)
    assert m, "no pair store"
    tensor, cond, vtype, offset, pack, args = m.groups()
    elem = 2 if vtype == "__nv_bfloat162" else 4
    # Inline the row arrays (row-hoist.ts) so the copy phase can evaluate any row r.
    defs = dict(re.findall(r"\n\s*(\w+_row)\[mt \* 2 \+ h\] = (.*);\n", src))
    at_row = lambda e: re.sub(r"(\w+_row)\[mt \* 2 \+ h\]", lambda d: defs[d.group(1)], e).replace(ROW, "r")
    cpr = 512 * elem // 16
    body = f"""  // {tensor}: staged through shared memory, then 16-byte chunks of whole rows (store_staged_variant.py)
  __syncthreads(); // every warp is done with the key buffers
  #pragma unroll
  for (int mt = 0; mt < 1; ++mt) {{
    #pragma unroll
    for (int h = 0; h < 2; ++h) {{
      #pragma unroll
      for (int nt = 0; nt < 32; ++nt) {{
        *reinterpret_cast<{vtype}*>(smem + {STAGE} + ({ROW} * {LD} + (wcol * 256 + nt * 8 + 2 * t4)) * {elem}) = {pack}({args});
      }}
    }}
  }}
  __syncthreads(); // the tile is staged
  #pragma unroll 4
  for (int i = tid; i < 64 * {cpr}; i += 256) {{
    const int r = i / {cpr}, c = (i % {cpr}) * {16 // elem};
    if ({at_row(cond)}) *reinterpret_cast<uint4*>({tensor} + {at_row(offset)} + (long long)(c)) = *reinterpret_cast<const uint4*>(smem + {STAGE} + (r * {LD} + c) * {elem});
  }}
"""
    return src[: m.start()] + body + src[m.end():]


if __name__ == "__main__":
    build(sys.argv[1], ("mla_", "merge_states"), ("mla_paged.bf16", "mla_decode_split.bf16"), staged)
