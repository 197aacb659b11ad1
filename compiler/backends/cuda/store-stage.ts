// Wide output tiles staged through shared memory on their way to global memory: each thread
// writes its column pairs into a padded tile in the shared memory the key loop no longer needs,
// the block meets at a barrier, and every thread then stores whole 16-byte chunks of rows, so a
// warp's store covers 512 contiguous bytes instead of 8 rows x 16 or 32 bytes.
//
// Why: Nsight Compute put 77-81% of the stall samples of MLA's epilogue on the LSU queue (`lg`)
// and the epilogue at 10-12% of the kernels' samples
// (bench/results/h200-ncu-mla-epilogue-paged-vs-split-2026-11-30.txt). Staged by hand, the split
// kernel's f32 partials took 6% off split+merge and mla_paged's bf16 output 4% at page 64
// (bench/experiments/store_staged_variant.py, h200-store-stage-experiment-2026-11-30.log). The
// warp-specialized blocks' 128-row tiles from 32 KiB (WS_STAGE_MIN_BYTES): their direct stores
// were a sixth of a short prefill's time; staged, mha_prefill ran 1.05-1.14x at S = 512 and 1024
// (h200-ws-staged-stores-2026-12-02.log). Smaller tiles keep their direct pair stores: the
// one-warpgroup blocks' 64-row tiles (8-16 KiB; staged from 8 KiB on an H200, the fp8 paged
// prefill ran 1.02-1.03x but head dim 64's prefill 0.97-0.99x from S = 2048,
// h200-stage-8k-experiment-2026-12-02.log), the 128 x 128 tiles of the sm_80 builds (32 KiB, no
// A100 to time them on).
//
// Where: a pair store (store-pairs.ts) of a tile of at least the minimum whose rows are whole
// 16-byte chunks, in the kernel's top-level block after its last loop (every thread reaches it,
// no copy is in flight and no tile of the pool is read again), when the tile fits the shared
// pool: padded, else swizzled (a warp-specialized block's pool is its query tile, of the output
// tile's size exactly); the copy's row index and predicate are recomputed for each chunk's row.
import type { Block, StoreInst } from "../../ir/ir.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";
import { columnRun, pairStore } from "./store-pairs.ts";

/** Tiles smaller than this keep their direct stores (the measured gain is on 64 x 512 tiles). */
export const STAGE_MIN_BYTES = 64 * 1024;
/**
 * A warp-specialized block's (two consumer warpgroups, 128 rows) from this size: on an H200 its
 * direct pair stores took 18% of mha_prefill's time at head dim 128 and S = 512 (dropped,
 * timing only: 474 TFLOP/s against 389, bench/results/h200-prefill-epilogue-variants-2026-12-02.log).
 */
export const WS_STAGE_MIN_BYTES = 32 * 1024;

/**
 * How store s is staged: the row length (elements), its bytes and the 16-byte chunks a row. A
 * padded tile's rows are `ld` = N + 8 elements; a swizzled one's (where the padding does not fit
 * the pool) are N, with a row's 16-byte chunk c at c ^ (row & 7): the pair writes of a warp's 8
 * rows and the 8-lane phases of the chunk reads both land in distinct banks.
 */
export interface Staging {
  ld: number;
  elem: number;
  chunks: number;
  swizzled: boolean;
}

/**
 * The staging of each store of `body` that qualifies, given the tile shape each stores (`full`)
 * and the shared pool's bytes (the staged tile goes at its start).
 */
export function stagedStores(body: Block, fullOf: (s: StoreInst) => number[], poolBytes: number, minBytes = STAGE_MIN_BYTES): Map<StoreInst, Staging> {
  const out = new Map<StoreInst, Staging>();
  const lastLoop = body.insts.findLastIndex((i) => i.kind === "for");
  if (lastLoop < 0) return out;
  const after = body.insts.slice(lastLoop + 1);
  // A dot after the last loop would read a tile of the pool the staging overwrites.
  if (after.some((i) => i.kind === "def" && i.value.op.kind === "dot")) return out;
  for (const s of after) {
    if (s.kind !== "store") continue;
    const full = fullOf(s);
    const [M, N] = full;
    const elem = bytesOfName(s.tensor.dtype);
    // Pairs land in distinct banks with rows padded by 8 elements: N / 2 (16-bit) or N (f32) words
    // a row, a multiple of 32.
    const padOk = elem === 2 ? N % 64 === 0 : elem === 4 && N % 32 === 0;
    if (!pairStore(s, full) || M < 2 || !padOk || M * N * elem < minBytes) continue;
    // Rows start on 16-byte boundaries: a contiguous tensor's row length and the column start.
    const run = columnRun(s)!;
    if ((run.lastDim * elem) % 16 !== 0 || (run.start * elem) % 16 !== 0) continue;
    const chunks = (N * elem) / 16;
    if (M * (N + 8) * elem <= poolBytes) out.set(s, { ld: N + 8, elem, chunks, swizzled: false });
    else if (M * N * elem <= poolBytes && chunks % 8 === 0) out.set(s, { ld: N, elem, chunks, swizzled: true });
  }
  return out;
}
