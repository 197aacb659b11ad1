// Backend mapping for CUDA: decide, before any text is written, who holds every tile element.
//
// Kernels with dots use the tensor-core (mma.sync m16n8k16) accumulator layout for every tile
// whose rows are the dot rows M (or 1) and whose columns are a multiple of 8 (or 1): W warps
// split the rows, each owning MT tiles of 16; in a warp, lane l holds rows l/4 and l/4 + 8 and
// columns 2(l%4), 2(l%4)+1 of every 8-column slice (FlashAttention-2's register layout, so the
// softmax runs in registers and P feeds the second dot without touching shared memory). When the
// widest accumulator would take more than 128 registers a thread (MLA's 512 latent columns), WC
// groups of warps split its columns: each holds a slice of every tile that wide, and computes
// the narrow tiles (the scores, P) whole, so the softmax needs no exchange between warps. Dot
// operands that are loaded tiles go through shared memory (cp.async, ldmatrix). Kernels without
// dots use a blocked layout: a TR x TC grid of threads, like the WGSL backend.
//
// Per value: uniform (a scalar), regs (a register array in the layout), expr (recomputed where
// used), view (a transpose, only as a dot operand).
import type { Block, Inst, KernelIR, Value } from "../../ir/ir.ts";
import { isFloat, operands, showType } from "../../ir/ir.ts";
import type { Span } from "../../diagnostics/source.ts";
import { contiguousRows } from "./copyable.ts";
import { planRawKeys } from "./fp8-keys.ts";
import { planRawValues } from "./fp8-values.ts";
import { MmaLayout } from "./layouts.ts";
import { swizzleable, wgmmaFits } from "./wgmma.ts";

export type Layout = "uniform" | "regs" | "expr" | "view";

export class CudaPlanError extends Error {
  constructor(
    message: string,
    readonly span?: Span,
  ) {
    super(message);
  }
}

export interface MmaShape {
  kind: "mma";
  /** Rows of every dot result. */
  M: number;
  /** Warps along the rows, each owning MT row tiles of 16. */
  W: number;
  MT: number;
  /**
   * Column groups of W warps each: every tile SPLIT_N wide is split into WC slices of SPLIT_N /
   * WC columns, one per group; narrower tiles are held whole by every group (computed alike).
   */
  WC: number;
  SPLIT_N: number;
  threads: number;
}

/** Registers a thread may give the widest accumulator before its columns are split. */
const MAX_ACC_REGISTERS = 128;
/** At most this many warps per block (the column split multiplies the row warps). */
const MAX_SPLIT_WARPS = 8;
/** At most this many row warps for wgmma: three warpgroups of 64 rows, one 16-row tile a warp. */
const MAX_WGMMA_WARPS = 12;

export interface BlockedShape {
  kind: "blocked";
  TR: number;
  TC: number;
  threads: number;
}

export interface CudaPlan {
  shape: MmaShape | BlockedShape;
  layout: Map<Value, Layout>;
  /** Dot operands copied into shared memory (loaded tiles; transposes stripped). */
  sharedOperands: Set<Value>;
  /** Dot A operands kept as tensor-core fragments in registers, loaded once after their fill. */
  cachedFragments: Set<Value>;
  /**
   * `x + dot(a, b)` with the dot used only there: the dot accumulates onto x in place (mma's
   * D = A·B + C), so the sum needs no second accumulator (FlashAttention's acc * alpha + P·V).
   * Maps the dot to its addend and the sum.
   */
  accumulateInto: Map<Value, { addend: Value; sum: Value }>;
  /**
   * Dots whose reduction the warp column groups split (each group sums its share of k; the
   * partial sums meet in shared memory): narrow results (MLA's scores) that every group needs
   * whole, over a long k read from shared memory. Without it each group would repeat the dot.
   */
  kSplit: Set<Value>;
  /**
   * Widened dot operands (bf16(K) of an fp8 cache) mapped to the fp8 load they widen: the load is
   * copied into shared memory by cp.async like any operand (early, pipelined), then widened from
   * there into the operand's own region right before the dot.
   */
  staged: Map<Value, Value>;
  /**
   * Widened dot operands of a leader schedule mapped to the fp8 load they widen (copy-emit.ts):
   * the loop's copying team stages each next tile's E4M3 bytes by cp.async in the upper half of
   * the operand's own buffer and widens them there in place (leader-emit.ts), where a widening
   * pass of the whole block between block barriers of its own cannot sit; the first tile is read,
   * widened and stored by every thread on its way in. No E4M3 region of their own.
   */
  converted: Map<Value, Value>;
  /**
   * Dot operands that round a 16-bit tile loaded before any loop to the other 16-bit dtype (a
   * bf16 query for f16 dots), mapped to that load: read 16 bytes at a time, rounded and stored
   * into the operand's own region by every thread on their way in (copy-emit.ts).
   */
  recast: Map<Value, Value>;
  /**
   * Staged widened key tiles whose dots read their B fragments straight from the E4M3 copy,
   * widening in registers (fp8-keys.ts): no widening pass. Their dots' A tiles are `permutedK`.
   */
  rawKeys: Set<Value>;
  /** A tiles whose columns are reordered in shared memory once they land, to match `rawKeys`. */
  permutedK: Set<Value>;
  /**
   * Staged widened value tiles (the B of P·V) whose dots read their B fragments straight from the
   * E4M3 copy, widening in registers (fp8-values.ts). Like `rawKeys`, they take no shared memory.
   */
  rawValues: Set<Value>;
  /**
   * Narrow tiles of a column-split kernel computed by warp column group 0 alone, their dots over
   * the whole k, what the other groups read of them passed through shared memory (leader.ts):
   * set instead of kSplit when the narrow dot is wide enough for full-rate wgmma.
   */
  leader: boolean;
  /** Dots emitted as Hopper's wgmma on sm_90a (mma.sync elsewhere): see wgmma.ts. */
  wgmma: Set<Value>;
  /** Shared operand tiles in the 128-byte swizzled layout wgmma reads (kernels with wgmma dots). */
  swizzled: Set<Value>;
  uses: Map<Value, number>;
  anywhere: Map<Value, boolean>;
}

function walk(b: Block, depth: number, visit: (i: Inst, depth: number) => void): void {
  for (const i of b.insts) {
    visit(i, depth);
    if (i.kind === "for") walk(i.body, depth + 1, visit);
    if (i.kind === "if") {
      walk(i.then, depth + 1, visit);
      walk(i.else, depth + 1, visit);
    }
  }
}

function usesOf(inst: Inst): Value[] {
  switch (inst.kind) {
    case "def": return operands(inst.value.op);
    case "store": return [...inst.indices, inst.value, ...(inst.pred ? [inst.pred] : [])];
    case "for": return [inst.lo, inst.hi, ...inst.inits, ...inst.yields];
    case "if": return [inst.cond, ...inst.thenYields, ...inst.elseYields];
    default: return [];
  }
}

/** Can any thread compute element (r, c) of v (no register tile involved)? */
export function anywhere(plan: CudaPlan, v: Value): boolean {
  const hit = plan.anywhere.get(v);
  if (hit !== undefined) return hit;
  const l = plan.layout.get(v);
  const r = l === "uniform" || v.type.shape.length === 0 || (l === "expr" && operands(v.op).every((o) => anywhere(plan, o)));
  plan.anywhere.set(v, r);
  return r;
}

/** Does v read c, itself or through values computed inline where they are read ("expr")? */
export function readsInline(plan: CudaPlan, v: Value, c: Value): boolean {
  return v === c || (plan.layout.get(v) === "expr" && operands(v.op).some((o) => readsInline(plan, o, c)));
}

const pow2Divisor = (n: number, cap: number) => {
  let d = 1;
  while (d * 2 <= cap && n % (d * 2) === 0) d *= 2;
  return d;
};

/**
 * opts.wgmma: plan for wgmma when every dot fits it (one 16-row tile per warp, so up to 8 warps
 * for 128 rows); else the mma.sync plan of at most maxWarps warps.
 */
export function planCuda(ir: KernelIR, opts: { maxWarps: number; wgmma?: boolean }): CudaPlan {
  if (opts.wgmma) {
    const plan = planShape(ir, MAX_WGMMA_WARPS);
    const dots = [...plan.layout.keys()].filter((v) => v.op.kind === "dot");
    if (dots.length && dots.every((d) => wgmmaFits(plan, d))) {
      plan.wgmma = new Set(dots);
      // A k-split scores dot at least 64 keys wide (m64n64k16 and wider run at the tensor
      // cores' full rate from shared memory) goes to group 0 whole instead: the leader schedule.
      for (const d of plan.kSplit) {
        if (d.type.shape[1] < 64) continue;
        plan.kSplit.delete(d);
        plan.leader = true;
      }
      // Its groups run different code, so a tile widened in shared memory by every thread between
      // two block barriers of its own (an fp8 cache) cannot sit in its loop: such tiles are
      // widened on their way in instead, by the team that copies (a build that widened in shared
      // memory under this schedule hung on the H200: test/cuda-mla-fp8.test.ts).
      if (plan.leader) convertOnTheWay(plan);
      // Without it (narrower key tiles), such a pass meets the k-split exchange's barriers and
      // the rotated loop's: the mma.sync plan, every thread in every pass (on sm_90a too).
      else if (plan.staged.size && plan.shape.kind === "mma" && plan.shape.WC > 1) return mmaPlan(ir, opts.maxWarps);
      plan.swizzled = new Set([...plan.sharedOperands].filter(swizzleable));
      return plan;
    }
  }
  return mmaPlan(ir, opts.maxWarps);
}

/** Every staged widening of `plan` becomes a converted tile (`converted`): no E4M3 region of its own. */
function convertOnTheWay(plan: CudaPlan): void {
  for (const [w, raw] of plan.staged) {
    plan.converted.set(w, raw);
    plan.sharedOperands.delete(raw);
  }
  plan.staged = new Map();
}

function mmaPlan(ir: KernelIR, maxWarps: number): CudaPlan {
  const plan = planShape(ir, maxWarps);
  const dots = [...plan.layout.keys()].filter((v) => v.op.kind === "dot");
  planRawKeys(plan, dots);
  planRawValues(plan, dots);
  return plan;
}

function planShape(ir: KernelIR, maxWarps: number): CudaPlan {
  const uses = new Map<Value, number>();
  const depth = new Map<Value, number>();
  const usedDeeper = new Set<Value>();
  const dots: Value[] = [];
  const dotOperand = new Set<Value>();
  const nonDotUse = new Set<Value>();
  const all: Value[] = [];
  walk(ir.body, 0, (inst, d) => {
    if (inst.kind === "def") {
      depth.set(inst.value, d);
      all.push(inst.value);
    } else if (inst.kind === "for") {
      inst.carried.forEach((c) => (depth.set(c, d + 1), all.push(c)));
      inst.results.forEach((r) => (depth.set(r, d), all.push(r)));
    } else if (inst.kind === "if") inst.results.forEach((r) => (depth.set(r, d), all.push(r)));
    const extra = inst.kind === "for" || inst.kind === "if" ? 1 : 0;
    for (const v of usesOf(inst)) {
      uses.set(v, (uses.get(v) ?? 0) + 1);
      if (d + extra > (depth.get(v) ?? 0)) usedDeeper.add(v);
    }
    if (inst.kind === "def" && inst.value.op.kind === "dot") {
      dots.push(inst.value);
      for (const o of [inst.value.op.a, inst.value.op.b]) dotOperand.add(o.op.kind === "transpose" ? o.op.a : o);
    } else if (!(inst.kind === "def" && inst.value.op.kind === "transpose")) usesOf(inst).forEach((v) => nonDotUse.add(v));
  });

  let shape: MmaShape | BlockedShape;
  if (dots.length) {
    const M = dots[0].type.shape[0];
    for (const d of dots) {
      if (d.type.shape[0] !== M) throw new CudaPlanError(`dots with different row counts (${M} and ${d.type.shape[0]}) in one kernel`, d.span);
      const op = d.op as Extract<Value["op"], { kind: "dot" }>;
      if (op.a.type.dtype !== "f16" && op.a.type.dtype !== "bf16") {
        throw new CudaPlanError(`tensor cores multiply f16 or bf16 tiles, not ${op.a.type.dtype}`, d.span);
      }
      if (op.a.type.shape[1] % 16 || d.type.shape[1] % 8) throw new CudaPlanError(`dot ${showType(op.a.type)} · ${showType(op.b.type)}: k must be a multiple of 16 and n of 8`, d.span);
    }
    if (M % 16) throw new CudaPlanError(`dot rows must be a multiple of 16 (mma.sync tiles), found ${M}`, dots[0].span);
    // A warp holds whole 16-row tiles: the most warps that split them evenly (192 rows: 12 for
    // wgmma, 4 warps of 3 tiles for mma.sync), never a fraction of a tile.
    const tiles = M / 16;
    let W = Math.min(maxWarps, tiles);
    while (tiles % W) W--;
    // Several row tiles a warp would hold too wide an accumulator (128 rows at head dim 256):
    // more warps along the rows first, as FlashAttention-2 does, before splitting columns.
    const widest = Math.max(...dots.map((d) => d.type.shape[1]));
    while ((tiles / W) * widest / 2 > MAX_ACC_REGISTERS && tiles % (W * 2) === 0 && W * 2 <= MAX_SPLIT_WARPS) W *= 2;
    shape = { kind: "mma", M, W, MT: M / (16 * W), WC: 1, SPLIT_N: 0, threads: 32 * W };
  } else {
    const rows = all.filter((v) => v.type.shape.length === 2 && v.type.shape[0] > 1).map((v) => v.type.shape[0]);
    const cols = all.filter((v) => v.type.shape.length === 2 && v.type.shape[1] > 1).map((v) => v.type.shape[1]);
    const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
    const TC = pow2Divisor(cols.reduce(gcd, 0) || 1, 32);
    const TR = pow2Divisor(rows.reduce(gcd, 0) || 1, Math.max(1, Math.floor(256 / TC)));
    shape = { kind: "blocked", TR, TC, threads: TR * TC };
  }

  // Loads read only through a conversion that feeds a dot (an fp8 cache widened to bf16): when
  // cp.async can copy them they are staged in shared memory as they are and widened there (see
  // `staged`); otherwise each element is converted on its way in. They need no registers.
  // A 16-bit load rounded to the other 16-bit dtype before any loop is converted on its way in
  // (`recast`); inside a loop it would be each tile's, with no copy that converts in flight.
  const convertedUses = new Map<Value, number>();
  const staged = new Map<Value, Value>();
  const recast = new Map<Value, Value>();
  const sixteen = (dt: string) => dt === "f16" || dt === "bf16";
  for (const o of dotOperand) {
    if (o.op.kind !== "cast" || o.op.a.op.kind !== "load") continue;
    convertedUses.set(o.op.a, (convertedUses.get(o.op.a) ?? 0) + 1);
    if (o.op.a.type.dtype === "f8e4m3" && Number(o.op.a.op.other) === 0 && sixteen(o.type.dtype) && contiguousRows(o.op.a)) staged.set(o, o.op.a);
    const [from, to] = [o.op.a.type.dtype, o.type.dtype];
    if (sixteen(from) && sixteen(to) && from !== to && !depth.get(o) && Number(o.op.a.op.other) === 0 && contiguousRows(o.op.a)) recast.set(o, o.op.a);
  }
  const onlyConverted = (v: Value) => convertedUses.get(v) === uses.get(v);

  const layout = new Map<Value, Layout>();
  for (const v of all) {
    const op = v.op;
    let l: Layout;
    if (v.type.shape.length === 0) l = "uniform";
    else if (op.kind === "transpose") {
      if (nonDotUse.has(v)) throw new CudaPlanError("this backend transposes tiles (^T) only as an operand of dot", v.span);
      l = "view";
    } else if (op.kind === "load") l = (dotOperand.has(v) && !nonDotUse.has(v)) || onlyConverted(v) || !isFloat(v.type.dtype) ? "expr" : "regs";
    else if (op.kind === "dot" || op.kind === "reduce" || op.kind === "loop_var" || op.kind === "result") l = "regs";
    else if (op.kind === "const" || op.kind === "iota") l = "expr";
    // A staged widening is read by its dots from shared memory, whatever its number of uses.
    else if (staged.has(v) || recast.has(v)) l = "expr";
    else l = isFloat(v.type.dtype) && ((uses.get(v) ?? 0) > 1 || usedDeeper.has(v)) ? "regs" : "expr";
    layout.set(v, l);
  }
  const plan: CudaPlan = { shape, layout, sharedOperands: new Set(), cachedFragments: new Set(), accumulateInto: new Map(), kSplit: new Set(), leader: false, staged, converted: new Map(), recast, rawKeys: new Set(), permutedK: new Set(), rawValues: new Set(), wgmma: new Set(), swizzled: new Set(), uses, anywhere: new Map() };
  for (const v of all) {
    const op = v.op;
    if (op.kind !== "binary" || op.op !== "add" || v.type.dtype !== "f32") continue;
    const [d, x] = op.b.op.kind === "dot" ? [op.b, op.a] : op.a.op.kind === "dot" ? [op.a, op.b] : [undefined, undefined];
    // When both terms are dots (MLA's q_nope·c + q_rope·k_rope), the second accumulates onto the first.
    if (!d || !x || uses.get(d) !== 1 || depth.get(d) !== depth.get(v) || (x.type.shape[0] !== d.type.shape[0] && x.type.shape[0] !== 1)) continue;
    plan.accumulateInto.set(d, { addend: x, sum: v });
    layout.set(v, "regs");
  }

  if (shape.kind === "mma") {
    splitColumns(plan, shape, all, dots);
    // Tiles held by threads must fit the layout: in the mma layout, rows M or 1, columns 8k or 1.
    // A staged widening is not held by threads: it is widened from shared memory into shared
    // memory (an fp8 key tile of fewer rows than the query tile, MLA's latent on sm_80).
    const { M } = shape;
    for (const v of all) {
      const l = layout.get(v);
      if (staged.has(v)) continue;
      if (l !== "regs" && !(l === "expr" && !anywhere(plan, v) && v.type.shape.length === 2)) continue;
      const [r, c] = v.type.shape;
      if ((r !== M && r !== 1) || (c % 8 !== 0 && c !== 1)) {
        throw new CudaPlanError(`a ${showType(v.type)} tile cannot be held in the tensor-core layout of ${M}-row tiles`, v.span);
      }
    }
  }
  // Registers a thread gives the widest dot result.
  const widest = shape.kind === "mma" ? Math.max(...dots.map((d) => new MmaLayout(shape as MmaShape).registers(d.type.shape))) : 0;
  for (const d of dots) {
    const op = d.op as Extract<Value["op"], { kind: "dot" }>;
    const a = op.a.op.kind === "transpose" ? op.a.op.a : op.a;
    const b = op.b.op.kind === "transpose" ? op.b.op.a : op.b;
    // A comes from registers when it is computed from register tiles (P = softmax numerators).
    if (!(layout.get(a) !== "view" && !anywhere(plan, a) && op.a.op.kind !== "transpose")) plan.sharedOperands.add(a);
    if (op.a.op.kind === "transpose" && !anywhere(plan, a)) throw new CudaPlanError("a transposed register tile as a dot's first operand", d.span);
    plan.sharedOperands.add(b);
    for (const o of [a, b]) if (staged.has(o)) plan.sharedOperands.add(staged.get(o)!);
    // A loaded A operand used inside a loop is loaded into fragments once when they are few (16
    // registers: head dim 64); larger ones are re-read from shared memory, as FlashAttention-2
    // does for head dim 128, leaving registers to the accumulators.
    // Not when the accumulators already take half the registers (MLA's 512 columns).
    const frags = (shape as MmaShape).MT * (op.a.type.shape[1] / 16) * 4;
    const roomy = widest + frags <= MAX_ACC_REGISTERS;
    if (plan.sharedOperands.has(a) && op.a.op.kind !== "transpose" && (depth.get(d) ?? 0) > (depth.get(a) ?? 0) && frags <= 16 && roomy) plan.cachedFragments.add(a);
    // Split k over the column groups when each group keeps at least 8 steps of 16.
    const { WC, SPLIT_N } = shape as MmaShape;
    const K = op.a.type.shape[1];
    if (WC > 1 && d.type.shape[1] !== SPLIT_N && K % (16 * WC) === 0 && K / (16 * WC) >= 8 && plan.sharedOperands.has(a) && !plan.cachedFragments.has(a) && !plan.accumulateInto.has(d)) plan.kSplit.add(d);
  }
  return plan;
}

/**
 * Split the widest accumulator's columns over WC groups of warps when it would otherwise take
 * more than MAX_ACC_REGISTERS registers a thread. Every register tile of that width is split the
 * same way; it must not be reduced along its rows or feed a dot from registers (those would need
 * the other groups' columns).
 */
function splitColumns(plan: CudaPlan, shape: MmaShape, all: Value[], dots: Value[]): void {
  const N = Math.max(...dots.map((d) => d.type.shape[1]));
  let WC = 1;
  while (shape.MT * (N / WC) / 2 > MAX_ACC_REGISTERS && shape.W * WC * 2 <= MAX_SPLIT_WARPS && (N / (WC * 2)) % 16 === 0) WC *= 2;
  if (WC === 1) return;
  for (const v of all) {
    const op = v.op;
    const r = op.kind === "reduce" || op.kind === "dot" ? op.a : undefined;
    if (!r || r.type.shape[1] !== N || anywhere(plan, r)) continue;
    const what = op.kind === "reduce" ? "reduced along its rows" : "the first operand of a dot from registers";
    throw new CudaPlanError(`a ${showType(r.type)} tile is split over ${WC} groups of warps by columns and cannot be ${what}`, v.span);
  }
  shape.WC = WC;
  shape.SPLIT_N = N;
  shape.threads *= WC;
}
