// Code for Hopper alone (wgmma, TMA, mbarriers, the named-barrier order of the leader loops):
// nvcc defines sm_90a's feature macro only when it builds for sm_90a, so one CUDA C source
// gives both PTX, the sm_80 one taking the fallback (or nothing). The guard is spelled here once;
// nvcc.ts reads the macro's name to know a kernel needs the sm_90a build.

export const SM90_FEATURE = "__CUDA_ARCH_FEAT_SM90_ALL";
const IF_SM90 = `#if defined(${SM90_FEATURE})`;

/** Lines emitted in order; the preprocessor lines go through the same writer (no indent of their own). */
export interface LineWriter {
  line(s: string): void;
}

/** `body`'s lines for sm_90a, `fallback`'s (if any) for every other architecture. */
export function hopperOnly(em: LineWriter, body: () => void, fallback?: () => void): void {
  em.line(IF_SM90);
  body();
  if (fallback) {
    em.line("#else");
    fallback();
  }
  em.line("#endif");
}

/** The same for a block of lines built as a list (kernel prologues). */
export const hopperOnlyLines = (lines: string[]): string[] => [IF_SM90, ...lines, "#endif"];

/** The same for helper definitions written as one text. */
export const hopperOnlyText = (text: string): string => `${IF_SM90}\n${text}\n#endif`;
