// The WGSL backend: plan the layouts, allocate workgroup memory, emit the entry point, and
// describe the result in a manifest (bindings, uniforms, workgroup size, grid, requirements).
import type { KernelManifest, UniformField, WgslTarget } from "../../../runtime/manifest.ts";
import { lineCol, type Span } from "../../diagnostics/source.ts";
import type { KernelIR } from "../../ir/ir.ts";
import { walkInsts } from "../../ir/ir.ts";
import { WgslEmitter } from "./emit.ts";
import { PlanError, anywhere, planKernel } from "./plan.ts";
import { allocateShared } from "../common/shared-alloc.ts";
import { ident, wgslType } from "./syntax.ts";

export interface WgslVariantOptions {
  /** Combine across a row's invocations with subgroup shuffles (needs subgroupMinSize >= TC). */
  subgroupReduce: boolean;
  maxThreads?: number;
  /** Workgroup memory the kernel may use (WebGPU's guaranteed minimum is 16 KiB). */
  maxWorkgroupBytes?: number;
}

export interface WgslKernel {
  code: string;
  target: WgslTarget;
  /** Suffix that tells variants of one instance apart ("" or ".sg"). */
  variant: string;
}

export class BackendError extends Error {
  constructor(
    message: string,
    readonly span?: Span,
    readonly hint?: string,
  ) {
    super(message);
  }
}

// OCP E4M3FN bits to f32: 4 exponent bits (bias 7), 3 mantissa bits, no infinities, 0x7f NaN.
const E4M3_DECODE = [
  "fn e4m3_to_f32(b: u32) -> f32 {",
  "  let e = (b >> 3u) & 15u;",
  "  let m = f32(b & 7u);",
  "  var v = select(ldexp(1.0 + m / 8.0, i32(e) - 7), m * 0.001953125, e == 0u); // subnormals: m * 2^-9",
  "  if ((b & 127u) == 127u) { v = bitcast<f32>(0x7fc00000u | b); } // NaN (from b: no constant NaN in WGSL)",
  "  return select(v, -v, (b & 128u) != 0u);",
  "}",
];

// f32 to E4M3 bits: round to nearest even, saturating at ±448 (as CUDA's __nv_fp8_e4m3(x)).
// Subnormals (below 2^-6) are multiples of 2^-9: WGSL's round() is half-to-even.
const E4M3_ENCODE = [
  "fn f32_to_e4m3(x: f32) -> u32 {",
  "  let b = bitcast<u32>(x);",
  "  let sign = (b >> 24u) & 128u;",
  "  let a = b & 0x7fffffffu;",
  "  if (a > 0x7f800000u) { return sign | 127u; } // NaN",
  "  if (a >= 0x43e00000u) { return sign | 126u; } // 448 and above (inf included) saturate",
  "  if (a < 0x3c800000u) { return sign | u32(round(bitcast<f32>(a) * 512.0)); } // below 2^-6",
  "  var q = (a >> 20u) & 7u;",
  "  let rest = a & 0xfffffu;",
  "  if (rest > 0x80000u || (rest == 0x80000u && (q & 1u) == 1u)) { q = q + 1u; }",
  "  let code = ((((a >> 23u) - 120u) << 3u) + q); // exponent rebiased 127 -> 7; a carry moves it up",
  "  return sign | min(code, 126u);",
  "}",
  "fn round_e4m3(x: f32) -> f32 {",
  "  return e4m3_to_f32(f32_to_e4m3(x));",
  "}",
];

/**
 * Accessors of element i of an fp8 tensor (byte i % 4 of word i / 4, little-endian): a reader, and
 * for a written tensor a writer that replaces its byte with two atomics.
 */
function fp8Access(name: string, written: boolean): string[] {
  const word = written ? `atomicLoad(&${name}[i >> 2u])` : `${name}[i >> 2u]`;
  const read = [`fn ${name}_at(i: u32) -> f32 {`, `  return e4m3_to_f32((${word} >> ((i & 3u) * 8u)) & 255u);`, "}"];
  if (!written) return read;
  return [
    ...read,
    `fn ${name}_put(i: u32, x: f32) {`,
    "  let shift = (i & 3u) * 8u;",
    `  atomicAnd(&${name}[i >> 2u], ~(255u << shift));`,
    `  atomicOr(&${name}[i >> 2u], f32_to_e4m3(x) << shift);`,
    "}",
  ];
}

export function compileWgsl(ir: KernelIR, opts: WgslVariantOptions, fileName: string): WgslKernel {
  for (const t of ir.tensors) {
    if (t.dtype === "bf16") throw new BackendError(`the WGSL backend has no bf16: tensor '${t.name}'`, t.span, "instantiate this kernel with f32 or f16 for WebGPU");
  }
  // fp8 values are f32 registers here: only loads and conversions (rounded to the grid) are exact.
  let fp8Casts = false;
  walkInsts(ir.body, (i) => {
    if (i.kind !== "def" || i.value.type.dtype !== "f8e4m3") return;
    if (i.value.op.kind === "cast") fp8Casts = true;
    else if (i.value.op.kind !== "load") {
      throw new BackendError("the WGSL backend computes nothing in f8e4m3: only loads of fp8 tensors and conversions to f8e4m3", i.value.span, "widen first, with f32(x) or f16(x)");
    }
  });
  let plan;
  try {
    plan = planKernel(ir, { maxThreads: opts.maxThreads ?? 256, preferTC: 8 });
  } catch (e) {
    if (e instanceof PlanError) throw new BackendError(e.message, e.span ?? ir.span, "dot(a, b^T) reads a transposed operand for free; elsewhere, transpose with a dot or change the indexing");
    throw e;
  }
  const deferred = new Set([...plan.sharedOperands].filter((v) => anywhere(plan, v)));
  // Rows padded by one element so the threads of a dot reading a column hit different banks.
  const shared = allocateShared(ir.body, plan.sharedOperands, deferred, (v) => {
    const pool = v.type.dtype === "f16" ? "f16" : "f32";
    const stride = v.type.shape[1] + (pool === "f16" ? 2 : 1);
    return { pool, stride, size: v.type.shape[0] * stride, align: 1 };
  });
  const sharedBytes = (shared.poolSize.f32 ?? 0) * 4 + (shared.poolSize.f16 ?? 0) * 2;
  const reduceTypes = new Set<string>();
  walkInsts(ir.body, (i) => {
    if (i.kind === "def" && i.value.op.kind === "reduce") reduceTypes.add(wgslType(i.value.type.dtype));
  });
  // Subgroup shuffles serve only row reductions: kernels without any get one variant.
  const sg = opts.subgroupReduce && plan.grid.TC > 1 && reduceTypes.size > 0;
  const useWgReduce = !sg && plan.grid.TC > 1;
  const redBytes = useWgReduce ? [...reduceTypes].length * plan.maxReduceRows * plan.grid.threads * 4 : 0;
  const wgBytes = sharedBytes + redBytes;
  const limit = opts.maxWorkgroupBytes ?? 32768;
  if (wgBytes > limit) {
    throw new BackendError(
      `needs ${wgBytes} bytes of workgroup memory but at most ${limit} are available`,
      ir.span,
      "use smaller BLOCK_M/BLOCK_N for this head size",
    );
  }
  const emitter = new WgslEmitter(ir, plan, shared, { subgroupReduce: sg });
  const body = emitter.emitBody();

  const f16 = ir.tensors.some((t) => t.dtype === "f16") || (shared.poolSize.f16 ?? 0) > 0;
  const fields: UniformField[] = [];
  const wgslFields: string[] = [];
  for (const d of ir.dims) {
    fields.push({ name: d, type: "i32", offset: fields.length * 4, from: "dim" });
    wgslFields.push(`  ${ident(d)}: i32,`);
  }
  for (const s of ir.scalars) {
    const type = s.dtype === "f32" ? "f32" : s.dtype === "u32" ? "u32" : "i32";
    fields.push({ name: s.name, type, offset: fields.length * 4, from: "scalar" });
    wgslFields.push(`  ${ident(s.name)}: ${type},`);
  }
  if (fields.length === 0) wgslFields.push("  unused: i32,");
  const uniformSize = Math.max(16, Math.ceil((Math.max(1, fields.length) * 4) / 16) * 16);

  const src = ir.span;
  const where = `${src.file.path}:${lineCol(src.file, src.start).line}`;
  const header = [
    `// Generated by flashtile from ${where} (kernel ${ir.kernel}). Do not edit: edit the spec and recompile.`,
    `// Instance ${ir.name}: ${Object.entries(ir.params).map(([k, v]) => `${k} = ${v}`).join(", ")}.`,
    `// ${plan.grid.threads} invocations as ${plan.grid.TR} rows x ${plan.grid.TC} columns${reduceTypes.size ? `; row reductions ${sg ? "by subgroup shuffles" : "through workgroup memory"}` : ""}.`,
  ];
  if (f16) header.push("enable f16;");
  if (sg) header.push("enable subgroups;");
  const decls: string[] = [];
  decls.push("struct Params {", ...wgslFields, "}");
  ir.tensors.forEach((t, i) => {
    // fp8 tensors are bytes packed four to a u32 word, read and written through helpers; a written
    // one is atomic, so invocations storing neighbouring bytes of one word do not race.
    const elem = t.dtype !== "f8e4m3" ? wgslType(t.dtype) : t.written ? "atomic<u32>" : "u32";
    decls.push(`@group(0) @binding(${i}) var<storage, ${t.written ? "read_write" : "read"}> ${t.name}: array<${elem}>;`);
  });
  const fp8 = ir.tensors.filter((t) => t.dtype === "f8e4m3");
  const encodes = fp8Casts || fp8.some((t) => t.written);
  if (fp8.length || fp8Casts) decls.push("", ...E4M3_DECODE, ...(encodes ? E4M3_ENCODE : []), ...fp8.flatMap((t) => fp8Access(t.name, t.written)));
  const uniformBinding = ir.tensors.length;
  decls.push(`@group(0) @binding(${uniformBinding}) var<uniform> P: Params;`);
  if (shared.poolSize.f32) decls.push(`var<workgroup> smem_f32: array<f32, ${shared.poolSize.f32}>;`);
  if (shared.poolSize.f16) decls.push(`var<workgroup> smem_f16: array<f16, ${shared.poolSize.f16}>;`);
  if (useWgReduce) for (const t of reduceTypes) decls.push(`var<workgroup> red_${t}: array<${t}, ${plan.maxReduceRows * plan.grid.threads}>;`);

  const code = [
    ...header,
    "",
    ...decls,
    "",
    `@compute @workgroup_size(${plan.grid.threads})`,
    "fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {",
    ...body,
    "}",
    "",
  ].join("\n");

  const features: string[] = [];
  if (f16) features.push("shader-f16");
  if (sg) features.push("subgroups");
  const target: WgslTarget = {
    file: fileName,
    entryPoint: "main",
    workgroupSize: [plan.grid.threads, 1, 1],
    requires: { features, minSubgroupSize: sg ? plan.grid.TC : undefined, workgroupStorageBytes: wgBytes, invocations: plan.grid.threads },
    uniforms: { binding: uniformBinding, size: uniformSize, fields },
  };
  return { code, target, variant: sg ? ".sg" : "" };
}

/** The runtime-facing description of a kernel instance (everything but the backend target). */
export function baseManifest(ir: KernelIR): KernelManifest {
  const src = ir.span;
  return {
    name: ir.name,
    kernel: ir.kernel,
    source: { file: src.file.path, line: lineCol(src.file, src.start).line },
    params: ir.params,
    tuned: ir.tuned,
    tensors: ir.tensors.map((t, i) => ({
      name: t.name,
      binding: i,
      dtype: t.dtype as KernelManifest["tensors"][number]["dtype"],
      shape: t.shape,
      access: t.written ? "read_write" : "read",
      perStep: (t.dtype === "i32" || t.dtype === "u32") && !t.written,
    })),
    scalars: ir.scalars.map((s) => ({ name: s.name, dtype: s.dtype as "f32" | "i32" | "u32", perStep: s.dtype !== "f32", ...(s.bounds ? { bounds: s.bounds } : {}) })),
    dims: ir.dims,
    grid: ir.grid.map((g) => g.extent),
    gridAxes: ir.grid.map((g) => g.name),
  };
}
