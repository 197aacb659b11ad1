// The main job: compile kernels-src/ into generated/, then run every generated kernel once on
// the default WebGPU adapter against the float64 reference, and print a table.
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { main as cli } from "../compiler/cli/main.ts";
import { getDevice } from "../runtime/backends/webgpu/index.ts";
import { DEFAULT_CASES } from "../test/harness/registry.ts";
import { loadBest, readGenerated, runCase } from "../test/harness/webgpu.ts";
import { freshSeed, makeRng } from "../test/reference/numeric.ts";

const code = await cli(["compile", "kernels-src", "--out", "generated"]);
if (code !== 0) process.exit(code);
const set = readGenerated("generated");
const { device, info } = await getDevice();
console.log(`\nWebGPU adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(" / ")}` +
  ` (subgroups ${info.subgroupMinSize ?? "?"}-${info.subgroupMaxSize ?? "?"}, features: ${info.features.filter((f) => ["shader-f16", "subgroups", "timestamp-query"].includes(f)).join(", ")})`);
const seed = freshSeed();
const rng = makeRng(seed);
const rows: string[][] = [["kernel", "variant", "case", "max rel. error", "tolerance", "ms", ""]];
let failed = 0;
const diags = new Diagnostics();
// This job runs the WebGPU builds; instances built only for CUDA run in scripts/cuda-suite.ts.
const cudaOnly = Object.values(set.kernels).filter((vs) => !vs.some((v) => v.wgsl)).length;
for (const [name, all] of Object.entries(set.kernels)) {
  const variants = all.filter((v) => v.wgsl);
  if (!variants.length) continue;
  const build = DEFAULT_CASES[variants[0].kernel];
  if (!build) {
    rows.push([name, "-", "no reference case", "-", "-", "-", "SKIP"]);
    continue;
  }
  try {
    const k = await loadBest(device, info, set, name);
    const c = build(k.manifest, rng);
    const r = await runCase(device, k, c);
    const worst = Math.max(...Object.values(r.errors));
    const tol = Math.min(...Object.values(c.tolerance));
    if (!r.ok) failed++;
    rows.push([name, k.manifest.wgsl!.file.includes(".sg.") ? "subgroups" : "workgroup", c.label, worst.toExponential(2), tol.toExponential(0), r.ms.toFixed(1), r.ok ? "ok" : "FAIL"]);
  } catch (e) {
    failed++;
    rows.push([name, "-", "-", "-", "-", "-", `ERROR ${(e as Error).message.split("\n")[0]}`]);
  }
}
if (diags.list.length) console.error(formatDiagnostics(diags.list));
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const [i, r] of rows.entries()) {
  console.log(r.map((c, j) => c.padEnd(widths[j])).join("  ").trimEnd());
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
console.log(`\n${rows.length - 1 - failed} of ${rows.length - 1} WebGPU kernels match the reference (seed ${seed}).`);
if (cudaOnly) console.log(`${cudaOnly} instances are built for CUDA only (PTX in generated/cuda): on an NVIDIA GPU, node --import tsx scripts/cuda-suite.ts checks them.`);
process.exit(failed ? 1 : 0);
