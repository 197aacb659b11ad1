/// <reference types="@webgpu/types" />
// Getting a WebGPU device with everything our kernels may use, and a plain-data description of
// it (DeviceInfo) that requirement checks and variant selection work from.

export interface DeviceOptions {
  /** Dawn toggles passed to create(), e.g. ["enable-dawn-features=allow_unsafe_apis"]. Node only;
   *  a browser's navigator.gpu takes none, so they are ignored there. */
  toggles?: string[];
  powerPreference?: GPUPowerPreference;
  /** Use this GPU object instead of navigator.gpu / Dawn (tests, embedders). */
  gpu?: GPU;
}

/** Device limits that decide whether (and how large) a kernel can run. */
export interface DeviceLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupSizeZ: number;
  maxStorageBuffersPerShaderStage: number;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupsPerDimension: number;
}

export interface DeviceInfo {
  vendor: string;
  architecture: string;
  /** Adapter's device name (may be empty, browsers often hide it). */
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** Features enabled on the device (not merely offered by the adapter), sorted. */
  features: string[];
  /** Lanes per subgroup the adapter guarantees at least / at most; undefined when the adapter
   *  does not report them (then no subgroup minimum can be shown to hold). */
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** The device's limits (getDevice raises these to the adapter's maximum). */
  limits: DeviceLimits;
}

export interface DeviceHandle {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: DeviceInfo;
}

/** Optional features kernels may use; each is requested when the adapter has it. */
export const OPTIONAL_FEATURES = [
  "shader-f16",
  "subgroups",
  "timestamp-query",
  "subgroup-size-control",
  "chromium-experimental-subgroup-matrix",
] as const;

/** Limits raised to the adapter's maximum (defaults are far below what attention kernels need). */
const RAISED_LIMITS = [
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxStorageBuffersPerShaderStage",
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupsPerDimension",
] as const satisfies readonly (keyof DeviceLimits)[];

/** Get an adapter and a device with every useful optional feature and raised limits. */
export async function getDevice(opts: DeviceOptions = {}): Promise<DeviceHandle> {
  const gpu = opts.gpu ?? (await findGPU(opts.toggles ?? []));
  const adapter = await gpu.requestAdapter(
    opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined,
  );
  if (!adapter) throw new Error(await noAdapterMessage(opts.gpu !== undefined));

  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  const adapterLimits = adapter.limits as unknown as Record<string, number | undefined>;
  for (const name of RAISED_LIMITS) {
    const v = adapterLimits[name];
    if (typeof v === "number") requiredLimits[name] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  return { device, adapter, info: describeDevice(device, adapter) };
}

/**
 * Describe a device, e.g. one an application created itself. The adapter is optional because
 * browsers expose its info on the device too (device.adapterInfo).
 */
export function describeDevice(device: GPUDevice, adapter?: GPUAdapter): DeviceInfo {
  const ai: Partial<GPUAdapterInfo> =
    adapter?.info ?? (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo ?? {};
  const legacyFallback = (adapter as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter;
  const deviceLimits = device.limits as unknown as Record<string, number | undefined>;
  const limits = {} as DeviceLimits;
  for (const name of RAISED_LIMITS) limits[name] = deviceLimits[name] ?? 0;
  return {
    vendor: ai.vendor ?? "",
    architecture: ai.architecture ?? "",
    device: ai.device ?? "",
    description: ai.description ?? "",
    isFallbackAdapter: ai.isFallbackAdapter ?? legacyFallback ?? false,
    features: [...device.features].map(String).sort(),
    // Read, never assumed: 32 on NVIDIA, 8..128 elsewhere, 8 on lavapipe.
    subgroupMinSize: typeof ai.subgroupMinSize === "number" ? ai.subgroupMinSize : undefined,
    subgroupMaxSize: typeof ai.subgroupMaxSize === "number" ? ai.subgroupMaxSize : undefined,
    limits,
  };
}

/** navigator.gpu when there is one (browsers, Deno); otherwise Dawn for Node. */
async function findGPU(toggles: readonly string[]): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const { nodeGPU } = await import("./dawn-node.ts");
  return nodeGPU(toggles);
}

async function noAdapterMessage(injected: boolean): Promise<string> {
  const inBrowser = !!(globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (inBrowser && !injected) {
    return (
      "no WebGPU adapter: navigator.gpu.requestAdapter() returned null. This browser or GPU does " +
      "not offer WebGPU (see chrome://gpu, or enable WebGPU in the browser's settings)."
    );
  }
  let source = "the given GPU object";
  if (!injected) source = (await import("./dawn-node.ts")).dawnSource();
  return (
    `no WebGPU adapter (Dawn loaded from ${source} found no usable Vulkan/Metal/D3D driver). ` +
    "On a machine without a GPU, install Mesa's software Vulkan driver (lavapipe); on Debian 12: " +
    "`echo 'deb http://deb.debian.org/debian bookworm-backports main' > " +
    "/etc/apt/sources.list.d/backports.list && apt-get update && " +
    "apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1`. " +
    "Debian's own Mesa 22 (without -t bookworm-backports) gives no adapter. " +
    "On a GPU machine, install the vendor's Vulkan driver and ICD (NVIDIA: the driver's " +
    "libnvidia-gl package providing nvidia_icd.json) and libvulkan1."
  );
}
