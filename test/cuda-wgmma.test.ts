// The wgmma path (the default; `flashtile compile --no-cuda-wgmma` turns it off), read from the
// CUDA C and PTX it produces, no GPU: which kernels take it and in what shape; that every shared-memory descriptor the kernel
// hands the tensor cores addresses exactly the tile elements the dot needs, emulating the
// hardware's canonical SWIZZLE_128B layouts (K-major: 8-row groups SBO apart; MN-major:
// 64-element blocks LBO apart, 8-row groups SBO apart; then byte-address bits 4-6 ^= bits 7-9)
// over the kernel's own sw128 placement and descriptor expressions; and that nvcc builds the
// sm_90a PTX with wgmma and no serialization notes, the sm_80 PTX with none.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileCuda } from "../compiler/backends/cuda/index.ts";
import { nvccPath } from "../compiler/backends/cuda/nvcc.ts";
import { Diagnostics } from "../compiler/diagnostics/diagnostic.ts";
import { compileAll } from "../compiler/pipeline.ts";
import { cudaKernel, mhaOneWarpgroup, mlaWithBlockN } from "./harness/cuda-source.ts";
import { checkDescriptors, sw128Of } from "./harness/wgmma-descriptors.ts";

// mha_prefill with one warpgroup a block, 64-key tiles at head dim 128 (the shipped Hopper builds
// are warp-specialized: cuda-warp-specialize.test.ts).
const ONE = mhaOneWarpgroup();
const cudaOf = (file: string, name: string, wgmma?: boolean, sources?: Map<string, string>) =>
  file.endsWith("mha.ts") && !sources ? cudaKernel([ONE.file], name, { wgmma }, ONE.sources) : cudaKernel([file], name, { wgmma }, sources);

/** That spec with 128-row tiles on CUDA: two warpgroups (not warp-specialized: the build is not sm_90a's alone). */
function mha128(name: string, wgmma = true) {
  const file = ONE.file;
  const src = ONE.sources.get(file)!.replace("BLOCK_M = 64, BLOCK_N", "BLOCK_M = 128, BLOCK_N");
  expect(src).toContain("BLOCK_M = 128, BLOCK_N");
  return cudaOf(file, name, wgmma, new Map([[file, src]]));
}

describe("wgmma path: shapes", () => {
  it("is the default: a 64-row hd128 prefill is one warpgroup of four 16-row warps", () => {
    const k = cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal");
    expect(k.target.blockDim).toEqual([128, 1, 1]);
    expect(k.code).toContain("4 warps x 1 row tile(s) of 16");
    expect(k.code).toMatch(/wgmma_m64n64k16_ss_bf16<0>\(/);
  });

  it("plans 8 warps of one 16-row tile for a 128-row prefill; without the option, the mma.sync plan is unchanged", () => {
    const on = mha128("mha_prefill.bf16.hd128.causal", true);
    const off = mha128("mha_prefill.bf16.hd128.causal", false);
    expect(on.target.blockDim).toEqual([256, 1, 1]);
    expect(off.target.blockDim).toEqual([128, 1, 1]);
    expect(off.code).not.toContain("wgmma");
    expect(on.code).toContain("8 warps x 1 row tile(s) of 16");
    expect(on.code).toContain("__align__(1024) unsigned char smem[]");
    // Q 128 x 128, K and V 64 x 128, unpadded: 64 KiB (the padded layout took 68 KiB), then the
    // mbarriers of the whole tiles' K and V, which TMA copies (tma-stream.ts), and V's second
    // buffer and mbarrier for the overlapped loop (overlap.ts), 1024-aligned.
    expect(on.target.sharedBytes).toBe(66560 + 16384 + 8);
    expect(off.target.sharedBytes).toBe(69632);
    // Both dots, as in the one-warpgroup build: the loop's three plain copies (masked tiles
    // before and after, whole tiles on sm_80) and the overlapped loop's (the first tile's scores,
    // two tiles an iteration, a last pair or a last tile). S from shared Q and K, O += P·V with P
    // packed from the score registers.
    const one = cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal");
    for (const dot of [/wgmma_m64n64k16_ss_bf16<0>\(/g, /wgmma_m64n128k16_rs_bf16<1>\(/g]) expect(on.code.match(dot)?.length).toBe(one.code.match(dot)?.length);
    expect(on.code.match(/wgmma_m64n64k16_ss_bf16<0>\(/g)?.length).toBe(7);
    expect(on.code.match(/wgmma_m64n128k16_rs_bf16<1>\(/g)?.length).toBe(8);
  });

  it("keeps decode kernels (16-row dots) on mma.sync", () => {
    expect(cudaOf("kernels-src/gqa.ts", "gqa_decode.bf16.g4.p16", true).code).not.toContain("wgmma");
  });
});

describe("wgmma path: descriptors read the right tile elements (emulated SWIZZLE_128B)", () => {
  it("sw128 places a 64 x 128 tile one-to-one in its 16 KiB", () => {
    const sw128 = sw128Of(cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal", true).code);
    const seen = new Set<number>();
    for (let r = 0; r < 64; r++) for (let c = 0; c < 128; c++) seen.add(sw128(r, c, 64));
    expect(seen.size).toBe(64 * 128);
    expect(Math.max(...seen)).toBe(64 * 128 * 2 - 2);
  });

  it("causal prefill, head dim 128: Q from shared memory (two warpgroups), K K-major, V MN-major", () => {
    // As the one-warpgroup build below (the overlapped loop too), for each of the 2 warpgroups.
    expect(checkDescriptors(mha128("mha_prefill.bf16.hd128.causal").code, { warpgroups: 2, groups: 1 })).toBe((3 * (8 + 4) + 8 + 2 * (8 + 4) + (8 + 4 + 4) + 4) * 2 * 3);
  });

  it("causal prefill, head dim 128 as shipped (64-row tiles, one warpgroup)", () => {
    // The masked loops and the whole-tile loop's plain version (sm_80): 3 x (8 + 4) k steps; the
    // overlapped version (sm_90a, overlap-emit.ts): the first tile's scores (8), two tiles an
    // iteration (2 x (8 + 4)), a last pair (8 + 4 + 4) or a last tile (4). Each x 3 loop indices
    // (V's two buffers by parity).
    expect(checkDescriptors(cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal", true).code, { warpgroups: 1, groups: 1 })).toBe((3 * (8 + 4) + 8 + 2 * (8 + 4) + (8 + 4 + 4) + 4) * 3);
  });

  it("prefill, head dim 256 (64-row tiles, one warpgroup, four 64-column blocks)", () => {
    expect(checkDescriptors(cudaOf("kernels-src/mha.ts", "mha_prefill.f16.hd256.nocausal", true).code, { warpgroups: 1, groups: 1 })).toBe(3 * (16 + 4) * 3);
  });

  it("head dim 64: Q as cached register fragments (A from registers in both dots)", () => {
    for (const code of [mha128("mha_prefill.bf16.hd64.nocausal").code, cudaOf("kernels-src/mha.ts", "mha_prefill.bf16.hd64.causal", true).code]) {
      expect(code).toMatch(/wgmma_m64n\d+k16_rs_bf16<0>\(t_\d+, Q_\d+_frag\[0\]\[kk\]/);
      expect(checkDescriptors(code, { warpgroups: code.includes("8 warps") ? 2 : 1, groups: 1 })).toBeGreaterThan(0);
    }
  });
});

/**
 * kernels-src/mla.ts with 32-key tiles on CUDA (the shipped spec takes 64 under the leader
 * schedule): the scores k-split over the two groups, run a tile ahead (rotate.ts).
 */
function mla32(name: string) {
  const { file, sources } = mlaWithBlockN(32);
  return cudaOf(file, name, true, sources);
}

describe("wgmma path: MLA with 32-key tiles, two column groups of one warpgroup each", () => {
  const code = mla32("mla_paged.bf16.p16").code;

  it("splits q_nope·cᵀ by k over the groups, P·c by columns (m64n256 per group), q_rope·k_ropeᵀ whole", () => {
    expect(code).toContain("4 warps x 1 row tile(s) of 16, x 2 column groups splitting the 512-wide tiles");
    expect(code).toMatch(/16 x wgmma m64n32k16, B K-major from the swizzled tile \(this group's k steps\)/);
    expect(code).toMatch(/4 x wgmma m64n32k16, B K-major/);
    expect(code).toMatch(/2 x wgmma m64n256k16, B MN-major from the swizzled tile \(columns wcol \* 256\.\.\)/);
  });

  it("every descriptor, both groups, every latent buffer", () => {
    // The masked loops before and after (16 + 4 + 2 steps each) and the whole-tile loop, whose
    // scores dots run a tile ahead: each group's share (16 + 2 steps) before the loop and at each
    // tile's top, and P·V (2); x 2 groups x 3 loop indices.
    expect(checkDescriptors(code, { warpgroups: 1, groups: 2 })).toBe((2 * (16 + 4 + 2) + 2 * (16 + 2) + 2) * 2 * 3);
  });

  it("runs the whole-tile loop's scores a tile ahead: one barrier a tile, three latent and rope buffers, copies two tiles ahead", () => {
    const from = code.indexOf("for (int t_", code.indexOf("// full tiles"));
    const body = code.slice(from, code.indexOf("\n  }\n", from));
    const iv = /for \(int (t_\d+) = /.exec(body)![1];
    expect(body.match(/__syncthreads\(\)/g)?.length).toBe(1);
    // The top: this tile's dots (issued a tile ago) waited for, the last tile's P·V (younger)
    // left running; this group's partial scores into the exchange buffer of this tile's
    // parity and kept in registers (the next dots reuse the accumulator), then the barrier.
    expect(body).toMatch(new RegExp(String.raw`wgmma_wait<1>\(\); // this tile's scores \(the last tile's dot into carry_\d+ may still run\)[^]*?smem \+ (\d+) \+ \(${iv} & 1\) \* 16384\)\[\(wcol \* 4 \+ x\) \* 128 \+ \(tid % 128\)\] = make_float4\(t_\d+_ahead\[4 \* x \+ 0\][^]*?float (t_\d+)\[16\];[^]*?\2\[x\] = t_\d+_ahead\[x\];[^]*?__syncthreads\(\);`));
    expect(body.match(/wgmma_wait</g)?.length).toBe(2);
    // Then the next tile's dots (each group's 16 latent and 2 rope k steps), not waited for...
    expect(body).toMatch(new RegExp(String.raw`if \(${iv} \+ 1 < t_\d+\) \{[^]*?wgmma_fence\(\);[^]*?kk = wcol \* 16 \+ kq;[^]*?\(\(${iv} \+ 1\) % 3\) \* 32768[^]*?kk = wcol \* 2 \+ kq;[^]*?\(\(${iv} \+ 1\) % 3\) \* 4096[^]*?wgmma_commit\(\);`));
    // ...the copies of the tile after it into the third buffers: the two page-table entries of
    // a thread's 8 latent rows (rows tid / 64 + 4i: i < 4 in one 16-key page, the rest in the
    // next) read once each, then the rows' addresses, then the copies...
    expect(body).toMatch(new RegExp(String.raw`if \(${iv} \+ 2 < t_\d+\) \{[^]*?int (t_\d+_rows)\[2\];[^]*?for \(int k = 0; k < 2; \+\+k\) \1\[k\] = page_table\[[^\n]*safe_div\(\(t_\d+_ahead \+ \(tid / 64 \+ k \* 16\)\), 16\)\)\];[^]*?long long src\[8\];[^]*?src\[i\] = ok \? \(long long\)\(\(\(\1\[\(i \* 4\) / 16\] \* 16\) \+ \(tid / 64 \+ \(i \* 4\) % 16\)\)\)[^]*?for \(int i = 0; i < 8; \+\+i\) cp_async16\(smem \+ \(\d+ \+ \(\(${iv} \+ 2\) % 3\) \* 32768\) \+ sw128\(\(tid / 64 \+ i \* 4\), c, 32\), c_kv \+ src\[i\], src_ok\[i\]\);`));
    expect(body.slice(body.indexOf("long long src[8];"), body.indexOf("c_kv + src[i], src_ok[i]")).includes("page_table[")).toBe(false);
    // ...this tile's scores: its own part plus the other group's from the exchange; the last
    // tile's P·V waited for right before the accumulator is rescaled (the first read of it:
    // the wait that leaves the next scores running, wait<1>, has ptxas serialize the wgmmas);
    // then P·V committed without a wait.
    expect(body).toMatch(/\/\/ t_\d+: the scores, their dots issued a tile ago[^]*?\(1 - wcol\)/);
    const acc = /wgmma_wait<0>\(\); \/\/ the last tile's dot into (carry_\d+) \(and the next tile's scores\)\n\s+for \(int i = 0; i < 128; \+\+i\) reg_fence\(\1\[i\]\);/.exec(body)![1];
    const rescale = body.indexOf(`${acc}[((mt * 32 + nt) * 2 + h) * 2 + p] = (${acc}[`);
    expect(rescale).toBeGreaterThan(0);
    // Before the rescale, only that fence names the accumulator.
    expect(body.slice(0, rescale).split(`${acc}[`).length - 1).toBe(1);
    expect(body).toContain("wgmma_commit(); // waited for in the next tile, right before the rescale, or after the loop");
    expect(body).not.toContain("wgmma_commit_wait()");
    // At page 64 a thread's rows all lie in one page (one read); at page 1 each row is a page of
    // its own (eight reads, in the rows' address loop).
    const loopOf = (src: string) => src.slice(src.indexOf("for (int t_", src.indexOf("// full tiles")));
    const p64 = loopOf(mla32("mla_paged.bf16.p64").code);
    expect(p64).toMatch(/int (t_\d+_rows)\[1\]; \/\/ every row of this thread in one page[^]*?src\[i\] = ok \? \(long long\)\(\(\(\1\[\(i \* 4\) \/ 64\] \* 64\)/);
    const p1 = loopOf(mla32("mla_paged.bf16.p1").code);
    expect(p1).not.toContain("_rows[");
    expect(p1).toMatch(/long long src\[8\];[^]*?src\[i\] = ok \? \(long long\)\(\(page_table\[/);
    // Three 32 KiB latent and 4 KiB rope buffers, two 16 KiB exchange buffers: 212 KiB, Hopper only.
    expect(mla32("mla_paged.bf16.p16").target.sharedBytes).toBe(217088);
  });
});

describe("wgmma path: MLA split with 64-key tiles, the leader schedule (leader.ts)", () => {
  const k = cudaOf("kernels-src/decode_split.ts", "mla_decode_split.bf16.p16", true);
  const code = k.code;
  const full = code.slice(code.indexOf("// full tiles"), code.indexOf("__syncthreads(); // the loop's published rows are read", code.indexOf("// full tiles")));
  const [leader, others] = full.split("} else { // the other groups: their slices, from what the leader published");

  it("has group 0 compute the scores over the whole k (m64n64), each group P·V on its 256 columns, no exchange", () => {
    expect(code).toContain("the narrow tiles computed by group 0 alone, P and the row factors passed to the others through shared memory (leader.ts)");
    expect(leader).toContain("if (wcol == 0) { // the leader");
    expect(leader).toMatch(/32 x wgmma m64n64k16, B K-major from the swizzled tile\n/);
    expect(leader).toMatch(/4 x wgmma m64n64k16, B K-major/);
    expect(leader).toMatch(/wgmma_m64n256k16_rs_bf16<1>\(carry_\d+, af\[kk\]/);
    expect(others).not.toContain("m64n64k16");
    expect(others).toMatch(/wgmma_m64n256k16_ss_bf16<1>\(carry_\d+, da \+/);
    expect(code).not.toContain("make_float4");
    expect(code).not.toContain("this group's k steps");
  });

  it("passes P and alpha through shared memory behind named barrier 1; the other groups copy the next tile", () => {
    // Group 0: P packed in pairs into the swizzled 64 x 64 tile past the operands, alpha one
    // float a row after it, the async-proxy fence, then the arrive; its version issues no copy.
    expect(leader).toMatch(/\*reinterpret_cast<uint32_t\*>\(smem \+ 221184 \+ sw128\(\(\(warp \* 1 \+ \(mt\)\) \* 16 \+ g \+ 8 \* \(h\)\), \(\(nt\) \* 8 \+ 2 \* t4 \+ \(0\)\), 64\)\) = pack_bf16\(p_\d+\[[^\n]*\(0\)\], p_\d+\[[^\n]*\(1\)\]\);[^]*?if \(t4 == 0\) reinterpret_cast<float\*>\(smem \+ 229376\)\[[^\n]*\] = alpha_\d+\[mt \* 2 \+ h\];[^]*?fence_async_proxy\(\);[^]*?published_arrive\(\);/);
    expect(leader).not.toContain("cp_async16");
    expect(leader).not.toContain("published_wait");
    // The others: the wait, alpha read back under its own name, P·V's A from that tile.
    expect(others).toMatch(/published_wait\(\);[^]*?float (alpha_\d+)\[2\];[^]*?\1\[mt \* 2 \+ h\] = reinterpret_cast<float\*>\(smem \+ 229376\)[^]*?const uint64_t da = sw128_desc\(smem \+ 221184 \+ wg_row \* 8192, 16, 1024\);/);
    expect(others).not.toContain("published_arrive");
    expect(others).not.toMatch(/p_\d+\[/);
    // Their copies: 128 threads, a latent row's page-table entry shared by its 16-key page (4 reads).
    expect(others).toMatch(/const int c = \(\(tid - 128\) % 64\) \* 8;\s*int (t_\d+_rows)\[4\];[^]*?for \(int i = 0; i < 32; \+\+i\) \{\s*const int r = \(tid - 128\) \/ 64 \+ i \* 2;[^]*?\1\[\(i \* 2\) \/ 16\]/);
    // One block barrier a tile in each version, and the row max and sum handed over after the loop.
    expect(leader.match(/__syncthreads\(\)/g)?.length).toBe(1);
    expect(others.match(/__syncthreads\(\)/g)?.length).toBe(1);
    expect(code).toMatch(/if \(wcol == 0\) \{[^}]*?= carry_\d+\[mt \* 2 \+ h\];[^]*?__syncthreads\(\);\s*if \(wcol != 0\) \{/);
    // Q 72 KiB, two stages of 64-key latent (64 KiB) and rope (8 KiB) tiles, P 8 KiB, 2 row
    // slots, and the two mbarriers of the whole tiles' TMA copies (tma.ts).
    expect(k.target.sharedBytes).toBe(73728 + 2 * 65536 + 2 * 8192 + 8192 + 2 * 256 + 2 * 8);
  });

  it("at page 64 (one TMA box a block) orders the groups by named barriers 2 and 3 instead of a block barrier a tile", () => {
    const p64 = cudaOf("kernels-src/decode_split.ts", "mla_decode_split.bf16.p64", true).code;
    const whole = p64.slice(p64.indexOf("// full tiles"), p64.indexOf("__syncthreads(); // the loop's published rows are read", p64.indexOf("// full tiles")));
    const [lead, rest] = whole.split("} else { // the other groups: their slices, from what the leader published");
    const [iv, lo, hi] = /for \(int (t_\d+) = (t_\d+); t_\d+ < (t_\d+); \+\+t_\d+\)/.exec(lead)!.slice(1);
    // The block barrier is the first tile's alone on sm_90a (copied by every thread before the
    // loop; later tiles land on their mbarrier), every tile's elsewhere.
    for (const version of [lead, rest]) {
      expect(version).toMatch(new RegExp(String.raw`mbar_wait\([^\n]*// the boxes of [^\n]*\n[^]*?#if defined\(__CUDA_ARCH_FEAT_SM90_ALL\)\n\s*if \(${iv} == ${lo}\) __syncthreads\(\);[^\n]*\n\s*#else\n\s*__syncthreads\(\);[^\n]*\n\s*#endif`));
      expect(version.match(/__syncthreads\(\)/g)?.length).toBe(2);
    }
    // Group 0 waits on 2 before it writes P (not on the first tile), and arrives on 3 once its
    // P·V is waited for (not on the last tile): so each barrier is waited at once for each
    // arrival, at tiles lo + 1 .. hi - 1 against lo .. hi - 2.
    const free = lead.indexOf(`if (${iv} > ${lo}) p_free_wait();`);
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThan(lead.indexOf("= pack_bf16("));
    const read = lead.indexOf(`if (${iv} + 1 < ${hi}) buffer_read_arrive();`);
    expect(read).toBeGreaterThan(lead.lastIndexOf("wgmma_commit_wait();"));
    expect(lead).not.toMatch(/buffer_read_wait|p_free_arrive/);
    // The others wait on 3, then arrive on 2, after their own P·V (not on the last tile).
    const done = rest.indexOf(`if (${iv} + 1 < ${hi}) { buffer_read_wait(); p_free_arrive(); }`);
    expect(done).toBeGreaterThan(rest.lastIndexOf("wgmma_commit_wait();"));
    expect(rest).not.toMatch(/buffer_read_arrive|p_free_wait/);
    // That loop's row max runs in four chains, the masked loops' (block barrier a tile) in one.
    expect(lead).toMatch(/float part\[4\];[^]*?part\[0\] = fmaxf\(part\[0\], part\[2\]\);/);
    const masked = p64.slice(p64.indexOf("if (wcol == 0) { // the leader"), p64.indexOf("// full tiles"));
    expect(masked).toContain("acc = fmaxf(acc, ");
    expect(masked).not.toContain("float part[4];");
    // Page 16 (four boxes a block) keeps a block barrier a tile and has no such helpers.
    expect(code).not.toContain("p_free_wait");
    expect(code).not.toContain("buffer_read_arrive");
    expect(p64).toContain("__device__ __forceinline__ void p_free_wait() { asm volatile(\"bar.sync 2, 256;");
  });

  it("every descriptor, both versions, every latent buffer, P read where group 0 wrote it", () => {
    // Three loops (masked, whole tiles, masked), each: group 0's 32 + 4 score steps and 4 P·V
    // steps, the others' 4 P·V steps; x 2 groups x 3 loop indices.
    expect(checkDescriptors(code, { warpgroups: 1, groups: 2 }, new Map([[221184, 64]]))).toBe(3 * (32 + 4 + 4 + 4) * 2 * 3);
  });

  it("keeps 32-key tiles, the k-split and its exchange in the sm_80 build", () => {
    const diags = new Diagnostics();
    const ir = compileAll(["kernels-src/decode_split.ts"], diags, { target: "cuda", arch: "sm_80" }).find((x) => x.name === "mla_decode_split.bf16.p16")!;
    const sm80 = compileCuda(ir, "k.cu", { arch: "sm_80" }).code;
    expect(sm80).toContain("BLOCK_N = 32");
    expect(sm80).toContain("make_float4");
    expect(sm80).not.toContain("published_");
  });
});

describe("wgmma path: nvcc", () => {
  const nvcc = nvccPath();
  it("nvcc is installed", () => expect(nvcc, "nvcc not found: install the CUDA toolkit").toBeDefined());

  // Every shipped kernel, these 108 included, is rebuilt by cuda-build.test.ts: no spill, no
  // stack, no numbered ptxas note, wgmma in the sm_90a PTX and none in the sm_80 PTX.

  for (const [file, name] of [
    ["kernels-src/mha.ts", "mha_prefill.bf16.hd128.causal"],
    ["kernels-src/gqa.ts", "gqa_paged_fp8.bf16.g4.p16"],
    ["kernels-src/mla.ts", "mla_paged.bf16.p16"],
    ["kernels-src/decode_split.ts", "mla_decode_split.bf16.p16"],
  ]) {
    it(`${name}: sm_90a PTX issues wgmma with no serialization note from ptxas, sm_80 PTX uses ldmatrix + mma.sync`, { timeout: 300_000 }, () => {
      const k = cudaOf(file, name, true);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wgmma-"));
      fs.writeFileSync(path.join(dir, "k.cu"), k.code);
      // ptxas's notes (-v and the C75xx performance notes) come on stderr; keep them with the PTX.
      const build = (arch: string) => {
        const notes = execFileSync("bash", ["-c", `"$0" -cubin -gencode=arch=compute_${arch.slice(3)},code=${arch} -Xptxas -v -std=c++17 --keep --keep-dir . -o ${arch}.cubin k.cu 2>&1`, nvcc!], { cwd: dir, encoding: "utf8" });
        return { ptx: fs.readFileSync(path.join(dir, "k.ptx"), "utf8"), notes };
      };
      const hopper = build("sm_90a");
      expect(hopper.ptx).toMatch(/wgmma\.mma_async\.sync\.aligned\.m64n\d+k16\.f32\.bf16\.bf16/);
      expect(hopper.ptx).toContain("fence.proxy.async.shared::cta");
      expect(hopper.notes).not.toMatch(/C75\d\d/);
      expect(hopper.notes).toMatch(/0 bytes spill stores, 0 bytes spill loads/);
      const ampere = build("sm_80");
      expect(ampere.ptx).not.toContain("wgmma");
      expect(ampere.ptx).toContain("ldmatrix");
      expect(ampere.ptx).toContain("mma.sync.aligned.m16n8k16");
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});
