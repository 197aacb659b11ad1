// `require` clauses on runtime scalar arguments (`require softmax_scale > 0.0 "..."`). A clause
// that names a scalar argument cannot be checked at compile time: it becomes a bound the runtime
// checks at every launch (runtime/args.ts) and a fact the passes may rely on (passes/fold-scale.ts
// takes the row max before a positive scale). Only comparisons of one scalar argument with a
// compile-time value, joined by &&, are accepted, so every bound is checkable in one line of host
// code and means the same on every runtime.
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { Span } from "../diagnostics/source.ts";
import type { Expr, KernelDecl, RequireClause } from "../frontend/ast.ts";
import type { BoundOp } from "../../runtime/manifest.ts";
import { type CtValue, ctNumber, evalConst } from "./const-eval.ts";


/** One bound on a runtime scalar argument: `scalar op value`. */
export interface ScalarBound {
  scalar: string;
  op: BoundOp;
  value: number;
  /** The clause's message, shown by the runtime when a launch breaks the bound. */
  message?: string;
  span: Span;
}

const FLIP: Record<BoundOp, BoundOp> = { ">": "<", ">=": "<=", "<": ">", "<=": ">=" };
const isBoundOp = (op: string): op is BoundOp => op in FLIP;

/** The names of a kernel's scalar arguments (parameters without a shape). */
export function scalarNames(k: KernelDecl): Set<string> {
  return new Set(k.params.filter((p) => !p.type.dims).map((p) => p.name));
}

/** Does `e` name any of `names`? */
export function mentionsAny(e: Expr, names: ReadonlySet<string>): boolean {
  switch (e.kind) {
    case "name": return names.has(e.name);
    case "binary": return mentionsAny(e.left, names) || mentionsAny(e.right, names);
    case "unary": return mentionsAny(e.operand, names);
    case "ternary": return mentionsAny(e.cond, names) || mentionsAny(e.then, names) || mentionsAny(e.else, names);
    case "call": return e.args.some((a) => mentionsAny(a, names));
    default: return false;
  }
}

/** The parts of a condition joined by &&. */
export function conjuncts(e: Expr): Expr[] {
  return e.kind === "binary" && e.op === "&&" ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

/**
 * The bound that part `c` of clause `r` (a part naming a scalar argument) puts on it, or undefined
 * (with a diagnostic) when it is not `scalar op value` with a compile-time value.
 */
export function boundOf(c: Expr, r: RequireClause, scalars: ReadonlySet<string>, values: ReadonlyMap<string, CtValue>, diags: Diagnostics): ScalarBound | undefined {
  const bad = () =>
    void diags.error(
      "a requirement on a scalar argument must compare it with a compile-time value",
      c.span,
      "write it as `softmax_scale > 0.0` (one argument, <, <=, > or >=, joined by &&): the runtime checks it at each launch",
    );
  if (c.kind !== "binary" || !isBoundOp(c.op)) return bad();
  const left = c.left.kind === "name" && scalars.has(c.left.name);
  const right = c.right.kind === "name" && scalars.has(c.right.name);
  if (left === right) return bad();
  const [arg, other] = left ? [c.left, c.right] : [c.right, c.left];
  if (mentionsAny(other, scalars) || arg.kind !== "name") return bad();
  const v = evalConst(other, values, diags);
  if (v === undefined) return undefined;
  const value = ctNumber(v);
  if (value === undefined || Number.isNaN(value)) {
    diags.error("a scalar argument's bound must be a number", other.span);
    return undefined;
  }
  return { scalar: arg.name, op: left ? c.op : FLIP[c.op], value, message: r.message, span: c.span };
}
