// Tensor-core dots with mma.sync m16n8k16 (f32 accumulate), FlashAttention-2 style: A from
// fragments kept in registers (loaded once with ldmatrix) or built in registers from an
// accumulator-layout tile (P never touches shared memory), B from shared memory with ldmatrix
// (.trans when B is stored k-major, as V is). Shared tiles are row-major, each row padded by 16
// bytes so the eight 16-byte rows an ldmatrix phase reads fall in different banks.
import { type Value, isFloat } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import type { MmaShape } from "./plan.ts";
import { type Site, MmaLayout, groupColumns } from "./layouts.ts";
import { rawKeysDot } from "./fp8-keys.ts";
import { rawValuesDot } from "./fp8-values.ts";

/** Device helpers every tensor-core kernel includes (inline PTX, readable once). */
export const MMA_HELPERS = `// ldmatrix: four 8x8 16-bit matrices from shared memory, one row address per lane.
__device__ __forceinline__ void ldsm_x4(uint32_t r[4], const void* p) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\\n" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t r[4], const void* p) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\\n" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x2(uint32_t r[2], const void* p) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\\n" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
}
__device__ __forceinline__ void ldsm_x2_trans(uint32_t r[2], const void* p) {
  const unsigned a = (unsigned)__cvta_generic_to_shared(p);
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\\n" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
}
// d += a * b on a 16x8x16 tile; a: 4 registers of 2 halves, b: 2, d: 4 floats.
__device__ __forceinline__ void mma_bf16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma_f16(float d[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// Two floats as one register of two 16-bit values, the lower column in the low half.
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}
__device__ __forceinline__ uint32_t pack_f16(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}`;

export interface DotEmitter {
  line(s: string): void;
  enter(): void;
  leave(): void;
  name(v: Value): string;
  region(v: Value): Region | undefined;
  /** Byte offset from smem of element (row, col) of shared tile v (padded or swizzled). */
  tileAt(v: Value, row: string, col: string): string;
  /** Element expression of v at an accumulator-layout site (for A operands in registers). */
  elemAt(v: Value, site: Site): string;
  siteAt(mt: string, h: string, nt: string, p: string): Site;
}

const unroll = (em: DotEmitter, head: string, body: () => void, factor?: number) => {
  em.line(factor ? `#pragma unroll ${factor}` : "#pragma unroll");
  em.line(`${head} {`);
  em.enter();
  body();
  em.leave();
  em.line("}");
};


/**
 * Pack the A fragment of k step kk, row tile mt, of a register tile (P) into `into`[0..3]: its
 * columns 16kk..16kk+15 are the accumulator layout's n8 tiles 2kk and 2kk+1. A cast to the
 * operand type (`T(p)`) is left to pack_*, which rounds to nearest once: the same bits as
 * rounding, widening and rounding again, in a fifth of the instructions.
 */
export function packFragment(em: DotEmitter, a: Value, dt: string, mt: string, into: string): void {
  const src = a.op.kind === "cast" && isFloat(a.op.a.type.dtype) ? a.op.a : a;
  const at = (nt: string, h: string, p: string) => em.elemAt(src, em.siteAt(mt, h, nt, p));
  em.line(`${into}[0] = pack_${dt}(${at("2 * kk", "0", "0")}, ${at("2 * kk", "0", "1")});`);
  em.line(`${into}[1] = pack_${dt}(${at("2 * kk", "1", "0")}, ${at("2 * kk", "1", "1")});`);
  em.line(`${into}[2] = pack_${dt}(${at("2 * kk + 1", "0", "0")}, ${at("2 * kk + 1", "0", "1")});`);
  em.line(`${into}[3] = pack_${dt}(${at("2 * kk + 1", "1", "0")}, ${at("2 * kk + 1", "1", "1")});`);
}

/** Load A fragments of rows tile mt, k-slice kk of an A tile in shared memory. */
function aFromShared(em: DotEmitter, a: Value, shape: MmaShape, into: string, kk: string, mt: string): void {
  em.line(`ldsm_x4(${into}, smem + ${em.tileAt(a, `(warp * ${shape.MT} + ${mt}) * 16 + (lane & 15)`, `${kk} * 16 + (lane >> 4) * 8`)});`);
}

/** A fragments of shared A tile `a`, k step kk, row tile mt, into `into`: from its cached copy or with ldmatrix. */
export function sharedAFragment(em: DotEmitter, a: Value, shape: MmaShape, cached: Set<Value>, into: string, kk: string, mt: string): void {
  if (cached.has(a)) em.line(`for (int x = 0; x < 4; ++x) ${into}[x] = ${em.name(a)}_frag[${mt}][${kk}][x];`);
  else aFromShared(em, a, shape, into, kk, mt);
}

/** Declare and fill the fragments of a loop-invariant A operand once (after its fill). */
export function cacheFragments(em: DotEmitter, a: Value, shape: MmaShape): void {
  const K = a.type.shape[1];
  const n = `${em.name(a)}_frag`;
  em.line(`// ${em.name(a)} as tensor-core A fragments, loaded once: ${shape.MT * (K / 16) * 4} registers`);
  em.line(`uint32_t ${n}[${shape.MT}][${K / 16}][4];`);
  unroll(em, `for (int mt = 0; mt < ${shape.MT}; ++mt)`, () =>
    unroll(em, `for (int kk = 0; kk < ${K / 16}; ++kk)`, () => aFromShared(em, a, shape, `${n}[mt][kk]`, "kk", "mt")),
  );
}

/** Shared bytes a k-split dot's partial-sum exchange takes: every group's registers, per thread. */
export const exchangeBytes = (v: Value, shape: MmaShape): number => shape.WC * new MmaLayout(shape).registers(v.type.shape) * shape.W * 32 * 4;

/**
 * Emit dot v; with `accumulate`, its registers are already declared and hold the addend. With
 * `exchange` (a k-split dot), column group wcol sums k steps [wcol * steps / WC, (wcol + 1) *
 * steps / WC) and the groups add their partial sums through shared memory at that offset (every
 * group, in the same order, so all hold the same bits); `exchanged = false` leaves that exchange
 * to the caller (the wgmma path, which adds it after either instruction's branch). `rawB`: B is a
 * widened tile read from this staged E4M3 copy instead, keys (K^T, fp8-keys.ts) or values
 * (fp8-values.ts).
 */
export function emitDot(em: DotEmitter, v: Value, shape: MmaShape, cached: Set<Value>, aInShared: boolean, accumulate = false, exchange?: number, exchanged = true, rawB?: Region): void {
  if (v.op.kind !== "dot") return;
  const { a: aView, b: bView } = v.op;
  const a = aView;
  const dt = a.type.dtype === "f16" ? "f16" : "bf16";
  const K = a.type.shape[1];
  const N = v.type.shape[1];
  // A column-split result: this warp's group computes its slice, reading B's matching columns.
  const first = groupColumns(shape, N);
  const NT = N / 8 / (first ? shape.WC : 1);
  const MT = shape.MT;
  const n = em.name(v);
  const bBase = bView.op.kind === "transpose" ? bView.op.a : bView;
  const bTransposed = bView.op.kind === "transpose";
  if (!accumulate) em.line(`float ${n}[${MT * NT * 4}] = {};`);
  if (rawB && bTransposed) return rawKeysDot(em, v, shape, cached, rawB, dt, n, NT);
  if (rawB) return rawValuesDot(em, v, shape, cached, aInShared, rawB, dt, n, NT);
  // A long reduction over a shared-memory A (MLA's 512 latent columns: 32 steps) is unrolled 8
  // steps at a time: fully unrolled, ptxas hoists every step's ldmatrix ahead of the mma and
  // spills the accumulators. (A in registers is indexed by kk, so its loop stays fully unrolled.)
  const kSplit = exchange !== undefined;
  const steps = K / 16 / (kSplit ? shape.WC : 1);
  const partial = steps > 16 && aInShared && !cached.has(a) ? 8 : undefined;
  const k = kSplit ? "kq" : "kk";
  unroll(em, `for (int ${k} = 0; ${k} < ${steps}; ++${k})`, () => {
    if (kSplit) em.line(`const int kk = wcol * ${steps} + kq;`);
    em.line(`uint32_t a[${MT}][4];`);
    unroll(em, `for (int mt = 0; mt < ${MT}; ++mt)`, () => {
      if (cached.has(a) || aInShared) sharedAFragment(em, a, shape, cached, "a[mt]", "kk", "mt");
      else packFragment(em, a, dt, "mt", "a[mt]");
    });
    // B: pairs of n8 tiles per ldmatrix.x4; an odd last tile with .x2.
    const row = bTransposed ? `${first}nt * 8 + (lane & 7) + ((lane >> 4) << 3)` : "kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)";
    const col = bTransposed ? "kk * 16 + ((lane >> 3) & 1) * 8" : `${first}nt * 8 + (lane >> 4) * 8`;
    const ld = bTransposed ? "ldsm_x4" : "ldsm_x4_trans";
    unroll(em, `for (int nt = 0; nt + 1 < ${NT}; nt += 2)`, () => {
      em.line("uint32_t b[4];");
      em.line(`${ld}(b, smem + ${em.tileAt(bBase, row, col)});`);
      unroll(em, `for (int mt = 0; mt < ${MT}; ++mt)`, () => {
        em.line(`mma_${dt}(&${n}[(mt * ${NT} + nt) * 4], a[mt], b[0], b[1]);`);
        em.line(`mma_${dt}(&${n}[(mt * ${NT} + nt + 1) * 4], a[mt], b[2], b[3]);`);
      });
    });
    if (NT % 2) {
      em.line("{");
      em.enter();
      em.line(`const int nt = ${NT - 1};`);
      em.line("uint32_t b[2];");
      em.line(`${bTransposed ? "ldsm_x2" : "ldsm_x2_trans"}(b, smem + ${em.tileAt(bBase, row, col)});`);
      unroll(em, `for (int mt = 0; mt < ${MT}; ++mt)`, () => em.line(`mma_${dt}(&${n}[(mt * ${NT} + nt) * 4], a[mt], b[0], b[1]);`));
      em.leave();
      em.line("}");
    }
  }, partial);
  if (kSplit && exchanged) exchangePartials(em, n, MT * NT * 4, shape, exchange);
}

/**
 * Group g's partial sums x4 * 4 .. x4 * 4 + 3 of a k-split dot, as one float4 (16 bytes a thread,
 * thread after thread: no bank conflict, a quarter of the shared-memory instructions of floats).
 * `at` (a C expression) is the buffer.
 */
const exchangeSlot = (at: string, regs: number, shape: MmaShape, g: string, x4: string) =>
  `reinterpret_cast<float4*>(smem + ${at})[(${g} * ${regs / 4} + ${x4}) * ${shape.W * 32} + (tid % ${shape.W * 32})]`;
const LANES = ["x", "y", "z", "w"];

/** This group's partial sums of a k-split dot into the exchange buffer at `at`. */
export function exchangeWrite(em: DotEmitter, n: string, regs: number, shape: MmaShape, at: string): void {
  unroll(em, `for (int x = 0; x < ${regs / 4}; ++x)`, () =>
    em.line(`${exchangeSlot(at, regs, shape, "wcol", "x")} = make_float4(${LANES.map((_, c) => `${n}[4 * x + ${c}]`).join(", ")});`),
  );
}

/**
 * The sums of every group's partials into `n` (holding this group's own), the same bits in every
 * group. Two groups: its own plus the other's from the buffer at `at`, since a + b is b + a
 * exactly (half the reads). More: every group's from the buffer, in group order.
 */
export function exchangeRead(em: DotEmitter, n: string, regs: number, shape: MmaShape, at: string): void {
  unroll(em, `for (int x = 0; x < ${regs / 4}; ++x)`, () => {
    if (shape.WC === 2) {
      em.line(`const float4 o = ${exchangeSlot(at, regs, shape, "(1 - wcol)", "x")};`);
      em.line(LANES.map((c, i) => `${n}[4 * x + ${i}] = ${n}[4 * x + ${i}] + o.${c};`).join(" "));
      return;
    }
    for (let g = 0; g < shape.WC; g++) em.line(`const float4 p${g} = ${exchangeSlot(at, regs, shape, String(g), "x")};`);
    for (let i = 0; i < 4; i++) em.line(`${n}[4 * x + ${i}] = ${Array.from({ length: shape.WC }, (_, g) => `p${g}.${LANES[i]}`).join(" + ")};`);
  });
}

/** Sum a k-split dot's partial results over the column groups, through shared memory. */
export function exchangePartials(em: DotEmitter, n: string, regs: number, shape: MmaShape, at: number): void {
  em.line(`// ${n}: every column group summed part of k; add the parts (in group order, the same bits everywhere)`);
  em.line("__syncthreads();");
  exchangeWrite(em, n, regs, shape, String(at));
  em.line("__syncthreads();");
  exchangeRead(em, n, regs, shape, String(at));
}
