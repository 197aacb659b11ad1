// `flashtile compile` and `flashtile check`: the kernel author's commands.
import fs from "node:fs";
import path from "node:path";
import { Diagnostics } from "../diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../diagnostics/format.ts";
import { compileCudaKernels, compileKernels } from "../generate.ts";
import { type PackageFiles, packageFiles } from "../package/index.ts";
import { printBlock } from "../ir/print.ts";
import { compileAll } from "../pipeline.ts";
import { runCommand } from "./run.ts";

const HELP = `flashtile — write attention kernels once as tile-DSL specs; compile them to WGSL and CUDA C.

Usage:
  flashtile compile [files|dirs...] [--out DIR]   compile specs (default kernels-src/) into the package in DIR (default generated/)
  flashtile check [files|dirs...]                 report diagnostics only; exit 1 on any error
  flashtile run INSTANCE [files|dirs...]          run one kernel instance once on WebGPU, on built-in random inputs,
      [--interpret]                               ... or on the CPU with the tile-IR interpreter (no GPU needed)
      [--case FILE.json] [--save FILE.json]       inputs from a file: {inputs: {name: number | {dtype, shape, data}}, outputs: {name: {dtype, shape}}}
  flashtile --help                                this text

Options for compile and check:
  --dump-ir    print each instance's tile IR after the passes
  --no-cuda-wgmma (compile) keep every CUDA kernel on mma.sync with padded tiles. By default,
               kernels whose every dot fits Hopper's wgmma run it on sm_90a (one 16-row tile per
               warp, whole warpgroups, 128-byte swizzled tiles) and mma.sync elsewhere

Examples:
  flashtile check kernels-src/gqa.ts
  flashtile run gqa_paged.f32.g4.p16 --interpret

A spec is a .ts file with kernel\`...\` templates (import { kernel } from "flashtile").
Diagnostics are printed as file:line:col: error: message, with the offending line.`;

interface Parsed {
  command?: string;
  /** For `run`: the instance name. */
  instance?: string;
  inputs: string[];
  out: string;
  help: boolean;
  dumpIr: boolean;
  interpret: boolean;
  wgmma?: boolean;
  casePath?: string;
  savePath?: string;
  errors: string[];
}

function parseArgs(argv: string[]): Parsed {
  const p: Parsed = { inputs: [], out: "generated", help: false, dumpIr: false, interpret: false, errors: [] };
  const value = (i: number, a: string): string | undefined => {
    const v = argv[i];
    if (!v || v.startsWith("-")) p.errors.push(`${a} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") p.help = true;
    else if (a === "--dump-ir") p.dumpIr = true;
    else if (a === "--interpret") p.interpret = true;
    else if (a === "--cuda-wgmma") p.wgmma = true; // the default; still accepted
    else if (a === "--no-cuda-wgmma") p.wgmma = false;
    else if (a === "--case") p.casePath = value(++i, a);
    else if (a === "--save") p.savePath = value(++i, a);
    else if (a === "--out" || a === "-o") {
      const v = argv[++i];
      if (!v) p.errors.push(`${a} needs a directory`);
      else p.out = v;
    } else if (a.startsWith("--out=")) p.out = a.slice(6);
    else if (a.startsWith("-")) p.errors.push(`unknown option '${a}'`);
    else if (!p.command) p.command = a;
    else if (p.command === "run" && !p.instance) p.instance = a;
    else p.inputs.push(a);
  }
  if (p.inputs.length === 0) p.inputs.push("kernels-src");
  return p;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.help || !args.command) {
    console.log(HELP);
    return args.help ? 0 : 1;
  }
  if (args.errors.length) {
    console.error(args.errors.map((e) => `error: ${e}`).join("\n"));
    console.error("run 'flashtile --help' for usage");
    return 2;
  }
  const missing = args.inputs.filter((i) => !fs.existsSync(i));
  if (missing.length) {
    console.error(missing.map((m) => `error: no such file or directory: ${m}`).join("\n"));
    return 2;
  }
  const diags = new Diagnostics();
  const t0 = performance.now();
  if (args.dumpIr) {
    for (const ir of compileAll(args.inputs, new Diagnostics())) console.log(`// ${ir.name}\n${printBlock(ir.body)}\n`);
  }
  switch (args.command) {
    case "run": {
      if (!args.instance) {
        console.error("error: flashtile run needs a kernel instance name (see generated/manifest.json or `flashtile check`)");
        return 2;
      }
      const code = await runCommand({ instance: args.instance, inputs: args.inputs, interpret: args.interpret, casePath: args.casePath, outPath: args.savePath }, diags);
      report(diags);
      return code;
    }
    case "check": {
      const kernels = compileKernels(args.inputs, diags);
      report(diags);
      if (!diags.hasErrors()) console.log(`ok: ${kernels.length} kernel instance${kernels.length === 1 ? "" : "s"} (${(performance.now() - t0).toFixed(0)} ms)`);
      return diags.hasErrors() ? 1 : 0;
    }
    case "compile": {
      const kernels = compileKernels(args.inputs, diags);
      report(diags);
      if (diags.hasErrors()) return 1;
      const compiled = performance.now();
      const cuda = await compileCudaKernels(args.inputs, diags, { previous: args.out, wgmma: args.wgmma });
      report(diags);
      if (diags.hasErrors()) return 1;
      const cudaDone = performance.now();
      const files = await packageFiles(kernels, await ownVersion(), args.out, cuda);
      writeTree(args.out, files);
      const t = (a: number, b: number) => `${(b - a).toFixed(0)} ms`;
      console.log(`compiled ${kernels.length} WGSL kernel instances in ${t(t0, compiled)} and ${cuda.length} CUDA ones (nvcc, PTX for sm_80 and sm_90a) in ${t(compiled, cudaDone)}; wrote the package (${files.size} files) to ${args.out}/ in ${t(cudaDone, performance.now())}`);
      return 0;
    }
    default:
      console.error(`error: unknown command '${args.command}'\nrun 'flashtile --help' for usage`);
      return 2;
  }
}

function report(diags: Diagnostics): void {
  if (diags.list.length) console.error(formatDiagnostics(diags.list));
  const n = diags.errorCount;
  if (n) console.error(`\n${n} error${n === 1 ? "" : "s"}`);
}

async function ownVersion(): Promise<string> {
  const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Write the files and remove stale ones from the directories we own (wgsl/, kernels/, runtime/). */
function writeTree(out: string, files: PackageFiles): void {
  const owned = new Set([...files.keys()].map((f) => f.split("/")[0]).filter((d, _, all) => all.length && !d.includes(".")));
  for (const d of owned) {
    const dir = path.join(out, d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir, { recursive: true, encoding: "utf8" })) {
      const rel = path.join(d, f);
      if (fs.statSync(path.join(out, rel)).isFile() && !files.has(rel)) fs.rmSync(path.join(out, rel));
    }
  }
  for (const [rel, text] of files) {
    const p = path.join(out, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const same = fs.existsSync(p) && (typeof text === "string" ? fs.readFileSync(p, "utf8") === text : fs.readFileSync(p).equals(text));
    if (!same) fs.writeFileSync(p, text);
  }
}
