/// <reference types="@webgpu/types" />
/** Element types a tensor argument may have. */
export type DType = "f32" | "f16" | "bf16" | "f8e4m3" | "i32" | "u32";
/**
 * A symbolic size: a number, a runtime dimension or scalar argument by name, or arithmetic on
 * those. Used for tensor shapes (`i32[batch + 1]`) and for the launch grid (`tiles(max_seqlen_q, 64)`).
 */
export type SymExpr =
  | number
  | string
  | {
      op: "add" | "sub" | "mul" | "div" | "ceil_div" | "max" | "min";
      args: [SymExpr, SymExpr];
    };
export interface TensorArg {
  name: string;
  /** Binding index in bind group 0. */
  binding: number;
  dtype: DType;
  /** Symbolic shape, outermost dimension first; row-major and contiguous. */
  shape: SymExpr[];
  /** "read" for inputs, "read_write" for tensors the kernel stores to. */
  access: "read" | "read_write";
  /** True for small i32 metadata (seqlens, page tables) that changes every step. */
  perStep: boolean;
}
export type BoundOp = ">" | ">=" | "<" | "<=";
/** `value op bound` must hold for a scalar argument; `message` is the spec's reason. */
export interface ScalarBoundSpec {
  op: BoundOp;
  value: number;
  message?: string;
}
/** Does `x` satisfy bound `b`? */
export declare function meetsBound(
  x: number,
  b: {
    op: BoundOp;
    value: number;
  },
): boolean;
export interface ScalarArg {
  name: string;
  dtype: "f32" | "i32" | "u32";
  /** True for values that change every step (max_seqlen_q); never baked into a launch plan. */
  perStep: boolean;
  /**
   * Bounds from the spec's `require` clauses on this argument (`softmax_scale > 0`): a launch
   * that breaks one is refused. The compiled code may rely on them (the row max taken before a
   * positive scale), so they are part of the ABI.
   */
  bounds?: ScalarBoundSpec[];
}
/** One 4-byte field of the uniform block: a runtime dimension or a scalar argument. */
export interface UniformField {
  name: string;
  type: "f32" | "i32" | "u32";
  /** Byte offset in the uniform buffer. */
  offset: number;
  from: "dim" | "scalar";
}
export interface WgslTarget {
  /** File name of the WGSL source, relative to the manifest. */
  file: string;
  entryPoint: string;
  workgroupSize: [number, number, number];
  /** What the device must offer for this variant to run. */
  requires: {
    features: string[];
    /** Subgroup operations assume at least this many lanes per subgroup (adapter's subgroupMinSize). */
    minSubgroupSize?: number;
    workgroupStorageBytes: number;
    invocations: number;
  };
  uniforms: {
    binding: number;
    size: number;
    fields: UniformField[];
  };
}
/**
 * A CUDA build of a kernel. Kernel parameters, in order: one device pointer per tensor (in
 * `tensors` order), then one struct passed by value holding the dims and scalar arguments laid
 * out exactly as `uniforms.fields` says (4-byte fields at their byte offsets, `uniforms.size`
 * bytes in all).
 */
export interface CudaTarget {
  /** CUDA C source file, relative to the manifest. */
  file: string;
  /** Gzipped PTX per target architecture ("sm_80"), files relative to the manifest's cuda/ folder. */
  ptx: Record<string, string>;
  entryPoint: string;
  blockDim: [number, number, number];
  /** Dynamic shared memory per block, in bytes (above 48 KiB needs the opt-in attribute). */
  sharedBytes: number;
  uniforms: {
    size: number;
    fields: UniformField[];
  };
  /**
   * Tensors the kernel copies with TMA: each takes one more parameter after the uniforms, the
   * 128-byte CUtensorMap the runtime encodes (in this order) for the bound tensor viewed as 2-D
   * [rows, last dim], copied in boxes of `box` = [columns, rows] elements, swizzled in shared
   * memory by `swizzle` bytes (0: none).
   */
  tensorMaps?: TensorMapSpec[];
  /**
   * Tensors the kernel reads or writes in units wider than one element (16-byte cp.async copies,
   * two-element stores), by name: the byte multiple their device address must be. Tensors not
   * listed need their element size only.
   */
  align?: Record<string, number>;
  /** What ptxas reported per architecture: registers, spills, stack (for tests and docs). */
  resources?: Record<
    string,
    {
      registers: number;
      spillStores: number;
      spillLoads: number;
      stackBytes: number;
      sharedBytes: number;
    }
  >;
}
/** A tensor a CUDA kernel copies with TMA (CudaTarget.tensorMaps). */
export interface TensorMapSpec {
  tensor: string;
  box: [number, number];
  swizzle: 0 | 32 | 64 | 128;
  /**
   * How many of the tensor's trailing dims make one row of the map's 2-D view (default 1, the
   * last dim): 2 sees k[tokens, heads, head_dim] as [tokens, heads x head_dim], so a box of 64
   * rows is 64 consecutive tokens of one head.
   */
  rowDims?: number;
}
export interface KernelManifest {
  /** Unique name of this instance, e.g. "mha_prefill.hd128.f32". */
  name: string;
  /** The kernel's name in its spec. */
  kernel: string;
  /** Where the spec lives, for people reading generated code. */
  source: {
    file: string;
    line: number;
  };
  /** Every compile-time parameter in force (tuned ones included). */
  params: Record<string, number | boolean | string>;
  /** Names of the parameters that came from the spec's tune space. */
  tuned: string[];
  tensors: TensorArg[];
  scalars: ScalarArg[];
  /** Runtime dimensions, inferred at launch from tensor shapes. */
  dims: string[];
  /** Launch grid, one entry per grid axis in spec order (x, y, z). */
  grid: SymExpr[];
  /** The grid axis names, in spec order. */
  gridAxes: string[];
  wgsl?: WgslTarget;
  cuda?: CudaTarget;
}
/** Evaluate a symbolic size given values for the names it mentions. */
export declare function evalSym(e: SymExpr, env: Record<string, number>): number;
/** Render a symbolic size as text, for error messages and generated docs. */
export declare function showSym(e: SymExpr): string;
/**
 * Solve a shape entry of the form `sym + c`, `sym - c`, `c * sym` or `sym * c` for `sym`, given
 * the entry's actual size: how a dimension seen only as `batch + 1` is inferred at launch.
 */
export declare function solveLinear(
  e: SymExpr,
  size: number,
):
  | {
      name: string;
      value: number;
    }
  | undefined;
/** Whether a runtime dimension can be inferred from tensor shapes (bare, or in a linear entry). */
export declare function dimInferable(
  m: {
    tensors: {
      shape: SymExpr[];
    }[];
  },
  dim: string,
): boolean;
