// State shared by the lowering walk (the AST → tile IR pass that also type-checks, inlines
// functions and applies the specialization), and the type rules every construct uses.
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { Span } from "../diagnostics/source.ts";
import type { FnDecl } from "../frontend/ast.ts";
import { broadcastShapes, type IRBuilder } from "../ir/builder.ts";
import { type ScalarParam, type ScalarType, type TensorParam, type Value, isFloat, isInt, showType } from "../ir/ir.ts";
import type { Config } from "../check/specialize.ts";
import { type Binding, ERROR } from "./env.ts";

/**
 * May a literal take this dtype? Integer literals become any numeric type; float literals only
 * float types (`i / 2.0` is an error, not an integer division).
 */
export function literalFits(v: Value, to: ScalarType): boolean {
  if (!v.weak || v.op.kind !== "const" || typeof v.op.value !== "number") return false;
  if (isFloat(v.type.dtype)) return isFloat(to);
  return to !== "bool";
}

export class Lowering {
  /** Active inlined calls, innermost last: for recursion checks and "called from" notes. */
  readonly calls: { decl: FnDecl; span: Span }[] = [];
  /** Set while lowering a loop body or branch, where `return` must not appear. */
  nested = 0;
  /** Parameters this instance leaves out (`name: type if cond` with cond false), by name. */
  readonly absent = new Map<string, Span>();

  constructor(
    readonly b: IRBuilder,
    readonly diags: Diagnostics,
    readonly config: Config,
    readonly fns: Map<string, FnDecl>,
    readonly tensors: Map<string, TensorParam>,
    readonly scalars: Map<string, ScalarParam>,
    readonly dims: Set<string>,
  ) {}

  /** Report a use of a parameter this instance leaves out; true when `name` is one. */
  absentUse(name: string, span: Span): boolean {
    const cond = this.absent.get(name);
    if (!cond) return false;
    this.diags.add({
      severity: "error",
      message: `'${name}' is not a parameter of this instance: its condition is false here`,
      span,
      hint: "read it under the same condition: `cond ? use : fallback` lowers only the branch taken",
      notes: [{ message: "the condition", span: cond }],
    });
    return true;
  }

  error(message: string, span: Span | undefined, hint?: string): Binding {
    const notes = [...this.calls].reverse().map((c) => ({ message: `in the call to '${c.decl.name}' here`, span: c.span }));
    this.diags.add({ severity: "error", message, span, hint, notes: notes.length ? notes : undefined });
    return ERROR;
  }

  /** The binding as one value, or an error that says what it was instead. */
  value(b: Binding, span: Span, what = "a value"): Value | undefined {
    switch (b.kind) {
      case "value":
        return b.value;
      case "error":
        return undefined;
      case "tuple":
        this.error(`expected ${what} but found a tuple of ${b.elems.length}`, span, "unpack it with let (a, b, ...) = ...");
        return undefined;
      case "tensor":
        this.error(`expected ${what} but found the tensor '${b.tensor.name}'`, span, `read it with load ${b.tensor.name}[...]`);
        return undefined;
      case "dtype":
        this.error(`expected ${what} but found the dtype '${b.dtype}'`, span);
        return undefined;
      case "fn":
        this.error(`expected ${what} but found the function '${b.decl.name}'`, span, `call it: ${b.decl.name}(...)`);
        return undefined;
    }
  }

  /** A compile-time integer (tile sizes, `rows(m, B)`'s B). */
  constInt(v: Value | undefined, span: Span, what: string): number | undefined {
    if (!v) return undefined;
    if (v.op.kind !== "const" || typeof v.op.value !== "number" || !Number.isInteger(v.op.value)) {
      this.error(`${what} must be a compile-time integer`, span, "use a literal or a compile-time parameter");
      return undefined;
    }
    return v.op.value;
  }

  scalarInt(v: Value | undefined, span: Span, what: string): Value | undefined {
    if (!v) return undefined;
    if (v.type.shape.length !== 0 || !isInt(v.type.dtype)) {
      this.error(`${what} must be a scalar integer, found ${showType(v.type)}`, span);
      return undefined;
    }
    return v.type.dtype === "i32" ? v : this.b.cast(v, "i32");
  }

  /** An index: a scalar or tile of integers, as i32. */
  scalarOrTileInt(v: Value | undefined, span: Span): Value | undefined {
    if (!v) return undefined;
    if (!isInt(v.type.dtype)) {
      this.error(`an index must be an integer, found ${showType(v.type)}`, span);
      return undefined;
    }
    return v.type.dtype === "i32" ? v : this.b.cast(v, "i32");
  }

  /** Give two operands one dtype: literals adapt to the other side; anything else must agree. */
  unify(a: Value, c: Value, span: Span, what: string): [Value, Value] | undefined {
    if (a.type.dtype === c.type.dtype) return [a, c];
    const adapt = (weak: Value, to: ScalarType): Value | undefined => (literalFits(weak, to) ? this.b.cast(weak, to) : undefined);
    if (a.weak && !c.weak) {
      const a2 = adapt(a, c.type.dtype);
      if (a2) return [a2, c];
    } else if (c.weak && !a.weak) {
      const c2 = adapt(c, a.type.dtype);
      if (c2) return [a, c2];
    } else if (a.weak && c.weak) {
      return isFloat(a.type.dtype) ? [a, this.b.cast(c, a.type.dtype)] : [this.b.cast(a, c.type.dtype), c];
    }
    // Mixing integers and floats: the integer side is the one to convert.
    const to = isFloat(a.type.dtype) && !isFloat(c.type.dtype) ? a.type.dtype : c.type.dtype;
    const which = isFloat(a.type.dtype) !== isFloat(c.type.dtype) ? "the integer side" : "one side";
    this.error(`dtype mismatch in ${what}: ${showType(a.type)} and ${showType(c.type)}`, span, `convert ${which} explicitly, e.g. ${to}(x)`);
    return undefined;
  }

  /** The shape two operands broadcast to, or an error. */
  broadcast(a: Value, c: Value, span: Span, what: string): number[] | undefined {
    const s = broadcastShapes(a.type.shape, c.type.shape);
    if (!s) this.error(`shape mismatch in ${what}: ${showType(a.type)} and ${showType(c.type)} do not broadcast`, span, "tiles combine when each dimension is equal or 1");
    return s ?? undefined;
  }

  /** Convert a value to `dtype` for assignment-like positions; literals adapt, others must match. */
  coerce(v: Value, dtype: ScalarType, span: Span, what: string): Value | undefined {
    if (v.type.dtype === dtype) return v;
    if (literalFits(v, dtype)) return this.b.cast(v, dtype);
    this.error(`dtype mismatch in ${what}: expected ${dtype} but found ${showType(v.type)}`, span, `convert it explicitly with ${dtype}(...)`);
    return undefined;
  }
}
