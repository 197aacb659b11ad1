// The lines every kernel body starts with: the thread's coordinates in its layout (and, on
// Hopper, its warpgroup and the TMA copies' mbarriers), then each tensor's strides, in elements,
// from its shape (tensors are contiguous by the ABI).
import type { KernelIR } from "../../ir/ir.ts";
import type { CudaPlan } from "./plan.ts";
import { symC } from "./syntax.ts";
import { type TmaCopy, initBars } from "./tma.ts";
import { type TmaStream, initStreamBars } from "./tma-stream.ts";
import { wgmmaWarpgroup } from "./wgmma.ts";

export function preamble(ir: KernelIR, plan: CudaPlan, tma: TmaCopy[], streams: TmaStream[] = [], extraBars: number[] = []): string[] {
  const out = ["const int tid = threadIdx.x;"];
  if (plan.shape.kind === "mma") {
    const { W, WC } = plan.shape;
    if (WC > 1) {
      out.push(`// Warp (warp, wcol): rows of row warp \`warp\`, columns of group \`wcol\` of the ${plan.shape.SPLIT_N}-wide tiles.`);
      out.push(`const int warp = (tid >> 5) % ${W}, wcol = (tid >> 5) / ${W}, lane = tid & 31, g = lane >> 2, t4 = lane & 3;`);
    } else out.push("const int warp = tid >> 5, lane = tid & 31, g = lane >> 2, t4 = lane & 3;");
    if (plan.wgmma.size) out.push(...wgmmaWarpgroup(plan.shape));
    out.push(...initBars(tma), ...initStreamBars(streams, extraBars));
  } else {
    out.push(`const int tr = tid / ${plan.shape.TC}, tc = tid % ${plan.shape.TC};`);
  }
  for (const t of ir.tensors) {
    for (let d = 0; d < t.shape.length - 1; d++) {
      const factors = t.shape.slice(d + 1).map((x) => (typeof x === "number" ? `${x}LL` : `(long long)${symC(x)}`));
      out.push(`const long long ${t.name}_s${d} = ${factors.join(" * ")};`);
    }
  }
  return out;
}
