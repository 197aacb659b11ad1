/// <reference types="@webgpu/types" />
import type { KernelManifest } from "../../manifest.js";
import { type ArgsShape, type KernelArgs } from "./args.js";
import type { DeviceInfo } from "./device.js";
export type Grid = [number, number, number];
export interface LaunchOptions {
  /** Encode into this pass (the caller ends it and submits). Without it, the launch creates a
   *  command encoder and pass of its own and submits at once. */
  pass?: GPUComputePassEncoder;
  label?: string;
}
/**
 * A compiled kernel, ready to launch. `Args` types the arguments: generated declarations can
 * give each kernel its own, e.g. `LoadedKernel<{ q: TensorBinding; k: TensorBinding; scale: number }>`.
 */
export declare class LoadedKernel<Args extends ArgsShape<Args> = KernelArgs> {
  readonly device: GPUDevice;
  readonly info: DeviceInfo;
  readonly manifest: KernelManifest;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroupLayout: GPUBindGroupLayout;
  readonly name: string;
  private readonly wgsl;
  private readonly uniformPool;
  private readonly bindGroups;
  constructor(
    device: GPUDevice,
    info: DeviceInfo,
    manifest: KernelManifest,
    pipeline: GPUComputePipeline,
    bindGroupLayout: GPUBindGroupLayout,
  );
  /** Check `args`, dispatch the kernel, and return the grid used (workgroups per axis). */
  launch(args: Args, opts?: LaunchOptions): Grid;
  /**
   * How much of a tensor's buffer to bind: all of it (undefined) normally; only the tensor's
   * bytes when the buffer is larger than a storage binding may be (e.g. a slab allocator's).
   */
  private bindingRange;
  /** The dispatch size for these arguments, padded to 3 axes; validated against device limits. */
  private grid;
  /** Counters for tests and leak checks. */
  get stats(): {
    uniformBuffers: number;
    pooledUniformBuffers: number;
    bindGroups: number;
  };
  /** Free the kernel's uniform buffers; submitted work still completes. Don't launch after. */
  destroy(): void;
}
