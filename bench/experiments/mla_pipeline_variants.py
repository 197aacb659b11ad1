# MLA split kernel, pipeline experiment (2026-11-29): hand-edited variants of the main key loop of
# generated/cuda/mla_decode_split.bf16.p16.cu as the compiler emitted it at commit 489569b, for
# timing beside the shipped build (`bench_cuda.py --only mla --mla-pages 16 --build NAME=DIR`).
# It reads the .cu from generated/, writes tmp/mla-exp/cu/NAME.cu and NAME.shared (the dynamic
# shared memory bytes); compile each with
#   nvcc -ptx -gencode=arch=compute_90a,code=sm_90a -std=c++17 -o NAME.ptx NAME.cu
# and pack it as a one-kernel package (manifest entry with sharedBytes replaced, the PTX gzipped as
# cuda/mla_decode_split.bf16.p16.sm_90a.ptx.gz). The text markers below match that commit's
# output only; results and what each variant changes are in docs/performance.md (MLA section).
# nocopy, nopt and noxchg compute wrong results on purpose: they time what a part costs.
import os
SRC = open('generated/cuda/mla_decode_split.bf16.p16.cu').read()
L = SRC.split('\n')
s = [i for i, l in enumerate(L) if l.startswith('  for (int t_268 = t_216')][0]
e = [i for i, l in enumerate(L) if i > s and l == '  }'][0]
pro = [i for i, l in enumerate(L) if i < s and 'the tiles\' shared memory is free' in l][-1]
HEAD, PROLOGUE, LOOP, TAIL = '\n'.join(L[:pro]), '\n'.join(L[pro:s]), '\n'.join(L[s:e + 1]), '\n'.join(L[e + 1:])

HELPERS = '''#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\\n" :: "n"(N) : "memory"); }
#endif
'''
def with_helpers(head):
    k = head.index('#if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n// d (64')
    return head[:k] + HELPERS + head[k:]

PV_WAIT = '''      wgmma_commit_wait();
      #pragma unroll
      for (int i = 0; i < 128; ++i) {
        reg_fence(carry_223[i]);
      }'''
assert LOOP.count(PV_WAIT) == 1
# blocks of the loop body
def cut(text, start_marker, end_marker):
    a = text.index(start_marker); b = text.index(end_marker, a) + len(end_marker)
    return text[a:b]
CCOPY = cut(LOOP, '    if (t_268 + 1 < t_219) {\n      const int t_272_ahead = ((t_268 + 1) * 32);\n      // C_283', '    cp_async_commit();\n')
KRCOPY = cut(LOOP, '    __syncthreads(); // every warp is done with Kr_285', '    cp_async_commit();\n')
XCHG = cut(LOOP, '    // t_288: every column group summed part of k', "t_288[x] += reinterpret_cast<float*>(smem + 143360)[(1 * 16 + x) * 128 + (tid % 128)];\n    }\n")
PT = 'page_table[(long long)(b_98) * page_table_s0 + (long long)(safe_div((t_272_ahead + r), 16))]'

def out(name, src, shared=159744):
    os.makedirs('tmp/mla-exp/cu', exist_ok=True)
    open(f'tmp/mla-exp/cu/{name}.cu', 'w').write(src)
    open(f'tmp/mla-exp/cu/{name}.shared', 'w').write(str(shared))

def join(head, pro, loop, tail): return '\n'.join([head, pro, loop, tail])

out('base', SRC)
# diagnostics (wrong results, timing only)
out('nocopy', join(HEAD, PROLOGUE, LOOP.replace(CCOPY, '    cp_async_commit();\n').replace(KRCOPY, '    cp_async_commit();\n'), TAIL))
out('nopt', join(HEAD, PROLOGUE, LOOP.replace(PT, '(b_98 * (int)page_table_s0 + safe_div((t_272_ahead + r), 16))'), TAIL))
out('noxchg', join(HEAD, PROLOGUE, LOOP.replace(XCHG, ''), TAIL))
# deferred PV wait: commit only; the C copy into the buffer PV(t-1) reads moves after the exchange's first barrier
def pvdefer(loop):
    loop = loop.replace(PV_WAIT, '      wgmma_commit();')
    loop = loop.replace(CCOPY, '    cp_async_commit();\n')
    first_bar = '    // t_288: every column group summed part of k; add the parts (in group order, the same bits everywhere)\n    __syncthreads();\n'
    assert first_bar in loop
    return loop.replace(first_bar, first_bar + CCOPY.replace('    cp_async_commit();\n', '') )
out('pvdefer', join(with_helpers(HEAD), PROLOGUE, pvdefer(LOOP), '  wgmma_wait<0>();\n' + TAIL))
# Kr double-buffered (second slot after the exchange buffer), copied beside C at the tile's top
KR1 = 159744 - 139264
def kr2(loop, pro):
    krc = KRCOPY.split('\n', 1)[1]  # without the barrier
    krc = krc.replace('smem + 139264 + sw128', f'smem + (139264 + ((t_268 + 1) & 1) * {KR1}) + sw128').replace('    cp_async_commit();\n', '')
    loop = loop.replace(KRCOPY, '').replace(CCOPY, CCOPY.replace('    cp_async_commit();\n', '') + krc + '    cp_async_commit();\n')
    loop = loop.replace('sw128_desc(smem + 139264 +', f'sw128_desc(smem + (139264 + (t_268 & 1) * {KR1}) +').replace('ldsm_x4(b, smem + 139264 +', f'ldsm_x4(b, smem + (139264 + (t_268 & 1) * {KR1}) +')
    pro = pro.replace('cp_async16(smem + 139264 + sw128', f'cp_async16(smem + (139264 + (t_216 & 1) * {KR1}) + sw128')
    return loop, pro
lk, pk = kr2(LOOP, PROLOGUE)
out('kr2', join(HEAD, pk, lk, TAIL), 163840)
lk, pk = kr2(LOOP, PROLOGUE)
out('pvdefer_kr2', join(with_helpers(HEAD), pk, pvdefer(lk), '  wgmma_wait<0>();\n' + TAIL), 163840)
print('ok')

# pipe3: 3 stages of C and Kr; each group's S share (16 latent + 2 rope k steps) for tile t+1 runs on
# the tensor cores while the CUDA cores do tile t's softmax; PV(t) is committed without a wait; the
# partial scores meet in a double-buffered exchange, so one barrier a tile.
CST, KST, XB = 73728, 172032, 184320   # C stages (3 x 32 KiB), Kr stages (3 x 4 KiB), exchange (2 x 16 KiB)
def copies(tvar, guard):
    c = CCOPY.replace('((t_268 + 1) & 1) * 32768', '((t_268 + 1) % 3) * 32768').replace('if (t_268 + 1 < t_219)', 'if (GUARD)').replace('    cp_async_commit();\n', '').replace('(t_268 + 1)', tvar).replace(f'smem + (73728 + (({tvar}) & 1) * 32768)', f'smem + ({CST} + (({tvar}) % 3) * 32768)')
    kr = KRCOPY.split('\n', 1)[1].replace('if (t_268 + 1 < t_219)', 'if (GUARD)').replace('    cp_async_commit();\n', '').replace('(t_268 + 1)', tvar).replace('smem + 139264 + sw128', f'smem + ({KST} + (({tvar}) % 3) * 4096) + sw128')
    c = c.replace('GUARD', guard); kr = kr.replace('GUARD', guard)
    assert f'if ({guard})' in c and f'if ({guard})' in kr, (c[:200], kr[:200])
    return c + kr + '    cp_async_commit();\n'
def s_issue(tvar, indent='    '):
    return f'''{indent}#pragma unroll
{indent}for (int i = 0; i < 16; ++i) sacc[i] = 0.0f;
{indent}wgmma_fence();
{indent}#pragma unroll
{indent}for (int kq = 0; kq < 16; ++kq) {{
{indent}  const int kk = wcol * 16 + kq;
{indent}  wgmma_m64n32k16_ss_bf16<0>(sacc, sw128_desc(smem + 0 + (kk >> 2) * 8192 + (kk & 3) * 32, 16, 1024), sw128_desc(smem + ({CST} + (({tvar}) % 3) * 32768) + (kk >> 2) * 4096 + (kk & 3) * 32, 16, 1024));
{indent}}}
{indent}#pragma unroll
{indent}for (int kq = 0; kq < 2; ++kq) {{
{indent}  const int kk = wcol * 2 + kq;
{indent}  wgmma_m64n32k16_ss_bf16<0>(sacc, sw128_desc(smem + 65536 + (kk & 3) * 32, 16, 1024), sw128_desc(smem + ({KST} + (({tvar}) % 3) * 4096) + (kk & 3) * 32, 16, 1024));
{indent}}}
{indent}wgmma_commit();
'''
SOFTMAX_PV = LOOP[LOOP.index('    float t_292[16];'):LOOP.rindex('\n  }')]
SOFTMAX_PV = SOFTMAX_PV.replace(PV_WAIT, '      wgmma_commit();').replace('(73728 + (t_268 & 1) * 32768)', f'({CST} + (t_268 % 3) * 32768)')
assert '(t_268 & 1)' not in SOFTMAX_PV
PIPE_PRO = f'''  __syncthreads(); // the tiles' shared memory is free
  float sacc[16];
  if (t_216 < t_219) {{
{copies('t_216', 't_216 < t_219')}{copies('(t_216 + 1)', '(t_216 + 1) < t_219')}    cp_async_wait<1>();
  }}
  fence_async_proxy();
  __syncthreads();
  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  // unconditional (stale data when the loop is empty: waited for and dropped after it), then an
  // empty group, so the loop's wait<1> holds from its first tile
{s_issue('t_216', '  ')}  wgmma_commit();
  #endif
'''
PIPE_LOOP = f'''  for (int t_268 = t_216; t_268 < t_219; ++t_268) {{
    #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    wgmma_wait<0>(); // this tile's score share and PV(t-1) are done (wait<1> here makes ptxas serialize: C7514)
    #pragma unroll
    for (int i = 0; i < 16; ++i) reg_fence(sacc[i]);
    #endif
    float* xw = reinterpret_cast<float*>(smem + {XB} + (t_268 & 1) * 16384);
    #pragma unroll
    for (int x = 0; x < 16; ++x) xw[(wcol * 16 + x) * 128 + (tid % 128)] = sacc[x];
    cp_async_wait<0>(); // C(t+1), Kr(t+1)
    fence_async_proxy();
    #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    #pragma unroll
    for (int i = 0; i < 128; ++i) reg_fence(carry_223[i]);
    #endif
    __syncthreads();
    #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
{s_issue('t_268 + 1')}    #endif
{copies('(t_268 + 2)', '(t_268 + 2) < t_219')}    float t_288[16];
    #pragma unroll
    for (int x = 0; x < 16; ++x) t_288[x] = xw[(0 * 16 + x) * 128 + (tid % 128)] + xw[(1 * 16 + x) * 128 + (tid % 128)];
{SOFTMAX_PV}
  }}
  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  wgmma_wait<0>();
  #pragma unroll
  for (int i = 0; i < 128; ++i) reg_fence(carry_223[i]);
  #endif'''
out('pipe3', join(with_helpers(HEAD), PIPE_PRO, PIPE_LOOP, TAIL), XB + 2 * 16384)
print('pipe3 ok')

out('pipe3_nopt', join(with_helpers(HEAD), PIPE_PRO.replace(PT, '(b_98 * (int)page_table_s0 + safe_div((t_272_ahead + r), 16))'), PIPE_LOOP.replace(PT, '(b_98 * (int)page_table_s0 + safe_div((t_272_ahead + r), 16))'), TAIL), XB + 2 * 16384)

# ropefold: the rope dot k-split too (2 of its 4 steps per group), accumulated before the one exchange
SWG = LOOP[LOOP.index('      for (int kq = 0; kq < 16; ++kq) {'):]
SWG = SWG[:SWG.index('      wgmma_commit_wait();')]
ROPE_K = """      #pragma unroll
      for (int kq = 0; kq < 2; ++kq) {
        const int kk = wcol * 2 + kq;
        wgmma_m64n32k16_ss_bf16<0>(t_288, sw128_desc(smem + 65536 + (kk & 3) * 32, 16, 1024), sw128_desc(smem + 139264 + (kk & 3) * 32, 16, 1024));
      }
"""
ROPE_BLOCK = LOOP[LOOP.index('    #if defined(__CUDA_ARCH_FEAT_SM90_ALL)\n    // t_288 on this warpgroup\'s tensor cores: 4 x wgmma'):]
ROPE_BLOCK = ROPE_BLOCK[:ROPE_BLOCK.index('    #endif\n') + len('    #endif\n')]
rl = LOOP.replace(SWG, SWG + ROPE_K).replace(ROPE_BLOCK, '')
assert rl != LOOP and ROPE_BLOCK not in rl
out('ropefold', join(HEAD, PROLOGUE, rl, TAIL))
# pipe3_sync: pipe3 with the next tile's scores waited for right after they are issued (no overlap)
out('pipe3_sync', join(with_helpers(HEAD), PIPE_PRO, PIPE_LOOP.replace("""      wgmma_commit();
    #endif
    if ((t_268 + 2)""", """      wgmma_commit();
    wgmma_wait<0>();
    #endif
    if ((t_268 + 2)"""), TAIL), XB + 2 * 16384)

# pipe3_desc: pipe3 with each wgmma's descriptors stepped from one base per operand by constants
# (the group index read from lane 0, so it is warp-uniform to ptxas), instead of built per wgmma.
def s_issue_desc(tvar, indent='    '):
    return f'''{indent}#pragma unroll
{indent}for (int i = 0; i < 16; ++i) sacc[i] = 0.0f;
{indent}{{
{indent}const uint64_t dc = sw128_desc(smem + {CST} + (({tvar}) % 3) * 32768, 16, 1024) + (uint64_t)(wg * 16384 >> 4);
{indent}const uint64_t dk = sw128_desc(smem + {KST} + (({tvar}) % 3) * 4096, 16, 1024) + (uint64_t)(wg * 64 >> 4);
{indent}wgmma_fence();
{indent}#pragma unroll
{indent}for (int kq = 0; kq < 16; ++kq)
{indent}  wgmma_m64n32k16_ss_bf16<0>(sacc, dq + (uint64_t)((((kq >> 2) * 8192) + (kq & 3) * 32) >> 4), dc + (uint64_t)((((kq >> 2) * 4096) + (kq & 3) * 32) >> 4));
{indent}#pragma unroll
{indent}for (int kq = 0; kq < 2; ++kq)
{indent}  wgmma_m64n32k16_ss_bf16<0>(sacc, dr + (uint64_t)((kq * 32) >> 4), dk + (uint64_t)((kq * 32) >> 4));
{indent}wgmma_commit();
{indent}}}
'''
DESC_SETUP = f'''  #if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  const int wg = __shfl_sync(0xffffffffu, tid >> 7, 0); // the group index, warp-uniform
  const uint64_t dq = sw128_desc(smem + 0, 16, 1024) + (uint64_t)(wg * 32768 >> 4);  // this group's half of q_nope's k
  const uint64_t dr = sw128_desc(smem + 65536, 16, 1024) + (uint64_t)(wg * 64 >> 4); // its half of q_rope's k
  #endif
'''
PV_DESC_OLD = f'wgmma_m64n256k16_rs_bf16<1>(carry_223, af[kk], sw128_desc(smem + ({CST} + (t_268 % 3) * 32768) + wcol * 256 / 64 * 4096 + kk * 2048, 4096, 1024));'
assert PV_DESC_OLD in PIPE_LOOP
pd_loop = PIPE_LOOP.replace(s_issue('t_268 + 1'), s_issue_desc('t_268 + 1')).replace(
    PV_DESC_OLD, f'wgmma_m64n256k16_rs_bf16<1>(carry_223, af[kk], dv + (uint64_t)(kk * 2048 >> 4));').replace(
    '      wgmma_fence();\n      #pragma unroll\n      for (int kk = 0; kk < 2; ++kk) {\n        wgmma_m64n256k16_rs_bf16<1>(carry_223, af[kk], dv',
    f'      const uint64_t dv = sw128_desc(smem + {CST} + (t_268 % 3) * 32768, 4096, 1024) + (uint64_t)(wg * 4 * 4096 >> 4);\n      wgmma_fence();\n      #pragma unroll\n      for (int kk = 0; kk < 2; ++kk) {{\n        wgmma_m64n256k16_rs_bf16<1>(carry_223, af[kk], dv')
assert 'dv + (uint64_t)(kk * 2048 >> 4)' in pd_loop and 'const uint64_t dv' in pd_loop and s_issue('t_268 + 1') not in pd_loop
pd_pro = PIPE_PRO.replace(s_issue('t_216', '  '), s_issue_desc('t_216', '  '))
assert pd_pro != PIPE_PRO
out('pipe3_desc', join(with_helpers(HEAD), DESC_SETUP + pd_pro, pd_loop, TAIL), XB + 2 * 16384)
print('pipe3_desc ok')
