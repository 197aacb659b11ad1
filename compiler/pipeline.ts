// The compiler, pass by pass. Each line says what a pass does and why it stands where it does.
import type { Diagnostics } from "./diagnostics/diagnostic.ts";
import type { KernelIR } from "./ir/ir.ts";
import type { KernelUnit } from "./program.ts";
import type { CtValue } from "./check/const-eval.ts";
import path from "node:path";
import { loadProgram, specFiles } from "./program.ts";
import { instanceChoices } from "./check/specialize.ts";
import { specialize } from "./check/specialize.ts";
import { lowerKernel } from "./lower/kernel.ts";
import { dce } from "./passes/dce.ts";
import { licm } from "./passes/licm.ts";
import { maskAnalysis } from "./passes/mask-analysis.ts";
import { foldScale } from "./passes/fold-scale.ts";

/**
 * Program-level front half (once per run):
 *  1. extract  — ts-morph finds kernel`...` templates and their exact positions in the .ts files;
 *  2. parse    — Chevrotain lexes and parses each template once, recovering to report every error;
 *  3. link     — `${module}` includes give each kernel its function table;
 *  4. resolve  — names are checked before any parameter is bound, so misspellings show even in
 *                configurations that fail later.
 */
export const frontend = loadProgram;

/** Per-instance passes, in order. Each takes and returns the IR with its next free value id. */
export const PASSES: { name: string; why: string; run: (ir: KernelIR, nextId: number) => { ir: KernelIR; nextId: number } }[] = [
  {
    name: "mask-analysis",
    why: "splits masked loops into empty / partial / full tiles while predicates are still plain IR values",
    run: maskAnalysis,
  },
  {
    name: "licm",
    why: "after the split, hoists what the cloned bodies compute identically every iteration",
    run: (ir, nextId) => ({ ir: licm(ir), nextId }),
  },
  {
    name: "fold-scale",
    why: "after the split, when full tiles' scores are plain products: the row max of the unscaled scores, times a positive scale",
    run: foldScale,
  },
  {
    name: "dce",
    why: "last: removes the masks and index tiles that full tiles no longer read",
    run: (ir, nextId) => ({ ir: dce(ir), nextId }),
  },
];

/**
 * Per-instance middle (for each instance of each kernel):
 *  5. specialize — binds compile-time parameters (defaults, instance and tune choices) and
 *                  checks `require` clauses, so shapes are concrete before type checking;
 *  6. lower      — type-checks (dtypes, shapes, arities), inlines functions and builds the tile IR;
 *  7. PASSES     — IR to IR (above).
 * The backends (backends/wgsl, backends/cuda) then map layouts, emit and format.
 */
export function compileInstance(unit: KernelUnit, chosen: Record<string, CtValue>, tuned: string[], diags: Diagnostics, target?: string, arch?: string, skip: readonly string[] = []): KernelIR | undefined {
  const config = specialize(unit.decl, chosen, tuned, diags, target, arch);
  if (!config) return undefined;
  const lowered = lowerKernel(unit.decl, config, unit.fns, diags);
  if (!lowered) return undefined;
  let state = { ir: lowered.ir, nextId: lowered.nextId };
  for (const p of PASSES) if (!skip.includes(p.name)) state = p.run(state.ir, state.nextId);
  return state.ir;
}

/** Final IR of every instance of every kernel in `inputs` (files or directories). */
export function compileAll(inputs: string[], diags: Diagnostics, opts: { cwd?: string; sources?: Map<string, string>; target?: string; arch?: string } = {}): KernelIR[] {
  return compileUnits(loadUnits(inputs, diags, opts), diags, opts);
}

/** The kernels of `inputs` (spec files or directories; with `sources`, paths of in-memory specs). */
export function loadUnits(inputs: string[], diags: Diagnostics, opts: { cwd?: string; sources?: Map<string, string> } = {}): KernelUnit[] {
  const cwd = opts.cwd ?? process.cwd();
  const files = opts.sources ? inputs.map((i) => path.resolve(cwd, i)) : specFiles(inputs);
  return frontend(files, diags, cwd, opts.sources).units;
}

/**
 * Final IR of every instance of the given kernels. With `arch`, only the kernels with a
 * `target <target> <arch>:` clause, built with that clause's parameters over the target's.
 */
/**
 * With `skip`, the passes of those names are left out: an optional pass's build to fall back on
 * (generate-cuda.ts builds without fold-scale where ptxas spilled with it).
 */
export function compileUnits(units: KernelUnit[], diags: Diagnostics, opts: { target?: string; arch?: string; skip?: readonly string[] } = {}): KernelIR[] {
  const out: KernelIR[] = [];
  for (const unit of units) {
    if (opts.arch && !unit.decl.targets.some((t) => t.target === opts.target && t.arch === opts.arch)) continue;
    for (const chosen of instanceChoices(unit.decl, diags, opts.target)) {
      const ir = compileInstance(unit, chosen, [], diags, opts.target, opts.arch, opts.skip);
      if (ir) out.push(ir);
    }
  }
  return out;
}
