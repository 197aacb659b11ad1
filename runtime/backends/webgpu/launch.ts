/// <reference types="@webgpu/types" />
import type { DType, KernelManifest, WgslTarget } from "../../manifest.ts";
import {
  bindArgs,
  evalOrFail,
  showShape,
  type ArgsShape,
  type BoundArgs,
  type KernelArgs,
  type TensorBinding,
} from "./args.ts";
import { BindGroupCache, UniformPool } from "./cache.ts";
import type { DeviceInfo } from "./device.ts";
import { tensorBytes } from "./dtype.ts";
import { packUniforms } from "./uniforms.ts";

// Launching a loaded kernel: check arguments, fill the uniform block, evaluate the grid, bind,
// dispatch. Kept synchronous so launches can be recorded into a caller's pass in a tight loop.

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
export class LoadedKernel<Args extends ArgsShape<Args> = KernelArgs> {
  readonly name: string;
  private readonly wgsl: WgslTarget;
  private readonly uniformPool: UniformPool;
  private readonly bindGroups = new BindGroupCache();

  constructor(
    readonly device: GPUDevice,
    readonly info: DeviceInfo,
    readonly manifest: KernelManifest,
    readonly pipeline: GPUComputePipeline,
    readonly bindGroupLayout: GPUBindGroupLayout,
  ) {
    this.name = manifest.name;
    this.wgsl = manifest.wgsl!;
    this.uniformPool = new UniformPool(device, this.wgsl.uniforms.size, 16, `${this.name} uniforms`, (b) =>
      this.bindGroups.forget(b),
    );
  }

  /** Check `args`, dispatch the kernel, and return the grid used (workgroups per axis). */
  launch(args: Args, opts: LaunchOptions = {}): Grid {
    const bound = bindArgs(this.manifest, args as unknown as Record<string, unknown>);
    const grid = this.grid(bound);
    if (grid.includes(0)) return grid; // nothing to do, and nothing to bind (sizes may be 0)

    const ranges = bound.tensors.map((t) => this.bindingRange(t.arg.name, t.arg.dtype, t.value));
    const uniformBuffer = this.uniformPool.acquire(
      packUniforms(this.name, this.wgsl.uniforms, bound),
      !!opts.pass,
    );
    const key = [uniformBuffer, ...bound.tensors.map((t) => t.value.buffer)];
    const bindGroup = this.bindGroups.get(key, ranges, () =>
      this.device.createBindGroup({
        label: this.name,
        layout: this.bindGroupLayout,
        entries: [
          ...bound.tensors.map((t, i) => ({
            binding: t.arg.binding,
            resource:
              ranges[i] === undefined
                ? { buffer: t.value.buffer }
                : { buffer: t.value.buffer, size: ranges[i] },
          })),
          { binding: this.wgsl.uniforms.binding, resource: { buffer: uniformBuffer } },
        ],
      }),
    );

    const encode = (pass: GPUComputePassEncoder): void => {
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    };
    if (opts.pass) {
      encode(opts.pass);
    } else {
      const encoder = this.device.createCommandEncoder({ label: opts.label ?? this.name });
      const pass = encoder.beginComputePass({ label: opts.label ?? this.name });
      encode(pass);
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    }
    return grid;
  }

  /**
   * How much of a tensor's buffer to bind: all of it (undefined) normally; only the tensor's
   * bytes when the buffer is larger than a storage binding may be (e.g. a slab allocator's).
   */
  private bindingRange(name: string, dtype: DType, t: TensorBinding): number | undefined {
    const max = this.device.limits.maxStorageBufferBindingSize;
    if (t.buffer.size <= max) return undefined;
    const bytes = Math.min(t.buffer.size, Math.ceil(tensorBytes(dtype, t.shape) / 4) * 4);
    if (bytes > max) {
      throw new Error(
        `${this.name}: argument '${name}' (${dtype}${showShape(t.shape)}) is ${bytes} bytes but maxStorageBufferBindingSize is ${max}`,
      );
    }
    return bytes;
  }

  /** The dispatch size for these arguments, padded to 3 axes; validated against device limits. */
  private grid(bound: BoundArgs): Grid {
    const fail = (msg: string): never => {
      throw new Error(`${this.name}: ${msg}`);
    };
    const env = { ...bound.dims, ...bound.scalars };
    const grid = [1, 1, 1] as Grid;
    this.manifest.grid.forEach(
      (e, i) => (grid[i] = evalOrFail(e, env, fail, `grid axis ${this.manifest.gridAxes[i] ?? i}`)),
    );
    if (!grid.every((n) => Number.isInteger(n) && n >= 0))
      fail(`grid ${showShape(grid)} is not a list of non-negative integers`);
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    grid.forEach((n, i) => {
      if (n > max) {
        const axis = this.manifest.gridAxes[i] ?? "xyz"[i];
        fail(
          `grid ${showShape(grid)} is too large: axis '${axis}' has ${n} workgroups but maxComputeWorkgroupsPerDimension is ${max}`,
        );
      }
    });
    return grid;
  }

  /** Counters for tests and leak checks. */
  get stats(): { uniformBuffers: number; pooledUniformBuffers: number; bindGroups: number } {
    return {
      uniformBuffers: this.uniformPool.created,
      pooledUniformBuffers: this.uniformPool.pooled,
      bindGroups: this.bindGroups.created,
    };
  }

  /** Free the kernel's uniform buffers; submitted work still completes. Don't launch after. */
  destroy(): void {
    this.bindGroups.clear();
    this.uniformPool.destroy();
  }
}
