// The CUDA runtime's self-test kernel, written by hand in the shape the compiler's CUDA backend
// emits (runtime/manifest.ts, CudaTarget): one device pointer per tensor in manifest order, then
// ONE struct by value holding the dims and scalars at the byte offsets of `uniforms.fields`.
//
//   y[i, j] = a * x[i, j] + b[j]     x, y: f32[rows, cols]; b: f32[cols]; a: f32
//
// Built here (no GPU needed) with:  nvcc -ptx -arch=sm_80 -o axpy.sm_80.ptx axpy.cu
// The manifest is axpy.manifest.json; the self-test (../selftest.mjs) loads the PTX.

struct AxpyParams {
  unsigned int rows;  // offset 0, dim
  unsigned int cols;  // offset 4, dim
  float a;            // offset 8, scalar
  unsigned int _pad;  // offset 12: the block is 16 bytes
};
static_assert(sizeof(AxpyParams) == 16, "param struct must match the manifest's uniforms.size");

extern "C" __global__ void __launch_bounds__(256)
axpy(const float* __restrict__ x, const float* __restrict__ b, float* __restrict__ y, const AxpyParams p) {
  // No shared memory is used: the self-test also launches it with 64 KiB of dynamic shared
  // memory to exercise the opt-in attribute, and with 0 bytes, where any shared store would be
  // out of range.
  const unsigned int n = p.rows * p.cols;
  const unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  y[i] = p.a * x[i] + b[i % p.cols];
}
