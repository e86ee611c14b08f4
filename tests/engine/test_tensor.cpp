// Tensor storage, views, copies, the counter-based RNG and the small reductions.
#include <cmath>
#include <limits>

#include "engine/ops.h"
#include "engine/rng.h"
#include "test_util.h"

using namespace lpl;

TEST_CASE("tensor views share storage and copies do not") {
  Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor v = a.reshape({2, 3});
  v.f()[0] = 10;
  CHECK(a.f()[0] == 10);
  Tensor s = a.slice0(1, 2);
  CHECK(s.shape() == Shape{2, 2});
  CHECK(s.f()[0] == 3);
  Tensor c = a.clone();
  c.f()[1] = 99;
  CHECK(a.f()[1] == 2);
  CHECK_THROWS_WITH_AS(a.reshape({4, 2}), doctest::Contains("cannot view"), Error);
  CHECK_THROWS_WITH_AS(a.slice0(2, 2), doctest::Contains("out of range"), Error);
}

static void round_trip(Device d) {
  {
    Tensor h = test::random_tensor({5, 7}, 3);
    Tensor g = h.to(d);
    CHECK(g.device() == d);
    CHECK(g.to_vector() == h.to_vector());
    Tensor z = Tensor::zeros({4}, d);
    CHECK(z.to_vector() == std::vector<float>(4, 0.f));
  }
}
LPL_TEST_ON_DEVICES("tensor copies round-trip", round_trip)

TEST_CASE("a shape whose byte count overflows 64 bits is refused") {
  // numel() and nbytes() must never wrap: 2^61 x 4 elements of up to 8 bytes is 2^66 bytes.
  CHECK_THROWS_WITH_AS(Shape({int64_t{1} << 61, 4}), doctest::Contains("is too large (overflows 64-bit byte count)"), Error);
  CHECK(Shape({int64_t{1} << 30, 1 << 20}).numel() == int64_t{1} << 50);
}

TEST_CASE("cuda tensors are refused clearly without a GPU") {
  if (cuda_device_count() > 0) return;
  CHECK_THROWS_AS(Tensor::empty({2}, cuda(0)), Error);
}

TEST_CASE("philox matches the Random123 known-answer vectors") {
  // Random123 kat_vectors: philox4x32_10, counter 0, key 0.
  Philox4 r = philox4x32(0, 0, 0, 0, 0, 0);
  CHECK(r.v[0] == 0x6627e8d5u);
  CHECK(r.v[1] == 0xe169c58du);
  CHECK(r.v[2] == 0xbc57ac4cu);
  CHECK(r.v[3] == 0x9b00dbd8u);
  // counter all ones, key all ones.
  Philox4 s = philox4x32(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu);
  CHECK(s.v[0] == 0x408f276du);
  CHECK(s.v[1] == 0x41c83b0eu);
  CHECK(s.v[2] == 0xa20bc7c6u);
  CHECK(s.v[3] == 0x6d5451fdu);
}

TEST_CASE("counter rng is uniform") {
  CounterRng rng{24, 7};
  double s = 0, s2 = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    float u = rng.uniform(static_cast<uint64_t>(i), i);
    REQUIRE(u >= 0.f);
    REQUIRE(u < 1.f);
    s += u;
    s2 += u * u;
  }
  CHECK(std::abs(s / n - 0.5) < 0.005);
  CHECK(std::abs(s2 / n - 1.0 / 3.0) < 0.005);
}

static void small_reductions(Device d) {
  {
    const int64_t B = 7, M = 5;
    auto hv = test::random_vec(B * M, 11);
    Tensor z = Tensor::from_vector(hv, {B, M}, d);
    double ref = 0;
    for (float v : hv) ref += v;
    CHECK(sum_all(z) == doctest::Approx(ref).epsilon(1e-12));
    CHECK(all_finite(z));
    ColumnStats st = column_mean_var(z);
    std::vector<double> mean(M), var(M);
    for (int64_t j = 0; j < M; ++j) {
      double m = 0;
      for (int64_t i = 0; i < B; ++i) m += hv[i * M + j];
      m /= B;
      double q = 0;
      for (int64_t i = 0; i < B; ++i) q += (hv[i * M + j] - m) * (hv[i * M + j] - m);
      mean[j] = m;
      var[j] = q / (B - 1);
    }
    test::check_close(st.mean.to_vector(), mean, 1e-6, 1e-7, "mean");
    test::check_close(st.var.to_vector(), var, 1e-6, 1e-7, "var");
    Tensor y = Tensor::full({B, M}, 1.f, d);
    axpy(2.f, z, y);
    std::vector<double> yref(hv.size());
    for (size_t i = 0; i < hv.size(); ++i) yref[i] = 1.0 + 2.0 * hv[i];
    test::check_close(y.to_vector(), yref, 1e-6, 1e-7, "axpy");
    auto bad = hv;
    bad[12] = std::numeric_limits<float>::quiet_NaN();
    CHECK_FALSE(all_finite(Tensor::from_vector(bad, {B, M}, d)));
    bad[12] = std::numeric_limits<float>::infinity();
    CHECK_FALSE(all_finite(Tensor::from_vector(bad, {B, M}, d)));
  }
}
LPL_TEST_ON_DEVICES("sum_all, all_finite, column_mean_var, axpy against float64 references", small_reductions)

static void gemm_gram(Device d) {
  {
    for (auto [M, N, K] : {std::tuple{1, 1, 1}, {3, 5, 7}, {17, 9, 33}}) {
      for (int t = 0; t < 4; ++t) {
        bool ta = t & 1, tb = t & 2;
        auto a = test::random_vec(M * K, 1), b = test::random_vec(K * N, 2), c0 = test::random_vec(M * N, 3);
        Tensor A = Tensor::from_vector(a, {M * K}, d), Bt = Tensor::from_vector(b, {K * N}, d),
               C = Tensor::from_vector(c0, {M * N}, d);
        int64_t lda = ta ? M : K, ldb = tb ? K : N;
        gemm(d, ta, tb, M, N, K, 0.5f, A.f(), lda, Bt.f(), ldb, 2.f, C.f(), N);
        std::vector<double> ref(M * N);
        for (int i = 0; i < M; ++i)
          for (int j = 0; j < N; ++j) {
            double s = 0;
            for (int k = 0; k < K; ++k) s += double(ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
            ref[i * N + j] = 0.5 * s + 2.0 * c0[i * N + j];
          }
        test::check_close(C.to_vector(), ref, 1e-5, 1e-5, "gemm");
      }
    }
    // gram = z^T z
    const int B = 6, Mz = 5;
    auto zv = test::random_vec(B * Mz, 4);
    Tensor g = gram(Tensor::from_vector(zv, {B, Mz}, d), 0.25f);
    std::vector<double> gref(Mz * Mz);
    for (int i = 0; i < Mz; ++i)
      for (int k = 0; k < Mz; ++k) {
        double s = 0;
        for (int b = 0; b < B; ++b) s += double(zv[b * Mz + i]) * zv[b * Mz + k];
        gref[i * Mz + k] = 0.25 * s;
      }
    test::check_close(g.to_vector(), gref, 1e-5, 1e-6, "gram");
  }
}
LPL_TEST_ON_DEVICES("gemm and gram against float64 references (odd shapes, transposes)", gemm_gram)
