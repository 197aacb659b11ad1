// Run kernel cases on WebGPU: load generated kernels (best variant the device supports), upload
// inputs, poison outputs with NaN, launch once, read back and measure the error of each output.
import fs from "node:fs";
import path from "node:path";
import type { KernelManifest } from "../../runtime/manifest.ts";
import {
  type DeviceInfo, type LoadedKernel, type Tensor, createTensor, loadKernel, pickVariant, poison, readTensor,
} from "../../runtime/backends/webgpu/index.ts";
import { relError } from "../reference/numeric.ts";
import { type KernelCase, isTensor } from "./case.ts";

export interface GeneratedSet {
  /** Variants of each instance, best first. */
  kernels: Record<string, KernelManifest[]>;
  wgsl(file: string): string;
}

export function readGenerated(dir: string): GeneratedSet {
  const m = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as { kernels: Record<string, KernelManifest[]> };
  return { kernels: m.kernels, wgsl: (f) => fs.readFileSync(path.join(dir, "wgsl", f), "utf8") };
}

export async function loadBest(device: GPUDevice, info: DeviceInfo, set: GeneratedSet, name: string): Promise<LoadedKernel> {
  const variants = set.kernels[name];
  if (!variants) throw new Error(`no generated kernel '${name}'`);
  const m = pickVariant(variants, info);
  return loadKernel(device, info, m, set.wgsl(m.wgsl!.file));
}

export interface CaseResult {
  errors: Record<string, number>;
  ok: boolean;
  ms: number;
}

export async function runCase(device: GPUDevice, kernel: LoadedKernel, c: KernelCase): Promise<CaseResult> {
  const args: Record<string, Tensor | number> = {};
  const made: Tensor[] = [];
  for (const [name, x] of Object.entries(c.inputs)) {
    if (isTensor(x)) {
      const t = createTensor(device, x.dtype, x.shape, x.data);
      made.push(t);
      args[name] = t;
    } else args[name] = x;
  }
  const outs: Record<string, Tensor> = {};
  for (const [name, o] of Object.entries(c.outputs)) {
    const t = createTensor(device, o.dtype, o.shape, o.data);
    if (!o.data) poison(device, t);
    made.push(t);
    outs[name] = t;
    args[name] = t;
  }
  const t0 = performance.now();
  kernel.launch(args);
  const errors: Record<string, number> = {};
  for (const [name, t] of Object.entries(outs)) errors[name] = relError(await readTensor(device, t), c.expected[name]);
  const ms = performance.now() - t0;
  for (const t of made) t.buffer.destroy();
  const ok = Object.entries(errors).every(([n, e]) => e <= c.tolerance[n]);
  return { errors, ok, ms };
}

/** A GeneratedSet straight from the compiler, without going through generated/ on disk. */
export function inMemory(kernels: { name: string; variants: { manifest: KernelManifest; code: string }[] }[]): GeneratedSet {
  const code = new Map<string, string>();
  const out: Record<string, KernelManifest[]> = {};
  for (const k of kernels) {
    out[k.name] = k.variants.map((v) => v.manifest);
    for (const v of k.variants) code.set(v.manifest.wgsl!.file, v.code);
  }
  return { kernels: out, wgsl: (f) => code.get(f)! };
}
