// CPU convolution for builds without oneDNN (the CUDA-only GPU-check configuration): plain loops,
// so the CPU side of the conv tests still runs there. Normal builds use kernels/conv2d_dnnl.cpp.
// Each parallel task owns whole output planes (or filter slices): no atomics, deterministic.
#if !LPL_HAVE_DNNL
#include "engine/parallel.h"
#include "kernels/backend.h"

namespace lpl::cpu_backend {
namespace {

struct Geom {
  int64_t N, Ci, H, W, Co, KH, KW, OH, OW;
  int sh, sw, ph, pw;
};

Geom geom(const Shape& x, const Shape& w, const Conv2dParams& p) {
  Geom g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], 0, 0, p.stride_h, p.stride_w, p.pad_h, p.pad_w};
  g.OH = (g.H + 2 * g.ph - g.KH) / g.sh + 1;
  g.OW = (g.W + 2 * g.pw - g.KW) / g.sw + 1;
  return g;
}

// Output positions oh whose input row oh*s - p + k lies inside [0, in).
void valid_range(int64_t k, int64_t in, int64_t out, int s, int p, int64_t& lo, int64_t& hi) {
  lo = 0;
  while (lo < out && lo * s - p + k < 0) ++lo;
  hi = out;
  while (hi > lo && (hi - 1) * s - p + k >= in) --hi;
}

}  // namespace

Tensor conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  const Geom g = geom(x.shape(), w.shape(), p);
  Tensor y = Tensor::empty({g.N, g.Co, g.OH, g.OW}, x.device());
  const float *xp = x.f(), *wp = w.f(), *bp = b.defined() ? b.f() : nullptr;
  float* yp = y.f();
  cpu_for(
      g.N * g.Co,
      [&](int64_t nc) {
        const int64_t n = nc / g.Co, co = nc % g.Co;
        float* yo = yp + nc * g.OH * g.OW;
        for (int64_t i = 0; i < g.OH * g.OW; ++i) yo[i] = bp ? bp[co] : 0.f;
        for (int64_t ci = 0; ci < g.Ci; ++ci)
          for (int64_t kh = 0; kh < g.KH; ++kh) {
            int64_t oh0, oh1;
            valid_range(kh, g.H, g.OH, g.sh, g.ph, oh0, oh1);
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              int64_t ow0, ow1;
              valid_range(kw, g.W, g.OW, g.sw, g.pw, ow0, ow1);
              const float wv = wp[((co * g.Ci + ci) * g.KH + kh) * g.KW + kw];
              const float* xc = xp + (n * g.Ci + ci) * g.H * g.W;
              for (int64_t oh = oh0; oh < oh1; ++oh) {
                const int64_t base = (oh * g.sh - g.ph + kh) * g.W - g.pw + kw;
                for (int64_t ow = ow0; ow < ow1; ++ow) yo[oh * g.OW + ow] += wv * xc[base + ow * g.sw];
              }
            }
          }
      },
      g.Ci * g.KH * g.KW * g.OH * g.OW);
  return y;
}

void conv2d_backward_filter(const Tensor& x, const Tensor& dy, Tensor& dw, Tensor* db, const Conv2dParams& p,
                            bool accumulate) {
  const Geom g = geom(x.shape(), dw.shape(), p);
  const float *xp = x.f(), *dyp = dy.f();
  float* dwp = dw.f();
  cpu_for(
      g.Co * g.Ci,
      [&](int64_t oc) {
        const int64_t co = oc / g.Ci, ci = oc % g.Ci;
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          int64_t oh0, oh1;
          valid_range(kh, g.H, g.OH, g.sh, g.ph, oh0, oh1);
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            int64_t ow0, ow1;
            valid_range(kw, g.W, g.OW, g.sw, g.pw, ow0, ow1);
            double s = 0;
            for (int64_t n = 0; n < g.N; ++n) {
              const float* xc = xp + (n * g.Ci + ci) * g.H * g.W;
              const float* dyc = dyp + (n * g.Co + co) * g.OH * g.OW;
              for (int64_t oh = oh0; oh < oh1; ++oh) {
                const int64_t base = (oh * g.sh - g.ph + kh) * g.W - g.pw + kw;
                for (int64_t ow = ow0; ow < ow1; ++ow) s += double(dyc[oh * g.OW + ow]) * xc[base + ow * g.sw];
              }
            }
            float& out = dwp[oc * g.KH * g.KW + kh * g.KW + kw];
            out = static_cast<float>(accumulate ? out + s : s);
          }
        }
      },
      g.N * g.KH * g.KW * g.OH * g.OW);
  if (db) cpu_backend::bias_backward(dy, *db, accumulate);  // qualified: lpl::bias_backward is found by ADL too
}

Tensor conv2d_backward_data(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dParams& p) {
  const Geom g = geom(x_shape, w.shape(), p);
  Tensor dx = Tensor::zeros(x_shape, dy.device());
  const float *dyp = dy.f(), *wp = w.f();
  float* dxp = dx.f();
  cpu_for(
      g.N * g.Ci,
      [&](int64_t nc) {
        const int64_t n = nc / g.Ci, ci = nc % g.Ci;
        float* dxc = dxp + nc * g.H * g.W;
        for (int64_t co = 0; co < g.Co; ++co)
          for (int64_t kh = 0; kh < g.KH; ++kh) {
            int64_t oh0, oh1;
            valid_range(kh, g.H, g.OH, g.sh, g.ph, oh0, oh1);
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              int64_t ow0, ow1;
              valid_range(kw, g.W, g.OW, g.sw, g.pw, ow0, ow1);
              const float wv = wp[((co * g.Ci + ci) * g.KH + kh) * g.KW + kw];
              const float* dyc = dyp + (n * g.Co + co) * g.OH * g.OW;
              for (int64_t oh = oh0; oh < oh1; ++oh) {
                const int64_t base = (oh * g.sh - g.ph + kh) * g.W - g.pw + kw;
                for (int64_t ow = ow0; ow < ow1; ++ow) dxc[base + ow * g.sw] += wv * dyc[oh * g.OW + ow];
              }
            }
          }
      },
      g.Co * g.KH * g.KW * g.OH * g.OW);
  return dx;
}

}  // namespace lpl::cpu_backend
#endif
