// The parts of a tile store that depend on the row alone, computed once a row before the element
// loops instead of once an element.
//
// Why: a store of an [M, N] tile is unrolled into one statement per element a thread owns (128 in
// MLA's 64 x 512 output), and each statement carried its whole expression. Two kinds of row-only
// work were repeated in every one:
//   - integer division or remainder by a runtime value (a row's token and head, `qi / heads`,
//     `qi % heads`), emulated in about 20 instructions each;
//   - the normalization `acc / l`, an IEEE division an element with a slow-path branch around
//     each (BSSY/BSYNC in the SASS).
// On the H200 the straight-line epilogue this made (about 10000 SASS instructions, each run once)
// drew a third of mla_paged's stall samples (Nsight Compute,
// bench/results/h200-ncu-mla-sass-paged-vs-split-2026-11-29.txt); with this change mla_paged took
// 7-20% less time at 64 x 4096 (h200-row-hoist-2026-11-29.log; the split kernels, whose rows need
// no division, did not change). Here such values become a small register array indexed by the
// row's slot, and a division of the tile by a row value becomes a multiply by the row's
// reciprocal (within 1.5 ulp of the quotient in f32, against 0.5: far inside what a 16-bit output
// or a merge of partials keeps).
import type { Value } from "../../ir/ir.ts";
import { isFloat, operands } from "../../ir/ir.ts";
import { type ElementContext, elem } from "./elements.ts";
import type { Site } from "./layouts.ts";
import { regType } from "./syntax.ts";
import type { TileHost } from "./tile-emit.ts";

/** What the hoisting needs of the tile statements' host: elements, the layout, lines, owned loops. */
type RowHost = Pick<TileHost, keyof ElementContext | "layout" | "line" | "owned">;

/**
 * Emits the row arrays of the row-only parts of `roots` (a store's value, indices and predicate
 * over a tile of shape `full`) and returns the context whose element expressions read them; the
 * host itself where there is nothing to hoist.
 */
export function hoistRows(h: RowHost, roots: Value[], full: number[]): ElementContext {
  if (full.length !== 2 || full[0] <= 1 || full[1] <= 1) return h;
  const rowShape = [full[0], 1];
  const slot = (site: Site) => site.slot(rowShape);
  const inline = (v: Value) => h.plan.layout.get(v) === "expr";
  const rowOnly = (v: Value) => v.type.shape.length === 2 && v.type.shape[0] === full[0] && v.type.shape[1] === 1;
  // An inline value that divides integers by something not a constant (ptxas turns a constant
  // divisor into a multiply already).
  const divides = (v: Value): boolean =>
    inline(v) &&
    ((v.op.kind === "binary" && (v.op.op === "div" || v.op.op === "rem") && !isFloat(v.type.dtype) && v.op.b.op.kind !== "const") ||
      operands(v.op).some(divides));

  const bound = new Map<Value, string | ((site: Site) => string)>(h.bound ?? []);
  const ctx: ElementContext = { plan: h.plan, name: (v) => h.name(v), offset: (t, i) => h.offset(t, i), bound };
  const rows: { name: string; type: string; value: (site: Site) => string }[] = [];
  const hoist = (name: string, type: string, value: (site: Site) => string) => {
    rows.push({ name, type, value });
    return (site: Site) => `${name}[${slot(site)}]`;
  };
  const seen = new Set<Value>();
  const walk = (v: Value): void => {
    if (seen.has(v) || bound.has(v) || !inline(v)) return;
    seen.add(v);
    const op = v.op;
    if (rowOnly(v) && divides(v)) {
      bound.set(v, hoist(`${h.name(v)}_row`, regType(v.type.dtype), (site) => elem(h, v, site)));
      return;
    }
    if (op.kind === "binary" && op.op === "div" && v.type.dtype === "f32" && rowOnly(op.b) && v.type.shape[1] > 1) {
      const { a, b } = op;
      const rcp = hoist(`${h.name(v)}_rcp`, "float", (site) => `1.0f / ${elem(h, b, site)}`);
      bound.set(v, (site) => `(${elem(ctx, a, site)} * ${rcp(site)})`);
      walk(a);
      return;
    }
    operands(op).forEach(walk);
  };
  roots.forEach(walk);
  if (!rows.length) return h;
  for (const r of rows) {
    h.line(`${r.type} ${r.name}[${h.layout.registers(rowShape)}]; // once a row (row-hoist.ts)`);
    h.owned(rowShape, (site) => h.line(`${r.name}[${slot(site)}] = ${r.value(site)};`));
  }
  return ctx;
}
