// Element expressions in CUDA C: the value of element (row, col) of a tile at a loop site.
// Registers are read at the thread's own slots; expression tiles are recomputed from their
// operands; loads are indexed reads of global memory, converted to register values.
import type { Value } from "../../ir/ir.ts";
import type { Site } from "./layouts.ts";
import type { CudaPlan } from "./plan.ts";
import { binary, fromMem, literal, regType, roundTo, unary } from "./syntax.ts";

export interface ElementContext {
  plan: CudaPlan;
  name(v: Value): string;
  /** Element offset (a 64-bit C expression) of a tensor access from its index expressions. */
  offset(tensor: string, indices: string[]): string;
  /** Values given by a C expression instead of their own: a read several rows share (row-reads.ts),
   * or, as a function of the element's site, a value computed once a row (row-hoist.ts). */
  bound?: ReadonlyMap<Value, string | ((site: Site) => string)>;
}

/** A site seen by an operand with broadcast axes: its positions collapse to 0. */
function narrow(site: Site, shape: number[]): Site {
  return { ...site, row: shape[0] > 1 ? site.row : "0", col: shape[1] > 1 ? site.col : "0" };
}

/** A site any thread can use (cooperative copies): positions only, no registers. */
export function position(row: string, col: string): Site {
  return {
    row,
    col,
    slot: () => {
      throw new Error("internal: a register tile read at a position its thread does not own");
    },
  };
}

export function elem(ctx: ElementContext, v: Value, site: Site): string {
  const given = ctx.bound?.get(v);
  if (given !== undefined) return typeof given === "string" ? given : given(site);
  const layout = ctx.plan.layout.get(v);
  if (v.type.shape.length === 0 || layout === "uniform") return ctx.name(v);
  const s = narrow(site, v.type.shape);
  if (layout === "regs") return `${ctx.name(v)}[${s.slot(v.type.shape)}]`;
  return opExpr(ctx, v, s);
}

/** The expression computing element `site` of v from its operands (whatever v's own layout). */
export function opExpr(ctx: ElementContext, v: Value, site: Site): string {
  const s = v.type.shape.length ? narrow(site, v.type.shape) : site;
  const op = v.op;
  const e = (x: Value) => elem(ctx, x, s);
  const t = v.type.dtype;
  switch (op.kind) {
    case "const":
      return literal(op.value, t);
    case "iota": {
      const pos = op.axis === 0 ? s.row : s.col;
      return op.start.op.kind === "const" && op.start.op.value === 0 ? pos : `(${e(op.start)} + ${pos})`;
    }
    case "binary":
      return fusedMulAdd(ctx, v, e) ?? binary(op.op, e(op.a), e(op.b), op.a.type.dtype);
    case "unary":
      return unary(op.op, e(op.a), t);
    case "select":
      return `(${e(op.cond)} ? ${e(op.a)} : ${e(op.b)})`;
    case "cast":
      return t === "bool" ? `(${e(op.a)} != 0)` : roundTo(t, `(${regType(t)})(${e(op.a)})`);
    case "load": {
      const read = fromMem(t, `${op.tensor.name}[${ctx.offset(op.tensor.name, op.indices.map(e))}]`);
      return op.pred ? `(${e(op.pred)} ? ${read} : ${literal(op.other, t)})` : read;
    }
    default:
      throw new Error(`internal: ${op.kind} tile ${ctx.name(v)} has no element expression`);
  }
}

/**
 * x * y + z and x * y - z in one fmaf when the product is an f32 tile computed right here (not
 * read from registers): the exponent's argument s * scale - m after passes/fold-scale.ts. nvcc
 * leaves such pairs to ptxas as mul and sub; writing the fma says which one we mean.
 */
function fusedMulAdd(ctx: ElementContext, v: Value, e: (x: Value) => string): string | undefined {
  const op = v.op;
  if (op.kind !== "binary" || (op.op !== "add" && op.op !== "sub") || v.type.dtype !== "f32") return undefined;
  const inlineMul = (x: Value) =>
    x.op.kind === "binary" && x.op.op === "mul" && x.type.dtype === "f32" && x.type.shape.length === 2 &&
    ctx.plan.layout.get(x) === "expr" && !ctx.bound?.has(x) ? x.op : undefined;
  const left = inlineMul(op.a);
  if (left) return `fmaf(${e(left.a)}, ${e(left.b)}, ${op.op === "add" ? e(op.b) : `-${e(op.b)}`})`;
  const right = op.op === "add" ? inlineMul(op.b) : undefined;
  return right && `fmaf(${e(right.a)}, ${e(right.b)}, ${e(op.a)})`;
}
