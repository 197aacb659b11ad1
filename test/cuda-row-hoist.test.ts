// The row-only parts of a tile store computed once a row (row-hoist.ts), from the CUDA C the
// compiler writes, no GPU: a row's token and head (integer division by the runtime head count)
// and the reciprocal of the softmax sum go into small row arrays, and each element's store reads
// them. The arrays' expressions are evaluated as written for every thread's rows and checked
// against the spec's qi / heads, qi % heads and tok < q_len.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cudaKernel, evalC, mlaRowCases } from "./harness/cuda-source.ts";

/** The lines of a store, from its spec comment to the next spec comment. */
function storeSection(code: string, comment: string): string {
  const at = code.indexOf(comment);
  expect(at, comment).toBeGreaterThan(0);
  const end = code.indexOf("// kernels-src/", at + comment.length);
  return code.slice(at, end);
}

/** Each row array of the section: its name and the expression it holds at a row's slot. */
function rowArrays(section: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of section.matchAll(/\n\s*(\w+)\[mt \* 2 \+ h\] = ([^\n]+);/g)) out.set(m[1], m[2]);
  return out;
}

describe("a store's row-only parts, once a row", () => {
  it("mla_paged: token, head and validity from one division a row; the output times the row's reciprocal", () => {
    // Unstaged (the shipped build stages this tile through shared memory, store-stage.ts, and
    // recomputes the row's parts at each chunk's row instead).
    const code = cudaKernel([path.resolve("kernels-src/mla.ts")], "mla_paged.bf16.p64", { wgmma: true, stageStores: false }).code;
    const section = storeSection(code, "store out[row, head, :] = T(softmax_finish(state) * v_scale) where valid");
    // Two columns a store (store-pairs.ts): the row's parts index the pair's address.
    const store = section.split("\n").find((l) => l.includes("(out + (long long)"))!;
    const m = store.match(
      /if \((\w+)\[mt \* 2 \+ h\]\) \*reinterpret_cast<__nv_bfloat162\*>\(out \+ \(long long\)\((\w+)\[mt \* 2 \+ h\]\) \* out_s0 \+ \(long long\)\((\w+)\[mt \* 2 \+ h\]\) \* out_s1 \+ [^=]+\) = .*\(carry_\d+\[[^\]]+\] \* (\w+_rcp)\[mt \* 2 \+ h\]\)/,
    );
    expect(m, store).not.toBeNull();
    const [, valid, token, head, rcp] = m!;
    // Nothing left to divide in the element statement.
    expect(store).not.toMatch(/safe_div|safe_rem| \/ /);
    const rows = rowArrays(section);
    expect([...rows.keys()].sort()).toEqual([valid, token, head, rcp].sort());
    expect(rows.get(rcp)).toMatch(/^1\.0f \/ \(\(carry_\d+\[mt \* 2 \+ h\] == 0\.0f\) \? 1\.0f : carry_\d+\[mt \* 2 \+ h\]\)$/);
    // The row index's tile start and the request's first token, as the kernel names them.
    const start = rows.get(head)!.match(/\((t_\d+) \+ \(\(warp/)![1];
    expect(code).toMatch(new RegExp(`const int ${start} = \\(m_\\d+ \\* 64\\);`));
    const { q0, qLen, cases } = mlaRowCases(code);
    let checked = 0;
    for (const { heads, mTile, qLenV } of cases)
      for (let warp = 0; warp < 4; warp++)
        for (let g = 0; g < 8; g++)
          for (let h = 0; h < 2; h++) {
            const qi = mTile * 64 + warp * 16 + g + 8 * h;
            const vars = { warp, g, h, mt: 0, heads, [start]: mTile * 64, [q0]: 1000, [qLen]: qLenV };
            const at = (name: string) => evalC(rows.get(name)!.replace(/P\.heads/g, "heads"), vars);
            const tok = Math.trunc(qi / heads);
            expect(at(token), `heads ${heads} qi ${qi}`).toBe(1000 + tok);
            expect(at(head)).toBe(qi % heads);
            expect(Boolean(at(valid))).toBe(tok < qLenV);
            checked++;
          }
    expect(checked).toBe(3 * 3 * 3 * 64);
  });

  it("mla_decode_split: only the reciprocal (its rows' heads need no division)", () => {
    const code = cudaKernel([path.resolve("kernels-src/decode_split.ts")], "mla_decode_split.bf16.p64", { wgmma: true }).code;
    const section = storeSection(code, "store out_partial[s, b, head, :] = softmax_finish(state) * (KV == f8e4m3 ? v_descale[b, 0] : 1.0) where head < heads");
    expect([...rowArrays(section).keys()]).toEqual([expect.stringMatching(/_rcp$/)]);
    expect(section).toMatch(/\* t_\d+_rcp\[mt \* 2 \+ h\]\)+;/);
  });

  it("the shipped package: every CUDA build that normalizes by the softmax sum multiplies by a row's reciprocal", () => {
    const dir = path.resolve("generated/cuda");
    const files = readdirSync(dir).filter((f) => f.endsWith(".cu"));
    let normalizing = 0;
    for (const f of files) {
      const code = readFileSync(path.join(dir, f), "utf8");
      if (!code.includes("softmax.ts:26: return acc / where(l == 0.0, 1.0, l)")) continue;
      normalizing++;
      expect(code, f).toContain("_rcp[mt * 2 + h] = 1.0f / ");
      // No store statement divides an accumulator element by its row's sum.
      expect(code, f).not.toMatch(/\] = [^\n]*carry_\d+\[[^\]]+\] \/ \(\(carry_/);
    }
    expect(normalizing).toBeGreaterThan(150);
  });
});
