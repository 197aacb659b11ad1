/// <reference types="@webgpu/types" />
import type { KernelManifest } from "../../manifest.js";
import type { DeviceInfo } from "./device.js";
/** Everything the device lacks for `manifest`, one human-readable line each; empty if it can run. */
export declare function unmetRequirements(manifest: KernelManifest, info: DeviceInfo): string[];
/** Throw one error listing everything the device lacks for `manifest`. */
export declare function assertRequirements(manifest: KernelManifest, info: DeviceInfo): void;
