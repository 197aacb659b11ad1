// Lexical environments of the lowering walk. A name is bound to an IR value, a tuple of
// bindings (functions return several tiles), a tensor parameter, a dtype, or a function.
import type { FnDecl } from "../frontend/ast.ts";
import type { ScalarType, TensorParam, Value } from "../ir/ir.ts";

export type Binding =
  | { kind: "value"; value: Value }
  | { kind: "tuple"; elems: Binding[] }
  | { kind: "tensor"; tensor: TensorParam }
  | { kind: "dtype"; dtype: ScalarType }
  | { kind: "fn"; decl: FnDecl }
  /** The result of an expression that already reported an error: silently propagates. */
  | { kind: "error" };

export const ERROR: Binding = { kind: "error" };

export class Env {
  private vars = new Map<string, Binding>();
  /**
   * A function body's root environment is isolated: it sees its parameters and globals, never
   * the calling kernel's parameters (functions are lexically scoped, then inlined).
   */
  constructor(
    readonly parent?: Env,
    private readonly isolatedRoot = false,
  ) {}

  isolated(): boolean {
    return this.isolatedRoot || (this.parent?.isolated() ?? false);
  }

  lookup(name: string): Binding | undefined {
    return this.vars.get(name) ?? this.parent?.lookup(name);
  }

  define(name: string, b: Binding): void {
    this.vars.set(name, b);
  }

  /** Rebind `name` where it was defined; false when it is not defined anywhere. */
  assign(name: string, b: Binding): boolean {
    if (this.vars.has(name)) {
      this.vars.set(name, b);
      return true;
    }
    return this.parent?.assign(name, b) ?? false;
  }

  hasOwn(name: string): boolean {
    return this.vars.has(name);
  }

  names(): string[] {
    const out = new Set(this.parent?.names() ?? []);
    for (const k of this.vars.keys()) out.add(k);
    return [...out];
  }
}

/** Flatten a binding into its leaf values (tuples in order). */
export function leaves(b: Binding): Value[] | undefined {
  if (b.kind === "value") return [b.value];
  if (b.kind === "tuple") {
    const out: Value[] = [];
    for (const e of b.elems) {
      const l = leaves(e);
      if (!l) return undefined;
      out.push(...l);
    }
    return out;
  }
  return undefined;
}

/** Rebuild a binding of the same structure as `like` from a list of leaf values. */
export function rebuild(like: Binding, vals: Value[], at = { i: 0 }): Binding {
  if (like.kind === "value") return { kind: "value", value: vals[at.i++] };
  if (like.kind === "tuple") return { kind: "tuple", elems: like.elems.map((e) => rebuild(e, vals, at)) };
  return like;
}
