// The query/key length mixes every attention variant is checked on: SGLang's modes (prefill,
// extend after a cached prefix, decode, target-verify) and batches that mix them. The pairs are
// the ones the variants issue asks for.
export interface Mode {
  name: string;
  qLens: number[];
  kLens: number[];
}

export const MODES: Mode[] = [
  { name: "prefill", qLens: [64, 113, 1], kLens: [64, 113, 1] },
  { name: "extend", qLens: [3, 64, 64, 3, 113], kLens: [1024, 800, 256, 799, 203] },
  { name: "extend (long)", qLens: [128, 108, 256], kLens: [217, 256, 512] },
  { name: "decode", qLens: [1, 1, 1], kLens: [1, 339, 1024] },
  { name: "target-verify", qLens: [4, 4, 3], kLens: [300, 4, 57] },
  { name: "mixed batch", qLens: [1, 113, 1, 64], kLens: [339, 203, 1, 800] },
];
