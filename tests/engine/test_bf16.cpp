// --precision bf16 (issue 15): the CPU convolutions read bfloat16 and accumulate in float32. Against
// the float32 ops: close to bf16's rounding (8 mantissa bits), and not bit-equal (the bf16 path ran).
// The refusal where the CPU lacks the instructions (LPL_NO_BF16=1 simulates it) and on the GPU.
#include <cmath>
#include <cstdlib>
#include <string>
#include <tuple>

#include "engine/ops.h"
#include "test_util.h"

using namespace lpl;

namespace {

// Restores float32 when a case ends, whatever happened.
struct PrecisionScope {
  explicit PrecisionScope(Precision p) { set_precision(p); }
  ~PrecisionScope() { set_precision(Precision::fp32); }
};

bool can_bf16() { return LPL_HAVE_DNNL && cpu_has_bf16(); }

// max |a - b| / max |b|
double rel_err(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double d = 0, s = 1e-30;
  for (size_t i = 0; i < va.size(); ++i) {
    const double e = std::abs(static_cast<double>(va[i]) - vb[i]);
    d = std::isnan(e) ? INFINITY : std::max(d, e);
    s = std::max(s, std::abs(static_cast<double>(vb[i])));
  }
  return d / s;
}

}  // namespace

TEST_CASE("bf16 convolutions (CPU) against float32: forward, backward-filter, backward-data" *
          doctest::skip(!can_bf16())) {
  for (auto [xs, ws, p] : {std::tuple{Shape{8, 3, 32, 32}, Shape{64, 3, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           std::tuple{Shape{4, 64, 16, 16}, Shape{128, 64, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           std::tuple{Shape{2, 16, 15, 13}, Shape{24, 16, 5, 5}, Conv2dParams{2, 2, 2, 2}}}) {
    CAPTURE(xs.str());
    const Tensor x = test::random_tensor(xs, 1), w = test::random_tensor(ws, 2, cpu(), -0.2f, 0.2f),
                 b = test::random_tensor({ws[0]}, 3);
    const Tensor y32 = conv2d_forward(x, w, b, p);
    const Tensor dy = test::random_tensor(y32.shape(), 4);
    Tensor dw32 = Tensor::zeros(ws), db32 = Tensor::zeros({ws[0]});
    conv2d_backward_filter(x, dy, dw32, &db32, p, false);
    const Tensor dx32 = conv2d_backward_data(dy, w, xs, p);
    PrecisionScope bf(Precision::bf16);
    const Tensor y16 = conv2d_forward(x, w, b, p);
    Tensor dw16 = Tensor::zeros(ws), db16 = Tensor::zeros({ws[0]});
    conv2d_backward_filter(x, dy, dw16, &db16, p, false);
    const Tensor dx16 = conv2d_backward_data(dy, w, xs, p);
    // bf16 keeps 8 significant bits (relative rounding 2^-9 per input); sums of K products with
    // random signs stay within a few times that of the largest output.
    using Pair = std::tuple<const Tensor*, const Tensor*, const char*>;
    for (auto [a, r, what] : {Pair{&y16, &y32, "forward"}, Pair{&dw16, &dw32, "backward-filter"},
                              Pair{&dx16, &dx32, "backward-data"}}) {
      CAPTURE(what);
      const double e = rel_err(*a, *r);
      MESSAGE(what << ": max relative error " << e);
      CHECK(e <= 2e-2);
      CHECK(e > 0);  // the bf16 kernels ran (float32 would be bit-equal)
    }
    CHECK(rel_err(db16, db32) <= 2e-2);  // the bias gradient: a sum of dy (bf16-rounded inputs)
  }
}

TEST_CASE("bf16 is refused by name where the CPU has no bf16 instructions; fp32 stays") {
  REQUIRE(setenv("LPL_NO_BF16", "1", 1) == 0);
  CHECK_FALSE(cpu_has_bf16());
  CHECK_THROWS_WITH_AS(set_precision(Precision::bf16), doctest::Contains("this CPU has no AVX512-BF16"), Error);
  CHECK(precision() == Precision::fp32);
  REQUIRE(unsetenv("LPL_NO_BF16") == 0);
  CHECK_THROWS_WITH_AS(parse_precision("fp16"), doctest::Contains("--precision must be fp32 or bf16, got 'fp16'"), Error);
  CHECK(parse_precision("bf16") == Precision::bf16);
}

TEST_CASE("bf16 convolutions on a GPU are refused (not implemented there yet)" *
          doctest::skip(cuda_device_count() == 0 || !can_bf16())) {
  PrecisionScope bf(Precision::bf16);
  const Tensor x = test::random_tensor({1, 3, 8, 8}, 1, cuda(0)), w = test::random_tensor({4, 3, 3, 3}, 2, cuda(0));
  CHECK_THROWS_WITH_AS(conv2d_forward(x, w, Tensor(), Conv2dParams{1, 1, 1, 1}),
                       doctest::Contains("--precision bf16 on the GPU: not implemented yet"), Error);
}
