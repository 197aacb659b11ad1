// Lowering of expressions: literals, names, operators, tuples, transposes. Calls live in
// calls.ts and tensor accesses in access.ts.
import type { BinaryOp, Expr } from "../frontend/ast.ts";
import type { BinOp } from "../ir/ir.ts";
import { broadcastShapes } from "../ir/builder.ts";
import { isFloat, showType } from "../ir/ir.ts";
import { lowerAccess } from "./access.ts";
import { lowerCall } from "./calls.ts";
import type { Lowering } from "./context.ts";
import { type Binding, ERROR, type Env } from "./env.ts";
import { ctFloat, isDtypeName } from "../check/const-eval.ts";

const BIN: Record<BinaryOp, BinOp> = {
  "+": "add", "-": "sub", "*": "mul", "/": "div", "%": "rem",
  "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "&&": "and", "||": "or",
};

export function lowerExpr(L: Lowering, e: Expr, env: Env): Binding {
  const b = L.b;
  b.span = e.span;
  switch (e.kind) {
    case "int":
      return { kind: "value", value: b.const(e.value, "i32", [], true) };
    case "float":
      return { kind: "value", value: b.const(e.value, "f32", [], true) };
    case "bool":
      return { kind: "value", value: b.const(e.value, "bool") };
    case "inf":
      return { kind: "value", value: b.const(Infinity, "f32", [], true) };
    case "name":
      return lowerName(L, e.name, e.span, env);
    case "binary": {
      const [l, r] = [lowerExpr(L, e.left, env), lowerExpr(L, e.right, env)];
      // Dtypes compare at compile time (`KV == f8e4m3`), to a constant condition.
      if (l.kind === "dtype" && r.kind === "dtype" && (e.op === "==" || e.op === "!=")) return { kind: "value", value: L.b.const((l.dtype === r.dtype) === (e.op === "=="), "bool") };
      return lowerBinary(L, e.op, l, r, e);
    }
    case "unary": {
      const v = L.value(lowerExpr(L, e.operand, env), e.operand.span);
      if (!v) return ERROR;
      b.span = e.span;
      if (e.op === "!") {
        if (v.type.dtype !== "bool") return L.error(`'!' needs a boolean operand, found ${showType(v.type)}`, e.span);
        return { kind: "value", value: b.unary("not", v) };
      }
      if (v.type.dtype === "bool") return L.error("'-' needs a numeric operand, found bool", e.span);
      return { kind: "value", value: b.unary("neg", v) };
    }
    case "ternary": {
      const c = L.value(lowerExpr(L, e.cond, env), e.cond.span, "a condition");
      if (!c) return ERROR;
      // A compile-time condition picks its branch before the other is lowered: the branch not
      // taken may name what this instance lacks (`KV == f8e4m3 ? k_descale[b, h] : 1.0`).
      if (c.op.kind === "const" && c.type.shape.length === 0) return lowerExpr(L, c.op.value ? e.then : e.else, env);
      const x = L.value(lowerExpr(L, e.then, env), e.then.span);
      const y = L.value(lowerExpr(L, e.else, env), e.else.span);
      if (!x || !y) return ERROR;
      b.span = e.span;
      return select(L, c, x, y, e);
    }
    case "call":
      return lowerCall(L, e, env);
    case "index":
    case "load":
      return lowerAccess(L, e, env);
    case "transpose": {
      const v = L.value(lowerExpr(L, e.operand, env), e.operand.span, "a tile");
      if (!v) return ERROR;
      if (v.type.shape.length !== 2) return L.error(`'^T' needs a 2-D tile, found ${showType(v.type)}`, e.span);
      b.span = e.span;
      return { kind: "value", value: b.transpose(v) };
    }
    case "tuple":
      return { kind: "tuple", elems: e.elems.map((x) => lowerExpr(L, x, env)) };
    case "error":
      return ERROR;
  }
}

function lowerName(L: Lowering, name: string, span: Expr["span"], env: Env): Binding {
  const bound = env.lookup(name);
  if (bound) return bound;
  if (!env.isolated()) {
    if (L.absentUse(name, span)) return ERROR;
    const k = kernelName(L, name);
    if (k) return k;
  }
  if (isDtypeName(name)) return { kind: "dtype", dtype: name };
  const fn = L.fns.get(name);
  if (fn) return { kind: "fn", decl: fn };
  // resolve.ts has already reported unknown names; stay quiet here.
  return ERROR;
}

/** Names a kernel body sees beyond its locals: parameters, tensors, scalars, runtime dims. */
function kernelName(L: Lowering, name: string): Binding | undefined {
  const ct = L.config.values.get(name);
  if (ct !== undefined) {
    if (ctFloat(ct)) return { kind: "value", value: L.b.const(ct.float, "f32", [], true) };
    if (typeof ct === "object") return { kind: "dtype", dtype: ct.dtype };
    if (typeof ct === "boolean") return { kind: "value", value: L.b.const(ct, "bool") };
    return { kind: "value", value: L.b.const(ct, "i32", [], true) };
  }
  const t = L.tensors.get(name);
  if (t) return { kind: "tensor", tensor: t };
  const s = L.scalars.get(name);
  if (s) return { kind: "value", value: L.b.arg(name, s.dtype) };
  if (L.dims.has(name)) return { kind: "value", value: L.b.dim(name) };
  return undefined;
}

export function lowerBinary(L: Lowering, op: BinaryOp, lb: Binding, rb: Binding, e: Expr): Binding {
  const what = `'${op}'`;
  const l = L.value(lb, "left" in e ? e.left.span : e.span);
  const r = L.value(rb, "right" in e ? e.right.span : e.span);
  if (!l || !r) return ERROR;
  L.b.span = e.span;
  const u = L.unify(l, r, e.span, what);
  if (!u) return ERROR;
  const [a, c] = u;
  if (!L.broadcast(a, c, e.span, what)) return ERROR;
  const logical = op === "&&" || op === "||";
  if (logical && a.type.dtype !== "bool") return L.error(`${what} needs boolean operands, found ${showType(a.type)}`, e.span);
  if (!logical && a.type.dtype === "bool" && op !== "==" && op !== "!=") {
    return L.error(`${what} needs numeric operands, found bool`, e.span, "combine conditions with && and ||");
  }
  if (op === "%" && isFloat(a.type.dtype)) return L.error(`'%' needs integer operands, found ${a.type.dtype}`, e.span);
  return { kind: "value", value: L.b.binary(BIN[op], a, c) };
}

export function select(L: Lowering, c: import("../ir/ir.ts").Value, x: import("../ir/ir.ts").Value, y: import("../ir/ir.ts").Value, e: Expr): Binding {
  if (c.type.dtype !== "bool") return L.error(`a condition must be boolean, found ${showType(c.type)}`, e.span);
  const u = L.unify(x, y, e.span, "the two branches");
  if (!u) return ERROR;
  const both = L.broadcast(u[0], u[1], e.span, "the two branches");
  if (!both) return ERROR;
  if (!broadcastShapes(c.type.shape, both)) {
    return L.error(`shape mismatch: the condition ${showType(c.type)} does not broadcast with the branches [${both.join(", ")}]`, e.span);
  }
  return { kind: "value", value: L.b.select(c, u[0], u[1]) };
}
