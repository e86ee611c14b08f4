// CPU convolution for builds without oneDNN (the CUDA-only GPU-check configuration): direct loops
// with float64 sums, so the CPU tests and the CPU-vs-CUDA comparisons still have a CPU side there.
// Normal builds use oneDNN (kernels/conv2d_dnnl.cpp).
#if !LPL_HAVE_DNNL
#include "engine/parallel.h"
#include "kernels/backend.h"
#include "kernels/bias.h"
#include "kernels/launch.h"

namespace lpl::cpu_backend {
namespace {

struct Geom {
  int64_t n, ci, h, w, co, kh, kw, oh, ow;
  int sh, sw, ph, pw;
  Geom(const Shape& x, const Shape& wt, const Conv2dParams& p)
      : n(x[0]), ci(x[1]), h(x[2]), w(x[3]), co(wt[0]), kh(wt[2]), kw(wt[3]),
        oh((x[2] + 2 * p.pad_h - wt[2]) / p.stride_h + 1), ow((x[3] + 2 * p.pad_w - wt[3]) / p.stride_w + 1),
        sh(p.stride_h), sw(p.stride_w), ph(p.pad_h), pw(p.pad_w) {}
};

}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  const Geom g(x.shape(), w.shape(), p);
  Tensor y = Tensor::empty({g.n, g.co, g.oh, g.ow}, x.device());
  const float *xp = x.f(), *wp = w.f(), *bp = b.defined() ? b.f() : nullptr;
  float* yp = y.f();
  cpu_for(
      g.n * g.co,
      [&](int64_t plane) {
        const int64_t n = plane / g.co, o = plane % g.co;
        for (int64_t i = 0; i < g.oh; ++i)
          for (int64_t j = 0; j < g.ow; ++j) {
            double s = bp ? bp[o] : 0.0;
            for (int64_t c = 0; c < g.ci; ++c)
              for (int64_t u = 0; u < g.kh; ++u) {
                const int64_t hh = i * g.sh - g.ph + u;
                if (hh < 0 || hh >= g.h) continue;
                for (int64_t v = 0; v < g.kw; ++v) {
                  const int64_t ww = j * g.sw - g.pw + v;
                  if (ww < 0 || ww >= g.w) continue;
                  s += double(xp[((n * g.ci + c) * g.h + hh) * g.w + ww]) * wp[((o * g.ci + c) * g.kh + u) * g.kw + v];
                }
              }
            yp[(plane * g.oh + i) * g.ow + j] = static_cast<float>(s);
          }
      },
      g.oh * g.ow * g.ci * g.kh * g.kw);
  return y;
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db, const Conv2dParams& p,
                            bool accumulate) {
  const Geom g(x.shape(), dw.shape(), p);
  const float *xp = x.f(), *gp = dy.f();
  float* dwp = dw.f();
  cpu_for(
      g.co * g.ci,
      [&](int64_t oc) {
        const int64_t o = oc / g.ci, c = oc % g.ci;
        for (int64_t u = 0; u < g.kh; ++u)
          for (int64_t v = 0; v < g.kw; ++v) {
            double s = 0;
            for (int64_t n = 0; n < g.n; ++n)
              for (int64_t i = 0; i < g.oh; ++i) {
                const int64_t hh = i * g.sh - g.ph + u;
                if (hh < 0 || hh >= g.h) continue;
                for (int64_t j = 0; j < g.ow; ++j) {
                  const int64_t ww = j * g.sw - g.pw + v;
                  if (ww < 0 || ww >= g.w) continue;
                  s += double(gp[((n * g.co + o) * g.oh + i) * g.ow + j]) * xp[((n * g.ci + c) * g.h + hh) * g.w + ww];
                }
              }
            float& out = dwp[(oc * g.kh + u) * g.kw + v];
            out = static_cast<float>(accumulate ? out + s : s);
          }
      },
      g.kh * g.kw * g.n * g.oh * g.ow);
  if (db) kern::bias_backward(CpuLaunch{}, dy, *db, accumulate);
}

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  const Geom g(x_shape, w.shape(), p);
  Tensor dx = Tensor::empty(x_shape, dy.device());
  const float *gp = dy.f(), *wp = w.f();
  float* dxp = dx.f();
  cpu_for(
      g.n * g.ci,
      [&](int64_t plane) {
        const int64_t n = plane / g.ci, c = plane % g.ci;
        for (int64_t hh = 0; hh < g.h; ++hh)
          for (int64_t ww = 0; ww < g.w; ++ww) {
            // Gather from every output (i, j) whose window tap (u, v) lands on (hh, ww).
            double s = 0;
            for (int64_t u = 0; u < g.kh; ++u) {
              const int64_t ti = hh + g.ph - u;
              if (ti < 0 || ti % g.sh != 0 || ti / g.sh >= g.oh) continue;
              for (int64_t v = 0; v < g.kw; ++v) {
                const int64_t tj = ww + g.pw - v;
                if (tj < 0 || tj % g.sw != 0 || tj / g.sw >= g.ow) continue;
                for (int64_t o = 0; o < g.co; ++o)
                  s += double(gp[((n * g.co + o) * g.oh + ti / g.sh) * g.ow + tj / g.sw]) *
                       wp[((o * g.ci + c) * g.kh + u) * g.kw + v];
              }
            }
            dxp[(plane * g.h + hh) * g.w + ww] = static_cast<float>(s);
          }
      },
      g.h * g.w * g.co * g.kh * g.kw);
  return dx;
}

}  // namespace lpl::cpu_backend
#endif
