// `flashtile compile` and `flashtile check`: the kernel author's commands.
import fs from "node:fs";
import path from "node:path";
import { Diagnostics } from "../diagnostics/diagnostic.ts";
import { formatDiagnostics } from "../diagnostics/format.ts";
import { compileKernels } from "../generate.ts";
import { packageFiles } from "../package/index.ts";

const HELP = `flashtile — write attention kernels once as tile-DSL specs; compile them to WGSL.

Usage:
  flashtile compile [files|dirs...] [--out DIR]   compile specs (default kernels-src/) into DIR (default generated/)
  flashtile check [files|dirs...]                 report diagnostics only; exit 1 on any error
  flashtile --help                                this text

A spec is a .ts file with kernel\`...\` templates (import { kernel } from "flashtile").
Diagnostics are printed as file:line:col: error: message, with the offending line.`;

interface Parsed {
  command?: string;
  inputs: string[];
  out: string;
  help: boolean;
  errors: string[];
}

function parseArgs(argv: string[]): Parsed {
  const p: Parsed = { inputs: [], out: "generated", help: false, errors: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") p.help = true;
    else if (a === "--out" || a === "-o") {
      const v = argv[++i];
      if (!v) p.errors.push(`${a} needs a directory`);
      else p.out = v;
    } else if (a.startsWith("--out=")) p.out = a.slice(6);
    else if (a.startsWith("-")) p.errors.push(`unknown option '${a}'`);
    else if (!p.command) p.command = a;
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
  switch (args.command) {
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
      const files = await packageFiles(kernels, await ownVersion());
      writeTree(args.out, files);
      const t = (a: number, b: number) => `${(b - a).toFixed(0)} ms`;
      console.log(`compiled ${kernels.length} kernel instances in ${t(t0, compiled)}; wrote the package (${files.size} files) to ${args.out}/ in ${t(compiled, performance.now())}`);
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
function writeTree(out: string, files: Map<string, string>): void {
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
    if (!fs.existsSync(p) || fs.readFileSync(p, "utf8") !== text) fs.writeFileSync(p, text);
  }
}
