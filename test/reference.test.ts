// Tests of the float64 reference itself, on cases small enough to compute by
// hand, plus structural identities (paged == ragged, absorbed MLA ==
// un-absorbed MLA, merged splits == full). Random cases use fresh seeds;
// failures print the seed (replay with FLASHTILE_SEED=<seed>).
import { describe, expect, it } from "vitest";
import { attention, visible, type AttentionOptions, type MaskOptions } from "./reference/attention.ts";
import { mlaAttention } from "./reference/mla.ts";
import { evenSplit, mergeState, mergeStates } from "./reference/merge.ts";
import * as N from "./reference/numeric.ts";

const { relError, maxAbsError, withSeed, randn } = N;
const E = Math.E;

/** One request, one head, ragged K/V. */
function one(q: number[], k: number[], v: number[], qLen: number, kLen: number, headDim: number, extra: Partial<AttentionOptions> = {}) {
  return attention({ q, k, v, cuSeqlensQ: [0, qLen], layout: { kind: "ragged", cuSeqlensK: [0, kLen] }, qHeads: 1, kvHeads: 1, headDim, ...extra });
}

/**
 * Which keys each query saw, read back from the *output*: with q = 0 all
 * scores are 0, so out = mean of visible v and exp(lse) = their count; with
 * v_j = 2^j, out * count is the bitmask of the visible set.
 */
function seenKeys(qLen: number, kLen: number, mask: MaskOptions): number[][] {
  const v = Array.from({ length: kLen }, (_, j) => 2 ** j);
  const { out, lse } = one(new Array(qLen).fill(0), new Array(kLen).fill(0), v, qLen, kLen, 1, mask);
  return Array.from({ length: qLen }, (_, i) => {
    if (lse[i] === -Infinity) {
      expect(out[i]).toBe(0);
      return [];
    }
    const bits = Math.round(out[i] * Math.round(Math.exp(lse[i])));
    return v.map((_, j) => j).filter((j) => bits & (1 << j));
  });
}

/** Same sets via the predicate, to show the reference and `visible` agree. */
const predicateKeys = (qLen: number, kLen: number, mask: MaskOptions) =>
  Array.from({ length: qLen }, (_, i) => Array.from({ length: kLen }, (_, j) => j).filter((j) => visible(i, j, qLen, kLen, mask)));

function expectMask(qLen: number, kLen: number, mask: MaskOptions, expected: number[][]) {
  expect(seenKeys(qLen, kLen, mask)).toEqual(expected);
  expect(predicateKeys(qLen, kLen, mask)).toEqual(expected);
}

describe("attention reference: hand-computed", () => {
  it("q_len=1, k_len=2, head_dim=2", () => {
    // q=[1,0], k0=[1,0], k1=[0,1], scale 1 -> s=[1,0]; p0=e/(e+1)=0.7310585786, p1=0.2689414214
    // out = p0*[1,2] + p1*[3,4] = [1.5378828427, 2.5378828427]; lse = ln(e+1) = 1.3132616875
    const r = one([1, 0], [1, 0, 0, 1], [1, 2, 3, 4], 1, 2, 2, { scale: 1 });
    expect(r.out[0]).toBeCloseTo(1.5378828427, 9);
    expect(r.out[1]).toBeCloseTo(2.5378828427, 9);
    expect(r.lse[0]).toBeCloseTo(1.3132616875, 9);
  });

  it("default scale is 1/sqrt(head_dim)", () => {
    // d=4 -> scale 0.5; q.k0 = 4 -> s0 = 2, s1 = 0; out = e^2/(e^2+1) = 0.8807970780; lse = ln(e^2+1) = 2.1269280110
    const r = one([1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0], 1, 2, 4);
    expect(r.out[0]).toBeCloseTo(0.880797078, 9);
    expect(r.lse[0]).toBeCloseTo(2.126928011, 9);
  });

  it("causal is bottom-right aligned when q_len < k_len", () => {
    // q_len=2, k_len=3: diag(i) = i + 1, so query 0 sees {0,1}, query 1 sees {0,1,2}.
    expectMask(2, 3, { causal: true }, [[0, 1], [0, 1, 2]]);
    // With q=0 and v=[1,2,4]: out0 = (1+2)/2 = 1.5, lse0 = ln 2; out1 = 7/3, lse1 = ln 3.
    const r = one([0, 0], [0, 0, 0], [1, 2, 4], 2, 3, 1, { causal: true });
    expect(Array.from(r.out)).toEqual([1.5, 7 / 3]);
    expect(r.lse[0]).toBeCloseTo(Math.LN2, 14);
    expect(r.lse[1]).toBeCloseTo(Math.log(3), 14);
  });

  it("fully masked rows give out 0 and lse -inf", () => {
    // q_len=3 > k_len=2, causal: diag(i) = i - 1, so query 0 sees nothing.
    expectMask(3, 2, { causal: true }, [[], [0], [0, 1]]);
    const r = one([5, 5, 5], [1, 1], [3, 9], 3, 2, 1, { causal: true });
    expect(r.out[0]).toBe(0);
    expect(r.lse[0]).toBe(-Infinity);
    expect(r.out[1]).toBe(3); // only key 0 -> its value exactly
    // k_len = 0: every row is empty even without a mask.
    const z = one([1, 2], [], [], 2, 0, 1);
    expect(Array.from(z.out)).toEqual([0, 0]);
    expect(Array.from(z.lse)).toEqual([-Infinity, -Infinity]);
  });

  it("sliding windows (0, 1, larger than the sequence, combined with causal)", () => {
    const all = [0, 1, 2, 3];
    expectMask(4, 4, { window: [0, 0] }, [[0], [1], [2], [3]]);
    expectMask(4, 4, { window: [1, 0] }, [[0], [0, 1], [1, 2], [2, 3]]);
    expectMask(4, 4, { window: [0, 1] }, [[0, 1], [1, 2], [2, 3], [3]]);
    expectMask(4, 4, { window: [10, 10] }, [all, all, all, all]);
    expectMask(4, 4, { window: [-1, 1] }, [[0, 1], [0, 1, 2], all, all]);
    expectMask(4, 4, { causal: true, window: [1, -1] }, [[0], [0, 1], [1, 2], [2, 3]]);
    // causal && window right 2: causal is tighter, so plain causal.
    expectMask(4, 4, { causal: true, window: [-1, 2] }, [[0], [0, 1], [0, 1, 2], all]);
    // q_len=2, k_len=5: diags are 3 and 4; left window 1 -> {2,3}, {3,4}.
    expectMask(2, 5, { window: [1, 0] }, [[2, 3], [3, 4]]);
  });

  it("chunked local attention", () => {
    // C=4, causal, q_len=k_len=6: query i sees [4*floor(i/4), i].
    expectMask(6, 6, { causal: true, attentionChunk: 4 }, [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3], [4], [4, 5]]);
    // q_len=2, k_len=6: diags 4 and 5 -> {4}, {4,5}.
    expectMask(2, 6, { causal: true, attentionChunk: 4 }, [[4], [4, 5]]);
    // Non-causal C=2: the whole chunk of the diagonal, including later keys.
    expectMask(4, 4, { attentionChunk: 2 }, [[0, 1], [0, 1], [2, 3], [2, 3]]);
  });

  it("visible(): out-of-range positions never visible", () => {
    expect(visible(0, 0, 1, 1, {})).toBe(true);
    expect(visible(0, 1, 1, 1, {})).toBe(false);
    expect(visible(0, -1, 1, 3, {})).toBe(false);
    expect(visible(1, 0, 1, 3, {})).toBe(false);
  });

  it("softcap is applied after scale", () => {
    // scale 2, q.k0 = 1 -> 2 -> softcap 1 -> tanh(2) = 0.9640275801; s1 = 0.
    // p0 = e^0.9640275801 / (e^0.9640275801 + 1) = 0.7239585 ; out = p0 * 1 + p1 * 0
    const r = one([1], [1, 0], [1, 0], 1, 2, 1, { scale: 2, softcap: 1 });
    const t = Math.tanh(2);
    expect(t).toBeCloseTo(0.9640275801, 9);
    expect(r.out[0]).toBeCloseTo(E ** t / (E ** t + 1), 14);
    expect(r.lse[0]).toBeCloseTo(Math.log(E ** t + 1), 14);
    // (capping before scaling would give 2*tanh(1) = 1.523 and a different p0)
    expect(Math.abs(r.out[0] - E ** (2 * Math.tanh(1)) / (E ** (2 * Math.tanh(1)) + 1))).toBeGreaterThan(0.05);
  });

  it("attention sinks add to the denominator only", () => {
    // q=0 -> s=[0,0]; sink ln 2 -> denom 1 + 1 + 2 = 4; out = (1 + 3)/4 = 1; lse = ln 4.
    const r = one([0], [0, 0], [1, 3], 1, 2, 1, { sinks: [Math.LN2] });
    expect(r.out[0]).toBeCloseTo(1, 14);
    expect(r.lse[0]).toBeCloseTo(Math.log(4), 14);
    // Huge sink: the max includes it, so nothing overflows; out ~ 4e-435 * ... = 0, lse = 1000.
    const big = one([0], [0, 0], [1, 3], 1, 2, 1, { sinks: [1000] });
    expect(big.out[0]).toBe(0);
    expect(big.lse[0]).toBe(1000);
    // A row with no visible key but a sink: out 0, lse = sink (not -inf).
    const masked = one([0, 0], [0], [7], 2, 1, 1, { causal: true, sinks: [0.5] });
    expect([masked.out[0], masked.lse[0]]).toEqual([0, 0.5]);
    // Row 1 sees key 0 (s=0): out = 7 e^0 / (e^0 + e^0.5) = 7/(1+e^0.5) = 2.6443, lse = ln(1 + e^0.5).
    expect(masked.out[1]).toBeCloseTo(7 / (1 + Math.exp(0.5)), 14);
    expect(masked.lse[1]).toBeCloseTo(Math.log(1 + Math.exp(0.5)), 14);
  });

  it("GQA: q head h reads kv head floor(h / (qHeads / kvHeads))", () => {
    // One key; kv head 0 value 10, kv head 1 value 20 -> heads 0,1 give 10, heads 2,3 give 20.
    const r = attention({
      q: [1, 2, 3, 4], k: [0, 0], v: [10, 20], cuSeqlensQ: [0, 1],
      layout: { kind: "ragged", cuSeqlensK: [0, 1] }, qHeads: 4, kvHeads: 2, headDim: 1,
    });
    expect(Array.from(r.out)).toEqual([10, 10, 20, 20]);
    // Score per head: q_h * k, k for kv head 0 is 1, kv head 1 is -1, two keys (2nd has k=0, v=0):
    // head h out = e^{s}/(e^{s}+1) with s = q_h * (+-1).
    const g = attention({
      q: [1, 2, 3, 4], k: [1, -1, 0, 0], v: [1, 1, 0, 0], cuSeqlensQ: [0, 1],
      layout: { kind: "ragged", cuSeqlensK: [0, 2] }, qHeads: 4, kvHeads: 2, headDim: 1, scale: 1,
    });
    const sig = (s: number) => E ** s / (E ** s + 1);
    [sig(1), sig(2), sig(-3), sig(-4)].forEach((x, h) => expect(g.out[h]).toBeCloseTo(x, 14));
  });

  it("GQA equals MHA on explicitly repeated kv heads; batch equals per-request calls", () =>
    withSeed((rng) => {
      const [qH, kvH, d, qLens, kLens] = [6, 2, 8, [2, 1, 3], [5, 1, 7]];
      const cuQ = N.makeVarlenBatch(qLens), cuK = N.makeVarlenBatch(kLens);
      const q = randn(cuQ[3] * qH * d, rng), k = randn(cuK[3] * kvH * d, rng), v = randn(cuK[3] * kvH * d, rng);
      const rep = (x: Float32Array) => Float32Array.from({ length: cuK[3] * qH * d }, (_, n) => {
        const [row, h, e] = [Math.floor(n / (qH * d)), Math.floor(n / d) % qH, n % d];
        return x[(row * kvH + Math.floor(h / (qH / kvH))) * d + e];
      });
      const base = { q, cuSeqlensQ: cuQ, layout: { kind: "ragged", cuSeqlensK: cuK } as const, qHeads: qH, headDim: d, causal: true };
      const gqa = attention({ ...base, k, v, kvHeads: kvH });
      const mha = attention({ ...base, k: rep(k), v: rep(v), kvHeads: qH });
      expect(gqa.out).toEqual(mha.out);
      expect(gqa.lse).toEqual(mha.lse);
      for (let b = 0; b < 3; b++) {
        const sub = (x: Float32Array, cu: Int32Array, w: number) => x.subarray(cu[b] * w, cu[b + 1] * w);
        const r = attention({
          q: sub(q, cuQ, qH * d), k: sub(k, cuK, kvH * d), v: sub(v, cuK, kvH * d), cuSeqlensQ: [0, qLens[b]],
          layout: { kind: "ragged", cuSeqlensK: [0, kLens[b]] }, qHeads: qH, kvHeads: kvH, headDim: d, causal: true,
        });
        expect(r.out).toEqual(gqa.out.subarray(cuQ[b] * qH * d, cuQ[b + 1] * qH * d));
      }
    }));

  it("vHeadDim may differ from headDim", () => {
    // One key -> out is exactly its 3-wide value.
    const r = one([1, 1], [2, 2], [4, 5, 6], 1, 1, 2, { vHeadDim: 3 });
    expect(Array.from(r.out)).toEqual([4, 5, 6]);
  });
});

describe("paged == contiguous", () => {
  const maskSets: Partial<AttentionOptions>[] = [
    {},
    { causal: true },
    { causal: true, window: [5, -1], sinks: [0.3, -1, 2, 0] },
    { window: [3, 2], softcap: 5, attentionChunk: 8 },
  ];
  for (const pageSize of [1, 16, 64]) {
    it(`page size ${pageSize}`, () =>
      withSeed((rng) => {
        const P = pageSize, [qH, kvH, d] = [4, 2, 8];
        const kLens = [0, 1, P - 1 || 2, P, P + 1, 2 * P + 3, N.randInt(rng, 1, 200)];
        const qLens = [2, 1, 1, 3, 2, 4, 5]; // first request: q_len > k_len = 0
        const c = N.makePagedCache({ kLens, pageSize: P, kvHeads: kvH, headDim: d, rng, slotsExtra: 2 * P });
        // Fixture invariants: page 0 never handed out, pages distinct, padding -> 0.
        const used: number[] = [];
        kLens.forEach((n, b) => {
          const pages = Array.from(c.paged.pageTable.subarray(b * c.paged.maxPages, (b + 1) * c.paged.maxPages));
          const live = pages.slice(0, Math.ceil(n / P));
          expect(pages.slice(live.length).every((p) => p === 0)).toBe(true);
          if (live.length > 1) expect(live.every((p, i) => i === 0 || p === live[i - 1] + 1)).toBe(false);
          used.push(...live);
        });
        expect(used).not.toContain(0);
        expect(new Set(used).size).toBe(used.length);
        expect(Math.max(...used)).toBeLessThan(c.numPages);

        const cuQ = N.makeVarlenBatch(qLens);
        const q = randn(cuQ[qLens.length] * qH * d, rng);
        for (const extra of maskSets) {
          const base = { q, cuSeqlensQ: cuQ, qHeads: qH, kvHeads: kvH, headDim: d, ...extra };
          const ragged = attention({ ...base, k: c.k, v: c.v, layout: c.ragged });
          const paged = attention({ ...base, k: c.kCache, v: c.vCache, layout: c.paged });
          expect(paged.out).toEqual(ragged.out); // same arithmetic order -> bit identical
          expect(paged.lse).toEqual(ragged.lse);
        }
        // The garbage matters: pointing a live entry at a spare page changes the result.
        const table = Int32Array.from(c.paged.pageTable);
        const spare = Array.from({ length: c.numPages - 1 }, (_, i) => i + 1).find((p) => !used.includes(p))!;
        table[5 * c.paged.maxPages] = spare; // request 5 has >= 3 keys
        const bad = attention({ q, cuSeqlensQ: cuQ, qHeads: qH, kvHeads: kvH, headDim: d, k: c.kCache, v: c.vCache, layout: { ...c.paged, pageTable: table } });
        const good = attention({ q, cuSeqlensQ: cuQ, qHeads: qH, kvHeads: kvH, headDim: d, k: c.k, v: c.v, layout: c.ragged });
        expect(relError(bad.out, good.out)).toBeGreaterThan(1e-3);
      }));
  }
});

describe("MLA (absorbed) reference", () => {
  it("matches an explicit un-absorbed MLA loop on tiny dims, paged latent cache", () =>
    withSeed((rng) => {
      // Un-absorbed head h: k_h,j = [W_UK[h] c_j ; rope_j], v_h,j = W_UV[h] c_j, q = [qn ; qr].
      // Absorbed: q_nope = W_UK[h]^T qn, out_latent = P c, final = W_UV[h] out_latent.
      const [L, R, dn, dv, H, P] = [4, 2, 3, 3, 2, 4];
      const qLens = [1, 3], kLens = [5, 9], cuQ = N.makeVarlenBatch(qLens), T = cuQ[2];
      const c = N.makePagedCache({ kLens, pageSize: P, kvHeads: 1, headDim: L + R, rng });
      const Wuk = randn(H * dn * L, rng), Wuv = randn(H * dv * L, rng);
      const qn = randn(T * H * dn, rng), qr = randn(T * H * R, rng);
      const scale = 1 / Math.sqrt(dn + R);
      const cRow = (b: number, j: number) => c.k.subarray((c.ragged.cuSeqlensK[b] + j) * (L + R), (c.ragged.cuSeqlensK[b] + j + 1) * (L + R));

      const want = new Float64Array(T * H * dv), wantLse = new Float64Array(T * H);
      for (let b = 0; b < 2; b++) for (let i = 0; i < qLens[b]; i++) for (let h = 0; h < H; h++) {
        const t = cuQ[b] + i, s: number[] = [], vals: number[][] = [];
        for (let j = 0; j <= i + kLens[b] - qLens[b]; j++) { // causal, bottom-right, written out by hand
          const cj = cRow(b, j);
          let dot = 0;
          for (let a = 0; a < dn; a++) for (let l = 0; l < L; l++) dot += qn[(t * H + h) * dn + a] * Wuk[(h * dn + a) * L + l] * cj[l];
          for (let r = 0; r < R; r++) dot += qr[(t * H + h) * R + r] * cj[L + r];
          s.push(scale * dot);
          vals.push(Array.from({ length: dv }, (_, e) => { let x = 0; for (let l = 0; l < L; l++) x += Wuv[(h * dv + e) * L + l] * cj[l]; return x; }));
        }
        const m = Math.max(...s), w = s.map((x) => Math.exp(x - m)), z = w.reduce((a, x) => a + x, 0);
        for (let e = 0; e < dv; e++) want[(t * H + h) * dv + e] = w.reduce((a, x, j) => a + x * vals[j][e], 0) / z;
        wantLse[t * H + h] = m + Math.log(z);
      }

      const qNope = new Float64Array(T * H * L);
      for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) for (let l = 0; l < L; l++)
        for (let a = 0; a < dn; a++) qNope[(t * H + h) * L + l] += Wuk[(h * dn + a) * L + l] * qn[(t * H + h) * dn + a];
      const r = mlaAttention({ qNope, qRope: qr, ckv: c.kCache, cuSeqlensQ: cuQ, layout: c.paged, heads: H, latentDim: L, ropeDim: R, scale, causal: true });
      const got = new Float64Array(T * H * dv);
      for (let n = 0; n < T * H; n++) for (let e = 0; e < dv; e++)
        for (let l = 0; l < L; l++) got[n * dv + e] += Wuv[(Math.floor(n % H) * dv + e) * L + l] * r.out[n * L + l];
      expect(relError(got, want)).toBeLessThan(1e-12);
      expect(maxAbsError(r.lse, wantLse)).toBeLessThan(1e-12);
    }));

  it("defaults L=512, R=64; zero query averages the latent part of visible rows", () =>
    withSeed((rng) => {
      const ckv = randn(3 * 576, rng); // 3 keys, ragged
      const r = mlaAttention({ qNope: new Float32Array(2 * 512), qRope: new Float32Array(2 * 64), ckv, cuSeqlensQ: [0, 1], layout: { kind: "ragged", cuSeqlensK: [0, 3] }, heads: 2, scale: 1 });
      expect(r.out.length).toBe(2 * 512);
      for (const h of [0, 1]) {
        for (const l of [0, 17, 511]) expect(r.out[h * 512 + l]).toBeCloseTo((ckv[l] + ckv[576 + l] + ckv[1152 + l]) / 3, 12);
        expect(r.lse[h]).toBeCloseTo(Math.log(3), 14);
      }
    }));
});

describe("merge_state", () => {
  it("hand cases", () => {
    // equal lse 0: lse = ln 2, out = mean.
    const a = mergeState({ out: [1, 10], lse: [0] }, { out: [3, 20], lse: [0] });
    expect(Array.from(a.out)).toEqual([2, 15]);
    expect(a.lse[0]).toBeCloseTo(Math.LN2, 15);
    // lse 0 vs ln 3: weights 1/4, 3/4 -> out = 0.25*4 + 0.75*8 = 7, lse = ln 4.
    const b = mergeState({ out: [4], lse: [0] }, { out: [8], lse: [Math.log(3)] });
    expect(b.out[0]).toBeCloseTo(7, 14);
    expect(b.lse[0]).toBeCloseTo(Math.log(4), 14);
    // -inf side ignored (even a garbage out); both -inf -> 0, -inf.
    const c = mergeState({ out: [NaN, 5], lse: [-Infinity, -Infinity] }, { out: [7, 9], lse: [1.5, -Infinity] });
    expect(Array.from(c.out)).toEqual([7, 0]);
    expect(Array.from(c.lse)).toEqual([1.5, -Infinity]);
    // Stable at large lse: 1000 and 1000 -> 1000 + ln 2, no overflow.
    const d = mergeState({ out: [1], lse: [1000] }, { out: [2], lse: [1000] });
    expect(d.out[0]).toBe(1.5);
    expect(d.lse[0]).toBeCloseTo(1000 + Math.LN2, 10);
  });

  for (const splits of [2, 5]) {
    it(`${splits} key splits merge back to full attention`, () =>
      withSeed((rng) => {
        const [qH, kvH, d] = [4, 2, 16], qLens = [1, 4, 3, 2], kLens = [3, 40, 3, 1];
        const cuQ = N.makeVarlenBatch(qLens), c = N.makePagedCache({ kLens, pageSize: 16, kvHeads: kvH, headDim: d, rng });
        const base = { q: randn(cuQ[4] * qH * d, rng), cuSeqlensQ: cuQ, qHeads: qH, kvHeads: kvH, headDim: d, k: c.kCache, v: c.vCache, layout: c.paged, causal: true, window: [20, -1] as const };
        const full = attention(base);
        const parts = Array.from({ length: splits }, (_, s) => attention({ ...base, keyRange: evenSplit(splits, s) }));
        // With 5 splits of 3 keys some splits are empty -> -inf parts must be tolerated.
        expect(parts.some((p) => p.lse.includes(-Infinity))).toBe(true);
        const merged = splits === 2 ? mergeState(parts[0], parts[1]) : mergeStates(parts);
        expect(relError(merged.out, full.out)).toBeLessThan(1e-13);
        expect(maxAbsError(merged.lse, full.lse)).toBeLessThan(1e-13);
      }));
  }
});

describe("numeric helpers", () => {
  it("relError values and NaN / infinity behaviour", () => {
    expect(relError([3, 4], [3, 4])).toBe(0);
    expect(relError([3, 4.5], [3, 4])).toBeCloseTo(0.1, 15); // 0.5 / 5
    expect(relError([NaN, 4], [3, 4])).toBe(Infinity);
    expect(relError([NaN], [NaN])).toBe(Infinity); // NaN never passes
    expect(relError([Infinity, 4], [3, 4])).toBe(Infinity);
    expect(relError([-Infinity, 4], [-Infinity, 4])).toBe(0); // masked-row LSE
    expect(relError([0, 4], [-Infinity, 4])).toBe(Infinity);
    expect(relError([NaN, 4], [-Infinity, 4])).toBe(Infinity);
    expect(relError([0, -0.25], [0, 0])).toBe(0.25); // all-zero ref -> max |out|
    expect(relError([0, 0], [0, 0])).toBe(0);
    expect(maxAbsError([1, -Infinity], [1.5, -Infinity])).toBe(0.5);
  });

  it("f16 known bit patterns, rounding ties to even", () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [65504, 0x7bff], [65519, 0x7bff], [65520, 0x7c00], [Infinity, 0x7c00],
      [-Infinity, 0xfc00], [0, 0], [-0, 0x8000], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [1023 * 2 ** -24, 0x03ff],
      [2 ** -25, 0], [3 * 2 ** -25, 0x0002], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [0.1, 0x2e66],
    ];
    expect(Array.from(N.toF16Bits(cases.map((c) => c[0])))).toEqual(cases.map((c) => c[1]));
    const nan = N.toF16Bits([NaN])[0];
    expect([nan & 0x7c00, (nan & 0x3ff) !== 0]).toEqual([0x7c00, true]);
    expect(Array.from(N.fromF16Bits([0x3c00, 0x0001, 0x7bff, 0xfc00, 0x8000]))).toEqual([1, 2 ** -24, 65504, -Infinity, -0]);
    expect(N.fromF16Bits([0x7e00])[0]).toBeNaN();
    expect(Array.from(N.roundToF16(new Float32Array([1.00048828125, 3.14159])))).toEqual([1, 3.140625]);
    // Every non-NaN pattern round-trips exactly.
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((b) => (b & 0x7c00) !== 0x7c00 || !(b & 0x3ff));
    expect(N.toF16Bits(N.fromF16Bits(all))).toEqual(all);
  });

  it("bf16 known bit patterns and agreement with the f32 bit trick", () =>
    withSeed((rng) => {
      const cases: [number, number][] = [
        [1, 0x3f80], [-1, 0xbf80], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [3.4028234663852886e38, 0x7f80],
        [2 ** -133, 0x0001], [2 ** -126, 0x0080], [Infinity, 0x7f80], [-0, 0x8000],
      ];
      expect(Array.from(N.toBf16Bits(cases.map((c) => c[0])))).toEqual(cases.map((c) => c[1]));
      expect(Array.from(N.fromBf16Bits([0x3f80, 0x7f7f]))).toEqual([1, (2 - 2 ** -7) * 2 ** 127]);
      const all = Uint16Array.from({ length: 65536 }, (_, i) => i).filter((b) => (b & 0x7f80) !== 0x7f80 || !(b & 0x7f));
      expect(N.toBf16Bits(N.fromBf16Bits(all))).toEqual(all);
      // Independent check on random f32 across exponents: round-to-nearest-even on the top 16 bits.
      const x = new Float32Array(20000).map(() => (rng() - 0.5) * 2 ** N.randInt(rng, -140, 128));
      const u = new Uint32Array(x.buffer);
      const trick = Uint16Array.from(u, (b) => (b + 0x7fff + ((b >>> 16) & 1)) >>> 16);
      expect(N.toBf16Bits(x)).toEqual(trick);
    }));

  it("randn is reproducible per seed and roughly standard normal", () =>
    withSeed((_rng, seed) => {
      expect(randn(7, N.makeRng(seed))).toEqual(randn(7, N.makeRng(seed)));
      const x = randn(100000, N.makeRng(seed));
      const mean = x.reduce((a, b) => a + b, 0) / x.length;
      const varc = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
      expect(Math.abs(mean)).toBeLessThan(0.02); // ~6 sigma
      expect(Math.abs(varc - 1)).toBeLessThan(0.03);
      if (!process.env.FLASHTILE_SEED) expect(N.freshSeed()).not.toBe(N.freshSeed()); // p = 2^-32
    }));

  it("makeVarlenBatch", () => {
    expect(Array.from(N.makeVarlenBatch([3, 0, 2]))).toEqual([0, 3, 3, 5]);
    expect(Array.from(N.makeVarlenBatch([]))).toEqual([0]);
  });
});
