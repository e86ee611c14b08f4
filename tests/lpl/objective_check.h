// Shared by the objective tests: run a layer objective on a backend, and check its loss terms
// against a float64 reference and its dL/dz against central finite differences of that reference.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/lpl_ops.h"
#include "test_util.h"

namespace lpl::test {

struct ObjectiveRun {
  std::vector<float> dz;
  LplTerms terms;
};

// Writes into slot 1 of a two-slot terms buffer and checks that slot 0 stays untouched; dz starts
// as 123 everywhere, so an element the kernel forgets to write shows.
inline ObjectiveRun run_objective(Device d, const std::vector<float>& z, const Shape& shape, const LplObjectiveArgs& args) {
  Tensor zt = Tensor::from_vector(z, shape, d);
  Tensor dz = Tensor::full(shape, 123.f, d);
  Tensor terms = lpl_terms_buffer(d, 2);
  lpl_objective(zt, dz, terms, 1, args);
  auto all = lpl_terms_read(terms);
  CHECK(all[0].pull == 0.0);
  return {dz.to_vector(), all[1]};
}

// Ref: terms(z) -> {pull, push, decorr} and loss(z) -> the weighted objective, in float64.
template <class Ref>
void check_against_fd(const Ref& ref, const std::vector<float>& z, const ObjectiveRun& r, const std::string& what) {
  std::vector<double> zd(z.begin(), z.end());
  auto t = ref.terms(zd);
  CHECK_MESSAGE(r.terms.pull == doctest::Approx(t.pull).epsilon(1e-5), what << " pull");
  CHECK_MESSAGE(r.terms.push == doctest::Approx(t.push).epsilon(1e-5), what << " push");
  CHECK_MESSAGE(r.terms.decorr == doctest::Approx(t.decorr).epsilon(1e-4), what << " decorr");
  auto fd = finite_diff(zd, [&](const std::vector<double>& x) { return ref.loss(x); }, 1e-4);
  const double scale = max_abs(fd);
  REQUIRE(scale > 0);
  check_close(r.dz, fd, 2e-3, 2e-4 * scale, what + " dL/dz vs finite differences");
}

// dL/dz against a golden case's "grad_z1" and "grad_z2" (float64 from PyTorch autograd), view 1 rows
// first, relative to the largest golden entry.
inline void check_golden_gradient(const ObjectiveRun& r, const nlohmann::json& c, const std::string& what) {
  auto g = c["grad_z1"].get<std::vector<double>>();
  auto g2 = c["grad_z2"].get<std::vector<double>>();
  g.insert(g.end(), g2.begin(), g2.end());
  check_close(r.dz, g, 1e-4, 1e-5 * max_abs(g), what + " gradient");
}

}  // namespace lpl::test
