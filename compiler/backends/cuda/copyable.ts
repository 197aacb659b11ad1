// Which loaded tiles the copies into shared memory move 16 bytes at a time (cp.async, TMA, or a
// converted tile's read-widen-store), and which load a shared operand's copy reads.
import type { Value } from "../../ir/ir.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";
import type { CudaPlan } from "./plan.ts";

/**
 * The load a copy of shared operand v reads: v itself where cp.async copies it, the load it
 * widens or rounds where it is converted on its way in (`converted`, `recast`); undefined where
 * it is filled element by element.
 */
export function copiedLoad(plan: CudaPlan, v: Value): Value | undefined {
  const raw = plan.converted.get(v) ?? plan.recast.get(v);
  if (raw) return raw;
  return contiguousRows(v) ? v : undefined;
}

/** Element types cp.async copies into shared memory: dot operands, and fp8 tiles to widen there. */
const COPYABLE = new Set(["f16", "bf16", "f8e4m3"]);

/**
 * Can a load be copied 16 bytes (8 f16/bf16 or 16 fp8 elements) at a time? Its column index must
 * step by one along the tensor's last, contiguous dimension, every other index and the predicate
 * must not depend on the column, and row starts must be 16-byte aligned (all trailing sizes
 * known, multiples of the chunk).
 */
export function contiguousRows(v: Value): boolean {
  const per = 16 / bytesOfName(v.type.dtype);
  if (v.op.kind !== "load" || v.type.shape[1] % per !== 0 || !COPYABLE.has(v.type.dtype)) return false;
  const { indices, pred, tensor } = v.op;
  const last = indices[indices.length - 1];
  const colOnly = (x: Value): boolean => x.type.shape.length === 0 || x.type.shape[1] === 1;
  const unitCol = (x: Value): boolean => {
    if (x.op.kind === "iota") return x.op.axis === 1 && x.op.start.op.kind === "const" && Number(x.op.start.op.value) % per === 0;
    if (x.op.kind === "binary" && x.op.op === "add") return (unitCol(x.op.a) && colOnly(x.op.b)) || (unitCol(x.op.b) && colOnly(x.op.a));
    return false;
  };
  if (!unitCol(last) || !indices.slice(0, -1).every(colOnly) || (pred && !colOnly(pred))) return false;
  const trailing = tensor.shape[tensor.shape.length - 1];
  return typeof trailing === "number" && trailing % per === 0;
}
