/// <reference types="@webgpu/types" />
/** What both the `webgpu` package and a bare `dawn.node` addon export. */
export interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}
/** Where Dawn was loaded from, for error messages. */
export declare function dawnSource(): string;
/**
 * Load Dawn: from DAWN_NODE_PATH when set (GPU machines that carry a prebuilt dawn.node but no
 * node_modules), else from the `webgpu` package.
 */
export declare function loadDawn(): Promise<DawnModule>;
/** A `GPU` object (what navigator.gpu is in a browser) backed by Dawn. */
export declare function nodeGPU(toggles: readonly string[]): Promise<GPU>;
