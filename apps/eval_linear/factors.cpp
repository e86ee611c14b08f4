#include "apps/eval_linear/factors.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lpl::eval {
namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double final_top1(const EvalResults& r, bool pixels) {
  if (pixels) return r.has_pixels ? r.pixels.top1 : std::nan("");
  return r.layers.empty() ? std::nan("") : r.layers.back().probe.top1;
}

std::string acc(const ProbeResult& p, bool top5) {
  const double m = top5 ? p.top5 : p.top1, sd = top5 ? p.top5_std : p.top1_std;
  return p.cross_val ? fmt::format("{:.4f}+-{:.4f}", m, sd) : fmt::format("{:.4f}", m);
}

}  // namespace

double factor_probe_mean(const std::vector<FactorResult>& f, bool pixels) {
  if (f.empty()) return std::nan("");
  double s = 0;
  for (const auto& x : f) s += final_top1(x.r, pixels);
  return s / static_cast<double>(f.size());
}

std::string factors_json(const std::vector<FactorResult>& f) {
  nlohmann::ordered_json j;
  if (!f.empty()) {
    const EvalResults& h = f.front().r;
    j["dataset"] = h.dataset;
    j["weights"] = h.weights;
    j["model_type"] = h.model_type;
    j["probe_train_size"] = h.probe_train_size;
    j["test_size"] = h.test_size;
    j["factor_probe_mean"] = num(factor_probe_mean(f, false));
    j["factor_probe_layer"] = h.layers.empty() ? 0 : h.layers.back().layer;
    if (h.has_pixels) j["pixels_factor_probe_mean"] = num(factor_probe_mean(f, true));
  }
  nlohmann::ordered_json fs = nlohmann::ordered_json::object();
  for (const auto& x : f) {
    nlohmann::ordered_json e = nlohmann::ordered_json::parse(results_json(x.r));
    for (const char* k : {"dataset", "weights", "model_type", "probe_train_size", "test_size"}) e.erase(k);
    fs[x.factor] = e;
  }
  j["factors"] = fs;
  return j.dump(2) + "\n";
}

std::string factors_table(const std::vector<FactorResult>& f) {
  std::ostringstream o;
  if (f.empty()) return "";
  const EvalResults& h = f.front().r;
  const bool px = h.has_pixels;
  const int layer = h.layers.empty() ? 0 : h.layers.back().layer;
  o << fmt::format("{} | {} | per factor, layer {} | probe-train {} / test {}\n", h.dataset, h.weights, layer,
                   h.probe_train_size, h.test_size);
  const int w = h.layers.empty() || !h.layers.back().probe.cross_val ? 7 : 15;
  o << fmt::format("{:>12} {:>7} {:>7}  {:>{}}  {:>{}}", "factor", "classes", "chance", "top-1", w, "top-5", w);
  o << (px ? fmt::format("  {:>{}}\n", "pixels top-1", std::max(w, 12)) : "\n");
  for (const auto& x : f) {
    const auto& l = x.r.layers.back().probe;
    o << fmt::format("{:>12} {:>7} {:>7.4f}  {:>{}}  {:>{}}", x.factor, x.r.num_classes,
                     x.r.num_classes > 0 ? 1.0 / x.r.num_classes : 0.0, acc(l, false), w, acc(l, true), w);
    o << (px ? fmt::format("  {:>{}}\n", acc(x.r.pixels, false), std::max(w, 12)) : "\n");
  }
  o << fmt::format("factor probe mean (mean over the {} factors of the layer-{} top-1; the paper's disentanglement "
                   "score is a different measure: lpl_shapes3d_figures --features): {:.4f}", f.size(), layer,
                   factor_probe_mean(f, false));
  if (px) o << fmt::format("; pixels {:.4f}", factor_probe_mean(f, true));
  o << "\n";
  return o.str();
}

std::string factor_yaml_path(const std::string& results_yaml, const std::string& factor) {
  return (std::filesystem::path(results_yaml).parent_path() / ("results_" + factor + ".yaml")).string();
}

}  // namespace lpl::eval
