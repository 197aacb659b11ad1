// Lowers one kernel declaration under one configuration into a KernelIR: parameters become
// tensor bindings, scalar arguments and runtime dimensions; grid axes become program ids; the
// body is lowered statement by statement.
import { dimInferable, type SymExpr } from "../../runtime/manifest.ts";
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { Expr, FnDecl, KernelDecl, Stmt } from "../frontend/ast.ts";
import { IRBuilder } from "../ir/builder.ts";
import type { KernelIR, ScalarParam, ScalarType, TensorParam } from "../ir/ir.ts";
import { type CtValue, ctDtype, ctFloat, ctPlain, evalConst, isDtypeName, showCt } from "../check/const-eval.ts";
import type { Config } from "../check/specialize.ts";
import { Lowering } from "./context.ts";
import { Env } from "./env.ts";
import { lowerKernelBody } from "./stmt.ts";

export interface LoweredKernel {
  ir: KernelIR;
  /** Next free value id, for passes that create values. */
  nextId: number;
}

/** A readable instance suffix: dtypes by name, bools as `causal`/`nocausal`, numbers as `hd64`. */
export function instanceName(kernel: string, chosen: Record<string, CtValue>): string {
  const parts = Object.entries(chosen).map(([name, v]) => {
    if (ctDtype(v)) return ctDtype(v);
    if (typeof v === "boolean") return v ? name.toLowerCase() : `no${name.toLowerCase()}`;
    const initials = name.split("_").filter(Boolean).map((w) => w[0].toLowerCase()).join("");
    // File-name friendly: 0.5 → 0p5, -1 → m1.
    return `${initials}${String(ctPlain(v)).replace(".", "p").replace("-", "m")}`;
  });
  return [kernel, ...parts].join(".");
}

function dtypeOf(name: string, config: Config): ScalarType | undefined {
  if (isDtypeName(name)) return name;
  return ctDtype(config.values.get(name));
}

/** A shape or grid expression as a SymExpr over runtime dims and scalar arguments. */
function toSym(e: Expr, config: Config, L: { error(m: string, s: Expr["span"], h?: string): unknown }, names: (n: string) => boolean): SymExpr | undefined {
  switch (e.kind) {
    case "int":
      return e.value;
    case "name": {
      const v = config.values.get(e.name);
      if (typeof v === "number" && Number.isInteger(v)) return v;
      if (v !== undefined) {
        L.error(`'${e.name}' is ${ctDtype(v) ? "a dtype" : ctFloat(v) ? "a float" : String(v)}, not a size`, e.span);
        return undefined;
      }
      if (!names(e.name)) return undefined;
      return e.name;
    }
    case "binary": {
      const op = ({ "+": "add", "-": "sub", "*": "mul", "/": "div" } as const)[e.op as "+"];
      const a = toSym(e.left, config, L, names);
      const b = toSym(e.right, config, L, names);
      if (!op) {
        L.error(`'${e.op}' cannot appear in a size`, e.span, "sizes use +, -, * and /");
        return undefined;
      }
      if (a === undefined || b === undefined) return undefined;
      if (typeof a === "number" && typeof b === "number") return op === "add" ? a + b : op === "sub" ? a - b : op === "mul" ? a * b : Math.trunc(a / b);
      return { op, args: [a, b] };
    }
    case "call": {
      if (e.callee === "tiles" && e.args.length === 2) {
        const a = toSym(e.args[0], config, L, names);
        const b = toSym(e.args[1], config, L, names);
        if (a === undefined || b === undefined) return undefined;
        if (typeof b !== "number") {
          L.error("a tile size must be a compile-time integer", e.args[1].span);
          return undefined;
        }
        return typeof a === "number" ? Math.ceil(a / b) : { op: "ceil_div", args: [a, b] };
      }
      L.error(`'${e.callee}(...)' cannot appear in a size`, e.span, "a grid axis runs over a size or tiles(size, B)");
      return undefined;
    }
    default:
      L.error("not a valid size", e.span);
      return undefined;
  }
}

/**
 * Tensors a kernel stores to, following tensors passed to functions by name (so loads from
 * every other tensor are pure and may be shared, and WGSL can bind them read-only).
 */
function storedTensors(k: KernelDecl, fns: Map<string, FnDecl>): Set<string> {
  const out = new Set<string>();
  const active = new Set<FnDecl>();
  const walkExpr = (e: Expr, alias: Map<string, string>): void => {
    switch (e.kind) {
      case "call": {
        e.args.forEach((a) => walkExpr(a, alias));
        const f = fns.get(e.callee);
        if (!f || active.has(f)) return;
        const inner = new Map<string, string>();
        f.params.forEach((p, i) => {
          const a = e.args[i];
          if (a?.kind === "name") inner.set(p.name, alias.get(a.name) ?? a.name);
        });
        active.add(f);
        walk(f.body.stmts, inner);
        active.delete(f);
        return;
      }
      case "binary": walkExpr(e.left, alias); walkExpr(e.right, alias); return;
      case "unary": walkExpr(e.operand, alias); return;
      case "ternary": walkExpr(e.cond, alias); walkExpr(e.then, alias); walkExpr(e.else, alias); return;
      case "tuple": e.elems.forEach((x) => walkExpr(x, alias)); return;
      case "transpose": walkExpr(e.operand, alias); return;
      case "index": walkExpr(e.base, alias); return;
      default: return;
    }
  };
  const walk = (stmts: Stmt[], alias: Map<string, string>): void => {
    for (const s of stmts) {
      if (s.kind === "store") {
        out.add(alias.get(s.tensor) ?? s.tensor);
        walkExpr(s.value, alias);
      } else if (s.kind === "for") {
        walkExpr(s.iter, alias);
        walk(s.body.stmts, alias);
      } else if (s.kind === "if") {
        walkExpr(s.cond, alias);
        walk(s.then.stmts, alias);
        if (s.else) walk(s.else.stmts, alias);
      } else if (s.kind === "let") walkExpr(s.init, alias);
      else if (s.kind === "assign") walkExpr(s.value, alias);
      else if (s.kind === "expr") walkExpr(s.expr, alias);
      else if (s.kind === "return") s.values.forEach((v) => walkExpr(v, alias));
    }
  };
  walk(k.body.stmts, new Map());
  return out;
}

export function lowerKernel(k: KernelDecl, config: Config, fns: Map<string, FnDecl>, diags: Diagnostics): LoweredKernel | undefined {
  const before = diags.errorReports;
  const b = new IRBuilder();
  const tensors = new Map<string, TensorParam>();
  const scalars = new Map<string, ScalarParam>();
  const dims = new Set<string>();
  const stored = storedTensors(k, fns);
  const L = new Lowering(b, diags, config, fns, tensors, scalars, dims);
  const scalarNames = new Set(k.params.filter((p) => !p.type.dims).map((p) => p.name));

  for (const p of k.params) {
    if (p.when) {
      const present = evalConst(p.when, config.values, diags);
      if (present === undefined) continue;
      if (typeof present !== "boolean") {
        L.error(`the condition of parameter '${p.name}' must be a boolean, not ${showCt(present)}`, p.when.span);
        continue;
      }
      if (!present) {
        L.absent.set(p.name, p.when.span);
        continue;
      }
    }
    const dt = dtypeOf(p.type.dtype, config);
    if (!dt) {
      L.error(`unknown dtype '${p.type.dtype}'`, p.type.dtypeSpan, "use f32, f16, bf16, f8e4m3, i32, u32, or a dtype parameter");
      continue;
    }
    if (tensors.has(p.name) || scalars.has(p.name)) {
      L.error(`parameter '${p.name}' is declared twice`, p.span);
      continue;
    }
    if (!p.type.dims) {
      if (dt === "bool" || dt === "f16" || dt === "bf16" || dt === "f8e4m3") L.error(`a scalar argument must be f32, i32 or u32, not ${dt}`, p.type.dtypeSpan);
      const bounds = config.bounds.filter((x) => x.scalar === p.name).map(({ op, value, message }) => ({ op, value, ...(message ? { message } : {}) }));
      scalars.set(p.name, { name: p.name, dtype: dt, span: p.span, ...(bounds.length ? { bounds } : {}) });
      continue;
    }
    const shape: SymExpr[] = [];
    for (const d of p.type.dims) {
      const s = toSym(d, config, L, (n) => {
        if (scalarNames.has(n)) {
          L.error(`'${n}' is a scalar argument; tensor shapes use dimension names`, d.span);
          return false;
        }
        return true;
      });
      if (s === undefined) continue;
      shape.push(s);
      collectDims(s, dims);
    }
    const written = stored.has(p.name);
    tensors.set(p.name, { name: p.name, dtype: dt, shape, written, span: p.span });
  }

  const env = new Env();
  const grid: KernelIR["grid"] = [];
  if (k.grid.length > 3) L.error("a grid has at most 3 axes", k.gridSpan);
  k.grid.slice(0, 3).forEach((g, axis) => {
    const extent = toSym(g.extent, config, L, (n) => {
      if (dims.has(n) || scalars.get(n)?.dtype === "i32" || scalars.get(n)?.dtype === "u32") return true;
      L.error(`'${n}' is neither a tensor dimension nor an integer scalar argument`, g.extent.span);
      return false;
    });
    if (extent !== undefined) grid.push({ name: g.name, extent });
    env.define(g.name, { kind: "value", value: b.programId(axis, g.name) });
  });

  for (const d of dims) {
    if (!dimInferable({ tensors: [...tensors.values()] }, d)) {
      const t = [...tensors.values()].find((x) => x.shape.some((s) => mentions(s, d)));
      L.error(`the runtime dimension '${d}' cannot be inferred from tensor shapes`, t?.span ?? k.nameSpan, `give some tensor a dimension that is exactly '${d}' (or ${d} + c, c * ${d})`);
    }
  }
  if (diags.errorReports === before) lowerKernelBody(L, k.body, env);
  if (diags.errorReports > before) return undefined;
  const ir: KernelIR = {
    name: instanceName(k.name, config.chosen),
    kernel: k.name,
    span: k.nameSpan,
    params: Object.fromEntries([...config.values].map(([n, v]) => [n, ctPlain(v)])),
    tuned: config.tuned,
    tensors: [...tensors.values()],
    scalars: [...scalars.values()],
    dims: [...dims],
    grid,
    body: b.finish(),
  };
  return { ir, nextId: b.newId() };
}

function mentions(s: SymExpr, name: string): boolean {
  return s === name || (typeof s === "object" && s.args.some((a) => mentions(a, name)));
}

function collectDims(s: SymExpr, out: Set<string>): void {
  if (typeof s === "string") out.add(s);
  else if (typeof s === "object") s.args.forEach((a) => collectDims(a, out));
}
