// A gathered tile's copy in which each row's address is computed once. In a 16-byte cp.async
// copy the lanes of a warp split a row's chunks (16 lanes a 128-column 16-bit row), so where
// every row reads a table entry of its own (one-row pages) each of those lanes would read the
// entry and derive the address again: 16 table reads a thread and tile, each copy waiting on
// its own. Here lane k of each warp computes the address and predicate of the k-th row its
// warp copies, and every copy takes its row's from that lane by __shfl_sync: one table read a
// thread and tile, all in flight together. The copies themselves, their order and their chunks
// are those of copyChunks (copy-emit.ts): lanes still cover whole rows together (coalesced).
import type { Value } from "../../ir/ir.ts";
import { operands } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";
import type { CopyHost, CopyTeam } from "./copy-emit.ts";
import { elem, position } from "./elements.ts";

type Load = Extract<Value["op"], { kind: "load" }>;

/** Does v's element expression read its column (an iota along axis 1, through inline values)? */
function readsColumns(host: CopyHost, v: Value): boolean {
  if (v.op.kind === "iota") return v.op.axis === 1;
  if (host.plan.layout.get(v) !== "expr" && v.op.kind !== "load") return false;
  return operands(v.op).some((o) => readsColumns(host, o));
}

/**
 * Copy 16-bit tile v into region r by `team` (whole warps from its thread 0), each row's address
 * shuffled from the lane that computed it; false (nothing emitted) where that does not apply: a
 * warp's rows of all the copy's steps more than its 32 lanes, or an address or predicate that
 * reads the column other than as the tile's own run of columns.
 */
export function copyByLanes(em: CopyHost, v: Value, r: Region, team: CopyTeam): boolean {
  if (v.op.kind !== "load" || em.plan.converted.has(v) || em.plan.recast.has(v)) return false;
  const op = v.op as Load;
  const [R, C] = v.type.shape;
  const per = 16 / bytesOfName(v.type.dtype);
  const chunks = C / per;
  const T = team.threads;
  if (!Number.isInteger(chunks) || T % 32 || 32 % chunks || R % (T / chunks)) return false;
  const step = T / chunks; // rows the team copies a step
  const trips = R / step;
  const rpw = 32 / chunks; // rows a warp copies a step
  if (trips * rpw > 32) return false;
  // The column: the tile's run (start + c), last index of a tensor whose rows are contiguous.
  const cols = op.indices[op.indices.length - 1];
  if (cols.op.kind !== "iota" || cols.op.axis !== 1) return false;
  if ([...op.indices.slice(0, -1), ...(op.pred ? [op.pred] : [])].some((x) => readsColumns(em, x))) return false;
  em.align(op.tensor.name, 16);
  const site = position("r", "0");
  const ok = op.pred ? elem(em, op.pred, site) : "true";
  const at = em.offset(op.tensor.name, op.indices.map((x) => elem(em, x, site)));
  const tid = `(${team.tid})`;
  em.line(`// ${em.name(v)}: ${R} x ${C} into shared memory, 16-byte cp.async per ${per} elements; lane k of each warp computes the address of the k-th row its warp copies, the ${chunks} lanes copying a row take it by __shfl_sync (gather-lanes.ts)`);
  em.line("{");
  em.enter();
  em.line(`const int lane_k = ${tid} & 31, c = (${tid} % ${chunks}) * ${per};`);
  em.line("long long row_at = 0;");
  em.line("bool row_ok = false;");
  em.line(`if (lane_k < ${trips * rpw}) { // its row: step lane_k / ${rpw}, the warp's row lane_k % ${rpw} of the step`);
  em.enter();
  em.line(`const int r = (${tid} >> 5) * ${rpw} + lane_k % ${rpw} + (lane_k / ${rpw}) * ${step};`);
  em.line(`row_ok = ${ok};`);
  em.line(`row_at = row_ok ? ${at} : 0;`);
  em.leave();
  em.line("}");
  em.line("#pragma unroll");
  em.line(`for (int i = 0; i < ${trips}; ++i) {`);
  em.enter();
  em.line(`const int r = ${tid} / ${chunks} + i * ${step}, from = i * ${rpw} + lane_k / ${chunks};`);
  em.line("const bool ok = __shfl_sync(0xffffffffu, row_ok, from);");
  em.line("const long long src = __shfl_sync(0xffffffffu, row_at, from);");
  em.line(`cp_async16(smem + ${em.at(v, r, "r", "c")}, ${op.tensor.name} + src + c, ok);`);
  em.leave();
  em.line("}");
  em.leave();
  em.line("}");
  return true;
}
