{
  # The flashtile CUDA addon. It links no CUDA library: libcuda.so.1 is dlopen'ed at init(), so
  # this builds anywhere Node's headers are (scripts/build-cuda-addon.sh also has a plain-compiler
  # fallback for machines without node-gyp).
  "targets": [
    {
      "target_name": "flashtile_cuda",
      "sources": ["flashtile_cuda.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl"]
    }
  ]
}
