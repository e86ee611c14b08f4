// Softmax cross-entropy: float64 reference, central finite differences, extreme logits, errors.
#include <cmath>
#include <limits>

#include "engine/ops.h"
#include "op_check.h"

using namespace lpl;

namespace {
// Mean over rows of log sum exp(z) - z_y, and its gradient (softmax - onehot) / B, in float64.
double xent_ref(const std::vector<float>& z, const std::vector<int32_t>& y, int64_t K, std::vector<double>* grad) {
  const int64_t B = static_cast<int64_t>(y.size());
  double loss = 0;
  if (grad) grad->assign(z.size(), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) m = std::max(m, double(z[b * K + k]));
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(double(z[b * K + k]) - m);
    loss += std::log(s) + m - z[b * K + y[b]];
    if (grad)
      for (int64_t k = 0; k < K; ++k)
        (*grad)[b * K + k] = (std::exp(double(z[b * K + k]) - m) / s - (k == y[b] ? 1.0 : 0.0)) / double(B);
  }
  return loss / double(B);
}

Tensor labels_on(const std::vector<int32_t>& y, Device d) {
  Tensor h = Tensor::empty({static_cast<int64_t>(y.size())}, cpu(), DType::I32);
  std::copy(y.begin(), y.end(), h.data<int32_t>());
  if (d.is_cpu()) return h;
  Tensor t = Tensor::empty(h.shape(), d, DType::I32);
  memcpy_bytes(t.data<int32_t>(), d, h.data<int32_t>(), cpu(), y.size() * sizeof(int32_t));
  return t;
}
}  // namespace

static void xent_matches_reference_and_fd(Device d) {
  for (auto [B, K] : {std::pair<int64_t, int64_t>{1, 1}, {1, 10}, {3, 5}, {7, 13}, {256, 10}, {4, 1000}}) {
    CAPTURE(B);
    CAPTURE(K);
    auto z = test::random_vec(static_cast<size_t>(B * K), 51, -3.f, 3.f);
    std::vector<int32_t> y(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) y[b] = static_cast<int32_t>((b * 7 + 3) % K);
    Tensor lab = labels_on(y, d);
    CrossEntropyResult r = softmax_cross_entropy(Tensor::from_vector(z, {B, K}, d), lab);
    std::vector<double> gref;
    double lref = xent_ref(z, y, K, &gref);
    CHECK(r.loss == doctest::Approx(lref).epsilon(1e-6));
    CHECK(r.dlogits.shape() == Shape{B, K});
    test::check_close(r.dlogits.to_vector(), gref, 1e-5, 1e-9, "dlogits vs float64 reference");
    if (B * K <= 200) {
      // Finite differences of the op's own (float32-returned) loss; h = 1e-2 keeps rounding noise small.
      std::vector<float> ones(1, 1.f);
      auto fd = test::op_finite_diff(
          d, z, {B, K},
          [&](const Tensor& t) { return Tensor::from_vector({softmax_cross_entropy(t, lab).loss}, {1}, d); }, ones, 1e-2);
      test::check_close(r.dlogits.to_vector(), fd, 1e-2, 2e-4, "dlogits vs finite differences");
    }
  }
}
LPL_TEST_ON_DEVICES("softmax_cross_entropy against a float64 reference and central finite differences",
                    xent_matches_reference_and_fd)

static void xent_is_numerically_stable(Device d) {
  // Huge logits would overflow a naive exp; the row maximum is subtracted first.
  std::vector<float> z = {1000.f, 0.f, -1000.f, 50.f, 50.f, 50.f, -1e30f, 0.f, 3e30f};
  std::vector<int32_t> y = {1, 2, 2};
  CrossEntropyResult r = softmax_cross_entropy(Tensor::from_vector(z, {3, 3}, d), labels_on(y, d));
  // row 0: loss 1000; row 1: log 3; row 2: 0 (the label is the maximum) -> mean (1000 + log 3) / 3
  CHECK(std::isfinite(r.loss));
  CHECK(r.loss == doctest::Approx((1000.0 + std::log(3.0)) / 3.0).epsilon(1e-6));
  CHECK(all_finite(r.dlogits));
  auto g = r.dlogits.to_vector();
  CHECK(g[0] == doctest::Approx(1.0 / 3));
  CHECK(g[1] == doctest::Approx(-1.0 / 3));
  CHECK(g[3] == doctest::Approx(1.0 / 9));
}
LPL_TEST_ON_DEVICES("softmax_cross_entropy is stable for huge logits", xent_is_numerically_stable)

static void xent_errors(Device d) {
  Tensor z = Tensor::zeros({2, 10}, d);
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(z, labels_on({3, 10}, d)),
                       "softmax_cross_entropy: label 10 at row 1 is out of range [0, 10)", Error);
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(z, labels_on({-1, 0}, d)),
                       "softmax_cross_entropy: label -1 at row 0 is out of range [0, 10)", Error);
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(z, Tensor::zeros({2}, d)),
                       "softmax_cross_entropy: labels must be int32 [2], got float32 [2]", Error);
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(z, labels_on({1, 2, 3}, d)),
                       "softmax_cross_entropy: labels must be int32 [2], got int32 [3]", Error);
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(Tensor::zeros({2, 3, 1}, d), labels_on({0, 0}, d)),
                       "softmax_cross_entropy: logits must be 2-d, got shape [2, 3, 1]", Error);
  CHECK_THROWS_WITH_AS(softmax_cross_entropy(Tensor::zeros({0, 10}, d), labels_on({}, d)),
                       "softmax_cross_entropy: empty batch", Error);
  // NaN logits give a NaN loss (no crash, no silent number).
  std::vector<float> zn(20, 0.f);
  zn[3] = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(softmax_cross_entropy(Tensor::from_vector(zn, {2, 10}, d), labels_on({0, 1}, d)).loss));
}
LPL_TEST_ON_DEVICES("softmax_cross_entropy errors name the label, row and shape", xent_errors)
