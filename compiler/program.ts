// The program-level front half: extract every template from the given files, parse each once,
// link `${module}` includes into a function table per kernel, and resolve names.
import fs from "node:fs";
import path from "node:path";
import type { Diagnostics } from "./diagnostics/diagnostic.ts";
import type { FnDecl, KernelDecl, Module } from "./frontend/ast.ts";
import { Extractor, type Template } from "./frontend/extract.ts";
import { expandAliases } from "./frontend/alias.ts";
import { parseModule } from "./frontend/parse.ts";
import { Resolver } from "./check/resolve.ts";

export interface ParsedModule {
  template: Template;
  ast: Module;
  /** Syntax errors found while parsing: semantic checks are skipped to avoid cascades. */
  syntaxErrors: number;
}

/** One kernel declaration, with the functions it can call (its module's and included ones). */
export interface KernelUnit {
  decl: KernelDecl;
  module: ParsedModule;
  fns: Map<string, FnDecl>;
}

/** Expand directories into the .ts files under them, sorted for a stable order. */
export function specFiles(inputs: string[]): string[] {
  const out: string[] = [];
  for (const input of inputs) {
    const abs = path.resolve(input);
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) {
      for (const e of fs.readdirSync(abs, { recursive: true, encoding: "utf8" }).sort()) {
        if (/\.ts$/.test(e) && !/\.d\.ts$/.test(e)) out.push(path.join(abs, e));
      }
    } else out.push(abs);
  }
  return out;
}

export function loadProgram(
  files: string[],
  diags: Diagnostics,
  cwd = process.cwd(),
  /** In-memory file contents by absolute path, used instead of the disk. */
  sources?: Map<string, string>,
): { units: KernelUnit[]; modules: ParsedModule[] } {
  const extractor = new Extractor(diags, cwd);
  for (const [p, text] of sources ?? []) extractor.setFile(p, text);
  const parsed = new Map<Template, ParsedModule>();
  const parse = (t: Template): ParsedModule => {
    let m = parsed.get(t);
    if (!m) {
      const before = diags.errorCount;
      const ast = parseModule(t.file, t.base, t.text, diags);
      m = { template: t, ast, syntaxErrors: diags.errorCount - before };
      parsed.set(t, m);
      for (const i of t.interps) if (i.target) parse(i.target);
    }
    return m;
  };
  const roots: ParsedModule[] = [];
  for (const f of files) {
    if (!sources?.has(f) && !fs.existsSync(f)) {
      diags.error(`no such file: ${path.relative(cwd, f) || f}`);
      continue;
    }
    for (const t of extractor.templatesIn(f)) roots.push(parse(t));
  }
  const units: KernelUnit[] = [];
  const kernelNames = new Map<string, KernelDecl>();
  for (const m of roots) {
    const { fns, broken } = functionTable(m, parsed, diags);
    if (broken) continue;
    const resolver = new Resolver(diags, fns);
    // Every function the module can call is checked, included ones too, even if unused.
    const before = diags.errorReports;
    for (const f of fns.values()) resolver.fn(f);
    const fnErrors = diags.errorReports > before;
    for (const k of [...m.ast.kernels, ...expandAliases(m.ast, diags)]) {
      const b = diags.errorReports;
      resolver.kernel(k);
      const prev = kernelNames.get(k.name);
      if (prev) diags.add({ severity: "error", message: `kernel '${k.name}' is declared twice`, span: k.nameSpan, notes: [{ message: "first declared here", span: prev.nameSpan }] });
      else kernelNames.set(k.name, k);
      // With names already wrong, lowering would only report the same mistakes again.
      if (!fnErrors && diags.errorReports === b) units.push({ decl: k, module: m, fns });
    }
  }
  return { units, modules: roots };
}

/** Functions visible in a module: its own and those of every module it includes, transitively. */
function functionTable(root: ParsedModule, parsed: Map<Template, ParsedModule>, diags: Diagnostics): { fns: Map<string, FnDecl>; broken: boolean } {
  const fns = new Map<string, FnDecl>();
  const seen = new Set<ParsedModule>();
  let broken = false;
  const visit = (m: ParsedModule) => {
    if (seen.has(m)) return;
    seen.add(m);
    if (m.syntaxErrors) broken = true;
    for (const f of m.ast.fns) {
      const prev = fns.get(f.name);
      if (prev && prev !== f) {
        diags.add({ severity: "error", message: `function '${f.name}' is defined twice`, span: f.nameSpan, notes: [{ message: "first defined here", span: prev.nameSpan }] });
      } else fns.set(f.name, f);
    }
    for (const inc of m.ast.includes) {
      if (!m.template.interps[inc.index]) {
        diags.error(`'@${inc.index}' is not an interpolation`, inc.span, "'@' has no meaning in the DSL; include a module with ${name}");
        broken = true;
        continue;
      }
      const target = m.template.interps[inc.index]?.target;
      const tm = target && parsed.get(target);
      if (tm) visit(tm);
    }
  };
  visit(root);
  return { fns, broken };
}
