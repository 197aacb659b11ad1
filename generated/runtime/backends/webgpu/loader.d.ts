/// <reference types="@webgpu/types" />
import type { KernelManifest } from "../../manifest.js";
import type { ArgsShape, KernelArgs } from "./args.js";
import type { DeviceInfo } from "./device.js";
import { LoadedKernel } from "./launch.js";
/** Compile `wgslSource` for `manifest` on `device`. Throws if the device lacks a requirement, the
 *  WGSL does not compile, or the pipeline is rejected. */
export declare function loadKernel<Args extends ArgsShape<Args> = KernelArgs>(
  device: GPUDevice,
  info: DeviceInfo,
  manifest: KernelManifest,
  wgslSource: string,
): Promise<LoadedKernel<Args>>;
/**
 * Among variants of one kernel (same arguments, different requirements: say a subgroup version
 * and a portable fallback), the first, in the order given, that this device can run.
 */
export declare function pickVariant<M extends KernelManifest>(all: readonly M[], info: DeviceInfo): M;
