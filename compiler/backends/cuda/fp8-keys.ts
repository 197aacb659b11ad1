// E4M3 key tiles read straight into mma.sync B fragments, widened in registers: no shared-to-
// shared widening pass, none of its two barriers, no ldmatrix of the widened copy.
//
// A lane (g, t4) of m16n8k16 needs, for key g of an n8 tile and k step kk, the dims 16kk + 2t4,
// +1 (b0) and 16kk + 2t4 + 8, +9 (b1): two 2-byte pieces of an E4M3 row, 8 bytes apart. The
// reduction's order is free as long as A and B agree on it, so within each 32-column block the
// kernel takes dims in the order one 8-byte read per lane gives: bytes 8t4 .. 8t4 + 7 of block j
// are b0, b1 of step 2j, then b0, b1 of step 2j + 1. Slot s of step 2j + q then holds dim
//   32j + 8(s / 2) + 4q + s % 2           for s < 8,
//   32j + 8((s - 8) / 2) + 4q + 2 + s % 2 for s >= 8,
// and the A tile (the query, loaded once) has its columns put in that order in shared memory
// right after it lands, so its ldmatrix fragments match. Measured on an H200 as a hand edit
// first (bench/experiments/fp8_kreg_variant.py): 13-15% off the fp8 split decode.
import type { Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { type DotEmitter, sharedAFragment } from "./mma.ts";
import type { CudaPlan, MmaShape } from "./plan.ts";

/** At most this many 32-bit words a thread holds while the A tile's columns are reordered. */
const MAX_WORDS = 32;

type DotOp = Extract<Value["op"], { kind: "dot" }>;

/**
 * Mark the widened key tiles (T(K) of an fp8 cache, staged) whose every use is the transposed B
 * of an mma.sync dot whose A is a loaded shared tile, 32-column blocks wide, used only by such
 * dots; and those A tiles (their columns get reordered). One warp column group only.
 */
export function planRawKeys(plan: CudaPlan, dots: Value[]): void {
  const shape = plan.shape;
  if (shape.kind !== "mma" || shape.WC !== 1 || plan.leader) return;
  const byKey = new Map<Value, Value[]>();
  const byA = new Map<Value, Value[]>();
  for (const d of dots) {
    const { a, b } = d.op as DotOp;
    if (plan.wgmma.has(d) || plan.kSplit.has(d) || b.op.kind !== "transpose" || !plan.staged.has(b.op.a)) continue;
    if (a.op.kind !== "load" || !plan.sharedOperands.has(a) || a.type.shape[1] % 32 || a.type.shape[0] * a.type.shape[1] / 2 > MAX_WORDS * shape.threads) continue;
    if (plan.uses.get(b) !== 1) continue;
    byKey.set(b.op.a, [...(byKey.get(b.op.a) ?? []), d]);
    byA.set(a, [...(byA.get(a) ?? []), d]);
  }
  for (const [a, ds] of byA) {
    // Every use of A must read it in the new order, and every use of those keys must be such a dot.
    const keys = ds.map((d) => ((d.op as DotOp).b.op as Extract<Value["op"], { kind: "transpose" }>).a);
    if (plan.uses.get(a) !== ds.length || !keys.every((k) => plan.uses.get(k) === byKey.get(k)!.length && byKey.get(k)!.every((d) => (d.op as DotOp).a === a))) continue;
    plan.permutedK.add(a);
    // The widened tiles stay shared operands: their fill point is what keeps the staged copy live
    // up to the dot. Their regions are never written (in the split decode the space is V's
    // widened tile's anyway, the two lives being disjoint).
    keys.forEach((k) => plan.rawKeys.add(k));
  }
}

/**
 * Put A's columns in the key fragments' order (the module comment), in place, once it has landed:
 * every thread reads its words, all wait, every thread writes them back.
 */
export function permuteKeyOrder(em: DotEmitter, a: Value, threads: number): void {
  const [R, K] = a.type.shape;
  const W = K / 2;
  const n = (R * W) / threads;
  em.line(`// ${em.name(a)}'s columns reordered within each 32-column block as the E4M3 key fragments are read (fp8-keys.ts)`);
  em.line("{");
  em.enter();
  em.line(`uint32_t w[${Math.ceil(n)}];`);
  const each = (body: () => void) => {
    em.line("#pragma unroll");
    em.line(`for (int i = 0; i < ${Math.ceil(n)}; ++i) {`);
    em.enter();
    em.line(`const int e = tid + ${threads} * i, r = e / ${W}, wd = e % ${W};`);
    if (!Number.isInteger(n)) em.line(`if (r < ${R}) {`);
    body();
    if (!Number.isInteger(n)) em.line("}");
    em.leave();
    em.line("}");
  };
  // Word wd of a row holds slots 2 s2, 2 s2 + 1 of step 2j + q (wd = 16j + 8q + s2): the dims above.
  each(() => {
    em.line("const int q = (wd >> 3) & 1, s2 = wd & 7, src = (wd >> 4) * 32 + (s2 < 4 ? 8 * s2 : 8 * (s2 - 4) + 2) + 4 * q;");
    em.line(`w[i] = *reinterpret_cast<const uint32_t*>(smem + ${em.tileAt(a, "r", "src")});`);
  });
  em.line("__syncthreads();");
  each(() => em.line(`*reinterpret_cast<uint32_t*>(smem + ${em.tileAt(a, "r", "2 * wd")}) = w[i];`));
  em.line("__syncthreads();");
  em.leave();
  em.line("}");
}

/**
 * The body of dot `acc` = A · K^T with K's B fragments read from its staged E4M3 tile `raw` (byte
 * rows) and widened to `dt` in registers: per 32-column block, A's fragments of its two k steps,
 * then per n8 tile one 8-byte read a lane and four widenings.
 */
export function rawKeysDot(em: DotEmitter, v: Value, shape: MmaShape, cached: Set<Value>, raw: Region, dt: string, acc: string, NT: number): void {
  const a = (v.op as DotOp).a;
  const K = a.type.shape[1];
  const MT = shape.MT;
  em.line(`// ${em.name(v)}: keys read as E4M3 and widened in registers, 8 bytes a lane for two k steps (fp8-keys.ts)`);
  em.line("#pragma unroll");
  em.line(`for (int j = 0; j < ${K / 32}; ++j) {`);
  em.enter();
  em.line(`uint32_t a[2][${MT}][4];`);
  em.line("#pragma unroll");
  em.line(`for (int mt = 0; mt < ${MT}; ++mt) {`);
  em.enter();
  for (const q of [0, 1]) sharedAFragment(em, a, shape, cached, `a[${q}][mt]`, `(2 * j + ${q})`, "mt");
  em.leave();
  em.line("}");
  em.line("#pragma unroll");
  em.line(`for (int nt = 0; nt < ${NT}; ++nt) {`);
  em.enter();
  em.line(`const uint2 w = *reinterpret_cast<const uint2*>(smem + ${raw.offset} + (nt * 8 + g) * ${raw.stride} + j * 32 + t4 * 8);`);
  const wide = `e4m3x2_widen<${dt === "bf16"}>`;
  em.line(`const uint32_t b0 = ${wide}(w.x, 0), b1 = ${wide}(w.x, 1), b2 = ${wide}(w.y, 0), b3 = ${wide}(w.y, 1);`);
  em.line("#pragma unroll");
  em.line(`for (int mt = 0; mt < ${MT}; ++mt) {`);
  em.enter();
  em.line(`mma_${dt}(&${acc}[(mt * ${NT} + nt) * 4], a[0][mt], b0, b1);`);
  em.line(`mma_${dt}(&${acc}[(mt * ${NT} + nt) * 4], a[1][mt], b2, b3);`);
  em.leave();
  em.line("}");
  em.leave();
  em.line("}");
  em.leave();
  em.line("}");
}
