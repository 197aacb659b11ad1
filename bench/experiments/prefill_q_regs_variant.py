"""Prefill's scores with Q's A fragments in registers (hand edit, for timing before the emitter
does it).

As emitted, every tile's S = Q.K^T is a chain of wgmma m64nNk16 with both operands in shared
memory: each k16 step reads 2 KiB of Q and N * 32 bytes of K. At N = 64 that is 4 KiB in the 32
cycles the step takes at the tensor cores' peak, 128 bytes a cycle: all of a Hopper SM's shared
memory bandwidth, with the tile copies and P.V's reads of V still to come. Q does not change
across the key loop, so here each warp loads its 16 rows of Q once as mma.sync A fragments
(ldmatrix, 4 registers a k16 step: 32 at head dim 128) and the scores become wgmma with A from
registers, reading only K from shared memory. (The planner already does this where the fragments
take at most 16 registers, head dim 64: `cachedFragments` in plan.ts; this is head dim 128.) Variant `qreg3` keeps the build's three
blocks per SM (`__launch_bounds__(128, 3)`), `qreg2` asks for two.

    python3 bench/experiments/prefill_q_regs_variant.py OUT_DIR    # writes OUT_DIR/qreg3, OUT_DIR/qreg2
"""
import re
import sys

from variant_package import at_commit, build

SS = re.compile(r"wgmma_m64n(\d+)k16_ss_bf16<0>\((t_\d+), da \+ \(uint64_t\)\(\(\(kk >> 2\) \* 8192 \+ \(kk & 3\) \* 32\) >> 4\), ")
Q_ARRIVED = re.compile(r"  cp_async_wait<0>\(\); // (Q_\d+) has arrived\n  fence_async_proxy\(\);.*\n  __syncthreads\(\);\n")
CHAIN = re.compile(r"for \(int kk = 0; kk < (\d+); \+\+kk\) \{\n\s*wgmma_m64n\d+k16_ss_bf16<0>\(t_\d+, da ")


def rs_helper(n):
    d = ", ".join(f"%{i}" for i in range(n // 2))
    outs = ", ".join(f'"+f"(d[{i}])' for i in range(n // 2))
    a = ", ".join(f"%{n // 2 + i}" for i in range(4))
    return f'''// d (64 x {n}) += A (64 x 16, mma.sync A fragments in registers) . B (16 x {n}, shared memory)
template <int TRANS_B> __device__ __forceinline__ void wgmma_m64n{n}k16_rs_bf16(float* d, const uint32_t a[4], uint64_t db) {{
  asm volatile("{{\\n.reg .pred p;\\nsetp.ne.b32 p, 1, 0;\\n"
               "wgmma.mma_async.sync.aligned.m64n{n}k16.f32.bf16.bf16 {{{d}}}, {{{a}}}, %{n // 2 + 4}, p, 1, 1, %{n // 2 + 5};\\n}}\\n"
               : {outs}
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "n"(TRANS_B));
}}
'''


def q_regs(blocks):
    def edit(src):
        ns = sorted({int(m.group(1)) for m in SS.finditer(src)})
        ks = {int(m.group(1)) for m in CHAIN.finditer(src)}
        assert ns and len(ks) == 1, (ns, ks)
        steps = ks.pop()
        helpers = "".join(rs_helper(n) for n in ns if f"wgmma_m64n{n}k16_rs_bf16(" not in src)
        k = src.index("#endif\n\n// Runtime dims")
        src = src[:k] + helpers + src[k:]
        m = Q_ARRIVED.search(src)
        load = (
            f"  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n"
            f"  uint32_t qa[{steps}][4]; // {m.group(1)}'s A fragments, read once for every tile's scores\n"
            f"  #pragma unroll\n"
            f"  for (int kk = 0; kk < {steps}; ++kk) ldsm_x4(qa[kk], smem + 0 + sw128(warp * 16 + (lane & 15), kk * 16 + (lane >> 4) * 8, 64));\n"
            f"  #endif\n"
        )
        src = src[: m.end()] + load + src[m.end():]
        src = SS.sub(lambda m: f"wgmma_m64n{m.group(1)}k16_rs_bf16<0>({m.group(2)}, qa[kk], ", src)
        return src.replace("__launch_bounds__(128, 3)", f"__launch_bounds__(128, {blocks})")
    return edit


if __name__ == "__main__":
    out = sys.argv[1]
    builds = ("mha_prefill.bf16.hd128.causal", "mha_prefill.bf16.hd128.nocausal", "swa_paged.bf16.p16")
    for blocks in (3, 2):
        build(f"{out}/qreg{blocks}", ("mha_prefill", "swa_paged"), builds, q_regs(blocks), source=at_commit("e026b4e"))  # the package these runs edited
