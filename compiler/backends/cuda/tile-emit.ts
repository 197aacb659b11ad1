// The register-tile statements of the CUDA emitter that read a whole tile: row reductions
// (rowmax, rowsum: each thread's columns, then the threads sharing a row) and stores to global
// memory (each element by the one thread the layout picks for it).
import type { StoreInst, Value } from "../../ir/ir.ts";
import { broadcastShapes } from "../../ir/builder.ts";
import { type ElementContext, elem, position } from "./elements.ts";
import type { Site, ThreadLayout } from "./layouts.ts";
import { hoistRows } from "./row-hoist.ts";
import { pairStore, storedValue } from "./store-pairs.ts";
import type { Staging } from "./store-stage.ts";
import { literal, regType, toMem } from "./syntax.ts";

/** What these statements need of the kernel emitter. */
export interface TileHost extends ElementContext {
  layout: ThreadLayout;
  line(s: string): void;
  enter(): void;
  leave(): void;
  /** Loops over the thread's elements of a tile of this shape. */
  owned(shape: number[], body: (site: Site) => void): void;
  /** Records that the kernel accesses `tensor` in units of `bytes` (its address must be aligned so). */
  align(tensor: string, bytes: number): void;
  /** The stores that go through shared memory (store-stage.ts). */
  staging: ReadonlyMap<StoreInst, Staging>;
}

/**
 * Independent partial results a thread keeps of a row's max (or min) over its elements, combined
 * at the end: the dependent chain is a quarter as long (16 elements a row at 64-key tiles: 4
 * steps of FMNMX instead of 16, each waiting for the last), and the same max (NaNs aside).
 * A sum keeps one chain: four partial sums beside the max's pushed the sm_80 code of ten builds
 * past 168 registers (three blocks an SM), and the softmax's sum is left to each lane anyway
 * (lazy-sums.ts).
 */
const PARTIALS = 4;

/**
 * v = reduce(a) along a's columns, into a register tile of a's rows. `lanePart`: leave each lane
 * its own columns' part of a sum, combined later (lazy-sums.ts). `oneChain`: a max in one chain
 * (the leader schedule's loops that keep a block barrier a tile: MLA's page-1 split ran 4-5%
 * slower on the H200 with PARTIALS; those with named barriers, at page 64, 1-2% faster with them).
 */
export function emitReduce(h: TileHost, v: Value, lanePart = false, oneChain = false): void {
  if (v.op.kind !== "reduce") return;
  const src = v.op.a;
  const op = v.op.op;
  const t = regType(v.type.dtype);
  const init = op === "sum" ? literal(0, v.type.dtype) : literal(op === "max" ? -Infinity : Infinity, v.type.dtype);
  const float = t === "float";
  const combine = (a: string, b: string) => (op === "sum" ? `${a} + ${b}` : float ? `f${op}f(${a}, ${b})` : `${op}(${a}, ${b})`);
  const n = h.name(v);
  const rs = h.layout.reduceSites(v.type.shape, src.type.shape);
  h.line(`${t} ${n}[${h.layout.registers(v.type.shape)}];`);
  let parts = 1;
  while (op !== "sum" && !oneChain && parts * 2 <= PARTIALS && rs.count % (parts * 2) === 0) parts *= 2;
  unrolled(h, rs.outer, () => {
    // Each partial starts from its first element (the loops unroll, so the choice is made at
    // compile time): no fmaxf with -INFINITY first, which ptxas keeps as an instruction.
    h.line(parts > 1 ? `${t} part[${parts}];` : `${t} acc = ${init};`);
    unrolled(h, rs.inner, () => {
      const x = elem(h, src, rs.site(0));
      if (parts > 1) {
        const into = `part[(${rs.ordinal}) % ${parts}]`;
        h.line(`${into} = ${rs.ordinal} < ${parts} ? ${x} : ${combine(into, x)};`);
      } else h.line(`acc = ${combine("acc", x)};`);
    });
    if (parts > 1) {
      // A pairwise tree: part[0] with part[2] beside part[1] with part[3], then the two.
      for (let w = parts / 2; w >= 1; w /= 2) for (let i = 0; i < w; i++) h.line(`part[${i}] = ${combine(`part[${i}]`, `part[${i + w}]`)};`);
      h.line(`${t} acc = part[0];`);
    }
    if (lanePart) h.line("// this lane's columns only: the row's lanes are added after the loop (lazy-sums.ts)");
    else for (const l of h.layout.rowCombine("acc", combine)) h.line(l);
    h.line(`${n}[${rs.outIndex}] = acc;`);
  });
}

/** Row tile v, carried as each lane's part of a row sum (lazy-sums.ts), added across its row's lanes in place. */
export function emitRowCombine(h: TileHost, v: Value): void {
  const rs = h.layout.reduceSites(v.type.shape, v.type.shape);
  h.line(`// ${h.name(v)}: the parts of the row's lanes added (lazy-sums.ts)`);
  unrolled(h, rs.outer, () => {
    h.line(`float acc = ${h.name(v)}[${rs.outIndex}];`);
    for (const l of h.layout.rowCombine("acc", (a, b) => `${a} + ${b}`)) h.line(l);
    h.line(`${h.name(v)}[${rs.outIndex}] = acc;`);
  });
}

/** `body` inside these loop heads, each unrolled. */
function unrolled(h: TileHost, heads: string[], body: () => void): void {
  for (const o of heads) {
    h.line("#pragma unroll");
    h.line(`${o} {`);
    h.enter();
  }
  body();
  for (let k = 0; k < heads.length; k++) {
    h.leave();
    h.line("}");
  }
}

/** A store of a tile (or scalar) to a global tensor, predicated per element where the spec says. */
/** The tile shape a store writes: its indices' shapes broadcast together. */
export function storeShape(s: StoreInst): number[] {
  return s.indices.reduce((acc, ix) => broadcastShapes(acc, ix.type.shape) ?? acc, [] as number[]);
}

export function emitStore(h: TileHost, s: StoreInst): void {
  const full = storeShape(s);
  const t = s.tensor;
  const value = storedValue(s, (v) => h.plan.layout.get(v) === "expr" && !h.bound?.has(v));
  const pair = h.layout.ownedPairs && pairStore(s, full);
  const staging = h.staging.get(s); // only pair stores are staged (stagedStores)
  if (pair && staging && emitStaged(h, s, full, value, pair, staging)) return;
  const guard = h.layout.storeGuard(full);
  if (guard) {
    h.line(`if (${guard}) {`);
    h.enter();
  }
  // Row-only parts (a row's token and head, its reciprocal of the softmax sum) once a row.
  const ctx = hoistRows(h, [value, ...s.indices, ...(s.pred ? [s.pred] : [])], full);
  const at = (site: Site) => h.offset(t.name, s.indices.map((x) => elem(ctx, x, site)));
  const guarded = (site: Site, write: string) => h.line(s.pred ? `if (${elem(ctx, s.pred, site)}) ${write}` : write);
  if (pair) {
    // Two adjacent columns in one store (store-pairs.ts); the runtime checks the address.
    h.align(t.name, pair.align);
    h.line(`// ${t.name}: two adjacent columns a store (store-pairs.ts)`);
    h.layout.ownedPairs!(full, h.line, h.enter, h.leave, (a, b) =>
      guarded(a, `*reinterpret_cast<${pair.type}*>(${t.name} + ${at(a)}) = ${pair.pack}(${elem(ctx, value, a)}, ${elem(ctx, value, b)});`),
    );
  } else {
    const emitOne = (site: Site) => guarded(site, `${t.name}[${at(site)}] = ${toMem(t.dtype, elem(ctx, value, site))};`);
    if (full.length === 0) emitOne(position("0", "0"));
    else h.owned(full, emitOne);
  }
  if (guard) {
    h.leave();
    h.line("}");
  }
}

/**
 * Store s through shared memory (store-stage.ts): the thread's column pairs into the padded tile
 * at the pool's start, a barrier, then 16-byte chunks of whole rows by every thread, each chunk's
 * row index and predicate recomputed at its row. False (nothing emitted) where an index or the
 * predicate reads a register tile, which only its own threads hold.
 */
function emitStaged(h: TileHost, s: StoreInst, full: number[], value: Value, pair: { type: string; pack: string }, st: Staging): boolean {
  const t = s.tensor;
  const per = 16 / st.elem;
  const chunk = position("r", "c");
  // Values bound to a thread's own rows (row-reads.ts) cannot be read at another row.
  if (h.bound?.size) return false;
  let target: string;
  let pred: string | undefined;
  try {
    target = `${t.name} + ${h.offset(t.name, s.indices.map((x) => elem(h, x, chunk)))}`;
    pred = s.pred ? elem(h, s.pred, chunk) : undefined;
  } catch (e) {
    // position() refuses a register tile's element: that value is only where its threads hold it.
    if (e instanceof Error && e.message.includes("a register tile read at a position")) return false;
    throw e;
  }
  const [M] = full;
  h.align(t.name, 16);
  // Byte offsets in the staged tile: of a row's 16-byte chunk (a swizzled row's chunk c is at
  // c ^ (row & 7)), and of element (row, col).
  const rowBytes = st.ld * st.elem;
  const chunkAt = (row: string, chunk: string) => `${row} * ${rowBytes} + ((${chunk} ^ (${row} & 7)) << 4)`;
  const at = (row: string, col: string) =>
    st.swizzled ? `(${chunkAt(`(${row})`, `(((${col}) * ${st.elem}) >> 4)`)} + (((${col}) * ${st.elem}) & 15))` : `(${row} * ${st.ld} + ${col}) * ${st.elem}`;
  h.line(`// ${t.name}: staged in shared memory (${M} rows of ${st.ld}${st.swizzled ? ", 16-byte chunks swizzled by row" : ""}), then stored in 16-byte chunks of whole rows (store-stage.ts)`);
  h.line("__syncthreads(); // every warp is done with the shared tiles the staged one reuses");
  const guard = h.layout.storeGuard(full);
  if (guard) {
    h.line(`if (${guard}) {`);
    h.enter();
  }
  const ctx = hoistRows(h, [value], full);
  h.layout.ownedPairs!(full, h.line, h.enter, h.leave, (a, b) =>
    h.line(`*reinterpret_cast<${pair.type}*>(smem + ${at(a.row, a.col)}) = ${pair.pack}(${elem(ctx, value, a)}, ${elem(ctx, value, b)});`),
  );
  if (guard) {
    h.leave();
    h.line("}");
  }
  h.line("__syncthreads(); // the tile is staged");
  h.line("#pragma unroll 4");
  h.line(`for (int i = tid; i < ${M * st.chunks}; i += ${h.layout.threads}) {`);
  h.enter();
  h.line(`const int r = i / ${st.chunks}, c = (i % ${st.chunks}) * ${per};`);
  const write = `*reinterpret_cast<uint4*>(${target}) = *reinterpret_cast<const uint4*>(smem + ${st.swizzled ? chunkAt("r", `(i % ${st.chunks})`) : at("r", "c")});`;
  h.line(pred ? `if (${pred}) ${write}` : write);
  h.leave();
  h.line("}");
  return true;
}
