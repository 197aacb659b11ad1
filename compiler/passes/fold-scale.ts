// The row max before the scale: rowmax(x * c) == rowmax(x) * c for a scale c > 0 that is the same
// across a row. FlashAttention's softmax takes the row max of the unscaled scores and folds the
// scale into the exponent, exp2(x * c - m): one FFMA an element where the spec's order costs an
// FMUL (the scaled tile, read by both the max and the exponent) and an FADD. After this rewrite
// the scaled tile has one reader, the exponent, so the backends compute it inline and nvcc
// contracts x * c - m into one FFMA.
//
// The result is bit-identical: rounding is monotonic, so the largest rounded product is the
// rounded product of the largest element. It needs the sign of c, which comes from constants and
// from the spec's `require` bounds on scalar arguments (`require softmax_scale > 0.0`), which the
// runtime checks at every launch. Scales it cannot prove positive (an FP8 key descale read from
// memory) keep the spec's order. Only full tiles match: a masked tile's scores are a select of
// the scaled products and -inf, which both readers still need.
import { type KernelIR, type ReduceOp, type Value, walkInsts } from "../ir/ir.ts";
import { Rebuilder, rebuildKernel } from "../ir/rebuild.ts";
import type { IRBuilder } from "../ir/builder.ts";

/**
 * Is v > 0 (as a real number) whenever the kernel runs? Products and sums of positive f32 values
 * could round to 0 or +inf only for scales near 1e+-38, where the scores mean nothing either way.
 */
export function provablyPositive(ir: KernelIR, v: Value): boolean {
  const op = v.op;
  switch (op.kind) {
    case "const":
      return typeof op.value === "number" && op.value > 0 && Number.isFinite(op.value);
    case "arg": {
      const bounds = ir.scalars.find((s) => s.name === op.name)?.bounds ?? [];
      return bounds.some((b) => (b.op === ">" && b.value >= 0) || (b.op === ">=" && b.value > 0));
    }
    case "binary":
      switch (op.op) {
        case "mul":
        case "div":
        case "add":
        case "min":
          return provablyPositive(ir, op.a) && provablyPositive(ir, op.b);
        case "max":
          return provablyPositive(ir, op.a) || provablyPositive(ir, op.b);
        default:
          return false;
      }
    case "select":
      return provablyPositive(ir, op.a) && provablyPositive(ir, op.b);
    case "cast":
      return v.type.dtype === "f32" && op.a.type.dtype === "f32" && provablyPositive(ir, op.a);
    default:
      return false;
  }
}

/** The (tile, scale) of x = tile * scale with a positive scale that is constant along each row. */
export function rowScaled(ir: KernelIR, x: Value): { tile: Value; scale: Value } | undefined {
  if (x.op.kind !== "binary" || x.op.op !== "mul" || x.type.dtype !== "f32") return undefined;
  const rowConstant = (c: Value) => c.type.shape.length === 0 || c.type.shape[1] === 1;
  for (const [tile, scale] of [[x.op.a, x.op.b], [x.op.b, x.op.a]]) {
    if (rowConstant(scale) && provablyPositive(ir, scale)) return { tile, scale };
  }
  return undefined;
}

const ORDERED: ReadonlySet<ReduceOp> = new Set(["max", "min"]);

/** For a row max (or min) of a positively scaled tile: its reduction, tile and scale. */
function foldable(ir: KernelIR, v: Value): { op: ReduceOp; tile: Value; scale: Value } | undefined {
  if (v.op.kind !== "reduce" || !ORDERED.has(v.op.op)) return undefined;
  const scaled = rowScaled(ir, v.op.a);
  return scaled && { op: v.op.op, ...scaled };
}

class FoldScale extends Rebuilder {
  constructor(
    b: IRBuilder,
    private ir: KernelIR,
  ) {
    super(b);
  }

  override value(v: Value): Value {
    const f = foldable(this.ir, v);
    if (!f) return super.value(v);
    this.b.span = v.span;
    return this.b.binary("mul", this.b.reduce(f.op, this.get(f.tile)), this.get(f.scale));
  }
}

export function foldScale(ir: KernelIR, nextId: number): { ir: KernelIR; nextId: number } {
  // Rebuilding renumbers every value: leave kernels with nothing to fold exactly as they were.
  let any = false;
  walkInsts(ir.body, (inst) => {
    if (inst.kind === "def" && foldable(ir, inst.value)) any = true;
  });
  return any ? rebuildKernel(ir, nextId, (b) => new FoldScale(b, ir)) : { ir, nextId };
}
