// Tile stores written two columns at a time (store-pairs.ts), no GPU: which stores qualify, the
// CUDA C a qualifying store becomes (one rounding and one vector write of the thread's two
// adjacent columns), the alignment the manifest then asks for, and the runtime's refusal of a
// tensor whose address is not that multiple.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pairStore, storedValue } from "../compiler/backends/cuda/store-pairs.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { type StoreInst, type Value, walkInsts } from "../compiler/ir/ir.ts";
import type { KernelManifest } from "../runtime/manifest.ts";
import { prepareLaunch } from "../runtime/backends/cuda/launch.ts";
import { checkCudaManifest } from "../runtime/backends/cuda/manifest-check.ts";
import { H100ish, paged, pagedArgs } from "./harness/cuda-fixtures.ts";
import { cudaKernel } from "./harness/cuda-source.ts";

const MLA = path.resolve("kernels-src/mla.ts");

/** The store to `tensor` of instance `name` of the spec in `file`. */
function storeOf(file: string, name: string, tensor: string): StoreInst {
  const diags = new Diagnostics();
  const ir = compileAll([file], diags, { target: "cuda" }).find((k) => k.name === name)!;
  let found: StoreInst | undefined;
  walkInsts(ir.body, (i) => {
    if (i.kind === "store" && i.tensor.name === tensor) found = i;
  });
  expect(found, `${name}: store to ${tensor}`).toBeDefined();
  return found!;
}

const constant = (value: number, like: Value): Value => ({ ...like, id: -1, op: { kind: "const", value }, type: { dtype: "i32", shape: [] } }) as Value;

describe("which stores write column pairs", () => {
  const out = storeOf(MLA, "mla_paged.bf16.p64", "out");
  const full = [64, 512];

  it("mla_paged's output: a bf16 pair, 4-byte aligned", () => {
    expect(pairStore(out, full)).toEqual({ type: "__nv_bfloat162", pack: "__floats2bfloat162_rn", align: 4 });
    expect(pairStore({ ...out, tensor: { ...out.tensor, dtype: "f32" } }, full)).toEqual({ type: "float2", pack: "make_float2", align: 8 });
    expect(pairStore({ ...out, tensor: { ...out.tensor, dtype: "f16" } }, full)?.type).toBe("__half2");
  });

  it("not where the pair could straddle a word or the columns are not the tile's own", () => {
    const last = out.indices[out.indices.length - 1];
    const withLast = (v: Value): StoreInst => ({ ...out, indices: [...out.indices.slice(0, -1), v] });
    const shape = (dims: StoreInst["tensor"]["shape"]): StoreInst => ({ ...out, tensor: { ...out.tensor, shape: dims } });
    expect(pairStore({ ...out, tensor: { ...out.tensor, dtype: "f8e4m3" } }, full)).toBeUndefined();
    expect(pairStore(shape(["tokens", "heads", 511]), full)).toBeUndefined();
    expect(pairStore(shape(["tokens", "heads", "width"]), full)).toBeUndefined();
    expect(last.op.kind).toBe("iota");
    const iota = last.op as Extract<Value["op"], { kind: "iota" }>;
    expect(pairStore(withLast({ ...last, op: { ...iota, start: constant(1, iota.start) } }), full)).toBeUndefined();
    expect(pairStore(withLast({ ...last, op: { ...iota, start: constant(64, iota.start) } }), full)).toBeDefined();
    expect(pairStore(withLast({ ...last, op: { ...iota, axis: 0 } }), full)).toBeUndefined();
    // A predicate or another index that changes along the columns: each element on its own.
    expect(pairStore({ ...out, pred: last }, full)).toBeUndefined();
    expect(pairStore({ ...out, indices: [last, ...out.indices.slice(1)] }, full)).toBeUndefined();
    expect(pairStore(out, [64, 1])).toBeUndefined();
  });

  it("a cast to the stored dtype is rounded once, by the store", () => {
    expect(out.value.op.kind).toBe("cast");
    expect(storedValue(out, () => true)).toBe((out.value.op as { a: Value }).a);
    expect(storedValue(out, () => false)).toBe(out.value);
    expect(storedValue({ ...out, tensor: { ...out.tensor, dtype: "f16" } }, () => true)).toBe(out.value);
  });
});

describe("the CUDA C of a pair store", () => {
  it("mla_paged: the thread's columns 2*t4 and 2*t4 + 1 as one rounding and one 4-byte write", () => {
    // Unstaged: the shipped build writes these pairs into shared memory first (store-stage.ts).
    const k = cudaKernel([MLA], "mla_paged.bf16.p64", { wgmma: true, stageStores: false });
    const lines = k.code.split("\n").filter((l) => /\bout\b.*=/.test(l) && l.includes("out_s0"));
    expect(lines).toHaveLength(1);
    const m = lines[0].match(
      /\*reinterpret_cast<__nv_bfloat162\*>\(out \+ (.*) \+ \(long long\)\(\(wcol \* 256 \+ nt \* 8 \+ 2 \* t4 \+ 0\)\)\) = __floats2bfloat162_rn\((.*), (.*)\);$/,
    );
    expect(m, lines[0]).not.toBeNull();
    const [, , first, second] = m!;
    // The same expression at the fragment's p = 0 and p = 1 slots: adjacent columns of one row.
    expect(first).toMatch(/\* 2 \+ 0\]/);
    expect(second).toBe(first.replace(/\* 2 \+ 0\]/g, "* 2 + 1]"));
    // Rounded once: no widening of a rounded value, no 16-bit store of the output left.
    expect(k.code).not.toMatch(/__bfloat162float\(__float2bfloat16_rn/);
    expect(k.code.split("\n").filter((l) => !l.trim().startsWith("//"))).not.toContainEqual(expect.stringMatching(/\bout\[/));
    expect(k.target.align).toEqual({ q_nope: 16, q_rope: 16, c_kv: 16, out: 4 });
    expect(cudaKernel([MLA], "mla_paged.bf16.p64", { wgmma: true }).target.align).toEqual({ q_nope: 16, q_rope: 16, c_kv: 16, out: 16 });
  });

  it("every shipped build with a pair store lists the tensor's alignment", () => {
    const manifest = JSON.parse(readFileSync("generated/manifest.json", "utf8")) as { kernels: Record<string, KernelManifest[]> };
    let pairs = 0;
    for (const builds of Object.values(manifest.kernels))
      for (const b of builds) {
        if (!b.cuda) continue;
        const code = readFileSync(path.join("generated/cuda", b.cuda.file), "utf8");
        for (const m of code.matchAll(/\*reinterpret_cast<(__nv_bfloat162|__half2|float2|uint4)\*>\((\w+) \+/g)) {
          if (m[2] === "smem") continue; // a staged tile's pairs (store-stage.ts)
          const t = b.tensors.find((x) => x.name === m[2])!;
          expect(b.cuda.align?.[t.name], `${b.name}: ${t.name}`).toBe(m[1] === "uint4" ? 16 : m[1] === "float2" ? 8 : 4);
          pairs++;
        }
        expect(() => checkCudaManifest(b)).not.toThrow();
      }
    expect(pairs).toBeGreaterThan(50);
  });
});

describe("the runtime checks the alignment", () => {
  const manifest = { ...paged, cuda: { ...paged.cuda!, align: { q: 16, out: 8 } } } as KernelManifest;
  const at = (q: bigint, out: bigint, tokens = 10) => pagedArgs({ q: { ptr: q, shape: [tokens, 4, 64] }, out: { ptr: out, shape: [tokens, 4, 64] } });

  it("launches aligned tensors and names a misaligned one", () => {
    expect(() => prepareLaunch(manifest, at(0x7f0000000000n, 0x7f0000300000n), H100ish)).not.toThrow();
    expect(() => prepareLaunch(manifest, at(0x7f0000000000n, 0x7f0000300004n), H100ish)).toThrow(
      "paged.test: argument 'out': device address 0x7f0000300004 is not a multiple of 8 bytes, which this kernel reads or writes it in",
    );
    expect(() => prepareLaunch(manifest, at(0x7f0000000008n, 0x7f0000300000n), H100ish)).toThrow(
      "argument 'q': device address 0x7f0000000008 is not a multiple of 16 bytes",
    );
    // Only what the manifest lists: the same addresses launch without it.
    expect(() => prepareLaunch(paged, at(0x7f0000000008n, 0x7f0000300004n), H100ish)).not.toThrow();
    // An empty tensor is never accessed: any address will do.
    expect(() => prepareLaunch(manifest, at(0x7f0000000008n, 0x7f0000300004n, 0), H100ish)).not.toThrow();
  });

  it("a manifest's alignment must name a tensor and be a power of two", () => {
    const bad = (align: Record<string, number>) => ({ ...paged, cuda: { ...paged.cuda!, align } }) as KernelManifest;
    expect(() => checkCudaManifest(bad({ nope: 4 }))).toThrow('paged.test: bad manifest: align names tensor "nope", which the kernel does not take');
    expect(() => checkCudaManifest(bad({ out: 6 }))).toThrow("paged.test: bad manifest: align.out 6 is not a power of two from 1 to 256");
    expect(() => checkCudaManifest(bad({ out: 8 }))).not.toThrow();
  });
});
