// The operations that accumulate: `dot` and the row reductions.
//
// Accumulation order is the one thing a GPU leaves unspecified (threads, subgroups and tensor
// cores each sum in their own order), so the interpreter does not pick an order: it sums in
// float64 and rounds once to the result dtype. That is the exactly rounded result (up to float64
// error, ~2^-53 relative per term), which every order of f32 accumulation approximates within a
// few ulps times log2(k), far inside the 1e-5 tolerance of the tests. It also makes the
// interpreter deterministic and independent of the tile sizes the tuner picks.
import type { ReduceOp, ScalarType } from "../ir/ir.ts";
import { roundInPlace } from "./numeric.ts";
import type { Tile } from "./tile.ts";

/** a [m, k] · b [k, n] → [m, n], products and sums in float64, rounded once to `dtype` (f32). */
export function dotTile(a: Tile, b: Tile, dtype: ScalarType): Tile {
  const m = a.rows;
  const k = a.cols;
  const n = b.cols;
  if (b.rows !== k) throw new Error(`internal: dot of ${m} x ${k} and ${b.rows} x ${n} tiles`);
  const out = new Float64Array(m * n);
  const ad = a.data;
  const bd = b.data;
  // i-p-j order: the inner loop walks a row of b and a row of out, both contiguous.
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < k; p++) {
      const x = ad[i * k + p];
      const row = p * n;
      for (let j = 0; j < n; j++) out[o + j] += x * bd[row + j];
    }
  }
  roundInPlace(out, dtype);
  return { data: out, rows: m, cols: n };
}

/** Reduce along axis 1: [r, c] → [r, 1]. Sums accumulate in float64 and round once. */
export function reduceTile(op: ReduceOp, a: Tile, dtype: ScalarType): Tile {
  const { rows, cols } = a;
  const out = new Float64Array(rows);
  const d = a.data;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let acc = op === "max" ? -Infinity : op === "min" ? Infinity : 0;
    switch (op) {
      case "sum":
        for (let c = 0; c < cols; c++) acc += d[base + c];
        break;
      case "max":
        for (let c = 0; c < cols; c++) acc = Math.max(acc, d[base + c]);
        break;
      case "min":
        for (let c = 0; c < cols; c++) acc = Math.min(acc, d[base + c]);
        break;
    }
    out[r] = acc;
  }
  roundInPlace(out, dtype);
  return { data: out, rows, cols: 1 };
}
