// The alignment a kernel's accesses need of each tensor's device address, collected while the
// kernel is emitted (16-byte cp.async copies, pair and chunk stores) and written to the manifest
// (cuda.align), where the runtime checks it before a launch: a misaligned vector access would
// stop the GPU instead of naming the argument.
import type { TensorParam } from "../../ir/ir.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";

export class AccessAlignment {
  private widest = new Map<string, number>();

  /** The kernel accesses `tensor` in units of `bytes`. */
  record(tensor: string, bytes: number): void {
    this.widest.set(tensor, Math.max(bytes, this.widest.get(tensor) ?? 0));
  }

  /** The manifest's cuda.align: the tensors accessed in units wider than their element. */
  manifest(tensors: TensorParam[]): Record<string, number> {
    const wide = tensors.filter((t) => (this.widest.get(t.name) ?? 0) > bytesOfName(t.dtype));
    return Object.fromEntries(wide.map((t) => [t.name, this.widest.get(t.name)!]));
  }
}
