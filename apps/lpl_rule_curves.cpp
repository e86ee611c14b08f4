// The LPL rule and objective as curves (the original's notebooks "E1 - Learning rule visualization",
// Extended Data Fig. 1, and "S1 - Loss-function visualization", Fig. S1), computed with the engine's
// layer objective (experiments/rule_curves.h says how). Writes into --out:
//   e1_curves.csv   nonlinearity, panel, zbar, var, dzdt, h, z, dw (weight change vs output z)
//   e1_maps.csv     map, h, x, var, dw (dw at h = 45 over dz/dt x var and zbar x var)
//   s1_losses.csv   D, pred, engine_hebb, var, neg_var, neg_logvar, sfa, hinge
//   rule_curves.json  settings and the curves' landmarks (sign changes, minima)
// and the PNGs of tools/plot_rule_curves.py (a missing matplotlib is reported, not fatal).
//   lpl_rule_curves --out DIR [--step 0.1] [--map_points 99x49] [--s1_points 50] [--device cpu]
//                   [--no_plot] [--overwrite]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/common.h"
#include "engine/csv_table.h"
#include "engine/file_util.h"
#include "engine/plot_tool.h"
#include "experiments/rule_curves.h"

using namespace lpl;
using namespace lpl::exp;

namespace {

const char* kUsage =
    "usage: lpl_rule_curves --out DIR [--step H] [--map_points NXxNY] [--s1_points N] [--device cpu|cuda[:i]] "
    "[--no_plot] [--overwrite]";

double number(const std::string& flag, const std::string& v) {
  size_t pos = 0;
  double x = 0;
  try { x = std::stod(v, &pos); } catch (const std::exception&) { pos = 0; }
  if (v.empty() || pos != v.size() || !std::isfinite(x)) fail("lpl_rule_curves: " + flag + " wants a number, got '" + v + "'");
  return x;
}

int integer(const std::string& flag, const std::string& v) {
  const double x = number(flag, v);
  if (x != std::floor(x) || x < 1 || x > 1e6) fail("lpl_rule_curves: " + flag + " wants a positive integer, got '" + v + "'");
  return static_cast<int>(x);
}

// Where dw changes sign (linear interpolation in z) on a curve with dz/dt = 0 and a positive input.
double sign_change_z(const RuleCurve& c) {
  for (size_t i = 1; i < c.dw.size(); ++i)
    if (c.h[i - 1] > 0 && c.dw[i - 1] < 0 && c.dw[i] >= 0)
      return c.z[i - 1] + (c.z[i] - c.z[i - 1]) * (-c.dw[i - 1]) / (c.dw[i] - c.dw[i - 1]);
  return std::nan("");
}

// The D of the smallest total loss pred + form over the grid, and whether it is interior.
nlohmann::json minimum(const std::vector<S1Row>& rows, double S1Row::*form) {
  size_t best = 0;
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i].pred + rows[i].*form < rows[best].pred + rows[best].*form) best = i;
  return {{"D", rows[best].D}, {"total", rows[best].pred + rows[best].*form},
          {"interior", best > 0 && best + 1 < rows.size()}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string out, device = "cpu";
    E1Settings e1;
    S1Settings s1;
    bool plot = true, overwrite = false;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) fail("lpl_rule_curves: " + a + " needs a value\n" + kUsage);
        return argv[++i];
      };
      if (a == "--out") out = value();
      else if (a == "--step") {
        e1.step = number(a, value());
        if (!(e1.step > 0 && e1.step <= 10)) fail("lpl_rule_curves: --step must be in (0, 10]");
      } else if (a == "--map_points") {
        const std::string v = value();
        const size_t x = v.find('x');
        if (x == std::string::npos) fail("lpl_rule_curves: --map_points wants NXxNY (e.g. 99x49), got '" + v + "'");
        e1.map_nx = integer(a, v.substr(0, x));
        e1.map_ny = integer(a, v.substr(x + 1));
        if (e1.map_nx < 2 || e1.map_ny < 2) fail("lpl_rule_curves: --map_points needs at least 2x2");
      } else if (a == "--s1_points") {
        s1.points = integer(a, value());
        if (s1.points < 2) fail("lpl_rule_curves: --s1_points must be >= 2");
      } else if (a == "--device") device = value();
      else if (a == "--no_plot") plot = false;
      else if (a == "--overwrite") overwrite = true;
      else if (a == "--help" || a == "-h") { std::puts(kUsage); return 0; }
      else fail("lpl_rule_curves: unknown argument " + a + "\n" + kUsage);
    }
    if (out.empty()) fail(std::string("lpl_rule_curves: --out is required\n") + kUsage);
    e1.device = s1.device = parse_device(device);
    const std::string p_curves = out + "/e1_curves.csv", p_maps = out + "/e1_maps.csv",
                      p_s1 = out + "/s1_losses.csv", p_json = out + "/rule_curves.json";
    for (const auto& p : {p_curves, p_maps, p_s1, p_json})
      if (file_exists(p) && !overwrite) fail("lpl_rule_curves: " + p + " exists (pass --overwrite to replace it)");
    make_dirs(out);
    const auto t0 = std::chrono::steady_clock::now();

    std::printf("E1: weight change vs output, rajan and relu rate functions (input step %g)\n", e1.step);
    const auto curves = e1_curves(e1);
    CsvTable tc({"nonlinearity", "panel", "zbar", "var", "dzdt", "h", "z", "dw"});
    nlohmann::ordered_json landmarks = nlohmann::ordered_json::array();
    for (const auto& c : curves) {
      for (size_t i = 0; i < c.h.size(); ++i)
        tc.add_cells({c.nonlinearity, c.panel, csv_number(c.zbar), csv_number(c.var), csv_number(c.dzdt),
                      csv_number(c.h[i]), csv_number(c.z[i]), csv_number(c.dw[i])});
      const double zc = sign_change_z(c);
      landmarks.push_back({{"nonlinearity", c.nonlinearity}, {"panel", c.panel}, {"zbar", c.zbar}, {"var", c.var},
                           {"dzdt", c.dzdt}, {"sign_change_z", std::isfinite(zc) ? nlohmann::json(zc) : nullptr}});
    }
    tc.write(p_curves);

    std::printf("E1: dw at h = 45 over %dx%d grids\n", e1.map_nx, e1.map_ny);
    CsvTable tm({"map", "h", "x", "var", "dw"});
    for (const auto& m : e1_maps(e1))
      for (size_t j = 0; j < m.var.size(); ++j)
        for (size_t i = 0; i < m.x.size(); ++i)
          tm.add_cells({m.name, csv_number(m.h), csv_number(m.x[i]), csv_number(m.var[j]),
                        csv_number(m.dw[j * m.x.size() + i])});
    tm.write(p_maps);

    std::printf("S1: loss terms vs object distance D (%d points)\n", s1.points);
    const auto rows = s1_rows(s1);
    CsvTable ts({"D", "pred", "engine_hebb", "var", "neg_var", "neg_logvar", "sfa", "hinge"});
    for (const auto& r : rows) ts.add({r.D, r.pred, r.engine_hebb, r.var, r.neg_var, r.neg_logvar, r.sfa, r.hinge});
    ts.write(p_s1);

    nlohmann::ordered_json j;
    j["e1"] = {{"eta", e1.eta}, {"step", e1.step}, {"map_points", {e1.map_nx, e1.map_ny}}, {"curves", landmarks}};
    j["s1"] = {{"points", s1.points},
               {"batch", 8 * s1.repeats},
               {"minimum_of_pred_plus",
                {{"neg_var", minimum(rows, &S1Row::neg_var)},
                 {"neg_logvar", minimum(rows, &S1Row::neg_logvar)},
                 {"sfa", minimum(rows, &S1Row::sfa)},
                 {"hinge", minimum(rows, &S1Row::hinge)}}}};
    j["device"] = e1.device.str();
    atomic_write_file(p_json, j.dump(2) + "\n");
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s, %s, %s, %s (%.2f s)\n", p_curves.c_str(), p_maps.c_str(), p_s1.c_str(), p_json.c_str(), secs);
    if (plot) {
      plot_and_report("plot_rule_curves.py", {out}, out + "/e1_rule_curves.png, e1_maps.png, s1_losses.png");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
