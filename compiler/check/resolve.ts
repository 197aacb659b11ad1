// Name resolution over the generic AST (before any parameter is bound): every name used must be
// declared, every call must name a function, and a misspelling gets a "did you mean".
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { Span } from "../diagnostics/source.ts";
import type { Block, Expr, FnDecl, Index, KernelDecl, Stmt, TargetClause } from "../frontend/ast.ts";
import { DTYPES } from "./const-eval.ts";
import { ARCHS } from "../backends/cuda/archs.ts";

/** Backends a `target` clause may name. */
export const TARGETS = ["wgsl", "cuda"];
/** Architectures a `target <backend> <arch>:` clause may name, per backend. */
export const TARGET_ARCHS: Record<string, readonly string[]> = { cuda: ARCHS };

/** Builtin functions; kept here so resolution needs nothing from the lowering. */
export const BUILTINS = [
  "rows", "cols", "tiles", "range", "dot", "exp", "exp2", "log", "log2", "tanh", "sqrt", "rsqrt", "abs",
  "max", "min", "where", "rowmax", "rowmin", "rowsum", "zeros", "full", "cdiv",
];

type Kind = "value" | "tensor" | "fn" | "dtype" | "param" | "scalar" | "dim" | "axis" | "loopvar";

const KIND_TEXT: Record<Kind, string> = {
  value: "variable", tensor: "tensor", fn: "function", dtype: "dtype", param: "compile-time parameter",
  scalar: "scalar argument", dim: "runtime dimension", axis: "grid axis", loopvar: "loop variable",
};

class Scope {
  private names = new Map<string, Kind>();
  constructor(private parent?: Scope) {}
  get(n: string): Kind | undefined {
    return this.names.get(n) ?? this.parent?.get(n);
  }
  set(n: string, k: Kind): void {
    this.names.set(n, k);
  }
  all(kinds?: Kind[]): string[] {
    const own = [...this.names].filter(([, k]) => !kinds || kinds.includes(k)).map(([n]) => n);
    return [...own, ...(this.parent?.all(kinds) ?? [])];
  }
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function suggest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(name.length / 3));
  for (const c of new Set(candidates)) {
    const d = distance(name, c);
    if (d <= bestD && c !== name) {
      best = c;
      bestD = d;
    }
  }
  return best ? `did you mean '${best}'?` : undefined;
}

export class Resolver {
  constructor(
    private diags: Diagnostics,
    private fns: Map<string, FnDecl>,
  ) {}

  private globals(): Scope {
    const g = new Scope();
    for (const d of DTYPES) g.set(d, "dtype");
    for (const b of BUILTINS) g.set(b, "fn");
    for (const f of this.fns.keys()) g.set(f, "fn");
    return g;
  }

  /** `target cuda sm_80:` names an architecture of that backend and only sets parameters. */
  private archClause(t: TargetClause): void {
    const archs = TARGET_ARCHS[t.target] ?? [];
    if (!archs.includes(t.arch!)) {
      const hint = archs.length ? `${t.target} builds for ${archs.join(" and ")}` : `'${t.target}' has no architectures: write \`target ${t.target}:\``;
      this.diags.error(`unknown architecture '${t.arch}' for target '${t.target}'`, t.archSpan!, hint);
    }
    for (const c of t.choices) {
      this.diags.error(`an architecture's clause sets parameters, it cannot list instances ('${c.name} in [...]')`, c.span, `list instances in \`target ${t.target}:\` and give ${t.arch} a value with \`${c.name} = ...\``);
    }
  }

  private unknown(name: string, span: Span, scope: Scope, what: "name" | "tensor" | "function" | "dtype" | "parameter" = "name"): void {
    // Suggest only names of the kind wanted: a tensor for `load z[...]`, a function for `f(...)`.
    const kinds: Record<typeof what, Kind[] | undefined> = {
      name: ["value", "param", "scalar", "dim", "axis", "loopvar"], tensor: ["tensor"], function: ["fn", "dtype"], dtype: ["dtype", "param"], parameter: ["param"],
    };
    this.diags.error(`unknown ${what} '${name}'`, span, suggest(name, scope.all(kinds[what])));
  }

  kernel(k: KernelDecl): void {
    const s = new Scope(this.globals());
    const seen = new Set<string>();
    for (const p of k.ctParams) {
      if (seen.has(p.name)) this.diags.error(`parameter '${p.name}' is declared twice`, p.span);
      seen.add(p.name);
      this.expr(p.default, s);
      s.set(p.name, "param");
    }
    for (const c of [...k.tune, ...k.instances]) if (!s.get(c.name)) this.unknown(c.name, c.span, s, "parameter");
    for (const t of k.targets) {
      if (!TARGETS.includes(t.target)) this.diags.error(`unknown target '${t.target}'`, t.span, `targets are ${TARGETS.join(" and ")}`);
      else if (t.arch !== undefined) this.archClause(t);
      for (const c of t.choices) if (s.get(c.name) !== "param") this.unknown(c.name, c.span, s, "parameter");
      for (const d of t.defaults) {
        if (s.get(d.name) !== "param") this.unknown(d.name, d.span, s, "parameter");
        this.expr(d.value, s);
      }
    }
    // Names in tensor shapes that are not parameters declare runtime dimensions.
    for (const p of k.params) {
      if (!s.get(p.type.dtype)) this.unknown(p.type.dtype, p.type.dtypeSpan, s, "dtype");
      // A presence condition sees the compile-time parameters only.
      if (p.when) this.expr(p.when, s);
      for (const d of p.type.dims ?? []) this.declareDims(d, s);
    }
    for (const p of k.params) {
      if (s.get(p.name) === "tensor" || s.get(p.name) === "scalar") this.diags.error(`parameter '${p.name}' is declared twice`, p.span);
      s.set(p.name, p.type.dims ? "tensor" : "scalar");
    }
    // After the parameters: a requirement may bound a scalar argument (check/scalar-bounds.ts).
    for (const r of k.requires) this.expr(r.cond, s);
    for (const g of k.grid) this.expr(g.extent, s);
    const axes = new Set<string>();
    for (const g of k.grid) {
      if (axes.has(g.name)) this.diags.error(`grid axis '${g.name}' is declared twice`, g.span);
      axes.add(g.name);
      s.set(g.name, "axis");
    }
    this.block(k.body, new Scope(s));
  }

  private declareDims(e: Expr, s: Scope): void {
    if (e.kind === "name" && !s.get(e.name)) s.set(e.name, "dim");
    else if (e.kind === "binary") {
      this.declareDims(e.left, s);
      this.declareDims(e.right, s);
    }
  }

  fn(f: FnDecl): void {
    const s = new Scope(this.globals());
    for (const p of f.params) {
      s.set(p.name, "value");
      if (p.type && !DTYPES.includes(p.type.dtype as never)) s.set(p.type.dtype, "dtype");
      for (const d of p.type?.dims ?? []) if (d.kind === "name") s.set(d.name, "value");
    }
    this.block(f.body, new Scope(s));
  }

  private block(b: Block, s: Scope): void {
    for (const st of b.stmts) this.stmt(st, s);
  }

  private stmt(st: Stmt, s: Scope): void {
    switch (st.kind) {
      case "let":
        this.expr(st.init, s);
        for (const n of st.names) s.set(n.name, "value");
        return;
      case "assign": {
        this.expr(st.value, s);
        const k = s.get(st.name);
        if (!k) this.diags.error(`cannot assign to '${st.name}': it is not declared`, st.nameSpan, suggest(st.name, s.all()) ?? `declare it first: let ${st.name} = ...`);
        else if (k !== "value") this.diags.error(`cannot assign to '${st.name}': it is a ${KIND_TEXT[k]}`, st.nameSpan, `copy it into a variable first: let v = ${st.name}`);
        return;
      }
      case "for": {
        this.expr(st.iter, s);
        const inner = new Scope(s);
        inner.set(st.var, "loopvar");
        if (st.mask) {
          this.expr(st.mask.pred, inner);
          inner.set(st.mask.name, "value");
        }
        this.block(st.body, new Scope(inner));
        return;
      }
      case "if":
        this.expr(st.cond, s);
        this.block(st.then, new Scope(s));
        if (st.else) this.block(st.else, new Scope(s));
        return;
      case "store":
        this.tensor(st.tensor, st.tensorSpan, s);
        this.indices(st.indices, s);
        this.expr(st.value, s);
        if (st.pred) this.expr(st.pred, s);
        return;
      case "return":
        st.values.forEach((v) => this.expr(v, s));
        return;
      case "expr":
        this.expr(st.expr, s);
        return;
    }
  }

  private tensor(name: string, span: Span, s: Scope): void {
    const k = s.get(name);
    if (!k) this.unknown(name, span, s, "tensor");
  }

  private indices(ix: Index[], s: Scope): void {
    for (const i of ix) {
      if (i.kind === "at") this.expr(i.expr, s);
      else {
        if (i.lo) this.expr(i.lo, s);
        if (i.hi) this.expr(i.hi, s);
      }
    }
  }

  private expr(e: Expr, s: Scope): void {
    switch (e.kind) {
      case "name":
        if (!s.get(e.name)) this.unknown(e.name, e.span, s);
        return;
      case "binary":
        this.expr(e.left, s);
        this.expr(e.right, s);
        return;
      case "unary":
        this.expr(e.operand, s);
        return;
      case "ternary":
        this.expr(e.cond, s);
        this.expr(e.then, s);
        this.expr(e.else, s);
        return;
      case "call":
        if (!s.get(e.callee)) this.unknown(e.callee, e.calleeSpan, s, "function");
        e.args.forEach((a) => this.expr(a, s));
        return;
      case "index":
        this.expr(e.base, s);
        this.indices(e.indices, s);
        return;
      case "load":
        this.tensor(e.tensor, e.tensorSpan, s);
        this.indices(e.indices, s);
        if (e.pred) this.expr(e.pred, s);
        if (e.other) this.expr(e.other, s);
        return;
      case "transpose":
        this.expr(e.operand, s);
        return;
      case "tuple":
        e.elems.forEach((x) => this.expr(x, s));
        return;
    }
  }
}
