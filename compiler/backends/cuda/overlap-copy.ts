// The copies of a one-warpgroup overlapped loop (overlap-emit.ts): the next tiles' K and V, issued
// by TMA while a wgmma runs, so predicated rather than branched on.
import type { Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import type { CopyHost } from "./copy-emit.ts";
import { hopperOnlyText } from "./hopper-only.ts";
import type { Overlap } from "./overlap.ts";
import { forIndex } from "./tile-copies.ts";
import { type TmaStream, boxes, boxesOf } from "./tma-stream.ts";

/** A phase's one arrival and its TMA boxes, each issued only where `on` holds (no branch). */
export const OVERLAP_HELPERS = hopperOnlyText(`// The arrival and the boxes of a copy issued while a wgmma runs: predicated, not branched on (a
// divergent branch there makes ptxas serialize the wgmmas), thread 0's alone taking effect.
__device__ __forceinline__ void mbar_expect_if(bool on, unsigned char* bar, unsigned bytes) {
  asm volatile("{\\n.reg .pred p;\\nsetp.ne.b32 p, %2, 0;\\n@p mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\\n}\\n"
               :: "r"((unsigned)__cvta_generic_to_shared(bar)), "r"(bytes), "r"((int)on) : "memory");
}
__device__ __forceinline__ void tma_box_if(bool on, unsigned char* dst, const TmaMap* map, int x, int y, unsigned char* bar) {
  asm volatile("{\\n.reg .pred p;\\nsetp.ne.b32 p, %5, 0;\\n@p cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\\n}\\n"
               :: "r"((unsigned)__cvta_generic_to_shared(dst)), "l"(map), "r"(x), "r"(y), "r"((unsigned)__cvta_generic_to_shared(bar)), "r"((int)on) : "memory");
}`);

/** What a copy reads of the kernel emitter. */
export interface IssueHost extends CopyHost {
  name(v: Value): string;
  scalarOf(v: Value): string;
  renamed(pairs: [Value, string][], body: () => void): void;
}

/**
 * Stream s's tile t into region r onto mbarrier `bar` where `guard` holds, predicated: thread
 * 0's boxes, or lane j of the first warp's for page j. A paged copy's addresses read the page
 * table, so where the guard fails (t past the last tile) they are those of tile lo's instead.
 */
export function issueTile(h: IssueHost, o: Overlap, s: TmaStream, deps: Value[], t: string, guard: string, bar: string, r: Region): void {
  const [R, C] = s.v.type.shape;
  const pages = R / s.rows;
  const index = s.paged ? `((${guard}) ? ${t} : ${h.scalarOf(o.loop.lo)})` : t;
  h.line(`{ // ${h.name(s.v)} of tile ${t} by TMA: ${s.paged ? `lane j issues page j's boxes (${boxesOf(s, s.rows, pages)})` : boxesOf(s, R)}`);
  h.enter();
  forIndex(h, o.loop, index, deps, () => {
    if (!s.paged) {
      h.line(`const bool on = tid == 0 && (${guard});`);
      h.line(`mbar_expect_if(on, smem + ${bar}, ${R * C * s.bytes});`);
      boxes(h, s, r, "0", bar, "on");
      return;
    }
    h.line(`mbar_expect_if(tid == 0 && (${guard}), smem + ${bar}, ${R * C * s.bytes});`);
    h.line("__syncwarp();");
    h.line(`const bool on = tid < ${pages} && (${guard});`);
    h.line(`const int j = tid < ${pages} ? tid : 0;`);
    boxes(h, s, r, `(j * ${s.rows})`, bar, "on");
  });
  h.leave();
  h.line("}");
}
