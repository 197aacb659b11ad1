// Element expressions: the WGSL text for element (row, col) of a tile value, given where that
// element lives (plan.ts). Registers are read at the invocation's own slots; expression tiles
// are recomputed from their operands; loads become indexed buffer reads.
import type { Value } from "../../ir/ir.ts";
import type { Plan } from "./plan.ts";
import { binary, literal, unary, wgslType } from "./syntax.ts";

/**
 * Where an element is evaluated. `row`/`col` are i32 WGSL expressions of the element's position
 * in the target tile; `i`/`j` are the invocation's slot indices, present when the element is one
 * the invocation owns (the only place registers can be read).
 */
export interface Site {
  row: string;
  col: string;
  i?: string;
  j?: string;
}

export interface ElementContext {
  plan: Plan;
  name(v: Value): string;
  /** Byte-free element offset expression (u32) of a tensor access. */
  offset(tensor: string, indices: string[]): string;
}

/** Per-invocation slot count along each axis for a tile of this shape. */
export function slots(shape: number[], plan: Plan): [number, number] {
  const { TR, TC } = plan.grid;
  return [shape[0] > 1 ? shape[0] / TR : 1, shape[1] > 1 ? shape[1] / TC : 1];
}

/** Index into a register array for slot (i, j) of a tile with this shape. */
export function regIndex(shape: number[], plan: Plan, i: string, j: string): string {
  const [, cpt] = slots(shape, plan);
  const r = shape[0] > 1;
  const c = shape[1] > 1;
  if (r && c) return cpt === 1 ? i : `${i} * ${cpt} + ${j}`;
  if (r) return i;
  if (c) return j;
  return "0";
}

/** The site an operand sees: broadcast axes collapse to position 0 and slot 0. */
function narrow(site: Site, shape: number[]): Site {
  return {
    row: shape[0] > 1 ? site.row : "0",
    col: shape[1] > 1 ? site.col : "0",
    i: shape[0] > 1 ? site.i : "0",
    j: shape[1] > 1 ? site.j : "0",
  };
}

export function elem(ctx: ElementContext, v: Value, site: Site): string {
  const shape = v.type.shape;
  const layout = ctx.plan.layout.get(v);
  if (shape.length === 0 || layout === "uniform") return ctx.name(v);
  const s = narrow(site, shape);
  if (layout === "regs") {
    if (s.i === undefined || s.j === undefined) throw new Error(`internal: register tile ${ctx.name(v)} read outside its owner`);
    return `${ctx.name(v)}[${regIndex(shape, ctx.plan, s.i, s.j)}]`;
  }
  return opExpr(ctx, v, s);
}

/** The expression computing element `site` of `v` from its operands (whatever v's own layout). */
export function opExpr(ctx: ElementContext, v: Value, site: Site): string {
  const s = narrow(site, v.type.shape.length ? v.type.shape : [1, 1]);
  const op = v.op;
  const e = (x: Value) => elem(ctx, x, s);
  switch (op.kind) {
    case "const":
      return literal(op.value, v.type.dtype);
    case "iota": {
      const pos = op.axis === 0 ? s.row : s.col;
      return op.start.op.kind === "const" && op.start.op.value === 0 ? pos : `(${e(op.start)} + ${pos})`;
    }
    case "binary":
      return binary(op.op, e(op.a), e(op.b));
    case "unary":
      return unary(op.op, e(op.a));
    case "select":
      return `select(${e(op.b)}, ${e(op.a)}, ${e(op.cond)})`;
    case "cast":
      // fp8 values live in f32 registers, rounded to the E4M3 grid.
      if (v.type.dtype === "f8e4m3") return `round_e4m3(f32(${e(op.a)}))`;
      return `${wgslType(v.type.dtype)}(${e(op.a)})`;
    case "load": {
      const at = ctx.offset(op.tensor.name, op.indices.map(e));
      const read = op.tensor.dtype === "f8e4m3" ? `${op.tensor.name}_at(${at})` : `${op.tensor.name}[${at}]`;
      return op.pred ? `select(${literal(op.other, v.type.dtype)}, ${read}, ${e(op.pred)})` : read;
    }
    default:
      throw new Error(`internal: ${op.kind} tile ${ctx.name(v)} has no element expression`);
  }
}
