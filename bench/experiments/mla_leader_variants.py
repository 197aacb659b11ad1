# MLA split kernel under the leader schedule, copy experiment (2026-11-29): hand-edited variants
# of mla_decode_split.bf16.p16.cu as the compiler emitted it at commit 885841e (read with `git
# show`), timed beside that build (`bench_cuda.py --only mla --mla-pages 16 --build VARIANT=DIR`,
# each DIR a package: that commit's manifest and the variant's PTX as
# cuda/NAME.sm_90a.ptx.gz, built with nvcc -ptx -gencode=arch=compute_90a,code=sm_90a -std=c++17).
# Writes tmp/exp13/BUILD-VARIANT/NAME.cu. Only the whole-tile loop's copies (the other group's) change:
#   ptahead  the four page-table entries of a thread's rows read a tile ahead (after this tile's
#            copies, for the next one's), so no copy waits for a table read
#   nopt     timing only, wrong on purpose: slots computed without reading the page table
#   nocopy   timing only, wrong on purpose: no latent or rope copies in that loop
import os
import re
import subprocess

NAME = "mla_decode_split.bf16.p16"
PT_C = "t_274_rows[k] = page_table[(long long)(b_96) * page_table_s0 + (long long)(safe_div((t_268_ahead + ((tid - 128) / 64 + k * 16)), 16))];"
PT_R = "page_table[(long long)(b_96) * page_table_s0 + (long long)(safe_div((t_268_ahead + r), 16))]"
HEAD = "    for (int t_264 = t_212; t_264 < t_215; ++t_264) {"


def variants(s, end_marker):
    """The variants of one build: the other group's whole-tile loop (its head to end_marker) edited."""
    top = s.index(HEAD, s.index("  } else { // the other groups", s.index("// full tiles")))
    end = s.index(end_marker, top)
    loop = s[top:end]
    assert loop.count(PT_C) == 1 and loop.count(PT_R) == 1
    nopt = loop.replace(PT_C, "t_274_rows[k] = b_96 * (int)page_table_s0 + safe_div((t_268_ahead + ((tid - 128) / 64 + k * 16)), 16);")
    nopt = nopt.replace(PT_R, "(b_96 * (int)page_table_s0 + safe_div((t_268_ahead + r), 16))")
    nocopy = "\n".join(l for l in loop.split("\n") if "cp_async16(" not in l)
    # ptahead: `pre` holds the entries of tile t + 1's four pages when tile t starts (read before
    # the loop for its first index + 1); the copies of tile t + 1 read them, then tile t + 2's
    # are read, after both copies are issued.
    pre = "    int pre[4];\n    #pragma unroll\n    for (int k = 0; k < 4; ++k) pre[k] = (t_212 + 1 < t_215) ? page_table[(long long)(b_96) * page_table_s0 + (long long)((t_212 + 1) * 4 + k)] : 0;\n"
    ahead = pre + loop
    ahead = re.sub(r"int t_274_rows\[4\]; // row i's entry[^\n]*\n(\s*)#pragma unroll\n\s*for \(int k = 0; k < 4; \+\+k\) " + re.escape(PT_C), r"int t_274_rows[4];\n\1#pragma unroll\n\1for (int k = 0; k < 4; ++k) t_274_rows[k] = pre[k];", ahead)
    assert PT_C not in ahead
    ahead = ahead.replace(PT_R, "pre[i]")
    commit = "      cp_async_commit();\n      // kernels-src/decode_split.ts:73"
    assert ahead.count(commit) == 1
    ahead = ahead.replace(commit, "      cp_async_commit();\n      #pragma unroll\n      for (int k = 0; k < 4; ++k) pre[k] = (t_264 + 2 < t_215) ? page_table[(long long)(b_96) * page_table_s0 + (long long)((t_264 + 2) * 4 + k)] : 0;\n      // kernels-src/decode_split.ts:73")
    return {"base": loop, "ptahead": ahead, "nopt": nopt, "nocopy": nocopy}, s[:top], s[end:]


# v1: the build at 885841e (one block barrier a tile); v2: the working tree's build with named
# barriers between the groups and every P·V waited for a tile later (leader-emit.ts as tried).
v1 = subprocess.run(["git", "show", f"885841e:generated/cuda/{NAME}.cu"], capture_output=True, text=True, check=True).stdout
v2 = open(f"generated/cuda/{NAME}.cu").read() if os.path.exists(f"generated/cuda/{NAME}.cu") else None
for tag, src, marker in (("v1", v1, "__syncthreads(); // the loop's published rows are read"), ("v2", v2, "__syncthreads(); // every group is past the loop")):
    if src is None or marker not in src:
        continue
    parts, before, after = variants(src, marker)
    for v, body in parts.items():
        os.makedirs(f"tmp/exp13/{tag}-{v}", exist_ok=True)
        open(f"tmp/exp13/{tag}-{v}/{NAME}.cu", "w").write(before + body + after)
print("ok")
