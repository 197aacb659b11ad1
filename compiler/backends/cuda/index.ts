// The CUDA backend: plan the thread layout, allocate shared memory, emit a __global__ function
// with the manifest's ABI (a pointer per tensor, then one by-value struct of dims and scalars),
// and describe it in a CudaTarget. nvcc.ts turns the source into PTX per architecture.
import type { CudaTarget, UniformField } from "../../../runtime/manifest.ts";
import { lineCol, type Span } from "../../diagnostics/source.ts";
import { type ForInst, type KernelIR, walkInsts } from "../../ir/ir.ts";
import { allocateShared } from "../common/shared-alloc.ts";
import { type Prefetch, issuePoints, prefetchPoints } from "./prefetch.ts";
import { type Rotation, rotations } from "./rotate.ts";
import { type LeaderLoop, leaderBytes, leaderLoops } from "./leader.ts";
import { leaderHelpers, widenTeam } from "./leader-emit.ts";
import { TMA_BOX_EVICT_FIRST, TMA_HELPERS, denseStaged, mapParam, tmaCopies } from "./tma.ts";
import { TMA_STREAM_HELPER, tmaStreams } from "./tma-stream.ts";
import { plainSplits, querySplits, splitHelpers, splitWidths } from "./split-scores.ts";
import { type Overlap, overlaps } from "./overlap.ts";
import { OVERLAP_HELPERS } from "./overlap-copy.ts";
import { type WarpSpecialized, warpSpecialize, wsCandidate } from "./warp-specialize.ts";
import { wsHelpers } from "./ws-emit.ts";
import { CudaEmitter } from "./emit.ts";
import { STAGE_MIN_BYTES, WS_STAGE_MIN_BYTES, stagedStores } from "./store-stage.ts";
import { noLazySums } from "./lazy-sums.ts";
import { storeShape } from "./tile-emit.ts";
import { BlockedLayout, MmaLayout } from "./layouts.ts";
import { MMA_HELPERS, exchangeBytes } from "./mma.ts";
import { SWIZZLE_HELPERS, WGMMA_COMMON, wgmmaHelpers } from "./wgmma.ts";
import { occupancyLine } from "./occupancy.ts";
import { CudaPlanError, type MmaShape, anywhere, planCuda } from "./plan.ts";
import { ident, memType } from "./syntax.ts";
import { MAX_SHARED } from "./archs.ts";
import { bytesOfName } from "../../../runtime/dtype.ts";

export class CudaBackendError extends Error {
  constructor(
    message: string,
    readonly span?: Span,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export interface CudaKernel {
  code: string;
  target: Omit<CudaTarget, "ptx" | "resources">;
  /** The blocks per SM its __launch_bounds__ asks for (tensor-core kernels of 4+ warps). */
  blocksPerSm?: number;
}

/** Shared memory a block may use on the GPUs we target (Hopper's opt-in maximum). */
export const MAX_SHARED_BYTES = MAX_SHARED.sm_90a;

// fp8 E4M3 tensors: widening eight values at a time in shared memory, for dot operands.
// sm_89 and later convert a pair of E4M3 values in one cvt (to f16; bf16 goes on through f32,
// exactly: every E4M3 value is an f16 normal, zero or NaN). The sm_80 PTX has no such cvt (CUDA's
// conversion there is a long software routine), so it moves the bits into place instead: an
// E4M3 byte's exponent and mantissa land in the f16 (bf16) fields and the pair is multiplied by
// 2^8 (2^120), the difference of the exponent biases. That product is exact, subnormals
// included; the NaN codes (0x7f, 0xff) are patched to NaN. A kernel with this arch-dependent
// path ships sm_90a PTX beside sm_80 (nvcc.ts).
const FP8_HELPERS = `// The E4M3 pair in the low (hi = 0) or high 16 bits of w as two f16 or bf16 values.
template <bool BF16> __device__ __forceinline__ uint32_t e4m3x2_widen(uint32_t w, int hi) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  uint32_t h;
  asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(h) : "h"((unsigned short)(hi ? w >> 16 : w)));
  if (!BF16) return h;
  const __nv_bfloat162 b = __float22bfloat162_rn(__half22float2(*reinterpret_cast<const __half2*>(&h)));
  return *reinterpret_cast<const uint32_t*>(&b);
#else
  const uint32_t t = __byte_perm(w, 0u, hi ? 0x3424 : 0x1404);  // the two bytes at bits 8..15, 24..31
  const uint32_t nan = __vcmpeq2(t & 0x7f007f00u, 0x7f007f00u);
  if (BF16) {
    const uint32_t bits = (t & 0x80008000u) | ((t & 0x7f007f00u) >> 4);
    const __nv_bfloat162 b = __hmul2(*reinterpret_cast<const __nv_bfloat162*>(&bits), __float2bfloat162_rn(0x1p120f));
    return *reinterpret_cast<const uint32_t*>(&b) | (nan & 0x7fc07fc0u);
  }
  const uint32_t bits = (t & 0x80008000u) | ((t & 0x7f007f00u) >> 1);
  const __half2 h = __hmul2(*reinterpret_cast<const __half2*>(&bits), __float2half2_rn(256.0f));
  return *reinterpret_cast<const uint32_t*>(&h) | (nan & 0x7e007e00u);
#endif
}
// Eight E4M3 values (8 bytes) to eight f16 or bf16 values (16 bytes) at dst, in order.
template <bool BF16> __device__ __forceinline__ void fp8x8_widen(unsigned char* dst, uint2 raw) {
  uint4 o;
  o.x = e4m3x2_widen<BF16>(raw.x, 0);
  o.y = e4m3x2_widen<BF16>(raw.x, 1);
  o.z = e4m3x2_widen<BF16>(raw.y, 0);
  o.w = e4m3x2_widen<BF16>(raw.y, 1);
  *reinterpret_cast<uint4*>(dst) = o;
}`;

const CONVERT_HELPERS = `// Converted tiles (plan.ts): 16 E4M3 values from global memory, zeros where !ok (a leader loop's
// first tile, copied by every thread), and 16 E4M3 values widened into two 16-byte chunks of a
// 16-bit tile, the first 8 at lo and the next 8 at hi (apart where the tile is swizzled).
__device__ __forceinline__ uint4 fp8x16_load(const void* src, bool ok) {
  return ok ? __ldg(reinterpret_cast<const uint4*>(src)) : make_uint4(0u, 0u, 0u, 0u);
}
template <bool BF16> __device__ __forceinline__ void fp8x16_store(unsigned char* lo, unsigned char* hi, uint4 raw) {
  fp8x8_widen<BF16>(lo, make_uint2(raw.x, raw.y));
  fp8x8_widen<BF16>(hi, make_uint2(raw.z, raw.w));
}`;

const RECAST_HELPERS = `// Recast tiles (plan.ts): 8 bf16 (TO_F16) or f16 values from global memory (zeros where !ok),
// rounded to the other 16-bit dtype, into 16 bytes of shared memory at dst.
template <bool TO_F16> __device__ __forceinline__ void recast8_copy(unsigned char* dst, const void* src, bool ok) {
  uint4 w = ok ? __ldg(reinterpret_cast<const uint4*>(src)) : make_uint4(0u, 0u, 0u, 0u);
  uint32_t* x = reinterpret_cast<uint32_t*>(&w);
  #pragma unroll
  for (int i = 0; i < 4; ++i) {
    if (TO_F16) {
      const __half2 h = __float22half2_rn(__bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&x[i])));
      x[i] = *reinterpret_cast<const uint32_t*>(&h);
    } else {
      const __nv_bfloat162 b = __float22bfloat162_rn(__half22float2(*reinterpret_cast<const __half2*>(&x[i])));
      x[i] = *reinterpret_cast<const uint32_t*>(&b);
    }
  }
  *reinterpret_cast<uint4*>(dst) = w;
}`;

// tanh in one MUFU.TANH (sm_75 and later), as exp() is __expf: a relative error under 2^-10.9.
// tanhf() spends an exp, a reciprocal and a polynomial with range checks a call.
const TANH_HELPER = `__device__ __forceinline__ float tanh_approx(float x) { float y; asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }`;

const COMMON_HELPERS = `// Integer division and remainder with the IR's meaning for a zero divisor (0), not C's.
__device__ __forceinline__ int safe_div(int a, int b) { return b == 0 ? 0 : a / b; }
__device__ __forceinline__ int safe_rem(int a, int b) { return b == 0 ? 0 : a % b; }
// 2^x in one MUFU.EX2 (as exp() is __expf): results under 2^-126 flush to zero. exp2f() adds a
// range check and two multiplies per call to keep those denormals, which no softmax needs.
__device__ __forceinline__ float exp2_ftz(float x) { float y; asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x)); return y; }
// 16 bytes global -> shared without passing through registers; zero-filled when !ok.
__device__ __forceinline__ void cp_async16(unsigned char* dst, const void* src, bool ok) {
  const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\\n" :: "r"(d), "l"(src), "r"(ok ? 16 : 0));
}
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.commit_group;\\ncp.async.wait_group 0;\\n" ::);
}
// Copies issued early (at the top of a loop iteration) are committed as groups and waited for
// right before their first use, leaving the N most recent groups in flight.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\\n" :: "n"(N)); }`;

export interface CudaOptions {
  /**
   * Emit Hopper's wgmma (sm_90a) for the dots of kernels whose every dot fits it (default true;
   * false keeps every kernel on mma.sync with padded tiles, as before the wgmma path).
   */
  wgmma?: boolean;
  /** Blocks per SM for a four-warp tensor-core kernel's __launch_bounds__ (default 2; occupancy.ts). */
  blocksPerSm?: number;
  /**
   * A build for this architecture alone (the spec's `target cuda sm_80:` clause, or a main build
   * over its shared memory): named in the header, and off Hopper it has no wgmma path to carry.
   */
  arch?: string;
  /** Why the build is for `arch` alone, for the header (default: the spec's clause). */
  archNote?: string;
  /** Stage wide output tiles through shared memory (store-stage.ts; default true). */
  stageStores?: boolean;
  /** Carry loops' row sums as each lane's part, added once after the loop (lazy-sums.ts; default true). */
  lazySums?: boolean;
  /** Copy whole tiles of one-buffer loops with TMA on sm_90a (tma-stream.ts; default true). */
  tmaStreams?: boolean;
  /** Run the next tile's scores beside this tile's P·V in one-warpgroup loops on sm_90a (overlap.ts; default true). */
  overlap?: boolean;
  /** The same for loops whose dots read widened fp8 tiles (default true; the build drops it before blocks an SM). */
  overlapWidened?: boolean;
  /** In those loops, the scores as FP8 wgmma on K's staged bytes, the query split in two E4M3 tiles (split-scores.ts; default true). */
  splitScores?: boolean;
  /** Unroll the copies of gathers from one-row pages in blocks of several warps (copy-emit.ts; default true). */
  unrolledGathers?: boolean;
  /**
   * The build ships sm_90a PTX alone (every other architecture has a build of its own): a kernel
   * may then take the warp-specialized schedule (warp-specialize.ts).
   */
  sm90Only?: boolean;
  /** Take the warp-specialized schedule where a kernel fits it (default true). */
  warpSpecialize?: boolean;
}

export function compileCuda(ir: KernelIR, fileName: string, opts: CudaOptions = {}): CudaKernel {
  let plan;
  try {
    plan = planCuda(ir, { maxWarps: 4, wgmma: (opts.wgmma ?? true) && (opts.arch === undefined || opts.arch === "sm_90a") });
  } catch (e) {
    if (e instanceof CudaPlanError) throw new CudaBackendError(e.message, e.span ?? ir.span);
    throw e;
  }
  const layout = plan.shape.kind === "mma" ? new MmaLayout(plan.shape) : new BlockedLayout(plan.shape);
  // A warp-specialized kernel's K and V tiles live in the producer's stages, past the pool.
  const wsCand = (opts.warpSpecialize ?? true) ? wsCandidate(ir, plan, opts.arch === "sm_90a" || !!opts.sm90Only) : undefined;
  const pooled = new Set([...plan.sharedOperands].filter((v) => !wsCand?.tiles.has(v)));
  const deferred = new Set([...pooled].filter((v) => anywhere(plan, v)));
  // 16-bit operand tiles, rows padded by 16 bytes (bank-conflict-free ldmatrix), 128-byte aligned.
  let prefetch: Prefetch[] = [];
  let rotated = new Map<ForInst, Rotation>();
  let leaders = new Map<ForInst, LeaderLoop>();
  const shared = allocateShared(
    ir.body,
    pooled,
    deferred,
    (v) => {
      // Swizzled tiles (wgmma kernels) need no padding, and 1024-byte alignment for the swizzle.
      const swizzled = plan.swizzled.has(v);
      const stride = v.type.shape[1] * bytesOfName(v.type.dtype) + (swizzled || denseStaged(plan, v) ? 0 : 16);
      const buffers = prefetch.find((p) => p.v === v)?.stages ?? 1;
      // Tiles read in registers from their E4M3 copy are never written: no bytes of their own.
      const rows = plan.rawKeys.has(v) || plan.rawValues.has(v) ? 0 : v.type.shape[0];
      return { pool: "bytes", stride, size: buffers * rows * stride, align: swizzled ? 1024 : 128 };
    },
    // Early copies overlap loads with compute but keep K and V resident together, so a block
    // needs shared memory for both: the spec's key tile sets that price. One-warp decode blocks
    // take 32-key tiles and keep the occupancy of 64-key tiles copied one at a time (measured on
    // an H200: 8-10% more at page 1, as fast or faster at pages 16 and 64).
    (fillBefore) => {
      if (plan.shape.kind !== "mma") return { issueBefore: new Map() };
      const issueBefore = issuePoints(ir.body, fillBefore, plan);
      prefetch = prefetchPoints(ir.body, issueBefore, plan);
      leaders = leaderLoops(prefetch, plan);
      rotated = rotations(ir.body, prefetch, plan);
      return { issueBefore, wholeLoop: new Map(prefetch.map((p) => [p.v, p.loop])) };
    },
    plan.staged,
  );
  // k-split dots (plan.kSplit) add their partial sums in one buffer past the operand tiles; a
  // loop whose scores run a tile ahead alternates two (rotate.ts).
  const exchangeAt = Math.ceil((shared.poolSize.bytes ?? 0) / 128) * 128;
  const exchange = Math.max(0, ...[...plan.kSplit].map((d) => exchangeBytes(d, plan.shape as MmaShape)));
  const exchangeBuffers = rotated.size ? 2 : 1;
  // Leader loops publish P and row factors past the operand tiles (one area: the loops run in turn).
  const leaderAt = Math.ceil((shared.poolSize.bytes ?? 0) / 1024) * 1024;
  const published = Math.max(0, ...[...leaders.values()].map((l) => leaderBytes(l, (plan.shape as MmaShape).M).size));
  let sharedBytes = exchange ? exchangeAt + exchangeBuffers * exchange : published ? leaderAt + published : (shared.poolSize.bytes ?? 0);
  // Tiles of leader loops that TMA copies on Hopper (tma.ts): two mbarriers each past the rest.
  const tma = plan.wgmma.size ? tmaCopies(prefetch, new Set(leaders.keys()), plan, Math.ceil(sharedBytes / 8) * 8) : { copies: [], maps: [] };
  if (tma.copies.length) sharedBytes = tma.copies[0].bars + tma.copies.length * 16;
  // Tiles of the other loops over whole tiles that TMA copies (tma-stream.ts): one mbarrier each.
  const rotatedOrLed = new Set([...leaders.keys(), ...rotated.keys()]);
  const streams = plan.wgmma.size && (opts.tmaStreams ?? true) ? tmaStreams(ir.body, prefetch, shared.issueBefore, rotatedOrLed, plan, tma.maps, Math.ceil(sharedBytes / 8) * 8) : [];
  if (streams.length) sharedBytes = streams[streams.length - 1].bar + 8;
  // One-warpgroup loops whose next scores run beside P·V (overlap.ts): V's second buffer past the rest.
  const overlapped = (opts.overlap ?? true) ? overlaps(streams, plan, sharedBytes, opts.overlapWidened ?? true) : { loops: new Map<ForInst, Overlap>(), end: sharedBytes };
  sharedBytes = overlapped.end;
  if (opts.splitScores ?? true) querySplits(overlapped.loops.values(), plan, shared.regions, streams, tma.maps);
  // Plain loops whose scores read K's staged bytes too: their query tiles past the rest.
  const doubledTiles = new Set(prefetch.filter((p) => p.stages > 1).map((p) => p.v));
  const skipSplit = new Set([...overlapped.loops.keys(), ...rotatedOrLed]);
  const plain = (opts.splitScores ?? true) ? plainSplits(ir.body, plan, shared.regions, streams, doubledTiles, skipSplit, sharedBytes) : { loops: new Map(), end: sharedBytes };
  sharedBytes = plain.end;
  const splitN = splitWidths([...overlapped.loops.values(), ...plain.loops.values()]);
  let ws: WarpSpecialized | undefined;
  if (wsCand) {
    ws = warpSpecialize(wsCand, plan, sharedBytes, tma.maps);
    sharedBytes = ws.end;
  }
  if (sharedBytes > MAX_SHARED_BYTES) {
    throw new CudaBackendError(`needs ${sharedBytes} bytes of shared memory but a block can have at most ${MAX_SHARED_BYTES}`, ir.span, "use smaller tiles for this head size");
  }
  const loops = ws ? new Map([...overlapped.loops, ...ws.loops]) : overlapped.loops;
  const emitter = new CudaEmitter(ir, plan, layout, shared, prefetch, exchangeAt, rotated, exchange, leaders, leaderAt, tma.copies, streams, loops, plain.loops, ws);
  if (opts.stageStores ?? true) emitter.staging = stagedStores(ir.body, storeShape, shared.poolSize.bytes ?? 0, ws ? WS_STAGE_MIN_BYTES : STAGE_MIN_BYTES);
  if (!(opts.lazySums ?? true)) emitter.lazy = noLazySums;
  emitter.unrolledGathers = opts.unrolledGathers ?? true;
  const body = emitter.emitBody();
  const align = emitter.alignment.manifest(ir.tensors);

  const fields: UniformField[] = [];
  const structFields: string[] = [];
  for (const d of ir.dims) {
    fields.push({ name: d, type: "i32", offset: fields.length * 4, from: "dim" });
    structFields.push(`  int ${ident(d)};`);
  }
  for (const s of ir.scalars) {
    const type = s.dtype === "f32" ? "f32" : s.dtype === "u32" ? "u32" : "i32";
    fields.push({ name: s.name, type, offset: fields.length * 4, from: "scalar" });
    structFields.push(`  ${type === "f32" ? "float" : type === "u32" ? "unsigned" : "int"} ${ident(s.name)};`);
  }
  if (!fields.length) structFields.push("  int unused;");
  const entry = ident(ir.name.replace(/\./g, "_"));
  const fp8 = ir.tensors.some((t) => t.dtype === "f8e4m3");
  // The widening helpers (and with them an sm_90a build, nvcc.ts) only where E4M3 is read: a
  // kernel that only writes E4M3 (the cache writes) converts with cuda_fp8.h's constructor.
  const fp8Reads = ir.tensors.some((t) => t.dtype === "f8e4m3" && !t.written);
  const src = ir.span;
  const where = `${src.file.path}:${lineCol(src.file, src.start).line}`;
  // A warp-specialized block: the consumers' warps, then the producer's warpgroup.
  const threads = ws ? plan.shape.threads + 128 : plan.shape.threads;
  const blocksPerSm = plan.shape.kind === "mma" && plan.shape.W >= 4 ? (threads >= 256 ? 1 : (opts.blocksPerSm ?? 2)) : undefined;
  const leaderNote = leaders.size ? `; the narrow tiles computed by group 0 alone, P and the row factors passed to the others through shared memory (leader.ts)` : "";
  const wsNote = ws
    ? `, in ${ws.stages.consumers} consumer warpgroups (${ws.stages.consumerRegs} registers a thread) and a producer warpgroup (${ws.stages.producerRegs}) copying K and V into two stages each (warp-specialize.ts)`
    : "";
  const shapeNote =
    plan.shape.kind === "mma"
      ? `${plan.shape.W} warps x ${plan.shape.MT} row tile(s) of 16${plan.shape.WC > 1 ? `, x ${plan.shape.WC} column groups splitting the ${plan.shape.SPLIT_N}-wide tiles` : ""}: the mma.sync accumulator layout${plan.wgmma.size ? `; its ${plan.wgmma.size} dot(s) run as wgmma on sm_90a, from 128-byte swizzled tiles` : ""}${leaderNote}${wsNote}`
      : `${plan.shape.TR} x ${plan.shape.TC} threads, blocked layout`;
  const params = [
    ...ir.tensors.map((t) => `${t.written ? "" : "const "}${memType(t.dtype)}* __restrict__ ${t.name}`),
    "const Params P",
    // One tensor map a TMA-copied tensor (and box), by value: the manifest's cuda.tensorMaps, in order.
    ...tma.maps.map((m, i) => `const __grid_constant__ TmaMap ${mapParam(m, i)}`),
  ];
  const code = [
    `// Generated by flashtile from ${where} (kernel ${ir.kernel}). Do not edit: edit the spec and recompile.`,
    `// Instance ${ir.name}: ${Object.entries(ir.params).map(([k, v]) => `${k} = ${v}`).join(", ")}.`,
    ...(opts.arch ? [`// The ${opts.arch} build: ${opts.archNote ?? `these parameters come from the spec's \`target cuda ${opts.arch}:\` clause`}; other architectures load the build of ${ir.name}.cu.`] : []),
    `// ${threads} threads (${shapeNote}); ${sharedBytes} bytes of dynamic shared memory.`,
    "#include <cuda_bf16.h>",
    "#include <cuda_fp16.h>",
    ...(fp8 ? ["#include <cuda_fp8.h>"] : []),
    "#include <stdint.h>",
    "",
    COMMON_HELPERS,
    ...(usesTanh(ir) ? [TANH_HELPER] : []),
    ...(fp8Reads ? ["", FP8_HELPERS] : []),
    ...(plan.converted.size ? [CONVERT_HELPERS] : []),
    ...(plan.recast.size ? [RECAST_HELPERS] : []),
    ...(plan.shape.kind === "mma" ? ["", MMA_HELPERS] : []),
    ...(plan.swizzled.size ? ["", SWIZZLE_HELPERS] : []),
    ...(plan.wgmma.size ? ["", WGMMA_COMMON, "", wgmmaHelpers(plan, new Set([...leaders.values()].flatMap((l) => l.tiles)))] : []),
    ...(leaders.size ? ["", leaderHelpers(threads, emitter.pairedLeaders, plan.converted.size ? widenTeam(plan.shape as MmaShape).threads : 0)] : []),
    ...(tma.copies.length || streams.length || ws ? ["", TMA_HELPERS] : []),
    ...(tma.copies.length ? [TMA_BOX_EVICT_FIRST] : []),
    ...(streams.length || ws ? [TMA_STREAM_HELPER] : []),
    ...(ws ? [wsHelpers(ws.stages)] : []),
    ...(overlapped.loops.size ? [OVERLAP_HELPERS] : []),
    ...(splitN.size ? [splitHelpers(splitN)] : []),
    "",
    "// Runtime dims and scalar arguments, passed by value (the manifest's uniform layout).",
    "struct Params {",
    ...structFields,
    "};",
    "",
    // Blocks of 128 threads: two per SM let ptxas use up to 255 registers a thread, three cap it
    // at 168 (the build tries three first where it fits, occupancy.ts); one block of 256.
    ...(blocksPerSm ? [occupancyLine(blocksPerSm)] : []),
    `extern "C" __global__ void __launch_bounds__(${threads}${blocksPerSm ? `, ${blocksPerSm}` : ""}) ${entry}(`,
    `    ${params.join(",\n    ")}) {`,
    `  extern __shared__ __align__(${plan.swizzled.size ? 1024 : 128}) unsigned char smem[];`,
    "  const float POS_INF = __int_as_float(0x7f800000), NEG_INF = __int_as_float(0xff800000), NAN_F = __int_as_float(0x7fc00000);",
    ...body,
    "}",
    "",
  ].join("\n");
  return {
    code,
    target: {
      file: fileName,
      entryPoint: entry,
      blockDim: [threads, 1, 1],
      sharedBytes,
      uniforms: { size: Math.max(4, fields.length * 4), fields },
      ...(tma.maps.length ? { tensorMaps: tma.maps } : {}),
      ...(Object.keys(align).length ? { align } : {}),
    },
    blocksPerSm,
  };
}

function usesTanh(ir: KernelIR): boolean {
  let found = false;
  walkInsts(ir.body, (inst) => {
    if (inst.kind === "def" && inst.value.op.kind === "unary" && inst.value.op.op === "tanh") found = true;
  });
  return found;
}
