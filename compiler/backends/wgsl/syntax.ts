// WGSL spelling of types, literals and operators. WGSL rejects infinite constants, so infinities
// come from run-time lets built from their bit patterns (see the kernel prologue in emit.ts).
import type { SymExpr } from "../../../runtime/manifest.ts";
import type { BinOp, ScalarType, UnOp } from "../../ir/ir.ts";

export function wgslType(t: ScalarType): string {
  // f32, f16, i32, u32, bool are all WGSL scalar types; fp8 values are held as f32 once loaded.
  return t === "f8e4m3" ? "f32" : t;
}

export function literal(value: number | boolean, t: ScalarType): string {
  if (t === "bool") return String(Boolean(value));
  const x = Number(value);
  if (t === "i32") return x < 0 ? `(${x})` : `${x}`;
  if (t === "u32") return `${x >>> 0}u`;
  let f: string;
  if (Number.isNaN(x)) f = "NAN";
  else if (x === Infinity) f = "POS_INF";
  else if (x === -Infinity) f = "NEG_INF";
  else {
    f = String(x);
    if (!/[.eE]/.test(f)) f += ".0";
    if (x < 0) f = `(${f})`;
  }
  return t === "f16" ? `f16(${f})` : f;
}

const INFIX: Partial<Record<BinOp, string>> = {
  add: "+", sub: "-", mul: "*", div: "/", rem: "%", lt: "<", le: "<=", gt: ">", ge: ">=", eq: "==", ne: "!=", and: "&&", or: "||",
};

export function binary(op: BinOp, a: string, b: string): string {
  const infix = INFIX[op];
  return infix ? `(${a} ${infix} ${b})` : `${op}(${a}, ${b})`;
}

export function unary(op: UnOp, a: string): string {
  switch (op) {
    case "neg": return `(-${a})`;
    case "not": return `(!${a})`;
    case "rsqrt": return `inverseSqrt(${a})`;
    // Some drivers compute tanh through exp and return NaN for large |x|; tanh is ±1 there anyway.
    case "tanh": return `tanh(clamp(${a}, -15.0, 15.0))`;
    default: return `${op}(${a})`;
  }
}

const RESERVED = new Set([
  "array", "bool", "break", "case", "const", "continue", "default", "discard", "else", "enable", "false", "fn", "for", "if", "let",
  "loop", "return", "struct", "switch", "true", "var", "while", "f32", "f16", "i32", "u32", "vec2", "vec3", "vec4", "mat2x2",
  "override", "alias", "diagnostic", "requires", "target", "main", "select", "min", "max", "exp", "exp2", "log", "log2", "sqrt",
]);

/** A WGSL-safe identifier for a spec name. */
export function ident(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, "_");
  return RESERVED.has(s) || s.startsWith("__") ? `${s}_` : s;
}

/** A symbolic size as a WGSL i32 expression over the uniform block `P`. */
export function symWgsl(e: SymExpr): string {
  if (typeof e === "number") return literal(e, "i32");
  if (typeof e === "string") return `P.${ident(e)}`;
  const [a, b] = e.args.map(symWgsl);
  switch (e.op) {
    case "ceil_div": return `((${a} + ${b} - 1) / ${b})`;
    case "max": case "min": return `${e.op}(${a}, ${b})`;
    default: return `(${a} ${({ add: "+", sub: "-", mul: "*", div: "/" } as const)[e.op]} ${b})`;
  }
}
