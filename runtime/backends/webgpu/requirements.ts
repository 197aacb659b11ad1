import type { KernelManifest } from "../../manifest.ts";
import type { DeviceInfo } from "./device.ts";

// Whether a device can run a kernel variant, decided from the manifest alone (before any WGSL is
// compiled) so that a missing feature is reported as such rather than as a shader error.

/** Everything the device lacks for `manifest`, one human-readable line each; empty if it can run. */
export function unmetRequirements(manifest: KernelManifest, info: DeviceInfo): string[] {
  const wgsl = manifest.wgsl;
  if (!wgsl) return ["the manifest has no WGSL target"];
  const req = wgsl.requires;
  const lim = info.limits;
  const unmet: string[] = [];

  for (const f of req.features) {
    if (!info.features.includes(f)) unmet.push(`missing feature '${f}'`);
  }
  if (req.minSubgroupSize !== undefined) {
    // The kernel assumes every subgroup has at least this many lanes; only the adapter's
    // guaranteed minimum can promise that (the actual size may vary per pipeline up to max).
    if (info.subgroupMinSize === undefined) {
      unmet.push(
        `needs subgroups of at least ${req.minSubgroupSize} lanes but the adapter does not report subgroupMinSize`,
      );
    } else if (info.subgroupMinSize < req.minSubgroupSize) {
      unmet.push(
        `needs subgroups of at least ${req.minSubgroupSize} lanes but the adapter's subgroupMinSize is ${info.subgroupMinSize}`,
      );
    }
  }
  if (req.workgroupStorageBytes > lim.maxComputeWorkgroupStorageSize) {
    unmet.push(
      `needs ${req.workgroupStorageBytes} bytes of workgroup storage but maxComputeWorkgroupStorageSize is ${lim.maxComputeWorkgroupStorageSize}`,
    );
  }
  if (req.invocations > lim.maxComputeInvocationsPerWorkgroup) {
    unmet.push(
      `needs ${req.invocations} invocations per workgroup but maxComputeInvocationsPerWorkgroup is ${lim.maxComputeInvocationsPerWorkgroup}`,
    );
  }
  const [x, y, z] = wgsl.workgroupSize;
  const maxXYZ = [lim.maxComputeWorkgroupSizeX, lim.maxComputeWorkgroupSizeY, lim.maxComputeWorkgroupSizeZ];
  [x, y, z].forEach((n, i) => {
    if (maxXYZ[i] && n > maxXYZ[i]) {
      unmet.push(
        `workgroup size ${"xyz"[i]} = ${n} exceeds maxComputeWorkgroupSize${"XYZ"[i]} = ${maxXYZ[i]}`,
      );
    }
  });
  if (manifest.tensors.length > lim.maxStorageBuffersPerShaderStage) {
    unmet.push(
      `binds ${manifest.tensors.length} storage buffers but maxStorageBuffersPerShaderStage is ${lim.maxStorageBuffersPerShaderStage}`,
    );
  }
  return unmet;
}

/** Throw one error listing everything the device lacks for `manifest`. */
export function assertRequirements(manifest: KernelManifest, info: DeviceInfo): void {
  const unmet = unmetRequirements(manifest, info);
  if (unmet.length === 0) return;
  const adapter =
    [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "unknown adapter";
  throw new Error(`${manifest.name}: this device (${adapter}) cannot run the kernel: ${unmet.join("; ")}`);
}
