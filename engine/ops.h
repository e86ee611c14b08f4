// The operator set. Each op picks its backend from its tensors' device (CPU: oneDNN + OpenMP,
// CUDA: cuDNN/cuBLAS + our kernels); CPU and CUDA implementations live side by side in kernels/.
// All tensors are float32 NCHW unless said otherwise; outputs are allocated on the inputs' device.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace lpl {

class Communicator;  // engine/comm.h

// ---- Math mode ---------------------------------------------------------------------------------
// Allows TF32 tensor-core math in cuDNN convolutions and cuBLAS GEMMs (default off: full float32,
// as the original computes). Takes effect from the next op; no effect on the CPU.
void set_allow_tf32(bool allow);
bool allow_tf32();
// Allows Winograd F(4x4, 3x3) in the CPU's float32 convolutions where it is faster (kernels/conv2d_dnnl.cpp
// says where). Default off: the direct sum, whose results do not depend on the batch a sample is in
// (evaluation and features); training turns it on (train_vgg11, bench_ops). LPL_NO_WINOGRAD=1 keeps
// it off whatever is asked.
void set_allow_winograd(bool allow);
bool allow_winograd();
// Precision of the convolutions and GEMMs of layers (--precision): fp32 (the default, as the
// original), or bf16: convolutions and linear layers read bfloat16 copies of their inputs and weights
// and accumulate and write float32 (tensors stay float32; the LPL objective, its statistics and the
// optimiser are untouched). CPU: oneDNN's bf16 primitives; GPU: cuDNN / cuBLAS on the tensor cores.
// Takes effect from the next op. set_precision(bf16, d) refuses a device that cannot: a CPU without
// AVX512-BF16 / AMX-BF16 (cpu_has_bf16()) or oneDNN, a GPU older than compute capability 8.0.
enum class Precision { fp32, bf16 };
void set_precision(Precision p, Device d = cpu());
Precision precision();
const char* precision_name(Precision p);
Precision parse_precision(const std::string& s);  // "fp32" | "bf16", else a clear error
// Whether this CPU has the bf16 dot-product instructions oneDNN's bf16 kernels need (AVX512-BF16 or
// AMX-BF16). LPL_NO_BF16=1 in the environment makes it answer false (tests of the refusal).
bool cpu_has_bf16();

// ---- GEMM: C = alpha * op(A) op(B) + beta * C, row-major, op = transpose when t* is true --------
void gemm(Device d, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// ---- bfloat16 copies (round to nearest even; kernels/convert.h) ---------------------------------
Tensor to_bf16(const Tensor& x);  // float32 -> bfloat16 (DType::BF16), same shape and device
Tensor to_f32(const Tensor& x);   // bfloat16 -> float32
// The batch mean of x [N, ...] (shape [1, ...]) and bf16(x[n] - mean) (DType::BF16, x's shape): what
// --precision bf16 convolutions and linear layers read (conv2d_forward says why).
Tensor batch_mean(const Tensor& x);
Tensor to_bf16_centred(const Tensor& x, const Tensor& mean);

// ---- Convolution (cross-correlation, as PyTorch) ------------------------------------------------
struct Conv2dParams {
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};
// x [N, Ci, H, W], w [Co, Ci, KH, KW], b [Co] or undefined -> y [N, Co, OH, OW].
// --precision bf16 (N > 1): y = W * bf16(x - m) + W * m with m the batch mean of x, the second term in
// float32 (one image). Rounding keeps ~3 significant digits of each value, but LPL's objective lives
// on how features vary over the batch (z - mean, variances, covariances), at initialisation a small
// fraction of their size in deep layers: rounding x whole put layers 4-8's gradients 11-26 % off
// float32's; rounding x - m, 3-8 %, as much as rounding the input images alone does
// (tests/lpl/test_bf16_step.cpp). Same for linear_forward.
Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p);
// What a --precision bf16 forward read of x: its batch mean and bf16(x - mean). A caller that computes
// the weight gradient of the same, unchanged x later (a layer-local block) keeps it from the forward
// and hands it over, so the gradient does not compute both again. Both undefined where the forward
// did not centre (float32, or N == 1); the gradient then computes what it needs.
struct CentredBf16 {
  Tensor mean, centred;
};
// A layer-local block's max(conv2d_forward(x, w, b, p), 0), filling *keep (when not null) as above:
// in bf16 the ReLU rides on the pass that adds the mean term, in float32 it is a pass of its own.
Tensor conv2d_relu_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                           CentredBf16* keep = nullptr);
// dW (and db when db is defined) from input x and output gradient dy; accumulate adds into dW/db.
// --precision bf16 (N > 1), centred as the forward: sum_n dy[n] * bf16(x[n] - m) + (sum_n dy[n]) * m,
// the second term in float32; from_forward (may be null) is what the forward of this x kept.
void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db,
                            const Conv2dParams& p, bool accumulate = false, const CentredBf16* from_forward = nullptr);
// dX from dy and w; x_shape is the forward input's shape.
Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape,
                            const Conv2dParams& p);
// db[c] = sum over n, h, w of dy (accumulate adds into db).
void bias_backward(const Tensor& dy, Tensor& db, bool accumulate = false);

// ---- Activations and pooling --------------------------------------------------------------------
Tensor relu_forward(const Tensor& x);
// dx = dy where y > 0 (y is the ReLU output).
Tensor relu_backward(const Tensor& dy, const Tensor& y);

struct Pool2dParams {
  int kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
};
// y and the flat (h * W + w) arg-max of each window (int32, same shape as y).
struct MaxPoolResult {
  Tensor y, argmax;
};
MaxPoolResult maxpool2d_forward(const Tensor& x, const Pool2dParams& p);
// Routes dy to the arg-max of each window (windows may overlap: contributions add). p must be the
// forward's parameters: the backward is a deterministic gather over the windows covering each input.
Tensor maxpool2d_backward(const Tensor& dy, const Tensor& argmax, const Shape& x_shape, const Pool2dParams& p);

// [N, C, H, W] -> [N, C]
Tensor global_avgpool_forward(const Tensor& x);
Tensor global_avgpool_backward(const Tensor& dy, const Shape& x_shape);
// [N, C, H, W] -> [N, C, OH, OW] with PyTorch's adaptive windows.
Tensor adaptive_avgpool_forward(const Tensor& x, int out_h, int out_w);
Tensor adaptive_avgpool_backward(const Tensor& dy, const Shape& x_shape);

// ---- Batch norm over (N, H, W) per channel, as torch.nn.BatchNorm2d ----------------------------------
struct BatchNormParams {
  float eps = 1e-5f, momentum = 0.1f;
  // Data parallelism: x is this rank's shard (equal shards); the batch statistics and the backward's
  // means are the ranks' global batch's (all-reduced). The gamma / beta gradients stay this rank's
  // share (the step sums them over the ranks with the other gradients). Null: this batch only.
  Communicator* comm = nullptr;
};
// What the training-mode backward needs: the batch mean and 1 / sqrt(biased variance + eps), [C].
struct BatchNormSaved {
  Tensor mean, invstd;
  Communicator* comm = nullptr;  // the forward's BatchNormParams::comm: the backward's means are global too
};
// Training mode: normalises x [N, C, H, W] with its batch statistics, y = xhat * gamma + beta, and
// updates running_mean / running_var [C] in place: r = (1 - momentum) r + momentum * s, with the
// unbiased variance (N H W - 1 divisor) for running_var, as PyTorch. saved (may be null) gets the
// statistics for the backward.
Tensor batch_norm_train_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                                Tensor& running_var, const BatchNormParams& p, BatchNormSaved* saved);
// Evaluation mode: the running statistics, nothing updated.
Tensor batch_norm_eval_forward(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                               const Tensor& running_var, const BatchNormParams& p);
// Training-mode backward (through the batch statistics): returns dx; adds (+=) into dgamma, dbeta [C].
Tensor batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& gamma, const BatchNormSaved& saved,
                           Tensor& dgamma, Tensor& dbeta);

// ---- Elementwise ------------------------------------------------------------------------------------
// a + b (same shapes)
Tensor add(const Tensor& a, const Tensor& b);

// ---- Dropout (inverted, as torch.nn.Dropout in training mode) ---------------------------------------
// Element i is kept, scaled by 1 / (1 - p), when CounterRng{seed, stream}'s draw for index i (block
// i / 4, lane i % 4) is >= p; otherwise 0. p in [0, 1). The mask is a pure function of (seed, stream, i):
// the backward recomputes it, nothing is stored, and CPU and CUDA agree bit for bit.
Tensor dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t stream);
Tensor dropout_backward(const Tensor& dy, float p, uint64_t seed, uint64_t stream);

// ---- Linear: y = x W^T + b, x [N, I], W [O, I], b [O] ----------------------------------------------
Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b);
struct LinearGrads {
  Tensor dx, dw, db;
};
// dx is computed only when need_dx.
LinearGrads linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, bool need_dx, bool has_bias);

// ---- Softmax cross-entropy with int32 labels; mean over the batch ----------------------------------
struct CrossEntropyResult {
  float loss = 0;
  Tensor dlogits;  // d(mean loss)/d logits
};
CrossEntropyResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels);
// The same without waiting for the device: the mean loss is written as float64 (rounded through
// float32, as .loss) into out[slot] (out: a float64 buffer stored as int64, e.g. LplStep's terms) and
// dlogits returned. Labels are not range-checked on the host (check them where the batch is made);
// an out-of-range label gives a NaN loss and a zero gradient row, never a stray memory access.
Tensor softmax_cross_entropy_into(const Tensor& logits, const Tensor& labels, Tensor& out, int64_t slot);

// ---- Reductions for the LPL objective (z is [B, M]) ------------------------------------------------
// Column mean [M] and unbiased variance [M] (divide by B - 1).
struct ColumnStats {
  Tensor mean, var;
};
ColumnStats column_mean_var(const Tensor& z);
// Gram matrix z^T z [M, M] (scaled by alpha).
Tensor gram(const Tensor& z, float alpha = 1.0f);

// ---- Small helpers ----------------------------------------------------------------------------------
// y = a * x + y (same shapes)
void axpy(float a, const Tensor& x, Tensor& y);
// Sum of all elements (float64 accumulation), returned to the host.
double sum_all(const Tensor& x);
// True when every element is finite.
bool all_finite(const Tensor& x);
// out[slot] += the number of non-finite values of x, on x's device (out: a float64 buffer stored as
// int64): many tensors' checks come back in one read.
void count_nonfinite(const Tensor& x, Tensor& out, int64_t slot);
// out[j] (+)= sum_i x[i, j] for x [R, C]; y[i, j] += b[j] for y [R, C] (then ReLU when relu).
void column_sum_op(const Tensor& x, Tensor& out, bool accumulate);
void add_row_bias_op(Tensor& y, const Tensor& b, bool relu = false);

}  // namespace lpl
