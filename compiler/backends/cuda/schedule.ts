// Block order. The GPU hands out blocks roughly in the order of their linear index (x fastest).
// When a key loop's upper bound grows with a grid index while its lower bound does not (a causal
// mask bounds the loop at the diagonal), blocks of a low index finish early and the ones launched
// last are the longest: the last wave runs a few long blocks on an otherwise idle GPU. Numbering
// that axis from the far end launches the longest blocks first and leaves the short ones to fill
// the tail (as FlashAttention does for causal prefill). Blocks are independent, so any order
// computes the same result; this only changes when each one runs.

import type { ForInst, IfInst, KernelIR, Value } from "../../ir/ir.ts";
import { walkInsts } from "../../ir/ir.ts";

/** Grid axes to number from the far end: those some loop's upper bound alone depends on. */
export function heaviestFirstAxes(ir: KernelIR): Set<number> {
  const axes = new Set<number>();
  const memo = new Map<Value, Set<number>>();
  walkInsts(ir.body, (inst) => {
    if (inst.kind !== "for") return;
    const lo = gridAxesOf(inst.lo, memo);
    for (const a of gridAxesOf(inst.hi, memo)) if (!lo.has(a)) axes.add(a);
  });
  return axes;
}

/** The block's index along `axis`, numbered from the far end on the axes in `reversed`. */
export function blockIndex(axis: number, reversed: Set<number>): string {
  const a = "xyz"[axis];
  return reversed.has(axis) ? `(gridDim.${a} - 1 - blockIdx.${a})` : `blockIdx.${a}`;
}

/** The program_id axes a value is computed from arithmetically (not through loaded data). */
function gridAxesOf(v: Value, memo: Map<Value, Set<number>>): Set<number> {
  const known = memo.get(v);
  if (known) return known;
  const axes = new Set<number>();
  memo.set(v, axes); // a loop-carried cycle reads the partial set instead of recursing forever
  const from = (...vs: (Value | undefined)[]) => {
    for (const u of vs) if (u) for (const a of gridAxesOf(u, memo)) axes.add(a);
  };
  const op = v.op;
  switch (op.kind) {
    case "program_id":
      axes.add(op.axis);
      break;
    case "iota":
      from(op.start);
      break;
    case "binary":
    case "dot":
      from(op.a, op.b);
      break;
    case "unary":
    case "cast":
    case "transpose":
    case "reduce":
      from(op.a);
      break;
    case "select":
      from(op.cond, op.a, op.b);
      break;
    case "load":
      // A loaded value (a sequence length read at the batch index) is data: it says nothing
      // about how the bound moves along the axis.
      break;
    case "loop_var":
      from(op.loop.lo, op.loop.hi, ...op.loop.inits, ...op.loop.yields);
      break;
    case "result":
      from(...resultSources(op.inst));
      break;
  }
  return axes;
}

function resultSources(inst: ForInst | IfInst): Value[] {
  return inst.kind === "for" ? [inst.lo, inst.hi, ...inst.inits, ...inst.yields] : [inst.cond, ...inst.thenYields, ...inst.elseYields];
}
