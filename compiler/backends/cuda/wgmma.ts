// Hopper's warpgroup MMA (wgmma, sm_90a) for the dots that fit it, beside the mma.sync path.
//
// A warpgroup (4 consecutive warps) multiplies a 64-row A by a k16 x N B in one instruction,
// asynchronously: B (and A when it is a loaded tile) is read by the tensor cores straight from
// shared memory through a 64-bit descriptor, so no ldmatrix issues per 8 columns. Its
// accumulator layout is the mma.sync one stacked over N/8 column tiles, warp w of the group
// holding rows 16w..16w+15: with one 16-row tile per warp (MT = 1) the registers of every tile
// in the kernel are where the mma.sync path puts them, and only the dot itself changes. A from
// registers (P, or cached Q fragments) has mma.sync's A fragment layout too.
//
// Shared operand tiles use the layout wgmma's 128-byte swizzle reads: 64-column blocks of
// 128-byte rows, the 16-byte chunks of row r XORed with r % 8, each block 1024-byte aligned.
// The same tiles serve ldmatrix on sm_80 (conflict-free too), so both architectures compile
// from one source; `#if defined(__CUDA_ARCH_FEAT_SM90_ALL)` picks the instruction.
import { type Value } from "../../ir/ir.ts";
import type { Region } from "../common/shared-alloc.ts";
import type { CudaPlan, MmaShape } from "./plan.ts";
import { type DotEmitter, emitDot, exchangePartials, packFragment } from "./mma.ts";
import { groupColumns } from "./layouts.ts";
import { hopperOnly, hopperOnlyLines, hopperOnlyText } from "./hopper-only.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";

/** Is this 16-bit tile stored in the swizzled layout when the kernel uses wgmma? */
export const swizzleable = (v: Value): boolean =>
  (v.type.dtype === "f16" || v.type.dtype === "bf16") && v.type.shape.length === 2 && v.type.shape[1] % 64 === 0 && v.type.shape[0] % 8 === 0;

const stripT = (v: Value): Value => (v.op.kind === "transpose" ? v.op.a : v);

/** Columns of dot d that one warpgroup computes: its column group's slice when d is split. */
const groupN = (s: MmaShape, d: Value): number => d.type.shape[1] / (groupColumns(s, d.type.shape[1]) ? s.WC : 1);

/**
 * Can dot d run as wgmma? One 16-row tile per warp in whole warpgroups (a column group of warps
 * is a warpgroup: MLA's two groups of four), an A that is either in registers or a swizzleable
 * shared tile (not transposed), a swizzleable B, at most 256 columns per warpgroup (one
 * instruction). A k-split dot gives each group its share of the k steps, as on mma.sync.
 */
export function wgmmaFits(plan: CudaPlan, d: Value): boolean {
  const s = plan.shape;
  if (d.op.kind !== "dot" || s.kind !== "mma" || s.MT !== 1 || s.W % 4) return false;
  const N = groupN(s, d);
  if (N > 256 || N % 8) return false;
  const { a, b } = d.op;
  if (a.op.kind === "transpose") return false;
  if (plan.sharedOperands.has(a) && !plan.cachedFragments.has(a) && !swizzleable(a)) return false;
  const bt = stripT(b);
  // A split dot's B slice starts on a 64-column block (MN-major) or an 8-row group (K-major).
  if (N !== d.type.shape[1] && N % (b.op.kind === "transpose" ? 8 : 64)) return false;
  return swizzleable(bt);
}

/** Is C expression x one operand already: a name, or wrapped whole in one pair of parentheses? */
function atomic(x: string): boolean {
  if (/^\w+$/.test(x)) return true;
  if (!x.startsWith("(")) return false;
  let depth = 0;
  for (let i = 0; i < x.length; i++) {
    depth += x[i] === "(" ? 1 : x[i] === ")" ? -1 : 0;
    if (depth === 0) return i === x.length - 1;
  }
  return false;
}
const operand = (x: string) => (atomic(x) ? x : `(${x})`);

/**
 * Byte offset (C expression, from smem) of element (row, col) of tile v in region r: the
 * swizzled layout's, or row-major with the region's (padded) row stride.
 */
export function tileAt(r: Region, v: Value, swizzled: boolean, row: string, col: string): string {
  if (swizzled) return `${r.offset} + sw128(${row}, ${col}, ${v.type.shape[0]})`;
  const bytes = bytesOfName(v.type.dtype);
  return `${r.offset} + ${operand(row)} * ${r.stride} + ${operand(col)}${bytes > 1 ? ` * ${bytes}` : ""}`;
}

/** Helpers every kernel with swizzled tiles includes. */
export const SWIZZLE_HELPERS = `// Byte offset of element (row, col) of a 16-bit tile of \`rows\` rows in the 128-byte swizzled
// layout: 64-column blocks of 128-byte rows, block after block, the 16-byte chunks of row r
// XORed with r % 8 (wgmma's SWIZZLE_128B; ldmatrix and cp.async meet no bank conflicts in it).
__device__ __forceinline__ int sw128(int row, int col, int rows) {
  return (col >> 6) * rows * 128 + row * 128 + ((((col >> 3) & 7) ^ (row & 7)) << 4) + (col & 7) * 2;
}
// Shared memory written by ordinary stores or cp.async and read next by the tensor cores
// (wgmma reads through the async proxy) needs this fence in each writer before the barrier.
__device__ __forceinline__ void fence_async_proxy() {
${hopperOnlyText(`  asm volatile("fence.proxy.async.shared::cta;\\n" ::: "memory");`)}
}`;

/** Helpers every kernel with wgmma dots includes (only compiled for sm_90a). */
export const WGMMA_COMMON = hopperOnlyText(`// wgmma shared-memory matrix descriptor of a SWIZZLE_128B tile starting at p: address, leading
// and stride byte offsets (each >> 4), swizzle mode 1 (128 bytes) in bits 62-63.
__device__ __forceinline__ uint64_t sw128_desc(const unsigned char* p, unsigned lbo, unsigned sbo) {
  const uint64_t a = (unsigned)__cvta_generic_to_shared(p);
  return ((a & 0x3FFFF) >> 4) | ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(sbo >> 4) << 32) | (1ull << 62);
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit_wait() {
  asm volatile("wgmma.commit_group.sync.aligned;\\nwgmma.wait_group.sync.aligned 0;\\n" ::: "memory");
}
// A group committed without a wait (a dot run a tile ahead, or one whose result is read only at
// the next tile): wgmma_wait<N> later leaves at most the N youngest groups running.
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\\n" :: "n"(N) : "memory"); }
// Keeps the compiler from reading an accumulator before the wait (or moving writes past it).
__device__ __forceinline__ void reg_fence(float& r) { asm volatile("" : "+f"(r) :: "memory"); }`);

interface WgmmaForm {
  n: number;
  dt: "bf16" | "f16";
  /** A from registers (rs) or from shared memory through a descriptor (ss). */
  aRegs: boolean;
}

const formName = (f: WgmmaForm) => `wgmma_m64n${f.n}k16_${f.aRegs ? "rs" : "ss"}_${f.dt}`;

function formOf(plan: CudaPlan, d: Value): WgmmaForm {
  const op = d.op as Extract<Value["op"], { kind: "dot" }>;
  return { n: groupN(plan.shape as MmaShape, d), dt: op.a.type.dtype === "f16" ? "f16" : "bf16", aRegs: !plan.sharedOperands.has(op.a) || plan.cachedFragments.has(op.a) };
}

/** An inline-PTX wgmma's `regs` f32 accumulators: their placeholders (%0..) and their read-write operands (d[i]). */
export function accumulatorOperands(regs: number): { dList: string; dOps: string } {
  return {
    dList: Array.from({ length: regs }, (_, i) => `%${i}`).join(", "),
    dOps: Array.from({ length: regs }, (_, i) => `"+f"(d[${i}])`).join(", "),
  };
}

/** One inline-PTX wrapper per wgmma form the kernel's dots use: d += A·B, f32 accumulators. */
export function wgmmaHelpers(plan: CudaPlan, alsoShared = new Set<Value>()): string {
  const forms = new Map<string, WgmmaForm>();
  // A tiles some warps read from shared memory though the plan keeps them in registers (leader.ts).
  const shared = { ...plan, sharedOperands: new Set([...plan.sharedOperands, ...alsoShared]) };
  for (const d of plan.wgmma) {
    for (const p of [plan, shared]) forms.set(formName(formOf(p, d)), formOf(p, d));
  }
  const out: string[] = [];
  for (const [name, f] of [...forms].sort(([x], [y]) => x.localeCompare(y))) {
    const regs = f.n / 2;
    const { dList, dOps } = accumulatorOperands(regs);
    const a = f.aRegs ? `{%${regs}, %${regs + 1}, %${regs + 2}, %${regs + 3}}` : `%${regs}`;
    const next = regs + (f.aRegs ? 4 : 1);
    const aOps = f.aRegs ? `"r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3])` : `"l"(da)`;
    // scale-d = 1 (accumulate), A and B unscaled, then the transpose immediates: an A from shared
    // memory is K-major (trans-a 0); B is K-major (K^T: 0) or MN-major (V: 1).
    const imms = f.aRegs ? `1, 1, %${next + 1}` : `1, 1, 0, %${next + 1}`;
    const params = `float* d, ${f.aRegs ? "const uint32_t a[4]" : "uint64_t da"}, uint64_t db`;
    const asm = (scaleD: string) => [
      `  asm volatile("{\\n.reg .pred p;\\nsetp.ne.b32 p, ${scaleD}, 0;\\n"`,
      `               "wgmma.mma_async.sync.aligned.m64n${f.n}k16.f32.${f.dt}.${f.dt} {${dList}}, ${a}, %${next}, p, ${imms};\\n}\\n"`,
      `               : ${dOps}`,
      `               : ${aOps}, "l"(db), "n"(TRANS_B)${scaleD === "1" ? "" : `, "r"(add)`});`,
    ];
    out.push(
      `// d (64 x ${f.n} of this warpgroup, ${regs} floats a thread) += A (64 x 16, ${f.aRegs ? "mma.sync A fragments in registers" : "shared memory"}) · B (16 x ${f.n}, shared memory).`,
      `template <int TRANS_B> __device__ __forceinline__ void ${name}(${params}) {`,
      ...asm("1"),
      "}",
      // Not instantiated where unused: the PTX of kernels without it is unchanged.
      "// The same, but where add is 0 d = A · B (scale-d 0): a dot's first k step, so that its accumulator needs no zeroing (overlap-emit.ts).",
      `template <int TRANS_B> __device__ __forceinline__ void ${name}(${params}, int add) {`,
      ...asm(`%${next + 2}`),
      "}",
    );
  }
  return hopperOnlyLines(out).join("\n");
}

const unroll = (em: DotEmitter, head: string, body: () => void) => {
  em.line("#pragma unroll");
  em.line(`${head} {`);
  em.enter();
  body();
  em.leave();
  em.line("}");
};

/** Byte offset of k step `k` (a C expression) in a swizzled tile of `rows` rows: 64-column blocks, 32 bytes a step within one. */
const kOffset = (k: string, rows: number) => `(${k} >> 2) * ${rows * 128} + (${k} & 3) * 32`;

/**
 * The wgmma instructions of dot v into accumulator `acc` (no fence, commit or wait): all its k
 * steps, or with `split` this column group's share of them. A from registers must be packed in
 * `af` already (emitWgmmaDot). Each shared operand's descriptor is built once, at the dot's
 * first step for this warpgroup (`wg_row`, `wg_col`: the warpgroup's row block and column group,
 * warp-uniform), and stepped by constants: one 64-bit add a step instead of an address
 * conversion, masks and shifts, and ptxas keeps it in uniform registers (measured with the
 * scores a tile ahead: 846 -> 736 instructions a warp per MLA tile, 8% faster on an H200).
 */
/** With `overwrite`, the first step writes the accumulator (scale-d 0) instead of adding to it. */
export function wgmmaSteps(em: DotEmitter, plan: CudaPlan, v: Value, acc: string, split: boolean, overwrite = false): void {
  if (v.op.kind !== "dot") return;
  const shape = plan.shape as MmaShape;
  const f = formOf(plan, v);
  const { a, b: bView } = v.op;
  const b = stripT(bView);
  const steps = a.type.shape[1] / 16 / (split ? shape.WC : 1);
  // The group's first k step: a base its steps add to without leaving a 64-column block's
  // four 16-column steps out of order (whole blocks a group, or every group in the first block).
  const k0 = split ? `wg_col * ${steps}` : "0";
  if (split && steps % 4 && shape.WC * steps > 4) throw new Error(`a k-split wgmma dot of ${steps} steps a group`);
  // This group's first column of a split result (its slice of B).
  const first = f.n === v.type.shape[1] ? undefined : `wg_col * ${f.n}`;
  const rb = em.region(b)!;
  const R = b.type.shape[0];
  const kT = bView.op.kind === "transpose";
  em.line("{");
  em.enter();
  // B: K^T reads 16 columns of K's rows (a 32-byte step inside a 128-byte row, 64-column blocks
  // R * 128 bytes apart), its N rows 8 at a time 1024 bytes apart; V reads 16 rows (2048 bytes
  // on), its N columns 64 at a time R * 128 bytes apart. A group's slice starts `first` rows
  // (K^T) or `first` / 64 blocks (V) in.
  if (kT) em.line(`const uint64_t db = sw128_desc(smem + ${rb.offset}${first ? ` + ${first} * 128` : ""}${split ? ` + ${kOffset(k0, R)}` : ""}, 16, 1024);`);
  else em.line(`const uint64_t db = sw128_desc(smem + ${rb.offset}${first ? ` + ${first} / 64 * ${R * 128}` : ""}${split ? ` + ${k0} * 2048` : ""}, ${R * 128}, 1024);`);
  const aShared = !f.aRegs;
  if (aShared) {
    const ra = em.region(a)!;
    // A: this warpgroup's 64 rows (8 KiB into each 64-column block), 16 columns a step.
    em.line(`const uint64_t da = sw128_desc(smem + ${ra.offset} + wg_row * 8192${split ? ` + ${kOffset(k0, a.type.shape[0])}` : ""}, 16, 1024);`);
  }
  const k = split ? "kq" : "kk";
  unroll(em, `for (int ${k} = 0; ${k} < ${steps}; ++${k})`, () => {
    const bStep = `db + (uint64_t)((${kT ? kOffset(k, R) : `${k} * 2048`}) >> 4)${overwrite ? `, ${k} != 0` : ""}`;
    const trans = kT ? 0 : 1;
    if (f.aRegs) {
      if (split) throw new Error("a k-split wgmma dot with A in registers");
      const frag = plan.cachedFragments.has(a) ? `${em.name(a)}_frag[0][kk]` : "af[kk]";
      em.line(`${formName(f)}<${trans}>(${acc}, ${frag}, ${bStep});`);
    } else em.line(`${formName(f)}<${trans}>(${acc}, da + (uint64_t)((${kOffset(k, a.type.shape[0])}) >> 4), ${bStep});`);
  });
  em.leave();
  em.line("}");
}

/** One line after a wgmma wait: accumulator `name`'s registers are read (or rewritten) no earlier. */
export const regFences = (name: string, regs: number) => `for (int i = 0; i < ${regs}; ++i) reg_fence(${name}[i]);`;

/** The warp-uniform warpgroup indices wgmmaSteps builds descriptors from (sm_90a code only). */
export function wgmmaWarpgroup(shape: MmaShape): string[] {
  return hopperOnlyLines([
    "// This warp's warpgroup: its row block and column group, read from lane 0 so that ptxas knows",
    "// them warp-uniform and keeps the wgmma descriptors built from them in uniform registers.",
    `const int wg_row = __shfl_sync(0xffffffffu, warp >> 2, 0)${shape.WC > 1 ? ", wg_col = __shfl_sync(0xffffffffu, wcol, 0)" : ""};`,
  ]);
}

/** The comment naming dot v's wgmma: how many, which form, B's major order and slice. */
export function wgmmaComment(plan: CudaPlan, v: Value, acc: string, split: boolean): string {
  const op = v.op as Extract<Value["op"], { kind: "dot" }>;
  const f = formOf(plan, v);
  const steps = op.a.type.shape[1] / 16 / (split ? (plan.shape as MmaShape).WC : 1);
  const first = f.n === v.type.shape[1] ? undefined : `wcol * ${f.n}`;
  return `// ${acc} on this warpgroup's tensor cores: ${steps} x wgmma m64n${f.n}k16, B ${op.b.op.kind === "transpose" ? "K-major" : "MN-major"} from the swizzled tile${first ? ` (columns ${first}..)` : ""}${split ? " (this group's k steps)" : ""}`;
}

/**
 * Emit dot v as wgmma on sm_90a and as mma.sync elsewhere (same registers, same tiles). With
 * `accumulate` its registers are declared and hold the addend already; with `exchange` (a
 * k-split dot) each column group runs its share of the k steps and the groups add their partial
 * sums through shared memory at that offset afterwards, as on mma.sync. With `defer` (where the
 * wait is, for the comment) the group is committed and not waited for: a later wgmma_wait does that.
 */
export function emitWgmmaDot(em: DotEmitter, plan: CudaPlan, v: Value, accumulate: boolean, exchange?: number, defer?: string, steps?: (acc: string) => void): void {
  if (v.op.kind !== "dot") return;
  const shape = plan.shape as MmaShape;
  const f = formOf(plan, v);
  const { a } = v.op;
  const K = a.type.shape[1];
  const n = em.name(v);
  const regs = f.n / 2;
  const kSplit = exchange !== undefined;
  if (!accumulate) em.line(`float ${n}[${regs}] = {};`);
  hopperOnly(
    em,
    () => {
      if (!steps) em.line(wgmmaComment(plan, v, n, kSplit));
      em.line("{");
      em.enter();
      // A from registers is packed whole before the fence: registers written between two wgmma of
      // one batch make ptxas insert a fence there (its C7519 note), serializing the batch.
      if (f.aRegs && !plan.cachedFragments.has(a)) {
        em.line(`uint32_t af[${K / 16}][4];`);
        unroll(em, `for (int kk = 0; kk < ${K / 16}; ++kk)`, () => packFragment(em, a, f.dt, "0", "af[kk]"));
      }
      em.line("wgmma_fence();");
      // `steps`: other instructions for the same dot (split-scores.ts: FP8 wgmma on K's bytes).
      if (steps) steps(n);
      else wgmmaSteps(em, plan, v, n, kSplit);
      if (defer) em.line(`wgmma_commit(); // waited for ${defer}`);
      else {
        em.line("wgmma_commit_wait();");
        unroll(em, `for (int i = 0; i < ${regs}; ++i)`, () => em.line(`reg_fence(${n}[i]);`));
      }
      em.leave();
      em.line("}");
    },
    () => emitDot(em, v, shape, plan.cachedFragments, plan.sharedOperands.has(a), true, exchange, false),
  );
  if (kSplit) exchangePartials(em, n, regs, shape, exchange);
}
