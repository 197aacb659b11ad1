// Row sums carried through a loop as each thread's part, combined across the row's threads once
// after the loop (FlashAttention keeps its softmax denominator so). The online softmax's
// `l = l * alpha + rowsum(p)` otherwise combines every tile's row sum across the four lanes that
// share a row (two shuffles and two adds a row, each waiting for the one before): a chain that
// Nsight Compute showed stalling the H200's hd128 prefill loop (about 3% of its stall samples on
// the adds after the shuffles, bench/results/h200-ncu-prefill-src-2026-11-30.txt). Each lane
// instead carries l over its own columns: alpha is the same in every lane of a row, so
// sum over lanes of (l_lane * alpha + part_lane) = l * alpha + rowsum(p), up to the order of the
// additions. The loop's first value must be zero (every lane's part of it is then zero), and the
// carried value is read by nothing in the loop but that update; loops that continue the segment
// before them (the same variables) carry the parts on, and the combine follows the last.
import { type Block, type ForInst, type Value, walkInsts } from "../../ir/ir.ts";

type Binary = Extract<Value["op"], { kind: "binary" }>;

export interface LazySums {
  /** Row sums emitted without the combine across the row's lanes. */
  reduces: Set<Value>;
  /** The loop results to combine right after each loop (the last of a chain). */
  combineAfter: Map<ForInst, Value[]>;
}

/** No row sum carried as parts (a build without this schedule). */
export const noLazySums: LazySums = { reduces: new Set(), combineAfter: new Map() };

const zero = (v: Value) => v.op.kind === "const" && v.op.value === 0;
const binary = (v: Value, op: string): Binary | undefined => (v.op.kind === "binary" && v.op.op === op ? v.op : undefined);

/**
 * The row sums of `body`'s loops that may be carried as parts. `uses`: how many instructions
 * read each value; `skip`: loops emitted by a schedule that reads carried rows otherwise (the
 * leader schedule publishes them to the other groups).
 */
export function lazySums(body: Block, uses: Map<Value, number>, skip: (f: ForInst) => boolean): LazySums {
  const reduces = new Set<Value>();
  // Each lazy chain's latest result and the loop that yields it: combined after that loop,
  // unless a later loop continues the chain from it.
  const pending = new Map<Value, ForInst>();
  walkInsts(body, (inst) => {
    if (inst.kind !== "for" || skip(inst)) return;
    inst.carried.forEach((_, k) => {
      const sum = updateSum(inst, k, uses);
      const init = inst.inits[k];
      const continued = init.op.kind === "result" && pending.has(init) && uses.get(init) === 1;
      if (!sum || (!continued && !zero(init))) return;
      pending.delete(init);
      reduces.add(sum);
      pending.set(inst.results[k], inst);
    });
  });
  const combineAfter = new Map<ForInst, Value[]>();
  for (const [r, f] of pending) combineAfter.set(f, [...(combineAfter.get(f) ?? []), r]);
  return { reduces, combineAfter };
}

/** The row sum r of `yield_k = carried_k * a + r` (either order), if that is carried_k's only use and r's. */
function updateSum(f: ForInst, k: number, uses: Map<Value, number>): Value | undefined {
  const c = f.carried[k];
  const y = f.yields[k];
  const add = binary(y, "add");
  if (!add || uses.get(c) !== 1 || uses.get(y) !== 1 || c.type.shape.length !== 2 || c.type.shape[1] !== 1) return undefined;
  for (const [m, r] of [[add.a, add.b], [add.b, add.a]]) {
    const mul = binary(m, "mul");
    if (!mul || uses.get(m) !== 1 || (mul.a !== c && mul.b !== c)) continue;
    const a = mul.a === c ? mul.b : mul.a;
    // alpha: one value a row (the same in every lane of it), not a tile.
    if (a === c || (a.type.shape.length === 2 && a.type.shape[1] !== 1)) continue;
    if (r.op.kind === "reduce" && r.op.op === "sum" && uses.get(r) === 1 && f.body.insts.some((i) => i.kind === "def" && i.value === r)) return r;
  }
  return undefined;
}

/** The values the bodies of these loops define (at any depth). */
export function definedIn(loops: Iterable<ForInst>): Set<Value> {
  const out = new Set<Value>();
  for (const f of loops) walkInsts(f.body, (i) => i.kind === "def" && out.add(i.value));
  return out;
}
