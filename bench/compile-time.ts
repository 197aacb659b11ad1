// Compile-time benchmark: how long the compiler takes over every spec in kernels-src/.
//
//   node --import tsx bench/compile-time.ts [--runs N]
//
// Measures, and prints (never asserts):
//  1. in process: the first compile (modules already imported, but ts-morph, Chevrotain and the
//     JIT still cold), then N warm compiles of the whole of kernels-src/ (median and min), each
//     split into front half (extract + parse + resolve), middle (specialize + lower + passes,
//     every instance) and WGSL backend (every variant);
//  2. as a subprocess: one cold `node bin/flashtile.mjs compile kernels-src --out <tmpdir>`, the
//     way a kernel author runs it (process start, tsx loader, imports, compile, writing files).
// and ends with a one-line verdict against the 2 s target for a cold compile.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BackendError, compileWgsl } from "../compiler/backends/wgsl/index.ts";
import { instanceChoices } from "../compiler/check/specialize.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../compiler/diagnostics/format.ts";
import { compileKernels } from "../compiler/generate.ts";
import { compileInstance, frontend } from "../compiler/pipeline.ts";
import { specFiles } from "../compiler/program.ts";

const TARGET_MS = 2000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const specDir = path.join(root, "kernels-src");
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 7) : 7;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x: number): string => `${x.toFixed(0).padStart(6)} ms`;

/** One whole compile, as `flashtile compile` does it, minus packaging and writing the files. */
function compileAll(): { instances: number; wgsl: number; diags: Diagnostics } {
  const diags = new Diagnostics();
  const kernels = compileKernels([specDir], diags, root);
  return { instances: kernels.length, wgsl: kernels.reduce((n, k) => n + k.variants.length, 0), diags };
}

/** The same compile with a clock around each half of the pipeline. */
function compilePhased(): { front: number; middle: number; backend: number } {
  const diags = new Diagnostics();
  let t = performance.now();
  const { units } = frontend(specFiles([specDir]), diags, root);
  const front = performance.now() - t;
  let middle = 0;
  let backend = 0;
  for (const unit of units) {
    for (const chosen of instanceChoices(unit.decl, diags)) {
      t = performance.now();
      const ir = compileInstance(unit, chosen, [], diags);
      middle += performance.now() - t;
      if (!ir) continue;
      t = performance.now();
      for (const subgroupReduce of [true, false]) {
        try {
          compileWgsl(ir, { subgroupReduce }, "");
        } catch (e) {
          if (!(e instanceof BackendError)) throw e;
        }
      }
      backend += performance.now() - t;
    }
  }
  return { front, middle, backend };
}

const specs = specFiles([specDir]).map((f) => path.relative(root, f));
console.log(`flashtile compile time: ${specs.length} spec files (${specs.join(", ")})`);
const load = os.loadavg().map((x) => x.toFixed(2)).join(" ");
console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "unknown cpu"}), node ${process.version}, ${os.platform()}/${os.arch()}, load average ${load}\n`);

// 1. In process.
let t0 = performance.now();
const first = compileAll();
const firstMs = performance.now() - t0;
const totals: number[] = [];
const phases = { front: [] as number[], middle: [] as number[], backend: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  t0 = performance.now();
  compileAll();
  totals.push(performance.now() - t0);
  const p = compilePhased();
  phases.front.push(p.front);
  phases.middle.push(p.middle);
  phases.backend.push(p.backend);
}
if (first.diags.hasErrors()) {
  // Print, don't stop: the timings still cover everything that compiles.
  console.log(`warning: kernels-src/ has ${first.diags.errorCount} errors; timings cover what compiles. The first:\n${formatDiagnostics(first.diags.list.slice(0, 1))}\n`);
}
console.log(`in process (${first.instances} kernel instances, ${first.wgsl} WGSL variants; packaging and writing not included):`);
console.log(`  first compile            ${ms(firstMs)}`);
console.log(`  warm compile, ${String(RUNS).padEnd(2)} runs     ${ms(median(totals))} median, ${ms(Math.min(...totals)).trim()} min`);
console.log(`    front (extract, parse) ${ms(median(phases.front))} median, ${ms(Math.min(...phases.front)).trim()} min`);
console.log(`    middle (lower, passes) ${ms(median(phases.middle))} median, ${ms(Math.min(...phases.middle)).trim()} min`);
console.log(`    WGSL backend           ${ms(median(phases.backend))} median, ${ms(Math.min(...phases.backend)).trim()} min`);

// 2. A cold CLI run in a fresh process.
const out = fs.mkdtempSync(path.join(os.tmpdir(), "flashtile-bench-"));
t0 = performance.now();
const r = spawnSync(process.execPath, [path.join(root, "bin/flashtile.mjs"), "compile", specDir, "--out", out], { cwd: root, encoding: "utf8" });
const coldMs = performance.now() - t0;
fs.rmSync(out, { recursive: true, force: true });
console.log(`\ncold subprocess: node bin/flashtile.mjs compile kernels-src --out <tmpdir>`);
console.log(`  wall clock               ${ms(coldMs)}`);
// The CLI reports its own time (from after its imports to the end), in one of two wordings:
// "... (N ms)" or "compiled ... in N ms; wrote ... in M ms".
const out1 = r.stdout ?? "";
const parts = /compiled .* in (\d+) ms; .* in (\d+) ms/.exec(out1);
const self = parts ? Number(parts[1]) + Number(parts[2]) : Number(/\((\d+) ms\)/.exec(out1)?.[1] ?? NaN);
if (Number.isFinite(self)) {
  const detail = parts ? `: compile ${parts[1]} ms, package and write ${parts[2]} ms` : "";
  console.log(`    compile + write        ${ms(self)} (the CLI's own count${detail})`);
  console.log(`    start, tsx, imports    ${ms(coldMs - self)} (the rest: node, the tsx loader, ts-morph, Chevrotain)`);
}
if (r.status !== 0) {
  const tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-5).join("\n    ");
  console.log(`  (the CLI exited with ${r.status ?? r.signal}; its last lines:\n    ${tail})`);
}
const verdict = coldMs <= TARGET_MS ? "within" : "OVER";
console.log(
  `\nverdict: a cold compile of kernels-src/ takes ${(coldMs / 1000).toFixed(2)} s, ${verdict} the ${TARGET_MS / 1000} s target ` +
    `(warm in-process compile ${(median(totals) / 1000).toFixed(2)} s, median of ${RUNS}).`,
);
