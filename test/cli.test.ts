// The CLI as an author uses it: help, check (diagnostics and exit codes), compile into a
// directory, and run --interpret, each as a real subprocess.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(ROOT, "bin/flashtile.mjs"), ...args], { cwd: ROOT, encoding: "utf8" });

describe("flashtile CLI", () => {
  it("--help lists the commands and exits 0", () => {
    const r = cli("--help");
    expect(r.status).toBe(0);
    for (const c of ["compile", "check", "run", "--interpret", "--dump-ir"]) expect(r.stdout).toContain(c);
  });

  it("check reports file:line:col diagnostics with a code frame and exits 1", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flashtile-cli-"));
    const spec = path.join(dir, "bad.ts");
    fs.writeFileSync(spec, `import { kernel } from "flashtile";\nexport const k = kernel\`\nkernel bad(x: f32[n], y: f32[n]) grid (i in tiles(n, 16)) {\n  let r = cols(i, 16)\n  store y[r] = load x[r] where r < nn\n}\`;\n`);
    const r = cli("check", spec);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.ts:5:36: error: unknown name 'nn'\n/);
    expect(r.stderr).toContain("5 |   store y[r] = load x[r] where r < nn");
    expect(r.stderr).toContain("hint: did you mean 'n'?");
    fs.rmSync(dir, { recursive: true });
  });

  it("check of the real specs exits 0; unknown options and commands exit 2", () => {
    expect(cli("check", "kernels-src/mha.ts").status).toBe(0);
    expect(cli("check", "--frobnicate").status).toBe(2);
    expect(cli("frobnicate").status).toBe(2);
    expect(cli("check", "no/such/dir").status).toBe(2);
  });

  // Builds mha.ts's CUDA kernels with nvcc from nothing, every occupancy and fallback level a
  // build needs (generate-cuda.ts): minutes on two busy cores.
  it("compile writes a package with WGSL and manifest to --out", { timeout: 900_000 }, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "flashtile-out-"));
    const r = cli("compile", "kernels-src/mha.ts", "--out", out);
    expect(r.status, r.stderr).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, "manifest.json"), "utf8"));
    // Eight WebGPU instances (f32/f16 x head dim 64/128 x causal or not); CUDA adds bf16 ones.
    const wgsl = Object.entries(manifest.kernels).filter(([, vs]) => (vs as { wgsl?: unknown }[]).some((v) => v.wgsl));
    expect(wgsl).toHaveLength(8);
    expect(fs.readFileSync(path.join(out, "wgsl/mha_prefill.f32.hd64.causal.wgsl"), "utf8")).toMatch(/@compute @workgroup_size\(\d+\)/);
    expect(JSON.parse(fs.readFileSync(path.join(out, "package.json"), "utf8")).name).toBe("@flashtile/kernels");
    fs.rmSync(out, { recursive: true });
  });

  it("run --interpret runs a kernel on the CPU and reports its error vs the reference", () => {
    const r = cli("run", "gqa_paged.f32.g1.p16", "kernels-src/gqa.ts", "--interpret");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gqa_paged\.f32\.g1\.p16 on the tile-IR interpreter/);
    const errs = [...r.stdout.matchAll(/rel\. error vs the float64 reference ([0-9.e+-]+)/g)].map((m) => Number(m[1]));
    expect(errs).toHaveLength(2);
    for (const e of errs) expect(e).toBeLessThan(1e-5);
  });

  it("--dump-ir prints the tile IR with the split loops", () => {
    const r = cli("check", "kernels-src/mha.ts", "--dump-ir");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("// mha_prefill.f32.hd64.causal");
    expect(r.stdout).toMatch(/for %\d+ in \[.*\) full/);
    expect(r.stdout).toMatch(/for %\d+ in \[.*\) partial mask/);
  });
});
