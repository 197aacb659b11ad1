# MLA over an fp8 cache on Hopper: the leader group helps widen the next tile. (2026-12-01,
# twenty-sixth session; a hand edit of the shipped CUDA C.) In the shipped builds the copying
# group (128 threads) widens each next tile's staged E4M3 bytes beside its P·V slice: 18 chunks
# of 16 values a thread, on the path of every tile (`mla_fp8_widen_variants.py`: without the
# widening the tile loop ran 0.144 against 0.202 ms). Here both groups widen, 9 chunks a thread:
# the leader commits its own P·V slice without waiting, joins the copying group at a 256-thread
# barrier once the staged bytes landed, widens its half, then waits for its P·V.
#   - `shared`: as above.
# Run from the repository root after `node bin/flashtile.mjs compile kernels-src --out generated`,
# with PYTHONPATH=bench/experiments.
import re

from variant_package import main

OUT = "tmp/fp8shared"

TEAM_HELPER = '__device__ __forceinline__ void copy_team_sync() { asm volatile("bar.sync 4, 128;\\n" ::: "memory"); }\n'
ALL_HELPER = '__device__ __forceinline__ void copy_all_sync() { asm volatile("bar.sync 4, 256;\\n" ::: "memory"); }\n'
WIDEN = re.compile(r"      if \(t_\d+ \+ 1 < t_\d+\) \{ // the next tile's.*?\n(?=      #if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n      wgmma_wait<0>\(\); // carry)", re.S)
PV_WAIT = re.compile(r"wgmma_commit_wait\(\);\n        #pragma unroll\n        for \(int i = 0; i < 128; \+\+i\) \{\n          reg_fence\((carry_\d+)\[i\]\);\n        \}\n")


def all_threads(block):
    return block.replace("(tid - 128)", "tid").replace("raw[2]", "raw[1]").replace("j < 2;", "j < 1;").replace("copy_team_sync()", "copy_all_sync()")


def shared(src):
    assert TEAM_HELPER in src
    src = src.replace(TEAM_HELPER, TEAM_HELPER + ALL_HELPER)
    parts = src.split("  if (wcol == 0) { // the leader")
    out = [parts[0]]
    for part in parts[1:]:
        lead, other = part.split("  } else { // the other groups", 1)
        block = WIDEN.search(other).group(0)
        widen = all_threads(block)
        other = other.replace(block, widen)
        pv = list(PV_WAIT.finditer(lead))[-1]  # the leader's own P·V slice, the last of its dots
        end = lead.index("      #endif\n", pv.end()) + len("      #endif\n")
        acc = pv.group(1)
        lead = (lead[: pv.start()] + "wgmma_commit(); // waited for after the widening\n" + lead[pv.end(): end] + widen
                + f"      #if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n      wgmma_wait<0>();\n      for (int i = 0; i < 128; ++i) reg_fence({acc}[i]);\n      #endif\n" + lead[end:])
        out.append(lead + "  } else { // the other groups" + other)
    return "  if (wcol == 0) { // the leader".join(out)


VARIANTS = {"shared": shared}

if __name__ == "__main__":
    main(OUT, VARIANTS, keep=("mla_paged_fp8", "mla_decode_split_fp8", "merge_states"), edited=("mla_paged_fp8.bf16.p64", "mla_decode_split_fp8.bf16.p64"))
