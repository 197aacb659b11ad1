// E4M3 value tiles (the B of P·V) read straight into mma.sync B fragments, widened in registers:
// no shared-to-shared widening pass, none of its two barriers, and no shared memory for the
// widened tile, so more blocks fit an SM. The keys' counterpart is fp8-keys.ts.
//
// A lane (g, t4) of m16n8k16 needs, for column n = g of an n8 tile and k step kk, the values of
// rows 16kk + 2t4, +1 (b0) and 16kk + 2t4 + 8, +9 (b1) at that column: one byte of each of four
// rows. It reads the four bytes, packs them into one word and widens its two halves. (Reading a
// word of each row instead and permuting bytes would need the output's columns permuted.)
// Measured on an H200 as hand edits of the fp8 split decode first
// (bench/experiments/fp8_v_regs_variant.py and its natural-order twin): 1.2x, from 0.188 to
// 0.157 ms at 64 x 4096, page 16 (docs/performance-history.md).
import type { Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { type DotEmitter, packFragment, sharedAFragment } from "./mma.ts";
import type { CudaPlan, MmaShape } from "./plan.ts";

type DotOp = Extract<Value["op"], { kind: "dot" }>;

/**
 * Mark the widened value tiles (an fp8 cache's V cast to 16 bits, staged) whose every use is the
 * untransposed B of an mma.sync dot with one warp column group: their dots read the E4M3 copy.
 */
export function planRawValues(plan: CudaPlan, dots: Value[]): void {
  if (plan.shape.kind !== "mma" || plan.shape.WC !== 1 || plan.leader) return;
  const readers = new Map<Value, number>();
  for (const d of dots) {
    const { b } = d.op as DotOp;
    if (plan.wgmma.has(d) || plan.kSplit.has(d) || b.op.kind === "transpose" || !plan.staged.has(b)) continue;
    readers.set(b, (readers.get(b) ?? 0) + 1);
  }
  for (const [b, n] of readers) if (plan.uses.get(b) === n) plan.rawValues.add(b);
}

/**
 * The body of dot `acc` = A · V with V's B fragments read from its staged E4M3 tile `raw` (byte
 * rows) and widened to `dt` in registers: per k step, A's fragments, then per n8 tile four byte
 * reads a lane, one word, two widenings.
 */
export function rawValuesDot(em: DotEmitter, v: Value, shape: MmaShape, cached: Set<Value>, aInShared: boolean, raw: Region, dt: string, acc: string, NT: number): void {
  const a = (v.op as DotOp).a;
  const MT = shape.MT;
  const S = raw.stride;
  const wide = `e4m3x2_widen<${dt === "bf16"}>`;
  em.line(`// ${em.name(v)}: values read as E4M3 and widened in registers, a byte of each of four rows a lane and n8 tile (fp8-values.ts)`);
  em.line("#pragma unroll");
  em.line(`for (int kk = 0; kk < ${a.type.shape[1] / 16}; ++kk) {`);
  em.enter();
  em.line(`uint32_t a[${MT}][4];`);
  em.line("#pragma unroll");
  em.line(`for (int mt = 0; mt < ${MT}; ++mt) {`);
  em.enter();
  if (cached.has(a) || aInShared) sharedAFragment(em, a, shape, cached, "a[mt]", "kk", "mt");
  else packFragment(em, a, dt, "mt", "a[mt]");
  em.leave();
  em.line("}");
  em.line("#pragma unroll");
  em.line(`for (int nt = 0; nt < ${NT}; ++nt) {`);
  em.enter();
  em.line(`const unsigned char* vb = smem + ${raw.offset} + (kk * 16 + 2 * t4) * ${S} + nt * 8 + g;`);
  em.line(`const uint32_t x = (uint32_t)vb[0] | ((uint32_t)vb[${S}] << 8) | ((uint32_t)vb[${8 * S}] << 16) | ((uint32_t)vb[${9 * S}] << 24);`);
  em.line("#pragma unroll");
  em.line(`for (int mt = 0; mt < ${MT}; ++mt) mma_${dt}(&${acc}[(mt * ${NT} + nt) * 4], a[mt], ${wide}(x, 0), ${wide}(x, 1));`);
  em.leave();
  em.line("}");
  em.leave();
  em.line("}");
}
