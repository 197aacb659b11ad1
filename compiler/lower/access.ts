// Tensor accesses: `load t[...] where p else x`, bare `t[...]` reads and `store t[...] = v`.
// Each index is a scalar or a tile of positions; `a:b` slices become position tiles along the
// columns (or rows, for the first of two slices). The access's tile shape is the broadcast of
// its index shapes, so paged gathers and packed heads are plain index arithmetic.
import type { SymExpr } from "../../runtime/manifest.ts";
import type { Expr, Index, Stmt } from "../frontend/ast.ts";
import type { Span } from "../diagnostics/source.ts";
import { broadcastShapes } from "../ir/builder.ts";
import { type TensorParam, type Value, shapeEq, showType } from "../ir/ir.ts";
import type { Lowering } from "./context.ts";
import { type Binding, ERROR, type Env } from "./env.ts";
import { lowerExpr } from "./expr.ts";

/** The runtime value of a symbolic size. */
export function symValue(L: Lowering, s: SymExpr): Value {
  if (typeof s === "number") return L.b.const(s, "i32");
  if (typeof s === "string") return L.scalars.has(s) ? L.b.arg(s, "i32") : L.b.dim(s);
  const a = symValue(L, s.args[0]);
  const c = symValue(L, s.args[1]);
  switch (s.op) {
    case "ceil_div":
      return L.b.binary("div", L.b.binary("add", a, L.b.binary("sub", c, L.b.const(1, "i32"))), c);
    default:
      return L.b.binary(s.op === "add" ? "add" : s.op === "sub" ? "sub" : s.op === "mul" ? "mul" : s.op === "div" ? "div" : s.op, a, c);
  }
}

interface Access {
  tensor: TensorParam;
  indices: Value[];
  shape: number[];
}

function lowerIndices(L: Lowering, tensor: TensorParam, indices: Index[], env: Env, span: Span): Access | undefined {
  const rank = tensor.shape.length;
  if (indices.length !== rank) {
    L.error(`'${tensor.name}' has ${rank} dimension${rank === 1 ? "" : "s"} but ${indices.length} ind${indices.length === 1 ? "ex was" : "ices were"} given`, span);
    return undefined;
  }
  const nSlices = indices.filter((i) => i.kind === "slice").length;
  if (nSlices > 2) {
    L.error("at most two slices: the first indexes tile rows, the second tile columns", span);
    return undefined;
  }
  let slicesSeen = 0;
  const values: Value[] = [];
  let shape: number[] = [];
  let ok = true;
  indices.forEach((ix, d) => {
    const dim = tensor.shape[d];
    let v: Value | undefined;
    if (ix.kind === "at") {
      v = L.scalarOrTileInt(L.value(lowerExpr(L, ix.expr, env), ix.expr.span, "an index"), ix.expr.span);
      if (v && typeof dim === "number") checkExtent(L, v, dim, d, tensor, ix.span);
    } else {
      const axis: 0 | 1 = nSlices === 2 && slicesSeen === 0 ? 0 : 1;
      slicesSeen++;
      v = lowerSlice(L, ix, dim, d, tensor, axis, env);
    }
    if (!v) {
      ok = false;
      return;
    }
    const s = broadcastShapes(shape, v.type.shape);
    if (!s) {
      L.error(`index ${d} of '${tensor.name}' has shape [${v.type.shape}], which does not broadcast with [${shape}]`, ix.span);
      ok = false;
      return;
    }
    shape = s;
    values.push(v);
  });
  return ok ? { tensor, indices: values, shape } : undefined;
}

function lowerSlice(L: Lowering, ix: Extract<Index, { kind: "slice" }>, dim: SymExpr, d: number, t: TensorParam, axis: 0 | 1, env: Env): Value | undefined {
  const lo = ix.lo ? L.scalarInt(L.value(lowerExpr(L, ix.lo, env), ix.lo.span), ix.lo.span, "a slice bound") : L.b.const(0, "i32");
  let hi: Value | undefined;
  if (ix.hi) hi = L.scalarInt(L.value(lowerExpr(L, ix.hi, env), ix.hi.span), ix.hi.span, "a slice bound");
  else if (typeof dim === "number") hi = L.b.const(dim, "i32");
  else {
    L.error(`':' over dimension ${d} of '${t.name}' (${typeof dim === "string" ? dim : "runtime-sized"}) needs constant bounds`, ix.span, "a tile's size must be known at compile time: write lo:lo+N");
    return undefined;
  }
  if (!lo || !hi) return undefined;
  L.b.span = ix.span;
  const width = L.constInt(L.b.binary("sub", hi, lo), ix.span, "a slice's width");
  if (width === undefined) return undefined;
  if (width <= 0) {
    L.error(`empty slice: width ${width}`, ix.span);
    return undefined;
  }
  if (typeof dim === "number") {
    const hiC = hi.op.kind === "const" ? Number(hi.op.value) : width;
    if (hiC > dim || width > dim) {
      L.error(`tile larger than the dimension: this slice spans ${hiC > dim ? `up to ${hiC}` : `${width} elements`} but dimension ${d} of '${t.name}' has ${dim}`, ix.span);
      return undefined;
    }
  }
  return L.b.iota(lo, width, axis);
}

/** A tile of positions along a compile-time dimension must not be longer than the dimension. */
function checkExtent(L: Lowering, v: Value, dim: number, d: number, t: TensorParam, span: Span): void {
  const len = v.type.shape.length ? Math.max(...v.type.shape) : 1;
  if (v.op.kind === "iota" && len > dim) {
    L.error(`tile larger than the dimension: ${len} positions index dimension ${d} of '${t.name}', which has ${dim}`, span, "use a smaller tile or slice the dimension");
  }
}

export function lowerAccess(L: Lowering, e: Extract<Expr, { kind: "index" } | { kind: "load" }>, env: Env): Binding {
  let tensor: TensorParam | undefined;
  if (e.kind === "load") {
    tensor = tensorNamed(L, e.tensor, e.tensorSpan, env);
    if (!tensor) return ERROR;
  } else {
    const base = lowerExpr(L, e.base, env);
    if (base.kind === "error") return ERROR;
    if (base.kind !== "tensor") return L.error("only tensors can be indexed", e.base.span, "tiles are combined whole; use where(...) to pick elements");
    tensor = base.tensor;
  }
  const acc = lowerIndices(L, tensor, e.indices, env, e.span);
  if (!acc) return ERROR;
  let pred: Value | undefined;
  let other = 0;
  let shape = acc.shape;
  if (e.kind === "load" && e.pred) {
    pred = L.value(lowerExpr(L, e.pred, env), e.pred.span, "a predicate");
    if (!pred) return ERROR;
    if (pred.type.dtype !== "bool") return L.error(`a load predicate must be boolean, found ${showType(pred.type)}`, e.pred.span);
    const s = broadcastShapes(shape, pred.type.shape);
    if (!s) return L.error(`the predicate's shape [${pred.type.shape}] does not broadcast with the loaded tile [${shape}]`, e.pred.span);
    shape = s;
  }
  if (e.kind === "load" && e.other) {
    const o = L.value(lowerExpr(L, e.other, env), e.other.span);
    if (!o) return ERROR;
    if (o.op.kind !== "const" || typeof o.op.value !== "number") return L.error("the value after 'else' must be a constant", e.other.span);
    other = o.op.value;
  }
  L.b.span = e.span;
  return { kind: "value", value: L.b.load(tensor, acc.indices, shape, pred, other) };
}

/**
 * The tensor a `load`/`store` names: through the environment first (a function's tensor
 * parameter), then the kernel's own tensors. Unknown names were reported by resolve.
 */
function tensorNamed(L: Lowering, name: string, span: Span, env: Env): TensorParam | undefined {
  if (!env.lookup(name) && !env.isolated() && L.absentUse(name, span)) return undefined;
  const b = env.lookup(name) ?? (env.isolated() ? undefined : (L.tensors.has(name) ? { kind: "tensor" as const, tensor: L.tensors.get(name)! } : undefined));
  if (b?.kind === "tensor") return b.tensor;
  if (b && b.kind !== "error") L.error(`'${name}' is not a tensor`, span, b.kind === "value" ? "load and store take a tensor parameter" : undefined);
  else if (!b && (L.config.values.has(name) || L.scalars.has(name))) L.error(`'${name}' is not a tensor`, span);
  return undefined;
}

export function lowerStore(L: Lowering, s: Extract<Stmt, { kind: "store" }>, env: Env): void {
  const tensor = tensorNamed(L, s.tensor, s.tensorSpan, env);
  if (!tensor) return;
  const acc = lowerIndices(L, tensor, s.indices, env, s.span);
  const raw = L.value(lowerExpr(L, s.value, env), s.value.span);
  let pred: Value | undefined;
  if (s.pred) {
    pred = L.value(lowerExpr(L, s.pred, env), s.pred.span, "a predicate");
    if (pred && pred.type.dtype !== "bool") {
      L.error(`a store predicate must be boolean, found ${showType(pred.type)}`, s.pred.span);
      return;
    }
  }
  if (!acc || !raw || (s.pred && !pred)) return;
  const value = L.coerce(raw, tensor.dtype, s.value.span, `the store to '${tensor.name}'`);
  if (!value) return;
  const shape = broadcastShapes(acc.shape, value.type.shape);
  if (!shape || !shapeEq(shape, acc.shape)) {
    L.error(`cannot store ${showType(value.type)} through indices of shape [${acc.shape.join(", ")}]`, s.value.span, "the indices decide the stored tile's shape: add a ':' slice for whole rows");
    return;
  }
  if (pred && !broadcastShapes(acc.shape, pred.type.shape)) {
    L.error(`the predicate's shape [${pred.type.shape}] does not broadcast with the stored tile [${acc.shape}]`, s.pred!.span);
    return;
  }
  L.b.emit({ kind: "store", tensor, indices: acc.indices, value, pred, span: s.span });
}


