/// <reference types="@webgpu/types" />
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
export declare const OPTIONAL_FEATURES: readonly [
  "shader-f16",
  "subgroups",
  "timestamp-query",
  "subgroup-size-control",
  "chromium-experimental-subgroup-matrix",
];
/** Get an adapter and a device with every useful optional feature and raised limits. */
export declare function getDevice(opts?: DeviceOptions): Promise<DeviceHandle>;
/**
 * Describe a device, e.g. one an application created itself. The adapter is optional because
 * browsers expose its info on the device too (device.adapterInfo).
 */
export declare function describeDevice(device: GPUDevice, adapter?: GPUAdapter): DeviceInfo;
