"""What a persistent warp-specialized prefill block's work item spends outside its key loop (timing
only: the outputs are wrong on purpose). 2026-12-02, thirty-sixth session: mha_prefill.bf16.hd128
.nocausal as a persistent block walking the grid's row tiles (branch exp/persistent-walk, commit
ee56db6: persistent.ts; its epilogue still the direct pair stores), with one of these left out:
  - `noq`: the query tile's copy, but for the block's first item (every later item reuses it);
  - `nostore`: the stores of out and lse;
  - `nosync`: the consumers' two barriers between items (before the query's copy, after the stores);
  - `all3`: the three together.
Measured on an H200 (bench/results/h200-prefill-epilogue-variants-2026-12-02.log): at S = 512
the stores cost most (474 TFLOP/s without them against 389), the query's copy next (430), the
barriers little (396); the staged epilogue (store-stage.ts) came of it.

Run in a checkout of that commit (its generated/ is the source edited, its manifest marks the
build persistent and its bench/generated_kernels.py launches it so), this file copied in:

    git checkout ee56db6 && git show main:bench/experiments/prefill_epilogue_variants.py > tmp/v.py
    PYTHONPATH=bench/experiments python3 tmp/v.py [VARIANT ...]
    python3 bench/bench_cuda.py --only prefill --head-dims 128 --build noq=tmp/epilogue/noq ...
"""
from variant_package import main
ROW_OK = "if (((t_312 + ((warp * 1 + mt) * 16 + g + 8 * h)) < q_len_306)) "
ITEM_SYNC = "      consumers_sync(); // this item's shared memory is read: the next may overwrite it\n"
Q_SYNC = "      consumers_sync(); // the previous iteration's readers are done with these tiles\n      // Q_317"


def consumers(edit):
    """Apply `edit` to the consumers' branch alone."""
    def apply(src):
        at = src.index("} else { // the consumers")
        out = src[:at] + edit(src[at:])
        assert out != src, "the edit matched nothing"
        return out
    return apply


def no_q(c):
    loop = c.index("for (int r = tid / 16", c.index("// Q_317: 128 x 128 into shared memory"))
    return c[:loop] + "if (ws_item == (int)blockIdx.x) " + c[loop:]


def no_store(c):
    return c.replace(ROW_OK + "*reinterpret_cast", "if (P.batch < 0 && " + ROW_OK[4:] + "*reinterpret_cast").replace(ROW_OK + "lse[", "if (P.batch < 0 && " + ROW_OK[4:] + "lse[")


def no_sync(c):
    return c.replace(ITEM_SYNC, "", 1).replace(Q_SYNC, "      // Q_317", 1)


VARIANTS = {
    "noq": consumers(no_q),
    "nostore": consumers(no_store),
    "nosync": consumers(no_sync),
    "all3": consumers(lambda c: no_sync(no_store(no_q(c)))),
}

if __name__ == "__main__":
    main("tmp/epilogue", VARIANTS, keep=("mha_prefill.",), edited="mha_prefill.bf16.hd128.nocausal$")
