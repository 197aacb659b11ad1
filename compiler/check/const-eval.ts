// Evaluates compile-time expressions: parameter defaults, `require` clauses, tune and instance
// choices. Values are ints, floats, bools or dtype names; anything touching a runtime value is
// reported as "not a compile-time constant".
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { Expr } from "../frontend/ast.ts";
import type { ScalarType } from "../ir/ir.ts";

/** A compile-time value: an int (a JS number), a float (boxed, so 1.0 stays a float), a bool or a dtype. */
export type CtValue = number | boolean | { dtype: ScalarType } | { float: number };

export const ctDtype = (v: CtValue | undefined): ScalarType | undefined => (typeof v === "object" && "dtype" in v ? v.dtype : undefined);
export const ctFloat = (v: CtValue | undefined): v is { float: number } => typeof v === "object" && "float" in v;
/** The numeric value of an int or float, else undefined. */
export const ctNumber = (v: CtValue | undefined): number | undefined => (typeof v === "number" ? v : ctFloat(v) ? v.float : undefined);
/** A plain JSON value for manifests: dtypes by name, floats as numbers. */
export const ctPlain = (v: CtValue): number | boolean | string => (typeof v === "object" ? ("dtype" in v ? v.dtype : v.float) : v);

export const DTYPES: readonly ScalarType[] = ["f32", "f16", "bf16", "f8e4m3", "i32", "u32", "bool"];
export const isDtypeName = (n: string): n is ScalarType => (DTYPES as readonly string[]).includes(n);

export function showCt(v: CtValue): string {
  if (ctFloat(v)) return Number.isInteger(v.float) ? `${v.float}.0` : String(v.float);
  return typeof v === "object" ? v.dtype : String(v);
}

export function evalConst(e: Expr, env: ReadonlyMap<string, CtValue>, diags: Diagnostics): CtValue | undefined {
  const fail = (msg: string, hint?: string): undefined => {
    diags.error(msg, e.span, hint);
    return undefined;
  };
  switch (e.kind) {
    case "int":
    case "bool":
      return e.value;
    case "float":
      return { float: e.value };
    case "inf":
      return { float: Infinity };
    case "name": {
      const v = env.get(e.name);
      if (v !== undefined) return v;
      if (isDtypeName(e.name)) return { dtype: e.name };
      return fail(`'${e.name}' is not a compile-time constant here`, "only earlier compile-time parameters and literals can be used");
    }
    case "unary": {
      const a = evalConst(e.operand, env, diags);
      if (a === undefined) return undefined;
      if (e.op === "!" && typeof a === "boolean") return !a;
      if (e.op === "-" && typeof a === "number") return -a;
      if (e.op === "-" && ctFloat(a)) return { float: -a.float };
      return fail(`operator '${e.op}' does not apply to ${showCt(a)}`);
    }
    case "ternary": {
      const c = evalConst(e.cond, env, diags);
      if (c === undefined) return undefined;
      if (typeof c !== "boolean") return fail("the condition of '?:' must be a boolean");
      return evalConst(c ? e.then : e.else, env, diags);
    }
    case "binary": {
      const a = evalConst(e.left, env, diags);
      const b = evalConst(e.right, env, diags);
      if (a === undefined || b === undefined) return undefined;
      return binary(e.op, a, b) ?? fail(`operator '${e.op}' does not apply to ${showCt(a)} and ${showCt(b)}`);
    }
    case "call": {
      const args = e.args.map((x) => evalConst(x, env, diags));
      if (args.some((x) => x === undefined)) return undefined;
      const nums = args.map((x) => ctNumber(x));
      if ((e.callee === "min" || e.callee === "max") && nums.length === 2 && nums.every((x) => x !== undefined)) {
        const r = e.callee === "min" ? Math.min(nums[0]!, nums[1]!) : Math.max(nums[0]!, nums[1]!);
        return args.some(ctFloat) ? { float: r } : r;
      }
      return fail(`'${e.callee}(...)' cannot be evaluated at compile time`);
    }
    default:
      return fail("not a compile-time constant");
  }
}

function binary(op: string, a: CtValue, b: CtValue): CtValue | undefined {
  const da = ctDtype(a);
  const db = ctDtype(b);
  if (da || db) {
    if (op === "==") return da === db;
    if (op === "!=") return da !== db;
    return undefined;
  }
  if (typeof a === "boolean" || typeof b === "boolean") {
    if (typeof a !== typeof b) return undefined;
    switch (op) {
      case "&&": return (a as boolean) && (b as boolean);
      case "||": return (a as boolean) || (b as boolean);
      case "==": return a === b;
      case "!=": return a !== b;
    }
    return undefined;
  }
  const x = ctNumber(a)!;
  const y = ctNumber(b)!;
  // Integers stay integers (division truncates, as at run time); a float operand makes a float.
  const float = ctFloat(a) || ctFloat(b);
  const num = (r: number): CtValue => (float ? { float: r } : r);
  switch (op) {
    case "+": return num(x + y);
    case "-": return num(x - y);
    case "*": return num(x * y);
    case "/": return float ? { float: x / y } : y === 0 ? undefined : Math.trunc(x / y);
    case "%": return float || y === 0 ? undefined : x % y;
    case "==": return x === y;
    case "!=": return x !== y;
    case "<": return x < y;
    case "<=": return x <= y;
    case ">": return x > y;
    case ">=": return x >= y;
  }
  return undefined;
}
