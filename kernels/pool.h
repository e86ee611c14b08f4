// Max-pool, global and adaptive average pool (forward and backward), written once for both
// backends. Backward passes are gathers (each input element sums the output gradients that reach
// it), so they need no atomics and give the same bits on every run and on both backends.
#pragma once
#include "engine/ops.h"
#include "kernels/segments.h"
#include "kernels/span.h"

namespace lpl::kern {

LPL_HD inline int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// ---- Max-pool -------------------------------------------------------------------------------------
struct PoolGeom {
  int64_t H, W, OH, OW;
  int kh, kw, sh, sw, ph, pw;
};

// One candidate v (flat index i) of a max-pool window, in window order: it wins when larger or NaN.
// Bit-mask selects, so the compiler cannot turn them into branches.
LPL_HD inline void max_step(float v, int32_t i, float& best, int32_t& bi) {
  const uint32_t m = 0u - static_cast<uint32_t>((v > best) | (v != v));
  best = __builtin_bit_cast(float, (__builtin_bit_cast(uint32_t, v) & m) | (__builtin_bit_cast(uint32_t, best) & ~m));
  bi = static_cast<int32_t>((static_cast<uint32_t>(i) & m) | (static_cast<uint32_t>(bi) & ~m));
}

// Span s covers outputs [ow0, ow1) of output row r = plane * OH + oh. The first maximum in
// row-major window order wins and a NaN always wins (as PyTorch); padded positions never win.
// Outputs [ow0, ow1) of a 2x2 stride-2 pool over input rows r0 and r1 (flat index of r0[0]: i0),
// on its own so that no store can alias the loop's bounds (the compiler vectorises it).
LPL_HD inline void pool2x2_row(const float* __restrict__ r0, const float* __restrict__ r1, float* __restrict__ yr,
                               int32_t* __restrict__ ar, int64_t ow0, int64_t ow1, int32_t i0, int32_t W) {
  for (int64_t ow = ow0; ow < ow1; ++ow) {
    const int32_t w = static_cast<int32_t>(2 * ow);
    float best = r0[w];
    int32_t bi = i0 + w;
    max_step(r0[w + 1], i0 + w + 1, best, bi);
    max_step(r1[w], i0 + W + w, best, bi);
    max_step(r1[w + 1], i0 + W + w + 1, best, bi);
    yr[ow] = best;
    ar[ow] = bi;
  }
}

struct MaxPoolFwd {
  const float* x;
  float* y;
  int32_t* argmax;
  PoolGeom g;
  int64_t per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t spans_per_row = (g.OW + per - 1) / per;
    const DivMod rs = divmod(s, spans_per_row), po = divmod(rs.q, g.OH);
    const int64_t r = rs.q;
    const int64_t ow0 = rs.r * per, ow1 = min64(ow0 + per, g.OW);
    const int64_t plane = po.q, oh = po.r;
    const float* __restrict__ xp = x + plane * g.H * g.W;
    float* __restrict__ yr = y + r * g.OW;
    int32_t* __restrict__ ar = argmax + r * g.OW;
    const int64_t h0 = oh * g.sh - g.ph;
    if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0) {
      // VGG's 2x2 stride-2 pool: the four candidates in window order through branch-free selects
      // (which element wins is data: a branch per element mispredicts about half the time).
      pool2x2_row(xp + h0 * g.W, xp + (h0 + 1) * g.W, yr, ar, ow0, ow1, static_cast<int32_t>(h0 * g.W),
                  static_cast<int32_t>(g.W));
      return;
    }
    const int64_t hs = max64(h0, 0), he = min64(h0 + g.kh, g.H);
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      const int64_t w0 = ow * g.sw - g.pw;
      const int64_t ws = max64(w0, 0), we = min64(w0 + g.kw, g.W);
      float best = -__builtin_huge_valf();
      int64_t bi = hs * g.W + ws;
      for (int64_t h = hs; h < he; ++h)
        for (int64_t w = ws; w < we; ++w) {
          const float v = xp[h * g.W + w];
          if (v > best || v != v) {
            best = v;
            bi = h * g.W + w;
          }
        }
      yr[ow] = best;
      ar[ow] = static_cast<int32_t>(bi);
    }
  }
};

// Span s covers inputs [w0, w1) of input row r = plane * H + h; each sums dy over the windows
// that contain it and chose it as their arg-max.
struct MaxPoolBwd {
  const float* dy;
  const int32_t* argmax;
  float* dx;
  PoolGeom g;
  int64_t per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t spans_per_row = (g.W + per - 1) / per;
    const DivMod rs = divmod(s, spans_per_row), ph = divmod(rs.q, g.H);
    const int64_t r = rs.q;
    const int64_t w0 = rs.r * per, w1 = min64(w0 + per, g.W);
    const int64_t plane = ph.q, h = ph.r;
    const float* __restrict__ dyp = dy + plane * g.OH * g.OW;
    const int32_t* __restrict__ ap = argmax + plane * g.OH * g.OW;
    float* __restrict__ dxr = dx + r * g.W;
    // Output rows whose window covers h: oh*sh - ph <= h < oh*sh - ph + kh.
    const int64_t oh_lo = max64(floor_div(h + g.ph - g.kh, g.sh) + 1, 0);
    const int64_t oh_hi = min64(floor_div(h + g.ph, g.sh), g.OH - 1);
    // Columns whose window covers w: floor((w + pw - kw) / sw) + 1 <= ow <= floor((w + pw) / sw).
    // Both quotients are stepped with their remainders along the span (no division per element).
    int64_t q_lo = floor_div(w0 + g.pw - g.kw, g.sw), r_lo = w0 + g.pw - g.kw - q_lo * g.sw;
    int64_t q_hi = floor_div(w0 + g.pw, g.sw), r_hi = w0 + g.pw - q_hi * g.sw;
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t ow_lo = max64(q_lo + 1, 0), ow_hi = min64(q_hi, g.OW - 1);
      const int32_t me = static_cast<int32_t>(h * g.W + w);
      float acc = 0.f;
      for (int64_t oh = oh_lo; oh <= oh_hi; ++oh)
        for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
          const int64_t o = oh * g.OW + ow;
          if (ap[o] == me) acc += dyp[o];
        }
      dxr[w] = acc;
      if (++r_lo == g.sw) r_lo = 0, ++q_lo;
      if (++r_hi == g.sw) r_hi = 0, ++q_hi;
    }
  }
};

inline PoolGeom pool_geom(const Shape& xs, const Pool2dParams& p) {
  PoolGeom g{xs[2], xs[3], 0, 0, p.kernel_h, p.kernel_w, p.stride_h, p.stride_w, p.pad_h, p.pad_w};
  g.OH = (g.H + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
  g.OW = (g.W + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  return g;
}

template <class L>
MaxPoolResult maxpool2d_forward(const L& launch, const Tensor& x, const Pool2dParams& p) {
  const PoolGeom g = pool_geom(x.shape(), p);
  const Shape ys{x.dim(0), x.dim(1), g.OH, g.OW};
  MaxPoolResult r{Tensor::empty(ys, x.device()), Tensor::empty(ys, x.device(), DType::I32)};
  const Span sp = row_spans<L>(x.dim(0) * x.dim(1) * g.OH, g.OW);
  launch(x.device(), sp.count, MaxPoolFwd{x.f(), r.y.f(), r.argmax.data<int32_t>(), g, sp.per});
  return r;
}

template <class L>
Tensor maxpool2d_backward(const L& launch, const Tensor& dy, const Tensor& argmax, const Shape& xs,
                          const Pool2dParams& p) {
  const PoolGeom g = pool_geom(xs, p);
  Tensor dx = Tensor::empty(xs, dy.device());
  const Span sp = row_spans<L>(xs[0] * xs[1] * g.H, g.W);
  launch(dy.device(), sp.count, MaxPoolBwd{dy.f(), argmax.data<int32_t>(), dx.f(), g, sp.per});
  return dx;
}

// ---- Global average pool: [N, C, H, W] <-> [N, C] ---------------------------------------------------
// y[plane] = the plane's mean, float64 accumulation (segments: rows).
struct GlobalAvgFwd {
  const float* x;
  float* y;
  int64_t hw;
  LPL_HD double term(int64_t plane, int64_t i) const { return x[plane * hw + i]; }
  LPL_HD void finish(int64_t plane, double s) const { y[plane] = static_cast<float>(s / static_cast<double>(hw)); }
};

// Span s covers elements [b, e) of one plane: dx = dy[plane] / (H W).
struct GlobalAvgBwd {
  const float* dy;
  float* dx;
  int64_t hw, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t spans_per_plane = (hw + per - 1) / per;
    const DivMod ps = divmod(s, spans_per_plane);
    const int64_t plane = ps.q;
    const int64_t b = ps.r * per, e = min64(b + per, hw);
    const float v = static_cast<float>(static_cast<double>(dy[plane]) / static_cast<double>(hw));
    float* __restrict__ dxp = dx + plane * hw;
    for (int64_t i = b; i < e; ++i) dxp[i] = v;
  }
};

template <class L>
Tensor global_avgpool_forward(const L& launch, const Tensor& x) {
  Tensor y = Tensor::empty({x.dim(0), x.dim(1)}, x.device());
  const int64_t hw = x.dim(2) * x.dim(3);
  launch.sum(x.device(), {x.dim(0) * x.dim(1), hw, SegLayout::rows}, GlobalAvgFwd{x.f(), y.f(), hw});
  return y;
}

template <class L>
Tensor global_avgpool_backward(const L& launch, const Tensor& dy, const Shape& xs) {
  Tensor dx = Tensor::empty(xs, dy.device());
  const Span sp = row_spans<L>(xs[0] * xs[1], xs[2] * xs[3]);
  launch(dy.device(), sp.count, GlobalAvgBwd{dy.f(), dx.f(), xs[2] * xs[3], sp.per});
  return dx;
}

// ---- Adaptive average pool (PyTorch's windows) -------------------------------------------------------
// Output o of n covers inputs [floor(o*in/n), ceil((o+1)*in/n)).
LPL_HD inline int64_t adaptive_start(int64_t o, int64_t in, int64_t n) { return (o * in) / n; }
LPL_HD inline int64_t adaptive_end(int64_t o, int64_t in, int64_t n) { return ((o + 1) * in + n - 1) / n; }

struct AdaptiveGeom {
  int64_t H, W, OH, OW;
};

// Span s covers outputs [ow0, ow1) of output row r = plane * OH + oh.
struct AdaptiveAvgFwd {
  const float* x;
  float* y;
  AdaptiveGeom g;
  int64_t per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t spans_per_row = (g.OW + per - 1) / per;
    const DivMod rs = divmod(s, spans_per_row), po = divmod(rs.q, g.OH);
    const int64_t r = rs.q;
    const int64_t ow0 = rs.r * per, ow1 = min64(ow0 + per, g.OW);
    const int64_t plane = po.q, oh = po.r;
    const float* __restrict__ xp = x + plane * g.H * g.W;
    const int64_t hs = adaptive_start(oh, g.H, g.OH), he = adaptive_end(oh, g.H, g.OH);
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      const int64_t ws = adaptive_start(ow, g.W, g.OW), we = adaptive_end(ow, g.W, g.OW);
      double acc = 0;
      for (int64_t h = hs; h < he; ++h)
        for (int64_t w = ws; w < we; ++w) acc += xp[h * g.W + w];
      y[r * g.OW + ow] = static_cast<float>(acc / static_cast<double>((he - hs) * (we - ws)));
    }
  }
};

// Span s covers inputs [w0, w1) of input row r = plane * H + h; each sums dy / window size over
// the windows that contain it: outputs o with floor(i*n/in) <= o <= ceil((i+1)*n/in) - 1.
struct AdaptiveAvgBwd {
  const float* dy;
  float* dx;
  AdaptiveGeom g;
  int64_t per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t spans_per_row = (g.W + per - 1) / per;
    const DivMod rs = divmod(s, spans_per_row), ph = divmod(rs.q, g.H);
    const int64_t r = rs.q;
    const int64_t w0 = rs.r * per, w1 = min64(w0 + per, g.W);
    const int64_t plane = ph.q, h = ph.r;
    const float* __restrict__ dyp = dy + plane * g.OH * g.OW;
    const int64_t oh_lo = (h * g.OH) / g.H, oh_hi = min64(((h + 1) * g.OH + g.H - 1) / g.H - 1, g.OH - 1);
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t ow_lo = (w * g.OW) / g.W, ow_hi = min64(((w + 1) * g.OW + g.W - 1) / g.W - 1, g.OW - 1);
      double acc = 0;
      for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
        const int64_t hs = adaptive_start(oh, g.H, g.OH), he = adaptive_end(oh, g.H, g.OH);
        for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
          const int64_t ws = adaptive_start(ow, g.W, g.OW), we = adaptive_end(ow, g.W, g.OW);
          acc += static_cast<double>(dyp[oh * g.OW + ow]) / static_cast<double>((he - hs) * (we - ws));
        }
      }
      dx[r * g.W + w] = static_cast<float>(acc);
    }
  }
};

template <class L>
Tensor adaptive_avgpool_forward(const L& launch, const Tensor& x, int out_h, int out_w) {
  const AdaptiveGeom g{x.dim(2), x.dim(3), out_h, out_w};
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), g.OH, g.OW}, x.device());
  const Span sp = row_spans<L>(x.dim(0) * x.dim(1) * g.OH, g.OW);
  launch(x.device(), sp.count, AdaptiveAvgFwd{x.f(), y.f(), g, sp.per});
  return y;
}

template <class L>
Tensor adaptive_avgpool_backward(const L& launch, const Tensor& dy, const Shape& xs) {
  const AdaptiveGeom g{xs[2], xs[3], dy.dim(2), dy.dim(3)};
  Tensor dx = Tensor::empty(xs, dy.device());
  const Span sp = row_spans<L>(xs[0] * xs[1] * g.H, g.W);
  launch(dy.device(), sp.count, AdaptiveAvgBwd{dy.f(), dx.f(), g, sp.per});
  return dx;
}

}  // namespace lpl::kern
