// Compile spec files into the contents of generated/: for every kernel instance, its WGSL
// variants and its manifest. Returns the files as a map so the CLI can write them and tests can
// compare them with what is committed.
import path from "node:path";
import type { KernelManifest } from "../runtime/manifest.ts";
import { Diagnostics } from "./diagnostics/diagnostic.ts";
import { BackendError, baseManifest, compileWgsl, type WgslVariantOptions } from "./backends/wgsl/index.ts";
import { compileAll } from "./pipeline.ts";

export interface GeneratedKernel {
  name: string;
  kernel: string;
  /** Variants, best first: the runtime picks the first the device supports. */
  variants: { manifest: KernelManifest; code: string }[];
}

/** WGSL variants built for every instance: subgroup reductions, then a portable fallback. */
const WGSL_VARIANTS: WgslVariantOptions[] = [{ subgroupReduce: true }, { subgroupReduce: false }];

export function compileKernels(inputs: string[], diags: Diagnostics, cwd = process.cwd(), sources?: Map<string, string>): GeneratedKernel[] {
  const out: GeneratedKernel[] = [];
  for (const ir of compileAll(inputs, diags, { cwd, sources })) {
    const variants: GeneratedKernel["variants"] = [];
    const seen = new Set<string>();
    for (const opts of WGSL_VARIANTS) {
      try {
        const w = compileWgsl(ir, opts, "");
        if (seen.has(w.variant)) continue;
        seen.add(w.variant);
        const file = `${ir.name}${w.variant}.wgsl`;
        variants.push({ manifest: { ...baseManifest(ir), wgsl: { ...w.target, file } }, code: w.code });
      } catch (e) {
        if (!(e instanceof BackendError)) throw e;
        diags.error(`${ir.name}: ${e.message}`, e.span, e.hint);
        break;
      }
    }
    if (variants.length) out.push({ name: ir.name, kernel: ir.kernel, variants });
  }
  return out;
}

/**
 * Compile spec sources given as text (path → contents), as `flashtile check` would: for tests,
 * the fuzzer and editors. Files a spec imports are read from disk unless given here too.
 */
export function compileSources(sources: Record<string, string>, cwd = process.cwd()): { kernels: GeneratedKernel[]; diags: Diagnostics } {
  const diags = new Diagnostics();
  const map = new Map(Object.entries(sources).map(([p, t]) => [path.resolve(cwd, p), t]));
  const kernels = compileKernels([...map.keys()], diags, cwd, map);
  return { kernels, diags };
}

export { compileCudaKernels, type GeneratedCudaKernel } from "./generate-cuda.ts";
