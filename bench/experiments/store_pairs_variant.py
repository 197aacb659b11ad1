"""The MLA kernels' output stores written two columns at a time (hand edit, for timing before the
emitter does it): in the mma layout each thread holds columns 2*t4 and 2*t4 + 1 of a row, so the
two scalar stores of the `p` loop become one 4-byte (bf16 pair) or 8-byte (float2) store, and a
16-bit output is rounded once (the shipped line rounds, widens and rounds again).

    python3 bench/experiments/store_pairs_variant.py OUT_DIR     # then bench_cuda.py --build pairs=OUT_DIR
"""
import re
import sys

from variant_package import build

LOOP = re.compile(r"#pragma unroll\n\s*for \(int p = 0; p < 2; \+\+p\) \{\n(\s*)if \((.*?)\) (out(?:_partial)?)\[(.*?)\] = (.*);\n(\s*)\}")


def pairs(src):
    def one(m):
        ind, cond, tensor, offset, value, close = m.groups()
        assert offset.endswith("+ p))"), offset
        at = offset.replace("+ p))", "))")
        v0, v1 = (value.replace("* 2 + p]", f"* 2 + {p}]") for p in (0, 1))
        if tensor == "out":  # bf16: drop the shipped round trip, round each value once, pack
            inner = lambda v: re.search(r"\(float\)\((.*)\)\)\)\)$", v).group(1)
            store = f"*reinterpret_cast<__nv_bfloat162*>({tensor} + {at}) = __floats2bfloat162_rn({inner(v0)}, {inner(v1)});"
        else:
            store = f"*reinterpret_cast<float2*>({tensor} + {at}) = make_float2({v0}, {v1});"
        return f"{{ // p = 0, 1 in one store\n{ind}if ({cond}) {store}\n{close}}}"
    out, n = LOOP.subn(one, src)
    assert n == 1, n
    return out


if __name__ == "__main__":
    build(sys.argv[1], ("mla_", "merge_states"), ("mla_paged.bf16", "mla_decode_split.bf16"), pairs)
