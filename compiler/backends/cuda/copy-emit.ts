// Tile copies into shared memory, emitted for one kernel: 16-byte cp.async chunks of a loaded
// tile (a paged gather's rows included), and the widening of a staged fp8 tile.
import type { Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { type ElementContext, elem, position } from "./elements.ts";
import type { Site } from "./layouts.ts";
import { hopperOnly } from "./hopper-only.ts";
import { toMem } from "./syntax.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";
import { inlineLoads, ownEntries, rowReads } from "./row-reads.ts";

/**
 * The threads that issue a copy: the whole block, or a team of it (a leader loop's other groups,
 * leader-emit.ts): `threads` of them, `tid` (a C expression) numbering them from 0.
 */
export interface CopyTeam {
  threads: number;
  tid: string;
}

/** What the copies need of the kernel emitter. */
export interface CopyHost extends ElementContext {
  line(s: string): void;
  enter(): void;
  leave(): void;
  /** Byte offset from smem of (row, col) of shared tile v in region r (padded or swizzled). */
  at(v: Value, r: Region, row: string, col: string): string;
  /** Records that the kernel accesses `tensor` in units of `bytes` (its address must be aligned so). */
  align(tensor: string, bytes: number): void;
  /** Unroll the gathers of one-row pages in blocks of several warps too (the build drops it where it spills; default off). */
  readonly unrolledGathers?: boolean;
}

/**
 * Copy tile v into region r with 16-byte cp.async. With `batched` (a loop whose scores run a
 * tile ahead, or a leader loop) and several rows a thread, every row's address is computed
 * first and the copies follow, so a paged gather's page-table reads are in flight together
 * instead of one read waited for before each copy (Nsight Compute on MLA at page 1: 35% of
 * stall samples on them). `team`: the threads that copy (default every thread of the block).
 */
export function copyChunks(em: CopyHost, v: Value, r: Region, batched = false, team?: CopyTeam): void {
  const [R, C] = v.type.shape;
  // A converted tile (plan.converted, plan.recast) reads its load 16 bytes at a time, as cp.async would.
  const raw = em.plan.converted.get(v) ?? em.plan.recast.get(v);
  const op = (raw ?? v).op as Extract<Value["op"], { kind: "load" }>;
  // 16-byte copies read 16-byte aligned sources: the tensor's address must be so aligned.
  em.align(op.tensor.name, 16);
  const bytes = bytesOfName((raw ?? v).type.dtype);
  const per = 16 / bytes;
  const chunks = C / per;
  const T = team?.threads ?? em.plan.shape.threads;
  const tid = team?.tid ?? "tid";
  // Rows a thread copies when each keeps one column: tid / chunks + i * step, i < trips.
  const step = T / chunks;
  const trips = T % chunks === 0 && R % step === 0 ? R / step : 0;
  // A team's copy of a converted tile stages its E4M3 bytes by cp.async; the team widens them later (widenInPlace).
  if (batched && trips > 1 && trips <= 32) return copyBatched(em, v, r, op, chunks, per, step, trips, tid, team ? undefined : raw, raw && team ? (row) => stagedAt(v, r, row, "c") : undefined);
  // A team's copy of a converted tile widens in place later (widenInPlace): batched only.
  if (team && raw) throw new Error(`internal: a team copy of ${em.name(v)} in no batched form`);
  em.line(`// ${em.name(v)}: ${R} x ${C} into shared memory, ${raw ? convertedHow(v, raw) : `16-byte cp.async per ${per} elements`}`);
  if (trips > 1 && gathered(em, op) && (T <= 32 || (em.unrolledGathers && ownEntries(em.plan, op.pred ? [...op.indices, op.pred] : op.indices)))) {
    // A gather (each row's address read from a table): a constant trip count, unrolled, so the
    // table reads of all the thread's rows may be issued before the first copy waits for one.
    // In a one-warp block no other warp hides that latency. In larger blocks it pays where every
    // row reads an entry of its own (pages of one row): gqa_paged's prefill at page 1 on an H200,
    // whose rolled copy loop waited on each row's read, 1.13-1.19x as a hand edit
    // (bench/experiments/paged_prefill_p1_copy_variants.py). Elsewhere it only cost registers
    // (18 prefill builds fell back to 2 blocks an SM), and where it does here the build drops it.
    em.line("#pragma unroll");
    em.line(`for (int i = 0; i < ${trips}; ++i) {`);
    em.enter();
    em.line(`const int r = ${tid} / ${chunks} + i * ${step}, c = (${tid} % ${chunks}) * ${per};`);
  } else if (T % chunks === 0) {
    // Each thread keeps one column and steps down the rows: its addresses advance by a
    // constant stride instead of being re-derived from a flat index (fewer live registers).
    em.line(`for (int r = ${tid} / ${chunks}, c = (${tid} % ${chunks}) * ${per}; r < ${R}; r += ${step}) {`);
    em.enter();
  } else {
    em.line(`for (int e = ${tid}; e < ${R * chunks}; e += ${T}) {`);
    em.enter();
    em.line(`const int r = e / ${chunks}, c = (e % ${chunks}) * ${per};`);
  }
  const { ok, offset } = rowSource(em, op);
  em.line(`const bool ok = ${ok};`);
  em.line(rowCopy(em, v, r, op, offset, raw, em.at(v, r, "r", "c")));
  em.leave();
  em.line("}");
}

/**
 * The copy of row `r`'s chunk at column c (under the emitted `ok`, from element `offset`): read,
 * widened or rounded and stored where `convert` (the load of a converted tile: E4M3 or 16-bit),
 * else a cp.async to byte `dst` of smem.
 */
function rowCopy(em: CopyHost, v: Value, r: Region, op: Extract<Value["op"], { kind: "load" }>, offset: string, convert: Value | undefined, dst: string): string {
  const src = `${op.tensor.name} + (ok ? ${offset} : 0)`;
  if (!convert) return `cp_async16(smem + ${dst}, ${src}, ok);`;
  if (convert.type.dtype !== "f8e4m3") return `recast8_copy<${v.type.dtype === "f16"}>(smem + ${dst}, ${src}, ok);`;
  return `${widenInto(em, v, r, "r")}fp8x16_load(${src}, ok));`;
}

/** What a converted tile's copy does to each 16 bytes it reads. */
const convertedHow = (v: Value, raw: Value) =>
  raw.type.dtype === "f8e4m3" ? `16 E4M3 values read and widened to ${v.type.dtype} at a time` : `8 ${raw.type.dtype} values read and rounded to ${v.type.dtype} at a time`;

/** The call, but for its last argument (the 16 raw bytes), that widens a converted chunk into row `row`, column c of v. */
const widenInto = (em: CopyHost, v: Value, r: Region, row: string) =>
  `fp8x16_store<${v.type.dtype === "bf16"}>(smem + ${em.at(v, r, row, "c")}, smem + ${em.at(v, r, row, "c + 8")}, `;

/** Does the row address read memory (a paged gather's table)? */
const gathered = (em: ElementContext, op: Extract<Value["op"], { kind: "load" }>) => inlineLoads(em.plan, op.indices).length > 0;

/** The predicate and element offset (C expressions) of the loaded row `r`, column `c`. */
function rowSource(em: ElementContext, op: Extract<Value["op"], { kind: "load" }>): { ok: string; offset: string } {
  const site = position("r", "c");
  const indices = op.indices.map((x) => elem(em, x, site));
  return { ok: op.pred ? elem(em, op.pred, site) : "true", offset: em.offset(op.tensor.name, indices) };
}

/**
 * copyChunks' batched form: `trips` rows a thread, their addresses first (entries of a table
 * several rows share read once: row-reads.ts), then the copies. A converted tile (`convert`, its
 * load: read, widened or rounded and stored by these threads) or one a team stages (`staged`: its E4M3 bytes
 * copied where the team widens them later) takes the unrolled run.
 */
function copyBatched(em: CopyHost, v: Value, r: Region, op: Extract<Value["op"], { kind: "load" }>, chunks: number, per: number, step: number, trips: number, tid: string, convert: Value | undefined, staged?: (row: string) => string): void {
  const [R, C] = v.type.shape;
  const many = trips > 8 || convert !== undefined;
  const how = convert ? convertedHow(v, convert) : staged ? `its E4M3 bytes staged by 16-byte cp.async in the upper half of the buffer, to be widened there (widenInPlace)` : `16-byte cp.async per ${per} elements`;
  const dst = staged ?? ((row: string) => em.at(v, r, row, "c"));
  em.line(`// ${em.name(v)}: ${R} x ${C} into shared memory, ${how}: ${many ? `this thread's ${trips} rows in one unrolled run (ptxas issues the address reads ahead as registers allow)` : `this thread's ${trips} rows' addresses first, then the copies`}`);
  em.line("{");
  em.enter();
  em.line(`const int c = (${tid} % ${chunks}) * ${per};`);
  const shared = rowReads(em, op.pred ? [...op.indices, op.pred] : op.indices, chunks, step, R, tid);
  for (const l of shared?.lines ?? []) em.line(l);
  // Addresses held for every row first take two registers a row: too many past 8 rows, where
  // each row's copy follows its address in one unrolled run instead.
  if (!many) {
    em.line(`long long src[${trips}];`);
    em.line(`bool src_ok[${trips}];`);
  }
  const { ok, offset } = rowSource(shared?.ctx ?? em, op);
  em.line("#pragma unroll");
  em.line(`for (int i = 0; i < ${trips}; ++i) {`);
  em.enter();
  em.line(`const int r = ${tid} / ${chunks} + i * ${step};`);
  em.line(`const bool ok = ${ok};`);
  if (convert || many) em.line(rowCopy(em, v, r, op, offset, convert, dst("r")));
  else {
    em.line("src_ok[i] = ok;");
    em.line(`src[i] = ok ? ${offset} : 0;`);
  }
  em.leave();
  em.line("}");
  if (many) {
    em.leave();
    em.line("}");
    return;
  }
  em.line("#pragma unroll");
  em.line(`for (int i = 0; i < ${trips}; ++i) cp_async16(smem + ${dst(`(${tid} / ${chunks} + i * ${step})`)}, ${op.tensor.name} + src[i], src_ok[i]);`);
  em.leave();
  em.line("}");
}

/**
 * Where a team stages byte (row, col) of converted tile v's E4M3 copy: the upper half of its
 * 16-bit buffer (R x C bytes from R * C on), in 64-column blocks of 64-byte rows, block after
 * block as the 16-bit tile's own blocks of 128-byte rows lie (sw128).
 */
function stagedAt(v: Value, r: Region, row: string, col: string): string {
  const [R, C] = v.type.shape;
  return `${r.offset} + ${R * C} + (${col} >> 6) * ${R * 64} + (${row}) * 64 + (${col} & 63)`;
}

/**
 * Widen converted tile v's staged E4M3 copy (stagedAt, landed) in place into its 16-bit buffer,
 * by `team` (`sync`: a C statement every thread of the team meets). The 16-bit block k covers
 * the E4M3 blocks 2k - B and 2k - B + 1 (B blocks in all), never one after k, so each block's
 * chunks are read by the whole team, then (where block k covers E4M3 blocks read since the
 * team last met: `syncsBefore`) the team meets, then the widened chunks are stored.
 */
export function widenInPlace(em: CopyHost, v: Value, r: Region, team: CopyTeam, sync: string): void {
  const [R, C] = v.type.shape;
  const B = C / 64;
  const per = (R * 4) / team.threads; // 16-byte E4M3 chunks of a block a thread widens
  // The overlap argument above holds for the swizzled layout's blocks of R x 128 bytes alone.
  if (C % 64 || !Number.isInteger(per) || !em.plan.swizzled.has(v)) throw new Error(`internal: ${em.name(v)} (${R} x ${C}) cannot be widened in place by ${team.threads} threads`);
  em.line(`// ${em.name(v)}: its staged E4M3 bytes widened to ${v.type.dtype} in place, block by block (copy-emit.ts, widenInPlace)`);
  em.line("#pragma unroll");
  em.line(`for (int k = 0; k < ${B}; ++k) {`);
  em.enter();
  em.line(`uint4 raw[${per}];`);
  em.line("#pragma unroll");
  em.line(`for (int j = 0; j < ${per}; ++j) raw[j] = *reinterpret_cast<const uint4*>(smem + ${stagedAt(v, r, `((${team.tid} + j * ${team.threads}) >> 2)`, `(k * 64 + ((${team.tid} + j * ${team.threads}) & 3) * 16)`)});`);
  const at = syncsBefore(B);
  if (at.length) em.line(`if (${at.map((k) => `k == ${k}`).join(" || ")}) ${sync} // this block's 16-bit rows cover E4M3 blocks read since the team last met`);
  em.line("#pragma unroll");
  em.line(`for (int j = 0; j < ${per}; ++j) {`);
  em.enter();
  em.line(`const int r = (${team.tid} + j * ${team.threads}) >> 2, c = k * 64 + ((${team.tid} + j * ${team.threads}) & 3) * 16;`);
  em.line(`${widenInto(em, v, r, "r")}raw[j]);`);
  em.leave();
  em.line("}");
  em.leave();
  em.line("}");
}

/**
 * Fill a widened operand (f16(K) of an fp8 cache) from its staged fp8 tile `staged`, already
 * copied into region `from` of shared memory (read through `at`, as it was laid out): each thread
 * reads 8 or 16 E4M3 values a step, widens them in registers and stores 16 bytes per 8 values.
 * `only`: code that one architecture's path alone compiles already ("hopper": an overlapped loop,
 * overlap-emit.ts; "other": a loop whose scores read K's bytes on sm_90a, split-scores.ts).
 */
export function widenStaged(em: CopyHost, v: Value, r: Region, staged: Value, from: Region, only?: "hopper" | "other"): void {
  const [R, C] = v.type.shape;
  const T = em.plan.shape.threads;
  const bf = v.type.dtype === "bf16";
  const src = (row: string, col: string) => `smem + ${em.at(staged, from, row, col)}`;
  const widen8 = (row: string, col: string, raw: string) => em.line(`fp8x8_widen<${bf}>(smem + ${em.at(v, r, row, col)}, ${raw});`);
  // The 8 values at (r, c): 8 staged bytes in, 16 bytes out.
  const step8 = () => widen8("r", "c", `*reinterpret_cast<const uint2*>(${src("r", "c")})`);
  // Whole rows split evenly: each thread keeps one column, per values a step.
  const even = (per: number) => (R * C) % (per * T) === 0 && T % (C / per) === 0;
  // The loop over this thread's steps (its header and the line that names r and c), per values each.
  const loop = (per: number, header: string, index: string, body: () => void) => {
    em.line(`// ${em.name(v)}: ${R} x ${C} fp8 widened to ${v.type.dtype}, shared to shared, ${per} values per step`);
    em.line("#pragma unroll");
    em.line(`${header} {`);
    em.enter();
    em.line(index);
    body();
    em.leave();
    em.line("}");
  };
  const unrolled = (per: number, body: () => void) =>
    loop(per, `for (int i = 0; i < ${(R * C) / (per * T)}; ++i)`, `const int r = tid / ${C / per} + i * ${(T * per) / C}, c = (tid % ${C / per}) * ${per};`, body);
  const counted = () => loop(8, `for (int e = tid; e < ${(R * C) / 8}; e += ${T})`, `const int r = e / ${C / 8}, c = (e % ${C / 8}) * 8;`, step8);
  // On Hopper a constant trip count, unrolled whole, so the addresses advance by constants (the
  // loop from e = tid stayed a counted loop that re-derived r, c and the swizzle every step), and
  // into a swizzled tile 16 values a step: one 16-byte read, two 16-byte stores. The threads on
  // a row's odd 64-column blocks store their upper 8 values first, so that a quarter warp's first
  // stores fall on 8 different 16-byte bank groups (in one order, two threads met in each).
  // gqa_paged_fp8's prefill on an H200: 1.15x unrolled (1.04-1.07x unrolled by 1 or 2), then
  // 1.04-1.06x for 16 values a step (0.97-0.98x without the order): docs/performance.md.
  // Elsewhere, and in builds for Ampere alone, the counted loop stays: at three blocks an SM the
  // unrolled one spilled in sm_80 builds.
  const x16 = em.plan.swizzled.has(v) && C % 64 === 0 && from.stride % 16 === 0 && even(16);
  if (em.plan.wgmma.size === 0 || !(x16 || even(8))) return counted();
  const hopper = () => {
    if (!x16) return unrolled(8, step8);
    unrolled(16, () => {
      em.line(`const int s = (c >> 6) & 1;`);
      em.line(`const uint4 w = *reinterpret_cast<const uint4*>(${src("r", "c")});`);
      widen8("r", "c + 8 * s", "s ? make_uint2(w.z, w.w) : make_uint2(w.x, w.y)");
      widen8("r", "c + 8 - 8 * s", "s ? make_uint2(w.x, w.y) : make_uint2(w.z, w.w)");
    });
  };
  if (only === "hopper") hopper();
  else if (only === "other") counted();
  else hopperOnly(em, hopper, counted);
}

/**
 * Fill a 16-bit operand tile element by element, converting on the way in: from any position
 * (`sites` undefined: every thread takes every T-th element) or from the sites this thread holds
 * (a register tile, through `sites`).
 */
export function storeElements(em: CopyHost, v: Value, r: Region, threads: number, sites?: (body: (site: Site) => void) => void): void {
  const [R, C] = v.type.shape;
  const ty = v.type.dtype === "f16" ? "__half" : "__nv_bfloat16";
  if (sites) {
    sites((site) => em.line(`*reinterpret_cast<${ty}*>(smem + ${em.at(v, r, site.row, site.col)}) = ${toMem(v.type.dtype, elem(em, v, site))};`));
    return;
  }
  em.line(`for (int e = tid; e < ${R * C}; e += ${threads}) {`);
  em.enter();
  em.line(`const int r = e / ${C}, c = e % ${C};`);
  em.line(`*reinterpret_cast<${ty}*>(smem + ${em.at(v, r, "r", "c")}) = ${toMem(v.type.dtype, elem(em, v, position("r", "c")))};`);
  em.leave();
  em.line("}");
}

/**
 * The blocks k (of B) before whose stores the team meets: where the 16-bit block k covers an
 * E4M3 block (2k - B, 2k - B + 1) read after the last meeting. A meeting at k follows block k's
 * reads, so it covers every block up to k (B = 8: 4, 6 and 7, not 5, whose E4M3 blocks 2 and 3
 * were read before the meeting at 4).
 */
export function syncsBefore(B: number): number[] {
  const at: number[] = [];
  let met = -1;
  for (let k = 0; k < B; k++) {
    if (2 * k - B + 1 > met && 2 * k - B + 1 >= 0) {
      at.push(k);
      met = k;
    }
  }
  return at;
}
