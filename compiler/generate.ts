// Compile spec files into the contents of generated/: for every kernel instance, its WGSL
// variants and its manifest. Returns the files as a map so the CLI can write them and tests can
// compare them with what is committed.
import path from "node:path";
import type { KernelManifest } from "../runtime/manifest.ts";
import { Diagnostics } from "./diagnostics/diagnostic.ts";
import { BackendError, baseManifest, compileWgsl, type WgslVariantOptions } from "./backends/wgsl/index.ts";
import fs from "node:fs";
import { gunzipSync } from "node:zlib";
import { CudaBackendError, compileCuda } from "./backends/cuda/index.ts";
import { blocksPerSmToTry, spills, withSpilled } from "./backends/cuda/occupancy.ts";
import { type Arch, type PtxBuild, buildPtx, shippedArchs } from "./backends/cuda/nvcc.ts";
import { compileAll, frontend } from "./pipeline.ts";
import { specFiles } from "./program.ts";

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

export interface GeneratedCudaKernel {
  name: string;
  kernel: string;
  manifest: KernelManifest;
  code: string;
  ptx: Record<Arch, string>;
}

/** Does this kernel opt into the CUDA backend (a `target cuda:` clause)? */
const wantsCuda = (ir: { kernel: string }, kernels: Set<string>) => kernels.has(ir.kernel);

/**
 * Compile the kernels that have a `target cuda:` clause to CUDA C and PTX. PTX from `previous`
 * (a generated/ directory) is reused when the CUDA source is unchanged.
 */
export async function compileCudaKernels(inputs: string[], diags: Diagnostics, opts: { cwd?: string; sources?: Map<string, string>; previous?: string; wgmma?: boolean } = {}): Promise<GeneratedCudaKernel[]> {
  const cwd = opts.cwd ?? process.cwd();
  const files = opts.sources ? inputs.map((i) => path.resolve(cwd, i)) : specFiles(inputs);
  const optedIn = new Set(frontend(files, new Diagnostics(), cwd, opts.sources).units.filter((u) => u.decl.targets.some((t) => t.target === "cuda")).map((u) => u.decl.name));
  const out: GeneratedCudaKernel[] = [];
  const jobs: Promise<void>[] = [];
  const previous = opts.previous ? previousPackage(opts.previous) : undefined;
  for (const ir of compileAll(inputs, diags, { cwd, sources: opts.sources, target: "cuda" })) {
    if (!wantsCuda(ir, optedIn)) continue;
    let k;
    try {
      k = compileCuda(ir, `${ir.name}.cu`, { wgmma: opts.wgmma });
    } catch (e) {
      if (!(e instanceof CudaBackendError)) throw e;
      diags.error(`${ir.name} (CUDA): ${e.message}`, e.span, e.hint);
      continue;
    }
    const entry: GeneratedCudaKernel = { name: ir.name, kernel: ir.kernel, code: k.code, manifest: baseManifest(ir), ptx: {} as Record<Arch, string> };
    out.push(entry);
    const first = k;
    jobs.push(
      (async () => {
        // The most blocks per SM that builds without a spill (occupancy.ts); the last one tried
        // stands either way, and the spill test reports it. An earlier build of one of the
        // candidates' exact source is reused: it was chosen by the same trials.
        const tries = blocksPerSmToTry(first.blocksPerSm, first.target.blockDim[0], first.target.sharedBytes);
        const variants = tries.map((n) => (n === first.blocksPerSm ? first : compileCuda(ir, `${ir.name}.cu`, { wgmma: opts.wgmma, blocksPerSm: n })));
        // Variant i ships saying that the counts before it spilled.
        const shipped = variants.map((kn, i) => withSpilled(kn.code, tries[i], tries.slice(0, i)));
        const use = (i: number, build: PtxBuild) => {
          entry.code = shipped[i];
          entry.ptx = build.ptx;
          entry.manifest.cuda = { ...variants[i].target, ptx: Object.fromEntries(shippedArchs(shipped[i]).map((a) => [a, `${ir.name}.${a}.ptx.gz`])), resources: build.resources };
        };
        const reused = previous?.(ir.name, shipped);
        if (reused) return use(reused.index, reused.build);
        for (const i of variants.keys()) {
          const build = await buildPtx(ir.name, variants[i].code);
          if (!spills(build) || i + 1 === variants.length) return use(i, build);
        }
      })().catch((e) => diags.error(`${ir.name} (CUDA): ${(e as Error).message}`)),
    );
  }
  await Promise.all(jobs);
  return out.filter((k) => k.manifest.cuda);
}

/**
 * An earlier package (a generated/ directory) to reuse PTX from: for a kernel and its candidate
 * sources, the candidate whose source that package ships byte for byte, with that build's PTX and
 * resource report. Its manifest is read once, on the first match.
 */
function previousPackage(dir: string): (name: string, candidates: string[]) => { index: number; build: PtxBuild } | undefined {
  let kernels: Record<string, KernelManifest[]> | undefined;
  return (name, candidates) => {
    try {
      const code = fs.readFileSync(path.join(dir, "cuda", `${name}.cu`), "utf8");
      const index = candidates.indexOf(code);
      if (index < 0) return undefined;
      kernels ??= (JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { kernels: Record<string, KernelManifest[]> }).kernels;
      const cuda = kernels[name]?.find((v) => v.cuda)?.cuda;
      if (!cuda?.resources) return undefined;
      const ptx = Object.fromEntries(shippedArchs(code).map((a) => [a, gunzipSync(fs.readFileSync(path.join(dir, "cuda", `${name}.${a}.ptx.gz`))).toString("utf8")])) as Record<Arch, string>;
      return { index, build: { ptx, resources: cuda.resources as PtxBuild["resources"] } };
    } catch {
      return undefined;
    }
  };
}
