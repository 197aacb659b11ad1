// Specialization binds a kernel's compile-time parameters for one configuration: defaults in
// order (a default may use earlier parameters), then the instance and tuning choices, then
// every `require` clause is checked against the result.
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { KernelDecl } from "../frontend/ast.ts";
import { type CtValue, ctFloat, evalConst, showCt } from "./const-eval.ts";
import { type ScalarBound, boundOf, conjuncts, mentionsAny, scalarNames } from "./scalar-bounds.ts";

export interface Config {
  /** Every compile-time parameter's value. */
  values: Map<string, CtValue>;
  /** Values chosen by an instance or tuning choice, by name. */
  chosen: Record<string, CtValue>;
  /** Which of the chosen values came from the tune space. */
  tuned: string[];
  /** Requirements on runtime scalar arguments, checked by the runtime at launch. */
  bounds: ScalarBound[];
}

const KINDS = new Set(["int", "float", "bool", "dtype"]);

function kindOf(v: CtValue): string {
  if (ctFloat(v)) return "float";
  if (typeof v === "object") return "dtype";
  return typeof v === "boolean" ? "bool" : "int";
}

/** Values fit the run-time types they become (tile sizes and indices are i32). */
function outOfRange(v: CtValue): boolean {
  return typeof v === "number" && (!Number.isSafeInteger(v) || v > 2 ** 31 - 1 || v < -(2 ** 31));
}

/**
 * Bind parameters for one configuration. Returns undefined (with diagnostics) when a parameter
 * cannot be evaluated or a requirement fails.
 */
export function specialize(k: KernelDecl, chosen: Record<string, CtValue>, tuned: string[], diags: Diagnostics, target?: string, arch?: string): Config | undefined {
  // The backend's clause, then (for a build of one architecture) that architecture's clause.
  const clauses = k.targets.filter((t) => t.target === target && (t.arch === undefined || t.arch === arch));
  clauses.sort((a, b) => Number(a.arch !== undefined) - Number(b.arch !== undefined));
  const overrides = new Map(clauses.flatMap((t) => t.defaults.map((d) => [d.name, d.value] as const)));
  const values = new Map<string, CtValue>();
  const before = diags.errorReports;
  const where = Object.keys(chosen).length
    ? ` (with ${Object.entries(chosen).map(([n, v]) => `${n} = ${showCt(v)}`).join(", ")})`
    : "";
  for (const p of k.ctParams) {
    let v = chosen[p.name] ?? evalConst(overrides.get(p.name) ?? p.default, values, diags);
    if (v === undefined) continue;
    if (p.annotation) {
      if (!KINDS.has(p.annotation.name)) {
        diags.error(`unknown parameter kind '${p.annotation.name}'`, p.annotation.span, "use int, float, bool or dtype");
      } else if (p.annotation.name === "float" && typeof v === "number") {
        v = { float: v }; // an int literal is a fine float
      } else if (kindOf(v) !== p.annotation.name) {
        diags.error(`parameter '${p.name}' is declared ${p.annotation.name} but its value ${showCt(v)} is ${kindOf(v)}${where}`, p.span);
        continue;
      }
    }
    if (outOfRange(v)) {
      diags.error(`parameter '${p.name}' = ${showCt(v)} is out of the i32 range${where}`, p.span);
      continue;
    }
    values.set(p.name, v);
  }
  const scalars = scalarNames(k);
  const bounds: ScalarBound[] = [];
  // A clause naming a scalar argument: its parts that do are bounds the runtime checks, the rest
  // are checked here like any other requirement.
  const checked = k.requires.flatMap((r) => {
    if (!mentionsAny(r.cond, scalars)) return [r];
    const compileTime: typeof k.requires = [];
    for (const c of conjuncts(r.cond)) {
      if (!mentionsAny(c, scalars)) compileTime.push({ ...r, cond: c });
      else {
        const bound = boundOf(c, r, scalars, values, diags);
        if (bound) bounds.push(bound);
      }
    }
    return compileTime;
  });
  for (const r of checked) {
    const ok = evalConst(r.cond, values, diags);
    if (ok === undefined) continue;
    if (typeof ok !== "boolean") {
      diags.error("a requirement must be a boolean condition", r.cond.span);
    } else if (!ok) {
      const used = [...values.entries()].filter(([n]) => mentionsAny(r.cond, new Set([n]))).map(([n, v]) => `${n} = ${showCt(v)}`);
      const detail = used.length ? ` (${used.join(", ")})` : "";
      diags.error(r.message ? `${r.message}${detail}` : `requirement not met${detail}`, r.cond.span, r.message ? undefined : "change the parameter values or relax the require clause");
    }
  }
  if (diags.errorReports > before) return undefined;
  return { values, chosen, tuned, bounds };
}

/**
 * The cartesian product of a kernel's `instances` choices (one empty instance when none); a
 * `target` clause for this backend replaces the list of any parameter it names.
 */
export function instanceChoices(k: KernelDecl, diags: Diagnostics, target?: string): Record<string, CtValue>[] {
  let out: Record<string, CtValue>[] = [{}];
  const known = new Set(k.ctParams.map((p) => p.name));
  const env = new Map<string, CtValue>();
  const forTarget = k.targets.filter((t) => t.target === target && t.arch === undefined).flatMap((t) => t.choices);
  const lists = [...k.instances.filter((c) => !forTarget.some((f) => f.name === c.name)), ...forTarget];
  lists.sort((a, b) => k.ctParams.findIndex((p) => p.name === a.name) - k.ctParams.findIndex((p) => p.name === b.name));
  for (const c of lists) {
    if (!known.has(c.name)) {
      diags.error(`'${c.name}' is not a compile-time parameter of '${k.name}'`, c.span);
      continue;
    }
    const vals = c.values.map((v) => evalConst(v, env, diags)).filter((v): v is CtValue => v !== undefined);
    out = out.flatMap((o) => vals.map((v) => ({ ...o, [c.name]: v })));
  }
  return out;
}
