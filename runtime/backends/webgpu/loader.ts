/// <reference types="@webgpu/types" />
import type { KernelManifest } from "../../manifest.ts";
import type { ArgsShape, KernelArgs } from "./args.ts";
import { compileWgsl } from "./compile.ts";
import { ShaderStage } from "./constants.ts";
import type { DeviceInfo } from "./device.ts";
import { LoadedKernel } from "./launch.ts";
import { checkManifest } from "./manifest-check.ts";
import { assertRequirements, unmetRequirements } from "./requirements.ts";

// From manifest + WGSL source to a pipeline. The bind group layout is built from the manifest
// (not inferred from the shader with layout: "auto") so that it always has every binding the
// manifest declares, with the access the manifest declares, even where a variant's shader happens
// not to use one: the same arguments then bind to every variant of a kernel.

/** Compile `wgslSource` for `manifest` on `device`. Throws if the device lacks a requirement, the
 *  WGSL does not compile, or the pipeline is rejected. */
export async function loadKernel<Args extends ArgsShape<Args> = KernelArgs>(
  device: GPUDevice,
  info: DeviceInfo,
  manifest: KernelManifest,
  wgslSource: string,
): Promise<LoadedKernel<Args>> {
  const wgsl = checkManifest(manifest);
  assertRequirements(manifest, info);

  const module = await compileWgsl(device, wgslSource, { kernel: manifest.name, file: wgsl.file });

  const bindGroupLayout = device.createBindGroupLayout({
    label: manifest.name,
    entries: [
      ...manifest.tensors.map((t) => ({
        binding: t.binding,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: (t.access === "read" ? "read-only-storage" : "storage") as GPUBufferBindingType },
      })),
      {
        binding: wgsl.uniforms.binding,
        visibility: ShaderStage.COMPUTE,
        // minBindingSize makes pipeline creation check that the shader's uniform struct fits the
        // manifest's block size, catching a compiler/manifest disagreement at load time.
        buffer: { type: "uniform" as GPUBufferBindingType, minBindingSize: wgsl.uniforms.size },
      },
    ],
  });

  let pipeline: GPUComputePipeline;
  try {
    pipeline = await device.createComputePipelineAsync({
      label: manifest.name,
      layout: device.createPipelineLayout({ label: manifest.name, bindGroupLayouts: [bindGroupLayout] }),
      compute: { module, entryPoint: wgsl.entryPoint },
    });
  } catch (e) {
    throw new Error(`${manifest.name}: the device rejected the compute pipeline: ${(e as Error).message}`);
  }
  return new LoadedKernel<Args>(device, info, manifest, pipeline, bindGroupLayout);
}

/**
 * Among variants of one kernel (same arguments, different requirements: say a subgroup version
 * and a portable fallback), the first, in the order given, that this device can run.
 */
export function pickVariant<M extends KernelManifest>(all: readonly M[], info: DeviceInfo): M {
  // A kernel instance may also have builds for other backends (CUDA); only WGSL ones run here.
  const manifests = all.filter((m) => m.wgsl);
  if (manifests.length === 0) throw new Error(all.length ? `pickVariant: '${all[0].name}' has no WGSL build` : "pickVariant: no manifests given");
  const first = manifests[0];
  for (const m of manifests.slice(1)) {
    const why = interfaceDifference(first, m);
    if (why) throw new Error(`pickVariant: '${m.name}' is not a variant of '${first.name}': ${why}`);
  }
  const reasons: string[] = [];
  for (const m of manifests) {
    const unmet = unmetRequirements(m, info);
    if (unmet.length === 0) return m;
    reasons.push(`${m.name}: ${unmet.join("; ")}`);
  }
  throw new Error(
    `no variant of kernel '${first.kernel}' can run on this device:\n  ${reasons.join("\n  ")}`,
  );
}

/** Why `b` cannot be called with `a`'s arguments, or undefined if it can. */
function interfaceDifference(a: KernelManifest, b: KernelManifest): string | undefined {
  if (a.kernel !== b.kernel) return `kernel '${b.kernel}' differs from '${a.kernel}'`;
  const sig = (m: KernelManifest): string =>
    JSON.stringify({
      tensors: m.tensors.map((t) => [t.name, t.dtype, t.shape, t.access]),
      scalars: m.scalars.map((s) => [s.name, s.dtype]),
      dims: m.dims,
    });
  if (sig(a) !== sig(b)) return "tensors, scalars or dims differ";
  return undefined;
}
