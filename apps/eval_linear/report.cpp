#include "apps/eval_linear/report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/common.h"
#include "engine/file_util.h"
#include "engine/plot_tool.h"

namespace lpl::eval {
namespace {

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

void add_probe(nlohmann::ordered_json& j, const ProbeResult& p) {
  j["top1"] = num(p.top1);
  j["top5"] = num(p.top5);
  if (p.cross_val) {
    j["top1_std"] = num(p.top1_std);
    j["top5_std"] = num(p.top5_std);
    nlohmann::json f1 = nlohmann::json::array(), f5 = nlohmann::json::array();
    for (const auto& f : p.folds) f1.push_back(num(f.top1)), f5.push_back(num(f.top5));
    j["folds_top1"] = f1;
    j["folds_top5"] = f5;
  }
}

std::string yaml_float(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

double metric(const LayerResult& l, const std::string& key) {
  for (const auto& [k, v] : l.metrics)
    if (k == key) return v;
  return std::nan("");
}

std::string fmt_acc(const ProbeResult& p, bool top5) {
  const double m = top5 ? p.top5 : p.top1, s = top5 ? p.top5_std : p.top1_std;
  return p.cross_val ? fmt::format("{:.4f}+-{:.4f}", m, s) : fmt::format("{:.4f}", m);
}

std::string fmt_num(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "-"; }

}  // namespace

std::string metric_key(const std::string& name) {
  if (name == "Cosine Metrics/ratio") return "cosine_ratio";
  const size_t slash = name.find('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::string results_json(const EvalResults& r) {
  nlohmann::ordered_json j;
  j["dataset"] = r.dataset;
  j["weights"] = r.weights;
  j["model_type"] = r.model_type;
  j["num_classes"] = r.num_classes;
  j["chance"] = r.num_classes > 0 ? 1.0 / r.num_classes : 0.0;
  j["probe_train_size"] = r.probe_train_size;
  j["test_size"] = r.test_size;
  j["layers"] = nlohmann::json::array();
  for (const auto& l : r.layers) {
    nlohmann::ordered_json e;
    e["layer"] = l.layer;
    e["dim"] = l.dim;
    add_probe(e, l.probe);
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : l.metrics) m[k] = num(v);
    e["metrics"] = m;
    j["layers"].push_back(e);
  }
  if (r.has_pixels) {
    nlohmann::ordered_json p;
    add_probe(p, r.pixels);
    j["pixels"] = p;
  }
  return j.dump(2) + "\n";
}

std::string results_table(const EvalResults& r) {
  std::ostringstream o;
  o << fmt::format("{} | {} | {} classes (chance {:.4f}) | probe-train {} / test {}\n", r.dataset, r.weights,
                   r.num_classes, r.num_classes > 0 ? 1.0 / r.num_classes : 0.0, r.probe_train_size, r.test_size);
  const bool cv = !r.layers.empty() && r.layers[0].probe.cross_val;
  const int w = cv ? 15 : 7;
  o << fmt::format("{:>6} {:>5}  {:>{}}  {:>{}}  {:>9} {:>9} {:>9} {:>9}\n", "layer", "dim", "top-1", w, "top-5", w,
                   "PR(test)", "mean act", "cos ratio", "class dim");
  for (const auto& l : r.layers)
    o << fmt::format("{:>6} {:>5}  {:>{}}  {:>{}}  {:>9} {:>9} {:>9} {:>9}\n", l.layer, l.dim, fmt_acc(l.probe, false),
                     w, fmt_acc(l.probe, true), w, fmt_num(metric(l, "participation_ratio")),
                     fmt_num(metric(l, "mean_activation")), fmt_num(metric(l, "cosine_ratio")),
                     fmt_num(metric(l, "mean_class_dim")));
  if (r.has_pixels)
    o << fmt::format("{:>6} {:>5}  {:>{}}  {:>{}}\n", "pixels", "", fmt_acc(r.pixels, false), w, fmt_acc(r.pixels, true), w);
  return o.str();
}

bool yaml_has_key(const std::string& path, const std::string& key) {
  if (!file_exists(path)) return false;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return true;
  return false;
}

bool append_results_yaml(const std::string& path, const std::string& key, const EvalResults& r) {
  std::string existing = file_exists(path) ? read_file(path) : "";
  auto has_key = [&](const std::string& k) {
    std::istringstream in(existing);
    for (std::string line; std::getline(in, line);)
      if (line.rfind(k + ":", 0) == 0) return true;
    return false;
  };
  // One run's accuracies: [acc] or the fold accuracies, as eval.py stores them.
  auto values = [](const ProbeResult& p, bool top5) {
    std::vector<double> v;
    if (p.cross_val)
      for (const auto& f : p.folds) v.push_back(top5 ? f.top5 : f.top1);
    else
      v.push_back(top5 ? p.top5 : p.top1);
    return v;
  };
  // yaml.dump block style: a list of lists is "- - a\n  - b\n" at the given indent.
  auto nested = [&](bool top5) {
    std::string s;
    for (const auto& l : r.layers) {
      const auto v = values(l.probe, top5);
      for (size_t i = 0; i < v.size(); ++i) s += (i == 0 ? "  - - " : "    - ") + yaml_float(v[i]) + "\n";
    }
    return s;
  };
  auto flat = [&](const std::vector<double>& v, const std::string& indent) {
    std::string s;
    for (double x : v) s += indent + "- " + yaml_float(x) + "\n";
    return s;
  };
  std::string add;
  const bool had = has_key(key);
  if (!had) {
    // {'acc': [[..] per layer], 'mean_acts': [..], 'pr': [..], 'top_5': [[..]]} with sorted keys.
    std::vector<double> acts, prs;
    for (const auto& l : r.layers) {
      acts.push_back(metric(l, "mean_activation"));
      prs.push_back(metric(l, "participation_ratio"));
    }
    add += key + ":\n  acc:\n" + nested(false) + "  mean_acts:\n" + flat(acts, "  ") + "  pr:\n" + flat(prs, "  ") +
           "  top_5:\n" + nested(true);
  }
  if (r.has_pixels && !has_key("pixels"))
    add += "pixels:\n  acc:\n" + flat(values(r.pixels, false), "  ") + "  top_5:\n" + flat(values(r.pixels, true), "  ");
  if (add.empty()) return !had;
  if (!existing.empty() && existing.back() != '\n') existing += '\n';
  atomic_write_file(path, existing + add);
  return !had;
}

std::string draw_plots(const std::string& json_path) { return run_plot_tool("plot_eval.py", {json_path}); }

}  // namespace lpl::eval
