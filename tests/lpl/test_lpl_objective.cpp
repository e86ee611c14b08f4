// The LPL layer objective: golden values from the authors' loss code (PyTorch autograd, float64),
// and every variant's dL/dz against central finite differences of a float64 reference loss.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/lpl_ops.h"
#include "kernels/launch.h"
#include "kernels/lpl_block.h"
#include "lpl/lpl_reference.h"
#include "lpl/objective_check.h"
#include "test_util.h"

using namespace lpl;

namespace {

std::string data_path(const std::string& rel) {
  const char* d = std::getenv("LPL_TEST_DATA");
  return std::string(d ? d : "data") + "/" + rel;
}

using Run = test::ObjectiveRun;
using test::check_against_fd;
using test::run_objective;

}  // namespace

static void golden(Device d) {
  std::ifstream f(data_path("lpl/lpl_layer_objective.json"));
  REQUIRE_MESSAGE(f.good(), "missing tests/data/lpl/lpl_layer_objective.json");
  nlohmann::json j = nlohmann::json::parse(f);
  REQUIRE(j["cases"].size() >= 3);
  for (const auto& c : j["cases"]) {
    const int64_t B = c["B"], M = c["M"];
    std::vector<float> z = c["z1"].get<std::vector<float>>();
    auto z2 = c["z2"].get<std::vector<float>>();
    z.insert(z.end(), z2.begin(), z2.end());
    LplObjectiveArgs args;
    args.coeffs = {c["coeffs"][0].get<float>(), c["coeffs"][1].get<float>(), c["coeffs"][2].get<float>()};
    Run r = run_objective(d, z, {2 * B, M}, args);
    const std::string what = "golden B=" + std::to_string(B) + " M=" + std::to_string(M);
    CHECK_MESSAGE(r.terms.pull == doctest::Approx(c["pull"].get<double>()).epsilon(1e-5), what);
    CHECK_MESSAGE(r.terms.push == doctest::Approx(c["push"].get<double>()).epsilon(1e-5), what);
    CHECK_MESSAGE(r.terms.decorr == doctest::Approx(c["decorr"].get<double>()).epsilon(1e-4), what);
    CHECK_MESSAGE(r.terms.weighted(args.coeffs) == doctest::Approx(c["total"].get<double>()).epsilon(1e-5), what);
    test::check_golden_gradient(r, c, what);
  }
}
LPL_TEST_ON_DEVICES("lpl objective matches the authors' golden loss terms and gradients", golden)

static void variants_fd(Device d) {
  const int64_t B = 6, M = 5;
  auto z = test::random_vec(2 * B * M, 31, -1.f, 1.f);
  struct Case {
    const char* name;
    LplCoeffs c;
  };
  for (Case cs : {Case{"defaults", {1, 1, 10}}, Case{"pull off", {0, 1, 10}}, Case{"push off", {1, 0, 10}},
                  Case{"decorr off", {1, 1, 0}}, Case{"other coefficients", {0.5f, 2.f, 3.f}}}) {
    test::RefObjective ref;
    ref.pull_coeff = cs.c.pull; ref.push_coeff = cs.c.push; ref.decorr_coeff = cs.c.decorr;
    ref.B = B; ref.M = M; ref.C = M;
    LplObjectiveArgs args;
    args.coeffs = cs.c;
    check_against_fd(ref, z, run_objective(d, z, {2 * B, M}, args), cs.name);
  }
  SUBCASE("shuffle positives") {
    std::vector<int> perm{3, 0, 5, 1, 4, 2};
    Tensor p = Tensor::empty({B}, cpu(), DType::I32);
    std::copy(perm.begin(), perm.end(), p.data<int32_t>());
    Tensor pd = p.to(d);
    test::RefObjective ref;
    ref.B = B; ref.M = M; ref.C = M; ref.perm = perm;
    LplObjectiveArgs args;
    args.positive_perm = &pd;
    Run r = run_objective(d, z, {2 * B, M}, args);
    check_against_fd(ref, z, r, "shuffle_positives");
    // The pairing matters: the identity pairing gives another pull term.
    test::RefObjective plain = ref;
    plain.perm.clear();
    CHECK(std::abs(plain.terms({z.begin(), z.end()}).pull - r.terms.pull) > 1e-3);
  }
  SUBCASE("stale estimates") {
    auto smv = test::random_vec(M, 5, -0.2f, 0.2f), svv = test::random_vec(M, 6, 0.1f, 0.5f);
    Tensor sm = Tensor::from_vector(smv, {M}, d), sv = Tensor::from_vector(svv, {M}, d);
    test::RefObjective ref;
    ref.B = B; ref.M = M; ref.C = M;
    ref.sm.assign(smv.begin(), smv.end());
    ref.sv.assign(svv.begin(), svv.end());
    LplObjectiveArgs args;
    args.stale_mean = &sm;
    args.stale_var = &sv;
    args.stale_valid = true;
    check_against_fd(ref, z, run_objective(d, z, {2 * B, M}, args), "stale_estimates");
    // The state now holds this step's estimates: the mean and unbiased variance averaged over views.
    auto nm = sm.to_vector(), nv = sv.to_vector();
    for (int64_t m = 0; m < M; ++m) {
      double mu[2] = {0, 0}, var[2] = {0, 0};
      for (int v = 0; v < 2; ++v) {
        for (int64_t b = 0; b < B; ++b) mu[v] += z[(v * B + b) * M + m];
        mu[v] /= B;
        for (int64_t b = 0; b < B; ++b) var[v] += std::pow(z[(v * B + b) * M + m] - mu[v], 2);
        var[v] /= B - 1;
      }
      CHECK(nm[m] == doctest::Approx(0.5 * (mu[0] + mu[1])).epsilon(1e-5));
      CHECK(nv[m] == doctest::Approx(0.5 * (var[0] + var[1])).epsilon(1e-5));
    }
    // First step (no previous estimates): the ordinary Hebbian term, and the state is filled.
    args.stale_valid = false;
    Tensor sm2 = Tensor::zeros({M}, d), sv2 = Tensor::zeros({M}, d);
    args.stale_mean = &sm2;
    args.stale_var = &sv2;
    test::RefObjective plain;
    plain.B = B; plain.M = M; plain.C = M;
    check_against_fd(plain, z, run_objective(d, z, {2 * B, M}, args), "stale_estimates first step");
    test::check_close(sm2.to_vector(), nm, 1e-6, 1e-7, "stale mean after first step");
  }
}
LPL_TEST_ON_DEVICES("lpl objective variants: dL/dz matches finite differences of the loss", variants_fd)

static void no_pooling_fd(Device d) {
  const int64_t B = 4, C = 3, H = 2, W = 3;
  auto z = test::random_vec(2 * B * C * H * W, 41, -1.f, 1.f);
  for (LplCoeffs c : {LplCoeffs{1, 1, 10}, LplCoeffs{0.3f, 0.f, 2.f}}) {
    test::RefObjective ref;
    ref.pull_coeff = c.pull; ref.push_coeff = c.push; ref.decorr_coeff = c.decorr;
    ref.B = B; ref.M = C * H * W; ref.C = C; ref.HW = H * W;
    LplObjectiveArgs args;
    args.coeffs = c;
    args.no_pooling = true;
    check_against_fd(ref, z, run_objective(d, z, {2 * B, C, H, W}, args), "no_pooling");
  }
}
LPL_TEST_ON_DEVICES("lpl objective with no_pooling: maps as (B H W) x C for decorrelation, finite differences", no_pooling_fd)

TEST_CASE("lpl objective refuses bad arguments with clear messages") {
  Tensor terms = lpl_terms_buffer(cpu(), 1);
  LplObjectiveArgs args;
  {
    Tensor z = Tensor::zeros({5, 4}), dz = Tensor::zeros({5, 4});
    CHECK_THROWS_WITH_AS(lpl_objective(z, dz, terms, 0, args), doctest::Contains("two views"), Error);
  }
  {
    Tensor z = Tensor::zeros({4, 4}), dz = Tensor::zeros({4, 3});
    CHECK_THROWS_WITH_AS(lpl_objective(z, dz, terms, 0, args), doctest::Contains("lpl_objective: dz"), Error);
    Tensor dz2 = Tensor::zeros({4, 4});
    CHECK_THROWS_WITH_AS(lpl_objective(z, dz2, terms, 1, args), doctest::Contains("room for slot 1"), Error);
    args.no_pooling = true;
    CHECK_THROWS_WITH_AS(lpl_objective(z, dz2, terms, 0, args), doctest::Contains("[2B, C, H, W]"), Error);
    args.no_pooling = false;
    Tensor p = Tensor::zeros({3}, cpu(), DType::I32);
    args.positive_perm = &p;
    CHECK_THROWS_WITH_AS(lpl_objective(z, dz2, terms, 0, args), doctest::Contains("positive_perm must be int32 [2]"), Error);
  }
}

static void block_delta(Device d) {
  // N=2, C=2, 4x4 conv output, 2x2 pool: delta = (a > 0) * [arg-max] * g / (PH PW).
  const int64_t N = 2, C = 2, H = 4, W = 4;
  auto av = test::random_vec(N * C * H * W, 7, -1.f, 1.f);
  Tensor a = Tensor::from_vector(av, {N, C, H, W}, d);
  Tensor am = Tensor::empty({N, C, 2, 2}, cpu(), DType::I32);
  std::vector<float> pooled(N * C * 4);
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t ph = 0; ph < 2; ++ph)
      for (int64_t pw = 0; pw < 2; ++pw) {
        int best = -1;
        float bv = -1e30f;
        for (int64_t dh = 0; dh < 2; ++dh)
          for (int64_t dw = 0; dw < 2; ++dw) {
            int64_t h = 2 * ph + dh, w = 2 * pw + dw;
            float v = std::max(av[nc * 16 + h * W + w], 0.f);
            if (v > bv) { bv = v; best = static_cast<int>(h * W + w); }
          }
        am.data<int32_t>()[nc * 4 + ph * 2 + pw] = best;
        pooled[nc * 4 + ph * 2 + pw] = bv;
      }
  Tensor amd = am.to(d);
  auto gv = test::random_vec(N * C, 9);
  const Pool2dParams pool2;
  Tensor delta = lpl_block_delta(Tensor::from_vector(gv, {N, C}, d), a, amd, &pool2, true);
  std::vector<double> ref(N * C * H * W, 0.0);
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t j = 0; j < 4; ++j) {
      int idx = am.data<int32_t>()[nc * 4 + j];
      if (av[nc * 16 + idx] > 0) ref[nc * 16 + idx] = gv[nc] / 4.0;
    }
  test::check_close(delta.to_vector(), ref, 1e-6, 1e-7, "pooled block delta");
  // No pool, no average: the ReLU mask only.
  auto gm = test::random_vec(N * C * H * W, 10);
  Tensor d2 = lpl_block_delta(Tensor::from_vector(gm, {N, C, H, W}, d), a, Tensor(), nullptr, false);
  std::vector<double> ref2(gm.size());
  for (size_t i = 0; i < gm.size(); ++i) ref2[i] = av[i] > 0 ? gm[i] : 0.0;
  test::check_close(d2.to_vector(), ref2, 1e-6, 1e-7, "unpooled block delta");
  CHECK_THROWS_WITH_AS(lpl_block_delta(Tensor::from_vector(gv, {N, C}, d), a, Tensor(), nullptr, false),
                       doctest::Contains("lpl_block_delta: g"), Error);
  // A 3x3 stride-2 pool with padding 1 has the same output size as the 2x2 one: refused by its
  // parameters, not silently routed as a 2x2 pool.
  Pool2dParams p3;
  p3.kernel_h = p3.kernel_w = 3;
  p3.pad_h = p3.pad_w = 1;
  CHECK_THROWS_WITH_AS(lpl_block_delta(Tensor::from_vector(gv, {N, C}, d), a, amd, &p3, true),
                       doctest::Contains("2x2 stride-2 max-pool without padding only, got kernel 3x3"), Error);
  CHECK_THROWS_WITH_AS(lpl_block_delta(Tensor::from_vector(gv, {N, C}, d), a, amd, nullptr, true),
                       doctest::Contains("come together"), Error);
}
LPL_TEST_ON_DEVICES("block delta routes through average pool, max-pool arg-max and ReLU mask", block_delta)

// Odd maps (the pool drops the last row and column), ReLU zeros tying inside windows, and both a
// pooled and a per-position (no_pooling) gradient: against the routing written out from the
// max-pool's own arg-max.
void block_delta_odd(Device d) {
  const int64_t N = 3, C = 4, H = 7, W = 9, PH = 3, PW = 4;
  std::vector<float> av = test::random_vec(N * C * H * W, 21, -1.f, 1.f);
  for (auto& v : av) v = v > 0.f ? v : 0.f;  // a ReLU output: many exact zeros
  const Tensor a = Tensor::from_vector(av, {N, C, H, W}, d);
  const Pool2dParams pool2;
  const MaxPoolResult mp = maxpool2d_forward(a, pool2);
  const std::vector<int32_t> am = [&] {
    const Tensor t = mp.argmax.to(cpu());
    return std::vector<int32_t>(t.data<int32_t>(), t.data<int32_t>() + t.numel());
  }();
  for (bool pooled : {true, false}) {
    CAPTURE(pooled);
    const auto gv = test::random_vec(pooled ? N * C : N * C * PH * PW, 22);
    const Tensor g = pooled ? Tensor::from_vector(gv, {N, C}, d) : Tensor::from_vector(gv, {N, C, PH, PW}, d);
    const Tensor delta = lpl_block_delta(g, a, mp.argmax, &pool2, pooled);
    std::vector<double> ref(av.size(), 0.0);
    for (int64_t nc = 0; nc < N * C; ++nc)
      for (int64_t j = 0; j < PH * PW; ++j) {
        const int64_t pos = nc * H * W + am[static_cast<size_t>(nc * PH * PW + j)];
        if (av[static_cast<size_t>(pos)] > 0.f)
          ref[static_cast<size_t>(pos)] = pooled ? gv[static_cast<size_t>(nc)] / double(PH * PW) : gv[static_cast<size_t>(nc * PH * PW + j)];
      }
    test::check_close(delta.to(cpu()).to_vector(), ref, 1e-6, 1e-7, pooled ? "pooled, odd map" : "per position, odd map");
    if (d.is_cuda()) continue;
    // The CUDA grid's split (one column pair per call) run here: the same functor, every span start.
    Tensor one = Tensor::empty(a.shape());
    const int64_t pairs = (W + 1) / 2;
    CpuLaunch{}(cpu(), N * C * H * pairs,
                kern::LplBlockDelta{g.f(), a.f(), mp.argmax.data<int32_t>(), one.f(), H, W, PH, PW, pooled,
                                    1.0f / static_cast<float>(PH * PW), pairs, 1});
    test::check_close(one.to_vector(), ref, 1e-6, 1e-7, "one pair per call");
  }
}
LPL_TEST_ON_DEVICES("block delta on odd maps, ReLU ties, pooled and per-position gradients", block_delta_odd)
