// A C entry point for FlashMLA's dense SM90 decode (github.com/deepseek-ai/FlashMLA), so that
// bench/bench_cuda.py can time it through ctypes on a machine where the flash_mla Python package
// is not installed (it needs a torch build toolchain; this needs only nvcc). It fills FlashMLA's
// own parameter structs the way its torch interface (csrc/api/dense_decode.h) does for one kv
// head, a contiguous query and a contiguous paged cache, and runs its three kernels: the split
// schedule (optional, so it can be left out of the timing as FlashMLA's users do), the split-KV
// kernel and the combine. Built by bench/peers/build-flashmla.sh against a FlashMLA checkout.
#include <cuda_runtime_api.h>
#include <cutlass/bfloat16.h>

#include "params.h"
#include "sm90/decode/dense/splitkv_mla.h"
#include "smxx/decode/combine/combine.h"
#include "smxx/decode/get_decoding_sched_meta/get_decoding_sched_meta.h"

#include <exception>
#include <cstdio>
#include <cstring>

namespace {
char last_error[512];
}

extern "C" {

const char *flashmla_last_error() { return last_error; }

int flashmla_sched_meta_ints() { return int(sizeof(DecodingSchedMeta) / sizeof(int)); }

// q: [b, h_q, d] bf16; kcache: [num_blocks, 64, d] bf16; block_table: [b, bt_stride] int32;
// seqlens: [b] int32; out: [b, h_q, 512] bf16; lse: [b, h_q] f32.
// meta: [num_sm_parts, flashmla_sched_meta_ints()] int32; num_splits: [b + 1] int32;
// lse_accum: [b + num_sm_parts, h_q] f32; o_accum: [b + num_sm_parts, h_q, 512] f32.
// Returns 0, or -1 with flashmla_last_error() set.
int flashmla_dense_decode(void *q, void *kcache, void *out, float *lse, int *seqlens, int *block_table,
                          long bt_stride, int b, int h_q, int d, int num_blocks, float scale,
                          int *meta, int *num_splits, float *lse_accum, float *o_accum,
                          int num_sm_parts, int plan, void *stream_ptr) {
    try {
        cudaStream_t stream = (cudaStream_t)stream_ptr;
        const int d_v = 512, page = 64, s_q = 1, h_k = 1;
        if (plan) {
            GetDecodeSchedMetaParams sp = {b, s_q, page, 5, -1, -1, nullptr, nullptr, seqlens,
                                          (DecodingSchedMeta *)meta, num_splits, num_sm_parts, stream};
            smxx::decode::run_get_decoding_sched_meta_kernel(sp);
        }
        DenseAttnDecodeParams p;
        memset(&p, 0, sizeof p);
        p.b = b; p.s_q = s_q; p.q_seq_per_hk = h_q; p.seqlens_k_ptr = seqlens;
        p.h_q = h_q; p.h_k = h_k; p.num_blocks = num_blocks; p.q_head_per_hk = h_q;
        p.is_causal = false; p.d = d; p.d_v = d_v;
        p.scale_softmax = scale; p.scale_softmax_log2 = float(scale * 1.4426950408889634);
        p.q_ptr = q; p.k_ptr = kcache; p.o_ptr = out; p.softmax_lse_ptr = lse;
        // Strides in elements, as the torch interface computes them for one kv head.
        p.q_batch_stride = (long)h_q * d; p.q_row_stride = d; p.q_head_stride = d;
        p.k_batch_stride = (long)page * d; p.k_row_stride = d; p.k_head_stride = d;
        p.o_batch_stride = (long)h_q * d_v; p.o_row_stride = d_v; p.o_head_stride = (long)h_q * d_v;
        p.block_table = block_table; p.block_table_batch_stride = bt_stride; p.page_block_size = page;
        p.tile_scheduler_metadata_ptr = (DecodingSchedMeta *)meta; p.num_sm_parts = num_sm_parts;
        p.num_splits_ptr = num_splits;
        p.total_num_splits = b + num_sm_parts;
        p.softmax_lseaccum_ptr = lse_accum; p.oaccum_ptr = o_accum;
        p.stream = stream;
        sm90::run_flash_splitkv_mla_kernel<cutlass::bfloat16_t>(p);
        CombineParams cp = {b, s_q, h_q, d_v,
                            lse, out, h_q, h_q, h_q * s_q * d_v, h_q * d_v, d_v,
                            lse_accum, o_accum, h_q, h_q, h_q * s_q * d_v, h_q * d_v, d_v,
                            (DecodingSchedMeta *)meta, num_splits, num_sm_parts, nullptr, stream};
        smxx::decode::run_flash_mla_combine_kernel<cutlass::bfloat16_t>(cp);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) {
            snprintf(last_error, sizeof last_error, "%s", cudaGetErrorString(e));
            return -1;
        }
        return 0;
    } catch (const std::exception &e) {
        snprintf(last_error, sizeof last_error, "%s", e.what());
        return -1;
    }
}
}
