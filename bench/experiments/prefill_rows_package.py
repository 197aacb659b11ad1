"""mha_prefill with more rows a block on Hopper: a package whose head dim 128 builds take BLOCK_M
rows (128: two warpgroups of 64 rows, 192: three), each K and V tile shared by the block's
warpgroups instead of copied once per 64-row block. The compiler plans whole 16-row tiles a warp
and runs the overlapped loop in every warpgroup; nothing else changes.

    python3 bench/experiments/prefill_rows_package.py ROWS OUT_DIR [--sm80]

--sm80 gives the sm_80 builds the same rows (to check the mma.sync plan of such blocks on a GPU).
Then, on a GPU: `python3 bench/bench_cuda.py --only prefill --head-dims 128 --build rROWS=OUT_DIR`
and `node .bundle/cuda-suite.mjs --generated OUT_DIR --filter .hd128. [--arch sm_80]`.

Measured on an H200 (2026-11-30, bench/results/h200-prefill-rows-2026-11-30.{log,json}): 0.65-0.82x
as fast as the shipped 64-row blocks (three an SM) at every length, causal and not, though the
L2 traffic fell from 80% to 19% of its peak (Nsight Compute, S = 4096: h200-ncu-prefill-192rows-2026-11-30.txt).
Not kept: a block's barriers keep its warpgroups in step, so their softmaxes fall together."""
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    rows, out = int(sys.argv[1]), sys.argv[2]
    tmp = tempfile.mkdtemp()
    shutil.copytree("kernels-src", f"{tmp}/specs")
    path = f"{tmp}/specs/mha.ts"
    src = open(path).read()
    new = src.replace("HEAD_DIM in [64, 128, 256], BLOCK_M = 64,", f"HEAD_DIM in [64, 128, 256], BLOCK_M = (HEAD_DIM == 128 ? {rows} : 64),")
    if "--sm80" in sys.argv:
        new = new.replace("target cuda sm_80: BLOCK_M = (HEAD_DIM > 128 ? 64 : 128),", f"target cuda sm_80: BLOCK_M = (HEAD_DIM == 128 ? {rows} : HEAD_DIM > 128 ? 64 : 128),")
    assert new != src and re.search(rf"\? {rows} :", new), "mha.ts's cuda target line changed: update this script"
    open(path, "w").write(new)
    subprocess.run(["node", "bin/flashtile.mjs", "compile", path, "--out", out], check=True)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
