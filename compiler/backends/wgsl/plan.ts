// Backend mapping for WGSL: decide who holds every tile element, before any text is written.
//
// Layouts (see DESIGN.md, "Layouts"):
//  - uniform: a scalar, computed identically by every invocation;
//  - regs: a tile distributed over a TR x TC grid of invocations: invocation (tr, tc) owns rows
//    tr + TR*i and columns tc + TC*j; a size-1 axis is replicated;
//  - expr: an elementwise tile never stored, recomputed where used (cheap integer index math,
//    single-use float math, and loads that only feed a dot);
//  - view: a transpose, only as a dot operand (an index swap on workgroup memory);
//  - shared: dot operands also get a workgroup-memory copy, filled cooperatively.
import type { Block, Inst, KernelIR, Value } from "../../ir/ir.ts";
import { isFloat, operands } from "../../ir/ir.ts";

export type Layout = "uniform" | "regs" | "expr" | "view";

export interface ThreadGrid {
  TR: number;
  TC: number;
  threads: number;
}

export interface Plan {
  grid: ThreadGrid;
  layout: Map<Value, Layout>;
  /** Values that need a workgroup-memory copy because a dot reads them. */
  sharedOperands: Set<Value>;
  uses: Map<Value, number>;
  /** Loop nesting depth of each value's definition. */
  depth: Map<Value, number>;
  /** Largest per-invocation row count of a reduced tile (sizes the reduction scratch). */
  maxReduceRows: number;
  /** Memo of anywhere(). */
  anywhere: Map<Value, boolean>;
}

export class PlanError extends Error {
  constructor(
    message: string,
    readonly span?: import("../../diagnostics/source.ts").Span,
  ) {
    super(message);
  }
}

/**
 * Can element (r, c) of `v` be computed by any invocation? True for expressions of positions,
 * scalars and loads; false once a register tile is involved (only its owner can read it).
 */
export function anywhere(plan: Plan, v: Value): boolean {
  const hit = plan.anywhere.get(v);
  if (hit !== undefined) return hit;
  const l = plan.layout.get(v);
  const r = l === "uniform" || v.type.shape.length === 0 || (l === "expr" && operands(v.op).every((o) => anywhere(plan, o)));
  plan.anywhere.set(v, r);
  return r;
}

function forEachUse(inst: Inst, f: (v: Value, depth: number) => void, depth: number): void {
  switch (inst.kind) {
    case "def":
      operands(inst.value.op).forEach((v) => f(v, depth));
      break;
    case "store":
      [...inst.indices, inst.value, ...(inst.pred ? [inst.pred] : [])].forEach((v) => f(v, depth));
      break;
    case "for":
      [inst.lo, inst.hi, ...inst.inits].forEach((v) => f(v, depth));
      inst.yields.forEach((v) => f(v, depth + 1));
      break;
    case "if":
      f(inst.cond, depth);
      [...inst.thenYields, ...inst.elseYields].forEach((v) => f(v, depth + 1));
      break;
  }
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

const pow2Divisor = (n: number, cap: number) => {
  let d = 1;
  while (d * 2 <= cap && n % (d * 2) === 0) d *= 2;
  return d;
};

export function planKernel(ir: KernelIR, opts: { maxThreads: number; preferTC: number }): Plan {
  const uses = new Map<Value, number>();
  const depth = new Map<Value, number>();
  const usedDeeper = new Set<Value>();
  const dotOperands = new Set<Value>();
  const nonDotUses = new Set<Value>();
  const all: Value[] = [];
  walk(ir.body, 0, (inst, d) => {
    if (inst.kind === "def") {
      depth.set(inst.value, d);
      all.push(inst.value);
    }
    if (inst.kind === "for") {
      depth.set(inst.iv, d + 1);
      inst.carried.forEach((c) => (depth.set(c, d + 1), all.push(c)));
      inst.results.forEach((r) => (depth.set(r, d), all.push(r)));
    }
    if (inst.kind === "if") inst.results.forEach((r) => (depth.set(r, d), all.push(r)));
    forEachUse(inst, (v, ud) => {
      uses.set(v, (uses.get(v) ?? 0) + 1);
      if (ud > (depth.get(v) ?? 0)) usedDeeper.add(v);
    }, d);
    if (inst.kind === "def" && inst.value.op.kind === "dot") {
      for (const o of [inst.value.op.a, inst.value.op.b]) dotOperands.add(o.op.kind === "transpose" ? o.op.a : o);
    } else if (inst.kind === "def" && inst.value.op.kind === "transpose") {
      // a transpose's use is accounted for at its dot
    } else forEachUse(inst, (v) => nonDotUses.add(v), d);
  });

  const layout = new Map<Value, Layout>();
  let maxReduceRows = 1;
  const rowsOf: number[] = [];
  const colsOf: number[] = [];
  for (const v of all) {
    if (v.type.shape.length === 0) {
      layout.set(v, "uniform");
      continue;
    }
    const op = v.op;
    let l: Layout;
    if (op.kind === "transpose") {
      if (nonDotUses.has(v)) throw new PlanError("this backend transposes tiles (^T) only as an operand of dot", v.span);
      l = "view";
    }
    // Integer loads are index math (page tables): recomputed where used, so tiles gathered
    // through them can still be filled cooperatively by any invocation.
    else if (op.kind === "load") l = (dotOperands.has(v) && !nonDotUses.has(v)) || !isFloat(v.type.dtype) ? "expr" : "regs";
    else if (op.kind === "dot" || op.kind === "reduce" || op.kind === "loop_var" || op.kind === "result") l = "regs";
    else if (op.kind === "const" || op.kind === "iota") l = "expr";
    else {
      const float = isFloat(v.type.dtype);
      const many = (uses.get(v) ?? 0) > 1;
      l = float && (many || usedDeeper.has(v)) ? "regs" : "expr";
    }
    layout.set(v, l);
    if (l === "regs" || (l === "expr" && !(dotOperands.has(v) && !nonDotUses.has(v)))) {
      if (v.type.shape[0] > 1) rowsOf.push(v.type.shape[0]);
      if (v.type.shape[1] > 1) colsOf.push(v.type.shape[1]);
    }
    if (op.kind === "reduce") maxReduceRows = Math.max(maxReduceRows, v.type.shape[0]);
  }
  // Operand sizes of dots are the output's rows and columns too.
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  const rowG = rowsOf.reduce(gcd, 0) || 1;
  const colG = colsOf.reduce(gcd, 0) || 1;
  const TC = pow2Divisor(colG, opts.preferTC);
  const TR = pow2Divisor(rowG, Math.max(1, Math.floor(opts.maxThreads / TC)));
  const grid = { TR, TC, threads: TR * TC };
  const sharedOperands = new Set(dotOperands);
  return { grid, layout, sharedOperands, uses, depth, maxReduceRows: Math.ceil(maxReduceRows / TR), anywhere: new Map() };
}
