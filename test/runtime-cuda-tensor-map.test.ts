// TMA tensor maps (cuda.tensorMaps): what the runtime asks the driver for, computed without a
// GPU (a tensor seen as [rows, last dim], its checks and messages), the parameter each map adds
// after the struct, the per-kernel cache, the manifest checks, and the addon's call of
// cuTensorMapEncodeTiled over the fake libcuda (which writes the arguments it got in place of the
// opaque encoding). The encoding of a real driver and a kernel's TMA copies run on a GPU machine
// (scripts/cuda-suite.ts).
import { beforeAll, describe, expect, it } from "vitest";
import type { KernelManifest, TensorMapSpec } from "../runtime/manifest.ts";
import {
  checkCudaManifest,
  createTensor,
  getCudaDevice,
  prepareLaunch,
  TensorMapCache,
  tensorMapRequest,
  type CudaDevice,
  type TensorMapRequest,
} from "../runtime/backends/cuda/index.ts";
import { fakeLib, H100ish, useCudaBuild } from "./harness/cuda-fixtures.ts";

useCudaBuild();

// A kernel that copies a paged latent cache [slots, 1, 576] (bf16) with TMA, in boxes of 64 columns x 16 rows.
const tma: KernelManifest = {
  name: "tma.test",
  kernel: "tma",
  source: { file: "t.ts", line: 1 },
  params: {},
  tuned: [],
  tensors: [
    { name: "q", binding: 0, dtype: "bf16", shape: ["heads", 576], access: "read", perStep: false },
    { name: "c_kv", binding: 1, dtype: "bf16", shape: ["slots", 1, 576], access: "read", perStep: false },
    { name: "out", binding: 2, dtype: "f32", shape: ["heads", 512], access: "read_write", perStep: false },
  ],
  scalars: [],
  dims: ["heads", "slots"],
  grid: ["heads"],
  gridAxes: ["h"],
  cuda: {
    file: "tma.cu",
    ptx: {},
    entryPoint: "tma",
    blockDim: [256, 1, 1],
    sharedBytes: 0,
    uniforms: { size: 8, fields: [{ name: "heads", type: "u32", offset: 0, from: "dim" }, { name: "slots", type: "u32", offset: 4, from: "dim" }] },
    tensorMaps: [{ tensor: "c_kv", box: [64, 16], swizzle: 128 }],
  },
} as KernelManifest;

const args = (cacheAt = 0x7f0000100000n, slots = 1000) => ({
  q: { ptr: 0x7f0000000000n, shape: [128, 576] },
  c_kv: { ptr: cacheAt, shape: [slots, 1, 576] },
  out: { ptr: 0x7f0000800000n, shape: [128, 512] },
});

describe("tensor maps without a GPU", () => {
  it("asks the driver for the tensor as [rows, last dim], rows 1152 bytes apart, the manifest's box and swizzle", () => {
    const req = tensorMapRequest(tma, tma.cuda!.tensorMaps![0], tma.tensors[1], 0x7f0000100000n, [1000, 1, 576]);
    expect(req).toEqual({ dataType: 9, ptr: 0x7f0000100000n, dims: [576, 1000], strideBytes: [1152], box: [64, 16], swizzle: 3 });
    expect(tensorMapRequest(tma, { tensor: "x", box: [32, 8], swizzle: 0 }, { name: "x", dtype: "f8e4m3" }, 16n, [7, 48])).toMatchObject({ dataType: 0, dims: [48, 7], strideBytes: [48], swizzle: 0 });
  });

  it("with rowDims 2, sees k[tokens, heads, head_dim] as [tokens, heads x head_dim]: a box's rows are one head's consecutive tokens", () => {
    const spec: TensorMapSpec = { tensor: "k", box: [64, 64], swizzle: 128, rowDims: 2 };
    const req = tensorMapRequest(tma, spec, { name: "k", dtype: "bf16" }, 0x7f0000100000n, [16384, 16, 128]);
    expect(req).toEqual({ dataType: 9, ptr: 0x7f0000100000n, dims: [2048, 16384], strideBytes: [4096], box: [64, 64], swizzle: 3 });
    // rowDims as large as the rank: one row of every element.
    expect(tensorMapRequest(tma, { ...spec, rowDims: 3 }, { name: "k", dtype: "bf16" }, 16n, [4, 2, 8])).toMatchObject({ dims: [64, 1], strideBytes: [128] });
    expect(() => tensorMapRequest(tma, spec, { name: "k", dtype: "bf16" }, 16n, [4, 3, 4])).toThrow(
      "tma.test: tensor 'k' is copied with TMA, but its rows are 24 bytes, not a multiple of 16 (12 elements x 2)",
    );
  });

  it("says where TMA cannot copy a tensor", () => {
    const spec = tma.cuda!.tensorMaps![0];
    expect(() => tensorMapRequest(tma, spec, tma.tensors[1], 0x7f0000100008n, [10, 1, 576])).toThrow(
      "tma.test: tensor 'c_kv' is copied with TMA, but its address 0x7f0000100008 is not a multiple of 16 bytes",
    );
    expect(() => tensorMapRequest(tma, spec, tma.tensors[1], 0x7f0000100000n, [10, 1, 572])).toThrow(
      "tma.test: tensor 'c_kv' is copied with TMA, but its rows are 1144 bytes, not a multiple of 16 (572 elements x 2)",
    );
    expect(() => tensorMapRequest(tma, { ...spec, box: [128, 16] }, tma.tensors[1], 0x7f0000100000n, [10, 1, 576])).toThrow(
      "tma.test: tensor 'c_kv' is copied with TMA, but its box of 128 columns is 256 bytes, wider than its 128-byte swizzle",
    );
    expect(() => tensorMapRequest(tma, spec, tma.tensors[1], 0x7f0000100000n, [0, 1, 576])).toThrow("tma.test: tensor 'c_kv' is copied with TMA, but it is empty (shape [0, 1, 576])");
  });

  it("puts each map after the param struct, and encodes again only when its tensor changes", () => {
    const asked: TensorMapRequest[] = [];
    const maps = new TensorMapCache((req) => (asked.push(req), new Uint8Array(128).fill(asked.length)));
    const p = prepareLaunch(tma, args(), H100ish, maps);
    expect(p.params.length).toBe(5);
    expect(p.params.slice(0, 3)).toEqual([0x7f0000000000n, 0x7f0000100000n, 0x7f0000800000n]);
    expect([...(p.params[3] as Uint8Array)]).toEqual([128, 0, 0, 0, 232, 3, 0, 0]); // heads 128, slots 1000
    expect([...(p.params[4] as Uint8Array)]).toEqual(new Array(128).fill(1));
    expect(asked).toEqual([{ dataType: 9, ptr: 0x7f0000100000n, dims: [576, 1000], strideBytes: [1152], box: [64, 16], swizzle: 3 }]);
    prepareLaunch(tma, args(), H100ish, maps); // the same cache: no new request
    expect(asked.length).toBe(1);
    const moved = prepareLaunch(tma, args(0x7f0000200000n), H100ish, maps);
    expect(asked.length).toBe(2);
    expect([...(moved.params[4] as Uint8Array)]).toEqual(new Array(128).fill(2));
    prepareLaunch(tma, args(0x7f0000200000n, 2000), H100ish, maps); // a larger pool at the same address
    expect(asked.map((r) => r.dims[1])).toEqual([1000, 1000, 2000]);
    expect(() => prepareLaunch(tma, args(), H100ish)).toThrow("tma.test: copies 'c_kv' with TMA, so its launch needs a tensor-map encoder (a loaded kernel's)");
    expect(() => new TensorMapCache(() => new Uint8Array(64)).get(0, asked[0])).toThrow("internal: a tensor map is 128 bytes, the encoder gave 64");
  });

  it("checks the manifest's tensor maps", () => {
    const withMaps = (tensorMaps: unknown) => ({ ...tma, cuda: { ...tma.cuda!, tensorMaps } }) as KernelManifest;
    expect(checkCudaManifest(tma).tensorMaps).toEqual([{ tensor: "c_kv", box: [64, 16], swizzle: 128 }]);
    expect(() => checkCudaManifest(withMaps([{ tensor: "kv", box: [64, 16], swizzle: 128 }]))).toThrow(
      'tma.test: bad manifest: tensorMaps[0] names tensor "kv", which the kernel does not take',
    );
    expect(() => checkCudaManifest(withMaps([{ tensor: "c_kv", box: [64, 512], swizzle: 128 }]))).toThrow(
      "tma.test: bad manifest: tensorMaps[0].box [64,512] is not two integers from 1 to 256 (TMA's limit)",
    );
    expect(() => checkCudaManifest(withMaps([{ tensor: "c_kv", box: [64, 16], swizzle: 16 }]))).toThrow("tma.test: bad manifest: tensorMaps[0].swizzle 16 is not 0, 32, 64 or 128");
    expect(checkCudaManifest(withMaps([{ tensor: "c_kv", box: [64, 16], swizzle: 128, rowDims: 2 }])).tensorMaps![0].rowDims).toBe(2);
    for (const rowDims of [0, 4, 1.5, "2"])
      expect(() => checkCudaManifest(withMaps([{ tensor: "c_kv", box: [64, 16], swizzle: 128, rowDims }]))).toThrow(
        `tma.test: bad manifest: tensorMaps[0].rowDims ${JSON.stringify(rowDims)} is not an integer from 1 to the rank of 'c_kv' (3)`,
      );
  });
});

describe("the addon's cuTensorMapEncodeTiled over the fake libcuda", () => {
  let dev: CudaDevice;
  beforeAll(() => {
    process.env.FLASHTILE_CUDA_LIBCUDA = fakeLib;
    dev = getCudaDevice();
  });

  it("passes the request through and returns the 128 bytes the driver wrote", () => {
    const cache = createTensor(dev, "bf16", [40, 1, 576]);
    const req = tensorMapRequest(tma, tma.cuda!.tensorMaps![0], tma.tensors[1], cache.buffer.ptr, cache.shape);
    const out = new Uint8Array(128);
    dev.addon.tensorMapEncodeTiled(out, req.dataType, req.ptr, req.dims, req.strideBytes, req.box, req.swizzle);
    // the fake's encoding: address, dims, row stride, box (u64 each), then data type and swizzle
    const w = new BigUint64Array(out.buffer);
    expect([...w.slice(0, 8)]).toEqual([cache.buffer.ptr, 576n, 40n, 1152n, 64n, 16n, 9n, 3n]);
    expect(() => dev.addon.tensorMapEncodeTiled(out, 9, cache.buffer.ptr, [576, 40], [1152], [64, 300], 3)).toThrow(
      "flashtile CUDA: cuTensorMapEncodeTiled failed: CUDA_ERROR_INVALID_VALUE (invalid argument)\ndims [576, 40], box [64, 300], swizzle 3",
    );
    expect(() => dev.addon.tensorMapEncodeTiled(new Uint8Array(64), 9, cache.buffer.ptr, [576, 40], [1152], [64, 16], 3)).toThrow(
      "flashtile CUDA: tensorMapEncodeTiled: out must be 128 bytes, got 64",
    );
    expect(() => dev.addon.tensorMapEncodeTiled(out, 9, cache.buffer.ptr, [576, 40], [], [64, 16], 3)).toThrow(
      "flashtile CUDA: tensorMapEncodeTiled: 2 dims need 1 strides and 2 box sizes, got 0 and 2",
    );
    cache.buffer.free();
  });
});
