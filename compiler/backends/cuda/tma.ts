// Tile copies by Hopper's Tensor Memory Accelerator. A leader loop's other groups copy each next
// tile with 16-byte cp.async: at 64 keys of MLA's 576-wide latent rows, 36 copies a thread, each
// with its address arithmetic. Where the tile's rows come from whole pages of at least 16 rows
// (a paged gather whose page holds a run of the tile's rows: `page_table[b, (U + r) / P] * P +
// (U + r) % P` with U a multiple of P, or every row in one page), each page's rows of each
// 64-column block are one TMA box: one instruction copies them, swizzled as wgmma reads them, and
// their bytes complete an mbarrier the tile's readers wait on. Lane j of the team's first warp
// issues page j's boxes. The build keeps its cp.async copies for other architectures (#else).
//
// Measured on an H200 (docs/performance-history.md, MLA, bench/experiments/mla_tma_variant.py): the
// leader loop 11-12% faster at page 64 and 3% at page 16; one-row boxes (page 1) were 6x slower,
// hence the floor of 16 rows a box.
//
// The box's place in the tensor comes from the load's own indices: the tensor seen as [rows,
// last dim] (the runtime encodes that view, runtime/backends/cuda/tensor-map.ts), the row of the
// page's first row from the leading indices, the column from the last.
import type { TensorMapSpec } from "../../../runtime/manifest.ts";
import type { ForInst, Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";
import type { CopyHost, CopyTeam } from "./copy-emit.ts";
import { elem, position } from "./elements.ts";
import { hopperOnly, hopperOnlyLines, hopperOnlyText } from "./hopper-only.ts";
import type { CudaPlan } from "./plan.ts";
import type { Prefetch } from "./prefetch.ts";
import { type Page, constant, inlineLoads, pageOf } from "./row-reads.ts";

/** Fewer rows a box than this and cp.async is faster (one-row boxes: 6x slower on an H200). */
export const MIN_BOX_ROWS = 16;

/** A prefetched tile TMA copies: rows a box (a page's run of its rows); boxes are 64 columns wide. */
export interface TmaTile {
  p: Prefetch;
  rows: number;
  /** The kernel parameter holding its tensor's map (one per tensor and box). */
  map: string;
}

/**
 * The tiles one loop copies with TMA: issued together (each page's table entry read once for
 * all of them) onto one mbarrier a buffer, whose bytes are all of theirs.
 */
export interface TmaCopy {
  tiles: TmaTile[];
  /** Byte offset in shared memory of its two mbarriers (one a buffer). */
  bars: number;
}

type Load = Extract<Value["op"], { kind: "load" }>;

/**
 * Can tile v's columns be TMA boxes: an unpredicated 16-bit load into a swizzled tile whose
 * columns are a run of whole 64-column (128-byte) blocks, as the swizzled tile stores them, of a
 * tensor whose rows are a multiple of 16 bytes? `predicated`: a load with a predicate too (the
 * warp-specialized producer boxes only its tiles the predicate holds for throughout).
 */
export function boxColumns(plan: CudaPlan, v: Value, predicated = false): boolean {
  if (v.op.kind !== "load" || (v.op.pred && !predicated) || !plan.swizzled.has(v) || bytesOfName(v.type.dtype) !== 2) return false;
  const op = v.op as Load;
  const cols = op.indices[op.indices.length - 1];
  if (cols.op.kind !== "iota" || cols.op.axis !== 1 || v.type.shape[1] % 64 !== 0) return false;
  const c0 = constant(cols.op.start);
  if (c0 === undefined || c0 % 64 !== 0) return false;
  const last = op.tensor.shape[op.tensor.shape.length - 1];
  return typeof last === "number" && (last * 2) % 16 === 0;
}

/**
 * Is v the E4M3 copy of a staged widening (plan.staged) in a wgmma plan, which every thread
 * widens from shared memory and nothing else reads: its rows are stored dense, without the 16
 * bytes of padding that ldmatrix needs (the widening reads 16 bytes a thread, a quarter warp a
 * whole 128-byte row), so that a TMA box without swizzle can write them?
 */
export function denseStaged(plan: CudaPlan, v: Value): boolean {
  if (!plan.wgmma.size || v.type.dtype !== "f8e4m3") return false;
  for (const [w, raw] of plan.staged) if (raw === v && !plan.rawKeys.has(w) && !plan.rawValues.has(w)) return true;
  return false;
}

/**
 * Can staged E4M3 tile v be copied as one box a row run, its columns whole: an unpredicated load
 * of a run of columns from a multiple of 16 bytes, at most 256 (TMA's limit on a box's columns),
 * into dense rows (denseStaged)?
 */
export function stagedBox(plan: CudaPlan, v: Value): boolean {
  if (v.op.kind !== "load" || v.op.pred || !denseStaged(plan, v)) return false;
  const op = v.op as Load;
  const cols = op.indices[op.indices.length - 1];
  const C = v.type.shape[1];
  if (cols.op.kind !== "iota" || cols.op.axis !== 1 || C % 16 !== 0 || C > 256) return false;
  const c0 = constant(cols.op.start);
  const last = op.tensor.shape[op.tensor.shape.length - 1];
  return c0 !== undefined && c0 % 16 === 0 && typeof last === "number" && last % 16 === 0;
}

/**
 * The rows a TMA box of tile v can take where v's rows come from whole pages of at least
 * MIN_BOX_ROWS rows (a page's run of them), or undefined (then cp.async). `predicated`: v may
 * have a predicate, and its page-table read the same one (a warp-specialized producer issues
 * boxes only where it holds for the tile's every row).
 */
export function pageBoxRows(plan: CudaPlan, v: Value, predicated = false): number | undefined {
  if (!boxColumns(plan, v, predicated) && !stagedBox(plan, v)) return undefined;
  const op = v.op as Load;
  const R = v.type.shape[0];
  // The rows: the one row-dependent index reads a page table; whole pages of the tile, or all in one.
  const varying = op.indices.slice(0, -1).filter((x) => x.type.shape.length > 0 && plan.layout.get(x) !== "uniform");
  if (varying.length !== 1) return undefined;
  for (const L of inlineLoads(plan, [varying[0]])) {
    // A predicated tile's table read may share its predicate: where a box is issued it holds.
    const page = pageOf(plan, L, 1, R, predicated ? op.pred : undefined);
    if (!page || !pageRun(varying[0], L, page)) continue;
    const rows = page.within === "one" ? R : page.P;
    if (rows >= MIN_BOX_ROWS && rows <= 256 && rows % 8 === 0 && R % rows === 0) return rows;
  }
  return undefined;
}

/**
 * Is the row index `entry * P + pos % P` (entry: the page-table load L, pos: the tile's row
 * positions), so that a page's rows of the tile are consecutive rows of the tensor, as a box
 * copies them?
 */
function pageRun(index: Value, L: Value, page: Page): boolean {
  const binary = (x: Value, op: string) => (x.op.kind === "binary" && x.op.op === op ? x.op : undefined);
  const times = (x: Value) => {
    const m = binary(x, "mul");
    return !!m && ((m.a === L && constant(m.b) === page.P) || (m.b === L && constant(m.a) === page.P));
  };
  const rem = (x: Value) => {
    const r = binary(x, "rem");
    return !!r && r.a === page.pos && constant(r.b) === page.P;
  };
  const add = binary(index, "add");
  return !!add && ((times(add.a) && rem(add.b)) || (times(add.b) && rem(add.a)));
}

/**
 * The prefetched tiles of leader loops that TMA copies, one group a loop, their mbarriers from
 * byte `at` of shared memory (16 bytes a group), and the manifest's tensor maps.
 */
export function tmaCopies(prefetch: Prefetch[], leaderLoops: Set<ForInst>, plan: CudaPlan, at: number): { copies: TmaCopy[]; maps: TensorMapSpec[] } {
  const byLoop = new Map<ForInst, TmaTile[]>();
  const maps: TensorMapSpec[] = [];
  for (const p of prefetch) {
    if (!leaderLoops.has(p.loop) || p.stages !== 2 || !boxColumns(plan, p.v)) continue;
    const rows = pageBoxRows(plan, p.v);
    if (rows === undefined) continue;
    const tensor = (p.v.op as Load).tensor.name;
    let m = maps.findIndex((x) => x.tensor === tensor && x.box[1] === rows);
    if (m < 0) m = maps.push({ tensor, box: [64, rows], swizzle: 128 }) - 1;
    byLoop.set(p.loop, [...(byLoop.get(p.loop) ?? []), { p, rows, map: mapParam(maps[m], m) }]);
  }
  const copies = [...byLoop.values()].map((tiles, i) => ({ tiles, bars: at + i * 16 }));
  return { copies, maps };
}

/** The kernel parameter of tensor map i (the manifest's cuda.tensorMaps[i]). */
export const mapParam = (m: TensorMapSpec, i: number): string => `${m.tensor}_map${i ? i : ""}`;

/** The group that copies p, and whether p is its first tile (which issues them all). */
export function tmaOf(copies: TmaCopy[], p: Prefetch): { c: TmaCopy; first: boolean } | undefined {
  const c = copies.find((x) => x.tiles.some((t) => t.p === p));
  return c && { c, first: c.tiles[0].p === p };
}

/** Does TMA copy p's tile as one box a 64-column block (every row in one page)? */
export function wholeBoxes(copies: TmaCopy[], p: Prefetch): boolean {
  return tmaOf(copies, p)?.c.tiles.find((t) => t.p === p)?.rows === p.v.type.shape[0];
}

/** The kernel's mbarrier helpers (sm_90a) and the by-value map type (every architecture). */
export const TMA_HELPERS = `// A CUtensorMap as the driver encodes it (cuTensorMapEncodeTiled; the runtime passes one by value
// per tensor the kernel copies with TMA): 128 opaque bytes.
struct __align__(64) TmaMap { unsigned long long v[16]; };
${hopperOnlyText(`__device__ __forceinline__ void mbar_init(unsigned char* bar) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;\\n" :: "r"((unsigned)__cvta_generic_to_shared(bar)) : "memory");
}
// The inits, visible to the TMA unit (the async proxy) once a barrier follows.
__device__ __forceinline__ void mbar_init_fence() { asm volatile("fence.mbarrier_init.release.cluster;\\n" ::: "memory"); }
// The one arrival of a phase, which also makes it wait for \`bytes\` more bytes of TMA copies.
__device__ __forceinline__ void mbar_expect_bytes(unsigned char* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\\n" :: "r"((unsigned)__cvta_generic_to_shared(bar)), "r"(bytes) : "memory");
}
// Wait until phase \`parity\` of the mbarrier has completed. The branch is uniform (bra.uni): a
// divergent one between wgmmas makes ptxas serialize them.
__device__ __forceinline__ void mbar_wait(unsigned char* bar, int parity) {
  asm volatile("{\\n.reg .pred p;\\nWAIT_%=:\\nmbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\\n@!p bra.uni WAIT_%=;\\n}\\n"
               :: "r"((unsigned)__cvta_generic_to_shared(bar)), "r"(parity) : "memory");
}`)}`;

/** The leader loops' box copy (sm_90a), streamed through L2 as evict-first. */
export const TMA_BOX_EVICT_FIRST = hopperOnlyText(`// Box (column x, row y) of the map into shared memory at dst (swizzled by the map), its bytes
// counted on the mbarrier at bar. The box goes through L2 as evict-first: a streamed key tile is
// read by the blocks of its request at about the same time and not again, so it should not push
// out what is (on the H200, MLA split+merge at page 64 took 2-3% less time with it, page 16 up to
// 5%). The policy comes from createpolicy, which has no inputs and is not volatile: made once.
__device__ __forceinline__ void tma_box(unsigned char* dst, const TmaMap* map, int x, int y, unsigned char* bar) {
  uint64_t policy;
  asm("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\\n" : "=l"(policy));
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1, {%2, %3}], [%4], %5;\\n"
               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(x), "r"(y), "r"((unsigned)__cvta_generic_to_shared(bar)), "l"(policy) : "memory");
}`);

/** Kernel start: thread 0 initializes every mbarrier (the loops' first barrier orders it before any use). */
export function initBars(copies: TmaCopy[]): string[] {
  if (!copies.length) return [];
  return hopperOnlyLines([
    `if (tid == 0) { // the mbarriers of the tiles TMA copies (${copies.length * 2}), one a buffer`,
    "  #pragma unroll",
    `  for (int i = 0; i < ${copies.length * 2}; ++i) mbar_init(smem + ${copies[0].bars} + i * 8);`,
    "  mbar_init_fence();",
    "}",
  ]);
}

const bar = (c: TmaCopy, index: string) => `smem + ${c.bars} + ((${index}) & 1) * 8`;

/**
 * Group c's tiles for loop index `index` (their buffers picked by `region`), as boxes issued by
 * the team's first warp; the mbarrier of that buffer is armed with all their bytes first.
 */
export function emitBoxes(em: CopyHost, c: TmaCopy, region: (v: Value) => Region, index: string, team: CopyTeam): void {
  const bytes = c.tiles.reduce((n, t) => n + t.p.v.type.shape[0] * t.p.v.type.shape[1] * 2, 0);
  em.line(`// ${c.tiles.map((t) => em.name(t.p.v)).join(", ")} by TMA: lane j of the copying team's first warp issues page j's boxes`);
  em.line(`if ((unsigned)${team.tid} < 32u) {`);
  em.enter();
  em.line(`if (lane == 0) mbar_expect_bytes(${bar(c, index)}, ${bytes});`);
  em.line("__syncwarp();");
  for (const t of c.tiles) {
    const v = t.p.v;
    const op = v.op as Load;
    const [R, C] = v.type.shape;
    const pages = R / t.rows;
    const W = op.tensor.shape[op.tensor.shape.length - 1] as number;
    em.line(`// ${em.name(v)}: ${R} x ${C}, ${pages} page(s) x ${C / 64} box(es) of ${t.rows} rows x 64 columns`);
    eachPageLane(em, pages, (j) => {
      // The box's corner: the page's first row at the tile's first column, in the [rows, last
      // dim] view (each leading index times its stride in rows; no 64-bit division).
      const idx = op.indices.map((x) => elem(em, x, position(`(${j} * ${t.rows})`, "0")));
      const col = idx.pop()!;
      const row = idx.map((ix, d) => `(long long)(${ix}) * (${op.tensor.name}_s${d} / ${W})`).join(" + ");
      em.line(`const int x = ${col}, y = (int)(${row});`);
      for (let b = 0; b < C / 64; b++)
        em.line(`tma_box(smem + ${em.at(v, region(v), `(${j} * ${t.rows})`, `${b * 64}`)}, &${t.map}, x + ${b * 64}, y, ${bar(c, index)});`);
    });
  }
  em.leave();
  em.line("}");
}

/** `body(j)` for page j of `pages` in lane j of a warp (lane + 32k past the first 32), under `if (j < pages)`. */
export function eachPageLane(em: Pick<CopyHost, "line" | "enter" | "leave">, pages: number, body: (j: string) => void): void {
  for (let k = 0; k * 32 < pages; k++) {
    const j = k ? `(lane + ${32 * k})` : "lane";
    em.line(`if (${j} < ${pages}) {`);
    em.enter();
    body(j);
    em.leave();
    em.line("}");
  }
}

/** At a leader tile's top: tile `iv`'s boxes landed, where TMA copies p (the loop's first tile came by cp.async before it). */
export function emitBoxWait(em: Pick<CopyHost, "line" | "name">, copies: TmaCopy[], p: Prefetch, iv: string, lo: string): void {
  const box = tmaOf(copies, p);
  if (!box?.first) return;
  const names = box.c.tiles.map((t) => em.name(t.p.v)).join(", ");
  hopperOnly(em, () => em.line(`if (${iv} > ${lo}) mbar_wait(${bar(box.c, iv)}, ((${iv} - ${lo} - 1) >> 1) & 1); // the boxes of ${names} for tile ${iv} landed`));
}

/**
 * The scalars the copy of p (for the next index) reads: a TMA group's first tile issues every
 * tile of its group, so theirs too.
 */
export function copyDeps(copies: TmaCopy[], p: Prefetch, team: CopyTeam | undefined): Value[] {
  const box = team ? tmaOf(copies, p) : undefined;
  return box?.first ? [...new Set(box.c.tiles.flatMap((t) => t.p.deps))] : p.deps;
}

/**
 * The copy of p by `team`: where TMA copies it, the group's boxes on sm_90a (from its first tile;
 * the others' are issued with them) and `cpAsync` for other architectures; elsewhere `cpAsync`.
 */
export function emitTileCopy(em: CopyHost, copies: TmaCopy[], p: Prefetch, region: (v: Value) => Region, index: string, team: CopyTeam | undefined, cpAsync: () => void): void {
  const box = team ? tmaOf(copies, p) : undefined;
  if (!box || !team) return cpAsync();
  hopperOnly(
    em,
    () => {
      if (box.first) emitBoxes(em, box.c, region, index, team);
      else em.line(`// ${em.name(p.v)}: issued with ${em.name(box.c.tiles[0].p.v)}'s boxes`);
    },
    cpAsync,
  );
}
