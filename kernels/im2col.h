// The operands of a convolution's weight gradient as one GEMM, in bfloat16 (kernels/convert.h) or float32:
//   dW[co, (ci, u, v)] = sum over (n, oh, ow) of dy[n, co, oh, ow] * x[n, ci, oh*s - p + u, ow*s - p + v]
// i.e. dW (Co x Ci*KH*KW) = Dy (Co x N*OH*OW) * ColT^T (ColT: Ci*KH*KW x N*OH*OW). The CPU computes the
// weight gradient this way with --precision bf16 (a bf16 matmul on AMX / AVX512-BF16), and in float32
// for maps of at most 4x4 (sgemm): oneDNN's own backward-weights kernels are slow for VGG's small deep
// maps. So is its bf16 forward at maps of at most 4x4: there Y^T (Co x N*OH*OW) = W * ColT, and
// RowsToNchw puts it back. The functors handle a span of items of one row (kernels/span.h row_spans),
// for any launcher.
#pragma once
#include <cstdint>
#include <type_traits>

#include "kernels/convert.h"
#include "kernels/span.h"

namespace lpl::kern {

// An operand's element: float32 rounded to bfloat16, bfloat16 as it is, or float32 as it is.
template <class O>
LPL_HD inline O convert_to(float f) {
  if constexpr (sizeof(O) == 2) return f32_to_bf16(f); else return f;
}
template <class O>
LPL_HD inline O convert_to(uint16_t h) {
  if constexpr (sizeof(O) == 2) return h; else return bf16_to_f32(h);
}

// dyrows[co, (n - n0) * ohw + q] = dy[n, co, q] for the images n0 .. n0 + images - 1.
// Rows of the span space: (image, channel) planes of ohw items.
template <class O>  // uint16_t (bfloat16) or float
struct DyRows {
  const float* dy;  // [N, Co, OH*OW]
  O* out;           // [Co, images * ohw]
  int64_t co, ohw, n0, images, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t first = s * per, last = min64(first + per, images * co * ohw);
    for (int64_t i = first; i < last;) {
      const DivMod pq = divmod(i, ohw);  // plane, position
      const DivMod nc = divmod(pq.q, co);
      const float* src = dy + ((n0 + nc.q) * co + nc.r) * ohw;
      O* dst = out + nc.r * images * ohw + nc.q * ohw;
      const int64_t end = min64(last - i + pq.r, ohw);
      for (int64_t q = pq.r; q < end; ++q) dst[q] = convert_to<O>(src[q]);
      i += end - pq.r;
    }
  }
};

// The forward's output from its GEMM's: y[n, co, q] = rows[co, (n - n0) * ohw + q] (+ b[co]) for the
// images n0 .. n0 + images - 1 (the inverse of DyRows). Rows of the span space as DyRows.
struct RowsToNchw {
  const float* rows;  // [Co, images * ohw]
  const float* b;     // [Co] or null
  float* y;           // [N, Co, OH*OW]
  int64_t co, ohw, n0, images, per;
  LPL_HD void operator()(int64_t s) const {
    const int64_t first = s * per, last = min64(first + per, images * co * ohw);
    for (int64_t i = first; i < last;) {
      const DivMod pq = divmod(i, ohw);
      const DivMod nc = divmod(pq.q, co);
      const float* src = rows + nc.r * images * ohw + nc.q * ohw;
      float* dst = y + ((n0 + nc.q) * co + nc.r) * ohw;
      const float bias = b ? b[nc.r] : 0.f;
      const int64_t end = min64(last - i + pq.r, ohw);
      for (int64_t q = pq.r; q < end; ++q) dst[q] = src[q] + bias;
      i += end - pq.r;
    }
  }
};

struct Im2colGeom {
  int64_t ci, h, w, kh, kw, oh, ow, sh, sw, ph, pw;
};

// colT[(c * KH + u) * KW + v, (n - n0) * OH*OW + oh * OW + ow] = x[n, c, oh*sh - ph + u, ow*sw - pw + v]
// (0 outside the image): the transpose of the GEMM's Col, so that a row walks whole image planes in
// order (contiguous reads, no divisions where a span is a whole row, as on the CPU).
// Rows of the span space: the Ci*KH*KW taps, images * OH*OW items each.
template <class T, class O>  // T: float or uint16_t (bfloat16); O: the operand, uint16_t or float
struct Im2colT {
  const T* x;  // [N, Ci, H, W]
  O* col;      // [Ci*KH*KW, images * OH*OW]
  Im2colGeom g;
  int64_t n0, images, per;
  // Small maps with a whole row per span (the CPU): a line there holds 2-8 items, so per-line
  // bookkeeping would cost more than the copy; one table of source offsets (or -1 for padding)
  // serves every image plane of the row.
  static constexpr int64_t kTableMax = 64;
  // Stride 1 with the output as wide as the input (VGG's 3x3, padding 1) and a whole row per span:
  // a tap's plane is the image plane shifted by one offset, zero where the tap falls in the padding,
  // so a row is a masked shifted copy the compiler vectorises. The images inside the row read past
  // their plane's ends (into the neighbouring planes, masked off); the first and last do not.
  static constexpr int64_t kMaskMax = 1024;
  LPL_HD bool shifted_copy(int64_t n_images) const {
    const int64_t reach = (g.kh + 1) * g.w + g.kw;  // how far a masked read can leave its plane
    return g.sh == 1 && g.sw == 1 && g.ow == g.w && g.oh * g.ow <= kMaskMax && n_images >= 3 &&
           reach <= g.ci * g.h * g.w && g.ph < g.kh && g.pw < g.kw;
  }
  LPL_HD void operator()(int64_t s) const {
    const int64_t ohw = g.oh * g.ow, row_len = images * ohw, khw = g.kh * g.kw;
    const int64_t first = s * per, last = min64(first + per, g.ci * khw * row_len);
    if (first >= last) return;
    if (first % row_len == 0 && last - first == row_len) {  // a whole row: the CPU
      if (shifted_copy(images)) {
        whole_row_shifted(first / row_len);
        return;
      }
      if (ohw <= kTableMax) {
        whole_row_small(first / row_len);
        return;
      }
    }
    // Where the span starts (divisions once per span), then output lines (tap, image, oy) in order:
    // per line, the taps that fall outside the image are zeros and the others a strided copy.
    const DivMod tk = divmod(first, row_len);
    const DivMod cu = divmod(tk.q, khw);
    const DivMod uv = divmod(cu.r, g.kw);
    const DivMod nq = divmod(tk.r, ohw);
    const DivMod yx = divmod(nq.r, g.ow);
    int64_t c = cu.q, u = uv.q, v = uv.r, n = nq.q, oy = yx.q, x0 = yx.r;
    for (int64_t i = first; i < last;) {
      const int64_t x1 = min64(g.ow, x0 + (last - i));
      O* out = col + (i - x0);  // out[ox] for this line
      const int64_t hh = oy * g.sh - g.ph + u;
      int64_t lo = x1, hi = x1;  // [lo, hi): inside the image
      if (hh >= 0 && hh < g.h) {
        const int64_t a = g.pw - v, b = g.w - 1 + g.pw - v;
        lo = max64(x0, a <= 0 ? 0 : (a + g.sw - 1) / g.sw);
        hi = max64(lo, min64(x1, b < 0 ? 0 : b / g.sw + 1));
      }
      line(x + (((n0 + n) * g.ci + c) * g.h + hh) * g.w - g.pw + v, out, x0, lo, hi, x1, g.sw);
      i += x1 - x0;
      x0 = 0;
      if (++oy == g.oh) {
        oy = 0;
        if (++n == images) {
          n = 0;
          if (++v == g.kw) {
            v = 0;
            if (++u == g.kh) {
              u = 0;
              ++c;
            }
          }
        }
      }
    }
  }

  // out[ox] for ox in [x0, x1): zeros outside [lo, hi), src[ox * sw] inside; restrict pointers and
  // a unit-stride case of its own, so that the compiler vectorises the copy.
  static LPL_HD void line(const T* __restrict__ src, O* __restrict__ out, int64_t x0, int64_t lo, int64_t hi,
                          int64_t x1, int64_t sw) {
    for (int64_t ox = x0; ox < lo; ++ox) out[ox] = 0;
    if (sw == 1)
      for (int64_t ox = lo; ox < hi; ++ox) out[ox] = convert_to<O>(src[ox]);
    else
      for (int64_t ox = lo; ox < hi; ++ox) out[ox] = convert_to<O>(src[ox * sw]);
    for (int64_t ox = hi; ox < x1; ++ox) out[ox] = 0;
  }

  LPL_HD void whole_row_shifted(int64_t tap) const {
    const int64_t ohw = g.oh * g.ow, khw = g.kh * g.kw;
    const DivMod cu = divmod(tap, khw);
    const DivMod uv = divmod(cu.r, g.kw);
    const int64_t delta = (uv.q - g.ph) * g.w + (uv.r - g.pw);
    Bits inside[kMaskMax];  // all ones inside the image, 0 in the padding
    for (int64_t oy = 0, q = 0; oy < g.oh; ++oy) {
      const int64_t hh = oy - g.ph + uv.q;
      for (int64_t ox = 0; ox < g.ow; ++ox, ++q) {
        const int64_t ww = ox - g.pw + uv.r;
        inside[q] = hh >= 0 && hh < g.h && ww >= 0 && ww < g.w ? static_cast<Bits>(~Bits{0}) : Bits{0};
      }
    }
    const int64_t plane = g.h * g.w;
    const T* src = x + (n0 * g.ci + cu.q) * plane + delta;
    O* out = col + tap * images * ohw;
    for (int64_t n = 0; n < images; ++n, src += g.ci * plane, out += ohw) {
      if (n == 0 || n == images - 1)
        masked_copy_guarded(src, out, inside, ohw);
      else
        masked_copy(src, out, inside, ohw);
    }
  }
  // The operand's bits (a mask AND instead of a select, which the compiler vectorises).
  using Bits = std::conditional_t<sizeof(O) == 2, uint16_t, uint32_t>;
  static LPL_HD void masked_copy(const T* __restrict__ src, O* __restrict__ out, const Bits* __restrict__ inside,
                                 int64_t n) {
    for (int64_t q = 0; q < n; ++q)
      out[q] = __builtin_bit_cast(O, static_cast<Bits>(__builtin_bit_cast(Bits, convert_to<O>(src[q])) & inside[q]));
  }
  static LPL_HD void masked_copy_guarded(const T* __restrict__ src, O* __restrict__ out,
                                         const Bits* __restrict__ inside, int64_t n) {
    for (int64_t q = 0; q < n; ++q) out[q] = inside[q] ? convert_to<O>(src[q]) : O{0};
  }

  LPL_HD void whole_row_small(int64_t tap) const {
    const int64_t ohw = g.oh * g.ow, khw = g.kh * g.kw;
    const DivMod cu = divmod(tap, khw);
    const DivMod uv = divmod(cu.r, g.kw);
    int32_t off[kTableMax];
    for (int64_t oy = 0, q = 0; oy < g.oh; ++oy) {
      const int64_t hh = oy * g.sh - g.ph + uv.q;
      for (int64_t ox = 0; ox < g.ow; ++ox, ++q) {
        const int64_t ww = ox * g.sw - g.pw + uv.r;
        off[q] = hh >= 0 && hh < g.h && ww >= 0 && ww < g.w ? static_cast<int32_t>(hh * g.w + ww) : -1;
      }
    }
    const int64_t plane = g.h * g.w;
    const T* src = x + (n0 * g.ci + cu.q) * plane;
    O* out = col + tap * images * ohw;
    for (int64_t n = 0; n < images; ++n, src += g.ci * plane, out += ohw)
      for (int64_t q = 0; q < ohw; ++q) {
        const int32_t o = off[q];
        const O v = convert_to<O>(src[o < 0 ? 0 : o]);
        out[q] = o < 0 ? O{0} : v;
      }
  }
};

}  // namespace lpl::kern
