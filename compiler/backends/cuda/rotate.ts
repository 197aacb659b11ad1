// Scores one tile ahead, for loops whose first dot is split by k over column groups of warps on
// Hopper (MLA's q_nope·cᵀ, with q_rope·k_ropeᵀ accumulating onto it). As emitted before, each
// tile paid four barriers: two around the exchange of the groups' partial sums, one before the
// next latent copy, one before the next rope copy. Rotated, the dots of tile i + 1 are issued
// right after tile i's one barrier and their partial sums written to the exchange before tile
// i + 1's barrier, so each tile reads its summed scores right after that barrier; the tiles
// those dots read are triple-buffered and copied two tiles ahead, and the body's last dot (P·V
// into the carried output) is committed without a wait, waited for in the next tile right
// before its accumulator is rescaled: it runs beside that tile's exchange and softmax.
// Measured on an H200 (docs/performance-history.md, MLA pipeline experiment): 15% off the MLA split
// kernel, with the same results. It needs up to 227 KiB of shared memory: sm_90a only.
import type { Block, ForInst, Value } from "../../ir/ir.ts";
import { walkInsts } from "../../ir/ir.ts";
import { type CudaPlan, type MmaShape, readsInline } from "./plan.ts";
import { type Prefetch, restage } from "./prefetch.ts";

export interface Rotation {
  loop: ForInst;
  /** The k-split scores dot, then the dot accumulating onto it (if any): issued a tile early. */
  dots: Value[];
  /** The body's last dot when it accumulates in place into a carried tile: no wait after it. */
  deferred?: { dot: Value; carried: Value };
}

const stripT = (v: Value): Value => (v.op.kind === "transpose" ? v.op.a : v);

/** The loops whose scores dots run a tile ahead; their prefetched tiles become three-stage. */
export function rotations(body: Block, prefetch: Prefetch[], plan: CudaPlan): Map<ForInst, Rotation> {
  const out = new Map<ForInst, Rotation>();
  if (plan.shape.kind !== "mma" || plan.shape.WC < 2 || !plan.wgmma.size) return out;
  const WC = (plan.shape as MmaShape).WC;
  const loops = new Set(prefetch.map((p) => p.loop));
  for (const f of loops) {
    // The loop over whole tiles, where the time goes: a masked segment is at most a few tiles
    // (one, or the diagonal's), and rotating the first one, whose carried tiles start there,
    // had ptxas serialize the dots (its C7515 note on mla_paged).
    if (f.status !== "full" || f.maxTrips === 1) continue;
    const dots = f.body.insts.flatMap((i) => (i.kind === "def" && i.value.op.kind === "dot" ? [i.value] : []));
    const D = dots[0];
    if (!D || !plan.kSplit.has(D) || !plan.wgmma.has(D)) continue;
    const onto = dots.find((d) => plan.accumulateInto.get(d)?.addend === D);
    if (onto && (!plan.wgmma.has(onto) || (onto.op as Extract<Value["op"], { kind: "dot" }>).a.type.shape[1] % (16 * WC))) continue;
    const unit = onto ? [D, onto] : [D];
    // Issued at the body's top for the next index, the dots may read only tiles copied ahead in
    // this loop and values from outside it.
    const inBody = new Set<Value>();
    walkInsts(f.body, (i) => {
      if (i.kind === "def") inBody.add(i.value);
    });
    const ahead = new Set(prefetch.filter((p) => p.loop === f).map((p) => p.v));
    const ok = unit.every((d) => {
      const op = d.op as Extract<Value["op"], { kind: "dot" }>;
      return [stripT(op.a), stripT(op.b)].every((o) => ahead.has(o) || !inBody.has(o));
    });
    if (!ok) continue;
    const r: Rotation = { loop: f, dots: unit };
    const last = dots[dots.length - 1];
    const fused = plan.accumulateInto.get(last);
    const k = fused ? f.yields.indexOf(fused.sum) : -1;
    // Deferred only when updated in place (the emitter's rule): its wait then goes right before
    // the one read of the carried tile, inside the dot's own code.
    const inPlace = k >= 0 && plan.uses.get(fused!.sum) === 1 && plan.uses.get(f.carried[k]) === 1 && readsInline(plan, fused!.addend, f.carried[k]);
    if (!unit.includes(last) && plan.wgmma.has(last) && inPlace) r.deferred = { dot: last, carried: f.carried[k] };
    out.set(f, r);
    restage(prefetch, f, 3);
  }
  return out;
}
