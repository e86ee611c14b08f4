// Argument checks shared by both backends, then dispatch by device. Ops composed from others
// (linear, gram) are written here once.
#include "engine/ops.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/lpl_ops.h"
#include "kernels/backend.h"

namespace lpl {

#if LPL_HAVE_CUDA
#define LPL_DISPATCH(dev, fn, ...)                                  \
  do {                                                              \
    if ((dev).is_cuda()) return cuda_backend::fn(__VA_ARGS__);      \
    return cpu_backend::fn(__VA_ARGS__);                            \
  } while (0)
#else
namespace {
[[noreturn]] void no_cuda_backend(const char* op) {
  fail(fmt::format("{}: tensor is on a CUDA device but this build has no CUDA backend", op));
}
}  // namespace
#define LPL_DISPATCH(dev, fn, ...)                                  \
  do {                                                              \
    if ((dev).is_cuda()) no_cuda_backend(#fn);                      \
    return cpu_backend::fn(__VA_ARGS__);                            \
  } while (0)
#endif

static void check_4d(const Tensor& t, const char* op, const char* name) {
  check_f32(t, op, name);
  LPL_CHECK(t.ndim() == 4, fmt::format("{}: {} must be 4-d NCHW, got shape {}", op, name, t.shape().str()));
}
static void check_2d(const Tensor& t, const char* op, const char* name) {
  check_f32(t, op, name);
  LPL_CHECK(t.ndim() == 2, fmt::format("{}: {} must be 2-d, got shape {}", op, name, t.shape().str()));
}

void gemm(Device d, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  LPL_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative size");
  if (M == 0 || N == 0) return;
  LPL_DISPATCH(d, gemm, d, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static int64_t conv_out(int64_t in, int64_t k, int s, int p) { return (in + 2 * p - k) / s + 1; }

static Shape conv_out_shape(const Shape& x, const Shape& w, const Conv2dParams& p, const char* op) {
  LPL_CHECK(p.stride_h > 0 && p.stride_w > 0 && p.pad_h >= 0 && p.pad_w >= 0,
            fmt::format("{}: invalid stride/padding", op));
  LPL_CHECK(x[1] == w[1], fmt::format("{}: input has {} channels but weight {} expects {}", op, x[1],
                                      w.str(), w[1]));
  int64_t oh = conv_out(x[2], w[2], p.stride_h, p.pad_h), ow = conv_out(x[3], w[3], p.stride_w, p.pad_w);
  LPL_CHECK(x[2] + 2 * p.pad_h >= w[2] && x[3] + 2 * p.pad_w >= w[3] && oh > 0 && ow > 0,
            fmt::format("{}: kernel {} larger than padded input {}", op, w.str(), x.str()));
  return Shape{x[0], w[0], oh, ow};
}

// bf16 convolutions and GEMMs exist on the CPU through oneDNN and on the GPU through cuDNN / cuBLAS;
// the plain loops of the CUDA-only build's CPU side refuse them rather than compute in float32.
static void check_precision(Device d, const char* op) {
  if (precision() != Precision::bf16 || d.is_cuda()) return;
  LPL_CHECK(LPL_HAVE_DNNL, fmt::format("{}: --precision bf16 needs the oneDNN CPU backend (this build has none)", op));
}

Tensor to_bf16(const Tensor& x) {
  check_f32(x, "to_bf16", "x");
  LPL_DISPATCH(x.device(), to_bf16, x);
}

// scale * the sum over the batch of x [N, ...] -> [1, ...]
static Tensor batch_sum(const Tensor& x, float scale, const char* op) {
  check_f32(x, op, "x");
  LPL_CHECK(x.ndim() >= 1 && x.dim(0) > 0, fmt::format("{}: x must have a batch, got shape {}", op, x.shape().str()));
  LPL_DISPATCH(x.device(), batch_sum, x, scale);
}

Tensor batch_mean(const Tensor& x) {
  const int64_t n = x.ndim() >= 1 && x.dim(0) > 0 ? x.dim(0) : 1;  // (an empty batch is refused by batch_sum)
  return batch_sum(x, 1.f / static_cast<float>(n), "batch_mean");
}

Tensor to_bf16_centred(const Tensor& x, const Tensor& mean) {
  check_f32(x, "to_bf16_centred", "x");
  check_f32(mean, "to_bf16_centred", "mean");
  check_same_device(x, mean, "to_bf16_centred");
  LPL_CHECK(x.ndim() >= 1 && x.dim(0) > 0 && mean.numel() * x.dim(0) == x.numel(),
            fmt::format("to_bf16_centred: mean {} is not one row of x {}", mean.shape().str(), x.shape().str()));
  LPL_DISPATCH(x.device(), to_bf16_centred, x, mean);
}

Tensor to_f32(const Tensor& x) {
  LPL_CHECK(x.dtype() == DType::BF16, fmt::format("to_f32: x must be bfloat16, got {}", dtype_name(x.dtype())));
  LPL_DISPATCH(x.device(), to_f32, x);
}

// C = op(A) op(B) of a linear layer: float32, or with --precision bf16 on bf16 copies of A and B
// (either may already be one) with float32 accumulation and output.
static void layer_gemm(const char* op, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const Tensor& A,
                       int64_t lda, const Tensor& B, int64_t ldb, Tensor& C) {
  const Device d = A.device();
  if (precision() != Precision::bf16) {
    gemm(d, ta, tb, M, N, K, 1.f, A.f(), lda, B.f(), ldb, 0.f, C.f(), N);
    return;
  }
  check_precision(d, op);
  const Tensor a = A.dtype() == DType::BF16 ? A : to_bf16(A), b = B.dtype() == DType::BF16 ? B : to_bf16(B);
  LPL_DISPATCH(d, gemm_bf16, d, ta, tb, M, N, K, a.data<uint16_t>(), lda, b.data<uint16_t>(), ldb, 0.f, C.f(), N);
}

// The backends' forward and weight gradient compute in the precision of x (kernels/backend_ops.inc).
static Tensor backend_conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  LPL_DISPATCH(x.device(), conv2d_forward, x, w, b, p);
}
static void backend_conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db,
                                           const Conv2dParams& p, bool accumulate) {
  LPL_DISPATCH(x.device(), conv2d_backward_filter, x, dy, dw, db, p, accumulate);
}

// --precision bf16, centred on the batch mean (ops.h says why): W * bf16(x - m) + (W * m + b).
static Tensor conv2d_forward_bf16(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                                  CentredBf16* keep, bool relu) {
  if (x.dim(0) == 1) {
    Tensor y = backend_conv2d_forward(to_bf16(x), w, b, p);
    if (relu) relu_inplace(y);
    return y;
  }
  const Tensor mean = batch_mean(x), centred = to_bf16_centred(x, mean);
  if (keep) *keep = CentredBf16{mean, centred};
  Tensor y = backend_conv2d_forward(centred, w, Tensor(), p);
  const Tensor y_mean = backend_conv2d_forward(mean, w, b, p);  // float32, one image
  const int64_t n = y.dim(0), e = y.numel() / n;
  Tensor rows = y.reshape({n, e});
  add_row_bias_op(rows, y_mean.reshape({e}), relu);
  return y;
}

static Tensor conv2d_forward_impl(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                                  CentredBf16* keep, bool relu) {
  if (keep) *keep = CentredBf16{};
  check_precision(x.device(), "conv2d_forward");
  check_4d(x, "conv2d_forward", "x");
  check_4d(w, "conv2d_forward", "w");
  check_same_device(x, w, "conv2d_forward");
  conv_out_shape(x.shape(), w.shape(), p, "conv2d_forward");
  if (b.defined()) {
    check_shape(b, Shape{w.dim(0)}, "conv2d_forward", "bias");
    check_same_device(x, b, "conv2d_forward");
  }
  if (precision() == Precision::bf16) return conv2d_forward_bf16(x, w, b, p, keep, relu);
  Tensor y = backend_conv2d_forward(x, w, b, p);
  if (relu) relu_inplace(y);
  return y;
}

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  return conv2d_forward_impl(x, w, b, p, nullptr, false);
}
Tensor conv2d_relu_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                           CentredBf16* keep) {
  return conv2d_forward_impl(x, w, b, p, keep, true);
}

// --precision bf16 weight gradient, centred as the forward: sum_n dy[n] * x[n] =
// sum_n dy[n] * (x[n] - m) + (sum_n dy[n]) * m, the first in bf16, the second in float32 (one image;
// its bias gradient, the sum of dy over n, h, w, is the layer's).
static void conv2d_backward_filter_bf16(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db,
                                        const Conv2dParams& p, bool accumulate, const CentredBf16* from_forward) {
  if (x.dim(0) == 1) return backend_conv2d_backward_filter(to_bf16(x), dy, dw, db, p, accumulate);
  const bool kept = from_forward && from_forward->centred.defined();
  if (kept) {
    Shape ms = x.shape();
    ms[0] = 1;
    LPL_CHECK(from_forward->centred.shape() == x.shape() && from_forward->centred.dtype() == DType::BF16 &&
                  from_forward->mean.shape() == ms && from_forward->centred.device() == x.device(),
              fmt::format("conv2d_backward_filter: what the forward kept ({}) is not of x {}",
                          from_forward->centred.shape().str(), x.shape().str()));
  }
  const Tensor mean = kept ? from_forward->mean : batch_mean(x);
  backend_conv2d_backward_filter(kept ? from_forward->centred : to_bf16_centred(x, mean), dy, dw, nullptr, p,
                                 accumulate);
  if (db && !accumulate) db->zero_();
  backend_conv2d_backward_filter(mean, batch_sum(dy, 1.f, "conv2d_backward_filter"), dw, db, p, true);
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db,
                            const Conv2dParams& p, bool accumulate, const CentredBf16* from_forward) {
  check_precision(x.device(), "conv2d_backward_filter");
  check_4d(x, "conv2d_backward_filter", "x");
  check_4d(dy, "conv2d_backward_filter", "dy");
  check_4d(dw, "conv2d_backward_filter", "dw");
  check_same_device(x, dy, "conv2d_backward_filter");
  check_same_device(x, dw, "conv2d_backward_filter");
  check_shape(dy, conv_out_shape(x.shape(), dw.shape(), p, "conv2d_backward_filter"),
              "conv2d_backward_filter", "dy");
  if (db) check_shape(*db, Shape{dw.dim(0)}, "conv2d_backward_filter", "db");
  if (precision() == Precision::bf16) return conv2d_backward_filter_bf16(x, dy, dw, db, p, accumulate, from_forward);
  LPL_DISPATCH(x.device(), conv2d_backward_filter, x, dy, dw, db, p, accumulate);
}

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  check_precision(dy.device(), "conv2d_backward_data");
  check_4d(dy, "conv2d_backward_data", "dy");
  check_4d(w, "conv2d_backward_data", "w");
  check_same_device(dy, w, "conv2d_backward_data");
  LPL_CHECK(x_shape.ndim() == 4, "conv2d_backward_data: x_shape must be 4-d");
  check_shape(dy, conv_out_shape(x_shape, w.shape(), p, "conv2d_backward_data"), "conv2d_backward_data", "dy");
  LPL_DISPATCH(dy.device(), conv2d_backward_data, dy, w, x_shape, p);
}

void bias_backward(const Tensor& dy, Tensor& db, bool accumulate) {
  check_4d(dy, "bias_backward", "dy");
  check_shape(db, Shape{dy.dim(1)}, "bias_backward", "db");
  check_same_device(dy, db, "bias_backward");
  LPL_DISPATCH(dy.device(), bias_backward, dy, db, accumulate);
}

Tensor relu_forward(const Tensor& x) {
  check_f32(x, "relu_forward", "x");
  LPL_DISPATCH(x.device(), relu_forward, x);
}

Tensor relu_backward(const Tensor& dy, const Tensor& y) {
  check_f32(dy, "relu_backward", "dy");
  check_f32(y, "relu_backward", "y");
  check_shape(y, dy.shape(), "relu_backward", "y");
  check_same_device(dy, y, "relu_backward");
  LPL_DISPATCH(dy.device(), relu_backward, dy, y);
}

// Output shape of a max-pool (floor mode, as PyTorch's default) after checking its parameters.
static Shape pool_out_shape(const Shape& x, const Pool2dParams& p, const char* op) {
  LPL_CHECK(p.kernel_h > 0 && p.kernel_w > 0 && p.stride_h > 0 && p.stride_w > 0 && p.pad_h >= 0 &&
                p.pad_w >= 0 && 2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w,
            fmt::format("{}: invalid window {}x{} / stride {}x{} / padding {}x{} (window and stride must be "
                        "positive, padding at most half the window)",
                        op, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w));
  LPL_CHECK(x[2] + 2 * p.pad_h >= p.kernel_h && x[3] + 2 * p.pad_w >= p.kernel_w,
            fmt::format("{}: window {}x{} larger than input {}", op, p.kernel_h, p.kernel_w, x.str()));
  return Shape{x[0], x[1], (x[2] + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1,
               (x[3] + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1};
}

static void check_x_shape(const Shape& xs, const Tensor& dy, const char* op) {
  LPL_CHECK(xs.ndim() == 4 && xs[0] == dy.dim(0) && xs[1] == dy.dim(1) && xs[2] > 0 && xs[3] > 0,
            fmt::format("{}: x_shape {} does not match dy {}", op, xs.str(), dy.shape().str()));
}

MaxPoolResult maxpool2d_forward(const Tensor& x, const Pool2dParams& p) {
  check_4d(x, "maxpool2d_forward", "x");
  pool_out_shape(x.shape(), p, "maxpool2d_forward");
  LPL_CHECK(x.dim(2) * x.dim(3) <= INT32_MAX,
            fmt::format("maxpool2d_forward: planes of {} too large for int32 arg-max", x.shape().str()));
  LPL_DISPATCH(x.device(), maxpool2d_forward, x, p);
}

Tensor maxpool2d_backward(const Tensor& dy, const Tensor& argmax, const Shape& x_shape, const Pool2dParams& p) {
  check_4d(dy, "maxpool2d_backward", "dy");
  LPL_CHECK(argmax.defined() && argmax.dtype() == DType::I32 && argmax.shape() == dy.shape(),
            fmt::format("maxpool2d_backward: argmax must be int32 with dy's shape {}, got {} {}",
                        dy.shape().str(), argmax.defined() ? dtype_name(argmax.dtype()) : "undefined",
                        argmax.defined() ? argmax.shape().str() : ""));
  check_same_device(dy, argmax, "maxpool2d_backward");
  check_x_shape(x_shape, dy, "maxpool2d_backward");
  check_shape(dy, pool_out_shape(x_shape, p, "maxpool2d_backward"), "maxpool2d_backward", "dy");
  LPL_DISPATCH(dy.device(), maxpool2d_backward, dy, argmax, x_shape, p);
}

Tensor global_avgpool_forward(const Tensor& x) {
  check_4d(x, "global_avgpool_forward", "x");
  LPL_CHECK(x.dim(2) > 0 && x.dim(3) > 0,
            fmt::format("global_avgpool_forward: x {} has empty planes", x.shape().str()));
  LPL_DISPATCH(x.device(), global_avgpool_forward, x);
}

Tensor global_avgpool_backward(const Tensor& dy, const Shape& x_shape) {
  check_2d(dy, "global_avgpool_backward", "dy");
  check_x_shape(x_shape, dy, "global_avgpool_backward");
  LPL_DISPATCH(dy.device(), global_avgpool_backward, dy, x_shape);
}

Tensor adaptive_avgpool_forward(const Tensor& x, int out_h, int out_w) {
  check_4d(x, "adaptive_avgpool_forward", "x");
  LPL_CHECK(out_h > 0 && out_w > 0,
            fmt::format("adaptive_avgpool_forward: output size {}x{} must be positive", out_h, out_w));
  LPL_CHECK(x.dim(2) > 0 && x.dim(3) > 0,
            fmt::format("adaptive_avgpool_forward: x {} has empty planes", x.shape().str()));
  LPL_DISPATCH(x.device(), adaptive_avgpool_forward, x, out_h, out_w);
}

Tensor adaptive_avgpool_backward(const Tensor& dy, const Shape& x_shape) {
  check_4d(dy, "adaptive_avgpool_backward", "dy");
  check_x_shape(x_shape, dy, "adaptive_avgpool_backward");
  LPL_DISPATCH(dy.device(), adaptive_avgpool_backward, dy, x_shape);
}

// A per-channel vector [C] of a batch norm: float32, shape [C], on x's device.
static void check_channel_vec(const Tensor& t, const Tensor& x, const char* op, const char* name) {
  check_f32(t, op, name);
  check_shape(t, Shape{x.dim(1)}, op, name);
  check_same_device(x, t, op);
}

static void check_bn_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                             const Tensor& running_var, const BatchNormParams& p, const char* op) {
  check_4d(x, op, "x");
  check_channel_vec(gamma, x, op, "gamma");
  check_channel_vec(beta, x, op, "beta");
  check_channel_vec(running_mean, x, op, "running_mean");
  check_channel_vec(running_var, x, op, "running_var");
  LPL_CHECK(p.eps > 0 && std::isfinite(p.eps), fmt::format("{}: eps {} must be positive and finite", op, p.eps));
}

Tensor batch_norm_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                                Tensor& running_var, const BatchNormParams& p, BatchNormSaved* saved) {
  const char* op = "batch_norm_train_forward";
  check_bn_forward(x, gamma, beta, running_mean, running_var, p, op);
  LPL_CHECK(p.momentum >= 0 && p.momentum <= 1, fmt::format("{}: momentum {} must be in [0, 1]", op, p.momentum));
  const int64_t per_channel = x.dim(0) * x.dim(2) * x.dim(3);
  LPL_CHECK(per_channel >= 2, fmt::format("{}: x {} has {} value per channel; training needs at least 2", op,
                                          x.shape().str(), per_channel));
  LPL_DISPATCH(x.device(), batch_norm_train_forward, x, gamma, beta, running_mean, running_var, p, saved);
}

Tensor batch_norm_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                               const Tensor& running_var, const BatchNormParams& p) {
  const char* op = "batch_norm_eval_forward";
  check_bn_forward(x, gamma, beta, running_mean, running_var, p, op);
  LPL_DISPATCH(x.device(), batch_norm_eval_forward, x, gamma, beta, running_mean, running_var, p);
}

Tensor batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const BatchNormSaved& saved,
                           Tensor& dgamma, Tensor& dbeta) {
  const char* op = "batch_norm_backward";
  check_4d(dy, op, "dy");
  check_f32(x, op, "x");
  check_shape(x, dy.shape(), op, "x");
  check_same_device(dy, x, op);
  check_channel_vec(gamma, x, op, "gamma");
  check_channel_vec(saved.mean, x, op, "saved.mean");
  check_channel_vec(saved.invstd, x, op, "saved.invstd");
  check_channel_vec(dgamma, x, op, "dgamma");
  check_channel_vec(dbeta, x, op, "dbeta");
  LPL_DISPATCH(x.device(), batch_norm_backward, dy, x, gamma, saved, dgamma, dbeta);
}

Tensor add(const Tensor& a, const Tensor& b) {
  check_f32(a, "add", "a");
  check_f32(b, "add", "b");
  check_shape(b, a.shape(), "add", "b");
  check_same_device(a, b, "add");
  LPL_DISPATCH(a.device(), add, a, b);
}

static void check_dropout_p(float p, const char* op) {
  LPL_CHECK(p >= 0.f && p < 1.f, fmt::format("{}: p must be in [0, 1), got {}", op, p));
}

Tensor dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t stream) {
  check_f32(x, "dropout_forward", "x");
  check_dropout_p(p, "dropout_forward");
  LPL_DISPATCH(x.device(), dropout_forward, x, p, seed, stream);
}

Tensor dropout_backward(const Tensor& dy, float p, uint64_t seed, uint64_t stream) {
  check_f32(dy, "dropout_backward", "dy");
  check_dropout_p(p, "dropout_backward");
  LPL_DISPATCH(dy.device(), dropout_backward, dy, p, seed, stream);
}

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  check_2d(x, "linear_forward", "x");
  check_2d(w, "linear_forward", "w");
  check_same_device(x, w, "linear_forward");
  LPL_CHECK(x.dim(1) == w.dim(1), fmt::format("linear_forward: input {} does not match weight {}",
                                              x.shape().str(), w.shape().str()));
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (b.defined()) check_shape(b, Shape{out}, "linear_forward", "bias");
  Tensor y = Tensor::empty({n, out}, x.device());
  if (precision() == Precision::bf16 && n > 1) {  // centred on the batch mean, as conv2d_forward
    const Tensor mean = batch_mean(x);
    layer_gemm("linear_forward", false, true, n, out, in, to_bf16_centred(x, mean), in, w, in, y);
    Tensor y_mean = Tensor::empty({1, out}, x.device());  // float32
    gemm(x.device(), false, true, 1, out, in, 1.f, mean.f(), in, w.f(), in, 0.f, y_mean.f(), out);
    if (b.defined()) add_row_bias_op(y_mean, b);
    add_row_bias_op(y, y_mean.reshape({out}));
    return y;
  }
  layer_gemm("linear_forward", false, true, n, out, in, x, in, w, in, y);
  if (b.defined()) add_row_bias_op(y, b);
  return y;
}

LinearGrads linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, bool need_dx, bool has_bias) {
  check_2d(x, "linear_backward", "x");
  check_2d(w, "linear_backward", "w");
  check_2d(dy, "linear_backward", "dy");
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  check_shape(dy, Shape{n, out}, "linear_backward", "dy");
  LinearGrads g;
  g.dw = Tensor::empty({out, in}, x.device());
  const bool bf16 = precision() == Precision::bf16;
  const Tensor dy_in = bf16 ? to_bf16(dy) : dy;  // one copy for both GEMMs
  // Centred as conv2d_backward_filter: dy^T (x - m) in bf16 + (sum of dy)^T m in float32.
  const bool centred = bf16 && n > 1;
  Tensor dy_sum;  // the sum of dy over the batch: the bias gradient, and the centred gradient's float32 term
  if (has_bias || centred) {
    dy_sum = Tensor::empty({out}, x.device());
    column_sum_op(dy, dy_sum, false);
  }
  if (centred) {
    const Tensor mean = batch_mean(x);
    layer_gemm("linear_backward", true, false, out, in, n, dy_in, out, to_bf16_centred(x, mean), in, g.dw);
    gemm(x.device(), true, false, out, in, 1, 1.f, dy_sum.f(), out, mean.f(), in, 1.f, g.dw.f(), in);
  } else {
    layer_gemm("linear_backward", true, false, out, in, n, dy_in, out, x, in, g.dw);
  }
  if (has_bias) g.db = dy_sum;
  if (need_dx) {
    g.dx = Tensor::empty({n, in}, x.device());
    layer_gemm("linear_backward", false, false, n, in, out, dy_in, out, w, in, g.dx);
  }
  return g;
}

CrossEntropyResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  check_2d(logits, "softmax_cross_entropy", "logits");
  LPL_CHECK(labels.dtype() == DType::I32 && labels.ndim() == 1 && labels.dim(0) == logits.dim(0),
            fmt::format("softmax_cross_entropy: labels must be int32 [{}], got {} {}", logits.dim(0),
                        dtype_name(labels.dtype()), labels.shape().str()));
  check_same_device(logits, labels, "softmax_cross_entropy");
  LPL_CHECK(logits.dim(0) > 0, "softmax_cross_entropy: empty batch");
  LPL_CHECK(logits.dim(1) > 0, "softmax_cross_entropy: logits have no classes");
  // Range-check the labels on the host (one small copy; the loss is read back anyway).
  std::vector<int32_t> lab(static_cast<size_t>(labels.numel()));
  read_to_host(lab.data(), labels.data<int32_t>(), labels.device(), lab.size() * sizeof(int32_t));
  for (size_t i = 0; i < lab.size(); ++i)
    LPL_CHECK(lab[i] >= 0 && lab[i] < logits.dim(1),
              fmt::format("softmax_cross_entropy: label {} at row {} is out of range [0, {})", lab[i], i,
                          logits.dim(1)));
  LPL_DISPATCH(logits.device(), softmax_cross_entropy, logits, labels);
}

namespace {
void check_f64_slot(const Tensor& out, int64_t slot, const Tensor& x, const char* op) {
  LPL_CHECK(out.defined() && out.dtype() == DType::I64 && out.ndim() == 1 && slot >= 0 && slot < out.dim(0),
            fmt::format("{}: out must be a 1-d float64 (int64-typed) buffer with room for slot {}", op, slot));
  check_same_device(x, out, op);
}
}  // namespace

Tensor softmax_cross_entropy_into(const Tensor& logits, const Tensor& labels, Tensor& out, int64_t slot) {
  check_2d(logits, "softmax_cross_entropy_into", "logits");
  LPL_CHECK(labels.dtype() == DType::I32 && labels.ndim() == 1 && labels.dim(0) == logits.dim(0),
            fmt::format("softmax_cross_entropy_into: labels must be int32 [{}], got {} {}", logits.dim(0),
                        dtype_name(labels.dtype()), labels.shape().str()));
  check_same_device(logits, labels, "softmax_cross_entropy_into");
  check_f64_slot(out, slot, logits, "softmax_cross_entropy_into");
  LPL_CHECK(logits.dim(0) > 0, "softmax_cross_entropy_into: empty batch");
  LPL_CHECK(logits.dim(1) > 0, "softmax_cross_entropy_into: logits have no classes");
  LPL_DISPATCH(logits.device(), softmax_cross_entropy_into, logits, labels, out, slot);
}

ColumnStats column_mean_var(const Tensor& z) {
  check_2d(z, "column_mean_var", "z");
  LPL_CHECK(z.dim(0) >= 2, fmt::format("column_mean_var: need at least 2 rows for an unbiased variance, got {}", z.dim(0)));
  LPL_DISPATCH(z.device(), column_mean_var, z);
}

Tensor gram(const Tensor& z, float alpha) {
  check_2d(z, "gram", "z");
  const int64_t b = z.dim(0), m = z.dim(1);
  Tensor g = Tensor::empty({m, m}, z.device());
  gemm(z.device(), true, false, m, m, b, alpha, z.f(), m, z.f(), m, 0.f, g.f(), m);
  return g;
}

void axpy(float a, const Tensor& x, Tensor& y) {
  check_f32(x, "axpy", "x");
  check_shape(y, x.shape(), "axpy", "y");
  check_same_device(x, y, "axpy");
  LPL_DISPATCH(x.device(), axpy, a, x, y);
}

double sum_all(const Tensor& x) {
  check_f32(x, "sum_all", "x");
  LPL_DISPATCH(x.device(), sum_all, x);
}

void count_nonfinite(const Tensor& x, Tensor& out, int64_t slot) {
  check_f32(x, "count_nonfinite", "x");
  check_f64_slot(out, slot, x, "count_nonfinite");
  LPL_DISPATCH(x.device(), count_nonfinite, x, out, slot);
}

bool all_finite(const Tensor& x) {
  check_f32(x, "all_finite", "x");
  LPL_DISPATCH(x.device(), all_finite, x);
}

void column_sum_op(const Tensor& x, Tensor& out, bool accumulate) {
  check_2d(x, "column_sum", "x");
  check_shape(out, Shape{x.dim(1)}, "column_sum", "out");
  LPL_DISPATCH(x.device(), column_sum, x, out, accumulate);
}

void add_row_bias_op(Tensor& y, const Tensor& b, bool relu) {
  check_2d(y, "add_row_bias", "y");
  check_shape(b, Shape{y.dim(1)}, "add_row_bias", "b");
  LPL_DISPATCH(y.device(), add_row_bias, y, b, relu);
}

}  // namespace lpl
