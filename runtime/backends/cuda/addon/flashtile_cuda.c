// flashtile_cuda: a small Node-API addon over the CUDA driver API, for the flashtile CUDA runtime.
//
// It never links CUDA: libcuda.so.1 is dlopen'ed on the first init() and every entry point is
// resolved by its versioned name (cuMemAlloc_v2, cuStreamBeginCapture_v2, ...), with the few CUDA
// types and constants it needs declared below, so it builds on machines with no CUDA toolkit and
// loads on machines with no driver (init() then throws one clear error).
//
// JS sees: device pointers as BigInt; modules, functions, streams, events, graphs and graph
// executables as small opaque handle objects (type-tagged, freed by their finalizer if the
// explicit destroy call was never made); every driver error as an Error whose message names the
// call and carries cuGetErrorName + cuGetErrorString, with err.code = the error name.
//
// All calls run on the thread that called init(), in that device's primary context.

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// The slice of the CUDA driver API this addon uses (values from cuda.h, stable across releases).

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;
typedef struct CUgraphNode_st *CUgraphNode;

enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
};

enum {
  CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
  CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X = 2,
  CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y = 3,
  CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z = 4,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z = 7,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8,
  CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY = 9,
  CU_DEVICE_ATTRIBUTE_WARP_SIZE = 10,
  CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK = 12,
  CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13,
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
  CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID = 34,
  CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36,
  CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37,
  CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38,
  CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR = 39,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81,
  CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR = 82,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
  CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR = 106,
  CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE = 108,
  CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK = 111,
};

enum {
  CU_JIT_INFO_LOG_BUFFER = 3,
  CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
};

enum { CU_STREAM_DEFAULT = 0, CU_STREAM_NON_BLOCKING = 1 };
enum { CU_STREAM_CAPTURE_MODE_GLOBAL = 0, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1, CU_STREAM_CAPTURE_MODE_RELAXED = 2 };

// Every entry point: (required?, our name, symbol names to try in order separated by '\0', params).
// A symbol list like "cuEventElapsedTime_v2\0cuEventElapsedTime" takes the newer ABI when the
// driver has it.
#define CU_API(X)                                                                                   \
  X(1, cuGetErrorName, "cuGetErrorName", (CUresult, const char **))                                 \
  X(1, cuGetErrorString, "cuGetErrorString", (CUresult, const char **))                             \
  X(1, cuInit, "cuInit", (unsigned))                                                                \
  X(1, cuDriverGetVersion, "cuDriverGetVersion", (int *))                                           \
  X(1, cuDeviceGetCount, "cuDeviceGetCount", (int *))                                               \
  X(1, cuDeviceGet, "cuDeviceGet", (CUdevice *, int))                                               \
  X(1, cuDeviceGetName, "cuDeviceGetName", (char *, int, CUdevice))                                 \
  X(1, cuDeviceGetAttribute, "cuDeviceGetAttribute", (int *, int, CUdevice))                        \
  X(1, cuDeviceTotalMem, "cuDeviceTotalMem_v2", (size_t *, CUdevice))                               \
  X(1, cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", (CUcontext *, CUdevice))               \
  X(1, cuCtxSetCurrent, "cuCtxSetCurrent", (CUcontext))                                             \
  X(1, cuCtxSynchronize, "cuCtxSynchronize", (void))                                                \
  X(1, cuMemAlloc, "cuMemAlloc_v2", (CUdeviceptr *, size_t))                                        \
  X(1, cuMemFree, "cuMemFree_v2", (CUdeviceptr))                                                    \
  X(1, cuMemGetInfo, "cuMemGetInfo_v2", (size_t *, size_t *))                                       \
  X(1, cuMemcpyHtoD, "cuMemcpyHtoD_v2", (CUdeviceptr, const void *, size_t))                        \
  X(1, cuMemcpyDtoH, "cuMemcpyDtoH_v2", (void *, CUdeviceptr, size_t))                              \
  X(1, cuMemcpyDtoD, "cuMemcpyDtoD_v2", (CUdeviceptr, CUdeviceptr, size_t))                         \
  X(1, cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", (CUdeviceptr, const void *, size_t, CUstream))    \
  X(1, cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", (void *, CUdeviceptr, size_t, CUstream))          \
  X(1, cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", (CUdeviceptr, CUdeviceptr, size_t, CUstream))     \
  X(1, cuMemsetD8, "cuMemsetD8_v2", (CUdeviceptr, unsigned char, size_t))                           \
  X(1, cuMemsetD16, "cuMemsetD16_v2", (CUdeviceptr, unsigned short, size_t))                        \
  X(1, cuMemsetD32, "cuMemsetD32_v2", (CUdeviceptr, unsigned int, size_t))                          \
  X(1, cuMemsetD8Async, "cuMemsetD8Async", (CUdeviceptr, unsigned char, size_t, CUstream))          \
  X(1, cuMemsetD16Async, "cuMemsetD16Async", (CUdeviceptr, unsigned short, size_t, CUstream))       \
  X(1, cuMemsetD32Async, "cuMemsetD32Async", (CUdeviceptr, unsigned int, size_t, CUstream))         \
  X(1, cuModuleLoadDataEx, "cuModuleLoadDataEx", (CUmodule *, const void *, unsigned, int *, void **)) \
  X(1, cuModuleUnload, "cuModuleUnload", (CUmodule))                                                \
  X(1, cuModuleGetFunction, "cuModuleGetFunction", (CUfunction *, CUmodule, const char *))          \
  X(1, cuFuncGetAttribute, "cuFuncGetAttribute", (int *, int, CUfunction))                          \
  X(1, cuFuncSetAttribute, "cuFuncSetAttribute", (CUfunction, int, int))                            \
  X(0, cuFuncGetParamInfo, "cuFuncGetParamInfo", (CUfunction, size_t, size_t *, size_t *))          \
  X(0, cuTensorMapEncodeTiled, "cuTensorMapEncodeTiled",                                            \
    (void *, int, unsigned, void *, const uint64_t *, const uint64_t *, const unsigned *,           \
     const unsigned *, int, int, int, int))                                                         \
  X(1, cuLaunchKernel, "cuLaunchKernel",                                                            \
    (CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream,    \
     void **, void **))                                                                             \
  X(1, cuStreamCreate, "cuStreamCreate", (CUstream *, unsigned))                                    \
  X(1, cuStreamSynchronize, "cuStreamSynchronize", (CUstream))                                      \
  X(1, cuStreamDestroy, "cuStreamDestroy_v2", (CUstream))                                           \
  X(1, cuStreamWaitEvent, "cuStreamWaitEvent", (CUstream, CUevent, unsigned))                       \
  X(1, cuStreamBeginCapture, "cuStreamBeginCapture_v2", (CUstream, int))                            \
  X(1, cuStreamEndCapture, "cuStreamEndCapture", (CUstream, CUgraph *))                             \
  X(1, cuStreamIsCapturing, "cuStreamIsCapturing", (CUstream, int *))                               \
  X(1, cuEventCreate, "cuEventCreate", (CUevent *, unsigned))                                       \
  X(1, cuEventRecord, "cuEventRecord", (CUevent, CUstream))                                         \
  X(1, cuEventSynchronize, "cuEventSynchronize", (CUevent))                                         \
  X(1, cuEventElapsedTime, "cuEventElapsedTime_v2\0cuEventElapsedTime", (float *, CUevent, CUevent)) \
  X(1, cuEventDestroy, "cuEventDestroy_v2", (CUevent))                                              \
  X(1, cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags",                                  \
    (CUgraphExec *, CUgraph, unsigned long long))                                                   \
  X(1, cuGraphLaunch, "cuGraphLaunch", (CUgraphExec, CUstream))                                     \
  X(1, cuGraphGetNodes, "cuGraphGetNodes", (CUgraph, CUgraphNode *, size_t *))                      \
  X(1, cuGraphDestroy, "cuGraphDestroy", (CUgraph))                                                 \
  X(1, cuGraphExecDestroy, "cuGraphExecDestroy", (CUgraphExec))

#define DECLARE_PTR(req, name, syms, params) static CUresult (*p_##name) params;
CU_API(DECLARE_PTR)
#undef DECLARE_PTR

typedef struct {
  int required;
  const char *symbols;  // '\0'-separated list, ends with an empty name
  void **slot;
} ApiEntry;

#define API_ENTRY(req, name, syms, params) {req, syms "\0", (void **)&p_##name},
static const ApiEntry api_table[] = {CU_API(API_ENTRY)};
#undef API_ENTRY

// ---------------------------------------------------------------------------------------------
// Global state: the driver library, the retained primary contexts, the current device.

#define MAX_DEVICES 64
static void *g_lib = NULL;
static int g_driver_ready = 0;  // cuInit succeeded
static CUcontext g_ctx[MAX_DEVICES];
static int g_current = -1;  // ordinal whose primary context is current, -1 before init

// Per Node environment: set once the environment is being torn down, after which finalizers
// leave driver objects to the process exit instead of calling into a driver that may be going
// away. Allocated once per environment and never freed, so finalizers can always read it.
typedef struct {
  int exiting;
} EnvState;

static void on_env_exit(void *arg) { ((EnvState *)arg)->exiting = 1; }

static int env_exiting(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok || data == NULL) return 1;
  return ((EnvState *)data)->exiting;
}

// ---------------------------------------------------------------------------------------------
// Errors

static void throw_msg(napi_env env, const char *code, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_throw_error(env, code, buf);
}

// Throw the driver error `r` from `call` ("cuMemAlloc_v2(1024 bytes)"), with `extra` (a JIT log,
// say) appended on its own lines when given.
static void throw_cu_extra(napi_env env, const char *call, CUresult r, const char *extra) {
  const char *name = NULL, *desc = NULL;
  if (p_cuGetErrorName == NULL || p_cuGetErrorName(r, &name) != CUDA_SUCCESS) name = NULL;
  if (p_cuGetErrorString == NULL || p_cuGetErrorString(r, &desc) != CUDA_SUCCESS) desc = NULL;
  char unknown[48];
  if (name == NULL) {
    snprintf(unknown, sizeof unknown, "CUDA error %d", r);
    name = unknown;
  }
  size_t extra_len = extra ? strlen(extra) : 0;
  size_t cap = 512 + strlen(call) + extra_len;
  char *msg = (char *)malloc(cap);
  if (msg == NULL) {
    napi_throw_error(env, name, "flashtile CUDA: driver error (out of host memory formatting it)");
    return;
  }
  int n = snprintf(msg, cap, "flashtile CUDA: %s failed: %s (%s)", call, name,
                   desc ? desc : "no description");
  if (extra_len) snprintf(msg + n, cap - (size_t)n, "\n%s", extra);

  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    napi_value code_v, msg_v, err, call_v, result_v;
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code_v);
    napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v);
    napi_create_error(env, code_v, msg_v, &err);
    napi_create_string_utf8(env, call, NAPI_AUTO_LENGTH, &call_v);
    napi_create_int32(env, r, &result_v);
    napi_set_named_property(env, err, "cudaCall", call_v);
    napi_set_named_property(env, err, "cudaResult", result_v);
    napi_throw(env, err);
  }
  free(msg);
}

static void throw_cu(napi_env env, const char *call, CUresult r) { throw_cu_extra(env, call, r, NULL); }

#define NAPI_OK(expr)                                                              \
  do {                                                                             \
    if ((expr) != napi_ok) {                                                       \
      throw_msg(env, "FLASHTILE_CUDA_NAPI", "flashtile CUDA: Node-API call failed: %s", #expr); \
      return NULL;                                                                 \
    }                                                                              \
  } while (0)

#define CU_OK(call_desc, expr)            \
  do {                                    \
    CUresult r_ = (expr);                 \
    if (r_ != CUDA_SUCCESS) {             \
      throw_cu(env, call_desc, r_);       \
      return NULL;                        \
    }                                     \
  } while (0)

#define TRY(expr)            \
  do {                               \
    if (!(expr)) return NULL; \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Loading the driver

static int load_driver(napi_env env) {
  if (g_lib != NULL) return 1;
  const char *lib = getenv("FLASHTILE_CUDA_LIBCUDA");
  if (lib == NULL || *lib == '\0') lib = "libcuda.so.1";
  dlerror();
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *why = dlerror();
    throw_msg(env, "FLASHTILE_CUDA_NO_DRIVER",
              "flashtile CUDA: cannot load %s (%s): this needs an NVIDIA GPU and driver; use the "
              "WebGPU backend otherwise",
              lib, why ? why : "unknown reason");
    return 0;
  }
  size_t n = sizeof api_table / sizeof api_table[0];
  for (size_t i = 0; i < n; i++) {
    void *fn = NULL;
    for (const char *s = api_table[i].symbols; *s; s += strlen(s) + 1) {
      fn = dlsym(h, s);
      if (fn) break;
    }
    *api_table[i].slot = fn;
    if (fn == NULL && api_table[i].required) {
      for (size_t j = 0; j < n; j++) *api_table[j].slot = NULL;
      dlclose(h);
      throw_msg(env, "FLASHTILE_CUDA_OLD_DRIVER",
                "flashtile CUDA: %s has no %s: the NVIDIA driver is too old (flashtile needs one for "
                "CUDA 12.0 or newer)",
                lib, api_table[i].symbols);
      return 0;
    }
  }
  g_lib = h;
  return 1;
}

static int require_init(napi_env env) {
  if (g_current < 0) {
    throw_msg(env, "FLASHTILE_CUDA_NOT_INITIALIZED",
              "flashtile CUDA: not initialized: call init(deviceOrdinal) first");
    return 0;
  }
  return 1;
}
#define REQUIRE_INIT() TRY(require_init(env))

// ---------------------------------------------------------------------------------------------
// Handles: a plain JS object wrapping a driver object, type-tagged so that only our handles of
// the right kind are accepted.

typedef enum { H_MODULE = 1, H_FUNCTION, H_STREAM, H_EVENT, H_GRAPH, H_GRAPH_EXEC } HandleKind;

static const char *kind_name(HandleKind k) {
  switch (k) {
    case H_MODULE: return "module";
    case H_FUNCTION: return "function";
    case H_STREAM: return "stream";
    case H_EVENT: return "event";
    case H_GRAPH: return "graph";
    case H_GRAPH_EXEC: return "graph exec";
  }
  return "handle";
}

typedef struct Handle {
  HandleKind kind;
  void *obj;  // CUmodule, CUfunction, CUstream, ...
  int live;   // 0 once destroyed explicitly
  // Functions: their module (kept alive by `module_ref`) and parameter sizes (-1: unknown).
  struct Handle *module;
  napi_ref module_ref;
  int nparams;
  size_t *param_sizes;
} Handle;

static const napi_type_tag HANDLE_TAG = {0x8f1a5e7c2b4d4e11ULL, 0xa3c9d0b6f2e84c57ULL};

static void destroy_driver_object(Handle *h) {
  if (!h->live) return;
  h->live = 0;
  switch (h->kind) {
    case H_MODULE: p_cuModuleUnload((CUmodule)h->obj); break;
    case H_STREAM: p_cuStreamDestroy((CUstream)h->obj); break;
    case H_EVENT: p_cuEventDestroy((CUevent)h->obj); break;
    case H_GRAPH: p_cuGraphDestroy((CUgraph)h->obj); break;
    case H_GRAPH_EXEC: p_cuGraphExecDestroy((CUgraphExec)h->obj); break;
    case H_FUNCTION: break;  // owned by its module
  }
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  Handle *h = (Handle *)data;
  if (!env_exiting(env)) {
    if (g_lib != NULL) destroy_driver_object(h);
    if (h->module_ref) napi_delete_reference(env, h->module_ref);
  }
  free(h->param_sizes);
  free(h);
}

static napi_value wrap_handle(napi_env env, HandleKind kind, void *obj, Handle **out) {
  Handle *h = (Handle *)calloc(1, sizeof(Handle));
  if (h == NULL) {
    throw_msg(env, "FLASHTILE_CUDA_OOM", "flashtile CUDA: out of host memory");
    return NULL;
  }
  h->kind = kind;
  h->obj = obj;
  h->live = 1;
  h->nparams = -1;
  napi_value o, kind_v;
  if (napi_create_object(env, &o) != napi_ok ||
      napi_wrap(env, o, h, handle_finalize, NULL, NULL) != napi_ok) {
    destroy_driver_object(h);
    free(h);
    throw_msg(env, "FLASHTILE_CUDA_NAPI", "flashtile CUDA: could not create a handle object");
    return NULL;
  }
  NAPI_OK(napi_type_tag_object(env, o, &HANDLE_TAG));
  NAPI_OK(napi_create_string_utf8(env, kind_name(kind), NAPI_AUTO_LENGTH, &kind_v));
  napi_property_descriptor d = {"kind", NULL, NULL, NULL, NULL, kind_v, napi_enumerable, NULL};
  NAPI_OK(napi_define_properties(env, o, 1, &d));
  if (out) *out = h;
  return o;
}

// The handle of `kind` in `v`, or NULL with an exception. `what` names the call for messages.
static Handle *get_handle(napi_env env, napi_value v, HandleKind kind, const char *what) {
  bool tagged = false;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: %s: expected a %s handle", what,
              kind_name(kind));
    return NULL;
  }
  void *data = NULL;
  if (napi_unwrap(env, v, &data) != napi_ok || data == NULL) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: %s: expected a %s handle", what,
              kind_name(kind));
    return NULL;
  }
  Handle *h = (Handle *)data;
  if (h->kind != kind) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: %s: expected a %s handle, got a %s handle",
              what, kind_name(kind), kind_name(h->kind));
    return NULL;
  }
  if (!h->live || (h->module != NULL && !h->module->live)) {
    throw_msg(env, "FLASHTILE_CUDA_DESTROYED", "flashtile CUDA: %s: the %s was already %s", what,
              kind_name(kind), kind == H_FUNCTION ? "unloaded with its module" : "destroyed");
    return NULL;
  }
  return h;
}

// A stream argument: a stream handle, or null/undefined for the legacy default stream.
static int get_stream(napi_env env, napi_value v, const char *what, CUstream *out) {
  napi_valuetype t;
  if (v == NULL || (napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined))) {
    *out = NULL;
    return 1;
  }
  Handle *h = get_handle(env, v, H_STREAM, what);
  if (h == NULL) return 0;
  *out = (CUstream)h->obj;
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Argument helpers

typedef struct {
  size_t argc;
  napi_value argv[8];
} Args;

static int get_args(napi_env env, napi_callback_info info, Args *a) {
  a->argc = 8;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return 0;
  for (size_t i = a->argc; i < 8; i++) a->argv[i] = NULL;
  return 1;
}

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (v == NULL) return 1;
  if (napi_typeof(env, v, &t) != napi_ok) return 1;
  return t == napi_undefined || t == napi_null;
}

// A non-negative integer: a Number (exact integer up to 2^53) or a BigInt (up to 2^64 - 1).
static int get_u64(napi_env env, napi_value v, const char *what, uint64_t *out) {
  napi_valuetype t;
  if (v != NULL && napi_typeof(env, v, &t) == napi_ok) {
    if (t == napi_bigint) {
      bool lossless = false;
      if (napi_get_value_bigint_uint64(env, v, out, &lossless) == napi_ok && lossless) return 1;
    } else if (t == napi_number) {
      double d = 0;
      napi_get_value_double(env, v, &d);
      if (d >= 0 && d <= 9007199254740992.0 && d == (double)(uint64_t)d) {
        *out = (uint64_t)d;
        return 1;
      }
    }
  }
  throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: %s must be a non-negative integer", what);
  return 0;
}

static int get_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  uint64_t x = 0;
  if (!get_u64(env, v, what, &x)) return 0;
  if (x > 0xffffffffULL) {
    throw_msg(env, "ERR_OUT_OF_RANGE", "flashtile CUDA: %s must fit in 32 bits", what);
    return 0;
  }
  *out = (uint32_t)x;
  return 1;
}

// A device pointer: a BigInt.
static int get_ptr(napi_env env, napi_value v, const char *what, CUdeviceptr *out) {
  napi_valuetype t;
  bool lossless = false;
  uint64_t x = 0;
  if (v != NULL && napi_typeof(env, v, &t) == napi_ok && t == napi_bigint &&
      napi_get_value_bigint_uint64(env, v, &x, &lossless) == napi_ok && lossless) {
    *out = (CUdeviceptr)x;
    return 1;
  }
  throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: %s must be a device pointer (a BigInt)", what);
  return 0;
}

// The bytes of an ArrayBufferView (TypedArray, Buffer, DataView) or ArrayBuffer.
static int get_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len) {
  bool is = false;
  if (v != NULL && napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok) goto bad;
    size_t el = 1;
    switch (type) {
      case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: el = 1; break;
      case napi_int16_array: case napi_uint16_array: el = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
      default: el = 8; break;
    }
    *len = length * el;
    return 1;
  }
  if (v != NULL && napi_is_dataview(env, v, &is) == napi_ok && is) {
    napi_value ab;
    size_t offset = 0;
    if (napi_get_dataview_info(env, v, len, data, &ab, &offset) != napi_ok) goto bad;
    return 1;
  }
  if (v != NULL && napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
    if (napi_get_arraybuffer_info(env, v, data, len) != napi_ok) goto bad;
    return 1;
  }
bad:
  throw_msg(env, "ERR_INVALID_ARG_TYPE",
            "flashtile CUDA: %s must be an ArrayBufferView (TypedArray, Buffer, DataView) or ArrayBuffer", what);
  return 0;
}

// Optional byte count (undefined: `dflt`), at most `limit`.
static int get_count(napi_env env, napi_value v, const char *what, size_t dflt, size_t limit, size_t *out) {
  if (is_nullish(env, v)) {
    *out = dflt;
    return 1;
  }
  uint64_t x = 0;
  if (!get_u64(env, v, what, &x)) return 0;
  if (x > limit) {
    throw_msg(env, "ERR_OUT_OF_RANGE", "flashtile CUDA: %s = %llu exceeds the host array's %zu bytes",
              what, (unsigned long long)x, limit);
    return 0;
  }
  *out = (size_t)x;
  return 1;
}

static int get_dim3(napi_env env, napi_value v, const char *what, unsigned out[3]) {
  bool is = false;
  uint32_t n = 0;
  if (v == NULL || napi_is_array(env, v, &is) != napi_ok || !is || napi_get_array_length(env, v, &n) != napi_ok ||
      n < 1 || n > 3) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: %s must be an array of 1 to 3 integers", what);
    return 0;
  }
  out[0] = out[1] = out[2] = 1;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok) return 0;
    char w[64];
    snprintf(w, sizeof w, "%s[%u]", what, i);
    if (!get_u32(env, e, w, &out[i])) return 0;
  }
  return 1;
}

static napi_value make_ptr(napi_env env, CUdeviceptr p) {
  napi_value v;
  NAPI_OK(napi_create_bigint_uint64(env, (uint64_t)p, &v));
  return v;
}

static napi_value make_undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

static napi_value make_num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static void set_num(napi_env env, napi_value o, const char *key, double d) {
  napi_set_named_property(env, o, key, make_num(env, d));
}

static void set_str(napi_env env, napi_value o, const char *key, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, key, v);
}

static void set_null(napi_env env, napi_value o, const char *key) {
  napi_value v;
  napi_get_null(env, &v);
  napi_set_named_property(env, o, key, v);
}

// ---------------------------------------------------------------------------------------------
// Driver, devices, contexts

static napi_value device_info(napi_env env, int ordinal) {
  CUdevice dev;
  CU_OK("cuDeviceGet", p_cuDeviceGet(&dev, ordinal));
  char name[256] = {0};
  CU_OK("cuDeviceGetName", p_cuDeviceGetName(name, (int)sizeof name - 1, dev));
  size_t total = 0;
  CU_OK("cuDeviceTotalMem_v2", p_cuDeviceTotalMem(&total, dev));
  int drv = 0;
  CU_OK("cuDriverGetVersion", p_cuDriverGetVersion(&drv));

  napi_value o;
  NAPI_OK(napi_create_object(env, &o));
  set_num(env, o, "ordinal", ordinal);
  set_str(env, o, "name", name);
  set_num(env, o, "totalMemory", (double)total);
  char ver[32];
  snprintf(ver, sizeof ver, "%d.%d", drv / 1000, (drv % 1000) / 10);
  set_str(env, o, "driverVersion", ver);

  static const struct {
    const char *key;
    int attr;
  } attrs[] = {
      {"computeCapabilityMajor", CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR},
      {"computeCapabilityMinor", CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR},
      {"multiprocessors", CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT},
      {"l2CacheBytes", CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE},
      {"maxPersistingL2Bytes", CU_DEVICE_ATTRIBUTE_MAX_PERSISTING_L2_CACHE_SIZE},
      {"maxSharedMemoryPerBlock", CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK},
      {"maxSharedMemoryPerBlockOptin", CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN},
      {"maxSharedMemoryPerMultiprocessor", CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR},
      {"reservedSharedMemoryPerBlock", CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK},
      {"maxThreadsPerBlock", CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK},
      {"maxThreadsPerMultiprocessor", CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR},
      {"maxBlocksPerMultiprocessor", CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR},
      {"maxRegistersPerBlock", CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK},
      {"maxRegistersPerMultiprocessor", CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR},
      {"totalConstantMemory", CU_DEVICE_ATTRIBUTE_TOTAL_CONSTANT_MEMORY},
      {"warpSize", CU_DEVICE_ATTRIBUTE_WARP_SIZE},
      {"clockRateKHz", CU_DEVICE_ATTRIBUTE_CLOCK_RATE},
      {"memoryClockRateKHz", CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE},
      {"memoryBusWidthBits", CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH},
      {"pciBusId", CU_DEVICE_ATTRIBUTE_PCI_BUS_ID},
      {"pciDeviceId", CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID},
  };
  // Attributes a driver does not report (deprecated clocks, say) come back as null.
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
    int v = 0;
    if (p_cuDeviceGetAttribute(&v, attrs[i].attr, dev) == CUDA_SUCCESS)
      set_num(env, o, attrs[i].key, v);
    else
      set_null(env, o, attrs[i].key);
  }
  static const int block_attrs[3] = {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y,
                                     CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z};
  static const int grid_attrs[3] = {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y,
                                    CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z};
  napi_value block, grid;
  NAPI_OK(napi_create_array_with_length(env, 3, &block));
  NAPI_OK(napi_create_array_with_length(env, 3, &grid));
  for (int i = 0; i < 3; i++) {
    int b = 0, g = 0;
    CU_OK("cuDeviceGetAttribute", p_cuDeviceGetAttribute(&b, block_attrs[i], dev));
    CU_OK("cuDeviceGetAttribute", p_cuDeviceGetAttribute(&g, grid_attrs[i], dev));
    napi_set_element(env, block, (uint32_t)i, make_num(env, b));
    napi_set_element(env, grid, (uint32_t)i, make_num(env, g));
  }
  napi_set_named_property(env, o, "maxBlockDim", block);
  napi_set_named_property(env, o, "maxGridDim", grid);
  return o;
}

static int driver_up(napi_env env) {
  if (!load_driver(env)) return 0;
  if (!g_driver_ready) {
    CUresult r = p_cuInit(0);
    if (r != CUDA_SUCCESS) {
      throw_cu(env, "cuInit", r);
      return 0;
    }
    g_driver_ready = 1;
  }
  return 1;
}

// init(ordinal = 0): load the driver, make device `ordinal`'s primary context current, return
// its info. Calling it again with another ordinal switches the current device.
static napi_value js_init(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  uint32_t ordinal = 0;
  if (!is_nullish(env, a.argv[0])) TRY(get_u32(env, a.argv[0], "init: deviceOrdinal", &ordinal));
  TRY(driver_up(env));
  int count = 0;
  CU_OK("cuDeviceGetCount", p_cuDeviceGetCount(&count));
  if ((int)ordinal >= count || ordinal >= MAX_DEVICES) {
    throw_msg(env, "FLASHTILE_CUDA_NO_DEVICE", "flashtile CUDA: init(%u): there is no CUDA device %u (this machine has %d)",
              ordinal, ordinal, count);
    return NULL;
  }
  if (g_ctx[ordinal] == NULL) {
    CUdevice dev;
    CU_OK("cuDeviceGet", p_cuDeviceGet(&dev, (int)ordinal));
    CU_OK("cuDevicePrimaryCtxRetain", p_cuDevicePrimaryCtxRetain(&g_ctx[ordinal], dev));
  }
  CU_OK("cuCtxSetCurrent", p_cuCtxSetCurrent(g_ctx[ordinal]));
  g_current = (int)ordinal;
  return device_info(env, (int)ordinal);
}

static napi_value js_device_count(napi_env env, napi_callback_info info) {
  (void)info;
  TRY(driver_up(env));
  int count = 0;
  CU_OK("cuDeviceGetCount", p_cuDeviceGetCount(&count));
  return make_num(env, count);
}

static napi_value js_device_info(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  uint32_t ordinal = (uint32_t)g_current;
  if (!is_nullish(env, a.argv[0])) TRY(get_u32(env, a.argv[0], "deviceInfo: deviceOrdinal", &ordinal));
  return device_info(env, (int)ordinal);
}

static napi_value js_is_initialized(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_get_boolean(env, g_current >= 0, &v);
  return v;
}

static napi_value js_synchronize(napi_env env, napi_callback_info info) {
  (void)info;
  REQUIRE_INIT();
  CU_OK("cuCtxSynchronize", p_cuCtxSynchronize());
  return make_undefined(env);
}

// ---------------------------------------------------------------------------------------------
// Memory

static napi_value js_mem_alloc(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  uint64_t bytes = 0;
  TRY(get_u64(env, a.argv[0], "memAlloc: bytes", &bytes));
  CUdeviceptr p = 0;
  CUresult r = p_cuMemAlloc(&p, (size_t)bytes);
  if (r != CUDA_SUCCESS) {
    char call[96];
    snprintf(call, sizeof call, "cuMemAlloc_v2(%llu bytes)", (unsigned long long)bytes);
    throw_cu(env, call, r);
    return NULL;
  }
  return make_ptr(env, p);
}

static napi_value js_mem_free(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  CUdeviceptr p;
  TRY(get_ptr(env, a.argv[0], "memFree: ptr", &p));
  CU_OK("cuMemFree_v2", p_cuMemFree(p));
  return make_undefined(env);
}

static napi_value js_mem_get_info(napi_env env, napi_callback_info info) {
  (void)info;
  REQUIRE_INIT();
  size_t free_b = 0, total_b = 0;
  CU_OK("cuMemGetInfo_v2", p_cuMemGetInfo(&free_b, &total_b));
  napi_value o;
  NAPI_OK(napi_create_object(env, &o));
  set_num(env, o, "free", (double)free_b);
  set_num(env, o, "total", (double)total_b);
  return o;
}

// memcpyHtoD(dst, src, bytes?) / memcpyHtoDAsync(dst, src, bytes?, stream)
static napi_value memcpy_htod(napi_env env, napi_callback_info info, int async) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  CUdeviceptr dst;
  void *src;
  size_t len, bytes;
  CUstream s = NULL;
  TRY(get_ptr(env, a.argv[0], "memcpyHtoD: dst", &dst));
  TRY(get_bytes(env, a.argv[1], "memcpyHtoD: src", &src, &len));
  TRY(get_count(env, a.argv[2], "memcpyHtoD: bytes", len, len, &bytes));
  if (async) TRY(get_stream(env, a.argv[3], "memcpyHtoDAsync", &s));
  if (bytes == 0) return make_undefined(env);
  if (async)
    CU_OK("cuMemcpyHtoDAsync_v2", p_cuMemcpyHtoDAsync(dst, src, bytes, s));
  else
    CU_OK("cuMemcpyHtoD_v2", p_cuMemcpyHtoD(dst, src, bytes));
  return make_undefined(env);
}
static napi_value js_memcpy_htod(napi_env env, napi_callback_info info) { return memcpy_htod(env, info, 0); }
static napi_value js_memcpy_htod_async(napi_env env, napi_callback_info info) { return memcpy_htod(env, info, 1); }

// memcpyDtoH(dst, src, bytes?) / memcpyDtoHAsync(dst, src, bytes?, stream)
static napi_value memcpy_dtoh(napi_env env, napi_callback_info info, int async) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  void *dst;
  size_t len, bytes;
  CUdeviceptr src;
  CUstream s = NULL;
  TRY(get_bytes(env, a.argv[0], "memcpyDtoH: dst", &dst, &len));
  TRY(get_ptr(env, a.argv[1], "memcpyDtoH: src", &src));
  TRY(get_count(env, a.argv[2], "memcpyDtoH: bytes", len, len, &bytes));
  if (async) TRY(get_stream(env, a.argv[3], "memcpyDtoHAsync", &s));
  if (bytes == 0) return make_undefined(env);
  if (async)
    CU_OK("cuMemcpyDtoHAsync_v2", p_cuMemcpyDtoHAsync(dst, src, bytes, s));
  else
    CU_OK("cuMemcpyDtoH_v2", p_cuMemcpyDtoH(dst, src, bytes));
  return make_undefined(env);
}
static napi_value js_memcpy_dtoh(napi_env env, napi_callback_info info) { return memcpy_dtoh(env, info, 0); }
static napi_value js_memcpy_dtoh_async(napi_env env, napi_callback_info info) { return memcpy_dtoh(env, info, 1); }

// memcpyDtoD(dst, src, bytes) / memcpyDtoDAsync(dst, src, bytes, stream)
static napi_value memcpy_dtod(napi_env env, napi_callback_info info, int async) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  CUdeviceptr dst, src;
  uint64_t bytes;
  CUstream s = NULL;
  TRY(get_ptr(env, a.argv[0], "memcpyDtoD: dst", &dst));
  TRY(get_ptr(env, a.argv[1], "memcpyDtoD: src", &src));
  TRY(get_u64(env, a.argv[2], "memcpyDtoD: bytes", &bytes));
  if (async) TRY(get_stream(env, a.argv[3], "memcpyDtoDAsync", &s));
  if (bytes == 0) return make_undefined(env);
  if (async)
    CU_OK("cuMemcpyDtoDAsync_v2", p_cuMemcpyDtoDAsync(dst, src, (size_t)bytes, s));
  else
    CU_OK("cuMemcpyDtoD_v2", p_cuMemcpyDtoD(dst, src, (size_t)bytes));
  return make_undefined(env);
}
static napi_value js_memcpy_dtod(napi_env env, napi_callback_info info) { return memcpy_dtod(env, info, 0); }
static napi_value js_memcpy_dtod_async(napi_env env, napi_callback_info info) { return memcpy_dtod(env, info, 1); }

// memsetD{8,16,32}(ptr, value, count) / memsetD{8,16,32}Async(ptr, value, count, stream):
// `count` elements of 1, 2 or 4 bytes.
static napi_value memset_any(napi_env env, napi_callback_info info, int width, int async) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  CUdeviceptr p;
  uint32_t value;
  uint64_t count;
  CUstream s = NULL;
  char what[48];
  snprintf(what, sizeof what, "memsetD%d%s", width * 8, async ? "Async" : "");
  TRY(get_ptr(env, a.argv[0], "memset: ptr", &p));
  TRY(get_u32(env, a.argv[1], "memset: value", &value));
  TRY(get_u64(env, a.argv[2], "memset: count", &count));
  if (async) TRY(get_stream(env, a.argv[3], what, &s));
  if (width < 4 && value >> (width * 8)) {
    throw_msg(env, "ERR_OUT_OF_RANGE", "flashtile CUDA: %s: value 0x%x does not fit %d bits", what, value, width * 8);
    return NULL;
  }
  if (count == 0) return make_undefined(env);
  CUresult r;
  const char *call;
  switch (width) {
    case 1:
      call = async ? "cuMemsetD8Async" : "cuMemsetD8_v2";
      r = async ? p_cuMemsetD8Async(p, (unsigned char)value, (size_t)count, s) : p_cuMemsetD8(p, (unsigned char)value, (size_t)count);
      break;
    case 2:
      call = async ? "cuMemsetD16Async" : "cuMemsetD16_v2";
      r = async ? p_cuMemsetD16Async(p, (unsigned short)value, (size_t)count, s) : p_cuMemsetD16(p, (unsigned short)value, (size_t)count);
      break;
    default:
      call = async ? "cuMemsetD32Async" : "cuMemsetD32_v2";
      r = async ? p_cuMemsetD32Async(p, value, (size_t)count, s) : p_cuMemsetD32(p, value, (size_t)count);
      break;
  }
  if (r != CUDA_SUCCESS) {
    throw_cu(env, call, r);
    return NULL;
  }
  return make_undefined(env);
}
static napi_value js_memset_d8(napi_env env, napi_callback_info info) { return memset_any(env, info, 1, 0); }
static napi_value js_memset_d16(napi_env env, napi_callback_info info) { return memset_any(env, info, 2, 0); }
static napi_value js_memset_d32(napi_env env, napi_callback_info info) { return memset_any(env, info, 4, 0); }
static napi_value js_memset_d8_async(napi_env env, napi_callback_info info) { return memset_any(env, info, 1, 1); }
static napi_value js_memset_d16_async(napi_env env, napi_callback_info info) { return memset_any(env, info, 2, 1); }
static napi_value js_memset_d32_async(napi_env env, napi_callback_info info) { return memset_any(env, info, 4, 1); }

// ---------------------------------------------------------------------------------------------
// Modules and functions

#define JIT_LOG_BYTES 16384

// moduleLoad(image): PTX text (a string, or bytes) or a cubin/fatbin (bytes). On failure the
// JIT's error log is part of the message.
static napi_value js_module_load(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  napi_valuetype t = napi_undefined;
  if (a.argv[0] != NULL) napi_typeof(env, a.argv[0], &t);
  char *image = NULL;
  size_t len = 0;
  if (t == napi_string) {
    NAPI_OK(napi_get_value_string_utf8(env, a.argv[0], NULL, 0, &len));
    image = (char *)malloc(len + 1);
    if (image == NULL) return NULL;
    NAPI_OK(napi_get_value_string_utf8(env, a.argv[0], image, len + 1, &len));
  } else {
    void *data;
    TRY(get_bytes(env, a.argv[0], "moduleLoad: image", &data, &len));
    // A copy with a terminating NUL: PTX given as bytes must be a C string; cubins don't mind.
    image = (char *)malloc(len + 1);
    if (image == NULL) return NULL;
    memcpy(image, data, len);
    image[len] = '\0';
  }
  if (len == 0) {
    free(image);
    throw_msg(env, "ERR_INVALID_ARG_VALUE", "flashtile CUDA: moduleLoad: the image is empty");
    return NULL;
  }

  char *error_log = (char *)calloc(JIT_LOG_BYTES, 1);
  char *info_log = (char *)calloc(JIT_LOG_BYTES, 1);
  int opts[4] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_INFO_LOG_BUFFER,
                 CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void *vals[4] = {error_log, (void *)(uintptr_t)JIT_LOG_BYTES, info_log, (void *)(uintptr_t)JIT_LOG_BYTES};
  CUmodule mod = NULL;
  CUresult r = p_cuModuleLoadDataEx(&mod, image, error_log && info_log ? 4 : 0, opts, vals);
  free(image);
  if (r != CUDA_SUCCESS) {
    const char *log = error_log && error_log[0] ? error_log : (info_log && info_log[0] ? info_log : NULL);
    char *trimmed = NULL;
    if (log) {
      size_t log_len = strlen(log);
      trimmed = (char *)malloc(log_len + 1);
      if (trimmed) {
        memcpy(trimmed, log, log_len + 1);
        size_t n = strlen(trimmed);
        while (n && (trimmed[n - 1] == '\n' || trimmed[n - 1] == ' ')) trimmed[--n] = '\0';
      }
    }
    throw_cu_extra(env, "cuModuleLoadDataEx", r, trimmed && trimmed[0] ? trimmed : "(the JIT left no log)");
    free(trimmed);
    free(error_log);
    free(info_log);
    return NULL;
  }
  free(error_log);
  free(info_log);
  return wrap_handle(env, H_MODULE, mod, NULL);
}

static napi_value js_module_unload(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *h = get_handle(env, a.argv[0], H_MODULE, "moduleUnload");
  TRY(h);
  h->live = 0;
  CU_OK("cuModuleUnload", p_cuModuleUnload((CUmodule)h->obj));
  return make_undefined(env);
}

// Parameter sizes via cuFuncGetParamInfo (driver 12.4+); nparams stays -1 without it.
static void read_param_sizes(Handle *fh) {
  if (p_cuFuncGetParamInfo == NULL) return;
  size_t cap = 16, n = 0;
  size_t *sizes = (size_t *)malloc(cap * sizeof(size_t));
  if (sizes == NULL) return;
  for (;;) {
    size_t off = 0, sz = 0;
    CUresult r = p_cuFuncGetParamInfo((CUfunction)fh->obj, n, &off, &sz);
    if (r == CUDA_ERROR_INVALID_VALUE) break;  // past the last parameter
    if (r != CUDA_SUCCESS || n >= 4096) {
      free(sizes);
      return;
    }
    if (n == cap) {
      size_t *grown = (size_t *)realloc(sizes, (cap *= 2) * sizeof(size_t));
      if (grown == NULL) {
        free(sizes);
        return;
      }
      sizes = grown;
    }
    sizes[n++] = sz;
  }
  fh->param_sizes = sizes;
  fh->nparams = (int)n;
}

static napi_value js_module_get_function(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *mh = get_handle(env, a.argv[0], H_MODULE, "moduleGetFunction");
  TRY(mh);
  char name[512];
  size_t len = 0;
  napi_valuetype t = napi_undefined;
  if (a.argv[1] != NULL) napi_typeof(env, a.argv[1], &t);
  if (t != napi_string || napi_get_value_string_utf8(env, a.argv[1], name, sizeof name, &len) != napi_ok) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: moduleGetFunction: name must be a string");
    return NULL;
  }
  CUfunction fn = NULL;
  CUresult r = p_cuModuleGetFunction(&fn, (CUmodule)mh->obj, name);
  if (r != CUDA_SUCCESS) {
    char call[600];
    snprintf(call, sizeof call, "cuModuleGetFunction('%s')", name);
    throw_cu(env, call, r);
    return NULL;
  }
  Handle *fh = NULL;
  napi_value o = wrap_handle(env, H_FUNCTION, fn, &fh);
  TRY(o);
  fh->module = mh;
  NAPI_OK(napi_create_reference(env, a.argv[0], 1, &fh->module_ref));
  read_param_sizes(fh);
  return o;
}

static napi_value js_func_get_attribute(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *fh = get_handle(env, a.argv[0], H_FUNCTION, "funcGetAttribute");
  TRY(fh);
  uint32_t attr;
  TRY(get_u32(env, a.argv[1], "funcGetAttribute: attribute", &attr));
  int v = 0;
  CU_OK("cuFuncGetAttribute", p_cuFuncGetAttribute(&v, (int)attr, (CUfunction)fh->obj));
  return make_num(env, v);
}

// Up to `max` non-negative integers from a JS array into out; their count into *n.
static int get_u64_array(napi_env env, napi_value v, const char *what, uint64_t *out, uint32_t max, uint32_t *n) {
  bool is_array = false;
  if (v == NULL || napi_is_array(env, v, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, v, n) != napi_ok || *n > max) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: %s must be an array of at most %u integers", what, max);
    return 0;
  }
  for (uint32_t i = 0; i < *n; i++) {
    napi_value e;
    char item[64];
    snprintf(item, sizeof item, "%s[%u]", what, i);
    if (napi_get_element(env, v, i, &e) != napi_ok || !get_u64(env, e, item, &out[i])) return 0;
  }
  return 1;
}

// tensorMapEncodeTiled(out, dataType, ptr, dims, strideBytes, box, swizzle): the 128-byte
// CUtensorMap a kernel's TMA copies read (passed by value as a __grid_constant__ parameter) of
// a tensor of `dims` elements (innermost first) at ptr, rows `strideBytes` apart, copied in boxes
// of `box` elements, swizzled in shared memory (swizzle: the driver's CUtensorMapSwizzle). Every
// element stride is 1, no interleave, L2 promotion of 256 bytes, out-of-bounds elements zero.
static napi_value js_tensor_map_encode_tiled(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  if (p_cuTensorMapEncodeTiled == NULL) {
    throw_msg(env, "FLASHTILE_CUDA_OLD_DRIVER",
              "flashtile CUDA: the NVIDIA driver has no cuTensorMapEncodeTiled (TMA needs CUDA 12.0 or newer)");
    return NULL;
  }
  void *out = NULL;
  size_t out_len = 0;
  TRY(get_bytes(env, a.argv[0], "tensorMapEncodeTiled: out", &out, &out_len));
  if (out_len != 128) {
    throw_msg(env, "ERR_INVALID_ARG_VALUE", "flashtile CUDA: tensorMapEncodeTiled: out must be 128 bytes, got %zu", out_len);
    return NULL;
  }
  uint32_t dtype = 0, swizzle = 0, rank = 0, nstrides = 0, nbox = 0;
  CUdeviceptr ptr = 0;
  uint64_t dims[5], strides[4], box64[5];
  TRY(get_u32(env, a.argv[1], "tensorMapEncodeTiled: dataType", &dtype));
  TRY(get_ptr(env, a.argv[2], "tensorMapEncodeTiled: ptr", &ptr));
  TRY(get_u64_array(env, a.argv[3], "tensorMapEncodeTiled: dims", dims, 5, &rank));
  TRY(get_u64_array(env, a.argv[4], "tensorMapEncodeTiled: strideBytes", strides, 4, &nstrides));
  TRY(get_u64_array(env, a.argv[5], "tensorMapEncodeTiled: box", box64, 5, &nbox));
  TRY(get_u32(env, a.argv[6], "tensorMapEncodeTiled: swizzle", &swizzle));
  if (rank < 1 || nstrides + 1 != rank || nbox != rank) {
    throw_msg(env, "ERR_INVALID_ARG_VALUE",
              "flashtile CUDA: tensorMapEncodeTiled: %u dims need %u strides and %u box sizes, got %u and %u", rank,
              rank ? rank - 1 : 0, rank, nstrides, nbox);
    return NULL;
  }
  unsigned box[5], ones[5] = {1, 1, 1, 1, 1};
  for (uint32_t i = 0; i < rank; i++) box[i] = (unsigned)(box64[i] > 0xffffffffULL ? 0 : box64[i]);
  // The driver writes a 64-byte aligned object; a TypedArray's bytes need not be.
  _Alignas(64) unsigned char map[128];
  CUresult r = p_cuTensorMapEncodeTiled(map, (int)dtype, rank, (void *)(uintptr_t)ptr, dims, strides, box, ones, 0,
                                        (int)swizzle, 3, 0);
  if (r != CUDA_SUCCESS) {
    char extra[160];
    snprintf(extra, sizeof extra, "dims [%llu, %llu], box [%u, %u], swizzle %u", (unsigned long long)dims[0],
             (unsigned long long)(rank > 1 ? dims[1] : 1), box[0], rank > 1 ? box[1] : 1, swizzle);
    throw_cu_extra(env, "cuTensorMapEncodeTiled", r, extra);
    return NULL;
  }
  memcpy(out, map, 128);
  return make_undefined(env);
}

static napi_value js_func_set_attribute(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *fh = get_handle(env, a.argv[0], H_FUNCTION, "funcSetAttribute");
  TRY(fh);
  uint32_t attr, value;
  TRY(get_u32(env, a.argv[1], "funcSetAttribute: attribute", &attr));
  TRY(get_u32(env, a.argv[2], "funcSetAttribute: value", &value));
  CUresult r = p_cuFuncSetAttribute((CUfunction)fh->obj, (int)attr, (int)value);
  if (r != CUDA_SUCCESS) {
    char call[96];
    snprintf(call, sizeof call, "cuFuncSetAttribute(attribute %u, %u)", attr, value);
    throw_cu(env, call, r);
    return NULL;
  }
  return make_undefined(env);
}

// funcParamSizes(fn): the byte size of each kernel parameter, or null when the driver can't say.
static napi_value js_func_param_sizes(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *fh = get_handle(env, a.argv[0], H_FUNCTION, "funcParamSizes");
  TRY(fh);
  napi_value v;
  if (fh->nparams < 0) {
    napi_get_null(env, &v);
    return v;
  }
  NAPI_OK(napi_create_array_with_length(env, (size_t)fh->nparams, &v));
  for (int i = 0; i < fh->nparams; i++) napi_set_element(env, v, (uint32_t)i, make_num(env, (double)fh->param_sizes[i]));
  return v;
}

// launch(fn, grid, block, sharedBytes, stream, params): each param is a BigInt (a device
// pointer, passed as 8 bytes) or an ArrayBufferView whose bytes are passed by value (a struct).
static napi_value js_launch(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *fh = get_handle(env, a.argv[0], H_FUNCTION, "launch");
  TRY(fh);
  unsigned grid[3], block[3];
  uint32_t shared = 0;
  CUstream s = NULL;
  TRY(get_dim3(env, a.argv[1], "launch: grid", grid));
  TRY(get_dim3(env, a.argv[2], "launch: block", block));
  if (!is_nullish(env, a.argv[3])) TRY(get_u32(env, a.argv[3], "launch: sharedBytes", &shared));
  TRY(get_stream(env, a.argv[4], "launch", &s));

  bool is_array = false;
  uint32_t n = 0;
  if (a.argv[5] == NULL || napi_is_array(env, a.argv[5], &is_array) != napi_ok || !is_array) {
    throw_msg(env, "ERR_INVALID_ARG_TYPE", "flashtile CUDA: launch: params must be an array");
    return NULL;
  }
  NAPI_OK(napi_get_array_length(env, a.argv[5], &n));
  if (fh->nparams >= 0 && (uint32_t)fh->nparams != n) {
    throw_msg(env, "FLASHTILE_CUDA_PARAMS", "flashtile CUDA: launch: the kernel takes %d parameters but %u were given",
              fh->nparams, n);
    return NULL;
  }
  enum { INLINE = 32 };
  void *args_inline[INLINE];
  CUdeviceptr ptrs_inline[INLINE];
  void **args = n <= INLINE ? args_inline : (void **)malloc(n * sizeof(void *));
  CUdeviceptr *ptrs = n <= INLINE ? ptrs_inline : (CUdeviceptr *)malloc(n * sizeof(CUdeviceptr));
  napi_value result = NULL;
  if (args == NULL || ptrs == NULL) {
    throw_msg(env, "FLASHTILE_CUDA_OOM", "flashtile CUDA: out of host memory");
    goto done;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_valuetype t;
    if (napi_get_element(env, a.argv[5], i, &e) != napi_ok || napi_typeof(env, e, &t) != napi_ok) goto done;
    size_t size;
    if (t == napi_bigint) {
      char what[48];
      snprintf(what, sizeof what, "launch: params[%u]", i);
      if (!get_ptr(env, e, what, &ptrs[i])) goto done;
      args[i] = &ptrs[i];
      size = sizeof(CUdeviceptr);
    } else {
      void *data;
      char what[48];
      snprintf(what, sizeof what, "launch: params[%u] (not a BigInt)", i);
      if (!get_bytes(env, e, what, &data, &size)) goto done;
      args[i] = data;
    }
    if (fh->nparams >= 0 && fh->param_sizes[i] != size) {
      throw_msg(env, "FLASHTILE_CUDA_PARAMS",
                "flashtile CUDA: launch: parameter %u of the kernel is %zu bytes but %zu bytes were given", i,
                fh->param_sizes[i], size);
      goto done;
    }
  }
  {
    CUresult r = p_cuLaunchKernel((CUfunction)fh->obj, grid[0], grid[1], grid[2], block[0], block[1], block[2], shared,
                                  s, n ? args : NULL, NULL);
    if (r != CUDA_SUCCESS) {
      char call[256];
      snprintf(call, sizeof call, "cuLaunchKernel(grid [%u, %u, %u], block [%u, %u, %u], %u bytes of dynamic shared memory)",
               grid[0], grid[1], grid[2], block[0], block[1], block[2], shared);
      throw_cu(env, call, r);
      goto done;
    }
  }
  result = make_undefined(env);
done:
  if (args != args_inline) free(args);
  if (ptrs != ptrs_inline) free(ptrs);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Streams and events

// streamCreate(nonBlocking = true)
static napi_value js_stream_create(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  bool non_blocking = true;
  if (!is_nullish(env, a.argv[0])) NAPI_OK(napi_get_value_bool(env, a.argv[0], &non_blocking));
  CUstream s = NULL;
  CU_OK("cuStreamCreate", p_cuStreamCreate(&s, non_blocking ? CU_STREAM_NON_BLOCKING : CU_STREAM_DEFAULT));
  return wrap_handle(env, H_STREAM, s, NULL);
}

static napi_value js_stream_synchronize(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  CUstream s;
  TRY(get_stream(env, a.argv[0], "streamSynchronize", &s));
  CU_OK("cuStreamSynchronize", p_cuStreamSynchronize(s));
  return make_undefined(env);
}

static napi_value destroy_handle(napi_env env, napi_callback_info info, HandleKind kind, const char *what,
                                 const char *call) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *h = get_handle(env, a.argv[0], kind, what);
  TRY(h);
  h->live = 0;
  CUresult r = CUDA_SUCCESS;
  switch (kind) {
    case H_STREAM: r = p_cuStreamDestroy((CUstream)h->obj); break;
    case H_EVENT: r = p_cuEventDestroy((CUevent)h->obj); break;
    case H_GRAPH: r = p_cuGraphDestroy((CUgraph)h->obj); break;
    case H_GRAPH_EXEC: r = p_cuGraphExecDestroy((CUgraphExec)h->obj); break;
    default: break;
  }
  CU_OK(call, r);
  return make_undefined(env);
}

static napi_value js_stream_destroy(napi_env env, napi_callback_info info) {
  return destroy_handle(env, info, H_STREAM, "streamDestroy", "cuStreamDestroy_v2");
}

static napi_value js_stream_wait_event(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  CUstream s;
  TRY(get_stream(env, a.argv[0], "streamWaitEvent", &s));
  Handle *eh = get_handle(env, a.argv[1], H_EVENT, "streamWaitEvent");
  TRY(eh);
  CU_OK("cuStreamWaitEvent", p_cuStreamWaitEvent(s, (CUevent)eh->obj, 0));
  return make_undefined(env);
}

// streamBeginCapture(stream, mode = "global" | "thread_local" | "relaxed")
static napi_value js_stream_begin_capture(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *sh = get_handle(env, a.argv[0], H_STREAM, "streamBeginCapture");
  TRY(sh);
  int mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
  if (!is_nullish(env, a.argv[1])) {
    char m[32] = {0};
    size_t len = 0;
    if (napi_get_value_string_utf8(env, a.argv[1], m, sizeof m, &len) != napi_ok) m[0] = '\0';
    if (strcmp(m, "global") == 0) mode = CU_STREAM_CAPTURE_MODE_GLOBAL;
    else if (strcmp(m, "thread_local") == 0) mode = CU_STREAM_CAPTURE_MODE_THREAD_LOCAL;
    else if (strcmp(m, "relaxed") == 0) mode = CU_STREAM_CAPTURE_MODE_RELAXED;
    else {
      throw_msg(env, "ERR_INVALID_ARG_VALUE",
                "flashtile CUDA: streamBeginCapture: mode must be \"global\", \"thread_local\" or \"relaxed\"");
      return NULL;
    }
  }
  CU_OK("cuStreamBeginCapture_v2", p_cuStreamBeginCapture((CUstream)sh->obj, mode));
  return make_undefined(env);
}

static napi_value js_stream_end_capture(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *sh = get_handle(env, a.argv[0], H_STREAM, "streamEndCapture");
  TRY(sh);
  CUgraph g = NULL;
  CUresult r = p_cuStreamEndCapture((CUstream)sh->obj, &g);
  if (r != CUDA_SUCCESS) {
    if (g != NULL) p_cuGraphDestroy(g);
    throw_cu(env, "cuStreamEndCapture", r);
    return NULL;
  }
  return wrap_handle(env, H_GRAPH, g, NULL);
}

// streamCaptureStatus(stream): "none", "active" or "invalidated".
static napi_value js_stream_capture_status(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  CUstream s;
  TRY(get_stream(env, a.argv[0], "streamCaptureStatus", &s));
  int st = 0;
  CU_OK("cuStreamIsCapturing", p_cuStreamIsCapturing(s, &st));
  napi_value v;
  napi_create_string_utf8(env, st == 0 ? "none" : st == 1 ? "active" : "invalidated", NAPI_AUTO_LENGTH, &v);
  return v;
}

// eventCreate(timing = true)
static napi_value js_event_create(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  bool timing = true;
  if (!is_nullish(env, a.argv[0])) NAPI_OK(napi_get_value_bool(env, a.argv[0], &timing));
  CUevent e = NULL;
  CU_OK("cuEventCreate", p_cuEventCreate(&e, timing ? 0u : 2u /* CU_EVENT_DISABLE_TIMING */));
  return wrap_handle(env, H_EVENT, e, NULL);
}

static napi_value js_event_record(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *eh = get_handle(env, a.argv[0], H_EVENT, "eventRecord");
  TRY(eh);
  CUstream s;
  TRY(get_stream(env, a.argv[1], "eventRecord", &s));
  CU_OK("cuEventRecord", p_cuEventRecord((CUevent)eh->obj, s));
  return make_undefined(env);
}

static napi_value js_event_synchronize(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *eh = get_handle(env, a.argv[0], H_EVENT, "eventSynchronize");
  TRY(eh);
  CU_OK("cuEventSynchronize", p_cuEventSynchronize((CUevent)eh->obj));
  return make_undefined(env);
}

// eventElapsedTime(start, end): milliseconds between two recorded (and completed) events.
static napi_value js_event_elapsed_time(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *h0 = get_handle(env, a.argv[0], H_EVENT, "eventElapsedTime");
  TRY(h0);
  Handle *h1 = get_handle(env, a.argv[1], H_EVENT, "eventElapsedTime");
  TRY(h1);
  float ms = 0;
  CU_OK("cuEventElapsedTime", p_cuEventElapsedTime(&ms, (CUevent)h0->obj, (CUevent)h1->obj));
  return make_num(env, ms);
}

static napi_value js_event_destroy(napi_env env, napi_callback_info info) {
  return destroy_handle(env, info, H_EVENT, "eventDestroy", "cuEventDestroy_v2");
}

// ---------------------------------------------------------------------------------------------
// Graphs

static napi_value js_graph_instantiate(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *gh = get_handle(env, a.argv[0], H_GRAPH, "graphInstantiate");
  TRY(gh);
  uint64_t flags = 0;
  if (!is_nullish(env, a.argv[1])) TRY(get_u64(env, a.argv[1], "graphInstantiate: flags", &flags));
  CUgraphExec ex = NULL;
  CU_OK("cuGraphInstantiateWithFlags", p_cuGraphInstantiateWithFlags(&ex, (CUgraph)gh->obj, flags));
  return wrap_handle(env, H_GRAPH_EXEC, ex, NULL);
}

static napi_value js_graph_launch(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *xh = get_handle(env, a.argv[0], H_GRAPH_EXEC, "graphLaunch");
  TRY(xh);
  CUstream s;
  TRY(get_stream(env, a.argv[1], "graphLaunch", &s));
  CU_OK("cuGraphLaunch", p_cuGraphLaunch((CUgraphExec)xh->obj, s));
  return make_undefined(env);
}

static napi_value js_graph_node_count(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, &a));
  REQUIRE_INIT();
  Handle *gh = get_handle(env, a.argv[0], H_GRAPH, "graphNodeCount");
  TRY(gh);
  size_t n = 0;
  CU_OK("cuGraphGetNodes", p_cuGraphGetNodes((CUgraph)gh->obj, NULL, &n));
  return make_num(env, (double)n);
}

static napi_value js_graph_destroy(napi_env env, napi_callback_info info) {
  return destroy_handle(env, info, H_GRAPH, "graphDestroy", "cuGraphDestroy");
}

static napi_value js_graph_exec_destroy(napi_env env, napi_callback_info info) {
  return destroy_handle(env, info, H_GRAPH_EXEC, "graphExecDestroy", "cuGraphExecDestroy");
}

// ---------------------------------------------------------------------------------------------
// Module registration

static napi_value module_init(napi_env env, napi_value exports) {
  EnvState *st = (EnvState *)calloc(1, sizeof(EnvState));
  if (st == NULL) return NULL;
  NAPI_OK(napi_set_instance_data(env, st, NULL, NULL));
  NAPI_OK(napi_add_env_cleanup_hook(env, on_env_exit, st));

#define FN(name, cb) {name, NULL, cb, NULL, NULL, NULL, napi_enumerable, NULL}
  napi_property_descriptor props[] = {
      FN("init", js_init),
      FN("isInitialized", js_is_initialized),
      FN("deviceCount", js_device_count),
      FN("deviceInfo", js_device_info),
      FN("synchronize", js_synchronize),
      FN("memAlloc", js_mem_alloc),
      FN("memFree", js_mem_free),
      FN("memGetInfo", js_mem_get_info),
      FN("memcpyHtoD", js_memcpy_htod),
      FN("memcpyDtoH", js_memcpy_dtoh),
      FN("memcpyDtoD", js_memcpy_dtod),
      FN("memcpyHtoDAsync", js_memcpy_htod_async),
      FN("memcpyDtoHAsync", js_memcpy_dtoh_async),
      FN("memcpyDtoDAsync", js_memcpy_dtod_async),
      FN("memsetD8", js_memset_d8),
      FN("memsetD16", js_memset_d16),
      FN("memsetD32", js_memset_d32),
      FN("memsetD8Async", js_memset_d8_async),
      FN("memsetD16Async", js_memset_d16_async),
      FN("memsetD32Async", js_memset_d32_async),
      FN("moduleLoad", js_module_load),
      FN("moduleUnload", js_module_unload),
      FN("moduleGetFunction", js_module_get_function),
      FN("funcGetAttribute", js_func_get_attribute),
      FN("funcSetAttribute", js_func_set_attribute),
      FN("funcParamSizes", js_func_param_sizes),
      FN("launch", js_launch),
      FN("tensorMapEncodeTiled", js_tensor_map_encode_tiled),
      FN("streamCreate", js_stream_create),
      FN("streamSynchronize", js_stream_synchronize),
      FN("streamDestroy", js_stream_destroy),
      FN("streamWaitEvent", js_stream_wait_event),
      FN("streamBeginCapture", js_stream_begin_capture),
      FN("streamEndCapture", js_stream_end_capture),
      FN("streamCaptureStatus", js_stream_capture_status),
      FN("eventCreate", js_event_create),
      FN("eventRecord", js_event_record),
      FN("eventSynchronize", js_event_synchronize),
      FN("eventElapsedTime", js_event_elapsed_time),
      FN("eventDestroy", js_event_destroy),
      FN("graphInstantiate", js_graph_instantiate),
      FN("graphLaunch", js_graph_launch),
      FN("graphNodeCount", js_graph_node_count),
      FN("graphDestroy", js_graph_destroy),
      FN("graphExecDestroy", js_graph_exec_destroy),
  };
#undef FN
  NAPI_OK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value abi;
  NAPI_OK(napi_create_uint32(env, 1, &abi));
  NAPI_OK(napi_set_named_property(env, exports, "abiVersion", abi));
  return exports;
}

#ifndef NODE_GYP_MODULE_NAME
#define NODE_GYP_MODULE_NAME flashtile_cuda
#endif
NAPI_MODULE(NODE_GYP_MODULE_NAME, module_init)
