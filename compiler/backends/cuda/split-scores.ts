// The scores of a loop over an fp8 cache (overlap.ts's loops, and plain ones) as FP8 wgmma on K's
// staged E4M3 bytes, with no widened copy of K.
//
// Why: the loop widened every K tile (8 KiB of E4M3 into 16 KiB of 16-bit values at 64 keys of
// head dim 128) by every thread before its scores, behind a block barrier, and that widening, with
// V's, was what kept the fp8 cache slower than a bf16 one. FP8 wgmma (m64nNk32, E4M3 x E4M3 into
// f32) reads K's bytes as TMA lands them, but takes E4M3 on both sides. So the 16-bit query tile,
// the same for the whole loop, is split once before it into two E4M3 tiles,
//   hi = e4m3(q * s), lo = e4m3(q * s - hi),
// s a power of two a row that puts the row's largest |q| in [128, 256) (E4M3 reaches 448): q * s
// is exact, and hi + lo keeps the 8 significant bits of a bf16 element (lost only below E4M3's
// subnormal step, 2^-18 of the row's largest). The scores are (hi . K^T + lo . K^T) / s: twice
// D / 32 wgmma steps, as many as the 16-bit dot's D / 16, each taking the time of one of those.
// A row's 1/s is folded into the scalar the loop multiplies the scores by (bound per row:
// elements.ts). The two tiles take K's widened tile's bytes, which the loop no longer writes; K's
// boxes land 128-byte swizzled (its map's swizzle), as wgmma reads them. V is still widened: FP8
// wgmma reads B K-major only, and V's rows are its keys.
//
// Measured on an H200 as a hand edit first (bench/experiments/fp8_prefill_qsplit_variant.py,
// docs/performance.md): gqa_paged_fp8.bf16.g4.p16's prefill 1.18-1.22x, its decode at page 16
// 1.08-1.23x, the error against the reference on the dequantized cache unchanged (3.5e-3 against
// 3.4e-3 beside FA2).
//
// Plain loops (plainSplits, below) take it too: loops whose K comes by cp.async (page 1, where no
// TMA box spans a page) land K's bytes 128-byte swizzled themselves, and their split tiles take
// 16 KiB of their own (there the widened K and V share one buffer), where that keeps the block's
// blocks per SM. gqa_paged_fp8's prefill at page 1 1.17-1.24x, its decode there 1.08-1.17x.
import type { TensorMapSpec } from "../../../runtime/manifest.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";
import { type Block, type ForInst, type Value, operands } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { hopperOnlyLines } from "./hopper-only.ts";
import type { Site } from "./layouts.ts";
import type { Overlap } from "./overlap.ts";
import type { CudaPlan } from "./plan.ts";
import { mapParam } from "./tma.ts";
import type { TmaStream } from "./tma-stream.ts";
import { accumulatorOperands } from "./wgmma.ts";
import { blocksPerSmToTry } from "./occupancy.ts";

export interface QuerySplit {
  /** Byte offsets of the query's E4M3 tiles: hi, then lo (K's widened tile's bytes). */
  hi: number;
  lo: number;
  /** The scalar the loop multiplies the scores by; within the loop, that times the row's 1/s. */
  scale: Value;
}

type Dot = Extract<Value["op"], { kind: "dot" }>;

/** The head dim the split takes: one 128-byte swizzle row of E4M3 a key (and a query row). */
const D = 128;

/**
 * Decide, for each overlapped loop, whether its scores read K's staged bytes: sets the loop's
 * `split`, and K's tensor map (its own) to a 128-byte swizzle.
 */
export function querySplits(loops: Iterable<Overlap>, plan: CudaPlan, regions: Map<Value, Region>, streams: TmaStream[], maps: TensorMapSpec[]): void {
  for (const o of loops) {
    const split = splitOf(o, plan, regions, streams);
    if (!split) continue;
    o.split = split;
    o.k.swizzled = true;
    const i = maps.findIndex((m, j) => mapParam(m, j) === o.k.map);
    maps[i] = { ...maps[i], swizzle: 128 };
  }
}

function splitOf(o: Overlap, plan: CudaPlan, regions: Map<Value, Region>, streams: TmaStream[]): QuerySplit | undefined {
  if (!o.kWide || o.vw === undefined) return undefined;
  const q = (o.scores.op as Dot).a;
  const [M, QD] = q.type.shape;
  const N = o.kWide.type.shape[0];
  if (QD !== D || bytesOfName(q.type.dtype) !== 2 || !plan.sharedOperands.has(q) || !plan.swizzled.has(q) || plan.cachedFragments.has(q)) return undefined;
  // K's map is this stream's alone (its swizzle changes).
  if (o.k.bytes !== 1 || o.k.cols !== D || streams.filter((s) => s.map === o.k.map).length !== 1) return undefined;
  const defs = bodyDefs(o.loop);
  const scale = scoresScale(o.loop, o.scores);
  if (!scale) return undefined;
  // The two tiles in K's widened tile's bytes, clear of every other tile the loop touches.
  const offset = (v: Value) => {
    const at = regions.get(v)?.offset;
    return typeof at === "number" ? at : undefined;
  };
  const wide = offset(o.kWide);
  const staged = offset(o.k.v);
  if (wide === undefined || staged === undefined || wide % 1024 || staged % 1024 || N < M) return undefined;
  const used: [number | undefined, number][] = [
    [offset(q), M * D * 2],
    [o.v2, N * D],
    [o.vw, N * D * 2],
    ...[o.k.bar, o.v.bar, o.bar2].map((b): [number, number] => [b, 8]),
    // (V's widened tile is at o.vw in this loop, whatever its region elsewhere.)
    ...defs.filter((d) => d !== o.kWide && d !== o.vWide && regions.has(d)).map((d): [number | undefined, number] => [offset(d), d.type.shape[0] * regions.get(d)!.stride]),
  ];
  const end = wide + 2 * M * D;
  if (used.some(([at, n]) => at === undefined || (at < end && wide < at + n))) return undefined;
  return { hi: wide, lo: wide + M * D, scale };
}

const bodyDefs = (f: ForInst): Value[] => f.body.insts.flatMap((i) => (i.kind === "def" ? [i.value] : []));

/**
 * The scalar the scores' one reader in loop f multiplies them by, where it comes from outside the
 * loop and nothing else there reads it (each row's 1/s is then folded into it), or undefined.
 */
function scoresScale(f: ForInst, scores: Value): Value | undefined {
  const defs = bodyDefs(f);
  const readers = defs.filter((d) => operands(d.op).includes(scores));
  const m = readers[0];
  if (readers.length !== 1 || m.op.kind !== "binary" || m.op.op !== "mul" || m.type.dtype !== "f32") return undefined;
  const scale = m.op.a === scores ? m.op.b : m.op.a;
  if (scale.type.shape.length !== 0 || defs.includes(scale) || f.yields.includes(scale)) return undefined;
  if (defs.some((d) => d !== m && operands(d.op).includes(scale))) return undefined;
  return scale;
}

/** What the split's code needs of the overlapped loop's host. */
export interface SplitHost {
  line(s: string): void;
  enter(): void;
  leave(): void;
  name(v: Value): string;
  region(v: Value): Region | undefined;
  at(v: Value, r: Region, row: string, col: string): string;
}

/** The name of the row factors (the scale over s) of a loop's scores. */
const factors = (h: Pick<SplitHost, "name">, scores: Value) => `${h.name(scores)}_rows`;

/** A row's factor at an element's site (rows of the mma layout, one row tile: h). */
export const rowFactor = (h: Pick<SplitHost, "name">, scores: Value) => (site: Site) => `${factors(h, scores)}[${site.slot([(scores.op as Dot).a.type.shape[0], 1])}]`;

/**
 * Before the loop: the query split into its hi and lo tiles and each of this thread's two rows'
 * factor, then fenced for wgmma and a barrier (the loop's scores have none before them). Each
 * lane of a quad takes 32 columns of the quad's two rows, so a row's largest |q| is the quad's.
 */
export function emitQuerySplit(h: SplitHost, scores: Value, sp: QuerySplit, scale: string): void {
  const q = (scores.op as Dot).a;
  const rq = h.region(q)!;
  const bf16 = q.type.dtype === "bf16";
  const rows = factors(h, scores);
  h.line(`// ${h.name(q)} split into two E4M3 tiles (hi at ${sp.hi}, lo at ${sp.lo}) for the scores' FP8 wgmma (split-scores.ts)`);
  h.line(`float ${rows}[2]; // ${scale} / s of this thread's two rows`);
  h.line("#pragma unroll");
  h.line("for (int h = 0; h < 2; ++h) {");
  h.enter();
  h.line("const int r = warp * 16 + g + 8 * h;");
  h.line("float x[32];");
  h.line("#pragma unroll");
  h.line("for (int j = 0; j < 4; ++j) {");
  h.enter();
  h.line(`const uint4 v = *reinterpret_cast<const uint4*>(smem + ${h.at(q, rq, "r", "t4 * 32 + j * 8")});`);
  h.line("const uint32_t w[4] = {v.x, v.y, v.z, v.w};");
  h.line("#pragma unroll");
  h.line("for (int e = 0; e < 4; ++e) {");
  h.enter();
  if (bf16) {
    h.line("x[j * 8 + 2 * e] = __uint_as_float(w[e] << 16);");
    h.line("x[j * 8 + 2 * e + 1] = __uint_as_float(w[e] & 0xffff0000u);");
  } else {
    h.line("const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&w[e]));");
    h.line("x[j * 8 + 2 * e] = f.x;");
    h.line("x[j * 8 + 2 * e + 1] = f.y;");
  }
  h.leave();
  h.line("}");
  h.leave();
  h.line("}");
  h.line("float amax = 0.0f;");
  h.line("#pragma unroll");
  h.line("for (int i = 0; i < 32; ++i) amax = fmaxf(amax, fabsf(x[i]));");
  h.line("amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));");
  h.line("amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));");
  h.line("// amax < 2^(e - 126) for its exponent field e; s = 2^(134 - e) puts it under 256.");
  h.line("const int e = min(max((__float_as_int(amax) >> 23) & 255, 8), 254);");
  h.line("const float s = __int_as_float((261 - e) << 23);");
  h.line(`${rows}[h] = ${scale} * __int_as_float((e - 7) << 23);`);
  h.line("uint32_t hw[8], lw[8];");
  h.line("#pragma unroll");
  h.line("for (int i = 0; i < 8; ++i) {");
  h.enter();
  h.line("const float a = x[4 * i] * s, b = x[4 * i + 1] * s, c = x[4 * i + 2] * s, d = x[4 * i + 3] * s;");
  h.line("hw[i] = e4m3x4(a, b, c, d);");
  h.line("lw[i] = e4m3x4(a - e4m3_at(hw[i], 0), b - e4m3_at(hw[i], 1), c - e4m3_at(hw[i], 2), d - e4m3_at(hw[i], 3));");
  h.leave();
  h.line("}");
  h.line("// 128-byte rows, 16-byte chunks XORed with r % 8 (wgmma's SWIZZLE_128B)");
  h.line("#pragma unroll");
  h.line("for (int k = 0; k < 2; ++k) {");
  h.enter();
  h.line("const int off = r * 128 + (((2 * t4 + k) ^ (r & 7)) << 4);");
  h.line(`*reinterpret_cast<uint4*>(smem + ${sp.hi} + off) = make_uint4(hw[4 * k], hw[4 * k + 1], hw[4 * k + 2], hw[4 * k + 3]);`);
  h.line(`*reinterpret_cast<uint4*>(smem + ${sp.lo} + off) = make_uint4(lw[4 * k], lw[4 * k + 1], lw[4 * k + 2], lw[4 * k + 3]);`);
  h.leave();
  h.line("}");
  h.leave();
  h.line("}");
  h.line("fence_async_proxy(); // wgmma reads these tiles through the async proxy");
  h.line("__syncthreads(); // the loop's first scores read them with no barrier before");
}

/** The scores' wgmma steps: hi . K^T then lo . K^T, 32 key bytes a step, the first writing `acc`. */
export function emitSplitSteps(h: SplitHost, scores: Value, staged: Value, sp: QuerySplit, acc: string, swizzledBy = "TMA"): void {
  const n = scores.type.shape[1];
  const steps = D / 32;
  h.line(`// ${acc}: ${2 * steps} x wgmma m64n${n}k32 E4M3, A the query's hi then lo tile, B K's staged bytes (K-major, swizzled by ${swizzledBy})`);
  h.line("{");
  h.enter();
  h.line(`const uint64_t db = sw128_desc(smem + ${h.region(staged)!.offset}, 16, 1024);`);
  h.line(`const uint64_t dh = sw128_desc(smem + ${sp.hi} + wg_row * 8192, 16, 1024), dl = sw128_desc(smem + ${sp.lo} + wg_row * 8192, 16, 1024);`);
  h.line("#pragma unroll");
  h.line(`for (int kk = 0; kk < ${2 * steps}; ++kk) {`);
  h.enter();
  h.line(`wgmma_m64n${n}k32_ss_e4m3(${acc}, (kk < ${steps} ? dh : dl) + (uint64_t)(((kk % ${steps}) * 32) >> 4), db + (uint64_t)(((kk % ${steps}) * 32) >> 4), kk != 0);`);
  h.leave();
  h.line("}");
  h.leave();
  h.line("}");
}

/** The FP8 wgmma forms of the split scores (their widths n) and the E4M3 conversions of the split. */
export function splitHelpers(widths: Set<number>): string {
  const out: string[] = [];
  for (const n of [...widths].sort((a, b) => a - b)) {
    const regs = n / 2;
    const { dList, dOps } = accumulatorOperands(regs);
    out.push(
      `// d (64 x ${n}, ${regs} floats a thread) += A (64 x 32 E4M3, shared memory) · B (32 x ${n} E4M3, shared memory, K-major); where add is 0, d = A · B.`,
      `__device__ __forceinline__ void wgmma_m64n${n}k32_ss_e4m3(float* d, uint64_t da, uint64_t db, int add) {`,
      `  asm volatile("{\\n.reg .pred p;\\nsetp.ne.b32 p, %${regs + 2}, 0;\\n"`,
      `               "wgmma.mma_async.sync.aligned.m64n${n}k32.f32.e4m3.e4m3 {${dList}}, %${regs}, %${regs + 1}, p, 1, 1;\\n}\\n"`,
      `               : ${dOps}`,
      `               : "l"(da), "l"(db), "r"(add));`,
      "}",
    );
  }
  out.push(
    "// Four floats as four E4M3 bytes (the first in the low byte), rounded to nearest, saturating.",
    "__device__ __forceinline__ uint32_t e4m3x4(float a, float b, float c, float d) {",
    "  const uint32_t lo = __nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3);",
    "  const uint32_t hi = __nv_cvt_float2_to_fp8x2(make_float2(c, d), __NV_SATFINITE, __NV_E4M3);",
    "  return lo | (hi << 16);",
    "}",
    "// Byte j (0 to 3) of four E4M3 bytes as a float.",
    "__device__ __forceinline__ float e4m3_at(uint32_t w, int j) {",
    "  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2((__nv_fp8x2_storage_t)((w >> (j & 2 ? 16 : 0)) & 0xffff), __NV_E4M3);",
    "  const __half2 v = *reinterpret_cast<const __half2*>(&h);",
    "  return (j & 1) ? __high2float(v) : __low2float(v);",
    "}",
  );
  return hopperOnlyLines(out).join("\n");
}

/** The widths of the split scores of these loops (for splitHelpers). */
export const splitWidths = (loops: Iterable<{ scores: Value; split?: QuerySplit }>): Set<number> => new Set([...loops].filter((o) => o.split).map((o) => o.scores.type.shape[1]));


/**
 * A loop outside the overlapped schedule (a plain loop: its K tiles come by cp.async, as at page
 * 1, where no TMA box spans a page) whose scores read K's staged bytes the same way. Its K copies
 * land 128-byte swizzled (the emitter's `at`); on sm_80 the loop still widens K, from that layout.
 */
export interface PlainSplit {
  loop: ForInst;
  scores: Value;
  /** The widened K tile the scores read on sm_80, and its staged E4M3 copy. */
  kWide: Value;
  staged: Value;
  split: QuerySplit;
}

/** The loops of `body` that are not inside another loop. */
function outerLoops(body: Block): ForInst[] {
  return body.insts.flatMap((i) => (i.kind === "for" ? [i] : i.kind === "if" ? [...outerLoops(i.then), ...outerLoops(i.else)] : []));
}

/**
 * The plain loops (not `skip`: the overlapped, rotated and leader loops) whose scores read K's
 * staged bytes by FP8 wgmma, the query split before each. Their hi and lo tiles share one area from
 * byte `at` (the loops run in turn), taken only where the block keeps its blocks per SM: page 1's
 * fp8 prefill goes from 49152 to 65536 bytes, three blocks an SM either way. Measured on an H200 as
 * a hand edit first (bench/experiments/paged_prefill_p1_fp8_split_variant.py): gqa_paged_fp8 at
 * page 1, prefill 1.21-1.24x, decode through it 1.15-1.18x.
 */
export function plainSplits(body: Block, plan: CudaPlan, regions: Map<Value, Region>, streams: TmaStream[], doubled: Set<Value>, skip: Set<ForInst>, at: number): { loops: Map<ForInst, PlainSplit>; end: number } {
  const none = { loops: new Map<ForInst, PlainSplit>(), end: at };
  const s = plan.shape;
  if (s.kind !== "mma" || s.W !== 4 || s.WC !== 1 || s.MT !== 1 || !plan.wgmma.size) return none;
  const found = outerLoops(body)
    .filter((f) => !skip.has(f))
    .map((f) => plainOf(f, plan, regions, streams, doubled))
    .filter((x) => x !== undefined);
  if (!found.length) return none;
  const hi = Math.ceil(at / 1024) * 1024;
  const rows = Math.max(...found.map((x) => (x.scores.op as Dot).a.type.shape[0]));
  const end = hi + 2 * rows * D;
  if (blocksPerSmToTry(2, s.threads, end)[0] !== blocksPerSmToTry(2, s.threads, at)[0]) return none;
  const split = (scale: Value): QuerySplit => ({ hi, lo: hi + rows * D, scale });
  return { loops: new Map(found.map(({ scale, ...x }) => [x.loop, { ...x, split: split(scale) }])), end };
}

function plainOf(f: ForInst, plan: CudaPlan, regions: Map<Value, Region>, streams: TmaStream[], doubled: Set<Value>): (Omit<PlainSplit, "split"> & { scale: Value }) | undefined {
  const defs = bodyDefs(f);
  const scores = defs.find((d) => d.op.kind === "dot");
  if (!scores || !plan.wgmma.has(scores) || plan.kSplit.has(scores) || plan.accumulateInto.has(scores)) return undefined;
  const { a: q, b } = scores.op as Dot;
  if (b.op.kind !== "transpose") return undefined;
  const kWide = b.op.a;
  const staged = plan.staged.get(kWide);
  // K's widened tile read by these scores alone, its staged copy by that widening alone, by cp.async into one buffer.
  if (!staged || plan.uses.get(kWide) !== 1 || plan.uses.get(b) !== 1 || plan.uses.get(staged) !== 1 || plan.rawKeys.has(kWide)) return undefined;
  if (streams.some((x) => x.v === staged) || doubled.has(staged)) return undefined;
  const r = regions.get(staged);
  if (!r || typeof r.offset !== "number" || r.offset % 1024 || r.stride !== D || staged.type.shape[1] !== D || bytesOfName(staged.type.dtype) !== 1) return undefined;
  const [, QD] = q.type.shape;
  if (QD !== D || bytesOfName(q.type.dtype) !== 2 || !plan.sharedOperands.has(q) || !plan.swizzled.has(q) || plan.cachedFragments.has(q) || defs.includes(q)) return undefined;
  const scale = scoresScale(f, scores);
  return scale ? { loop: f, scores, kWide, staged, scale } : undefined;
}
