# MLA split kernel, copy-address experiment (2026-11-29): hand-edited variants of
# mla_decode_split.bf16.p16.cu as the compiler emitted it at commit 492752d (read with `git show`),
# timed beside that build (`bench_cuda.py --only mla --mla-pages 16 --build VARIANT=DIR`, each DIR
# a package: that commit's manifest and the variant's PTX as cuda/NAME.sm_90a.ptx.gz, built with
# nvcc -ptx -gencode=arch=compute_90a,code=sm_90a -std=c++17). Writes tmp/exp12/VARIANT/NAME.cu.
#   pow2  the page and in-page position of each copied row by shift and mask instead of signed
#         division and remainder (exact for rows >= 0)
#   pt2   pow2, and in the whole-tile loop each thread's two page-table entries read once (its
#         8 rows tid / 64 + 4i lie in two 16-key pages) instead of once per row
#   nopt  timing only, wrong on purpose: slots computed without reading the page table
# Results in docs/performance.md (MLA section); the compiler emits pt2's sharing since
# (row-reads.ts), without pow2's shifts.
import os
import re
import subprocess

NAME = "mla_decode_split.bf16.p16"
s = subprocess.run(["git", "show", f"492752d:generated/cuda/{NAME}.cu"], capture_output=True, text=True, check=True).stdout
pow2 = re.sub(r"safe_div\(\((t_\d+_ahead \+ r)\), 16\)", r"((\1) >> 4)", s)
pow2 = re.sub(r"safe_rem\(\((t_\d+_ahead \+ r)\), 16\)", r"((\1) & 15)", pow2)
PT = "page_table[(long long)(b_98) * page_table_s0 + (long long)(safe_div((t_272_ahead + r), 16))]"
assert s.count(PT) == 6
nopt = s.replace(PT, "(b_98 * (int)page_table_s0 + safe_div((t_272_ahead + r), 16))")
old = "src[i] = ok ? (long long)(((page_table[(long long)(b_98) * page_table_s0 + (long long)(((t_272_ahead + r) >> 4))] * 16) + ((t_272_ahead + r) & 15))) * c_kv_s0 + (long long)(0) * c_kv_s1 + (long long)(c) : 0;"
k = pow2.index(old, pow2.index("  for (int t_268 = t_216;"))
loop = pow2.rindex("        #pragma unroll\n        for (int i = 0; i < 8; ++i) {", 0, k)
pre = "        const int pg0 = page_table[(long long)(b_98) * page_table_s0 + (long long)(t_272_ahead >> 4)], pg1 = page_table[(long long)(b_98) * page_table_s0 + (long long)((t_272_ahead >> 4) + 1)];\n"
new = "src[i] = ok ? (long long)(((i < 4 ? pg0 : pg1) * 16) + ((t_272_ahead + r) & 15)) * c_kv_s0 + (long long)(c) : 0;"
pt2 = pow2[:loop] + pre + pow2[loop:k] + new + pow2[k + len(old):]
for v, src in (("base", s), ("pow2", pow2), ("pt2", pt2), ("nopt", nopt)):
    os.makedirs(f"tmp/exp12/{v}", exist_ok=True)
    open(f"tmp/exp12/{v}/{NAME}.cu", "w").write(src)
print("ok")
