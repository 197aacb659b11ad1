/// <reference types="@webgpu/types" />
// Node only: where WebGPU comes from when there is no navigator.gpu. device.ts loads this file
// with a dynamic import, and only when navigator.gpu is absent, so browser bundles never run it.
//
// The module specifiers below are held in variables on purpose: a bundler building for the
// browser would otherwise try to resolve and bundle `node:module` and the `webgpu` package
// (native addon, node:path, ...) and fail. Node resolves them at run time as usual.

/** What both the `webgpu` package and a bare `dawn.node` addon export. */
export interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

const NODE_MODULE = "node:module";
const WEBGPU_PACKAGE = "webgpu";

/** Where Dawn was loaded from, for error messages. */
export function dawnSource(): string {
  const path = dawnNodePath();
  return path ? `DAWN_NODE_PATH=${path}` : `the '${WEBGPU_PACKAGE}' package`;
}

function dawnNodePath(): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.DAWN_NODE_PATH || undefined;
}

/**
 * Load Dawn: from DAWN_NODE_PATH when set (GPU machines that carry a prebuilt dawn.node but no
 * node_modules), else from the `webgpu` package.
 */
export async function loadDawn(): Promise<DawnModule> {
  const path = dawnNodePath();
  if (path) {
    try {
      const { createRequire } = (await import(/* @vite-ignore */ NODE_MODULE)) as {
        createRequire(url: string): (id: string) => unknown;
      };
      return createRequire(import.meta.url)(path) as DawnModule;
    } catch (e) {
      throw new Error(`cannot load Dawn from DAWN_NODE_PATH=${path}: ${(e as Error).message}`);
    }
  }
  try {
    return (await import(/* @vite-ignore */ WEBGPU_PACKAGE)) as DawnModule;
  } catch (e) {
    throw new Error(
      `cannot load WebGPU for Node: install the '${WEBGPU_PACKAGE}' package (npm install webgpu) ` +
        `or set DAWN_NODE_PATH to a dawn.node addon (${(e as Error).message})`,
    );
  }
}

// One Dawn instance per set of toggles, held for the life of the process. Dawn crashes if the
// object returned by create() is garbage-collected while a device made from it is alive, and
// separate instances per call would gain nothing.
const instances = new Map<string, GPU>();

/** A `GPU` object (what navigator.gpu is in a browser) backed by Dawn. */
export async function nodeGPU(toggles: readonly string[]): Promise<GPU> {
  const key = toggles.join("\n");
  const cached = instances.get(key);
  if (cached) return cached;
  const dawn = await loadDawn();
  // Give Node the same globals a browser has (GPUBufferUsage, GPUMapMode, ...) so WebGPU code
  // written for browsers runs unchanged. Names already defined are left alone.
  for (const [name, value] of Object.entries(dawn.globals ?? {})) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  const gpu = dawn.create([...toggles]);
  instances.set(key, gpu);
  return gpu;
}
