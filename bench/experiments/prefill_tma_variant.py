"""Prefill's whole key tiles copied by TMA (hand edit, for timing before the emitter does it).

Nsight Compute on one launch at head dim 128, S = 4096, not causal
(`h200-ncu-prefill-{flashtile,cudnn}-2026-11-30.txt`): our kernel executes 605 M instructions
against cuDNN's 311 M for the same attention, 577 a warp and 64-key tile against 296, with the
issue slots 51% busy. Part of that is the copies: every thread issues 8 cp.async for K and 8 for
V a tile, each with its address and predicate. Here, in the loop over whole tiles on sm_90a,
thread 0 issues each tile as two TMA boxes of 64 rows x 64 columns (128-byte swizzle, as wgmma
reads it) onto an mbarrier of its buffer (K's, V's), and every thread waits on the mbarrier
instead of cp.async.wait_group; the order of copies, waits and barriers is unchanged. The
tensor maps view k and v as [tokens, heads x head_dim]: a box's corner is (h x head_dim + c,
k0 + row). Partial tiles keep cp.async.

    python3 bench/experiments/prefill_tma_variant.py OUT_DIR   # then bench_cuda.py --build tma=OUT_DIR
"""
import json
import re
import subprocess
import sys

from variant_package import at_commit, build

SM90 = "#if defined(__CUDA_ARCH_FEAT_SM90_ALL)"
BEFORE = "58b811a"  # the package the edit applies to: its mha_prefill builds, still on cp.async


def helpers():
    """The map type and mbarrier helpers as the emitter wrote them for MLA's TMA copies at BEFORE,
    and a box without the L2 hint (K and V tiles are read again by the other row blocks of their head)."""
    mla = at_commit(BEFORE)("mla_paged.bf16.p64")
    a, b = mla.index("// A CUtensorMap"), mla.index("// Box (column x, row y)")
    box = r'''__device__ __forceinline__ void tma_box(unsigned char* dst, const TmaMap* map, int x, int y, unsigned char* bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(x), "r"(y), "r"((unsigned)__cvta_generic_to_shared(bar)) : "memory");
}
#endif
'''
    return "\n" + mla[a:b] + box


def edit(src):
    entry = re.search(r"__launch_bounds__\(\d+, \d+\) (\w+)\(", src)[1]
    D = int(re.search(r"_hd(\d+)_", entry)[1])
    bars = {"K": SHARED[entry], "V": SHARED[entry] + 8}
    bar = lambda t: f"smem + {bars[t]}"
    src = src.replace("\n// Runtime dims and scalar arguments", helpers() + "\n// Runtime dims and scalar arguments", 1)
    src = src.replace("    const Params P) {", "    const Params P,\n    const __grid_constant__ TmaMap k_map,\n    const __grid_constant__ TmaMap v_map) {", 1)
    init = f"""  {SM90}
  if (tid == 0) {{ // the mbarriers of the K and V buffers (TMA copies of whole tiles)
    mbar_init({bar('K')});
    mbar_init({bar('V')});
    mbar_init_fence();
  }}
  #endif
"""
    m = re.search(r"  #endif\n  const long long q_s0", src)
    src = src[: m.start() + len("  #endif\n")] + init + src[m.start() + len("  #endif\n"):]
    head = re.search(r"  // full tiles\n  for \(int (t_\d+) = (t_\d+); \1 < (t_\d+); \+\+\1\) \{\n", src)
    T, LO, HI = head.groups()
    end = src.index("  __syncthreads(); // the tiles' shared memory is free", head.end())
    h = re.search(r"\(long long\)\((h_\d+)\) \* k_s1", src)[1]
    k0 = re.search(r"\(long long\)\(\((k0_\d+) \+ ", src)[1]
    copy = re.compile(r"(\s*)// ([KV])_\d+: 64 x \d+ into shared memory, 16-byte cp\.async per 8 elements\n"
                      r"\s*for \(int r = tid / 16.*\n\s*const bool ok = true;\n\s*cp_async16\(smem \+ (\d+) \+ sw128.*\n\s*\}\n")

    def tma_copy(m, row):
        ind, t, base = m.group(1).lstrip("\n"), m.group(2), m.group(3)
        mp = "k_map" if t == "K" else "v_map"
        calls = "".join(f" tma_box(smem + {base} + sw128(0, {c}, 64), &{mp}, {h} * {D} + {c}, {k0} + {row}, {bar(t)});" for c in range(0, D, 64))
        issue = f"if (tid == 0) {{ mbar_expect_bytes({bar(t)}, {64 * D * 2});{calls} }}"
        return f"\n{ind}{SM90}\n{ind}{issue}\n{ind}#else{m.group(0).rstrip()}\n{ind}#endif\n"

    # the first whole tile's K, copied before the loop
    pre_at = src.rindex(f"  if ({LO} < {HI}) {{\n", 0, head.start())
    pre = src[pre_at:head.start()]
    pre, n = copy.subn(lambda m: tma_copy(m, re.search(r"const int (t_\d+_ahead) = ", pre)[1]), pre, count=1)
    assert n == 1
    body = src[head.end():end]
    wait = re.compile(r"    cp_async_wait<0>\(\); // ([KV])_\d+ arrived\n    fence_async_proxy\(\);.*\n")
    body, n = wait.subn(lambda m: f"    {SM90}\n    mbar_wait({bar(m.group(1))}, ({T} - {LO}) & 1);\n    #else\n{m.group(0)}    #endif\n", body)
    assert n == 2
    # V of this tile (rows T * 64 ..) and K of the next (rows (T + 1) * 64 ..)
    row_v = re.search(r"const int (t_\d+) = \(" + T + r" \* 64\);", body)[1]
    row_k = re.search(r"const int (t_\d+_ahead) = \(\(" + T + r" \+ 1\) \* 64\);", body)[1]
    body, n = copy.subn(lambda m: tma_copy(m, row_v if m.group(2) == "V" else row_k), body)
    assert n == 2
    return src[:pre_at] + pre + src[head.start():head.end()] + body + src[end:]


BUILDS = ("mha_prefill.bf16.hd128.nocausal", "mha_prefill.bf16.hd128.causal")
MAN = json.loads(subprocess.run(["git", "show", f"{BEFORE}:generated/manifest.json"], capture_output=True, text=True, check=True).stdout)
SHARED = {e["cuda"]["entryPoint"]: e["cuda"]["sharedBytes"] for v in MAN["kernels"].values() for e in v if e.get("cuda") and e["cuda"]["file"][:-3] in BUILDS}

if __name__ == "__main__":
    out = sys.argv[1]
    build(out, ("mha_prefill",), BUILDS, edit, source=at_commit(BEFORE))
    # the edited builds' manifest entries: 16 more bytes (the two mbarriers) and the tensor maps,
    # k and v viewed as [tokens, heads x head_dim] (`rowDims`: the trailing dims of a map's row)
    man = json.load(open(f"{out}/manifest.json"))
    for v in man["kernels"].values():
        for e in v:
            c = e.get("cuda") or {}
            if c.get("file", "")[:-3] in BUILDS and "sm_90a" in c.get("ptx", {}):
                c["sharedBytes"] = SHARED[c["entryPoint"]] + 16
                c["tensorMaps"] = [{"tensor": t, "box": [64, 64], "swizzle": 128, "rowDims": 2} for t in ("k", "v")]
    json.dump(man, open(f"{out}/manifest.json", "w"))
