# How fast the tensor cores of one SM run the MLA split kernel's two wgmma chains, alone and side
# by side (2026-11-29, sixteenth session). The MLA bar (3.0 TB/s of latent cache on an H200) needs
# about 725 TFLOP/s; the chains are a tile's scores (36 x m64n64k16, both operands in shared
# memory: 64 heads x 64 keys over 576 columns) and its P·V (4 x m64n256k16 a warpgroup, P from
# registers or shared memory, 256 of the 512 output columns). This measures each chain's cycles on
# every SM at once (132 blocks of 256 threads, one a SM), with nothing else in the kernel, so the
# best a schedule of these chains can do is known before writing one.
#
#   python3 bench/experiments/wgmma_rates.py build      (here: nvcc -> tmp/wgmma/rates.ptx)
#   python3 bench/experiments/wgmma_rates.py run [DIR]  (on the GPU: prints a table)
#
# Measured on the H200 (h200-wgmma-rates-2026-11-29.log; SM clock 1.73-1.79 GHz under this load):
# one group's scores chain 1285 cycles (90% of the peak rate), both groups' side by side 2356 (98%);
# one group's P·V 586-616 (83-87%), both 1024 (100%); scores then P·V in both groups 3366 (99%).
# So two groups keep the tensor cores full; one group alone loses 10-17% to each chain's latency.
# A 64-key tile of the split kernel is 2176 cycles of tensor work at the peak; the shipped build
# takes about 4100 a tile (ncu), and the bar asks for about 2800.
#
# Modes: which warpgroup runs which chain each iteration (the chain is committed, then waited
# for, as the kernels do). The flops a SM can do a cycle at the dense bf16 peak: 4096 (989.4
# TFLOP/s over 132 SMs at 1.83 GHz).
import ctypes
import os
import subprocess
import sys

OUT = "tmp/wgmma"
# (name, warpgroup 0's chain, warpgroup 1's chain); "S" scores, "Pr" P·V with P in registers,
# "Ps" with P in shared memory, "SP" scores then P·V from registers, "-" nothing.
MODES = [
    ("scores, one group", "S", "-"),
    ("scores, both groups", "S", "S"),
    ("P.V (P in registers), one group", "Pr", "-"),
    ("P.V, both (registers / shared)", "Pr", "Ps"),
    ("P.V (P in shared), one group", "Ps", "-"),
    ("scores + P.V, one group", "SP", "-"),
    ("scores + P.V, both groups", "SP", "SP"),
    ("scores / P.V side by side", "S", "Pr"),
]
FLOPS = {"S": 64 * 64 * 576 * 2, "Pr": 64 * 256 * 64 * 2, "Ps": 64 * 256 * 64 * 2, "SP": 64 * 64 * 576 * 2 + 64 * 256 * 64 * 2, "-": 0}

CHAIN = {
    "S": """
      wgmma_fence();
      #pragma unroll
      for (int kk = 0; kk < 36; ++kk) wgmma_m64n64k16_ss_bf16<0>(sc, da + STEP(kk), db + STEP(kk));
      wgmma_commit(); wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 32; ++i) reg_fence(sc[i]);""",
    "Pr": """
      #pragma unroll
      for (int k = 0; k < 4; ++k)
        #pragma unroll
        for (int j = 0; j < 4; ++j) af[k][j] = 0x3f803f80u ^ (it + k + j); // written in the branch, as P is
      wgmma_fence();
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) wgmma_m64n256k16_rs_bf16<1>(o, af[kk], dv + (uint64_t)((kk * 2048) >> 4));
      wgmma_commit(); wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 128; ++i) reg_fence(o[i]);""",
    "Ps": """
      wgmma_fence();
      #pragma unroll
      for (int kk = 0; kk < 4; ++kk) wgmma_m64n256k16_ss_bf16<1>(o, dp + STEP(kk), dv + (uint64_t)((kk * 2048) >> 4));
      wgmma_commit(); wgmma_wait<0>();
      #pragma unroll
      for (int i = 0; i < 128; ++i) reg_fence(o[i]);""",
    "-": "",
}
CHAIN["SP"] = CHAIN["S"] + CHAIN["Pr"]


def kernel(i, c0, c1):
    return f"""
extern "C" __global__ void __launch_bounds__(256, 1) rates_{i}(int iters, long long* cycles, float* sink) {{
  extern __shared__ __align__(1024) unsigned char smem[];
  // Q (72 KiB), a key tile (72 KiB: latent then rope blocks), P (8 KiB); values do not matter here
  const uint64_t da = sw128_desc(smem, 16, 1024), db = sw128_desc(smem + 73728, 16, 1024);
  const uint64_t dp = sw128_desc(smem + 147456, 16, 1024);
  const int tid = threadIdx.x, wg = tid >> 7;
  const uint64_t dv = sw128_desc(smem + 73728 + wg * 4 * 8192, 8192, 1024);
  float sc[32], o[128];
  uint32_t af[4][4];
  for (int i = 0; i < 32; ++i) sc[i] = 0.0f;
  for (int i = 0; i < 128; ++i) o[i] = 0.0f;
  for (int i = tid; i < 155648 / 4; i += 256) reinterpret_cast<uint32_t*>(smem)[i] = 0x3c003c00u;
  fence_async_proxy();
  __syncthreads();
  const long long t0 = clock64();
  for (int it = 0; it < iters; ++it) {{
    if (wg == 0) {{{CHAIN[c0]}
    }} else {{{CHAIN[c1]}
    }}
  }}
  __syncthreads();
  const long long t1 = clock64();
  if (tid == 0) cycles[blockIdx.x] = t1 - t0;
  float s = 0.0f;
  for (int i = 0; i < 32; ++i) s += sc[i];
  for (int i = 0; i < 128; ++i) s += o[i];
  sink[blockIdx.x * 256 + tid] = s;
}}
"""


def build():
    src = open("generated/cuda/mla_decode_split.bf16.p64.cu").read()
    # the shipped kernel's own helpers: swizzle, descriptors, fences and the wgmma wrappers
    helpers = src[src.index("// Byte offset of element"):src.index("// Named barrier 1")]
    body = "#include <cuda_bf16.h>\n#include <stdint.h>\n" + helpers
    body += "#define STEP(kk) ((uint64_t)(((((kk) >> 2) * 8192) + ((kk) & 3) * 32) >> 4))\n"
    body += "".join(kernel(i, c0, c1) for i, (_, c0, c1) in enumerate(MODES))
    os.makedirs(OUT, exist_ok=True)
    open(f"{OUT}/rates.cu", "w").write(body)
    subprocess.run(["nvcc", "-ptx", "-gencode=arch=compute_90a,code=sm_90a", "-std=c++17", "-O3", f"{OUT}/rates.cu", "-o", f"{OUT}/rates.ptx"], check=True)
    r = subprocess.run(["nvcc", "-cubin", "-arch=sm_90a", "-std=c++17", "-O3", "-Xptxas", "-v", f"{OUT}/rates.cu", "-o", f"{OUT}/rates.cubin"], capture_output=True, text=True, check=True)
    print("\n".join(l for l in r.stderr.splitlines() if "registers" in l or "spill" in l or "C75" in l))


def run(d):
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from generated_kernels import check, cu
    torch.empty(1, device="cuda")
    mod = check(cu.cuModuleLoadData(open(f"{d}/rates.ptx", "rb").read() + b"\0"))
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    print(f"card: {torch.cuda.get_device_name(0)}, {sms} SMs")
    print("| mode | cycles an iteration (median SM) | flops a cycle a SM | % of 4096 | TFLOP/s at the measured clock |")
    print("| --- | ---: | ---: | ---: | ---: |")
    iters, shared = 2000, 155648
    for i, (name, c0, c1) in enumerate(MODES):
        fn = check(cu.cuModuleGetFunction(mod, f"rates_{i}".encode()))
        check(cu.cuFuncSetAttribute(fn, cu.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, shared))
        cycles = torch.zeros(sms, dtype=torch.int64, device="cuda")
        sink = torch.zeros(sms * 256, device="cuda")
        keep = [ctypes.c_int(iters), ctypes.c_void_p(cycles.data_ptr()), ctypes.c_void_p(sink.data_ptr())]
        argv = (ctypes.c_void_p * 3)(*[ctypes.addressof(k) for k in keep])
        launch = lambda: check(cu.cuLaunchKernel(fn, sms, 1, 1, 256, 1, 1, shared, torch.cuda.current_stream().cuda_stream, ctypes.addressof(argv), 0))
        launch()
        torch.cuda.synchronize()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        launch()
        b.record()
        b.synchronize()
        ms = a.elapsed_time(b)
        cyc = cycles.float().median().item() / iters
        flops = FLOPS[c0] + FLOPS[c1]
        clock = cycles.float().median().item() / (ms * 1e-3)
        print(f"| {name} | {cyc:.0f} | {flops / cyc:.0f} | {100 * flops / cyc / 4096:.1f} | {flops * sms * iters / (ms * 1e-3) / 1e12:.0f} (clock {clock / 1e9:.2f} GHz) |")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build()
    else:
        run(sys.argv[2] if len(sys.argv) > 2 else OUT)
