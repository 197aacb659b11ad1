/// <reference types="@webgpu/types" />
import { type ScalarBoundSpec, type SymExpr } from "./manifest.js";
/** What the checker needs of a kernel: a KernelManifest has it, so does a lowered kernel. */
export interface KernelSignature {
  name: string;
  tensors: readonly SignatureTensor[];
  scalars: readonly {
    name: string;
    dtype: string;
    bounds?: readonly ScalarBoundSpec[];
  }[];
  dims: readonly string[];
}
export interface SignatureTensor {
  name: string;
  dtype: string;
  shape: readonly SymExpr[];
  /** "read_write" for tensors the kernel stores to. */
  access: "read" | "read_write";
}
/** The host-independent part of every tensor argument. */
export interface TensorLike {
  shape: readonly number[];
  /** Optional; when given it must match the kernel's dtype. */
  dtype?: string;
}
/** How one runtime's tensor arguments look and what it checks about their memory. */
export interface TensorRules<T extends TensorLike> {
  /** The form of a tensor argument, for messages: `{ buffer: GPUBuffer, shape: number[] }`. */
  form: string;
  /** Whether object `v` has that form (its shape is checked separately). */
  accepts(v: object): boolean;
  /**
   * Host checks once shape and dtype are right: the memory behind `value` holds `bytes` bytes
   * (`count` elements of the kernel's dtype), the buffer is usable, ... Call `fail` to refuse.
   */
  checkMemory(
    t: {
      arg: SignatureTensor;
      value: T;
      count: number;
      bytes: number;
    },
    fail: (msg: string) => never,
  ): void;
  /**
   * Why tensors `a` and `b` must not be passed together when either is written, as a phrase
   * ("share one buffer"), or undefined when they may.
   */
  conflict(
    a: {
      value: T;
      bytes: number;
    },
    b: {
      value: T;
      bytes: number;
    },
  ): string | undefined;
}
export interface Bound<T, A extends SignatureTensor = SignatureTensor> {
  /** Runtime dimensions, inferred from tensor shapes. */
  dims: Record<string, number>;
  /** Scalar arguments by name. */
  scalars: Record<string, number>;
  /** Tensor arguments in signature order. */
  tensors: {
    arg: A;
    value: T;
  }[];
}
/** Check `args` against `sig` and infer its runtime dimensions; throws on any mismatch. */
export declare function bindTensorArgs<T extends TensorLike, S extends KernelSignature>(
  sig: S,
  args: Record<string, unknown>,
  rules: TensorRules<T>,
): Bound<T, S["tensors"][number]>;
export type Grid = [number, number, number];
/**
 * The launch grid for bound arguments, padded to 3 axes; each axis must be a non-negative
 * integer. Device limits are the caller's to check (`checkGridLimit`).
 */
export declare function evalGrid(
  m: {
    name: string;
    grid: readonly SymExpr[];
    gridAxes: readonly string[];
  },
  bound: {
    dims: Record<string, number>;
    scalars: Record<string, number>;
  },
): Grid;
/** Throw if an axis of `grid` exceeds `max[axis]`; `unit` and `limitName(axis)` word the message. */
export declare function checkGridLimit(
  m: {
    name: string;
    gridAxes: readonly string[];
  },
  grid: Grid,
  max: readonly number[],
  unit: string,
  limitName: (axis: number) => string,
): void;
/**
 * Load-time checks of a manifest's signature that every runtime needs: unique names, inferable
 * dims, shapes and grid that mention only dims and scalars, 1 to 3 grid axes, and a uniform
 * block (WGSL) or parameter struct (CUDA) whose 4-byte fields fit and name a dim or scalar.
 * `fail` gets the reason (callers prefix "bad manifest").
 */
export declare function checkSignature(
  m: KernelSignature & {
    grid: readonly SymExpr[];
  },
  uniforms: {
    size: number;
    fields: readonly {
      name: string;
      offset: number;
      from: "dim" | "scalar";
    }[];
  },
  what: {
    uniforms: string;
    runtime: string;
  },
  fail: (msg: string) => never,
): void;
/** Evaluate a SymExpr; a name without a value means the manifest itself is inconsistent. */
export declare function evalOrFail(
  e: SymExpr,
  env: Record<string, number>,
  fail: (m: string) => never,
  where: string,
): number;
/** showSym without the parentheses around a whole top-level expression: `batch + 1`. */
export declare function showSymTop(e: SymExpr): string;
/** An expected shape as people write it: `[batch + 1, HEAD_DIM]`. */
export declare function showExpected(shape: readonly SymExpr[]): string;
export declare function showShape(shape: readonly unknown[]): string;
/** "rows = 3, cols = 4" for the names an expected shape mentions. */
export declare function showEnv(shape: readonly SymExpr[], env: Record<string, number>): string;
/** A value in a message: primitives as themselves, objects by their tag (`[object Object]`). */
export declare function showValue(v: unknown): string;
