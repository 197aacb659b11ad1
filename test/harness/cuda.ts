// Run kernel cases on CUDA through the Node runtime (the flashtile_cuda addon): load the CUDA build
// of an instance from generated/ (gzipped PTX), upload inputs, poison outputs with NaN, launch
// once, read back and measure the error of each output against the case's reference.
import fs from "node:fs";
import path from "node:path";
import type { KernelManifest } from "../../runtime/manifest.ts";
import { type CudaDevice, type CudaTensor, type LoadedCudaKernel, createTensor, loadKernelFor, poison, readTensor } from "../../runtime/backends/cuda/index.ts";
import { relError } from "../reference/numeric.ts";
import { type KernelCase, isTensor } from "./case.ts";

export function loadCuda(device: CudaDevice, dir: string, manifest: KernelManifest): LoadedCudaKernel {
  return loadKernelFor(device, manifest, (file) => fs.readFileSync(path.join(dir, "cuda", file)));
}

export function runCudaCase(device: CudaDevice, kernel: LoadedCudaKernel, c: KernelCase): { errors: Record<string, number>; ok: boolean } {
  const made: CudaTensor[] = [];
  const args: Record<string, CudaTensor | number> = {};
  try {
    for (const [name, x] of Object.entries(c.inputs)) {
      if (!isTensor(x)) {
        args[name] = x;
        continue;
      }
      const t = createTensor(device, x.dtype as never, x.shape, x.data);
      made.push(t);
      args[name] = t;
    }
    const outs: Record<string, CudaTensor> = {};
    for (const [name, o] of Object.entries(c.outputs)) {
      const t = createTensor(device, o.dtype as never, o.shape, o.data);
      if (!o.data) poison(device, t);
      made.push(t);
      outs[name] = args[name] = t;
    }
    kernel.launch(args as never);
    device.addon.synchronize();
    const errors: Record<string, number> = {};
    for (const [name, t] of Object.entries(outs)) errors[name] = relError(readTensor(device, t), c.expected[name]);
    return { errors, ok: Object.entries(errors).every(([n, e]) => e <= c.tolerance[n]) };
  } finally {
    for (const t of made) t.buffer.free();
  }
}
