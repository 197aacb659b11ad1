// Loops whose next tile's scores run beside this tile's P·V, inside each warpgroup (FlashAttention
// 3's overlap of softmax and tensor work within a warpgroup). As emitted otherwise, each tile of
// a warpgroup's wgmma loop runs its scores, waits, runs the softmax, then P·V, and waits: its
// own tensor work never overlaps its softmax, and only other blocks on the SM hide it. Here each
// iteration issues the next tile's scores and this tile's P·V back to back, waits for the scores
// alone, and runs their softmax while P·V still runs (overlap-emit.ts has the order). K keeps its
// one buffer (copied as soon as the scores that read it are done); V takes two, so a tile's copy
// starts a tile and a half before its P·V, and three blocks still fit an SM at head dim 128.
//
// Measured on an H200 as a hand edit first (bench/experiments/prefill_overlap_variant.py,
// docs/performance-history.md): mha_prefill at head dim 128 1.09-1.15x at every length, causal
// and not; both tiles in two buffers (two blocks an SM) 0.95-1.03x. Compiled: 1.05-1.14x at head
// dim 128, gqa_paged at pages 16 and 64 up to 1.46x, swa_paged 1.06x (docs/performance.md). At head dim 256 ptxas
// spilled and causal lengths were 4-8% slower: see MAX_LIVE_REGS. Blocks of several row
// warpgroups (BLOCK_M = 128 or 192, sharing each K and V tile) take it too; on the H200 they ran
// 0.65-0.82x as fast as the three one-warpgroup blocks an SM that mha_prefill ships (the barriers
// keep a block's warpgroups in step; docs/performance-history.md).
//
// Over an fp8 cache the streams are the staged E4M3 tiles (tma-stream.ts) and the dots read the
// 16-bit tiles widened from them: each copy is widened by every thread right after its wait,
// before the dot's issue (overlap-emit.ts), K into its widened tile, V into one of its own, so
// that the widening of V(j) may run while the scores of tile j + 1 do. Measured as a hand edit
// first (bench/experiments/fp8_prefill_overlap_variant.py); compiled, gqa_paged_fp8's prefill
// 1.07-1.08x on an H200 beside the plain loop with the same TMA copies (docs/performance.md).
// Where the loop spills at three blocks an SM the build drops it first (generate-cuda.ts).
// Where the scores allow it, they read K's staged bytes by FP8 wgmma instead of its widened tile,
// the query split in two E4M3 tiles before the loop (split-scores.ts decides, after this file).
import type { ForInst, Value } from "../../ir/ir.ts";
import { type CudaPlan, readsInline } from "./plan.ts";
import { loopCopyDeps } from "./prefetch.ts";
import type { QuerySplit } from "./split-scores.ts";
import type { TmaStream } from "./tma-stream.ts";
import type { WsStages } from "./warp-specialize.ts";

export interface Overlap {
  loop: ForInst;
  /** The body's first dot, S = Q·K^T: A from outside the loop, B the K stream's tile. */
  scores: Value;
  /** The body's last dot, accumulated in place into `carried` (acc * alpha + P·V): A in registers, B the V stream's tile. */
  pv: Value;
  carried: Value;
  k: TmaStream;
  v: TmaStream;
  /**
   * Over an fp8 cache: the 16-bit tiles the dots read, widened from the streams' staged E4M3
   * bytes (plan.staged) by every thread once a copy lands; undefined where the streams are them.
   */
  kWide?: Value;
  vWide?: Value;
  /** The body scalars each copy's addresses read (recomputed for the copy's tile). */
  kDeps: Value[];
  vDeps: Value[];
  /** Byte offsets of V's second buffer and of its mbarrier. */
  v2: number;
  bar2: number;
  /** Byte offset of V's widened tile, one of its own (the allocator may share K's with it): vWide only. */
  vw?: number;
  /** Where the scores read K's staged bytes by FP8 wgmma instead of kWide (split-scores.ts). */
  split?: QuerySplit;
  /**
   * The warp-specialized schedule's consumer loop (warp-specialize.ts): K and V come from a
   * producer warpgroup's stages, waited for on their full mbarriers and released on their empty
   * ones, instead of copies of the loop's own.
   */
  ws?: WsStages;
}

type Dot = Extract<Value["op"], { kind: "dot" }>;
const stripT = (v: Value): Value => (v.op.kind === "transpose" ? v.op.a : v);

/**
 * Registers a thread the schedule keeps live at once, counted as for two packed P sets: the
 * scores, two P tiles (half the scores' each) and P·V's accumulator. 128 at head dim 128 (64-key
 * tiles) fits three blocks an SM; head dim 256 (192) spilled with two, head dim 64 with 128-key
 * tiles (160) with three. Counted with one set (onePSet) the latter is 128, but it still spilled
 * at three blocks an SM (2026-12-01), so the count stays.
 */
const MAX_LIVE_REGS = 128;

/**
 * Does P live in one register set, packed once the P·V reading it is done (overlap-emit.ts)?
 * Where P·V's accumulator is at most 64 columns wide: on the H200 that took mha_prefill at head
 * dim 64 (not causal) 1.04-1.13x, but head dim 128 and gqa_paged's prefill 0.95-0.98x
 * (h200-overlap-one-pset-2026-12-01.{log,json}). The warp-specialized consumers always: with P in
 * two sets at 128-key tiles ptxas spilled and serialized every wgmma, even at 240 registers
 * (bench/experiments/prefill_ws_variant.py).
 */
export function onePSet(o: { pv: Value; ws?: WsStages }): boolean {
  return o.pv.type.shape[1] <= 64 || o.ws !== undefined;
}

/**
 * The loops this schedule takes (with `widened` false, none whose dots read widened fp8 tiles),
 * their second V buffers and mbarriers (and V's own widened tile) from byte `at`; `end`: the bytes then used.
 */
export function overlaps(streams: TmaStream[], plan: CudaPlan, at: number, widened = true): { loops: Map<ForInst, Overlap>; end: number } {
  const loops = new Map<ForInst, Overlap>();
  let end = at;
  if (plan.shape.kind !== "mma" || plan.shape.WC !== 1 || plan.shape.W % 4 !== 0 || plan.shape.MT !== 1) return { loops, end };
  for (const f of new Set(streams.map((s) => s.loop))) {
    const o = overlapOf(f, streams.filter((s) => s.loop === f), plan);
    if (!o || (!widened && (o.kWide || o.vWide))) continue;
    const [R, C] = o.v.v.type.shape;
    // V's widened tile (swizzled: 1024-byte aligned), then its second staging buffer.
    const vw = o.vWide ? Math.ceil(end / 1024) * 1024 : undefined;
    if (vw !== undefined) end = vw + R * C * 2;
    const v2 = Math.ceil(end / 1024) * 1024;
    const bar2 = v2 + R * C * o.v.bytes;
    loops.set(f, { ...o, v2, bar2, ...(vw !== undefined ? { vw } : {}) });
    end = bar2 + 8;
  }
  return { loops, end };
}

/**
 * Loop f in this schedule's shape, its K and V tiles those of `own`, or undefined. `staged`: for
 * the warp-specialized consumers (warp-specialize.ts), which run any trip count and whose 240 or
 * 160 registers a thread ptxas is left to fit (the build's spill check stands).
 */
export function overlapOf(f: ForInst, own: TmaStream[], plan: CudaPlan, staged = false): Omit<Overlap, "v2" | "bar2"> | undefined {
  // Paged tiles: lane j of the first warp issues page j's boxes.
  if ((f.maxTrips === 1 && !staged) || own.length !== 2 || own.some((s) => s.v.type.shape[0] / s.rows > 32)) return undefined;
  if (!f.body.insts.every((i) => i.kind === "def")) return undefined;
  const defs = f.body.insts.map((i) => (i.kind === "def" ? i.value : undefined)!);
  const dots = defs.filter((v) => v.op.kind === "dot");
  if (dots.length !== 2 || !dots.every((d) => plan.wgmma.has(d) && !plan.kSplit.has(d))) return undefined;
  const [scores, pv] = dots;
  const s = scores.op as Dot;
  const p = pv.op as Dot;
  // A widened tile's stream is its staged E4M3 copy's.
  const wide = (t: Value) => (plan.staged.has(t) ? t : undefined);
  const [kWide, vWide] = [wide(stripT(s.b)), wide(p.b)];
  const k = own.find((x) => x.v === (kWide ? plan.staged.get(kWide) : stripT(s.b)));
  const v = own.find((x) => x.v === (vWide ? plan.staged.get(vWide) : p.b));
  if (!k || !v || s.b.op.kind !== "transpose" || plan.accumulateInto.has(scores) || defs.includes(s.a)) return undefined;
  // P·V in place into a carried tile only its addend reads, A (P) in registers.
  const fused = plan.accumulateInto.get(pv);
  const y = fused ? f.yields.indexOf(fused.sum) : -1;
  if (!fused || y < 0 || plan.uses.get(fused.sum) !== 1) return undefined;
  const carried = f.carried[y];
  if (plan.uses.get(carried) !== 1 || !readsInline(plan, fused.addend, carried)) return undefined;
  if (plan.sharedOperands.has(p.a) || plan.cachedFragments.has(p.a)) return undefined;
  // Accumulator registers a thread (one warpgroup of 64 rows): columns / 2.
  const scoresRegs = scores.type.shape[1] / 2;
  if (2 * scoresRegs + pv.type.shape[1] / 2 > MAX_LIVE_REGS && !staged) return undefined;
  // After P·V only its sum (written in place).
  if (defs.slice(defs.indexOf(pv) + 1).some((d) => d !== fused.sum)) return undefined;
  const kDeps = loopCopyDeps(f, k.v, plan);
  const vDeps = loopCopyDeps(f, v.v, plan);
  if (!kDeps || !vDeps) return undefined;
  return { loop: f, scores, pv, carried, k, v, kDeps, vDeps, ...(kWide ? { kWide } : {}), ...(vWide ? { vWide } : {}) };
}
