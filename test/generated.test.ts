// generated/ must be exactly what compiling kernels-src/ produces, and a few outputs are pinned
// as golden files (update them with `npx vitest run test/generated.test.ts -u`).
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileCudaKernels, compileKernels } from "../compiler/generate.ts";
import { packageFiles } from "../compiler/package/index.ts";

async function compileAll() {
  const diags = new Diagnostics();
  const kernels = compileKernels(["kernels-src"], diags);
  // CUDA sources are compared in full; their PTX is nvcc's (test/cuda-build.test.ts rebuilds it).
  const cuda = await compileCudaKernels(["kernels-src"], diags, { previous: "generated" });
  expect(diags.list.map((d) => formatDiagnostics([d]))).toEqual([]);
  const version = JSON.parse(fs.readFileSync("package.json", "utf8")).version;
  return { kernels, files: await packageFiles(kernels, version, undefined, cuda) };
}

function listFiles(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
  });
}

describe("generated/", () => {
  it("is up to date with kernels-src/ (run `npm run compile` after changing a spec or the compiler)", { timeout: 900_000 }, async () => {
    const { files } = await compileAll();
    const onDisk = listFiles("generated");
    expect(onDisk.sort()).toEqual([...files.keys()].sort());
    for (const [rel, content] of files) {
      if (typeof content === "string") expect(fs.readFileSync(path.join("generated", rel), "utf8"), rel).toBe(content);
      else expect(fs.readFileSync(path.join("generated", rel)).equals(content), rel).toBe(true);
    }
  });

  it("matches the golden WGSL and manifest of the causal f32 MHA prefill", async () => {
    const { kernels } = await compileAll();
    const k = kernels.find((x) => x.name === "mha_prefill.f32.hd64.causal")!;
    for (const v of k.variants) await expect(v.code).toMatchFileSnapshot(`golden/${v.manifest.wgsl!.file}`);
    await expect(`${JSON.stringify(k.variants.map((v) => v.manifest), null, 2)}\n`).toMatchFileSnapshot("golden/mha_prefill.f32.hd64.causal.json");
  });
});
