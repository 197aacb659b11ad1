import { loadCudaAddon, type AddonOptions, type CudaAddon, type CudaDeviceInfo } from "./native.ts";

// A CUDA device for the runtime: the addon, initialized on one device (its primary context made
// current on this thread), and what the driver says about the device.

export interface CudaDeviceOptions extends AddonOptions {
  /** Device ordinal (default 0). */
  ordinal?: number;
}

export interface CudaDevice {
  readonly addon: CudaAddon;
  readonly info: CudaDeviceInfo;
  /** Wait for all work on the device (cuCtxSynchronize). */
  synchronize(): void;
  /** Free and total device memory in bytes, now. */
  memoryInfo(): { free: number; total: number };
}

/**
 * Load the addon and initialize `opts.ordinal`. Without an NVIDIA driver this throws one error:
 * "flashtile CUDA: cannot load libcuda.so.1 (...): this needs an NVIDIA GPU and driver; use the
 * WebGPU backend otherwise". One device per thread for now: a second call with another ordinal
 * makes that device current for every later call.
 */
export function getCudaDevice(opts: CudaDeviceOptions = {}): CudaDevice {
  const addon = loadCudaAddon(opts);
  const info = addon.init(opts.ordinal ?? 0);
  return {
    addon,
    info,
    synchronize: () => addon.synchronize(),
    memoryInfo: () => addon.memGetInfo(),
  };
}

/** "NVIDIA H200 (sm_90, 132 SMs, 140.4 GiB, L2 60 MiB, driver 13.0)": for logs and reports. */
export function describeCudaDevice(info: CudaDeviceInfo): string {
  const gib = (info.totalMemory / 2 ** 30).toFixed(1);
  const l2 = (info.l2CacheBytes / 2 ** 20).toFixed(0);
  return (
    `${info.name} (sm_${info.computeCapabilityMajor}${info.computeCapabilityMinor}, ${info.multiprocessors} SMs, ` +
    `${gib} GiB, L2 ${l2} MiB, driver ${info.driverVersion})`
  );
}
