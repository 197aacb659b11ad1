/**
 * Seedable randomness for tests. Every run draws a fresh seed (so the suite
 * keeps exploring new inputs) and every failure reports it (so any failure can
 * be replayed with FLASHTILE_SEED=<seed>).
 */
import { getRandomValues } from "node:crypto";

/** Uniform in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, 32-bit state; plenty for test inputs. */
export function makeRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A new 32-bit seed from the OS CSPRNG, or FLASHTILE_SEED if set (to replay a failure). */
export function freshSeed(): number {
  const forced = process.env.FLASHTILE_SEED;
  if (forced !== undefined && forced !== "") {
    const n = Number(forced);
    if (!Number.isInteger(n)) throw new Error(`FLASHTILE_SEED must be an integer, got ${forced}`);
    return n >>> 0;
  }
  return getRandomValues(new Uint32Array(1))[0];
}

/**
 * Run fn with a fresh seeded Rng; if it throws (or rejects), the error message
 * is prefixed with the seed so the failing inputs can be regenerated.
 */
export function withSeed<T>(fn: (rng: Rng, seed: number) => T): T {
  const seed = freshSeed();
  const tag = (e: unknown): never => {
    if (e instanceof Error) e.message = `[seed ${seed}; rerun with FLASHTILE_SEED=${seed}] ${e.message}`;
    throw e;
  };
  try {
    const result = fn(makeRng(seed), seed);
    if (result instanceof Promise) return result.catch(tag) as T;
    return result;
  } catch (e) {
    return tag(e);
  }
}

/**
 * n standard normal samples (times std), Box-Muller. Returned as Float32Array
 * on purpose: kernels consume f32, and values that are exactly representable
 * in f32 mean the kernel and the float64 reference see identical inputs.
 */
export function randn(n: number, rng: Rng, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rng(); // (0, 1]: keeps log finite
    const u2 = rng();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Integer uniform in [lo, hi). */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo));
}

/** Fisher-Yates, in place; returns the array for chaining. */
export function shuffle<T>(arr: T[], rng: Rng): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = randInt(rng, 0, i + 1);
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}
