// Argument checks of the LPL ops, then dispatch by device (as engine/ops.cpp does for the others).
#include "engine/lpl_ops.h"

#include <fmt/format.h>

#include <cstring>

#include "kernels/lpl_backend.h"

namespace lpl {

#if LPL_HAVE_CUDA
#define LPL_LPL_DISPATCH(dev, fn, ...)                         \
  do {                                                         \
    if ((dev).is_cuda()) return cuda_backend::fn(__VA_ARGS__); \
    return cpu_backend::fn(__VA_ARGS__);                       \
  } while (0)
#else
#define LPL_LPL_DISPATCH(dev, fn, ...)                                                                \
  do {                                                                                                \
    if ((dev).is_cuda()) fail(#fn ": tensor is on a CUDA device but this build has no CUDA backend"); \
    return cpu_backend::fn(__VA_ARGS__);                                                              \
  } while (0)
#endif

void lpl_objective(const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot, const LplObjectiveArgs& a) {
  const char* op = "lpl_objective";
  check_f32(z, op, "z");
  if (a.no_pooling)
    LPL_CHECK(z.ndim() == 4, fmt::format("{}: with no_pooling z must be the block output [2B, C, H, W], got {}", op,
                                         z.shape().str()));
  else
    LPL_CHECK(z.ndim() == 2, fmt::format("{}: z must be [2B, M] (two views stacked), got {}", op, z.shape().str()));
  LPL_CHECK(z.dim(0) % 2 == 0 && z.dim(0) >= 4,
            fmt::format("{}: z needs two views of at least 2 samples each (2B rows, B >= 2), got {} rows", op,
                        z.dim(0)));
  check_shape(dz, z.shape(), op, "dz");
  check_same_device(z, dz, op);
  LPL_CHECK(terms.dtype() == DType::I64 && terms.ndim() == 1 && terms.dim(0) >= 3 * (slot + 1) && slot >= 0,
            fmt::format("{}: terms must be a buffer from lpl_terms_buffer with room for slot {}", op, slot));
  check_same_device(z, terms, op);
  const int64_t B = z.dim(0) / 2, M = z.numel() / z.dim(0);
  if (a.positive_perm) {
    const Tensor& p = *a.positive_perm;
    LPL_CHECK(p.dtype() == DType::I32 && p.ndim() == 1 && p.dim(0) == B,
              fmt::format("{}: positive_perm must be int32 [{}], got {} {}", op, B, dtype_name(p.dtype()),
                          p.shape().str()));
    check_same_device(z, p, op);
  }
  LPL_CHECK((a.stale_mean == nullptr) == (a.stale_var == nullptr), fmt::format("{}: stale mean and variance go together", op));
  if (a.stale_mean) {
    LPL_CHECK(!a.no_pooling, fmt::format("{}: stale estimates are not supported with no_pooling", op));
    check_shape(*a.stale_mean, Shape{M}, op, "stale_mean");
    check_shape(*a.stale_var, Shape{M}, op, "stale_var");
    check_same_device(z, *a.stale_mean, op);
    check_same_device(z, *a.stale_var, op);
  }
  if (a.negative_samples)
    LPL_CHECK(!a.no_pooling && !a.stale_mean,
              fmt::format("{}: the negative-sample objective takes pooled z [2B, M] and no stale estimates", op));
  LPL_LPL_DISPATCH(z.device(), lpl_objective, z, dz, terms, slot, a);
}

Tensor lpl_terms_buffer(Device d, int64_t n_layers) {
  Tensor t = Tensor::zeros({3 * n_layers}, d, DType::I64);
  return t;
}

std::vector<LplTerms> lpl_terms_read(const Tensor& terms) {
  LPL_CHECK(terms.dtype() == DType::I64 && terms.ndim() == 1 && terms.dim(0) % 3 == 0,
            "lpl_terms_read: not a buffer from lpl_terms_buffer");
  std::vector<double> h(static_cast<size_t>(terms.numel()));
  read_to_host(h.data(), terms.data<void>(), terms.device(), h.size() * sizeof(double));
  std::vector<LplTerms> out(h.size() / 3);
  for (size_t i = 0; i < out.size(); ++i) out[i] = {h[3 * i], h[3 * i + 1], h[3 * i + 2]};
  return out;
}

bool lpl_block_delta_fits(const Pool2dParams* p) {
  return !p || (p->kernel_h == 2 && p->kernel_w == 2 && p->stride_h == 2 && p->stride_w == 2 && p->pad_h == 0 &&
                p->pad_w == 0);
}

Tensor lpl_block_delta(const Tensor& g, const Tensor& a, const Tensor& argmax, const Pool2dParams* pool, bool pooled) {
  const char* op = "lpl_block_delta";
  LPL_CHECK(lpl_block_delta_fits(pool),
            fmt::format("{}: the fused block delta handles a 2x2 stride-2 max-pool without padding only, got kernel {}x{} "
                        "stride {}x{} padding {}x{} (use maxpool2d_backward)", op, pool ? pool->kernel_h : 0,
                        pool ? pool->kernel_w : 0, pool ? pool->stride_h : 0, pool ? pool->stride_w : 0,
                        pool ? pool->pad_h : 0, pool ? pool->pad_w : 0));
  LPL_CHECK((pool != nullptr) == argmax.defined(),
            fmt::format("{}: the pool's parameters and its argmax come together (got {} without {})", op,
                        pool ? "a pool" : "an argmax", pool ? "an argmax" : "a pool"));
  check_f32(g, op, "g");
  check_f32(a, op, "a");
  LPL_CHECK(a.ndim() == 4, fmt::format("{}: a must be the ReLU output [N, C, H, W], got {}", op, a.shape().str()));
  check_same_device(g, a, op);
  Shape out = a.shape();
  if (argmax.defined()) {
    LPL_CHECK(argmax.dtype() == DType::I32 && argmax.ndim() == 4 && argmax.dim(0) == a.dim(0) &&
                  argmax.dim(1) == a.dim(1) && argmax.dim(2) == a.dim(2) / 2 && argmax.dim(3) == a.dim(3) / 2,
              fmt::format("{}: argmax must be int32 [N, C, H/2, W/2] of a 2x2 stride-2 pool of {}, got {}", op,
                          a.shape().str(), argmax.shape().str()));
    check_same_device(a, argmax, op);
    out = argmax.shape();
  }
  if (pooled)
    check_shape(g, Shape{a.dim(0), a.dim(1)}, op, "g");
  else
    check_shape(g, out, op, "g");
  LPL_LPL_DISPATCH(a.device(), lpl_block_delta, g, a, argmax, pooled);
}

void relu_inplace(Tensor& y) {
  check_f32(y, "relu_inplace", "y");
  LPL_LPL_DISPATCH(y.device(), relu_inplace, y);
}

void relu_mask_inplace(Tensor& d, const Tensor& y) {
  check_f32(d, "relu_mask_inplace", "d");
  check_shape(y, d.shape(), "relu_mask_inplace", "y");
  check_same_device(d, y, "relu_mask_inplace");
  LPL_LPL_DISPATCH(d.device(), relu_mask_inplace, d, y);
}

}  // namespace lpl

namespace lpl {

void adam_update(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamHyper& h) {
  check_f32(w, "adam_update", "w");
  check_shape(g, w.shape(), "adam_update", "grad");
  check_shape(m, w.shape(), "adam_update", "m");
  check_shape(v, w.shape(), "adam_update", "v");
  check_same_device(w, g, "adam_update");
  LPL_CHECK(h.step >= 1, "adam_update: step counts from 1");
  LPL_LPL_DISPATCH(w.device(), adam_update, w, g, m, v, h);
}

void sgd_update(Tensor& w, const Tensor& g, Tensor& buf, float lr, float momentum, float weight_decay, bool first) {
  check_f32(w, "sgd_update", "w");
  check_shape(g, w.shape(), "sgd_update", "grad");
  check_shape(buf, w.shape(), "sgd_update", "momentum buffer");
  check_same_device(w, g, "sgd_update");
  LPL_LPL_DISPATCH(w.device(), sgd_update, w, g, buf, lr, momentum, weight_decay, first);
}

}  // namespace lpl
