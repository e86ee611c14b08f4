// The negative-sample baseline's layer objective (--use_negative_samples): golden terms and
// gradients from PyTorch autograd in float64 (tools/make_negative_samples_golden.py), loss terms
// against a float64 reference written from the definitions, and dL/dz against central finite
// differences of that reference, on both backends.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/lpl_ops.h"
#include "lpl/lpl_reference.h"
#include "lpl/objective_check.h"
#include "test_util.h"

using namespace lpl;

namespace {

using Run = test::ObjectiveRun;

Run run_negative(Device d, const std::vector<float>& z, int64_t B, int64_t M, LplCoeffs c, const Tensor* perm = nullptr) {
  LplObjectiveArgs args;
  args.coeffs = c;
  args.negative_samples = true;
  args.positive_perm = perm;
  return test::run_objective(d, z, Shape({2 * B, M}), args);
}

void check_negative(const test::RefNegative& ref, const std::vector<float>& z, const Run& r, const std::string& what) {
  test::check_against_fd(ref, z, r, what);
}

}  // namespace

static void negative_golden(Device d) {
  const char* dir = std::getenv("LPL_TEST_DATA");
  std::ifstream f(std::string(dir ? dir : "data") + "/lpl/negative_samples_objective.json");
  REQUIRE_MESSAGE(f.good(), "missing tests/data/lpl/negative_samples_objective.json");
  const nlohmann::json j = nlohmann::json::parse(f);
  REQUIRE(j["cases"].size() == 3);
  for (const auto& c : j["cases"]) {
    const int64_t B = c["B"], M = c["M"];
    std::vector<float> z = c["z1"].get<std::vector<float>>();
    auto z2 = c["z2"].get<std::vector<float>>();
    z.insert(z.end(), z2.begin(), z2.end());
    const LplCoeffs coeffs{c["coeffs"][0].get<float>(), c["coeffs"][1].get<float>(), 0.f};
    Run r = run_negative(d, z, B, M, coeffs);
    const std::string what = "golden B=" + std::to_string(B) + " M=" + std::to_string(M);
    CHECK_MESSAGE(r.terms.pull == doctest::Approx(c["pull"].get<double>()).epsilon(1e-5), what);
    CHECK_MESSAGE(r.terms.push == doctest::Approx(c["push"].get<double>()).epsilon(1e-5), what);
    CHECK_MESSAGE(r.terms.weighted(coeffs) == doctest::Approx(c["total"].get<double>()).epsilon(1e-5), what);
    test::check_golden_gradient(r, c, what);
  }
}
LPL_TEST_ON_DEVICES("negative-sample objective matches PyTorch autograd golden terms and gradients", negative_golden)

static void negative_terms_and_gradient(Device d) {
  struct Case {
    const char* name;
    int64_t B, M;
    LplCoeffs c;
    float lo, hi;
  };
  for (Case cs : {Case{"defaults B=6 M=5", 6, 5, {1, 1, 0}, -1.f, 1.f},
                  Case{"pull only", 5, 7, {1, 0, 0}, -1.f, 1.f},
                  Case{"push only", 4, 9, {0, 1, 0}, -1.f, 1.f},
                  Case{"other coefficients, non-negative z (a ReLU projector)", 7, 6, {0.5f, 3.f, 0}, 0.f, 2.f},
                  Case{"large z (the norm divides it out)", 6, 5, {1, 1, 0}, -300.f, 300.f}}) {
    auto z = test::random_vec(static_cast<size_t>(2 * cs.B * cs.M), 17 + static_cast<uint32_t>(cs.M), cs.lo, cs.hi);
    test::RefNegative ref;
    ref.pull_coeff = cs.c.pull;
    ref.push_coeff = cs.c.push;
    ref.B = cs.B;
    ref.M = cs.M;
    check_negative(ref, z, run_negative(d, z, cs.B, cs.M, cs.c), cs.name);
  }
  // Identical views: the pull term is -1 (every positive pair has cosine 1).
  {
    const int64_t B = 4, M = 3;
    auto v = test::random_vec(B * M, 3);
    std::vector<float> z = v;
    z.insert(z.end(), v.begin(), v.end());
    Run r = run_negative(d, z, B, M, {1, 1, 0});
    CHECK(r.terms.pull == doctest::Approx(-1.0).epsilon(1e-6));
  }
}
LPL_TEST_ON_DEVICES("negative-sample objective: terms match the float64 reference, dL/dz finite differences",
                    negative_terms_and_gradient)

static void negative_shuffled(Device d) {
  const int64_t B = 6, M = 5;
  auto z = test::random_vec(2 * B * M, 44);
  std::vector<int> perm{3, 0, 5, 1, 4, 2};
  Tensor p = Tensor::empty({B}, cpu(), DType::I32);
  std::copy(perm.begin(), perm.end(), p.data<int32_t>());
  Tensor pd = p.to(d);
  test::RefNegative ref;
  ref.B = B;
  ref.M = M;
  ref.perm = perm;
  Run r = run_negative(d, z, B, M, {1, 1, 0}, &pd);
  check_negative(ref, z, r, "negative samples with shuffle_positives");
  test::RefNegative plain = ref;
  plain.perm.clear();
  CHECK(std::abs(plain.terms({z.begin(), z.end()}).pull - r.terms.pull) > 1e-3);
}
LPL_TEST_ON_DEVICES("negative-sample objective with shuffled positives: finite differences", negative_shuffled)

static void negative_zero_row(Device d) {
  // A silent unit's row (all zeros after a ReLU) is normalised with F.normalize's clamp: finite terms.
  const int64_t B = 4, M = 3;
  auto z = test::random_vec(2 * B * M, 5);
  std::fill(z.begin(), z.begin() + M, 0.f);
  Run r = run_negative(d, z, B, M, {1, 1, 0});
  test::RefNegative ref;
  ref.B = B;
  ref.M = M;
  auto t = ref.terms({z.begin(), z.end()});
  CHECK(r.terms.pull == doctest::Approx(t.pull).epsilon(1e-5));
  CHECK(r.terms.push == doctest::Approx(t.push).epsilon(1e-5));
  for (float g : r.dz) CHECK(std::isfinite(g));
}
LPL_TEST_ON_DEVICES("negative-sample objective: an all-zero row gives finite terms and gradients", negative_zero_row)

TEST_CASE("negative-sample objective refuses unpooled maps and stale estimates") {
  Tensor terms = lpl_terms_buffer(cpu(), 1);
  LplObjectiveArgs args;
  args.negative_samples = true;
  args.no_pooling = true;
  Tensor z = Tensor::zeros({4, 2, 2, 2}), dz = Tensor::zeros({4, 2, 2, 2});
  CHECK_THROWS_WITH_AS(lpl_objective(z, dz, terms, 0, args),
                       "lpl_objective: the negative-sample objective takes pooled z [2B, M] and no stale estimates", Error);
}
