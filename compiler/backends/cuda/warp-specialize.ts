// The warp-specialized schedule (FlashAttention 3's and cuDNN's arrangement of a Hopper block): a
// block of 64 x NC rows runs NC consumer warpgroups and one producer warpgroup after them. The
// producer (48 or 32 registers, setmaxnreg) copies each loop's K and V tiles into two stages each; every
// stage has a "full" mbarrier (the copy's bytes, or the producer's arrival after cp.async) and an
// "empty" one (the arrival of each consumer thread once the wgmma reading it was waited for). The
// consumers (224 registers for two, 160 for three) run the overlapped order of overlap-emit.ts
// with P in one register set; they wait only on the stages, never on each other, and take turns
// issuing their wgmmas (the ping-pong: named barriers 8.., ws-emit.ts), so one group's softmax
// runs beside another's matrix work. With the registers setmaxnreg frees, a tile can be 128 keys.
//
// Written by hand first (bench/experiments/prefill_ws_variant.py) and measured on an H200 against
// the shipped one-warpgroup blocks: at head dim 128 and S = 8192 / 16384, 716 / 722 TFLOP/s not
// causal against 613 / 590 (cuDNN 691 / 691), causal 656 / 723 against 565 / 585
// (docs/performance-history.md). This file decides which kernels take it and lays out the stages;
// ws-emit.ts writes the two roles. It takes a kernel only if:
// - its build is for sm_90a alone (sm_80 has its own, from the spec's `target cuda sm_80:`) and
//   its dots are wgmma, 64-row row tiles in NC = 2 or 3 warpgroups;
// - its body at the top level is scalar definitions, guards that return, stores and tile loops,
//   and every loop is the overlapped shape (overlap.ts: S = Q·K^T, the softmax, O += P·V in
//   place) over K and V tiles of the same two tensors, 16-bit and in whole 64-column blocks,
//   whose rows are consecutive rows of the tensor, whole pages of at least 64 rows from a page
//   table (a paged cache: one box a page, lane j of the producer's first warp issuing page j's),
//   or rows from smaller pages (one-row pages included), which the producer gathers.
//   A tile is boxes of TMA where its loads' predicates hold for all its rows (none, or `row <
//   bound`, tested at the last row: wholeRows; a page-table read may carry the same predicate),
//   else cp.async of the whole producer group, zero-filled where the predicate fails (TMA would
//   read the next sequence's rows: bench/experiments/prefill_ws_poison.py). A gathered tile is
//   always the producer threads' cp.async, each arriving on the stage's full mbarrier as its
//   copies land (ws-emit.ts): measured on an H200, gqa_paged's causal prefill at page 1 1.32-1.42x
//   the one-warpgroup blocks it replaced (docs/performance.md).
import type { TensorMapSpec } from "../../../runtime/manifest.ts";
import type { Block, ForInst, KernelIR, Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { operands } from "../../ir/ir.ts";
import { type Overlap, overlapOf } from "./overlap.ts";
import type { CudaPlan } from "./plan.ts";
import { boxColumns, mapParam, pageBoxRows } from "./tma.ts";
import { ownEntries, uniform } from "./row-reads.ts";
import { type TmaStream, contiguousRows, rowRun } from "./tma-stream.ts";

/** The stages and roles of a warp-specialized kernel (the consumers' loops carry it: Overlap.ws). */
export interface WsStages {
  /** Consumer warpgroups, 64 rows each; the producer is warpgroup `consumers`. */
  consumers: number;
  /** Byte offsets of K's two stages and of V's, and each stage's bytes. */
  kAt: number;
  vAt: number;
  kBytes: number;
  vBytes: number;
  /** Byte offset of the eight mbarriers: full K, full V, empty K, empty V, two stages each. */
  bars: number;
  /** Registers a thread after setmaxnreg: the producer's and the consumers'. */
  producerRegs: number;
  consumerRegs: number;
  /**
   * K and V gathered a row at a time (pages under MIN_WS_BOX_ROWS rows): every producer thread copies its share of
   * each tile by cp.async and arrives on the full mbarrier once its copies land (an arrival count
   * of 128), the consumers fence the async proxy after their wait (ws-emit.ts).
   */
  gathered: boolean;
}

export interface WarpSpecialized {
  stages: WsStages;
  /** Every tile loop of the kernel, in program order, as consumer loops. */
  loops: Map<ForInst, Overlap>;
  /** The shared-memory bytes then used. */
  end: number;
}

/** The loops and tiles a kernel would take it with (decided before shared memory is laid out). */
export interface WsCandidate {
  consumers: number;
  loops: { f: ForInst; k: Value; v: Value }[];
  /** The K and V tiles: in the producer's stages, not in the allocator's pool. */
  tiles: Set<Value>;
}

/** Which mbarrier, as a byte offset from WsStages.bars. */
export const WS_BAR = { fullK: 0, fullV: 16, emptyK: 32, emptyV: 48 } as const;

/** The C address of stage `stage`'s mbarrier `which`. */
export const wsBar = (st: WsStages, which: keyof typeof WS_BAR, stage: string): string => `smem + ${st.bars + WS_BAR[which]} + 8 * (${stage})`;

/**
 * setmaxnreg's split of a block's 65536 registers by consumer warpgroups: the producer's 128
 * threads, then each consumer thread (two: 128 x 48 (56 gathering) + 256 x 224; three: 128 x 32 + 384 x 160).
 * The producer's rolled cp.async tiles spilled at 24 and 32 (8-16 bytes at head dim 256,
 * 2026-12-01), and the consumers of head dims 128 and 256 fit 224 without a spill.
 */
const PRODUCER_REGS: Record<number, number> = { 2: 48, 3: 32 };
/** A gathering producer's (WsStages.gathered): at 48 its row addresses spilled 8 bytes (two consumers, 2026-12-02). */
const GATHER_PRODUCER_REGS: Record<number, number> = { 2: 56, 3: 32 };

/**
 * A consumer thread's registers after setmaxnreg, given the producer's: what the block holds at
 * launch (ptxas' count a thread under __launch_bounds__(threads, 1): 65536 / threads, in steps of
 * 8), less the producer's, shared by the consumers' threads in steps of 8. setmaxnreg.inc waits
 * until the decreases have freed what it asks: a split over the block's registers hangs the
 * consumers at their first instruction (128 x 64 + 256 x 224 against 384 x 168 did on an H200,
 * 2026-12-02). Two consumers: 224 beside a producer of 48 or 56; three: 160 beside 32.
 */
export function wsConsumerRegs(consumers: number, producerRegs: number): number {
  const threads = (consumers + 1) * 128;
  const atLaunch = Math.floor(65536 / threads / 8) * 8;
  return Math.min(256, Math.floor((threads * atLaunch - 128 * producerRegs) / (consumers * 128) / 8) * 8);
}

/** K's (or V's) tile in stage `stage` (a C term), as a region: the two stages one tile apart. */
export function wsStageRegion(st: WsStages, which: "K" | "V", stage: string, tile: Value): Region {
  const [at, bytes] = which === "K" ? [st.kAt, st.kBytes] : [st.vAt, st.vBytes];
  return { pool: "bytes", offset: `(${at} + ${bytes} * ${stage})`, stride: tile.type.shape[1] * 2 };
}

type Dot = Extract<Value["op"], { kind: "dot" }>;
const stripT = (v: Value): Value => (v.op.kind === "transpose" ? v.op.a : v);

/** The loop's K and V tiles where its body is the overlapped shape over two streamable loads. */
function tileLoop(f: ForInst, plan: CudaPlan): { k: Value; v: Value } | undefined {
  if (!f.body.insts.every((i) => i.kind === "def")) return undefined;
  const defs = new Set(f.body.insts.map((i) => (i.kind === "def" ? i.value : undefined)!));
  const dots = [...defs].filter((v) => v.op.kind === "dot");
  if (dots.length !== 2) return undefined;
  const k = stripT((dots[0].op as Dot).b);
  const v = (dots[1].op as Dot).b;
  const ok = (t: Value) =>
    defs.has(t) && t.op.kind === "load" && !plan.staged.has(t) && !plan.converted.has(t) && !plan.recast.has(t) && boxColumns(plan, t, true) && boxRows(plan, t) !== undefined;
  if (!ok(k) || !ok(v)) return undefined;
  // One producer path for both: K's and V's rows both consecutive, both from pages, or both gathered.
  const [bk, bv] = [boxRows(plan, k)!, boxRows(plan, v)!];
  return bk.paged === bv.paged && !!bk.gathered === !!bv.gathered ? { k, v } : undefined;
}

/**
 * Pages of fewer rows than this are gathered by the producer's cp.async rather than boxed. On an
 * H200 (gqa_paged, causal prefill, B=4 S=4096 and B=1 S=16384; docs/performance.md): at page 16
 * the gather ran 1.04-1.08x the 16-row boxes; at page 64 the boxes ran 1.03-1.04x the gather
 * (gqa_paged on the decode shapes, 64 x 4096 and 16 x 16384).
 */
const MIN_WS_BOX_ROWS = 64;

/**
 * The rows of tile t's TMA boxes: all its rows where they are consecutive rows of its tensor, a
 * page's where they come from whole pages of a page table of at least MIN_WS_BOX_ROWS rows (one
 * box a page and column block). Where they come from smaller pages, or each row reads a table
 * entry of its own (one-row pages, no box), the tile is `gathered`: the producer copies its rows
 * by cp.async (ws-emit.ts).
 */
function boxRows(plan: CudaPlan, t: Value): { rows: number; paged: boolean; gathered?: true } | undefined {
  const R = t.type.shape[0];
  if (contiguousRows(plan, t)) return { rows: R, paged: false };
  const rows = pageBoxRows(plan, t, true);
  if (rows !== undefined && rows >= MIN_WS_BOX_ROWS) return { rows, paged: true };
  const op = t.op as Extract<Value["op"], { kind: "load" }>;
  return rows !== undefined || ownEntries(plan, op.indices) ? { rows: R, paged: false, gathered: true } : undefined;
}

/** Is this top-level statement one the producer can follow or skip (see the file's comment)? */
function topLevelOk(inst: Block["insts"][number]): boolean {
  if (inst.kind === "if") return inst.else.insts.length === 0 && inst.results.length === 0 && inst.then.insts.length === 1 && inst.then.insts[0].kind === "return";
  return inst.kind !== "return";
}

/** A pseudo stream of tile t in loop f (the shape overlap.ts reads; its map named once laid out). */
const streamOf = (plan: CudaPlan, t: Value, f: ForInst, map = ""): TmaStream => ({ v: t, loop: f, map, bar: 0, ...boxRows(plan, t)!, cols: 64, bytes: 2 });

/**
 * The kernel's loops and tiles under this schedule, or undefined. `sm90Only`: the build ships
 * sm_90a PTX alone (the producer and consumers have no other path).
 */
export function wsCandidate(ir: KernelIR, plan: CudaPlan, sm90Only: boolean): WsCandidate | undefined {
  const s = plan.shape;
  if (!sm90Only || !plan.wgmma.size || s.kind !== "mma" || s.WC !== 1 || s.MT !== 1 || s.W % 4 !== 0) return undefined;
  const consumers = s.W / 4;
  if (!PRODUCER_REGS[consumers] || !ir.body.insts.every(topLevelOk)) return undefined;
  const loops: WsCandidate["loops"] = [];
  for (const inst of ir.body.insts) {
    if (inst.kind !== "for") continue;
    const t = tileLoop(inst, plan);
    if (!t || !overlapOf(inst, [streamOf(plan, t.k, inst), streamOf(plan, t.v, inst)], plan, true)) return undefined;
    loops.push({ f: inst, ...t });
  }
  if (!loops.length) return undefined;
  // One pair of stages for all the loops: the same tensors and tile shapes throughout.
  const same = (a: Value, b: Value) => a.type.shape.join() === b.type.shape.join() && (a.op as { tensor: unknown }).tensor === (b.op as { tensor: unknown }).tensor;
  if (!loops.every((l) => same(l.k, loops[0].k) && same(l.v, loops[0].v))) return undefined;
  return { consumers, loops, tiles: new Set(loops.flatMap((l) => [l.k, l.v])) };
}

/** The map of tile t's tensor: boxes of its rows (all, or a page's) x 64 columns, 128-byte swizzled; its parameter's name. */
function mapFor(plan: CudaPlan, t: Value, maps: TensorMapSpec[]): string {
  const op = t.op as Extract<Value["op"], { kind: "load" }>;
  const spec: TensorMapSpec = { tensor: op.tensor.name, box: [64, boxRows(plan, t)!.rows], swizzle: 128, rowDims: op.tensor.shape.length - 1 };
  let m = maps.findIndex((x) => x.tensor === spec.tensor && x.box.join() === spec.box.join() && x.swizzle === spec.swizzle && (x.rowDims ?? 1) === spec.rowDims);
  if (m < 0) m = maps.push(spec) - 1;
  return mapParam(maps[m], m);
}

/** Lay out the stages from byte `at` (past the pool) and make each loop a consumer loop; maps appended to `maps`. */
export function warpSpecialize(c: WsCandidate, plan: CudaPlan, at: number, maps: TensorMapSpec[]): WarpSpecialized {
  const [k, v] = [c.loops[0].k, c.loops[0].v];
  const bytes = (t: Value) => t.type.shape[0] * t.type.shape[1] * 2;
  // Swizzled tiles start at 1024-byte boundaries; a stage of 16 rows or more is a multiple of it.
  const kAt = Math.ceil(at / 1024) * 1024;
  const vAt = kAt + 2 * bytes(k);
  const bars = vAt + 2 * bytes(v);
  const gathered = !!boxRows(plan, k)!.gathered;
  const producerRegs = (gathered ? GATHER_PRODUCER_REGS : PRODUCER_REGS)[c.consumers];
  const consumerRegs = wsConsumerRegs(c.consumers, producerRegs);
  const stages: WsStages = { consumers: c.consumers, kAt, vAt, kBytes: bytes(k), vBytes: bytes(v), bars, producerRegs, consumerRegs, gathered };
  // Gathered tiles take no TMA box, so no map.
  const [kMap, vMap] = stages.gathered ? ["", ""] : [mapFor(plan, k, maps), mapFor(plan, v, maps)];
  const loops = new Map<ForInst, Overlap>();
  for (const l of c.loops) {
    const o = overlapOf(l.f, [streamOf(plan, l.k, l.f, kMap), streamOf(plan, l.v, l.f, vMap)], plan, true)!;
    loops.set(l.f, { ...o, v2: 0, bar2: 0, ws: stages });
  }
  return { stages, loops, end: bars + 64 };
}

/**
 * The top-level scalars the producer computes, in a set: those the loops' bounds, the guards and
 * the tiles' addresses and predicates read, and theirs in turn (the loops' own values are
 * recomputed for each tile, tile-copies.ts's forIndex).
 */
export function producerScalars(body: Block, loops: Iterable<Overlap>): Set<Value> {
  const top = new Set(body.insts.flatMap((i) => (i.kind === "def" ? [i.value] : [])));
  const need = new Set<Value>();
  const seen = new Set<Value>();
  const walk = (x: Value) => {
    if (seen.has(x)) return;
    seen.add(x);
    if (top.has(x)) need.add(x);
    operands(x.op).forEach(walk);
  };
  for (const i of body.insts) if (i.kind === "if") walk(i.cond);
  for (const o of loops) [o.loop.lo, o.loop.hi, o.k.v, o.v.v].forEach(walk);
  return need;
}

/**
 * Where a tile load's predicate holds for every row if it holds for the last (`row < bound` or
 * `row <= bound`, the row a run of the tile's rows, the bound the same for every row), that
 * predicate; undefined where it has none; "never" where it is of another form (then every tile is
 * copied by cp.async).
 */
export function wholeRows(plan: CudaPlan, t: Value): Value | undefined | "never" {
  const pred = (t.op as { pred?: Value }).pred;
  if (!pred) return undefined;
  const op = pred.op;
  return op.kind === "binary" && (op.op === "lt" || op.op === "le") && rowRun(plan, op.a) && uniform(plan, op.b) ? pred : "never";
}
