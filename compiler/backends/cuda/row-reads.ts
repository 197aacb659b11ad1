// Reads a thread's copied rows share. A batched tile copy (copy-emit.ts) gives each thread rows
// r0 + i * step (r0 < step) of a tile whose first row U is a multiple of some K; a gather's row
// address that reads, per row, a table entry indexed by (U + row) / P (a paged cache's page
// table) then reads the same entry for every row of the thread in one page. Here each distinct
// entry is read once and the rows pick theirs by a constant index:
// - K % P == 0 and P % step == 0: rows i * step / P apart share one entry (R / P reads);
// - P % K == 0 and the tile's R rows fit in K: every row is in one page (one read).
// Measured on MLA at page 16 (8 rows a thread, 2 pages): 5% off the split kernel on an H200
// (docs/performance-history.md). The division's meaning is C's, so this holds for rows >= 0, the
// only ones whose entry exists.
// The same facts give the row's place in its page, (U + row) % P, without a remainder a row:
// r0 + (i * step) % P in the first case (U % P == 0, a constant a row once unrolled), U % P + row
// in the second (the rows do not cross the page's end). A row's address is then the thread's
// page base plus a constant, which ptxas folds into the copy: at page 64 the split kernel ran 835
// instructions a warp per tile against 734 at page 1, most of the difference the per-row
// remainders and 64-bit multiplies (Nsight Compute, docs/performance-history.md).
import type { Value } from "../../ir/ir.ts";
import { operands } from "../../ir/ir.ts";
import { type ElementContext, elem, position } from "./elements.ts";
import type { CudaPlan } from "./plan.ts";
import { regType } from "./syntax.ts";

export interface RowReads {
  /** Declarations and reads, before the rows' address loop. */
  lines: string[];
  /** The row loop's context: each shared read as the entry its row picks (`i` is the row loop's index). */
  ctx: ElementContext;
}

/** v's value when it is a numeric constant. */
export const constant = (v: Value): number | undefined => (v.op.kind === "const" && typeof v.op.value === "number" ? v.op.value : undefined);
const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : Math.abs(a));

/** A number v's value is always a multiple of (1 when nothing is known). */
function multipleOf(v: Value): number {
  const c = constant(v);
  if (c !== undefined) return Math.abs(c) || 0;
  if (v.op.kind !== "binary") return 1;
  if (v.op.op === "mul") return multipleOf(v.op.a) * multipleOf(v.op.b);
  if (v.op.op === "add" || v.op.op === "sub") return gcd(multipleOf(v.op.a), multipleOf(v.op.b));
  return 1;
}

/** Is v the same for every element of the tile (a scalar, or a value of the uniform layout)? */
export const uniform = (plan: CudaPlan, v: Value) => v.type.shape.length === 0 || plan.layout.get(v) === "uniform";

/** The values `roots`' element expressions compute inline (through other such values) that `pick` accepts, each once. */
function inlineValues(plan: CudaPlan, roots: Value[], pick: (v: Value) => boolean): Value[] {
  const out = new Set<Value>();
  const walk = (v: Value) => {
    if (plan.layout.get(v) !== "expr") return;
    if (pick(v)) out.add(v);
    operands(v.op).forEach(walk);
  };
  roots.forEach(walk);
  return [...out];
}

/** The loads inside `roots`' element expressions (through values computed inline), each once. */
export const inlineLoads = (plan: CudaPlan, roots: Value[]): Value[] => inlineValues(plan, roots, (v) => v.op.kind === "load");

export interface Page {
  P: number;
  /** The row position U + row (an iota over the tile's rows) and its start U. */
  pos: Value;
  start: Value;
  /** "aligned": U % P == 0 and P % step == 0; "one": every row of the tile in one page. */
  within: "aligned" | "one";
}

/**
 * The page of `load` when its one row-dependent index is (U + row) / P, U a multiple of K, and
 * rows r0 + i * step of R share entries; a predicated load only where its predicate is `pred`.
 */
export function pageOf(plan: CudaPlan, load: Value, step: number, R: number, pred?: Value): Page | undefined {
  const op = load.op as Extract<Value["op"], { kind: "load" }>;
  if (op.pred && op.pred !== pred) return undefined;
  const varying = op.indices.filter((x) => !uniform(plan, x));
  if (varying.length !== 1) return undefined;
  const d = varying[0].op;
  if (d.kind !== "binary" || d.op !== "div" || d.a.op.kind !== "iota" || d.a.op.axis !== 0 || !uniform(plan, d.a.op.start)) return undefined;
  const P = constant(d.b);
  if (!P || P < 1 || !Number.isInteger(P)) return undefined;
  const K = multipleOf(d.a.op.start);
  if (K % P === 0 && P % step === 0 && R / P < R / step) return { P, pos: d.a, start: d.a.op.start, within: "aligned" };
  if (K > 0 && P % K === 0 && R <= K) return { P, pos: d.a, start: d.a.op.start, within: "one" };
  return undefined;
}

/**
 * Does every table read in a copied row's address take an entry of its own (an index that is the
 * tile's row position itself, a paged cache of one-row pages), so that no batching of rows
 * sharing an entry (rowReads) applies and each row's copy waits on a read of its own?
 */
export function ownEntries(plan: CudaPlan, roots: Value[]): boolean {
  const loads = inlineLoads(plan, roots);
  return (
    loads.length > 0 &&
    loads.every((L) => {
      const varying = (L.op as Extract<Value["op"], { kind: "load" }>).indices.filter((x) => !uniform(plan, x));
      return varying.length === 1 && varying[0].op.kind === "iota" && varying[0].op.axis === 0;
    })
  );
}

/** The remainders pos % P inside `roots`' element expressions (through values computed inline). */
const remainders = (plan: CudaPlan, roots: Value[], pos: Value, P: number): Value[] =>
  inlineValues(plan, roots, (v) => v.op.kind === "binary" && v.op.op === "rem" && v.op.a === pos && constant(v.op.b) === P);

/** The shared reads of a batched copy's row addresses (`roots`: the load's indices and predicate), or none. */
export function rowReads(ctx: ElementContext, roots: Value[], chunks: number, step: number, R: number, tid = "tid"): RowReads | undefined {
  const lines: string[] = [];
  const bound = new Map<Value, string>();
  const row = `(${tid} / ${chunks} + i * ${step})`;
  for (const L of inlineLoads(ctx.plan, roots)) {
    const page = pageOf(ctx.plan, L, step, R);
    if (page === undefined) continue;
    const { P, pos, start, within } = page;
    const place = within === "aligned" ? `(${tid} / ${chunks} + (i * ${step}) % ${P})` : `(${elem(ctx, start, position(row, "c"))} % ${P} + ${row})`;
    for (const m of remainders(ctx.plan, roots, pos, P)) bound.set(m, place);
    const reads = Math.max(1, Math.ceil(R / P));
    const n = `${ctx.name(L)}_rows`;
    lines.push(`${regType(L.type.dtype)} ${n}[${reads}]; // ${reads === 1 ? "every row of this thread in one page" : `row i's entry is ${n}[i * ${step} / ${P}]`}`);
    lines.push("#pragma unroll");
    lines.push(`for (int k = 0; k < ${reads}; ++k) ${n}[k] = ${elem(ctx, L, position(`(${tid} / ${chunks} + k * ${P})`, "c"))};`);
    bound.set(L, `${n}[(i * ${step}) / ${P}]`);
  }
  if (!bound.size) return undefined;
  return { lines, ctx: { plan: ctx.plan, name: (v) => ctx.name(v), offset: (t, i) => ctx.offset(t, i), bound } };
}
