#define _GNU_SOURCE
// A fake libcuda.so.1 for tests on machines without a GPU: the CUDA driver entry points the
// flashtile_cuda addon resolves, implemented on host memory. Device pointers are host addresses,
// streams run work at once (or record it while capturing), graphs replay recorded work, and the
// one kernel it "runs" is the self-test's axpy (selftest/axpy.cu), on the CPU, so launches can be
// checked end to end: parameter marshalling, the by-value param struct, grid and block.
//
// Build: cc -shared -fPIC -O1 -o libcuda-fake.so fake_libcuda.c
// Use:   FLASHTILE_CUDA_LIBCUDA=/path/libcuda-fake.so node ...   (the addon dlopens that instead)
//
// It is a test double, not a simulator: it checks what the tests need (allocation bounds,
// launch limits, shared-memory opt-in, capture rules for the legacy stream) and no more.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

enum {
  OK = 0,
  INVALID_VALUE = 1,
  NOT_INITIALIZED = 3,
  INVALID_DEVICE = 101,
  INVALID_IMAGE = 200,
  INVALID_CONTEXT = 201,
  INVALID_PTX = 218,
  INVALID_HANDLE = 400,
  NOT_FOUND = 500,
  NOT_READY = 600,
  STREAM_CAPTURE_UNSUPPORTED = 900,
  STREAM_CAPTURE_IMPLICIT = 906,
};

static const struct {
  int code;
  const char *name, *desc;
} ERRORS[] = {
    {OK, "CUDA_SUCCESS", "no error"},
    {INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
    {STREAM_CAPTURE_UNSUPPORTED, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", "operation not permitted when stream is capturing"},
    {STREAM_CAPTURE_IMPLICIT, "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", "operation would make the legacy stream depend on a capturing blocking stream"},
};

CUresult cuGetErrorName(CUresult r, const char **s) {
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++)
    if (ERRORS[i].code == r) return *s = ERRORS[i].name, OK;
  *s = NULL;
  return INVALID_VALUE;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++)
    if (ERRORS[i].code == r) return *s = ERRORS[i].desc, OK;
  *s = NULL;
  return INVALID_VALUE;
}

// ---------------------------------------------------------------------------------------------
// Device

static int g_init = 0;
static int g_ctx_current = 0;
#define TOTAL_MEM (8ULL << 30)
#define DEFAULT_SHARED 49152
#define OPTIN_SHARED 232448

CUresult cuInit(unsigned flags) { return flags ? INVALID_VALUE : (g_init = 1, OK); }
CUresult cuDriverGetVersion(int *v) { return *v = 13000, OK; }
CUresult cuDeviceGetCount(int *n) { return g_init ? (*n = 1, OK) : NOT_INITIALIZED; }
CUresult cuDeviceGet(CUdevice *d, int ordinal) {
  if (!g_init) return NOT_INITIALIZED;
  return ordinal == 0 ? (*d = 0, OK) : INVALID_DEVICE;
}
CUresult cuDeviceGetName(char *name, int len, CUdevice d) {
  if (d != 0) return INVALID_DEVICE;
  snprintf(name, (size_t)len, "flashtile fake CUDA device (no GPU)");
  return OK;
}
CUresult cuDeviceGetAttribute(int *v, int attr, CUdevice d) {
  if (d != 0) return INVALID_DEVICE;
  switch (attr) {
    case 1: *v = 1024; return OK;                     // max threads per block
    case 2: case 3: *v = 1024; return OK;             // max block dim x, y
    case 4: *v = 64; return OK;                       // max block dim z
    case 5: *v = 2147483647; return OK;               // max grid dim x
    case 6: case 7: *v = 65535; return OK;            // max grid dim y, z
    case 8: *v = DEFAULT_SHARED; return OK;           // shared per block
    case 9: *v = 65536; return OK;                    // constant memory
    case 10: *v = 32; return OK;                      // warp size
    case 12: *v = 65536; return OK;                   // registers per block
    case 13: return INVALID_VALUE;                    // clock rate: "not reported", to test null
    case 16: *v = 4; return OK;                       // SMs
    case 33: case 34: *v = 0; return OK;              // PCI
    case 36: return INVALID_VALUE;                    // memory clock: not reported
    case 37: *v = 5120; return OK;                    // bus width
    case 38: *v = 50 << 20; return OK;                // L2
    case 39: *v = 2048; return OK;                    // threads per SM
    case 75: *v = 8; return OK;                       // CC major
    case 76: *v = 0; return OK;                       // CC minor
    case 81: *v = 233472; return OK;                  // shared per SM
    case 82: *v = 65536; return OK;                   // registers per SM
    case 97: *v = OPTIN_SHARED; return OK;            // opt-in shared per block
    case 106: *v = 32; return OK;                     // blocks per SM
    case 108: *v = 30 << 20; return OK;               // persisting L2
    case 111: *v = 1024; return OK;                   // reserved shared
    default: return INVALID_VALUE;
  }
}
CUresult cuDeviceTotalMem_v2(size_t *b, CUdevice d) { return d ? INVALID_DEVICE : (*b = TOTAL_MEM, OK); }
CUresult cuDevicePrimaryCtxRetain(void **ctx, CUdevice d) {
  if (!g_init) return NOT_INITIALIZED;
  if (d != 0) return INVALID_DEVICE;
  *ctx = (void *)&g_ctx_current;
  return OK;
}
CUresult cuCtxSetCurrent(void *ctx) { return ctx == &g_ctx_current ? (g_ctx_current = 1, OK) : INVALID_CONTEXT; }
CUresult cuCtxSynchronize(void) { return g_ctx_current ? OK : INVALID_CONTEXT; }

// ---------------------------------------------------------------------------------------------
// Memory: host allocations, tracked so bad pointers and out-of-bounds copies are refused.

typedef struct Alloc {
  char *base;
  size_t size;
  struct Alloc *next;
} Alloc;
static Alloc *g_allocs = NULL;
static size_t g_used = 0;

static Alloc *find_alloc(CUdeviceptr p, size_t len) {
  for (Alloc *a = g_allocs; a; a = a->next)
    if ((char *)(uintptr_t)p >= a->base && (char *)(uintptr_t)p + len <= a->base + a->size) return a;
  return NULL;
}

CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  if (!g_ctx_current) return INVALID_CONTEXT;
  if (bytes == 0 || g_used + bytes > TOTAL_MEM) return bytes == 0 ? INVALID_VALUE : 2 /* OUT_OF_MEMORY */;
  Alloc *a = (Alloc *)calloc(1, sizeof(Alloc));
  // 256-byte aligned, like cuMemAlloc; calloc'd lazily by the OS, so 1 GiB costs nothing.
  void *mem = NULL;
  if (a == NULL || posix_memalign(&mem, 256, bytes) != 0) return free(a), 2;
  a->base = (char *)mem;
  a->size = bytes;
  a->next = g_allocs;
  g_allocs = a;
  g_used += bytes;
  *p = (CUdeviceptr)(uintptr_t)mem;
  return OK;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
  for (Alloc **pa = &g_allocs; *pa; pa = &(*pa)->next) {
    if ((*pa)->base == (char *)(uintptr_t)p) {
      Alloc *a = *pa;
      *pa = a->next;
      g_used -= a->size;
      free(a->base);
      free(a);
      return OK;
    }
  }
  return INVALID_VALUE;
}
CUresult cuMemGetInfo_v2(size_t *freeb, size_t *total) {
  *freeb = TOTAL_MEM - g_used;
  *total = TOTAL_MEM;
  return OK;
}

// ---------------------------------------------------------------------------------------------
// Streams, graphs: work on a stream runs at once unless the stream is capturing, in which case
// it is recorded as a node of the stream's graph.

typedef enum { N_MEMSET, N_COPY, N_KERNEL } NodeKind;
struct Func;
typedef struct {
  NodeKind kind;
  CUdeviceptr dst;
  const void *src;  // N_COPY
  size_t count;     // elements (memset) or bytes (copy)
  unsigned value;
  int width;
  struct Func *fn;  // N_KERNEL
  unsigned grid[3], block[3], shared;
  unsigned char *params;  // N_KERNEL: the parameter bytes, concatenated
} Node;

typedef struct Graph {
  Node *nodes;
  size_t n, cap;
} Graph;

typedef struct Stream {
  int capturing;
  Graph *graph;
} Stream;

static int g_global_captures = 0;

static CUresult record(Stream *s, Node *node) {
  Graph *g = s->graph;
  if (g->n == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 8;
    g->nodes = (Node *)realloc(g->nodes, g->cap * sizeof(Node));
  }
  g->nodes[g->n++] = *node;
  return OK;
}

// Legacy-stream work while a global capture is under way is refused, as the driver does.
static CUresult stream_ok(Stream *s) {
  if (s == NULL && g_global_captures) return STREAM_CAPTURE_IMPLICIT;
  return OK;
}

static CUresult do_memset(CUdeviceptr p, unsigned value, int width, size_t count) {
  if (!find_alloc(p, count * (size_t)width)) return INVALID_VALUE;
  char *d = (char *)(uintptr_t)p;
  for (size_t i = 0; i < count; i++) memcpy(d + i * (size_t)width, &value, (size_t)width);
  return OK;
}

static CUresult run_node(Node *n);

static CUresult memset_any(CUdeviceptr p, unsigned value, int width, size_t count, Stream *s) {
  CUresult r = stream_ok(s);
  if (r) return r;
  if (s && s->capturing) {
    Node n = {N_MEMSET, p, NULL, count, value, width, NULL, {0}, {0}, 0, NULL};
    return record(s, &n);
  }
  return do_memset(p, value, width, count);
}
CUresult cuMemsetD8_v2(CUdeviceptr p, unsigned char v, size_t n) { return memset_any(p, v, 1, n, NULL); }
CUresult cuMemsetD16_v2(CUdeviceptr p, unsigned short v, size_t n) { return memset_any(p, v, 2, n, NULL); }
CUresult cuMemsetD32_v2(CUdeviceptr p, unsigned v, size_t n) { return memset_any(p, v, 4, n, NULL); }
CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, Stream *s) { return memset_any(p, v, 1, n, s); }
CUresult cuMemsetD16Async(CUdeviceptr p, unsigned short v, size_t n, Stream *s) { return memset_any(p, v, 2, n, s); }
CUresult cuMemsetD32Async(CUdeviceptr p, unsigned v, size_t n, Stream *s) { return memset_any(p, v, 4, n, s); }

static CUresult copy(void *dst, const void *src, size_t bytes, Stream *s, int capture_ok) {
  CUresult r = stream_ok(s);
  if (r) return r;
  if (s && s->capturing) {
    if (!capture_ok) return STREAM_CAPTURE_UNSUPPORTED;
    Node n = {N_COPY, (CUdeviceptr)(uintptr_t)dst, src, bytes, 0, 0, NULL, {0}, {0}, 0, NULL};
    return record(s, &n);
  }
  memmove(dst, src, bytes);
  return OK;
}
#define DEV(p, n) (find_alloc((p), (n)) ? (void *)(uintptr_t)(p) : NULL)
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *h, size_t n) {
  return DEV(d, n) ? copy(DEV(d, n), h, n, NULL, 0) : INVALID_VALUE;
}
CUresult cuMemcpyDtoH_v2(void *h, CUdeviceptr d, size_t n) {
  return DEV(d, n) ? copy(h, DEV(d, n), n, NULL, 0) : INVALID_VALUE;
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) {
  return DEV(d, n) && DEV(s, n) ? copy(DEV(d, n), DEV(s, n), n, NULL, 0) : INVALID_VALUE;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *h, size_t n, Stream *s) {
  return DEV(d, n) ? copy(DEV(d, n), h, n, s, 1) : INVALID_VALUE;
}
CUresult cuMemcpyDtoHAsync_v2(void *h, CUdeviceptr d, size_t n, Stream *s) {
  return DEV(d, n) ? copy(h, DEV(d, n), n, s, 1) : INVALID_VALUE;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr src, size_t n, Stream *s) {
  return DEV(d, n) && DEV(src, n) ? copy(DEV(d, n), DEV(src, n), n, s, 1) : INVALID_VALUE;
}

// ---------------------------------------------------------------------------------------------
// Modules: "PTX" is accepted if it has a .version line; entries and their parameters are read
// from `.entry name(` ... `)`. A line containing "bogus" fails the JIT, with a log.

typedef struct Func {
  char name[128];
  int nparams;
  size_t sizes[64];
  int max_threads;
  int max_dynamic_shared;
} Func;

typedef struct Module {
  Func funcs[16];
  int nfuncs;
} Module;

static void put_log(unsigned n, int *opts, void **vals, int which, const char *msg) {
  char *buf = NULL;
  size_t size = 0;
  for (unsigned i = 0; i < n; i++) {
    if (opts[i] == which) buf = (char *)vals[i];
    if (opts[i] == which + 1) size = (size_t)(uintptr_t)vals[i];
  }
  if (buf && size) snprintf(buf, size, "%s", msg);
}

CUresult cuModuleLoadDataEx(Module **out, const void *image, unsigned n, int *opts, void **vals) {
  const char *text = (const char *)image;
  if (!g_ctx_current) return INVALID_CONTEXT;
  if (strstr(text, ".version") == NULL) return INVALID_IMAGE;
  const char *bad = strstr(text, "bogus");
  if (bad) {
    int line = 1;
    for (const char *c = text; c < bad; c++) line += *c == '\n';
    char msg[256];
    snprintf(msg, sizeof msg, "ptxas application ptx input, line %d; error   : Unknown modifier '.bogus'\nptxas fatal   : Ptx assembly aborted due to errors", line);
    put_log(n, opts, vals, 5, msg);  // CU_JIT_ERROR_LOG_BUFFER
    return INVALID_PTX;
  }
  Module *m = (Module *)calloc(1, sizeof(Module));
  for (const char *e = strstr(text, ".entry "); e && m->nfuncs < 16; e = strstr(e + 1, ".entry ")) {
    Func *f = &m->funcs[m->nfuncs++];
    const char *name = e + 7, *paren = strchr(name, '(');
    if (!paren) break;
    size_t len = (size_t)(paren - name);
    while (len && name[len - 1] == ' ') len--;
    snprintf(f->name, sizeof f->name, "%.*s", (int)len, name);
    const char *close = strchr(paren, ')');
    for (const char *p = strstr(paren, ".param"); p && p < close && f->nparams < 64; p = strstr(p + 1, ".param")) {
      const char *end = strchr(p, ',');
      if (!end || end > close) end = close;
      const char *br = memchr(p, '[', (size_t)(end - p));
      size_t sz = 8;
      if (br) sz = (size_t)atoi(br + 1);
      else if (memmem(p, (size_t)(end - p), "32", 2)) sz = 4;
      f->sizes[f->nparams++] = sz;
    }
    const char *maxntid = strstr(close, ".maxntid");
    f->max_threads = maxntid ? atoi(maxntid + 8) : 1024;
    f->max_dynamic_shared = DEFAULT_SHARED;
  }
  *out = m;
  return OK;
}
CUresult cuModuleUnload(Module *m) { return free(m), OK; }
CUresult cuModuleGetFunction(Func **f, Module *m, const char *name) {
  for (int i = 0; i < m->nfuncs; i++)
    if (strcmp(m->funcs[i].name, name) == 0) return *f = &m->funcs[i], OK;
  return NOT_FOUND;
}
CUresult cuFuncGetAttribute(int *v, int attr, Func *f) {
  switch (attr) {
    case 0: *v = f->max_threads; return OK;
    case 1: case 2: case 3: *v = 0; return OK;
    case 4: *v = 16; return OK;
    case 5: case 6: *v = 80; return OK;
    case 8: *v = f->max_dynamic_shared; return OK;
    default: return INVALID_VALUE;
  }
}
CUresult cuFuncSetAttribute(Func *f, int attr, int v) {
  if (attr != 8) return INVALID_VALUE;
  if (v < 0 || v > OPTIN_SHARED) return INVALID_VALUE;
  f->max_dynamic_shared = v;
  return OK;
}
CUresult cuFuncGetParamInfo(Func *f, size_t i, size_t *off, size_t *size) {
  if ((int)i >= f->nparams) return INVALID_VALUE;
  size_t o = 0;
  for (size_t k = 0; k < i; k++) o += f->sizes[k];
  *off = o;
  *size = f->sizes[i];
  return OK;
}

// The axpy kernel on the CPU: y[i] = a * x[i] + b[i % cols] for i < rows * cols.
// TMA tensor maps: the real driver's checks that tests meet (rank, 16-byte address and row
// stride, boxes of 1..256, a swizzled box no wider than its swizzle), and a readable encoding in
// place of the opaque one: the address, dims, strides, box (each a u64), then data type and swizzle.
CUresult cuTensorMapEncodeTiled(void *map, int dtype, unsigned rank, void *addr, const uint64_t *dims,
                                const uint64_t *strides, const unsigned *box, const unsigned *estrides, int interleave,
                                int swizzle, int l2, int oob) {
  static const int BYTES[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2};
  if (((uintptr_t)map & 63) || rank < 1 || rank > 5 || dtype < 0 || dtype > 9 || ((uintptr_t)addr & 15)) return INVALID_VALUE;
  if (interleave || swizzle < 0 || swizzle > 3 || l2 < 0 || l2 > 3 || oob) return INVALID_VALUE;
  for (unsigned i = 0; i < rank; i++) {
    if (!dims[i] || !box[i] || box[i] > 256 || estrides[i] != 1) return INVALID_VALUE;
    if (i + 1 < rank && strides[i] % 16) return INVALID_VALUE;
  }
  if (swizzle && box[0] * (unsigned)BYTES[dtype] > (16u << swizzle)) return INVALID_VALUE;
  uint64_t *w = (uint64_t *)map;
  memset(map, 0, 128);
  w[0] = (uint64_t)(uintptr_t)addr;
  for (unsigned i = 0; i < 2 && i < rank; i++) w[1 + i] = dims[i], w[4 + i] = box[i];
  if (rank > 1) w[3] = strides[0];
  w[6] = (uint64_t)dtype, w[7] = (uint64_t)swizzle;
  return OK;
}

static CUresult run_axpy(Node *n) {
  CUdeviceptr x, b, y;
  memcpy(&x, n->params, 8);
  memcpy(&b, n->params + 8, 8);
  memcpy(&y, n->params + 16, 8);
  unsigned rows, cols;
  float a;
  memcpy(&rows, n->params + 24, 4);
  memcpy(&cols, n->params + 28, 4);
  memcpy(&a, n->params + 32, 4);
  size_t threads = (size_t)n->grid[0] * n->grid[1] * n->grid[2] * n->block[0] * n->block[1] * n->block[2];
  size_t count = (size_t)rows * cols;
  if (count == 0) return OK;
  if (!find_alloc(x, count * 4) || !find_alloc(y, count * 4) || !find_alloc(b, (size_t)cols * 4)) return 700; /* ILLEGAL_ADDRESS */
  const float *xs = (const float *)(uintptr_t)x, *bs = (const float *)(uintptr_t)b;
  float *ys = (float *)(uintptr_t)y;
  for (size_t i = 0; i < count && i < threads; i++) ys[i] = fmaf(a, xs[i], bs[i % cols]);
  return OK;
}

static CUresult run_node(Node *n) {
  switch (n->kind) {
    case N_MEMSET: return do_memset(n->dst, n->value, n->width, n->count);
    case N_COPY: return memmove((void *)(uintptr_t)n->dst, n->src, n->count), OK;
    case N_KERNEL: return strcmp(n->fn->name, "axpy") == 0 ? run_axpy(n) : OK;
  }
  return OK;
}

CUresult cuLaunchKernel(Func *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, Stream *s, void **params, void **extra) {
  if (extra) return INVALID_VALUE;
  CUresult r = stream_ok(s);
  if (r) return r;
  if (!gx || !gy || !gz || gy > 65535 || gz > 65535 || !bx || !by || !bz || bz > 64) return INVALID_VALUE;
  if ((unsigned long long)bx * by * bz > (unsigned)f->max_threads) return INVALID_VALUE;
  if (shared > (unsigned)f->max_dynamic_shared) return INVALID_VALUE;
  size_t total = 0;
  for (int i = 0; i < f->nparams; i++) total += f->sizes[i];
  Node n = {N_KERNEL, 0, NULL, 0, 0, 0, f, {gx, gy, gz}, {bx, by, bz}, shared, (unsigned char *)malloc(total + 1)};
  size_t o = 0;
  for (int i = 0; i < f->nparams; i++) {
    memcpy(n.params + o, params[i], f->sizes[i]);  // the driver copies each parameter at launch
    o += f->sizes[i];
  }
  if (s && s->capturing) return record(s, &n);
  r = run_node(&n);
  free(n.params);
  return r;
}

CUresult cuStreamCreate(Stream **s, unsigned flags) {
  if (flags > 1) return INVALID_VALUE;
  *s = (Stream *)calloc(1, sizeof(Stream));
  return OK;
}
CUresult cuStreamSynchronize(Stream *s) { return s && s->capturing ? STREAM_CAPTURE_UNSUPPORTED : OK; }
CUresult cuStreamDestroy_v2(Stream *s) { return free(s), OK; }
CUresult cuStreamWaitEvent(Stream *s, void *e, unsigned f) { return OK; }
CUresult cuStreamBeginCapture_v2(Stream *s, int mode) {
  if (s == NULL || s->capturing) return INVALID_VALUE;
  if (mode < 0 || mode > 2) return INVALID_VALUE;
  s->capturing = mode == 0 ? 1 : 2;
  g_global_captures += mode == 0;
  s->graph = (Graph *)calloc(1, sizeof(Graph));
  return OK;
}
CUresult cuStreamEndCapture(Stream *s, Graph **g) {
  if (s == NULL || !s->capturing) return INVALID_VALUE;
  g_global_captures -= s->capturing == 1;
  s->capturing = 0;
  *g = s->graph;
  s->graph = NULL;
  return OK;
}
CUresult cuStreamIsCapturing(Stream *s, int *status) { return *status = s && s->capturing ? 1 : 0, OK; }

typedef struct {
  double t;
  int recorded;
} Event;
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
CUresult cuEventCreate(Event **e, unsigned flags) { return *e = (Event *)calloc(1, sizeof(Event)), OK; }
CUresult cuEventRecord(Event *e, Stream *s) {
  CUresult r = stream_ok(s);
  if (r) return r;
  e->t = now_ms();
  e->recorded = 1;
  return OK;
}
CUresult cuEventSynchronize(Event *e) { return OK; }
CUresult cuEventElapsedTime(float *ms, Event *a, Event *b) {
  if (!a->recorded || !b->recorded) return NOT_READY;
  *ms = (float)(b->t - a->t);
  if (*ms <= 0) *ms = 1e-4f;  // the host clock can be coarser than the work
  return OK;
}
CUresult cuEventDestroy_v2(Event *e) { return free(e), OK; }

CUresult cuGraphInstantiateWithFlags(Graph **exec, Graph *g, unsigned long long flags) {
  Graph *x = (Graph *)calloc(1, sizeof(Graph));
  x->n = x->cap = g->n;
  x->nodes = (Node *)malloc((g->n + 1) * sizeof(Node));
  memcpy(x->nodes, g->nodes, g->n * sizeof(Node));
  for (size_t i = 0; i < g->n; i++) {
    if (g->nodes[i].params) {
      size_t total = 0;
      for (int k = 0; k < g->nodes[i].fn->nparams; k++) total += g->nodes[i].fn->sizes[k];
      x->nodes[i].params = (unsigned char *)malloc(total + 1);
      memcpy(x->nodes[i].params, g->nodes[i].params, total);
    }
  }
  *exec = x;
  return OK;
}
CUresult cuGraphLaunch(Graph *exec, Stream *s) {
  CUresult r = stream_ok(s);
  if (r) return r;
  for (size_t i = 0; i < exec->n; i++)
    if ((r = run_node(&exec->nodes[i])) != OK) return r;
  return OK;
}
CUresult cuGraphGetNodes(Graph *g, void **nodes, size_t *n) {
  if (nodes) return INVALID_VALUE;
  *n = g->n;
  return OK;
}
static void free_graph(Graph *g) {
  for (size_t i = 0; i < g->n; i++) free(g->nodes[i].params);
  free(g->nodes);
  free(g);
}
CUresult cuGraphDestroy(Graph *g) { return free_graph(g), OK; }
CUresult cuGraphExecDestroy(Graph *g) { return free_graph(g), OK; }
