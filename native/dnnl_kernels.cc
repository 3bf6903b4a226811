// Optional native kernels for the tfjs wasm backend, computed by oneDNN (the library behind
// PyTorch's CPU convolutions) directly on the wasm heap.
//
// Why: wasm's 128-bit SIMD tops out near 11 GFLOP/s on our U-Net step while the same cores do
// ~60 with oneDNN's AVX-512 code. tfjs keeps every tensor in one WebAssembly.Memory; JavaScript
// passes us a typed array over that memory plus byte offsets, so there is no copy in or out.
//
// Layouts are tfjs's: activations NHWC / NDHWC, filters HWIO / DHWIO, all float32, dense.
// Only filters are reordered (into oneDNN's blocked layout, into a buffer cached with the
// primitive): they are small, and the activations then stay where tfjs put them.
//
// Every entry point is synchronous and runs on the calling (main) thread plus oneDNN's OpenMP
// threads. Built by scripts/build-native.sh; loaded by src/backend/native/addon.ts.
#include <node_api.h>
#include <omp.h>

#include <cstdint>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

// ---- convolution geometry -------------------------------------------------------------------

// The geometry array JavaScript sends: [nd, N, IC, OC, in[nd], k[nd], out[nd], stride[nd],
// dilation[nd] (tfjs convention: 1 = none), padBefore[nd], padAfter[nd]].
struct ConvGeometry {
  int nd = 0;
  memory::dim n = 0, ic = 0, oc = 0;
  memory::dims in, k, out, stride, dilate, padL, padR;

  std::string key() const {
    std::string s;
    auto add = [&s](const memory::dims& d) {
      for (auto v : d) s += std::to_string(v) + ",";
      s += ";";
    };
    s += std::to_string(nd) + ":" + std::to_string(n) + "," + std::to_string(ic) + "," + std::to_string(oc) + ";";
    add(in); add(k); add(out); add(stride); add(dilate); add(padL); add(padR);
    return s;
  }

  memory::desc src() const { return desc(n, ic, in, nd == 2 ? tag::nhwc : tag::ndhwc); }
  memory::desc dst() const { return desc(n, oc, out, nd == 2 ? tag::nhwc : tag::ndhwc); }
  memory::desc userWeights() const { return desc(oc, ic, k, nd == 2 ? tag::hwio : tag::dhwio); }
  memory::desc anyWeights() const { return desc(oc, ic, k, tag::any); }

 private:
  static memory::desc desc(memory::dim a, memory::dim b, const memory::dims& spatial, tag t) {
    memory::dims d{a, b};
    d.insert(d.end(), spatial.begin(), spatial.end());
    return memory::desc(d, dt::f32, t);
  }
};

// One set of primitives per geometry: forward, backward-data, backward-weights, created lazily.
// Creating a oneDNN primitive JIT-compiles code (milliseconds), a U-Net uses a few dozen shapes.
struct ConvPrimitives {
  std::unique_ptr<dnnl::convolution_forward::primitive_desc> fwdPd;
  std::unique_ptr<dnnl::convolution_forward> fwd;
  std::unique_ptr<dnnl::convolution_backward_data::primitive_desc> bwdDataPd;
  std::unique_ptr<dnnl::convolution_backward_data> bwdData;
  std::unique_ptr<dnnl::convolution_backward_weights::primitive_desc> bwdWeightsPd;
  std::unique_ptr<dnnl::convolution_backward_weights> bwdWeights;
  // Filter buffers in the layout each primitive chose (owned here, reused every call).
  std::unique_ptr<memory> fwdWeights, bwdDataWeights, bwdWeightsOut;
};

std::unordered_map<std::string, ConvPrimitives>& cache() {
  static std::unordered_map<std::string, ConvPrimitives> c;
  return c;
}

dnnl::convolution_forward::primitive_desc& forwardPd(const ConvGeometry& g, ConvPrimitives& p) {
  if (!p.fwdPd) {
    auto d = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             g.src(), g.anyWeights(), g.dst(), g.stride, g.dilate, g.padL, g.padR);
    p.fwdPd = std::make_unique<dnnl::convolution_forward::primitive_desc>(d, cpuEngine());
  }
  return *p.fwdPd;
}

// A filter the primitive wants in `wanted`: reorder the user's HWIO bytes into a cached buffer,
// or use them in place when the layouts already agree.
memory filterFor(const memory::desc& wanted, const ConvGeometry& g, void* user, std::unique_ptr<memory>& slot) {
  memory userMem(g.userWeights(), cpuEngine(), user);
  if (wanted == g.userWeights()) return userMem;
  if (!slot) slot = std::make_unique<memory>(wanted, cpuEngine());
  dnnl::reorder(userMem, *slot).execute(cpuStream(), userMem, *slot);
  return *slot;
}

void convForward(const ConvGeometry& g, float* x, float* w, float* y) {
  auto& p = cache()[g.key()];
  auto& pd = forwardPd(g, p);
  if (!p.fwd) p.fwd = std::make_unique<dnnl::convolution_forward>(pd);
  memory src(g.src(), cpuEngine(), x), dst(g.dst(), cpuEngine(), y);
  memory weights = filterFor(pd.weights_desc(), g, w, p.fwdWeights);
  p.fwd->execute(cpuStream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
  cpuStream().wait();
}

void convBackwardData(const ConvGeometry& g, float* dy, float* w, float* dx) {
  auto& p = cache()[g.key()];
  if (!p.bwdData) {
    auto d = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, g.src(), g.anyWeights(), g.dst(),
                                                   g.stride, g.dilate, g.padL, g.padR);
    p.bwdDataPd = std::make_unique<dnnl::convolution_backward_data::primitive_desc>(d, cpuEngine(), forwardPd(g, p));
    p.bwdData = std::make_unique<dnnl::convolution_backward_data>(*p.bwdDataPd);
  }
  memory diffDst(g.dst(), cpuEngine(), dy), diffSrc(g.src(), cpuEngine(), dx);
  memory weights = filterFor(p.bwdDataPd->weights_desc(), g, w, p.bwdDataWeights);
  p.bwdData->execute(cpuStream(), {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, diffSrc}});
  cpuStream().wait();
}

void convBackwardWeights(const ConvGeometry& g, float* x, float* dy, float* dw) {
  auto& p = cache()[g.key()];
  if (!p.bwdWeights) {
    auto d = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.src(), g.anyWeights(),
                                                      g.dst(), g.stride, g.dilate, g.padL, g.padR);
    p.bwdWeightsPd = std::make_unique<dnnl::convolution_backward_weights::primitive_desc>(d, cpuEngine(), forwardPd(g, p));
    p.bwdWeights = std::make_unique<dnnl::convolution_backward_weights>(*p.bwdWeightsPd);
  }
  memory src(g.src(), cpuEngine(), x), diffDst(g.dst(), cpuEngine(), dy);
  memory userDw(g.userWeights(), cpuEngine(), dw);
  auto wanted = p.bwdWeightsPd->diff_weights_desc();
  memory diffWeights = userDw;
  if (wanted != g.userWeights()) {
    if (!p.bwdWeightsOut) p.bwdWeightsOut = std::make_unique<memory>(wanted, cpuEngine());
    diffWeights = *p.bwdWeightsOut;
  }
  p.bwdWeights->execute(cpuStream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, diffWeights}});
  if (wanted != g.userWeights()) dnnl::reorder(diffWeights, userDw).execute(cpuStream(), diffWeights, userDw);
  cpuStream().wait();
}

std::string implName(const ConvGeometry& g, int which) {
  auto& p = cache()[g.key()];
  if (which == 0) return forwardPd(g, p).impl_info_str();
  if (which == 1 && p.bwdDataPd) return p.bwdDataPd->impl_info_str();
  if (which == 2 && p.bwdWeightsPd) return p.bwdWeightsPd->impl_info_str();
  return "";
}

// ---- batch normalisation (training mode) --------------------------------------------------
// Channels-last x viewed as [m, c]; statistics per channel over m, summed in double. The same
// math as src/backend/kernels/batch-norm-train.ts (the fallback and the tests' reference).
// Rows are split among OpenMP threads, each with its own partial sums.

template <typename RowFn>
void perChannelSums(size_t m, size_t c, std::vector<double>& s1, std::vector<double>& s2, RowFn row) {
  s1.assign(c, 0.0);
  s2.assign(c, 0.0);
#pragma omp parallel
  {
    std::vector<double> a(c, 0.0), b(c, 0.0);
#pragma omp for schedule(static)
    for (size_t i = 0; i < m; i++) row(i, a.data(), b.data());
#pragma omp critical
    for (size_t k = 0; k < c; k++) {
      s1[k] += a[k];
      s2[k] += b[k];
    }
  }
}

void batchNormForward(const float* x, const float* scale, const float* offset, double eps, size_t m, size_t c,
                      float* y, float* mean, float* var) {
  std::vector<double> sum, unused;
  perChannelSums(m, c, sum, unused, [&](size_t i, double* a, double*) {
    const float* r = x + i * c;
    for (size_t k = 0; k < c; k++) a[k] += r[k];
  });
  std::vector<double> mu(c);
  for (size_t k = 0; k < c; k++) mu[k] = sum[k] / static_cast<double>(m);
  std::vector<double> sq;
  perChannelSums(m, c, sq, unused, [&](size_t i, double* a, double*) {
    const float* r = x + i * c;
    for (size_t k = 0; k < c; k++) {
      double d = r[k] - mu[k];
      a[k] += d * d;
    }
  });
  // y = (x - mean) * a + beta: centring first keeps precision when |mean| >> sd
  std::vector<float> muf(c), ga(c), beta(c);
  for (size_t k = 0; k < c; k++) {
    double v = sq[k] / static_cast<double>(m);
    mean[k] = muf[k] = static_cast<float>(mu[k]);
    var[k] = static_cast<float>(v);
    ga[k] = static_cast<float>(scale[k] / std::sqrt(v + eps));
    beta[k] = offset[k];
  }
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < m; i++) {
    const float* r = x + i * c;
    float* o = y + i * c;
    for (size_t k = 0; k < c; k++) o[k] = (r[k] - muf[k]) * ga[k] + beta[k];
  }
}

void batchNormBackward(const float* dy, const float* x, const float* scale, const float* mean, const float* var, double eps,
                       size_t m, size_t c, float* dx, float* dscale, float* doffset) {
  std::vector<double> invStd(c);
  for (size_t k = 0; k < c; k++) invStd[k] = 1.0 / std::sqrt(static_cast<double>(var[k]) + eps);
  std::vector<double> sumDy, sumDyXhat;
  perChannelSums(m, c, sumDy, sumDyXhat, [&](size_t i, double* a, double* b) {
    const float* g = dy + i * c;
    const float* r = x + i * c;
    for (size_t k = 0; k < c; k++) {
      a[k] += g[k];
      b[k] += g[k] * (r[k] - static_cast<double>(mean[k])) * invStd[k];
    }
  });
  // dx = g * (m * dy - sumDy - xhat * sumDyXhat), xhat = (x - mean) * invStd, as
  // dx = p * dy + q * (x - mean) + r with per-channel p, q, r (centred: no cancellation)
  std::vector<float> p(c), q(c), r(c);
  for (size_t k = 0; k < c; k++) {
    double g = scale[k] * invStd[k] / static_cast<double>(m);
    doffset[k] = static_cast<float>(sumDy[k]);
    dscale[k] = static_cast<float>(sumDyXhat[k]);
    p[k] = static_cast<float>(g * static_cast<double>(m));
    q[k] = static_cast<float>(-g * invStd[k] * sumDyXhat[k]);
    r[k] = static_cast<float>(-g * sumDy[k]);
  }
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < m; i++) {
    const float* g = dy + i * c;
    const float* xr = x + i * c;
    float* o = dx + i * c;
    for (size_t k = 0; k < c; k++) o[k] = p[k] * g[k] + q[k] * (xr[k] - mean[k]) + r[k];
  }
}

// y += bias per channel, then an optional ReLU (FusedConv2D's epilogue).
void biasActivation(float* y, const float* bias, bool relu, size_t m, size_t c) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < m; i++) {
    float* r = y + i * c;
    if (bias != nullptr)
      for (size_t k = 0; k < c; k++) r[k] += bias[k];
    if (relu)
      for (size_t k = 0; k < c; k++) r[k] = r[k] > 0 ? r[k] : 0;
  }
}

// ---- copies and pooling ---------------------------------------------------------------------
// Concat and split of 4-byte elements along one axis: the tensors are `rows` rows of widths
// w_i (elements) in the parts and sum(w_i) in the whole. tfjs's wasm kernels do these row by
// row in JavaScript; here the rows are split among threads.

void interleave(bool gather, uint32_t* whole, const std::vector<uint32_t*>& parts, const std::vector<size_t>& widths, size_t rows) {
  size_t total = 0;
  for (auto w : widths) total += w;
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows; r++) {
    uint32_t* row = whole + r * total;
    for (size_t p = 0; p < parts.size(); p++) {
      uint32_t* part = parts[p] + r * widths[p];
      if (gather) std::memcpy(row, part, widths[p] * 4);
      else std::memcpy(part, row, widths[p] * 4);
      row += widths[p];
    }
  }
}

// Max-pooling gradient, channels last, 2D or 3D (geometry as for convs with ic == oc): each
// output's gradient goes to the first maximum of its window (padding never wins), like tfjs's
// cpu backend. Windows may overlap, so each thread owns whole batch items.
void maxPoolGrad(const ConvGeometry& g, const float* dy, const float* x, float* dx) {
  const size_t c = g.ic;
  const int nd = g.nd;
  // spatial extents as 3D (depth 1 for 2D)
  const long inD = nd == 3 ? g.in[0] : 1, inH = g.in[nd - 2], inW = g.in[nd - 1];
  const long outD = nd == 3 ? g.out[0] : 1, outH = g.out[nd - 2], outW = g.out[nd - 1];
  const long kD = nd == 3 ? g.k[0] : 1, kH = g.k[nd - 2], kW = g.k[nd - 1];
  const long sD = nd == 3 ? g.stride[0] : 1, sH = g.stride[nd - 2], sW = g.stride[nd - 1];
  const long pD = nd == 3 ? g.padL[0] : 0, pH = g.padL[nd - 2], pW = g.padL[nd - 1];
  const size_t inItem = static_cast<size_t>(inD * inH * inW) * c, outItem = static_cast<size_t>(outD * outH * outW) * c;
  std::memset(dx, 0, sizeof(float) * inItem * g.n);
#pragma omp parallel for schedule(static)
  for (long n = 0; n < g.n; n++) {
    const float* xi = x + n * inItem;
    float* dxi = dx + n * inItem;
    std::vector<float> best(c);
    std::vector<long> where(c);
    for (long od = 0; od < outD; od++)
      for (long oh = 0; oh < outH; oh++)
        for (long ow = 0; ow < outW; ow++) {
          std::fill(best.begin(), best.end(), -INFINITY);
          std::fill(where.begin(), where.end(), -1L);
          for (long a = 0; a < kD; a++) {
            long id = od * sD - pD + a;
            if (id < 0 || id >= inD) continue;
            for (long b = 0; b < kH; b++) {
              long ih = oh * sH - pH + b;
              if (ih < 0 || ih >= inH) continue;
              for (long e = 0; e < kW; e++) {
                long iw = ow * sW - pW + e;
                if (iw < 0 || iw >= inW) continue;
                long base = ((id * inH + ih) * inW + iw) * static_cast<long>(c);
                for (size_t k = 0; k < c; k++)
                  if (xi[base + k] > best[k] || where[k] < 0) {
                    best[k] = xi[base + k];
                    where[k] = base + static_cast<long>(k);
                  }
              }
            }
          }
          const float* g0 = dy + n * outItem + ((od * outH + oh) * outW + ow) * static_cast<long>(c);
          for (size_t k = 0; k < c; k++)
            if (where[k] >= 0) dxi[where[k]] += g0[k];
        }
  }
}

// ---- N-API glue ----------------------------------------------------------------------------

struct JsError {
  std::string message;
};

void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) throw JsError{std::string("N-API call failed: ") + what};
}

// The wasm heap as a typed array (any element type): its first byte's address and byte length.
uint8_t* heapBase(napi_env env, napi_value v, size_t* bytes) {
  bool isTyped = false;
  check(env, napi_is_typedarray(env, v, &isTyped), "napi_is_typedarray");
  if (!isTyped) throw JsError{"argument 0 must be a typed array over the wasm heap"};
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  check(env, napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset), "napi_get_typedarray_info");
  size_t elementBytes = type == napi_float32_array || type == napi_int32_array || type == napi_uint32_array ? 4
                        : type == napi_float64_array || type == napi_bigint64_array || type == napi_biguint64_array ? 8
                        : type == napi_int16_array || type == napi_uint16_array ? 2 : 1;
  if (data == nullptr) throw JsError{"the heap typed array has no data pointer"};
  *bytes = length * elementBytes;
  return static_cast<uint8_t*>(data);
}

double number(napi_env env, napi_value v, const char* what) {
  double d = 0;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw JsError{std::string(what) + " must be a number"};
  return d;
}

std::vector<int64_t> intList(napi_env env, napi_value v, const char* what) {
  bool isArray = false;
  check(env, napi_is_array(env, v, &isArray), "napi_is_array");
  if (!isArray) throw JsError{std::string(what) + " must be an array of integers"};
  uint32_t n = 0;
  check(env, napi_get_array_length(env, v, &n), "napi_get_array_length");
  std::vector<int64_t> out(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    check(env, napi_get_element(env, v, i, &e), "napi_get_element");
    out[i] = static_cast<int64_t>(number(env, e, what));
  }
  return out;
}

ConvGeometry parseGeometry(const std::vector<int64_t>& a) {
  if (a.empty() || (a[0] != 2 && a[0] != 3)) throw JsError{"conv geometry: first entry must be 2 or 3 (spatial dims)"};
  ConvGeometry g;
  g.nd = static_cast<int>(a[0]);
  const size_t want = 4 + 7 * g.nd;
  if (a.size() != want) throw JsError{"conv geometry: expected " + std::to_string(want) + " entries, got " + std::to_string(a.size())};
  g.n = a[1];
  g.ic = a[2];
  g.oc = a[3];
  size_t i = 4;
  auto take = [&](memory::dims& d, int64_t delta) {
    d.resize(g.nd);
    for (int j = 0; j < g.nd; j++) d[j] = a[i++] + delta;
  };
  take(g.in, 0);
  take(g.k, 0);
  take(g.out, 0);
  take(g.stride, 0);
  take(g.dilate, -1);  // oneDNN counts dilation from 0
  take(g.padL, 0);
  take(g.padR, 0);
  return g;
}

size_t product(const memory::dims& d) {
  size_t p = 1;
  for (auto v : d) p *= static_cast<size_t>(v);
  return p;
}

// The wasm heap of one call: tensors are byte offsets into it, checked before use.
struct Heap {
  napi_env env;
  uint8_t* base;
  size_t bytes;

  Heap(napi_env e, napi_value array) : env(e), base(heapBase(e, array, &bytes)) {}

  // The float32 tensor at the byte offset in `offset` with `count` elements.
  float* at(napi_value offset, size_t count, const char* what) const { return at(number(env, offset, what), count, what); }

  float* at(double off, size_t count, const char* what) const {
    if (off < 0 || static_cast<size_t>(off) % 4 != 0 || static_cast<size_t>(off) + 4 * count > bytes)
      throw JsError{std::string(what) + ": offset outside the wasm heap or misaligned"};
    return reinterpret_cast<float*>(base + static_cast<size_t>(off));
  }
};

// One exported function: exactly `want` arguments for `body`; our errors and oneDNN's become
// JavaScript exceptions.
template <typename Body>
napi_value entry(napi_env env, napi_callback_info info, size_t want, const char* signature, Body body) {
  try {
    std::vector<napi_value> argv(want);
    size_t argc = want;
    check(env, napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr), "napi_get_cb_info");
    if (argc != want) throw JsError{std::string(signature) + " takes " + std::to_string(want) + " arguments"};
    return body(argv.data());
  } catch (const JsError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
  } catch (const dnnl::error& e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  }
  return nullptr;
}

// conv(kind, heap, geometry, a, b, out): byte offsets; kind 0 forward (x, w -> y),
// 1 backward data (dy, w -> dx), 2 backward weights (x, dy -> dw).
napi_value Conv(napi_env env, napi_callback_info info) {
  return entry(env, info, 6, "conv(kind, heap, geometry, a, b, out)", [&](napi_value* argv) -> napi_value {
    int kind = static_cast<int>(number(env, argv[0], "kind"));
    Heap heap(env, argv[1]);
    ConvGeometry g = parseGeometry(intList(env, argv[2], "geometry"));
    size_t xCount = g.n * g.ic * product(g.in), yCount = g.n * g.oc * product(g.out), wCount = g.ic * g.oc * product(g.k);
    if (kind == 0)
      convForward(g, heap.at(argv[3], xCount, "x"), heap.at(argv[4], wCount, "filter"), heap.at(argv[5], yCount, "y"));
    else if (kind == 1)
      convBackwardData(g, heap.at(argv[3], yCount, "dy"), heap.at(argv[4], wCount, "filter"), heap.at(argv[5], xCount, "dx"));
    else if (kind == 2)
      convBackwardWeights(g, heap.at(argv[3], xCount, "x"), heap.at(argv[4], yCount, "dy"), heap.at(argv[5], wCount, "dw"));
    else
      throw JsError{"conv kind must be 0, 1 or 2"};
    return nullptr;
  });
}

// implementation(kind, geometry): the oneDNN implementation name chosen for a geometry (for
// benchmarks: "brg:avx512_core", "jit:avx2", "gemm:jit" ...). Empty before first use of kind 1/2.
napi_value Implementation(napi_env env, napi_callback_info info) {
  return entry(env, info, 2, "implementation(kind, geometry)", [&](napi_value* argv) {
    int kind = static_cast<int>(number(env, argv[0], "kind"));
    std::string name = implName(parseGeometry(intList(env, argv[1], "geometry")), kind);
    napi_value result;
    check(env, napi_create_string_utf8(env, name.c_str(), name.size(), &result), "napi_create_string_utf8");
    return result;
  });
}

// batchNormForward(heap, m, c, epsilon, x, scale, offset, y, mean, variance): byte offsets.
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  return entry(env, info, 10, "batchNormForward", [&](napi_value* argv) -> napi_value {
    Heap heap(env, argv[0]);
    size_t m = static_cast<size_t>(number(env, argv[1], "m")), c = static_cast<size_t>(number(env, argv[2], "c"));
    batchNormForward(heap.at(argv[4], m * c, "x"), heap.at(argv[5], c, "scale"), heap.at(argv[6], c, "offset"), number(env, argv[3], "epsilon"), m, c,
                     heap.at(argv[7], m * c, "y"), heap.at(argv[8], c, "mean"), heap.at(argv[9], c, "variance"));
    return nullptr;
  });
}

// batchNormBackward(heap, m, c, epsilon, dy, x, scale, mean, variance, dx, dscale, doffset).
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  return entry(env, info, 12, "batchNormBackward", [&](napi_value* argv) -> napi_value {
    Heap heap(env, argv[0]);
    size_t m = static_cast<size_t>(number(env, argv[1], "m")), c = static_cast<size_t>(number(env, argv[2], "c"));
    batchNormBackward(heap.at(argv[4], m * c, "dy"), heap.at(argv[5], m * c, "x"), heap.at(argv[6], c, "scale"), heap.at(argv[7], c, "mean"),
                      heap.at(argv[8], c, "variance"), number(env, argv[3], "epsilon"), m, c, heap.at(argv[9], m * c, "dx"),
                      heap.at(argv[10], c, "dscale"), heap.at(argv[11], c, "doffset"));
    return nullptr;
  });
}

// biasActivation(heap, m, c, y, bias (-1: none), relu (0/1)).
napi_value BiasActivation(napi_env env, napi_callback_info info) {
  return entry(env, info, 6, "biasActivation(heap, m, c, y, bias, relu)", [&](napi_value* argv) -> napi_value {
    Heap heap(env, argv[0]);
    size_t m = static_cast<size_t>(number(env, argv[1], "m")), c = static_cast<size_t>(number(env, argv[2], "c"));
    float* bias = number(env, argv[4], "bias") < 0 ? nullptr : heap.at(argv[4], c, "bias");
    biasActivation(heap.at(argv[3], m * c, "y"), bias, number(env, argv[5], "relu") != 0, m, c);
    return nullptr;
  });
}

// interleave(heap, gather (1: parts -> whole, 0: whole -> parts), rows, whole, [part, width]...)
napi_value Interleave(napi_env env, napi_callback_info info) {
  return entry(env, info, 5, "interleave(heap, gather, rows, whole, parts)", [&](napi_value* argv) -> napi_value {
    Heap heap(env, argv[0]);
    bool gather = number(env, argv[1], "gather") != 0;
    size_t rows = static_cast<size_t>(number(env, argv[2], "rows"));
    std::vector<int64_t> flat = intList(env, argv[4], "parts");
    if (flat.size() % 2 != 0) throw JsError{"parts must be [offset, width] pairs"};
    std::vector<uint32_t*> parts;
    std::vector<size_t> widths;
    size_t total = 0;
    for (size_t i = 0; i < flat.size(); i += 2) {
      widths.push_back(static_cast<size_t>(flat[i + 1]));
      total += widths.back();
      parts.push_back(reinterpret_cast<uint32_t*>(heap.at(static_cast<double>(flat[i]), rows * widths.back(), "part")));
    }
    interleave(gather, reinterpret_cast<uint32_t*>(heap.at(argv[3], rows * total, "whole")), parts, widths, rows);
    return nullptr;
  });
}

// maxPoolGrad(heap, geometry, dy, x, dx): geometry as for conv with IC == OC == channels.
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  return entry(env, info, 5, "maxPoolGrad(heap, geometry, dy, x, dx)", [&](napi_value* argv) -> napi_value {
    Heap heap(env, argv[0]);
    ConvGeometry g = parseGeometry(intList(env, argv[1], "geometry"));
    if (g.ic != g.oc) throw JsError{"maxPoolGrad: channels in and out differ"};
    size_t xCount = g.n * g.ic * product(g.in), yCount = g.n * g.oc * product(g.out);
    maxPoolGrad(g, heap.at(argv[2], yCount, "dy"), heap.at(argv[3], xCount, "x"), heap.at(argv[4], xCount, "dx"));
    return nullptr;
  });
}

// setThreads(n): OpenMP threads oneDNN uses; returns the number in effect.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc == 1) {
    double n = 0;
    if (napi_get_value_double(env, argv[0], &n) == napi_ok && n >= 1) omp_set_num_threads(static_cast<int>(n));
  }
  napi_value result;
  napi_create_int32(env, omp_get_max_threads(), &result);
  return result;
}

napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value result;
  napi_create_string_utf8(env, s.c_str(), s.size(), &result);
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv", nullptr, Conv, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasActivation", nullptr, BiasActivation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"interleave", nullptr, Interleave, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"implementation", nullptr, Implementation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
