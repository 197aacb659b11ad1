import type { WgslTarget } from "../../manifest.ts";
import type { BoundArgs } from "./args.ts";

// The uniform block: byte layout is the compiler's decision (manifest.wgsl.uniforms); the
// runtime only writes each 4-byte field where the manifest says, little-endian as WGSL reads it.

/** Bytes of the uniform block for one launch; gaps between fields are zero. */
export function packUniforms(
  kernelName: string,
  uniforms: WgslTarget["uniforms"],
  bound: Pick<BoundArgs, "dims" | "scalars">,
): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(uniforms.size);
  const view = new DataView(bytes.buffer);
  for (const f of uniforms.fields) {
    const v = (f.from === "dim" ? bound.dims : bound.scalars)[f.name];
    if (v === undefined)
      throw new Error(`${kernelName}: bad manifest: uniform field '${f.name}' names no ${f.from}`);
    switch (f.type) {
      case "f32":
        view.setFloat32(f.offset, v, true);
        break;
      case "i32":
        checkInt(kernelName, f.name, v, -(2 ** 31), 2 ** 31 - 1, "i32");
        view.setInt32(f.offset, v, true);
        break;
      case "u32":
        checkInt(kernelName, f.name, v, 0, 2 ** 32 - 1, "u32");
        view.setUint32(f.offset, v, true);
        break;
    }
  }
  return bytes;
}

// A dimension written to an i32/u32 field must fit, or the kernel would silently see a wrapped
// value (e.g. a 2^31-element dim in an i32).
function checkInt(kernel: string, name: string, v: number, lo: number, hi: number, type: string): void {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new Error(`${kernel}: uniform '${name}' = ${v} does not fit the kernel's ${type} field`);
  }
}
