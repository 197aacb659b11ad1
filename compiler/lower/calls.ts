// Calls: builtins (tile constructors, math, reductions, dot), dtype conversions (`f32(x)`,
// `T(x)`), and user functions, which are inlined at every call site with their parameters
// bound to the arguments (tiles, tuples or tensors alike).
import type { Span } from "../diagnostics/source.ts";
import type { Expr, FnDecl, TypeAnn } from "../frontend/ast.ts";
import { type ScalarType, type UnOp, type Value, isFloat, isInt, showType } from "../ir/ir.ts";
import { ctDtype, isDtypeName } from "../check/const-eval.ts";
import { type Lowering, literalFits } from "./context.ts";
import { type Binding, ERROR, Env } from "./env.ts";
import { lowerExpr, select } from "./expr.ts";
import { lowerFnBody } from "./stmt.ts";

type Call = Extract<Expr, { kind: "call" }>;
type Lower = (L: Lowering, a: Value[], e: Call) => Binding;

const val = (value: Value): Binding => ({ kind: "value", value });

/** The largest tile side: far beyond any workgroup, small enough that sizes never overflow i32. */
export const MAX_TILE = 1 << 16;

function math(op: UnOp): Lower {
  return (L, [x], e) => {
    if (isInt(x.type.dtype) && x.weak) x = L.b.cast(x, "f32");
    if (!isFloat(x.type.dtype)) return L.error(`'${e.callee}' needs a float operand, found ${showType(x.type)}`, e.span);
    return val(L.b.unary(op, x));
  };
}

function iota(axis: 0 | 1): Lower {
  return (L, [m, size], e) => {
    const start = L.scalarInt(m, e.args[0].span, `the tile index of '${e.callee}'`);
    const len = L.constInt(size, e.args[1].span, "a tile size");
    if (!start || len === undefined) return ERROR;
    if (len <= 0 || len > MAX_TILE) return L.error(`a tile size must be between 1 and ${MAX_TILE}, found ${len}`, e.args[1].span);
    return val(L.b.iota(L.b.binary("mul", start, L.b.const(len, "i32")), len, axis));
  };
}

function reduce(op: "max" | "min" | "sum"): Lower {
  return (L, [x], e) => {
    if (x.type.shape.length !== 2) return L.error(`'${e.callee}' needs a 2-D tile, found ${showType(x.type)}`, e.span);
    if (x.type.dtype === "bool") return L.error(`'${e.callee}' needs a numeric tile`, e.span);
    return val(L.b.reduce(op, x));
  };
}

function minmax(op: "min" | "max"): Lower {
  return (L, [x, y], e) => {
    const u = L.unify(x, y, e.span, `'${op}'`);
    if (!u || !L.broadcast(u[0], u[1], e.span, `'${op}'`)) return ERROR;
    if (u[0].type.dtype === "bool") return L.error(`'${op}' needs numeric operands`, e.span);
    return val(L.b.binary(op, u[0], u[1]));
  };
}

function filled(L: Lowering, e: Call, r: Value, c: Value, v: Value, dtype?: ScalarType): Binding {
  const rows = L.constInt(r, e.args[0].span, "a tile size");
  const cols = L.constInt(c, e.args[1].span, "a tile size");
  if (rows === undefined || cols === undefined) return ERROR;
  if (rows <= 0 || cols <= 0 || rows > MAX_TILE || cols > MAX_TILE) return L.error(`tile sizes must be between 1 and ${MAX_TILE}, found ${rows} x ${cols}`, e.span);
  if (v.op.kind !== "const") return L.error("the fill value must be a constant", e.args[2]?.span ?? e.span);
  const t = dtype ?? (v.weak && isInt(v.type.dtype) ? "f32" : v.type.dtype);
  return val(L.b.const(v.op.value, t, [rows, cols]));
}

const BUILTINS: Record<string, { arity: [number, number]; lower: Lower }> = {
  rows: { arity: [2, 2], lower: iota(0) },
  cols: { arity: [2, 2], lower: iota(1) },
  exp: { arity: [1, 1], lower: math("exp") },
  exp2: { arity: [1, 1], lower: math("exp2") },
  log: { arity: [1, 1], lower: math("log") },
  log2: { arity: [1, 1], lower: math("log2") },
  tanh: { arity: [1, 1], lower: math("tanh") },
  sqrt: { arity: [1, 1], lower: math("sqrt") },
  rsqrt: { arity: [1, 1], lower: math("rsqrt") },
  abs: {
    arity: [1, 1],
    lower: (L, [x], e) => (x.type.dtype === "bool" ? L.error("'abs' needs a numeric operand", e.span) : val(L.b.unary("abs", x))),
  },
  max: { arity: [2, 2], lower: minmax("max") },
  min: { arity: [2, 2], lower: minmax("min") },
  where: { arity: [3, 3], lower: (L, [c, a, b], e) => select(L, c, a, b, e) },
  rowmax: { arity: [1, 1], lower: reduce("max") },
  rowmin: { arity: [1, 1], lower: reduce("min") },
  rowsum: { arity: [1, 1], lower: reduce("sum") },
  cdiv: {
    arity: [2, 2],
    lower: (L, [a, b], e) => {
      const x = L.scalarInt(a, e.args[0].span, "cdiv's operand");
      const y = L.scalarInt(b, e.args[1].span, "cdiv's operand");
      if (!x || !y) return ERROR;
      return val(L.b.binary("div", L.b.binary("add", x, L.b.binary("sub", y, L.b.const(1, "i32"))), y));
    },
  },
  dot: {
    arity: [2, 2],
    lower: (L, [a, b], e) => {
      if (a.type.shape.length !== 2 || b.type.shape.length !== 2) {
        return L.error(`'dot' needs 2-D tiles, found ${showType(a.type)} and ${showType(b.type)}`, e.span);
      }
      if (a.type.shape[1] !== b.type.shape[0]) {
        return L.error(
          `shape mismatch in dot: ${showType(a.type)} · ${showType(b.type)} (inner dimensions ${a.type.shape[1]} and ${b.type.shape[0]} differ)`,
          e.span,
          "dot(a, b) multiplies a [m, k] tile by a [k, n] tile; transpose with ^T if needed",
        );
      }
      if (!isFloat(a.type.dtype) || a.type.dtype !== b.type.dtype) {
        return L.error(`dtype mismatch in dot: ${showType(a.type)} · ${showType(b.type)} (both must be the same float type)`, e.span, "convert with f16(x), bf16(x) or f32(x)");
      }
      return val(L.b.dot(a, b));
    },
  },
  zeros: {
    arity: [2, 3],
    lower: (L, [r, c], e) => filled(L, e, r, c, L.b.const(0, "f32")),
  },
  full: { arity: [3, 3], lower: (L, [r, c, v], e) => filled(L, e, r, c, v) },
};

/** Names of builtins, for "did you mean" hints and the resolver. */
export const BUILTIN_NAMES = [...Object.keys(BUILTINS), "tiles", "range"];

export function lowerCall(L: Lowering, e: Call, env: Env): Binding {
  const callee = env.lookup(e.callee);
  if (callee?.kind === "fn") return inline(L, callee.decl, e, env);
  const ctDt = env.isolated() ? undefined : ctDtype(L.config.values.get(e.callee));
  if (callee?.kind === "dtype" || (!callee && (isDtypeName(e.callee) || ctDt))) {
    const dt = callee?.kind === "dtype" ? callee.dtype : isDtypeName(e.callee) ? e.callee : ctDt!;
    return convert(L, dt, e, env);
  }
  if (callee) return L.error(`'${e.callee}' is not a function`, e.calleeSpan);
  const fn = L.fns.get(e.callee);
  if (fn) return inline(L, fn, e, env);
  if (e.callee === "tiles" || e.callee === "range") {
    return L.error(`'${e.callee}(...)' can only be used as a for loop's range or a grid axis`, e.span);
  }
  const bi = BUILTINS[e.callee];
  if (!bi) return ERROR; // reported by resolve
  const [lo, hi] = bi.arity;
  if (e.args.length < lo || e.args.length > hi) {
    const n = lo === hi ? `${lo}` : `${lo} to ${hi}`;
    return L.error(`'${e.callee}' takes ${n} argument${hi === 1 ? "" : "s"} but ${e.args.length} ${e.args.length === 1 ? "was" : "were"} given`, e.span);
  }
  if (e.callee === "zeros" && e.args.length === 3) {
    const r = L.value(lowerExpr(L, e.args[0], env), e.args[0].span);
    const c = L.value(lowerExpr(L, e.args[1], env), e.args[1].span);
    const dt = lowerExpr(L, e.args[2], env);
    if (!r || !c || dt.kind === "error") return ERROR;
    if (dt.kind !== "dtype") return L.error("the third argument of 'zeros' must be a dtype", e.args[2].span);
    L.b.span = e.span;
    return filled(L, e, r, c, L.b.const(0, "f32"), dt.dtype);
  }
  const args: Value[] = [];
  for (const a of e.args) {
    const v = L.value(lowerExpr(L, a, env), a.span, "a tile or scalar");
    if (!v) return ERROR;
    args.push(v);
  }
  L.b.span = e.span;
  return bi.lower(L, args, e);
}

function convert(L: Lowering, dtype: ScalarType, e: Call, env: Env): Binding {
  if (e.args.length !== 1) return L.error(`'${e.callee}(...)' converts one value but ${e.args.length} were given`, e.span);
  const v = L.value(lowerExpr(L, e.args[0], env), e.args[0].span);
  if (!v) return ERROR;
  L.b.span = e.span;
  const c = L.b.cast(v, dtype);
  // An explicit conversion makes a literal's type definite: i32(0) is an i32, not a literal.
  return { kind: "value", value: c.weak && c.op.kind === "const" ? L.b.const(c.op.value, dtype, c.type.shape) : c };
}

function inline(L: Lowering, decl: FnDecl, e: Call, env: Env): Binding {
  if (e.args.length !== decl.params.length) {
    return L.error(
      `'${decl.name}' takes ${decl.params.length} argument${decl.params.length === 1 ? "" : "s"} but ${e.args.length} ${e.args.length === 1 ? "was" : "were"} given`,
      e.span,
      `declared as fn ${decl.name}(${decl.params.map((p) => p.name).join(", ")})`,
    );
  }
  if (L.calls.some((c) => c.decl === decl)) return L.error(`'${decl.name}' calls itself; functions are inlined and cannot recurse`, e.span);
  const args = e.args.map((a) => lowerExpr(L, a, env));
  if (args.some((a) => a.kind === "error")) return ERROR;
  const fnEnv = new Env(undefined, true);
  let ok = true;
  decl.params.forEach((p, i) => {
    const arg = p.type ? checkParam(L, p.type, args[i], fnEnv, e.args[i].span, p.name) : args[i];
    if (!arg) ok = false;
    fnEnv.define(p.name, arg ?? ERROR);
  });
  if (!ok) return ERROR;
  L.calls.push({ decl, span: e.span });
  try {
    return lowerFnBody(L, decl, fnEnv);
  } finally {
    L.calls.pop();
  }
}

/**
 * Check an argument against `p: dtype[dims]`; unknown dtype and dim names are bound on first use.
 * Returns the argument, with a literal converted to the annotated dtype, or undefined on error.
 */
function checkParam(L: Lowering, ann: TypeAnn, arg: Binding, fnEnv: Env, span: Span, name: string): Binding | undefined {
  let v = L.value(arg, span, `a tile for '${name}'`);
  if (!v) return undefined;
  const want = `${ann.dtype}${ann.dims ? `[${ann.dims.map(showDim).join(", ")}]` : ""}`;
  const mismatch = () => {
    L.error(`argument '${name}' should be ${want} but is ${showType(v!.type)}`, span);
    return undefined;
  };
  if (isDtypeName(ann.dtype)) {
    if (v.type.dtype !== ann.dtype) {
      if (!literalFits(v, ann.dtype)) return mismatch();
      v = L.b.cast(v, ann.dtype);
    }
  } else {
    const bound = fnEnv.lookup(ann.dtype);
    if (bound?.kind === "dtype" && bound.dtype !== v.type.dtype) return mismatch();
    if (!bound) fnEnv.define(ann.dtype, { kind: "dtype", dtype: v.type.dtype });
  }
  const dims = ann.dims ?? [];
  if (dims.length !== v.type.shape.length) return mismatch();
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i];
    const actual = v.type.shape[i];
    if (d.kind === "int") {
      if (d.value !== actual) return mismatch();
    } else if (d.kind === "name") {
      const bound = fnEnv.lookup(d.name);
      if (bound?.kind === "value" && bound.value.op.kind === "const" && bound.value.op.value !== actual) return mismatch();
      if (!bound) fnEnv.define(d.name, { kind: "value", value: L.b.const(actual, "i32", [], true) });
    }
  }
  return { kind: "value", value: v };
}

function showDim(e: Expr): string {
  return e.kind === "int" ? String(e.value) : e.kind === "name" ? e.name : "?";
}


