// Tensor accesses: gathers (load) and scatters (store) through index tiles. Element (r, c) of
// the access uses element (r, c) of every index tile, broadcast; row-major strides come from the
// tensor's actual shape. A predicated-off element is neither read nor written, so its indices
// may be anything; an enabled element out of range is an error that says exactly where it
// happened, which a GPU (which clamps or drops such accesses) never does.
import type { Span } from "../diagnostics/source.ts";
import { lineCol, lineText } from "../diagnostics/source.ts";
import type { ScalarType } from "../ir/ir.ts";
import type { BoundTensor } from "./args.ts";
import { showShape } from "../../runtime/args.ts";
import { toDtype } from "./numeric.ts";
import { type Tile, bcast } from "./tile.ts";

/** Where an access runs, for error messages. */
export interface AccessSite {
  kernel: string;
  /** "m=0, h=1, b=2" */
  program: string;
  span?: Span;
}

/** Strides of each index tile (and the predicate) over the access's rows x cols. */
function plan(indices: Tile[], pred: Tile | undefined, rows: number, cols: number) {
  const rs = new Int32Array(indices.length);
  const cs = new Int32Array(indices.length);
  indices.forEach((t, d) => ([rs[d], cs[d]] = bcast(t, rows, cols)));
  const [pr, pc] = pred ? bcast(pred, rows, cols) : [0, 0];
  return { rs, cs, pr, pc };
}

function outOfRange(what: "load from" | "store to", t: BoundTensor, indices: Tile[], r: number, c: number, rs: Int32Array, cs: Int32Array, site: AccessSite): never {
  const ix = indices.map((tile, d) => tile.data[r * rs[d] + c * cs[d]]);
  const bad = ix.findIndex((x, d) => !(x >= 0 && x < t.shape[d]));
  const name = t.param.name;
  throw new Error(
    `${site.kernel}: out-of-range ${what} '${name}': index ${showShape(ix)} but '${name}' has shape ${showShape(t.shape)} ` +
      `(dimension ${bad}: ${ix[bad]} is not in [0, ${t.shape[bad]})), in program (${site.program}) at tile element (${r}, ${c})${where(site.span)}`,
  );
}

/**
 * " at file:line:col: `source line`", to point at the access in the spec. The whole line rather
 * than the span's text: expression spans do not always carry their end offset.
 */
function where(span: Span | undefined): string {
  if (!span) return "";
  const { line, col } = lineCol(span.file, span.start);
  return ` at ${span.file.path}:${line}:${col}: \`${lineText(span.file, line).trim()}\``;
}

/** `load t[indices] where pred else other` as a rows x cols tile of the tensor's dtype. */
export function loadTile(t: BoundTensor, indices: Tile[], pred: Tile | undefined, other: number, rows: number, cols: number, site: AccessSite): Tile {
  const out = new Float64Array(rows * cols);
  const { rs, cs, pr, pc } = plan(indices, pred, rows, cols);
  const fill = toDtype(other, t.param.dtype as ScalarType);
  const src = t.values;
  const rank = indices.length;
  const shape = Int32Array.from(t.shape);
  const strides = Int32Array.from(t.strides);
  const idx = indices.map((i) => i.data);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++, o++) {
      if (pred && pred.data[r * pr + c * pc] === 0) {
        out[o] = fill;
        continue;
      }
      let off = 0;
      for (let d = 0; d < rank; d++) {
        const x = idx[d][r * rs[d] + c * cs[d]];
        if (!(x >= 0 && x < shape[d])) outOfRange("load from", t, indices, r, c, rs, cs, site);
        off += x * strides[d];
      }
      out[o] = src[off];
    }
  }
  return { data: out, rows, cols };
}

/** `store t[indices] = value where pred`, converting to the tensor's dtype. */
export function storeTile(t: BoundTensor, indices: Tile[], value: Tile, pred: Tile | undefined, site: AccessSite): void {
  // The stored region is the broadcast of every operand (lowering makes it the indices' shape).
  let rows = value.rows;
  let cols = value.cols;
  for (const x of [...indices, ...(pred ? [pred] : [])]) {
    rows = Math.max(rows, x.rows);
    cols = Math.max(cols, x.cols);
  }
  const { rs, cs, pr, pc } = plan(indices, pred, rows, cols);
  const [vr, vc] = bcast(value, rows, cols);
  const dst = t.values;
  const stored = (t.stored ??= new Uint8Array(dst.length));
  const dtype = t.param.dtype as ScalarType;
  const rank = indices.length;
  const idx = indices.map((i) => i.data);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (pred && pred.data[r * pr + c * pc] === 0) continue;
      let off = 0;
      for (let d = 0; d < rank; d++) {
        const x = idx[d][r * rs[d] + c * cs[d]];
        if (!(x >= 0 && x < t.shape[d])) outOfRange("store to", t, indices, r, c, rs, cs, site);
        off += x * t.strides[d];
      }
      dst[off] = toDtype(value.data[r * vr + c * vc], dtype);
      stored[off] = 1;
    }
  }
}
