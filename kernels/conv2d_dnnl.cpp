// CPU convolution through oneDNN primitives (the JIT kernels PyTorch's CPU convolution uses), in
// float32 or, with lpl::set_precision(bf16), reading bfloat16 and accumulating in float32 (the bf16
// weight gradient, and float32's at maps of at most 4x4, is a GEMM on an im2col copy instead:
// backward_filter_gemm).
// The API is NCHW / OIHW float32; oneDNN picks its preferred internal layouts (format_tag::any) and
// the tensors are reordered in and out. Primitives and reorders are created once per shape (and
// thread count: oneDNN chooses its blocking for the threads present at creation), so a training
// step only executes them. Threads are OpenMP's, as set by lpl::set_num_threads (oneDNN here is
// the OpenMP build: it reads omp_get_max_threads(), which omp_set_num_threads sets).
#include <dnnl.hpp>
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "engine/parallel.h"
#include "kernels/backend.h"
#include "kernels/im2col.h"
#include "kernels/launch.h"

namespace lpl::cpu_backend {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

// Buffers for the internal layouts, shared by every cached convolution (one per role, grown on
// demand) so that cached shapes do not each hold their own copies of the activations.
enum Slot { kSrc, kWeights, kDst, kBias, kGemmA, kGemmB, kSlots };
class ScratchPool {
 public:
  void* get(Slot s, size_t bytes) {
    Buf& b = bufs_[s];
    if (b.bytes < bytes) {
      size_t n = (bytes + 63) / 64 * 64;
      b.ptr.reset(static_cast<char*>(std::aligned_alloc(64, n)));
      LPL_CHECK(b.ptr, fmt::format("conv2d (cpu): cannot allocate {} bytes of scratch memory", n));
      b.bytes = n;
    }
    return b.ptr.get();
  }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  struct Buf {
    std::unique_ptr<char, Free> ptr;
    size_t bytes = 0;
  };
  std::array<Buf, kSlots> bufs_;
};

// One tensor argument: the user's plain layout, the primitive's layout and the reorders between them.
struct Staged {
  memory::desc user, inner;
  Slot slot = kSrc;
  bool differs = false;
  dnnl::reorder to_inner, to_user, add_to_user;  // add_to_user: user += inner (accumulating outputs)

  static Staged input(const memory::desc& user, const memory::desc& inner, Slot slot) {
    Staged s{user, inner, slot, !(user == inner), {}, {}, {}};
    if (s.differs) s.to_inner = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), user, engine(), inner));
    return s;
  }
  static Staged output(const memory::desc& user, const memory::desc& inner, Slot slot, bool with_add) {
    Staged s{user, inner, slot, !(user == inner), {}, {}, {}};
    if (s.differs) s.to_user = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), inner, engine(), user));
    if (with_add) {
      dnnl::post_ops po;
      po.append_sum(1.f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(po);
      s.add_to_user = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), inner, engine(), user, attr));
    }
    return s;
  }
  // The memory the primitive reads: the user's data, reordered into scratch when layouts differ.
  memory read(const void* p, ScratchPool& pool) const {
    memory u(user, engine(), const_cast<void*>(p));
    if (!differs) return u;
    memory in(inner, engine(), pool.get(slot, inner.get_size()));
    to_inner.execute(stream(), u, in);
    return in;
  }
  // The memory the primitive writes (scratch unless it can write the user's buffer directly).
  memory target(void* p, ScratchPool& pool, bool accumulate) const {
    if (!differs && !accumulate) return memory(user, engine(), p);
    return memory(inner, engine(), pool.get(slot, inner.get_size()));
  }
  // Moves what the primitive wrote into the user's buffer (adding to it when accumulating).
  void write_back(memory written, void* p, bool accumulate) const {
    memory u(user, engine(), p);
    if (accumulate)
      add_to_user.execute(stream(), written, u);
    else if (differs)
      to_user.execute(stream(), written, u);
  }
};

using Key = std::array<int64_t, 15>;
Key make_key(int pass, const Shape& x, const Shape& w, const Conv2dParams& p, bool bias, bool bf16, bool winograd) {
  return {pass, x[0], x[1], x[2], x[3], w[0], w[2], w[3], p.stride_h, p.stride_w, p.pad_h, p.pad_w, bias ? 1 : 0,
          num_threads(), (bf16 ? 1 : 0) + (winograd ? 2 : 0)};
}

// The primitives' descriptors. The user's tensors are float32 (but a bf16 forward's input, which
// engine/ops.cpp hands over centred and already bfloat16); in bf16 what a convolution reads
// (forward: input and weights; backward-data: the output gradient and the weights) is bfloat16 (the
// reorders convert), and what it writes stays float32 (oneDNN accumulates in float32).
struct Geometry {
  memory::desc x, w, y, b;        // user layouts
  memory::desc x_lo, w_lo, y_lo;  // what the primitives read (bf16 or f32), any layout
  memory::desc x_f, w_f, y_f;     // what they write (f32), any layout
  memory::dims strides, pad;
  Geometry(const Shape& xs, const Shape& ws, const Conv2dParams& p, bool bf16, bool x_bf16 = false) {
    const int64_t oh = (xs[2] + 2 * p.pad_h - ws[2]) / p.stride_h + 1;
    const int64_t ow = (xs[3] + 2 * p.pad_w - ws[3]) / p.stride_w + 1;
    memory::dims xd{xs[0], xs[1], xs[2], xs[3]}, wd{ws[0], ws[1], ws[2], ws[3]}, yd{xs[0], ws[0], oh, ow};
    x = memory::desc(xd, x_bf16 ? dt::bf16 : dt::f32, tag::nchw);
    w = memory::desc(wd, dt::f32, tag::oihw);
    y = memory::desc(yd, dt::f32, tag::nchw);
    b = memory::desc({ws[0]}, dt::f32, tag::a);
    const dt lo = bf16 ? dt::bf16 : dt::f32;
    x_lo = memory::desc(xd, lo, tag::any);
    w_lo = memory::desc(wd, lo, tag::any);
    y_lo = memory::desc(yd, lo, tag::any);
    x_f = memory::desc(xd, dt::f32, tag::any);
    w_f = memory::desc(wd, dt::f32, tag::any);
    y_f = memory::desc(yd, dt::f32, tag::any);
    strides = {p.stride_h, p.stride_w};
    // Symmetric padding as PyTorch: oneDNN's output-size check divides with floor, like ours.
    pad = {p.pad_h, p.pad_w};
  }
  // The forward's layouts: oneDNN's choice, but for a bf16 forward reading at most 4 channels (an
  // image), where plain NCHW in and out (oneDNN's gemm:jit, no reorders) beats its AMX kernel with the
  // reorders around it: VGG's first layer at batch 512, 24.0 -> 12.0 ms (bench_ops, 2 threads). In
  // float32, and with more channels in bf16 (16x16 to 8x8 maps: 14-56 ms against 9-16), it loses.
  dnnl::convolution_forward::primitive_desc forward_pd(bool bias, dnnl::algorithm alg) const {
    const bool plain = x.data_type() == dt::bf16 && x.dims()[1] <= 4;  // a forward of a bf16 input
    const memory::desc& src = plain ? x : x_lo;
    const memory::desc& dst = plain ? y : y_f;
    auto d = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, src, w_lo, b, dst, strides,
                                                    pad, pad)
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg, src, w_lo, dst, strides,
                                                    pad, pad);
    return dnnl::convolution_forward::primitive_desc(d, engine());
  }
};

// Winograd F(4x4, 3x3) (oneDNN's jit_wino_4x3) where it beats the direct sum, in float32: 3x3 kernels,
// stride 1, padding 1, at least 16 input channels, a batch; the forward at maps of 4x4 and larger, the
// weight gradient at 8x8 and larger (smaller maps take the sgemm below). Measured (bench_ops --batch
// 512 --threads 2, ms, direct -> Winograd): forward 16x16 43.5 -> 23.1, 8x8 37.8 -> 18.5 and 74.8 ->
// 37.1, 4x4 38.5 -> 17.5 and 76.2 -> 33.3 (slower: 2x2 24.1 -> 32.4, the 3-channel image layer 10.9 ->
// 38.6); weight gradient 16x16 45.8 -> 24.6, 8x8 44.2 -> 21.7 and 94.9 -> 42.6. Its rounding is larger
// than the direct sum's (tests/engine/test_conv.cpp bounds both against float64); the GPU's cuDNN
// order prefers Winograd as well. Only where allowed (set_allow_winograd: training; evaluation keeps
// the direct sum, whose results do not depend on the batch). Backward-data stays direct (not measured;
// layer-local training never needs it).
enum class Pass { forward, backward_filter };
bool use_winograd(Pass pass, const Shape& x, const Shape& w, const Conv2dParams& p, bool bf16) {
  if (bf16 || !allow_winograd() || x[0] < 2 || x[1] < 16 || w[2] != 3 || w[3] != 3) return false;
  if (p.stride_h != 1 || p.stride_w != 1 || p.pad_h != 1 || p.pad_w != 1) return false;
  return x[2] * x[3] >= (pass == Pass::forward ? 16 : 64);
}

struct ForwardPlan {
  dnnl::convolution_forward prim;
  Staged x, w, y;
  ForwardPlan(const Geometry& g, bool bias, bool winograd) {
    auto pd = [&] {
      if (winograd) try {
          return g.forward_pd(bias, dnnl::algorithm::convolution_winograd);
        } catch (const dnnl::error&) {  // no Winograd kernel for this shape: the direct sum
        }
      return g.forward_pd(bias, dnnl::algorithm::convolution_direct);
    }();
    prim = dnnl::convolution_forward(pd);
    x = Staged::input(g.x, pd.src_desc(), kSrc);
    w = Staged::input(g.w, pd.weights_desc(), kWeights);
    y = Staged::output(g.y, pd.dst_desc(), kDst, false);
  }
};

struct BackwardFilterPlan {
  dnnl::convolution_backward_weights prim;
  Staged x, dy, dw, db;
  bool bias;
  BackwardFilterPlan(const Geometry& g, bool with_bias, bool winograd) : bias(with_bias) {
    auto make = [&](dnnl::algorithm alg) {
      auto hint = g.forward_pd(with_bias, alg);
      auto d = with_bias ? dnnl::convolution_backward_weights::desc(alg, g.x_lo, g.w_f, g.b, g.y_lo, g.strides, g.pad,
                                                                    g.pad)
                         : dnnl::convolution_backward_weights::desc(alg, g.x_lo, g.w_f, g.y_lo, g.strides, g.pad, g.pad);
      return dnnl::convolution_backward_weights::primitive_desc(d, engine(), hint);
    };
    auto pd = [&] {
      if (winograd) try {
          return make(dnnl::algorithm::convolution_winograd);
        } catch (const dnnl::error&) {  // no Winograd kernel for this shape: the direct sum
        }
      return make(dnnl::algorithm::convolution_direct);
    }();
    prim = dnnl::convolution_backward_weights(pd);
    x = Staged::input(g.x, pd.src_desc(), kSrc);
    dy = Staged::input(g.y, pd.diff_dst_desc(), kDst);
    dw = Staged::output(g.w, pd.diff_weights_desc(), kWeights, true);
    if (with_bias) db = Staged::output(g.b, pd.diff_bias_desc(), kBias, true);
  }
};

struct BackwardDataPlan {
  dnnl::convolution_backward_data prim;
  Staged dy, w, dx;
  explicit BackwardDataPlan(const Geometry& g) {
    auto hint = g.forward_pd(false, dnnl::algorithm::convolution_direct);
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.x_f, g.w_lo, g.y_lo, g.strides,
                                           g.pad, g.pad);
    dnnl::convolution_backward_data::primitive_desc pd(d, engine(), hint);
    prim = dnnl::convolution_backward_data(pd);
    dy = Staged::input(g.y, pd.diff_dst_desc(), kDst);
    w = Staged::input(g.w, pd.weights_desc(), kWeights);
    dx = Staged::output(g.x, pd.diff_src_desc(), kSrc, false);
  }
};

// Plans and scratch are shared: calls are serialised (one CPU op runs at a time and uses all threads).
struct Cache {
  std::mutex mu;
  ScratchPool pool;
  std::map<Key, std::unique_ptr<ForwardPlan>> fwd;
  std::map<Key, std::unique_ptr<BackwardFilterPlan>> bwf;
  std::map<Key, std::unique_ptr<BackwardDataPlan>> bwd;
};
Cache& cache() {
  static Cache c;
  return c;
}

template <class Plan, class... A>
Plan& plan_for(std::map<Key, std::unique_ptr<Plan>>& m, const Key& k, const char* op, const Shape& x, const Shape& w,
               A&&... a) {
  auto it = m.find(k);
  if (it != m.end()) return *it->second;
  try {
    auto p = std::make_unique<Plan>(std::forward<A>(a)...);
    return *m.emplace(k, std::move(p)).first->second;
  } catch (const dnnl::error& e) {
    fail(fmt::format("{}: oneDNN could not create a convolution for input {} and weight {}: {}", op, x.str(), w.str(),
                     e.what()));
  }
}

// oneDNN (OpenMP build) runs on omp_get_max_threads() threads, a per-thread OpenMP setting:
// apply the engine's count on whichever thread calls the op, not only on the one that set it.
void use_engine_threads() {
  if (omp_get_max_threads() != num_threads()) omp_set_num_threads(num_threads());
}

// oneDNN reports failures as dnnl::error; turn them into one lpl::Error naming the op.
template <class F>
void run_dnnl(const char* op, F&& f) {
  try {
    f();
    stream().wait();
  } catch (const dnnl::error& e) {
    fail(fmt::format("{}: oneDNN failed: {}", op, e.what()));
  }
}

// The weight gradient as one GEMM per chunk of images (kernels/im2col.h), in bf16 (O = uint16_t: the
// --precision bf16 path; float32 accumulation and result) or float32 (O = float: maps of at most
// 4x4, where oneDNN's float32 backward-weights kernels run at a third of the sgemm's speed):
// dW (+)= Dy (Co x rows) * ColT^T (ColT: Ci*KH*KW x rows). Chunks keep the operands near kChunkItems
// items each; the bias gradient is the float32 sum of dy.
// Images per GEMM chunk of a convolution as a GEMM (kernels/im2col.h): operands near 2^24 items each.
int64_t gemm_chunk(int64_t n, int64_t ohw, int64_t row_len, int64_t co) {
  constexpr int64_t kChunkItems = int64_t{1} << 24;
  return std::max<int64_t>(1, std::min(n, kChunkItems / std::max(ohw * std::max(row_len, co), int64_t{1})));
}

template <class O>
void backward_filter_gemm(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db, const Conv2dParams& p,
                          bool accumulate, ScratchPool& pool) {
  const int64_t n = x.dim(0), co = dw.dim(0), kh = dw.dim(2), kw = dw.dim(3);
  const kern::Im2colGeom g{x.dim(1), x.dim(2), x.dim(3), kh, kw, dy.dim(2), dy.dim(3),
                           p.stride_h, p.stride_w, p.pad_h, p.pad_w};
  const int64_t ohw = g.oh * g.ow, row_len = g.ci * kh * kw, chunk = gemm_chunk(n, ohw, row_len, co);
  auto* a = static_cast<O*>(pool.get(kGemmA, static_cast<size_t>(co * chunk * ohw) * sizeof(O)));
  auto* b = static_cast<O*>(pool.get(kGemmB, static_cast<size_t>(chunk * ohw * row_len) * sizeof(O)));
  for (int64_t n0 = 0; n0 < n; n0 += chunk) {
    const int64_t m = std::min(chunk, n - n0), rows = m * ohw;
    const kern::Span sa = kern::row_spans<CpuLaunch>(m * co, ohw), sb = kern::row_spans<CpuLaunch>(row_len, rows);
    CpuLaunch{}(cpu(), sa.count, kern::DyRows<O>{dy.f(), a, co, ohw, n0, m, sa.per});
    if (x.dtype() == DType::BF16)
      CpuLaunch{}(cpu(), sb.count, kern::Im2colT<uint16_t, O>{x.data<uint16_t>(), b, g, n0, m, sb.per});
    else
      CpuLaunch{}(cpu(), sb.count, kern::Im2colT<float, O>{x.f(), b, g, n0, m, sb.per});
    const float beta = accumulate || n0 > 0 ? 1.f : 0.f;
    if constexpr (sizeof(O) == 2)
      gemm_bf16(cpu(), false, true, co, row_len, rows, a, rows, b, rows, beta, dw.f(), row_len);
    else
      cpu_backend::gemm(cpu(), false, true, co, row_len, rows, 1.f, a, rows, b, rows, beta, dw.f(), row_len);
  }
  if (db) cpu_backend::bias_backward(dy, *db, accumulate);
}

// The bf16 forward (x already bfloat16, centred by engine/ops.cpp) as one GEMM per chunk of images:
// Y^T (Co x rows) = W (Co x Ci*KH*KW) * ColT in bf16 with float32 accumulation and result, then
// scattered to NCHW with the bias.
Tensor forward_gemm_bf16(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p, const Shape& ys,
                         ScratchPool& pool) {
  const int64_t n = x.dim(0), co = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const kern::Im2colGeom g{x.dim(1), x.dim(2), x.dim(3), kh, kw, ys[2], ys[3], p.stride_h, p.stride_w, p.pad_h, p.pad_w};
  const int64_t ohw = g.oh * g.ow, row_len = g.ci * kh * kw, chunk = gemm_chunk(n, ohw, row_len, co);
  Tensor y = Tensor::empty(ys, x.device());
  const Tensor w16 = kern::to_bf16(CpuLaunch{}, w);
  auto* yt = static_cast<float*>(pool.get(kGemmA, static_cast<size_t>(co * chunk * ohw) * sizeof(float)));
  auto* col = static_cast<uint16_t*>(pool.get(kGemmB, static_cast<size_t>(chunk * ohw * row_len) * sizeof(uint16_t)));
  for (int64_t n0 = 0; n0 < n; n0 += chunk) {
    const int64_t m = std::min(chunk, n - n0), rows = m * ohw;
    const kern::Span sc = kern::row_spans<CpuLaunch>(row_len, rows), sy = kern::row_spans<CpuLaunch>(m * co, ohw);
    CpuLaunch{}(cpu(), sc.count, kern::Im2colT<uint16_t, uint16_t>{x.data<uint16_t>(), col, g, n0, m, sc.per});
    gemm_bf16(cpu(), false, false, co, rows, row_len, w16.data<uint16_t>(), row_len, col, rows, 0.f, yt, rows);
    CpuLaunch{}(cpu(), sy.count, kern::RowsToNchw{yt, b.defined() ? b.f() : nullptr, y.f(), co, ohw, n0, m, sy.per});
  }
  return y;
}

// Where the forward is the GEMM: bf16 at maps of at most 4x4. Measured (bench_ops --only conv_fwd
// --precision bf16 --batch 512, 2 threads): 2x2 32.5 -> 9.8 ms, 4x4 512 -> 512 channels 41.4 -> 33.2,
// 256 -> 512 15.1 either way; at 8x8 oneDNN is faster (15.6 against 29.8 ms), and in float32 the
// sgemm loses at every size (2x2: 23.8 against 27.8 ms).
bool forward_by_gemm(const Tensor& x, const Shape& y) {
  return x.dtype() == DType::BF16 && x.dim(0) > 1 && y[2] * y[3] <= 16;
}

// Where the float32 weight gradient is the sgemm. Measured at VGG-11's shapes (bench_ops, batch 512,
// 2 threads): 2x2 maps 81 -> 30 ms, 4x4 55 -> 53 and 121 -> 102 ms; at 8x8 it was slower (44 -> 61).
bool small_map(const Shape& dy) { return dy[2] * dy[3] <= 16; }

}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  use_engine_threads();
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  const bool bias = b.defined();
  const bool bf16 = x.dtype() == DType::BF16;
  Geometry g(x.shape(), w.shape(), p, bf16, bf16);
  const auto yd = g.y.dims();
  const Shape ys{yd[0], yd[1], yd[2], yd[3]};
  if (forward_by_gemm(x, ys)) return forward_gemm_bf16(x, w, b, p, ys, c.pool);
  Tensor y = Tensor::empty(ys, x.device());
  const bool wino = use_winograd(Pass::forward, x.shape(), w.shape(), p, bf16);
  ForwardPlan& pl = plan_for(c.fwd, make_key(0, x.shape(), w.shape(), p, bias, bf16, wino), "conv2d_forward", x.shape(),
                             w.shape(), g, bias, wino);
  run_dnnl("conv2d_forward", [&] {
    memory xm = pl.x.read(x.data<void>(), c.pool), wm = pl.w.read(w.f(), c.pool);
    memory ym = pl.y.target(y.f(), c.pool, false);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(g.b, engine(), b.f()));
    pl.prim.execute(stream(), args);
    pl.y.write_back(ym, y.f(), false);
  });
  return y;
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db, const Conv2dParams& p,
                            bool accumulate) {
  use_engine_threads();
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (x.dtype() == DType::BF16) {
    backward_filter_gemm<uint16_t>(x, dy, dw, db, p, accumulate, c.pool);
    return;
  }
  if (small_map(dy.shape())) {
    backward_filter_gemm<float>(x, dy, dw, db, p, accumulate, c.pool);
    return;
  }
  const bool bias = db != nullptr;
  Geometry g(x.shape(), dw.shape(), p, false);
  const bool wino = use_winograd(Pass::backward_filter, x.shape(), dw.shape(), p, false);
  BackwardFilterPlan& pl = plan_for(c.bwf, make_key(1, x.shape(), dw.shape(), p, bias, false, wino),
                                    "conv2d_backward_filter", x.shape(), dw.shape(), g, bias, wino);
  run_dnnl("conv2d_backward_filter", [&] {
    memory xm = pl.x.read(x.f(), c.pool), dym = pl.dy.read(dy.f(), c.pool);
    memory dwm = pl.dw.target(dw.f(), c.pool, accumulate);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, dwm}};
    memory dbm;
    if (bias) {
      dbm = pl.db.target(db->f(), c.pool, accumulate);
      args.emplace(DNNL_ARG_DIFF_BIAS, dbm);
    }
    pl.prim.execute(stream(), args);
    pl.dw.write_back(dwm, dw.f(), accumulate);
    if (bias) pl.db.write_back(dbm, db->f(), accumulate);
  });
}

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  use_engine_threads();
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  const bool bf16 = precision() == Precision::bf16;
  Geometry g(x_shape, w.shape(), p, bf16);
  Tensor dx = Tensor::empty(x_shape, dy.device());
  BackwardDataPlan& pl =
      plan_for(c.bwd, make_key(2, x_shape, w.shape(), p, false, bf16, false), "conv2d_backward_data", x_shape, w.shape(), g);
  run_dnnl("conv2d_backward_data", [&] {
    memory dym = pl.dy.read(dy.f(), c.pool), wm = pl.w.read(w.f(), c.pool);
    memory dxm = pl.dx.target(dx.f(), c.pool, false);
    pl.prim.execute(stream(), {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dxm}});
    pl.dx.write_back(dxm, dx.f(), false);
  });
  return dx;
}

}  // namespace lpl::cpu_backend
