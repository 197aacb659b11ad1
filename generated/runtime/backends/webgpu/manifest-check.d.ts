/// <reference types="@webgpu/types" />
import { type KernelManifest, type WgslTarget } from "../../manifest.js";
/** Throw if `manifest` cannot be launched by this runtime; returns its WGSL target. */
export declare function checkManifest(manifest: KernelManifest): WgslTarget;
