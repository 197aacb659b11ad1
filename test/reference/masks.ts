/**
 * The one definition of which keys a query may attend to.
 *
 * Every reference path (plain, paged, MLA, split-KV partials) calls `visible`,
 * and kernel tests that need to reason about masks should import it too, so a
 * mask convention can never drift between two copies.
 *
 * Conventions follow FlashAttention / SGLang:
 * - Positions are 0-based within one request.
 * - Causal masking is aligned bottom-right: query i sits at key position
 *   `i + kLen - qLen` (its "diagonal"), so with a KV prefix (kLen > qLen) the
 *   last query sees every key, and with qLen > kLen the first queries see none.
 * - Window [left, right] bounds keys to [diag - left, diag + right]; -1 means
 *   unbounded on that side. Causal is window right = 0; when both are given
 *   both constraints apply (the tighter one wins).
 * - Chunked local attention (Llama 4 `attention_chunk` C > 0) additionally
 *   requires key and diagonal to lie in the same C-aligned chunk.
 */

export interface MaskOptions {
  causal?: boolean;
  /** [left, right]; -1 = unbounded on that side. Default [-1, -1]. */
  window?: readonly [number, number];
  /** Llama 4 chunk size C; 0 / undefined disables chunking. */
  attentionChunk?: number;
}

/** Mask options with defaults filled in and sanity-checked. */
export interface ResolvedMask {
  causal: boolean;
  window: readonly [number, number];
  attentionChunk: number;
}

export function resolveMask(opts: MaskOptions = {}): ResolvedMask {
  const window = opts.window ?? [-1, -1];
  // Anything below -1 is almost certainly a caller bug (e.g. an off-by-one in
  // a window computation); fail loudly rather than silently treating it as -1.
  for (const w of window) {
    if (!Number.isInteger(w) || w < -1) throw new Error(`window entries must be integers >= -1, got [${window}]`);
  }
  const attentionChunk = opts.attentionChunk ?? 0;
  if (!Number.isInteger(attentionChunk) || attentionChunk < 0) {
    throw new Error(`attentionChunk must be a non-negative integer, got ${attentionChunk}`);
  }
  return { causal: opts.causal ?? false, window: [window[0], window[1]], attentionChunk };
}

/**
 * May query i (0-based in its request) attend to key j, given the request's
 * query and key lengths? Positions outside [0, qLen) x [0, kLen) never are,
 * so kernels can feed padded tile coordinates straight in.
 */
export function visible(i: number, j: number, qLen: number, kLen: number, opts: MaskOptions = {}): boolean {
  if (i < 0 || i >= qLen || j < 0 || j >= kLen) return false;
  const diag = i + kLen - qLen;
  if (opts.causal && j > diag) return false;
  const [left, right] = opts.window ?? [-1, -1];
  if (left >= 0 && j < diag - left) return false;
  if (right >= 0 && j > diag + right) return false;
  const chunk = opts.attentionChunk ?? 0;
  // Math.floor (not truncation) so a negative diagonal (qLen > kLen) lands in
  // a negative chunk that no real key shares.
  if (chunk > 0 && Math.floor(j / chunk) !== Math.floor(diag / chunk)) return false;
  return true;
}
