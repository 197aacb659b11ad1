// Tile values and the elementwise operations on them. A tile is a dense row-major float64 array
// of its IR type's shape; a scalar is a 1 x 1 tile, which broadcasts exactly like [1, 1]. Tiles
// are never mutated once made: loop-carried values and branch results alias them freely.
//
// The loops here switch on the operation outside or at the top of the element loop and never
// call a closure per element, because these loops are where an interpreted kernel spends its time.
import type { BinOp, ScalarType, TileType, UnOp } from "../ir/ir.ts";
import { convert, roundInPlace } from "./numeric.ts";

export interface Tile {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Rows and columns of an IR type (a scalar is 1 x 1). */
export function dimsOf(t: TileType): [number, number] {
  return t.shape.length ? [t.shape[0], t.shape[1]] : [1, 1];
}

export function scalarTile(x: number): Tile {
  const data = new Float64Array(1);
  data[0] = x;
  return { data, rows: 1, cols: 1 };
}

export function filledTile(x: number, rows: number, cols: number): Tile {
  return { data: new Float64Array(rows * cols).fill(x), rows, cols };
}

/**
 * Strides that read operand `t` at element (r, c) of a rows x cols result: a size-1 axis of the
 * operand gets stride 0 (broadcast). Any other mismatch means the IR is ill-typed.
 */
export function bcast(t: Tile, rows: number, cols: number): [number, number] {
  if ((t.rows !== rows && t.rows !== 1) || (t.cols !== cols && t.cols !== 1)) {
    throw new Error(`internal: a ${t.rows} x ${t.cols} tile does not broadcast to ${rows} x ${cols}`);
  }
  return [t.rows === 1 ? 0 : t.cols, t.cols === 1 ? 0 : 1];
}

const CODE: Record<BinOp, number> = {
  add: 0, sub: 1, mul: 2, div: 3, rem: 4, min: 5, max: 6, lt: 7, le: 8, gt: 9, ge: 10, eq: 11, ne: 12, and: 13, or: 14,
};

/**
 * `a op b` elementwise. `operand` is the operands' dtype (integer ops wrap, divide truncating
 * toward zero, and give 0 on division by zero, as the IR builder's constant folder evalBinary
 * does); the result is rounded to `result` afterwards. Beware: WGSL defines x / 0 = x for
 * integers (x % 0 = 0 agrees), so the folder, this interpreter and the WGSL backend disagree
 * there until the IR picks one meaning for all three.
 */
export function binaryTile(op: BinOp, operand: ScalarType, result: ScalarType, a: Tile, b: Tile, rows: number, cols: number): Tile {
  const out = new Float64Array(rows * cols);
  const [ar, ac] = bcast(a, rows, cols);
  const [br, bc] = bcast(b, rows, cols);
  const ad = a.data;
  const bd = b.data;
  const int = operand === "i32" || operand === "u32";
  const code = CODE[op] + (int && (op === "mul" || op === "div" || op === "rem") ? 100 : 0);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let ia = r * ar;
    let ib = r * br;
    for (let c = 0; c < cols; c++, ia += ac, ib += bc) {
      const x = ad[ia];
      const y = bd[ib];
      let z: number;
      switch (code) {
        case 0: z = x + y; break;
        case 1: z = x - y; break;
        case 2: z = x * y; break;
        case 3: z = x / y; break;
        case 4: z = x % y; break; // fmod: the sign of the dividend
        case 5: z = Math.min(x, y); break;
        case 6: z = Math.max(x, y); break;
        case 7: z = x < y ? 1 : 0; break;
        case 8: z = x <= y ? 1 : 0; break;
        case 9: z = x > y ? 1 : 0; break;
        case 10: z = x >= y ? 1 : 0; break;
        case 11: z = x === y ? 1 : 0; break;
        case 12: z = x !== y ? 1 : 0; break;
        case 13: z = x !== 0 && y !== 0 ? 1 : 0; break;
        case 14: z = x !== 0 || y !== 0 ? 1 : 0; break;
        case 102: z = Math.imul(x, y); break; // exact low 32 bits; a float64 product is not
        case 103: z = y === 0 ? 0 : Math.trunc(x / y); break; // |x|, |y| < 2^32: the quotient never rounds across an integer
        case 104: z = y === 0 ? 0 : x % y; break;
        default: throw new Error(`internal: binary op ${op}`);
      }
      out[o++] = z;
    }
  }
  roundInPlace(out, result);
  return { data: out, rows, cols };
}

export function unaryTile(op: UnOp, dtype: ScalarType, a: Tile): Tile {
  const n = a.data.length;
  const x = a.data;
  const out = new Float64Array(n);
  switch (op) {
    case "neg": for (let i = 0; i < n; i++) out[i] = -x[i]; break;
    case "not": for (let i = 0; i < n; i++) out[i] = x[i] !== 0 ? 0 : 1; break;
    case "exp": for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]); break;
    case "exp2": for (let i = 0; i < n; i++) out[i] = Math.pow(2, x[i]); break;
    case "log": for (let i = 0; i < n; i++) out[i] = Math.log(x[i]); break;
    case "log2": for (let i = 0; i < n; i++) out[i] = Math.log2(x[i]); break;
    case "tanh": for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]); break;
    case "sqrt": for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]); break;
    case "rsqrt": for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]); break;
    case "abs": for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]); break;
  }
  roundInPlace(out, dtype); // also wraps -(-2^31) and abs(-2^31) back to -2^31 for i32
  return { data: out, rows: a.rows, cols: a.cols };
}

/** where(cond, a, b), broadcasting all three. */
export function selectTile(dtype: ScalarType, cond: Tile, a: Tile, b: Tile, rows: number, cols: number): Tile {
  const out = new Float64Array(rows * cols);
  const [kr, kc] = bcast(cond, rows, cols);
  const [ar, ac] = bcast(a, rows, cols);
  const [br, bc] = bcast(b, rows, cols);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[o++] = cond.data[r * kr + c * kc] !== 0 ? a.data[r * ar + c * ac] : b.data[r * br + c * bc];
    }
  }
  roundInPlace(out, dtype); // a no-op when both sides already have the dtype, as lowering ensures
  return { data: out, rows, cols };
}

export function castTile(from: ScalarType, to: ScalarType, a: Tile): Tile {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = convert(a.data[i], from, to);
  return { data: out, rows: a.rows, cols: a.cols };
}

/** start + [0, len) along `axis`, as i32. */
export function iotaTile(start: number, len: number, axis: 0 | 1): Tile {
  const out = new Float64Array(len);
  for (let i = 0; i < len; i++) out[i] = (start + i) | 0;
  return axis === 0 ? { data: out, rows: len, cols: 1 } : { data: out, rows: 1, cols: len };
}

export function transposeTile(a: Tile): Tile {
  const { rows, cols } = a;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a.data[r * cols + c];
  return { data: out, rows: cols, cols: rows };
}
