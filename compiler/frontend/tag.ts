// What kernel authors import: `kernel` is a tagged template. At run time it only records its
// text; the compiler reads the same template from the .ts source (through ts-morph), so every
// diagnostic can point at the author's file, line and column.

/** A DSL module: a spec (kernel) or a library of DSL functions, as written by the author. */
export interface KernelSource {
  readonly kind: "flashtile.kernel";
  /** The literal pieces of the template. */
  readonly strings: readonly string[];
  /** Interpolated values: other DSL modules whose functions this one uses. */
  readonly includes: readonly KernelSource[];
}

export function kernel(strings: TemplateStringsArray, ...includes: KernelSource[]): KernelSource {
  for (const inc of includes) {
    if (!inc || (inc as KernelSource).kind !== "flashtile.kernel") {
      throw new TypeError("kernel`...`: only other kernel`...` modules may be interpolated (as ${module})");
    }
  }
  return { kind: "flashtile.kernel", strings: strings.raw, includes };
}
