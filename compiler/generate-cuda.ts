// The CUDA half of generated/: for every kernel with a `target cuda:` clause, CUDA C for each
// instance and nvcc's PTX per architecture. A `target cuda sm_80:` clause gives that architecture
// a build of its own (other tile sizes), and the instance's main build stops shipping its PTX.
import fs from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import type { KernelManifest } from "../runtime/manifest.ts";
import type { KernelIR } from "./ir/ir.ts";
import { baseManifest } from "./backends/wgsl/index.ts";
import { CudaBackendError, compileCuda } from "./backends/cuda/index.ts";
import { blocksPerSmToTry, spills, withSpilled } from "./backends/cuda/occupancy.ts";
import { ARCHS, type Arch, type PtxBuild, archsFitting, buildPtx, shippedArchs } from "./backends/cuda/nvcc.ts";
import { MAX_SHARED } from "./backends/cuda/archs.ts";
import { compileUnits, loadUnits } from "./pipeline.ts";
import { Diagnostics } from "./diagnostics/diagnostic.ts";

/** Passes a CUDA build may be made without, where ptxas spills with them (see the fallback below). */
const OPTIONAL_PASSES = ["fold-scale"];

/**
 * What a build may be made without, in the order it is dropped at each occupancy: first the
 * unrolled gathers of one-row pages in four-warp blocks (copy-emit.ts; a build without such a
 * gather makes the same source and skips the level), then the FP8 scores of a split query (split-scores.ts), then the overlapped order of loops over widened
 * fp8 tiles (overlap.ts; a build without such a loop makes the same source and skips the level),
 * then the lazy row sums (a backend option), then with them the optional IR passes. A build takes
 * the most blocks per SM at which some level builds without a spill, then the first such level.
 */
const GATHERS = "the unrolled one-row page gathers";
const SPLIT = "the split query's fp8 scores";
const OVERLAP = "the overlapped fp8 loop";
const LAZY = "lazy-sums";
/** What each level leaves out beyond the level before it: level l is made without the first l. */
const DROPS: string[][] = [[GATHERS], [SPLIT], [OVERLAP], [LAZY], OPTIONAL_PASSES];
const LEVELS = Array.from({ length: DROPS.length + 1 }, (_, l) => {
  const dropped = DROPS.slice(0, l).flat();
  return { unrolledGathers: !dropped.includes(GATHERS), splitScores: !dropped.includes(SPLIT), overlapWidened: !dropped.includes(OVERLAP), lazySums: !dropped.includes(LAZY), plainIr: l === DROPS.length, dropped };
});

export interface GeneratedCudaKernel {
  name: string;
  kernel: string;
  manifest: KernelManifest;
  code: string;
  /** PTX of the architectures this build ships (the keys of manifest.cuda.ptx). */
  ptx: Partial<Record<Arch, string>>;
}

/** One CUDA build to make: an instance, for every architecture or for `arch` alone. */
interface BuildJob {
  ir: KernelIR;
  arch?: Arch;
  /** The .cu file's name in cuda/. */
  file: string;
  /** Why `arch` has a build of its own, when not the spec's clause (the header says). */
  note?: string;
}

/**
 * Compile the kernels that have a `target cuda:` clause to CUDA C and PTX. PTX from `previous`
 * (a generated/ directory) is reused when the CUDA source is unchanged.
 */
export async function compileCudaKernels(inputs: string[], diags: Diagnostics, opts: { cwd?: string; sources?: Map<string, string>; previous?: string; wgmma?: boolean } = {}): Promise<GeneratedCudaKernel[]> {
  const units = loadUnits(inputs, diags, opts).filter((u) => u.decl.targets.some((t) => t.target === "cuda"));
  const jobs: BuildJob[] = compileUnits(units, diags, { target: "cuda" }).map((ir) => ({ ir, file: `${ir.name}.cu` }));
  const own = new Map<string, Arch[]>(); // instance name -> architectures with a build of their own
  const main = new Map(jobs.map((j) => [j.ir.name, j.ir]));
  for (const arch of ARCHS) {
    for (const ir of compileUnits(units, diags, { target: "cuda", arch })) {
      // A clause that leaves this instance's parameters as they are needs no second build.
      if (JSON.stringify(ir.params) === JSON.stringify(main.get(ir.name)?.params)) continue;
      jobs.push({ ir, arch, file: `${ir.name}.${arch}.cu` });
      own.set(ir.name, [...(own.get(ir.name) ?? []), arch]);
    }
  }
  // The same instances without the optional passes: a build falls back on them where ptxas
  // spills with them at every occupancy it tries (fold-scale keeps the scores' accumulator live
  // into the exponent, which tipped the 255-register sm_80 prefill builds over).
  const plain = new Map<string, KernelIR>();
  const quiet = new Diagnostics();
  for (const arch of [undefined, ...ARCHS]) {
    for (const ir of compileUnits(units, quiet, { target: "cuda", arch, skip: OPTIONAL_PASSES })) plain.set(`${arch ?? ""}|${ir.name}`, ir);
  }
  const previous = opts.previous ? previousPackage(opts.previous) : undefined;
  const out: GeneratedCudaKernel[] = [];
  const pending: Promise<void>[] = [];
  for (const job of jobs) {
    const { ir } = job;
    // A main build whose every other architecture has a build of its own ships sm_90a alone.
    const sm90Only = !job.arch && ARCHS.every((a) => a === "sm_90a" || own.get(ir.name)?.includes(a));
    let first;
    try {
      first = compileCuda(ir, job.file, { wgmma: opts.wgmma, arch: job.arch, archNote: job.note, sm90Only });
    } catch (e) {
      if (!(e instanceof CudaBackendError)) throw e;
      diags.error(`${ir.name} (CUDA${job.arch ? ` ${job.arch}` : ""}): ${e.message}`, e.span, e.hint);
      continue;
    }
    // A main build over an architecture's shared memory (loops whose scores run a tile ahead
    // take up to Hopper's 227 KiB) leaves it to a build of its own, planned for it: on sm_80
    // without wgmma, so without that loop shape.
    const fits = archsFitting(first.target.sharedBytes);
    if (!job.arch)
      for (const a of ARCHS.filter((x) => !fits.includes(x) && !own.get(ir.name)?.includes(x))) {
        const note = `${ir.name}.cu needs ${first.target.sharedBytes} bytes of shared memory, over the ${MAX_SHARED[a]} an ${a} block may have, so this one is planned for ${a} alone`;
        jobs.push({ ir, arch: a, file: `${ir.name}.${a}.cu`, note });
        own.set(ir.name, [...(own.get(ir.name) ?? []), a]);
      }
    // The architectures whose PTX this build ships: its own, or all its source has a path for
    // but those with a build of their own.
    const ship = job.arch ? [job.arch] : shippedArchs(first.code).filter((a) => !own.get(ir.name)?.includes(a));
    if (!ship.length) continue;
    const entry: GeneratedCudaKernel = { name: ir.name, kernel: ir.kernel, code: first.code, manifest: baseManifest(ir), ptx: {} };
    out.push(entry);
    pending.push(
      (async () => {
        // The most blocks per SM that builds without a spill (occupancy.ts); the last one tried
        // stands either way, and the spill test reports it. An earlier build of one of the
        // candidates' exact source is reused: it was chosen by the same trials.
        const tries = blocksPerSmToTry(first.blocksPerSm, first.target.blockDim[0], first.target.sharedBytes);
        const emit = (from: KernelIR, n: number, level: (typeof LEVELS)[number]) =>
          compileCuda(from, job.file, { wgmma: opts.wgmma, arch: job.arch, archNote: job.note, sm90Only, blocksPerSm: n, lazySums: level.lazySums, overlapWidened: level.overlapWidened, splitScores: level.splitScores, unrolledGathers: level.unrolledGathers });
        // Candidates by blocks per SM, most first, and at each count by level (LEVELS); the
        // source of each says which counts spilled before it and what it was made without.
        const candidates: { n: number; level: number; kn: ReturnType<typeof compileCuda>; code: string }[] = [];
        // What level l leaves out that the level before it kept.
        const newly = (l: number) => DROPS[l - 1];
        const add = (level: number) => {
          const from = LEVELS[level].plainIr ? plain.get(`${job.note ? "" : (job.arch ?? "")}|${ir.name}`) : ir;
          if (!from) return;
          tries.forEach((n, i) => {
            const kn = level === 0 && n === first.blocksPerSm ? first : emit(from, n, LEVELS[level]);
            // The same source as a level before it at this count (nothing to drop): not a candidate.
            if (candidates.some((c) => c.n === n && c.kn.code === kn.code)) return;
            // The note names only what the kernel had: a level whose source was the same as the
            // one before it (nothing of it in this kernel) is not a candidate, nor named.
            const dropped = Array.from({ length: level }, (_, l) => l + 1).filter((l) => l === level || candidates.some((c) => c.n === n && c.level === l)).flatMap(newly);
            const note = dropped.length ? `${n} spilled with ${dropped.join(" and ")}, left out here` : undefined;
            candidates.push({ n, level, kn, code: withSpilled(kn.code, n, tries.slice(0, i), note) });
          });
          candidates.sort((a, b) => b.n - a.n);
        };
        const use = (c: (typeof candidates)[number], build: PtxBuild) => {
          entry.code = c.code;
          entry.ptx = Object.fromEntries(ship.map((a) => [a, build.ptx[a]]));
          entry.manifest.cuda = { ...c.kn.target, ptx: Object.fromEntries(ship.map((a) => [a, `${ir.name}.${a}.ptx.gz`])), resources: build.resources };
        };
        // The other levels are made only for a build not reused from the previous package as it is.
        add(0);
        const reuse = () => previous?.(job.file, candidates.map((c) => c.code), ship);
        let reused = reuse();
        if (!reused) {
          for (let level = 1; level < LEVELS.length; level++) add(level);
          reused = reuse();
        }
        if (reused) return use(candidates[reused.index], reused.build);
        for (const [i, c] of candidates.entries()) {
          const build = await buildPtx(ir.name, c.kn.code, archsFitting(c.kn.target.sharedBytes));
          if (!spills(build) || i + 1 === candidates.length) return use(c, build);
        }
      })().catch((e) => diags.error(`${ir.name} (CUDA): ${(e as Error).message}`)),
    );
  }
  await Promise.all(pending);
  return out.filter((k) => k.manifest.cuda);
}

/**
 * An earlier package (a generated/ directory) to reuse PTX from: for a .cu file and its candidate
 * sources, the candidate whose source that package ships byte for byte, with that build's PTX of
 * the architectures asked for and its resource report. Its manifest is read once, on the first match.
 */
function previousPackage(dir: string): (file: string, candidates: string[], archs: Arch[]) => { index: number; build: PtxBuild } | undefined {
  let builds: Map<string, NonNullable<KernelManifest["cuda"]>> | undefined;
  return (file, candidates, archs) => {
    try {
      const code = fs.readFileSync(path.join(dir, "cuda", file), "utf8");
      const index = candidates.indexOf(code);
      if (index < 0) return undefined;
      if (!builds) {
        const kernels = (JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { kernels: Record<string, KernelManifest[]> }).kernels;
        builds = new Map(Object.values(kernels).flatMap((vs) => vs.flatMap((v) => (v.cuda ? [[v.cuda.file, v.cuda] as const] : []))));
      }
      const cuda = builds.get(file);
      if (!cuda?.resources || !archs.every((a) => cuda.ptx[a])) return undefined;
      const ptx = Object.fromEntries(archs.map((a) => [a, gunzipSync(fs.readFileSync(path.join(dir, "cuda", cuda.ptx[a]!))).toString("utf8")])) as Record<Arch, string>;
      return { index, build: { ptx, resources: cuda.resources as PtxBuild["resources"] } };
    } catch {
      return undefined;
    }
  };
}
