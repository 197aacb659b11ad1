// Evaluates compile-time expressions: parameter defaults, `require` clauses, tune and instance
// choices. Values are ints, floats, bools or dtype names; anything touching a runtime value is
// reported as "not a compile-time constant".
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { Expr } from "../frontend/ast.ts";
import type { ScalarType } from "../ir/ir.ts";

export type CtValue = number | boolean | { dtype: ScalarType };

export const DTYPES: readonly ScalarType[] = ["f32", "f16", "bf16", "i32", "u32", "bool"];
export const isDtypeName = (n: string): n is ScalarType => (DTYPES as readonly string[]).includes(n);

export function showCt(v: CtValue): string {
  return typeof v === "object" ? v.dtype : String(v);
}

export function evalConst(e: Expr, env: ReadonlyMap<string, CtValue>, diags: Diagnostics): CtValue | undefined {
  const fail = (msg: string, hint?: string): undefined => {
    diags.error(msg, e.span, hint);
    return undefined;
  };
  switch (e.kind) {
    case "int":
    case "float":
    case "bool":
      return e.value;
    case "inf":
      return Infinity;
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
      const nums = args as number[];
      if ((e.callee === "min" || e.callee === "max") && nums.length === 2 && nums.every((x) => typeof x === "number")) {
        return e.callee === "min" ? Math.min(nums[0], nums[1]) : Math.max(nums[0], nums[1]);
      }
      return fail(`'${e.callee}(...)' cannot be evaluated at compile time`);
    }
    default:
      return fail("not a compile-time constant");
  }
}

function binary(op: string, a: CtValue, b: CtValue): CtValue | undefined {
  if (typeof a === "object" || typeof b === "object") {
    if (op === "==") return typeof a === "object" && typeof b === "object" && a.dtype === b.dtype;
    if (op === "!=") return !(typeof a === "object" && typeof b === "object" && a.dtype === b.dtype);
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
  const int = Number.isInteger(a) && Number.isInteger(b);
  switch (op) {
    case "+": return a + b;
    case "-": return a - b;
    case "*": return a * b;
    case "/": return int ? (b === 0 ? undefined : Math.trunc(a / b)) : a / b;
    case "%": return b === 0 ? undefined : a % b;
    case "==": return a === b;
    case "!=": return a !== b;
    case "<": return a < b;
    case "<=": return a <= b;
    case ">": return a > b;
    case ">=": return a >= b;
  }
  return undefined;
}
