# MLA split kernel, P·V wait experiment (2026-11-29): hand-edited variants of the rotated key loop
# of mla_decode_split.bf16.p{1,16,64}.cu as the compiler emitted them at commit ad83962 (read with
# `git show`), for timing beside that build:
#   python3 bench/experiments/mla_pv_wait_variants.py   -> tmp/exp11/VARIANT/NAME.cu
#   nvcc -ptx -gencode=arch=compute_90a,code=sm_90a -std=c++17 -o NAME.ptx NAME.cu
# then a package dir per variant (the manifest of that commit, the PTX gzipped as
# cuda/NAME.sm_90a.ptx.gz) and `bench_cuda.py --only mla --build VARIANT=DIR ...`.
# Variants (results in docs/performance.md, MLA section):
#   pvlate_u    the top waits only for this tile's scores (wait<1>), P·V of the last tile waited
#               for right before the rescale with wait<1> (the next scores left running); the
#               next scores issued unconditionally: ptxas serializes every wgmma (C7514)
#   pvlate      pvlate_u with the next scores issued only when there is a next tile (not timed:
#               ptxas injects a warpgroup.arrive, C7519, and serializes, C7514)
#   pvmid       pvlate_u, but the wait before the rescale is wait<0>: no ptxas note
#   xvec        the partial-score exchange as float4, each group reading only the other's part
#   pvmid_xvec  both (what the compiler emits since)
import re, subprocess, sys, os
BASE = 'ad83962'
def shipped(name): return subprocess.run(['git', 'show', f'{BASE}:generated/cuda/{name}.cu'], capture_output=True, text=True, check=True).stdout
PAT = re.compile(r'\b[a-zA-Z]+(?:_[a-zA-Z]+)*_\d+(?!\d)')
REF = shipped('mla_decode_split.bf16.p16')
def name_map(src):
    # identifiers of src -> those of the p16 build the edits below were written against
    m = {}
    for x, y in zip(PAT.findall(src), PAT.findall(REF)):
        assert m.setdefault(x, y) == y, (x, y)
    assert len(set(m.values())) == len(m)
    return m
def variants(name):
    raw = shipped(name)
    fwd = name_map(raw); back = {v: k for k, v in fwd.items()}
    for v, s in variants16(PAT.sub(lambda t: fwd[t.group(0)], raw)).items():
        yield v, PAT.sub(lambda t: back.get(t.group(0), t.group(0)), s)
def variants16(SRC):
    out = {}
    out['base'] = SRC
    # --- pvlate: wait only for the scores at the top; PV(t-1) waited for right before the rescale
    s = SRC
    top = '''    wgmma_wait<0>(); // this tile's scores, and the last tile's t_306
    for (int i = 0; i < 16; ++i) reg_fence(t_288_ahead[i]);
    for (int i = 0; i < 128; ++i) reg_fence(carry_223[i]);'''
    assert s.count(top) == 1
    s = s.replace(top, '''    wgmma_wait<1>(); // this tile's scores (the last tile's P.V may still run)
    for (int i = 0; i < 16; ++i) reg_fence(t_288_ahead[i]);''')
    # QK issue in the loop: commit moved out of the guard
    i0 = s.index('    if (t_268 + 1 < t_219) {\n      for (int i = 0; i < 16; ++i) t_288_ahead[i] = 0.0f;')
    i1 = s.index('      wgmma_commit();\n      #else', i0)
    s = s[:i1] + s[i1 + len('      wgmma_commit();\n'):]
    i2 = s.index('    if (t_268 + 2 < t_219) {', i0)
    s = s[:i2] + '    #if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n    wgmma_commit(); // empty when there is no next tile: one group a tile either way\n    #endif\n' + s[i2:]
    resc = '            carry_223[((mt * 32 + nt) * 2 + h) * 2 + p] = (carry_223[((mt * 32 + nt) * 2 + h) * 2 + p] * alpha_300[mt * 2 + h]);'
    # find the loop's rescale (the one after i0)
    j = s.index(resc, i0)
    k = s.rindex('    #pragma unroll\n    for (int mt = 0; mt < 1; ++mt) {', 0, j)
    s = s[:k] + '    #if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n    wgmma_wait<1>(); // the last tile\'s P.V (the next scores may still run)\n    for (int i = 0; i < 128; ++i) reg_fence(carry_223[i]);\n    #endif\n' + s[k:]
    # prologue: an empty group after the first scores so the top's wait<1> finds them
    p = s.index('    wgmma_commit();\n    #else', s.index('  float t_288_ahead[16];'))
    s = s[:p] + '    wgmma_commit();\n    wgmma_commit(); // empty: stands for the P.V of the tile before the first\n' + s[p + len('    wgmma_commit();\n'):]
    out['pvlate'] = s
    g = '    if (t_268 + 1 < t_219) {\n      for (int i = 0; i < 16; ++i) t_288_ahead[i] = 0.0f;'
    assert s.count(g) == 1
    out['pvlate_u'] = s.replace(g, '    if (true) { // unconditional: stale data after the last tile, dropped\n      for (int i = 0; i < 16; ++i) t_288_ahead[i] = 0.0f;')
    # --- xvec: the exchange as float4
    def xvec(s):
        w = '''    #pragma unroll
    for (int x = 0; x < 16; ++x) {
      reinterpret_cast<float*>(smem + 184320 + (t_268 & 1) * 16384)[(wcol * 16 + x) * 128 + (tid % 128)] = t_288_ahead[x];
    }'''
        assert s.count(w) == 1
        s = s.replace(w, '''    #pragma unroll
    for (int x = 0; x < 4; ++x) {
      reinterpret_cast<float4*>(smem + 184320 + (t_268 & 1) * 16384)[(wcol * 4 + x) * 128 + (tid % 128)] = make_float4(t_288_ahead[4 * x], t_288_ahead[4 * x + 1], t_288_ahead[4 * x + 2], t_288_ahead[4 * x + 3]);
    }
    float t_288_ahead_mine[16];
    #pragma unroll
    for (int x = 0; x < 16; ++x) t_288_ahead_mine[x] = t_288_ahead[x];''')
        r = '''    #pragma unroll
    for (int x = 0; x < 16; ++x) {
      t_288[x] = reinterpret_cast<float*>(smem + 184320 + (t_268 & 1) * 16384)[(0 * 16 + x) * 128 + (tid % 128)];
      t_288[x] += reinterpret_cast<float*>(smem + 184320 + (t_268 & 1) * 16384)[(1 * 16 + x) * 128 + (tid % 128)];
    }'''
        assert s.count(r) == 1
        s = s.replace(r, '''    #pragma unroll
    for (int x = 0; x < 4; ++x) {
      // the other group's part only: a + b is b + a bit for bit, so both groups get the same sums
      const float4 b = reinterpret_cast<const float4*>(smem + 184320 + (t_268 & 1) * 16384)[((1 - wcol) * 4 + x) * 128 + (tid % 128)];
      t_288[4 * x] = t_288_ahead_mine[4 * x] + b.x; t_288[4 * x + 1] = t_288_ahead_mine[4 * x + 1] + b.y; t_288[4 * x + 2] = t_288_ahead_mine[4 * x + 2] + b.z; t_288[4 * x + 3] = t_288_ahead_mine[4 * x + 3] + b.w;
    }''')
        return s
    out['xvec'] = xvec(SRC)
    out['pvmid'] = out['pvlate_u'].replace("wgmma_wait<1>(); // the last tile's P.V (the next scores may still run)", "wgmma_wait<0>(); // the last tile's P.V and the next tile's scores")
    out['pvmid_xvec'] = xvec(out['pvmid'])
    return out
for name in sys.argv[1:] or [f'mla_decode_split.bf16.p{p}' for p in (1, 16, 64)]:
    for v, s in variants(name):
        os.makedirs(f'tmp/exp11/{v}', exist_ok=True)
        open(f'tmp/exp11/{v}/{name}.cu', 'w').write(s)
print('ok')
