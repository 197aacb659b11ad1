// Whole tiles of one-buffer loops copied by Hopper's Tensor Memory Accelerator. Outside the
// leader schedule (tma.ts) a loop's K and V tiles are copied by every thread with 16-byte
// cp.async: at 64 keys of head dim 128, 8 copies a thread and tile for each, each with its
// address and predicate. Where the loop runs whole tiles (no predicate) and a tile's rows are
// rows of its tensor's first dim, every other leading index the same for the whole tile, it is
// copied as 64-column TMA boxes onto an mbarrier of its own: all its rows in one box each when
// they are consecutive (`k[k0 + kr, h, :]`; thread 0 issues them), or one box a page where they
// come from whole pages of at least 16 rows (`k_cache[page_table[b, kr / P] * P + kr % P, h, :]`,
// as tma.ts reads them; lane j of the first warp issues page j's). Every thread waits on the
// mbarrier where it waited for the cp.async group, so the order of copies, waits and barriers is
// unchanged. The tensor's map sees it as [first dim, the others as one] (`rowDims`): the box's
// corner is (h x head_dim + c, the row). Other architectures keep cp.async (#else).
//
// The E4M3 bytes of an fp8 cache's tile that every thread widens from shared memory (plan.staged)
// stream the same way, one box of all the tile's columns a row run, into dense rows (tma.ts,
// stagedBox: no swizzle; the widening reads them 16 bytes a thread).
//
// Measured on an H200 (docs/performance.md, bench/experiments/prefill_tma_variant.py):
// mha_prefill at head dim 128 17-23% faster at every length, causal and not. Nsight Compute
// before: 577 instructions a warp and 64-key tile against cuDNN's 296.
//
// The mbarrier completes once a copy; a loop copies its tile once an iteration (and the first
// iteration's before the loop), so the wait of iteration i is for parity (i - lo) & 1. Only
// loops that run once a launch (not inside another loop) qualify, so the count starts at zero.
import type { TensorMapSpec } from "../../../runtime/manifest.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";
import type { Block, ForInst, Inst, Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import type { CopyHost } from "./copy-emit.ts";
import { elem, position } from "./elements.ts";
import { hopperOnly, hopperOnlyLines, hopperOnlyText } from "./hopper-only.ts";
import type { CudaPlan } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";
import { uniform } from "./row-reads.ts";
import { boxColumns, eachPageLane, mapParam, pageBoxRows, stagedBox } from "./tma.ts";

/** A tile one loop copies with TMA, one buffer, once an iteration. */
export interface TmaStream {
  v: Value;
  loop: ForInst;
  /** The kernel parameter of its tensor's map. */
  map: string;
  /** Byte offset in shared memory of its mbarrier. */
  bar: number;
  /** Rows a box: all the tile's (consecutive rows), or a page's. */
  rows: number;
  paged: boolean;
  /** Columns a box: 64 (a swizzled 16-bit tile's 128-byte blocks) or all (a staged E4M3 tile's dense rows). */
  cols: number;
  /** Bytes an element. */
  bytes: number;
  /** A staged E4M3 tile landed 128-byte swizzled, for FP8 wgmma to read (split-scores.ts), not in dense rows. */
  swizzled?: boolean;
  /** No box at all: a warp-specialized producer gathers its rows by cp.async (warp-specialize.ts). */
  gathered?: boolean;
}

type Load = Extract<Value["op"], { kind: "load" }>;

/** Is x the tile's row positions plus something the same for every row (`k0 + rows(n, BN)`)? */
export function rowRun(plan: CudaPlan, x: Value): boolean {
  if (x.op.kind === "iota") return x.op.axis === 0 && uniform(plan, x.op.start);
  if (x.op.kind !== "binary" || x.op.op !== "add") return false;
  const { a, b } = x.op;
  return (uniform(plan, a) && rowRun(plan, b)) || (uniform(plan, b) && rowRun(plan, a));
}

/**
 * Are tile v's rows consecutive rows of its tensor's first dim, every other leading index the same
 * for the whole tile (`k[k0 + kr, h, :]`): one box of all its rows a 64-column block?
 */
export function contiguousRows(plan: CudaPlan, v: Value): boolean {
  const op = v.op as Load;
  const R = v.type.shape[0];
  if (v.op.kind !== "load" || R > 256 || R % 8 !== 0 || op.indices.length < 2) return false;
  return op.indices.slice(1, -1).every((x) => uniform(plan, x)) && rowRun(plan, op.indices[0]);
}

/**
 * How TMA can copy tile v: boxes of all its rows (consecutive rows of its tensor's first dim) or
 * of a page's (rows from whole pages); undefined where it cannot (then cp.async).
 */
function streamable(plan: CudaPlan, v: Value): Pick<TmaStream, "rows" | "paged" | "cols" | "bytes"> | undefined {
  const cols = boxColumns(plan, v) ? 64 : stagedBox(plan, v) ? v.type.shape[1] : 0;
  if (!cols) return undefined;
  const op = v.op as Load;
  const R = v.type.shape[0];
  if (R > 256 || R % 8 !== 0 || op.indices.length < 2) return undefined;
  // The rows along the first dim alone: the map's rows.
  if (!op.indices.slice(1, -1).every((x) => uniform(plan, x))) return undefined;
  const bytes = bytesOfName(v.type.dtype);
  if (contiguousRows(plan, v)) return { rows: R, paged: false, cols, bytes };
  const rows = pageBoxRows(plan, v);
  return rows === undefined ? undefined : { rows, paged: true, cols, bytes };
}

/** The loops of `body` that run once a launch (inside no other loop). */
function outerLoops(body: Block): ForInst[] {
  const out: ForInst[] = [];
  const visit = (b: Block) => {
    for (const inst of b.insts) {
      if (inst.kind === "for") out.push(inst);
      else if (inst.kind === "if") {
        visit(inst.then);
        visit(inst.else);
      }
    }
  };
  visit(body);
  return out;
}

/**
 * The tiles TMA copies in the one-buffer loops over whole tiles (not `skip`: leader and rotated
 * loops copy their own way): each loop's prefetched tiles and the tiles it issues early in its
 * body. Their mbarriers from byte `at` (8 bytes each); their tensor maps appended to `maps`.
 */
export function tmaStreams(body: Block, prefetch: Prefetch[], issueBefore: Map<Inst, Value[]>, skip: Set<ForInst>, plan: CudaPlan, maps: TensorMapSpec[], at: number): TmaStream[] {
  const out: TmaStream[] = [];
  for (const f of outerLoops(body)) {
    if (f.status !== "full" || skip.has(f)) continue;
    const early = f.body.insts.flatMap((i) => issueBefore.get(i) ?? []);
    const tiles = [...prefetch.filter((p) => p.loop === f && p.stages === 1).map((p) => p.v), ...early];
    for (const v of tiles) {
      const how = streamable(plan, v);
      if (!how) continue;
      const op = v.op as Load;
      // A swizzled 16-bit tile's boxes are swizzled as wgmma reads them; a staged E4M3 tile's rows are dense.
      const spec: TensorMapSpec = { tensor: op.tensor.name, box: [how.cols, how.rows], swizzle: how.cols === 64 && how.bytes === 2 ? 128 : 0, rowDims: op.tensor.shape.length - 1 };
      let m = maps.findIndex((x) => x.tensor === spec.tensor && x.box[0] === spec.box[0] && x.box[1] === spec.box[1] && x.swizzle === spec.swizzle && (x.rowDims ?? 1) === spec.rowDims);
      if (m < 0) m = maps.push(spec) - 1;
      out.push({ v, loop: f, map: mapParam(maps[m], m), bar: at + out.length * 8, ...how });
    }
  }
  return out;
}

/**
 * Kernel start: thread 0 initializes the streams' mbarriers and `extra` ones (a second buffer's,
 * overlap.ts); the loops' first barrier orders it before any use.
 */
export function initStreamBars(streams: TmaStream[], extra: number[] = []): string[] {
  if (!streams.length) return [];
  const bars = [...streams.map((s) => s.bar), ...extra];
  return hopperOnlyLines([
    `if (tid == 0) { // the mbarriers of the tiles TMA copies (${bars.length}), one a ${extra.length ? "buffer" : "tile"}`,
    ...bars.map((b) => `  mbar_init(smem + ${b});`),
    "  mbar_init_fence();",
    "}",
  ]);
}

/** A box without an L2 hint: these K and V tiles are read again by the other row blocks of their head. */
export const TMA_STREAM_HELPER = hopperOnlyText(`// Box (column x, row y) of the map into shared memory at dst (swizzled by the map), its bytes
// counted on the mbarrier at bar; no L2 hint (the other row blocks of a head read it too).
__device__ __forceinline__ void tma_box_reused(unsigned char* dst, const TmaMap* map, int x, int y, unsigned char* bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\\n"
               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(x), "r"(y), "r"((unsigned)__cvta_generic_to_shared(bar)) : "memory");
}`);

export const streamOf = (streams: TmaStream[], v: Value): TmaStream | undefined => streams.find((s) => s.v === v);

/**
 * The copy of stream s's tile (the names of the copy's iteration already in place) on sm_90a:
 * thread 0's boxes, or lane j of the first warp's for page j; `cpAsync` for other architectures.
 */
export function emitStreamCopy(em: CopyHost, s: TmaStream, r: Region, cpAsync: () => void): void {
  const v = s.v;
  const [R, C] = v.type.shape;
  hopperOnly(
    em,
    () => {
      if (!s.paged) {
        em.line(`if (tid == 0) { // ${em.name(v)} by TMA: ${boxesOf(s, R)}`);
        em.enter();
        em.line(`mbar_expect_bytes(smem + ${s.bar}, ${R * C * s.bytes});`);
        boxes(em, s, r, "0");
      } else {
        em.line(`if (tid < 32) { // ${em.name(v)} by TMA: lane j issues page j's boxes (${boxesOf(s, s.rows, R / s.rows)})`);
        em.enter();
        em.line(`if (lane == 0) mbar_expect_bytes(smem + ${s.bar}, ${R * C * s.bytes});`);
        em.line("__syncwarp();");
        eachPageLane(em, R / s.rows, (j) => boxes(em, s, r, `(${j} * ${s.rows})`));
      }
      em.leave();
      em.line("}");
    },
    cpAsync,
  );
}

/**
 * The boxes of tile row `row` (a box's first): its corner in the [first dim, the others] view,
 * then one box a 64-column block, onto the mbarrier at byte `bar`; with `on`, each box issued
 * where that predicate holds (predicated, not branched on: overlap-emit.ts).
 */
export function boxes(em: CopyHost, s: TmaStream, r: Region, row: string, bar: number | string = s.bar, on?: string): void {
  const v = s.v;
  const op = v.op as Load;
  const idx = op.indices.map((x) => elem(em, x, position(row, "0")));
  const col = idx.pop()!;
  const y = idx.shift()!;
  const x = [...idx.map((ix, d) => `(long long)(${ix}) * ${op.tensor.name}_s${d + 1}`), col].join(" + ");
  // With `on`, a row from a page table is read only where the copy is issued.
  em.line(`const int x = (int)(${x}), y = ${on && s.paged ? `${on} ? ${y} : 0` : y};`);
  for (let b = 0; b < v.type.shape[1] / s.cols; b++) {
    const args = `smem + ${em.at(v, r, row, `${b * s.cols}`)}, &${s.map}, x + ${b * s.cols}, y, smem + ${bar}`;
    em.line(on ? `tma_box_if(${on}, ${args});` : `tma_box_reused(${args});`);
  }
}

/** What a copy of stream s issues, for a comment: its boxes of `rows` rows (`pages` page(s) of them). */
export function boxesOf(s: TmaStream, rows: number, pages?: number): string {
  const each = `${s.v.type.shape[1] / s.cols} box(es) of ${rows} rows x ${s.cols} columns${s.bytes === 1 ? (s.swizzled ? " (E4M3 bytes, 128-byte swizzled)" : " (E4M3 bytes, dense rows)") : ""}`;
  return pages === undefined ? each : `${pages} page(s) x ${each}`;
}

/** Wait for stream s's copy: its `parity`'s completion ((i - lo) & 1 in iteration i, 0 before the loop). */
export function emitStreamWait(em: Pick<CopyHost, "line" | "name">, s: TmaStream, parity: string): void {
  hopperOnly(em, () => em.line(`mbar_wait(smem + ${s.bar}, ${parity}); // ${em.name(s.v)}'s boxes landed`));
}
