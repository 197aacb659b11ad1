// Stores of a tile to global memory, two columns at a time where the thread layout owns columns
// in adjacent pairs (the mma accumulator layout: columns 2 * t4 and 2 * t4 + 1 of each n8 tile).
//
// Why: an attention kernel's output tile was written one element a statement: for a 16-bit output
// a round to bf16, a widening back to float and a second round (the spec's `T(...)` cast, then the
// store's own conversion), then a 2-byte store. In mla_paged's epilogue that was five SASS
// instructions an element, 128 elements a thread. Written as one rounding of the pair to a
// __nv_bfloat162 and one 4-byte store (8 bytes for f32), mla_paged took 5-7% less time at
// 64 x 4096 on the H200 (bench/experiments/store_pairs_variant.py,
// bench/results/h200-store-pairs-experiment-2026-11-30.log).
//
// A pair store needs the pair's first element at an even offset and the tensor's address aligned
// to the pair's bytes: the column index is the tile's column position plus an even constant, the
// tensor is contiguous (its strides are multiples of its last dim) with an even last dim, and the
// kernel records the alignment it needs in the manifest (cuda.align) for the runtime to check.
import type { ScalarType, StoreInst, Value } from "../../ir/ir.ts";
import { isFloat } from "../../ir/ir.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";

/** The vector type and the C function packing two float (or f32) values for a store of dtype t. */
const PAIR: Partial<Record<ScalarType, { type: string; pack: string }>> = {
  bf16: { type: "__nv_bfloat162", pack: "__floats2bfloat162_rn" },
  f16: { type: "__half2", pack: "__floats2half2_rn" },
  f32: { type: "float2", pack: "make_float2" },
};

/** Varies v along a tile's columns? */
const byColumn = (v: Value) => v.type.shape.length === 2 && v.type.shape[1] > 1;

/**
 * Where store s writes a tile's columns contiguously: its tensor's last dim (a constant) and the
 * constant its column index adds to the tile's column position; undefined otherwise.
 */
export function columnRun(s: StoreInst): { lastDim: number; start: number } | undefined {
  const lastDim = s.tensor.shape[s.tensor.shape.length - 1];
  const last = s.indices[s.indices.length - 1].op;
  if (typeof lastDim !== "number" || last.kind !== "iota" || last.axis !== 1) return undefined;
  const start = last.start.op;
  return start.kind === "const" && typeof start.value === "number" ? { lastDim, start: start.value } : undefined;
}

/**
 * How store s writes a pair of columns as one vector, or undefined where it cannot (another
 * dtype, a column index that is not the column position plus an even constant, an odd or runtime
 * last dim, an index or predicate that varies along the columns).
 */
export function pairStore(s: StoreInst, full: number[]): { type: string; pack: string; align: number } | undefined {
  const pair = PAIR[s.tensor.dtype];
  if (!pair || full.length !== 2 || full[1] < 2) return undefined;
  const run = columnRun(s);
  if (!run || run.lastDim % 2 !== 0 || run.start % 2 !== 0) return undefined;
  if (s.indices.slice(0, -1).some(byColumn) || (s.pred && byColumn(s.pred))) return undefined;
  return { ...pair, align: 2 * bytesOfName(s.tensor.dtype) };
}

/**
 * The value a store converts: the operand of a cast to the stored dtype itself where the cast is
 * computed inline (the store's conversion rounds once; rounding the cast's result again changes
 * nothing but costs a widening and a second rounding an element).
 */
export function storedValue(s: StoreInst, inline: (v: Value) => boolean): Value {
  const v = s.value;
  return v.op.kind === "cast" && v.type.dtype === s.tensor.dtype && isFloat(v.op.a.type.dtype) && inline(v) ? v.op.a : v;
}
