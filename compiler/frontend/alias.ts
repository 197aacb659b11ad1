// A kernel alias, `kernel swa_paged_fp8 = swa_paged<KV = f8e4m3>` followed by its own clauses,
// is another kernel's parameters, grid and body under a new name, with some compile-time
// defaults replaced. Its instances, tuning and target clauses are its own; the base kernel's
// requirements still apply, and its own are added. The base is declared earlier in the same
// template, so one file holds both and diagnostics in the shared body point at the base.
import type { Diagnostics } from "../diagnostics/diagnostic.ts";
import type { KernelDecl, Module } from "./ast.ts";

export function expandAliases(mod: Module, diags: Diagnostics): KernelDecl[] {
  const out: KernelDecl[] = [];
  for (const a of mod.aliases) {
    const base = mod.kernels.find((k) => k.name === a.base && k.span.start < a.span.start);
    if (!base) {
      const names = mod.kernels.filter((k) => k.span.start < a.span.start).map((k) => `'${k.name}'`);
      diags.error(`unknown kernel '${a.base}'`, a.baseSpan, `an alias reuses a kernel declared above it in the same template${names.length ? ` (here: ${names.join(", ")})` : ""}`);
      continue;
    }
    const known = new Set(base.ctParams.map((p) => p.name));
    const seen = new Set<string>();
    let ok = true;
    for (const o of a.overrides) {
      if (!known.has(o.name)) diags.error(`'${o.name}' is not a compile-time parameter of kernel '${base.name}'`, o.span, `its parameters are ${[...known].join(", ")}`);
      else if (seen.has(o.name)) diags.error(`'${o.name}' is set twice`, o.span);
      else {
        seen.add(o.name);
        continue;
      }
      ok = false;
    }
    if (!ok) continue;
    const ctParams = base.ctParams.map((p) => {
      const o = a.overrides.find((x) => x.name === p.name);
      return o ? { ...p, default: o.value } : p;
    });
    out.push({ ...base, name: a.name, nameSpan: a.nameSpan, ctParams, requires: [...base.requires, ...a.requires], tune: a.tune, instances: a.instances, targets: a.targets, span: a.span });
  }
  return out;
}
