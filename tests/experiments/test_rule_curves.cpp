// lpl_rule_curves: the LPL rule (E1) and loss curves (S1) computed with the engine's objective,
// against tests/data/experiments/rule_curves_golden.json (float64 numpy from the notebooks' formulas,
// tools/make_rule_curves_golden.py), hand values, the curves' qualitative properties and the program.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "engine/common.h"
#include "engine/file_util.h"
#include "experiments/rule_curves.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::exp;
using json = nlohmann::json;

namespace {

const json& golden() {
  static const json j = json::parse(read_file(test::data_path("experiments/rule_curves_golden.json")));
  return j;
}

// |a - b| within abs + rel |b|; NaN fails.
bool close(double a, double b, double abs_tol, double rel_tol) {
  return std::fabs(a - b) <= abs_tol + rel_tol * std::fabs(b);
}

E1Settings golden_e1() {
  E1Settings s;
  s.step = golden()["e1"]["step"].get<double>();
  s.map_nx = golden()["e1"]["map_points"][0].get<int>();
  s.map_ny = golden()["e1"]["map_points"][1].get<int>();
  return s;
}

void factors_hand_values(Device d) {
  // g = (z - zbar) / var - dz/dt: 5 / 2 - 2, 0 / 1 - 0, -10 / 0.5 - (-3).
  const auto g = lpl_postsynaptic_factors({35, 30, 20}, {2, 0, -3}, {30, 30, 30}, {2, 1, 0.5}, d);
  REQUIRE(g.size() == 3);
  CHECK(close(g[0], 0.5, 1e-5, 0));
  CHECK(close(g[1], 0.0, 1e-5, 0));
  CHECK(close(g[2], -17.0, 1e-4, 1e-6));
  // One unit alone gives the same factor as in a batch of units (the engine's 1/M is undone).
  const auto g1 = lpl_postsynaptic_factors({35}, {2}, {30}, {2}, d);
  CHECK(close(g1[0], g[0], 1e-5, 0));
}

}  // namespace

LPL_TEST_ON_DEVICES("rule curves: postsynaptic factor of the engine objective, hand values", factors_hand_values)

TEST_CASE("rule curves: bad factor inputs are refused") {
  CHECK_THROWS_WITH_AS(lpl_postsynaptic_factors({1, 2}, {0}, {0, 0}, {1, 1}), doctest::Contains("same non-zero length"),
                       Error);
  CHECK_THROWS_WITH_AS(lpl_postsynaptic_factors({1}, {0}, {0}, {1e-5}), doctest::Contains("must exceed the engine's eps"),
                       Error);
  E1Settings s;
  s.step = 0;
  CHECK_THROWS_AS(e1_curves(s), Error);
}

TEST_CASE("rule curves: E1 weight changes match the notebook's formulas (golden)") {
  const auto curves = e1_curves(golden_e1());
  const auto& g = golden()["e1"]["curves"];
  REQUIRE(curves.size() == g.size());
  REQUIRE(curves.size() == 18);
  double worst = 0;
  for (size_t c = 0; c < curves.size(); ++c) {
    const auto& a = curves[c];
    const auto& b = g[c];
    CAPTURE(a.nonlinearity);
    CAPTURE(a.panel);
    CHECK(a.nonlinearity == b["nonlinearity"].get<std::string>());
    CHECK(a.panel == b["panel"].get<std::string>());
    CHECK(a.zbar == b["zbar"].get<double>());
    CHECK(a.var == b["var"].get<double>());
    CHECK(a.dzdt == b["dzdt"].get<double>());
    REQUIRE(a.h.size() == b["h"].size());
    for (size_t i = 0; i < a.h.size(); ++i) {
      CHECK(close(a.h[i], b["h"][i].get<double>(), 1e-12, 0));
      CHECK(close(a.z[i], b["z"][i].get<double>(), 1e-12, 1e-12));
      const double want = b["dw"][i].get<double>();
      worst = std::max(worst, std::fabs(a.dw[i] - want));
      // float32 engine arithmetic on outputs up to ~60 and factors up to ~80
      if (!close(a.dw[i], want, 2e-5, 2e-5)) {
        CAPTURE(i);
        CHECK(a.dw[i] == doctest::Approx(want));
      }
    }
  }
  MESSAGE("E1 largest |dw - golden| = " << worst);
  CHECK(worst > 0);  // the engine path is float32: an exact match would mean it was bypassed
}

TEST_CASE("rule curves: E1 maps at h = 45 match the notebook's formulas (golden)") {
  const auto maps = e1_maps(golden_e1());
  const auto& g = golden()["e1"]["maps"];
  REQUIRE(maps.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    CHECK(maps[k].name == g[k]["name"].get<std::string>());
    REQUIRE(maps[k].dw.size() == g[k]["dw"].size());
    for (size_t i = 0; i < maps[k].x.size(); ++i) CHECK(close(maps[k].x[i], g[k]["x"][i].get<double>(), 1e-12, 0));
    for (size_t i = 0; i < maps[k].var.size(); ++i) CHECK(close(maps[k].var[i], g[k]["var"][i].get<double>(), 1e-12, 0));
    for (size_t i = 0; i < maps[k].dw.size(); ++i) CHECK(close(maps[k].dw[i], g[k]["dw"][i].get<double>(), 2e-5, 2e-5));
  }
}

TEST_CASE("rule curves: E1 depresses below zbar and potentiates above it") {
  E1Settings fine;
  fine.step = 0.5;
  for (const auto& c : e1_curves(fine)) {
    CAPTURE(c.nonlinearity);
    CAPTURE(c.panel);
    CAPTURE(c.dzdt);
    // Sign change where the factor vanishes: z = zbar + var dz/dt.
    const double threshold = c.zbar + c.var * c.dzdt;
    int below = 0, above = 0;
    for (size_t i = 0; i < c.h.size(); ++i) {
      if (!(c.h[i] > 0) || !(rate_derivative(c.nonlinearity == "relu" ? RateFn::relu : RateFn::rajan, c.h[i] - 6) > 0))
        continue;  // no input or a silent slope: no change at all
      if (c.z[i] < threshold - 0.5) {
        CHECK(c.dw[i] < 0);
        ++below;
      } else if (c.z[i] > threshold + 0.5) {
        CHECK(c.dw[i] > 0);
        ++above;
      }
    }
    CHECK(below > 3);
    CHECK(above > 3);
  }
  // A larger running variance scales the Hebbian change down (dz/dt = 0): var 2 is half of var 1.
  const auto curves = e1_curves(golden_e1());
  const RuleCurve *v1 = nullptr, *v2 = nullptr;
  for (const auto& c : curves) {
    if (c.nonlinearity != "rajan" || c.panel != "variance") continue;
    if (c.var == 1) v1 = &c;
    if (c.var == 2) v2 = &c;
  }
  REQUIRE(v1 != nullptr);
  REQUIRE(v2 != nullptr);
  for (size_t i = 0; i < v1->h.size(); ++i) CHECK(close(v2->dw[i], 0.5 * v1->dw[i], 1e-5, 1e-4));
}

TEST_CASE("rule curves: S1 loss terms match the notebook's formulas (golden)") {
  const auto rows = s1_rows(S1Settings{});
  const auto& g = golden()["s1"];
  REQUIRE(rows.size() == g["D"].size());
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    CAPTURE(r.D);
    CHECK(close(r.D, g["D"][i].get<double>(), 1e-12, 1e-12));
    CHECK(close(r.pred, g["pred"][i].get<double>(), 1e-12, 1e-6));
    CHECK(close(r.engine_hebb, g["engine_hebb"][i].get<double>(), 1e-6, 1e-6));
    CHECK(close(r.var, g["var"][i].get<double>(), 1e-12, 1e-5));
    CHECK(close(r.neg_var, g["neg_var"][i].get<double>(), 1e-12, 1e-5));
    CHECK(close(r.neg_logvar, g["neg_logvar"][i].get<double>(), 1e-5, 0));
    CHECK(close(r.sfa, g["sfa"][i].get<double>(), 1e-9, 1e-5));
    CHECK(close(r.hinge, g["hinge"][i].get<double>(), 1e-6, 0));
  }
}

TEST_CASE("rule curves: S1 only the log-variance and hinge forms keep the objects at a finite distance") {
  const auto rows = s1_rows(S1Settings{});
  auto argmin = [&](double S1Row::*form) {
    size_t k = 0;
    for (size_t i = 1; i < rows.size(); ++i)
      if (rows[i].pred + rows[i].*form < rows[k].pred + rows[k].*form) k = i;
    return k;
  };
  // pred - log var = D^2 / 8 - log(5 D^2 / 16): minimum at D = sqrt(8).
  const size_t klog = argmin(&S1Row::neg_logvar);
  CHECK(std::fabs(rows[klog].D - std::sqrt(8.0)) < 0.21);
  // pred + max(0, 1 - sd): minimum where sd = 1, D = 4 / sqrt(5).
  const size_t khinge = argmin(&S1Row::hinge);
  CHECK(std::fabs(rows[khinge].D - 4 / std::sqrt(5.0)) < 0.21);
  // -var and 1 - var overwhelm the predictive term: the total only falls with D (runaway).
  for (double S1Row::*form : {&S1Row::neg_var, &S1Row::sfa}) {
    CHECK(argmin(form) == rows.size() - 1);
    for (size_t i = 1; i < rows.size(); ++i) CHECK(rows[i].pred + rows[i].*form < rows[i - 1].pred + rows[i - 1].*form);
  }
}

TEST_CASE("lpl_rule_curves program: files, refusals and bad flags" *
          doctest::skip(!std::filesystem::exists(test::built_program("lpl_rule_curves")))) {
  test::TmpDir tmp("rule_curves");
  const std::string prog = test::built_program("lpl_rule_curves");
  const std::string out = tmp / "out";
  auto r = test::run_cmd(prog + " --out " + out + " --step 2 --map_points 11x5 --no_plot");
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const char* f : {"e1_curves.csv", "e1_maps.csv", "s1_losses.csv", "rule_curves.json"})
    CHECK(std::filesystem::exists(out + "/" + f));
  const json j = json::parse(read_file(out + "/rule_curves.json"));
  CHECK(j["s1"]["minimum_of_pred_plus"]["neg_logvar"]["interior"].get<bool>());
  CHECK_FALSE(j["s1"]["minimum_of_pred_plus"]["neg_var"]["interior"].get<bool>());
  // The CSV holds what the library computes: 18 curves of 40 (rajan) or 25 (relu) points.
  std::ifstream in(out + "/e1_curves.csv");
  size_t lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  CHECK(lines == 1 + 9 * 40 + 9 * 25);

  r = test::run_cmd(prog + " --out " + out + " --no_plot");
  CHECK(r.status != 0);
  CHECK(r.output.find("exists (pass --overwrite") != std::string::npos);
  CHECK(test::run_cmd(prog + " --out " + out + " --no_plot --overwrite --step 4").status == 0);
  r = test::run_cmd(prog + " --out " + out + " --step -1");
  CHECK(r.status != 0);
  CHECK(r.output.find("--step") != std::string::npos);
  r = test::run_cmd(prog + " --out " + out + " --map_points 99");
  CHECK(r.status != 0);
  CHECK(r.output.find("NXxNY") != std::string::npos);
  r = test::run_cmd(prog + " --bogus");
  CHECK(r.status != 0);
  CHECK(r.output.find("unknown argument --bogus") != std::string::npos);
  CHECK(test::run_cmd(prog).status != 0);
}
