// The generated package works on its own: `npm pack` it, install the tarball into an empty
// project (with Dawn for Node, and nothing of the compiler), and run a decode kernel from it
// in a child Node process on WebGPU; its output is checked against the float64 reference here.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pagedCase } from "./harness/paged.ts";
import { freshSeed, makeRng, relError } from "./reference/numeric.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

describe("the @flashtile/kernels package", () => {
  it("declares no dependency on the compiler", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "generated/package.json"), "utf8"));
    expect(pkg.name).toBe("@flashtile/kernels");
    expect(pkg.type).toBe("module");
    expect(pkg.dependencies ?? {}).toEqual({});
    for (const f of fs.readdirSync(path.join(ROOT, "generated/kernels"))) {
      const text = fs.readFileSync(path.join(ROOT, "generated/kernels", f), "utf8");
      expect(text).not.toMatch(/chevrotain|ts-morph|compiler\//);
    }
    expect(fs.readFileSync(path.join(ROOT, "generated/runtime.js"), "utf8")).not.toMatch(/chevrotain|ts-morph/);
  });

  it("packs, installs into a fresh project and runs a decode kernel in Node vs the reference", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flashtile-pkg-"));
    const tarball = execFileSync("npm", ["pack", path.join(ROOT, "generated"), "--pack-destination", dir, "--silent"], { cwd: dir, encoding: "utf8" }).trim().split("\n").pop()!;
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    // Dawn for Node comes from this checkout's node_modules (no download); the package itself from the tarball.
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", path.join(dir, tarball), path.join(ROOT, "node_modules/webgpu")], { cwd: dir, stdio: "pipe" });
    expect(fs.existsSync(path.join(dir, "node_modules/@flashtile/kernels/index.js"))).toBe(true);
    expect(fs.existsSync(path.join(dir, "node_modules/@flashtile/kernels/node_modules"))).toBe(false);

    // Inputs and the reference come from this process; the consumer only runs the kernel.
    const seed = freshSeed();
    const name = "gqa_paged.f32.g4.p16";
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "generated/manifest.json"), "utf8")).kernels[name][0];
    const c = pagedCase(manifest, { qLens: [1, 1, 1], kLens: [1, 339, 700], kvHeads: 2 }, makeRng(seed));
    const inputs = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, typeof v === "number" ? v : { ...v, data: Array.from(v.data) }]));
    fs.writeFileSync(path.join(dir, "case.json"), JSON.stringify({ name, inputs, outputs: c.outputs }));
    fs.writeFileSync(
      path.join(dir, "run.mjs"),
      `import fs from "node:fs";
import { getDevice, load, createTensor, poison, readTensor, kernelNames } from "@flashtile/kernels";
const c = JSON.parse(fs.readFileSync("case.json", "utf8"));
if (!kernelNames.includes(c.name)) throw new Error("missing kernel " + c.name);
const { device, info } = await getDevice();
const k = await load(device, info, c.name);
const args = {};
for (const [n, v] of Object.entries(c.inputs)) args[n] = typeof v === "number" ? v : createTensor(device, v.dtype, v.shape, v.data);
for (const [n, o] of Object.entries(c.outputs)) { args[n] = createTensor(device, o.dtype, o.shape); poison(device, args[n]); }
k.launch(args);
const out = {};
for (const n of Object.keys(c.outputs)) out[n] = Array.from(await readTensor(device, args[n]), (x) => (Number.isNaN(x) ? "NaN" : x === -Infinity ? "-inf" : x));
fs.writeFileSync("out.json", JSON.stringify(out));
process.exit(0);
`,
    );
    execFileSync(process.execPath, ["run.mjs"], { cwd: dir, stdio: "pipe" });
    const got = JSON.parse(fs.readFileSync(path.join(dir, "out.json"), "utf8")) as Record<string, (number | string)[]>;
    for (const [n, ref] of Object.entries(c.expected)) {
      const vals = got[n].map((x) => (x === "NaN" ? NaN : x === "-inf" ? -Infinity : (x as number)));
      expect(relError(vals, ref), `${n} (seed ${seed})`).toBeLessThan(c.tolerance[n]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
