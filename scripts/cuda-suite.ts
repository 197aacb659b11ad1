// The CUDA correctness suite, in one command on a machine with an NVIDIA GPU:
//   node --import tsx scripts/cuda-suite.ts            (in this repository)
//   node .bundle/cuda-suite.mjs                         (bundled: scripts/bundle-gpu.sh, for GPU machines without node_modules)
// Every CUDA build in generated/ runs every case of its kernel family (test/harness/cuda-cases.ts)
// against the float64 reference; cases and references are built by worker threads in parallel.
// Options:
//   --filter SUBSTRING[,SUBSTRING...]  builds whose name holds any of them (NAME$: that build alone);
//                                       a build for one architecture is named NAME.sm_80
//   --shard K/N                         every Nth build from the Kth, to split one run over calls
//   --arch sm_80                        load that shipped PTX instead of the one the runtime would
//                                       pick (to check the portable PTX on a Hopper; builds
//                                       without it are left out)
//   --json FILE                         full results
// Exit status 1 on any mismatch.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import type { KernelManifest } from "../runtime/manifest.ts";
import { buildId, selectBuilds } from "./suite-builds.ts";
import type { KernelCase } from "../test/harness/case.ts";
import { cudaRecipes } from "../test/harness/cuda-cases.ts";
import { makeRng } from "../test/reference/numeric.ts";

interface Task {
  id: number;
  manifest: KernelManifest;
  recipe: number;
  seed: number;
}

function buildCase(t: Task): KernelCase {
  return cudaRecipes(t.manifest.kernel)[t.recipe].build(t.manifest, makeRng(t.seed));
}

function transferables(c: KernelCase): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const add = (x: unknown) => {
    if (ArrayBuffer.isView(x) && x.buffer instanceof ArrayBuffer) out.add(x.buffer);
  };
  for (const v of Object.values(c.inputs)) if (typeof v === "object") add(v.data);
  for (const v of Object.values(c.outputs)) add(v.data);
  for (const v of Object.values(c.expected)) add(v);
  return [...out];
}

if (!isMainThread) {
  parentPort!.on("message", (t: Task) => {
    try {
      const c = buildCase(t);
      parentPort!.postMessage({ id: t.id, case: c }, transferables(c));
    } catch (e) {
      parentPort!.postMessage({ id: t.id, error: (e as Error).stack });
    }
  });
} else {
  await main();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (n: string) => (args.includes(n) ? args[args.indexOf(n) + 1] : undefined);
  const dir = opt("--generated") ?? "generated";
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { kernels: Record<string, KernelManifest[]> };
  const selected = selectBuilds(manifest, { filters: opt("--filter")?.split(",").filter(Boolean), arch: opt("--arch"), shard: opt("--shard") });
  const { chooseCudaBuild, getCudaDevice } = await import("../runtime/backends/cuda/index.ts");
  const { loadCuda, runCudaCase } = await import("../test/harness/cuda.ts");
  const device = getCudaDevice();
  const info = device.info;
  // A build for another architecture alone (sm_90a on an A100) has no PTX this device can load.
  const loadable = (m: KernelManifest) => {
    try {
      return !!chooseCudaBuild([m], info);
    } catch {
      return false;
    }
  };
  const builds = selected.filter(loadable);
  if (builds.length < selected.length) console.log(`${selected.length - builds.length} selected build(s) ship no PTX for this device: left out`);
  const baseSeed = Number(process.env.FLASHTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const tasks: Task[] = [];
  for (const m of builds) cudaRecipes(m.kernel).forEach((_, r) => tasks.push({ id: tasks.length, manifest: m, recipe: r, seed: baseSeed + tasks.length }));
  console.log(`${info.name} (sm_${info.computeCapabilityMajor}${info.computeCapabilityMinor}, ${info.multiprocessors} SMs): ${builds.length} CUDA builds, ${tasks.length} cases (seed ${baseSeed})`);

  // Build cases in workers, run them on the GPU as they arrive, in order per kernel.
  const here = new URL(import.meta.url);
  const nWorkers = Math.max(1, Math.min(os.cpus().length - 1, 15));
  const pending = new Map<number, (c: KernelCase) => void>();
  const queue = [...tasks];
  const workers = Array.from({ length: nWorkers }, () => {
    const w = new Worker(here, { execArgv: process.execArgv, workerData: {} });
    w.on("message", (msg: { id: number; case?: KernelCase; error?: string }) => {
      const resolve = pending.get(msg.id)!;
      pending.delete(msg.id);
      if (msg.error) throw new Error(`building case ${msg.id}: ${msg.error}`);
      resolve(msg.case!);
      const next = queue.shift();
      if (next) w.postMessage(next);
    });
    return w;
  });
  const ready = new Map<number, Promise<KernelCase>>(tasks.map((t) => [t.id, new Promise<KernelCase>((r) => pending.set(t.id, r))]));
  for (const w of workers) {
    const t = queue.shift();
    if (t) w.postMessage(t);
  }

  const results: { name: string; arch?: string; case: string; errors: Record<string, number>; ok: boolean; error?: string }[] = [];
  // One line per build as soon as its last case has run (a run cut short still reports the builds
  // it finished): its worst error over all cases, and whether each was within tolerance.
  const buildLine = (name: string) => {
    const rs = results.filter((r) => r.name === name);
    const worst = Math.max(...rs.flatMap((r) => Object.values(r.errors)));
    console.log(`${name.padEnd(40)} ${(rs.find((r) => r.arch)?.arch ?? "-").padEnd(6)} ${String(rs.length).padStart(5)}  ${worst.toExponential(2).padStart(16)}  ${rs.every((r) => r.ok) ? "ok" : "FAIL"}`);
  };
  console.log(`${"kernel".padEnd(40)} PTX     cases  worst rel. error  status`);
  let current: { name: string; kernel: ReturnType<typeof loadCuda> } | undefined;
  const t0 = performance.now();
  for (const [i, t] of tasks.entries()) {
    const c = await ready.get(t.id)!;
    const label = cudaRecipes(t.manifest.kernel)[t.recipe].label;
    const id = buildId(t.manifest);
    try {
      if (current?.name !== id) current = { name: id, kernel: loadCuda(device, dir, t.manifest) };
      const r = runCudaCase(device, current.kernel, c);
      results.push({ name: id, arch: current.kernel.arch, case: `${label}: ${c.label}`, ...r });
      if (!r.ok) console.log(`FAIL ${id} ${label}: ${JSON.stringify(r.errors)}`);
    } catch (e) {
      results.push({ name: id, case: label, errors: {}, ok: false, error: (e as Error).message });
      console.log(`ERROR ${id} ${label}: ${(e as Error).message.split("\n")[0]}`);
      current = undefined;
    }
    if (tasks[i + 1]?.manifest !== t.manifest) buildLine(id);
  }
  for (const w of workers) void w.terminate();

  const failed = results.filter((r) => !r.ok).length;
  console.log(`\n${results.length - failed} of ${results.length} cases match the float64 reference on ${info.name} (${((performance.now() - t0) / 1000).toFixed(0)} s).`);
  const json = opt("--json");
  if (json) fs.writeFileSync(json, JSON.stringify({ device: info, seed: baseSeed, results }, null, 1));
  process.exit(failed ? 1 : 0);
}
