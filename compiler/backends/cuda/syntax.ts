// CUDA C spelling of types, literals and operators. Registers hold f16/bf16 values as float (the
// value a 16-bit type can represent, rounded by every op that produces one), so arithmetic is
// plain float code; memory holds them as __half / __nv_bfloat16.
import type { SymExpr } from "../../../runtime/manifest.ts";
import { type BinOp, type ScalarType, type UnOp, isFloat } from "../../ir/ir.ts";

/** The C type a value of this dtype has in registers. */
export function regType(t: ScalarType): string {
  switch (t) {
    case "f32": case "f16": case "bf16": case "f8e4m3": return "float";
    case "i32": return "int";
    case "u32": return "unsigned";
    case "bool": return "bool";
  }
}

/** The C type of a tensor element in memory. */
export function memType(t: ScalarType): string {
  switch (t) {
    case "f16": return "__half";
    case "bf16": return "__nv_bfloat16";
    case "f8e4m3": return "__nv_fp8_e4m3";
    default: return regType(t);
  }
}

/** Read a memory element into a register value. */
export function fromMem(t: ScalarType, e: string): string {
  if (t === "f8e4m3") return `float(${e})`;
  return t === "f16" ? `__half2float(${e})` : t === "bf16" ? `__bfloat162float(${e})` : e;
}

/** Convert a register value for storing into memory of dtype t. */
export function toMem(t: ScalarType, e: string): string {
  // fp8: round to nearest even, saturating at ±448 (the constructor's __NV_SATFINITE).
  if (t === "f8e4m3") return `__nv_fp8_e4m3(${e})`;
  return t === "f16" ? `__float2half_rn(${e})` : t === "bf16" ? `__float2bfloat16_rn(${e})` : e;
}

/** Round a float register to what dtype t can hold (the value an f16/bf16 op produces). */
export function roundTo(t: ScalarType, e: string): string {
  return t === "f16" || t === "bf16" || t === "f8e4m3" ? fromMem(t, toMem(t, e)) : e;
}

export function literal(value: number | boolean, t: ScalarType): string {
  if (t === "bool") return String(Boolean(value));
  const x = Number(value);
  if (t === "i32") return x < 0 ? `(${x})` : `${x}`;
  if (t === "u32") return `${x >>> 0}u`;
  if (Number.isNaN(x)) return "NAN_F";
  if (x === Infinity) return "POS_INF";
  if (x === -Infinity) return "NEG_INF";
  let f = String(Math.fround(x) === x ? x : x);
  if (!/[.eE]/.test(f)) f += ".0";
  f += "f";
  return x < 0 ? `(${f})` : f;
}

const INFIX: Partial<Record<BinOp, string>> = {
  add: "+", sub: "-", mul: "*", div: "/", rem: "%", lt: "<", le: "<=", gt: ">", ge: ">=", eq: "==", ne: "!=", and: "&&", or: "||",
};

export function binary(op: BinOp, a: string, b: string, t: ScalarType): string {
  const float = isFloat(t);
  if (op === "min" || op === "max") return float ? `f${op}f(${a}, ${b})` : `${op}(${a}, ${b})`;
  if (op === "div" && !float) return `safe_div(${a}, ${b})`;
  if (op === "rem" && !float) return `safe_rem(${a}, ${b})`;
  const e = `(${a} ${INFIX[op]} ${b})`;
  return float && op !== "lt" && op !== "le" && op !== "gt" && op !== "ge" && op !== "eq" && op !== "ne" ? roundTo(t, e) : e;
}

export function unary(op: UnOp, a: string, t: ScalarType): string {
  const float = isFloat(t);
  let e: string;
  switch (op) {
    case "neg": e = `(-${a})`; break;
    case "not": return `(!${a})`;
    case "abs": e = float ? `fabsf(${a})` : `abs(${a})`; break;
    case "exp": e = `__expf(${a})`; break;
    case "exp2": e = `exp2_ftz(${a})`; break;
    case "log": e = `__logf(${a})`; break;
    case "log2": e = `log2f(${a})`; break;
    case "tanh": e = `tanh_approx(${a})`; break;
    case "sqrt": e = `sqrtf(${a})`; break;
    case "rsqrt": e = `rsqrtf(${a})`; break;
  }
  return float ? roundTo(t, e) : e;
}

const RESERVED = new Set(["int", "float", "double", "char", "short", "long", "unsigned", "signed", "bool", "void", "const", "auto", "if", "else", "for", "while", "do", "return", "break", "continue", "switch", "case", "default", "struct", "union", "class", "new", "delete", "this", "static", "extern", "register", "volatile", "inline", "sizeof", "typedef", "enum", "goto", "asm", "min", "max", "abs", "exp", "exp2", "log", "log2", "tanh", "sqrt", "main", "warp", "lane", "tid", "g", "t4", "P", "smem"]);

export function ident(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, "_");
  return RESERVED.has(s) ? `${s}_` : s;
}

/** A symbolic size as a C int expression over the parameter struct `P`. */
export function symC(e: SymExpr): string {
  if (typeof e === "number") return String(e);
  if (typeof e === "string") return `P.${ident(e)}`;
  const [a, b] = e.args.map(symC);
  switch (e.op) {
    case "ceil_div": return `((${a} + ${b} - 1) / ${b})`;
    case "max": case "min": return `${e.op}(${a}, ${b})`;
    default: return `(${a} ${({ add: "+", sub: "-", mul: "*", div: "/" } as const)[e.op]} ${b})`;
  }
}
