// nvcc as the last stage of the CUDA backend: CUDA C → PTX for each target architecture, with
// ptxas's resource report (registers, spills, stack) kept in the manifest. Runs two nvcc at a
// time, and reuses the PTX of a previous build when the source is byte-for-byte the same.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { ARCHS, type Arch, archsFitting } from "./archs.ts";
import { SM90_FEATURE } from "./hopper-only.ts";

export { ARCHS, type Arch, archsFitting };
/**
 * PTX shipped in the package: sm_80 PTX runs on Ampere and, compiled by the driver at load, on
 * Hopper too (the mma.sync path uses nothing Hopper-only); shipping one keeps the package small.
 * A kernel whose CUDA C has a path of its own for newer GPUs (it tests `__CUDA_ARCH__`, as the
 * E4M3 widening does, or `__CUDA_ARCH_FEAT_SM90_ALL`, as wgmma dots do) ships sm_90a PTX as
 * well, which the runtime picks on Hopper.
 */
export function shippedArchs(code: string): Arch[] {
  return code.includes("__CUDA_ARCH__") || code.includes(SM90_FEATURE) ? ["sm_80", "sm_90a"] : ["sm_80"];
}

export interface Resources {
  registers: number;
  spillStores: number;
  spillLoads: number;
  stackBytes: number;
  sharedBytes: number;
}

export interface PtxBuild {
  ptx: Record<Arch, string>;
  resources: Record<Arch, Resources>;
  /**
   * ptxas's numbered notes, such as C7512 (wgmma serialized for want of registers) or C7519
   * (a fence injected between wgmma): fresh builds only, not kept in the manifest.
   */
  notes?: Record<Arch, string[]>;
}

export class NvccError extends Error {}

export function nvccPath(): string | undefined {
  for (const p of [process.env.NVCC, "/usr/local/cuda/bin/nvcc", "/usr/local/bin/nvcc", "/usr/bin/nvcc"]) if (p && fs.existsSync(p)) return p;
  return undefined;
}

/** Parse `ptxas -v` output for one entry point. */
export function parsePtxasInfo(text: string): Resources {
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    registers: num(/Used (\d+) registers/),
    spillStores: num(/(\d+) bytes spill stores/),
    spillLoads: num(/(\d+) bytes spill loads/),
    stackBytes: num(/(\d+) bytes stack frame/),
    sharedBytes: num(/(\d+) bytes smem/),
  };
}

function run(cmd: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? Number((err as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) || 1 : 0 });
    });
  });
}

let slots = 2;
const waiting: (() => void)[] = [];
async function limited<T>(f: () => Promise<T>): Promise<T> {
  if (slots === 0) await new Promise<void>((r) => waiting.push(r));
  slots--;
  try {
    return await f();
  } finally {
    slots++;
    waiting.shift()?.();
  }
}

/** Compile one kernel's CUDA C for every architecture (or those given: the ones its shared memory fits). */
export async function buildPtx(name: string, code: string, archs: readonly Arch[] = ARCHS): Promise<PtxBuild> {
  const nvcc = nvccPath();
  if (!nvcc) throw new NvccError("nvcc not found (set NVCC, or install the CUDA toolkit)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flashtile-nvcc-"));
  try {
    fs.writeFileSync(path.join(dir, "k.cu"), code);
    const out = { ptx: {}, resources: {}, notes: {} } as Required<PtxBuild>;
    for (const arch of archs) {
      const sub = path.join(dir, arch);
      fs.mkdirSync(sub);
      const num = arch.slice(3);
      const r = await limited(() =>
        run(nvcc, ["-cubin", `-gencode=arch=compute_${num},code=${arch}`, "-Xptxas", "-v", "-std=c++17", "--keep", "--keep-dir", sub, "-o", path.join(sub, "k.cubin"), path.join(dir, "k.cu")], dir),
      );
      if (r.code !== 0) throw new NvccError(`nvcc failed on ${name} for ${arch}:\n${r.stderr}`);
      out.ptx[arch] = fs.readFileSync(path.join(sub, "k.ptx"), "utf8");
      out.resources[arch] = parsePtxasInfo(r.stderr);
      out.notes[arch] = r.stderr.split("\n").filter((l) => /\(C\d{4}\)/.test(l));
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
