// Lowering of statements. Variables are immutable SSA values under the hood: a name assigned in
// a loop or branch becomes a loop-carried value or a branch result, found by a syntactic scan
// of what the body assigns.
import type { Span } from "../diagnostics/source.ts";
import type { Block as AstBlock, Expr, FnDecl, Stmt, TypeAnn } from "../frontend/ast.ts";
import { type ForInst, type IfInst, type Value, shapeEq, showType } from "../ir/ir.ts";
import { ctDtype, isDtypeName } from "../check/const-eval.ts";
import { lowerStore } from "./access.ts";
import type { Lowering } from "./context.ts";
import { type Binding, ERROR, Env, leaves, rebuild } from "./env.ts";
import { lowerExpr } from "./expr.ts";

/** Names assigned in `stmts` that refer to variables declared outside them. */
export function assignedOuter(stmts: Stmt[], locals: Set<string>[] = [new Set()], out = new Set<string>()): Set<string> {
  const isLocal = (n: string) => locals.some((s) => s.has(n));
  const scope = locals[locals.length - 1];
  for (const s of stmts) {
    if (s.kind === "let") s.names.forEach((n) => scope.add(n.name));
    else if (s.kind === "assign" && !isLocal(s.name)) out.add(s.name);
    else if (s.kind === "for") {
      const inner = new Set([s.var, ...(s.mask ? [s.mask.name] : [])]);
      assignedOuter(s.body.stmts, [...locals, inner], out);
    } else if (s.kind === "if") {
      assignedOuter(s.then.stmts, [...locals, new Set()], out);
      if (s.else) assignedOuter(s.else.stmts, [...locals, new Set()], out);
    }
  }
  return out;
}

type Mode = { kind: "kernel" } | { kind: "fn"; decl: FnDecl };

function lowerStmts(L: Lowering, stmts: Stmt[], env: Env, mode: Mode, top: boolean): Binding | undefined {
  let result: Binding | undefined;
  stmts.forEach((s, i) => {
    const last = i === stmts.length - 1;
    if (s.kind === "return") {
      result = lowerReturn(L, s, env, mode, top && last, last);
      return;
    }
    lowerStmt(L, s, env, mode);
  });
  return result;
}

function lowerReturn(L: Lowering, s: Extract<Stmt, { kind: "return" }>, env: Env, mode: Mode, atEnd: boolean, lastInBlock: boolean): Binding | undefined {
  if (mode.kind === "fn") {
    if (!atEnd) {
      L.error("a function returns only at its end", s.span, "compute the result in variables and return once, as the last statement");
      return ERROR;
    }
    const vals = s.values.map((v) => lowerExpr(L, v, env));
    return vals.length === 1 ? vals[0] : { kind: "tuple", elems: vals };
  }
  if (s.values.length) {
    L.error("a kernel returns no value", s.values[0].span, "write results with store; a bare return ends the program early");
    return undefined;
  }
  if (L.nested > 0) {
    L.error("return cannot appear inside a loop", s.span, "the whole tile program must leave together: return from an if at the kernel's top level");
    return undefined;
  }
  if (!lastInBlock) L.error("statements after return are never run", s.span);
  if (!atEnd) L.b.emit({ kind: "return", span: s.span });
  return undefined;
}

export function lowerFnBody(L: Lowering, decl: FnDecl, env: Env): Binding {
  const r = lowerStmts(L, decl.body.stmts, new Env(env), { kind: "fn", decl }, true);
  return r ?? { kind: "tuple", elems: [] };
}

export function lowerKernelBody(L: Lowering, body: AstBlock, env: Env): void {
  lowerStmts(L, body.stmts, env, { kind: "kernel" }, true);
}

function lowerStmt(L: Lowering, s: Stmt, env: Env, mode: Mode): void {
  L.b.span = s.span;
  switch (s.kind) {
    case "let": {
      let b = lowerExpr(L, s.init, env);
      if (s.type && b.kind !== "error") b = checkAnnotation(L, s.type, b, s.init.span, env);
      nameValues(b, s.names.map((n) => n.name));
      if (s.names.length === 1) env.define(s.names[0].name, b);
      else if (b.kind === "tuple" && b.elems.length === s.names.length) s.names.forEach((n, i) => env.define(n.name, b.elems[i]));
      else {
        if (b.kind !== "error") L.error(`cannot unpack ${b.kind === "tuple" ? `${b.elems.length} values` : "a single value"} into ${s.names.length} names`, s.span);
        s.names.forEach((n) => env.define(n.name, ERROR));
      }
      return;
    }
    case "assign": {
      const old = env.lookup(s.name);
      if (!old) return; // reported by resolve
      const b = lowerExpr(L, s.value, env);
      env.assign(s.name, b.kind === "error" || old.kind === "error" ? b : conform(L, b, old, s.value.span, `'${s.name}'`));
      return;
    }
    case "store":
      lowerStore(L, s, env);
      return;
    case "expr":
      lowerExpr(L, s.expr, env);
      return;
    case "for":
      lowerFor(L, s, env, mode);
      return;
    case "if":
      lowerIf(L, s, env, mode);
      return;
    case "return":
    case "error":
      return;
  }
}

/** A new value for an existing variable keeps the variable's type (literals adapt). */
function conform(L: Lowering, b: Binding, like: Binding, span: Span, what: string): Binding {
  if (hasError(b) || hasError(like)) return ERROR;
  const vals = leaves(b);
  const want = leaves(like);
  if (!vals || !want || vals.length !== want.length) {
    return L.error(`${what} changes structure: it held ${describe(like)} and is given ${describe(b)}`, span);
  }
  const out: Value[] = [];
  for (let i = 0; i < vals.length; i++) {
    let v = vals[i];
    const w = want[i];
    if (v.weak && v.op.kind === "const" && !shapeEq(v.type.shape, w.type.shape)) v = L.b.const(v.op.value, w.type.dtype, w.type.shape);
    const c = L.coerce(v, w.type.dtype, span, what);
    if (!c) return ERROR;
    if (!shapeEq(c.type.shape, w.type.shape)) {
      return L.error(`${what} changes shape from ${showType(w.type)} to ${showType(c.type)}`, span, "a variable keeps its type; introduce a new name with let");
    }
    out.push(c);
  }
  return rebuild(like, out);
}

/** Give let-bound values the spec's names (the first name wins), for readable generated code. */
function nameValues(b: Binding, names: string[]): void {
  const set = (x: Binding, n: string) => {
    if (x.kind === "value" && !x.value.name && x.value.op.kind !== "const") x.value.name = n;
  };
  if (names.length === 1) set(b, names[0]);
  else if (b.kind === "tuple") b.elems.forEach((e, i) => names[i] && set(e, names[i]));
}

function hasError(b: Binding): boolean {
  return b.kind === "error" || (b.kind === "tuple" && b.elems.some(hasError));
}

function describe(b: Binding): string {
  if (b.kind === "tuple") return `a tuple of ${b.elems.length}`;
  if (b.kind === "value") return showType(b.value.type);
  return `a ${b.kind}`;
}

function checkAnnotation(L: Lowering, t: TypeAnn, b: Binding, span: Span, env: Env): Binding {
  const v = L.value(b, span);
  if (!v) return ERROR;
  const bound = env.lookup(t.dtype);
  const dt = isDtypeName(t.dtype) ? t.dtype : bound?.kind === "dtype" ? bound.dtype : env.isolated() ? undefined : ctDtype(L.config.values.get(t.dtype));
  if (!dt) return L.error(`unknown dtype '${t.dtype}'`, t.dtypeSpan, "use f32, f16, bf16, f8e4m3, i32, u32 or bool");
  const c = L.coerce(v, dt, span, "this let");
  if (!c) return ERROR;
  // Dims: literals, the function's shape variables, or (in a kernel) compile-time parameters.
  const dims = (t.dims ?? []).map((d) => {
    if (d.kind === "int") return d.value;
    if (d.kind !== "name") return NaN;
    const b = env.lookup(d.name);
    if (b?.kind === "value" && b.value.op.kind === "const") return Number(b.value.op.value);
    const c = env.isolated() ? undefined : L.config.values.get(d.name);
    return typeof c === "number" ? c : NaN;
  });
  if (!shapeEq(dims, c.type.shape)) return L.error(`declared ${dt}[${dims.join(", ")}] but the value is ${showType(c.type)}`, span);
  return { kind: "value", value: c };
}

/** Lower a for loop's range: `tiles(hi, B)`, `tiles(lo, hi, B)` or `range(lo, hi)`. */
function loopRange(L: Lowering, iter: Expr, env: Env): [Value, Value] | undefined {
  if (iter.kind !== "call" || (iter.callee !== "tiles" && iter.callee !== "range")) {
    L.error("a for loop runs over tiles(len, B), tiles(lo, hi, B) or range(lo, hi)", iter.span);
    return undefined;
  }
  const n = iter.args.length;
  const ok = iter.callee === "range" ? n === 2 : n === 2 || n === 3;
  if (!ok) {
    L.error(`'${iter.callee}' takes ${iter.callee === "range" ? "2" : "2 or 3"} arguments but ${n} ${n === 1 ? "was" : "were"} given`, iter.span);
    return undefined;
  }
  const args = iter.args.map((a) => L.value(lowerExpr(L, a, env), a.span));
  if (args.some((a) => !a)) return undefined;
  const b = L.b;
  b.span = iter.span;
  if (iter.callee === "range") {
    const lo = L.scalarInt(args[0], iter.args[0].span, "a loop bound");
    const hi = L.scalarInt(args[1], iter.args[1].span, "a loop bound");
    return lo && hi ? [lo, hi] : undefined;
  }
  const size = L.constInt(args[n - 1], iter.args[n - 1].span, "a tile size");
  const hi = L.scalarInt(args[n - 2], iter.args[n - 2].span, "a loop bound");
  const lo = n === 3 ? L.scalarInt(args[0], iter.args[0].span, "a loop bound") : b.const(0, "i32");
  if (size === undefined || !hi || !lo) return undefined;
  if (size <= 0) {
    L.error(`a tile size must be positive, found ${size}`, iter.args[n - 1].span);
    return undefined;
  }
  const B = b.const(size, "i32");
  return [b.binary("div", lo, B), b.binary("div", b.binary("add", hi, b.const(size - 1, "i32")), B)];
}

/** Loop-carried and branch-assigned variables: their current bindings and leaf values. */
function carriedState(L: Lowering, names: Set<string>, env: Env, span: Span): { name: string; like: Binding; vals: Value[] }[] | undefined {
  const out: { name: string; like: Binding; vals: Value[] }[] = [];
  for (const name of names) {
    const like = env.lookup(name);
    if (!like || like.kind === "error") return undefined;
    const vals = leaves(like);
    if (!vals) {
      L.error(`'${name}' cannot change inside a loop or branch: only tiles and tuples of tiles can`, span);
      return undefined;
    }
    out.push({ name, like, vals });
  }
  return out;
}

/** Read back the carried variables at the end of a body, conformed to their types. */
function yieldsOf(L: Lowering, state: { name: string; like: Binding }[], env: Env, span: Span): Value[] | undefined {
  const out: Value[] = [];
  for (const s of state) {
    const b = conform(L, env.lookup(s.name) ?? ERROR, s.like, span, `'${s.name}'`);
    const l = leaves(b);
    if (!l) return undefined;
    out.push(...l);
  }
  return out;
}

function lowerFor(L: Lowering, s: Extract<Stmt, { kind: "for" }>, env: Env, mode: Mode): void {
  const range = loopRange(L, s.iter, env);
  const state = carriedState(L, assignedOuter(s.body.stmts), env, s.span);
  if (!range || !state) return;
  const b = L.b;
  b.span = s.span;
  const inits = state.flatMap((x) => x.vals);
  const loop: ForInst = {
    kind: "for", iv: undefined as unknown as Value, lo: range[0], hi: range[1], inits, carried: [], body: { insts: [] },
    yields: [], results: [], status: "any", span: s.span,
  };
  loop.iv = b.detached({ dtype: "i32", shape: [] }, { kind: "loop_var", loop, index: -1 });
  loop.carried = inits.map((v, i) => b.detached({ ...v.type }, { kind: "loop_var", loop, index: i }));
  const bodyEnv = new Env(env);
  bodyEnv.define(s.var, { kind: "value", value: loop.iv });
  let at = 0;
  for (const x of state) {
    bodyEnv.define(x.name, rebuild(x.like, loop.carried.slice(at, at + x.vals.length)));
    at += x.vals.length;
  }
  L.nested++;
  let yields: Value[] | undefined;
  b.nested(() => {
    if (s.mask) {
      const live = L.value(lowerExpr(L, s.mask.pred, bodyEnv), s.mask.pred.span, "a mask");
      if (live && live.type.dtype !== "bool") L.error(`a loop mask must be boolean, found ${showType(live.type)}`, s.mask.pred.span);
      else if (live) loop.mask = live;
      bodyEnv.define(s.mask.name, live ? { kind: "value", value: live } : ERROR);
    }
    lowerStmts(L, s.body.stmts, new Env(bodyEnv), mode, false);
    yields = yieldsOf(L, state, bodyEnv, s.body.span);
  }, loop.body);
  L.nested--;
  if (!yields) return;
  loop.yields = yields;
  b.span = s.span;
  loop.results = inits.map((v, i) => b.detached({ ...v.type }, { kind: "result", inst: loop, index: i }));
  b.emit(loop);
  at = 0;
  for (const x of state) {
    env.assign(x.name, rebuild(x.like, loop.results.slice(at, at + x.vals.length)));
    at += x.vals.length;
  }
}

function lowerIf(L: Lowering, s: Extract<Stmt, { kind: "if" }>, env: Env, mode: Mode): void {
  const cond = L.value(lowerExpr(L, s.cond, env), s.cond.span, "a condition");
  const assigned = assignedOuter(s.then.stmts);
  if (s.else) assignedOuter(s.else.stmts, [new Set()], assigned);
  const state = carriedState(L, assigned, env, s.span);
  if (!cond || !state) return;
  if (cond.type.dtype !== "bool" || cond.type.shape.length !== 0) {
    L.error(`an if condition must be a scalar boolean, found ${showType(cond.type)}`, s.cond.span, "to choose per element, use where(cond, a, b)");
    return;
  }
  const b = L.b;
  const inst: IfInst = { kind: "if", cond, then: { insts: [] }, else: { insts: [] }, thenYields: [], elseYields: [], results: [], span: s.span };
  const branch = (stmts: Stmt[] | undefined, block: IfInst["then"]): Value[] | undefined => {
    const benv = new Env(env);
    for (const x of state) benv.define(x.name, x.like);
    let ys: Value[] | undefined;
    b.nested(() => {
      if (stmts) lowerStmts(L, stmts, benv, mode, false);
      ys = yieldsOf(L, state, benv, s.span);
    }, block);
    return ys;
  };
  const ty = branch(s.then.stmts, inst.then);
  const ey = branch(s.else?.stmts, inst.else);
  if (!ty || !ey) return;
  inst.thenYields = ty;
  inst.elseYields = ey;
  b.span = s.span;
  inst.results = ty.map((v, i) => b.detached({ ...v.type }, { kind: "result", inst, index: i }));
  b.emit(inst);
  let at = 0;
  for (const x of state) {
    env.assign(x.name, rebuild(x.like, inst.results.slice(at, at + x.vals.length)));
    at += x.vals.length;
  }
}
