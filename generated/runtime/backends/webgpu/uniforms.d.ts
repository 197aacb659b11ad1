/// <reference types="@webgpu/types" />
import type { WgslTarget } from "../../manifest.js";
import type { BoundArgs } from "./args.js";
/** Bytes of the uniform block for one launch; gaps between fields are zero. */
export declare function packUniforms(
  kernelName: string,
  uniforms: WgslTarget["uniforms"],
  bound: Pick<BoundArgs, "dims" | "scalars">,
): Uint8Array<ArrayBuffer>;
