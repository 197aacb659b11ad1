// Where a thread's tile elements sit, for the two thread layouts of plan.ts: the tensor-core
// accumulator layout (mma) and the blocked layout. Both answer the same questions: how many
// registers a tile of a shape takes, which register holds the element at a loop site, which
// positions a thread owns, and how to combine a row across the threads that share it.
import type { BlockedShape, MmaShape } from "./plan.ts";

/** A place in a loop over a thread's elements: positions and register indices. */
export interface Site {
  /** i32 C expressions of the element's row and column in the tile. */
  row: string;
  col: string;
  /** Register index of the element in a tile of this shape (broadcast axes collapse). */
  slot(shape: number[]): string;
}

export interface ThreadLayout {
  threads: number;
  /** Registers a tile of this shape takes per thread. */
  registers(shape: number[]): number;
  /** Open loops over the thread's elements of a tile of this shape; `emit` runs inside. */
  owned(shape: number[], line: (s: string) => void, enter: () => void, leave: () => void, body: (site: Site) => void): void;
  /** Where a thread owns a tile's columns in adjacent pairs: loops over the pairs (the mma layout). */
  ownedPairs?(shape: number[], line: (s: string) => void, enter: () => void, leave: () => void, body: (first: Site, second: Site) => void): void;
  /** C statements combining `v` across the threads that share its row. */
  rowCombine(v: string, combine: (a: string, b: string) => string): string[];
  /**
   * Loops over a row tile's registers (the result of a row reduction) and the source's columns;
   * `ordinal`: the inner site's place among the thread's `count` elements of its row.
   */
  reduceSites(rows: number[], cols: number[]): { outer: string[]; inner: string[]; site: (n: number) => Site; outIndex: string; ordinal: string; count: number };
  /** A condition selecting one thread among those holding the same broadcast element. */
  storeGuard(shape: number[]): string | undefined;
}

const UNROLL = "#pragma unroll";

/**
 * For an n-column tile: the C prefix giving the first column of this thread's column-group slice
 * (`wcol * n / WC + `) when the tile is split over the groups (see MmaShape.WC), else "".
 */
export function groupColumns(s: MmaShape, n: number): string {
  return s.WC > 1 && n === s.SPLIT_N ? `wcol * ${n / s.WC} + ` : "";
}

export class MmaLayout implements ThreadLayout {
  readonly threads: number;
  constructor(readonly s: MmaShape) {
    this.threads = s.threads;
  }
  /** Is this tile's column range split over the warp column groups (see MmaShape.WC)? */
  split(shape: number[]): boolean {
    return shape.length === 2 && groupColumns(this.s, shape[1]) !== "";
  }
  /** The n8 column tiles a thread's group holds of a tile this shape. */
  private nt(shape: number[]): number {
    return shape[1] > 1 ? shape[1] / 8 / (this.split(shape) ? this.s.WC : 1) : 1;
  }
  registers(shape: number[]): number {
    const rows = shape[0] > 1 ? this.s.MT * 2 : 1;
    const cols = shape[1] > 1 ? this.nt(shape) * 2 : 1;
    return rows * cols;
  }
  /**
   * The site of fragment element (mt, h, nt, p), given as C expressions; nt counts the n8 tiles
   * of the thread's column group when `split` (its first column is wcol * SPLIT_N / WC).
   */
  site(mt: string, h: string, nt: string, p: string, split = false): Site {
    const MT = this.s.MT;
    const first = split ? groupColumns(this.s, this.s.SPLIT_N) : "";
    return {
      row: `((warp * ${MT} + ${mt}) * 16 + g + 8 * ${h})`,
      col: `(${first}${nt} * 8 + 2 * t4 + ${p})`,
      slot: (shape: number[]) => {
        const r = shape.length === 2 && shape[0] > 1;
        const c = shape.length === 2 && shape[1] > 1;
        const NT = c ? this.nt(shape) : 1;
        if (r && c) return `((${mt} * ${NT} + ${nt}) * 2 + ${h}) * 2 + ${p}`;
        if (r) return `${mt} * 2 + ${h}`;
        if (c) return `${nt} * 2 + ${p}`;
        return "0";
      },
    };
  }
  owned(shape: number[], line: (s: string) => void, enter: () => void, leave: () => void, body: (site: Site) => void): void {
    this.loops(shape, true, line, enter, leave, (at) => body(at(shape[1] > 1 ? "p" : "0")));
  }
  /**
   * Like owned, for a tile of two or more columns, one loop level short: body gets the sites of
   * the thread's two adjacent columns of an n8 tile (2 * t4 and 2 * t4 + 1), which a store writes
   * as one vector.
   */
  ownedPairs(shape: number[], line: (s: string) => void, enter: () => void, leave: () => void, body: (first: Site, second: Site) => void): void {
    if (!(shape.length === 2 && shape[1] > 1)) throw new Error(`internal: column pairs of a tile of shape [${shape.join(", ")}]`);
    this.loops(shape, false, line, enter, leave, (at) => body(at("0"), at("1")));
  }
  /** The unrolled loops over a thread's fragment (down to p when withP), body given the site at a p. */
  private loops(shape: number[], withP: boolean, line: (s: string) => void, enter: () => void, leave: () => void, body: (at: (p: string) => Site) => void): void {
    const loops: string[] = [];
    if (shape[0] > 1) loops.push(`for (int mt = 0; mt < ${this.s.MT}; ++mt)`, "for (int h = 0; h < 2; ++h)");
    if (shape[1] > 1) loops.push(`for (int nt = 0; nt < ${this.nt(shape)}; ++nt)`, ...(withP ? ["for (int p = 0; p < 2; ++p)"] : []));
    for (const l of loops) {
      line(UNROLL);
      line(`${l} {`);
      enter();
    }
    body((p) => {
      const s = this.site(shape[0] > 1 ? "mt" : "0", shape[0] > 1 ? "h" : "0", shape[1] > 1 ? "nt" : "0", p, this.split(shape));
      return { ...s, row: shape[0] > 1 ? s.row : "0", col: shape[1] > 1 ? s.col : "0" };
    });
    for (let i = 0; i < loops.length; i++) {
      leave();
      line("}");
    }
  }
  rowCombine(v: string, combine: (a: string, b: string) => string): string[] {
    // The four lanes of a quad hold one row's columns (split tiles are never reduced: plan.ts).
    return [`${v} = ${combine(v, `__shfl_xor_sync(0xffffffffu, ${v}, 1)`)};`, `${v} = ${combine(v, `__shfl_xor_sync(0xffffffffu, ${v}, 2)`)};`];
  }
  reduceSites(_rows: number[], cols: number[]) {
    return {
      outer: [`for (int mt = 0; mt < ${this.s.MT}; ++mt)`, "for (int h = 0; h < 2; ++h)"],
      inner: cols[1] > 1 ? [`for (int nt = 0; nt < ${this.nt(cols)}; ++nt)`, "for (int p = 0; p < 2; ++p)"] : [],
      site: () => this.site("mt", "h", cols[1] > 1 ? "nt" : "0", cols[1] > 1 ? "p" : "0"),
      outIndex: "mt * 2 + h",
      ordinal: "nt * 2 + p",
      count: cols[1] > 1 ? this.nt(cols) * 2 : 1,
    };
  }
  storeGuard(shape: number[]): string | undefined {
    const rowBcast = shape.length === 0 || shape[0] === 1;
    const colBcast = shape.length === 0 || shape[1] === 1;
    // Column groups hold identical copies of every tile they do not split: one group stores.
    const conds = this.s.WC > 1 && !this.split(shape) ? ["wcol == 0"] : [];
    if (rowBcast && colBcast) return "tid == 0";
    if (rowBcast) conds.push("warp == 0", "g == 0");
    else if (colBcast) conds.push("t4 == 0");
    return conds.length ? conds.join(" && ") : undefined;
  }
}

export class BlockedLayout implements ThreadLayout {
  readonly threads: number;
  constructor(readonly s: BlockedShape) {
    this.threads = s.threads;
  }
  private per(shape: number[]): [number, number] {
    return [shape[0] > 1 ? shape[0] / this.s.TR : 1, shape[1] > 1 ? shape[1] / this.s.TC : 1];
  }
  registers(shape: number[]): number {
    const [r, c] = this.per(shape);
    return r * c;
  }
  private site(i: string, j: string): Site {
    return {
      row: `(tr + ${this.s.TR} * ${i})`,
      col: `(tc + ${this.s.TC} * ${j})`,
      slot: (shape: number[]) => {
        const r = shape.length === 2 && shape[0] > 1;
        const c = shape.length === 2 && shape[1] > 1;
        const cpt = c ? shape[1] / this.s.TC : 1;
        if (r && c) return `${i} * ${cpt} + ${j}`;
        if (r) return i;
        if (c) return j;
        return "0";
      },
    };
  }
  owned(shape: number[], line: (s: string) => void, enter: () => void, leave: () => void, body: (site: Site) => void): void {
    const [rpt, cpt] = this.per(shape);
    const loops: string[] = [];
    if (shape[0] > 1) loops.push(`for (int i = 0; i < ${rpt}; ++i)`);
    if (shape[1] > 1) loops.push(`for (int j = 0; j < ${cpt}; ++j)`);
    for (const l of loops) {
      line(UNROLL);
      line(`${l} {`);
      enter();
    }
    const s = this.site(shape[0] > 1 ? "i" : "0", shape[1] > 1 ? "j" : "0");
    body({ ...s, row: shape[0] > 1 ? s.row : "0", col: shape[1] > 1 ? s.col : "0" });
    for (let k = 0; k < loops.length; k++) {
      leave();
      line("}");
    }
  }
  rowCombine(v: string, combine: (a: string, b: string) => string): string[] {
    const out: string[] = [];
    for (let o = this.s.TC / 2; o >= 1; o /= 2) out.push(`${v} = ${combine(v, `__shfl_xor_sync(0xffffffffu, ${v}, ${o})`)};`);
    return out;
  }
  reduceSites(rows: number[], cols: number[]) {
    const [rpt] = this.per(rows);
    const [, cpt] = this.per(cols);
    return {
      outer: rows[0] > 1 ? [`for (int i = 0; i < ${rpt}; ++i)`] : [],
      inner: cols[1] > 1 ? [`for (int j = 0; j < ${cpt}; ++j)`] : [],
      site: () => this.site(rows[0] > 1 ? "i" : "0", cols[1] > 1 ? "j" : "0"),
      outIndex: rows[0] > 1 ? "i" : "0",
      ordinal: "j",
      count: cols[1] > 1 ? cpt : 1,
    };
  }
  storeGuard(shape: number[]): string | undefined {
    const rowBcast = shape.length === 0 || shape[0] === 1;
    const colBcast = shape.length === 0 || shape[1] === 1;
    if (rowBcast && colBcast) return "tid == 0";
    if (rowBcast) return "tr == 0";
    if (colBcast) return "tc == 0";
    return undefined;
  }
}
