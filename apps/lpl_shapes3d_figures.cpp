// Shapes3D figures (ED Figs. 5-6, notebook "E5 - 3D shapes"): trajectory statistics and transition
// probabilities of a trajectory file, and disentanglement scores of networks, as CSV/JSON in --out
// plus PNGs drawn by tools/plot_shapes3d.py. See experiments/shapes3d_figures.h for the definitions.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/npy.h"
#include "data/shapes3d.h"
#include "engine/common.h"
#include "engine/csv_table.h"
#include "engine/file_util.h"
#include "engine/flags.h"
#include "engine/plot_tool.h"
#include "experiments/shapes3d_figures.h"

using namespace lpl;
using namespace lpl::exp;
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage = R"(usage: lpl_shapes3d_figures --out DIR [inputs] [options]

Inputs (at least one):
  --trajectories FILE.npy  int64 sequences x frames flat image indices (make_shapes3d_trajectories)
  --eval LABEL=FILE        eval_linear --dataset shapes3d's eval.json: per-factor probe accuracies and
                           their mean (eval_linear's factor_probe_mean); repeatable
  --features LABEL=PATH    features for the notebook's majority-vote disentanglement score: a directory
                           written by eval_linear --save_features (DIR/probe_train: the highest
                           layer_<k>.npy, or --layer K, and factor_labels.npy), or an N x D float .npy
                           with --factor_labels; repeatable (e.g. LPL=.. pred_off=.. random=..)
  --pixels DATA_DIR        the majority-vote score of the pixels (label "pixels"): the first
                           --pixels_rows (20000) images of the probe-training split of DATA_DIR/3dshapes.h5
Options:
  --sizes A,B,C,D,E,F      factor sizes (default 10,10,10,8,4,15: the real 3dshapes.h5)
  --across_sequences       count transitions across sequence boundaries too (the notebook's count of
                           its flattened index array); default: within sequences only
  --examples N (4)         example sequences listed for the frame strip
  --h5 FILE                3dshapes.h5: the plot shows the example sequences' frames
  --factor_labels FILE     N x 6 int64 factor values of the rows of a --features .npy file
  --layer K                the layer_<K>.npy of a --features directory
  --pixels_rows N (20000)  images for --pixels (each is a 3 x 64 x 64 feature vector)
  --vote_batch N (4000)  --votes_per_value N (10)  --vote_reps N (10)  --seed N (0)
  --overwrite              replace earlier outputs in DIR
  --no_plot                skip the PNGs
)";

struct Args {
  std::string out, trajectories, h5, factor_labels, pixels;
  std::vector<std::pair<std::string, std::string>> evals, features;
  FactorSizes sizes = data::kShapes3dFactorSizes;
  bool across = false, overwrite = false, no_plot = false;
  int64_t examples = 4, layer = -1, pixels_rows = 20000;
  VoteOptions vote;
};

std::pair<std::string, std::string> labelled(const std::string& flag, const std::string& v) {
  const auto eq = v.find('=');
  LPL_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < v.size(),
            fmt::format("{}: want LABEL=PATH, got '{}'", flag, v));
  const std::string label = v.substr(0, eq);
  LPL_CHECK(label.find_first_of(",\"\n") == std::string::npos, fmt::format("{}: the label '{}' may not hold , \" or a newline", flag, label));
  return {label, v.substr(eq + 1)};
}

Args parse(int argc, char** argv) {
  Args a;
  for (FlagLoop flags(argc, argv, kUsage, {"--eval", "--features"}); flags.next();) {  // those two repeat
    const std::string f = flags.flag();
    auto value = [&] { return flags.value(); };
    auto positive = [&](int64_t lo) {
      const int64_t x = parse_int_flag(f, value());
      LPL_CHECK(x >= lo, fmt::format("{}: want an integer >= {}, got {}", f, lo, x));
      return x;
    };
    if (f == "--out") a.out = value();
    else if (f == "--trajectories") a.trajectories = value();
    else if (f == "--eval") a.evals.push_back(labelled(f, value()));
    else if (f == "--features") a.features.push_back(labelled(f, value()));
    else if (f == "--h5") a.h5 = value();
    else if (f == "--factor_labels") a.factor_labels = value();
    else if (f == "--pixels") a.pixels = value();
    else if (f == "--pixels_rows") a.pixels_rows = positive(1);
    else if (f == "--layer") a.layer = positive(1);
    else if (f == "--examples") a.examples = positive(0);
    else if (f == "--vote_batch") a.vote.batch_size = positive(2);
    else if (f == "--votes_per_value") a.vote.per_value = static_cast<int>(std::min<int64_t>(positive(1), 1 << 20));
    else if (f == "--vote_reps") a.vote.reps = static_cast<int>(std::min<int64_t>(positive(1), 1 << 20));
    else if (f == "--seed") a.vote.seed = static_cast<uint64_t>(positive(0));
    else if (f == "--across_sequences") a.across = true;
    else if (f == "--overwrite") a.overwrite = true;
    else if (f == "--no_plot") a.no_plot = true;
    else if (f == "--sizes") {
      const std::string v = value();
      std::smatch m;
      static const std::regex re(R"((\d+),(\d+),(\d+),(\d+),(\d+),(\d+))");
      LPL_CHECK(std::regex_match(v, m, re), fmt::format("--sizes: want six positive integers A,B,C,D,E,F, got '{}'", v));
      for (size_t k = 0; k < 6; ++k) {
        const int64_t s = parse_int_flag("--sizes", m[k + 1].str());
        LPL_CHECK(s >= 2 && s <= 1000, fmt::format("--sizes: every factor needs 2..1000 values, got {}", s));
        a.sizes[k] = static_cast<int>(s);
      }
    } else {
      fail(fmt::format("unknown argument '{}'\n{}", f, kUsage));
    }
  }
  LPL_CHECK(!a.out.empty(), std::string("--out is required\n") + kUsage);
  LPL_CHECK(!a.trajectories.empty() || !a.evals.empty() || !a.features.empty() || !a.pixels.empty(),
            std::string("nothing to do: give --trajectories, --eval, --features or --pixels\n") + kUsage);
  LPL_CHECK(a.h5.empty() || !a.trajectories.empty(), "--h5 shows frames of --trajectories: give both");
  if (!a.h5.empty()) LPL_CHECK(fs::exists(a.h5), fmt::format("--h5: {} does not exist", a.h5));
  return a;
}

// Every file the program writes, refused when present without --overwrite.
std::string out_path(const Args& a, const std::string& name) {
  const std::string p = (fs::path(a.out) / name).string();
  LPL_CHECK(a.overwrite || !fs::exists(p), fmt::format("{} exists (pass --overwrite to replace it)", p));
  return p;
}

const char* factor(size_t k) { return data::kShapes3dFactorNames[k]; }

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

void write_trajectory_outputs(const Args& a, nlohmann::ordered_json& summary) {
  const Shapes3dTrajectories t = load_shapes3d_trajectories(a.trajectories, a.sizes);
  std::printf("%s: %lld sequences x %lld frames\n", a.trajectories.c_str(), static_cast<long long>(t.sequences),
              static_cast<long long>(t.frames));
  const TrajectoryStats s = trajectory_stats(t, a.sizes, a.across);
  CsvTable moving({"factor", "sequences", "fraction"});
  for (size_t k = 0; k < 6; ++k)
    moving.add_cells({factor(k), std::to_string(s.moving[k]), csv_number(static_cast<double>(s.moving[k]) / s.sequences)});
  moving.add_cells({"none", std::to_string(s.still), csv_number(static_cast<double>(s.still) / s.sequences)});
  moving.add_cells({"several", std::to_string(s.several), csv_number(static_cast<double>(s.several) / s.sequences)});
  moving.write(out_path(a, "moving_factors.csv"));
  CsvTable steps({"factor", "step", "count"});
  CsvTable trans({"factor", "from", "to", "count", "probability"});
  for (size_t k = 0; k < 6; ++k) {
    for (size_t d = 0; d < s.step_hist[k].size(); ++d)
      steps.add_cells({factor(k), std::to_string(d), std::to_string(s.step_hist[k][d])});
    const int n = a.sizes[k];
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const size_t ij = static_cast<size_t>(i * n + j);
        trans.add_cells({factor(k), std::to_string(i), std::to_string(j), std::to_string(s.counts[k][ij]), csv_number(s.probs[k][ij])});
      }
  }
  steps.write(out_path(a, "step_sizes.csv"));
  trans.write(out_path(a, "transitions.csv"));
  CsvTable ex({"sequence", "frame", "index", "floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"});
  for (int64_t q = 0; q < std::min(a.examples, t.sequences); ++q)
    for (int64_t f = 0; f < t.frames; ++f) {
      const int64_t idx = t.index[static_cast<size_t>(q * t.frames + f)];
      const auto v = shapes3d_factor_values(idx, a.sizes);
      ex.add({static_cast<double>(q), static_cast<double>(f), static_cast<double>(idx), double(v[0]), double(v[1]),
              double(v[2]), double(v[3]), double(v[4]), double(v[5])});
    }
  ex.write(out_path(a, "example_trajectories.csv"));

  nlohmann::ordered_json j;
  j["file"] = a.trajectories;
  j["sequences"] = s.sequences;
  j["frames"] = s.frames;
  j["sizes"] = a.sizes;
  j["across_sequences"] = s.across_sequences;
  j["still_sequences"] = s.still;
  j["several_factor_sequences"] = s.several;
  nlohmann::ordered_json per = nlohmann::ordered_json::object();
  for (size_t k = 0; k < 6; ++k) {
    nlohmann::ordered_json e;
    e["moving_sequences"] = s.moving[k];
    e["order"] = s.order[k];
    e["order_recovered"] = s.order_recovered[k];
    e["step_hist"] = s.step_hist[k];
    per[factor(k)] = e;
  }
  j["factors"] = per;
  summary["trajectories"] = j;
  std::printf("moving factor per sequence:");
  for (size_t k = 0; k < 6; ++k) std::printf(" %s %lld", factor(k), static_cast<long long>(s.moving[k]));
  std::printf(" | none %lld, several %lld\n", static_cast<long long>(s.still), static_cast<long long>(s.several));
  for (size_t k = 0; k < 3; ++k)
    if (!s.order_recovered[k]) std::printf("note: no hue cycle found for %s (too few transitions?): its values stay in file order\n", factor(k));
}

// features: a --save_features directory (its layer_<k>.npy, factor_labels.npy) or an .npy file.
void load_features(const Args& a, const std::string& path, data::NpyArray& x, std::vector<int64_t>& labels, std::string& used) {
  std::string feat = path, lab = a.factor_labels;
  if (fs::is_directory(path)) {
    int best = -1;
    for (const auto& e : fs::directory_iterator(path)) {
      std::smatch m;
      const std::string name = e.path().filename().string();
      static const std::regex re(R"(layer_(\d+)\.npy)");
      if (!std::regex_match(name, m, re)) continue;
      const int k = std::stoi(m[1].str());
      if (a.layer > 0 ? k == a.layer : k > best) {
        best = k;
        feat = e.path().string();
      }
    }
    LPL_CHECK(best >= 0, a.layer > 0 ? fmt::format("--features: {} has no layer_{}.npy", path, a.layer)
                                     : fmt::format("--features: {} has no layer_<k>.npy (eval_linear --save_features writes them)", path));
    if (lab.empty()) lab = (fs::path(path) / "factor_labels.npy").string();
  }
  LPL_CHECK(!lab.empty(), fmt::format("--features {}: a .npy file needs --factor_labels", path));
  LPL_CHECK(fs::exists(feat), fmt::format("--features: {} does not exist", feat));
  x = data::load_npy_f32(feat);
  LPL_CHECK(x.shape.size() == 2 && x.shape[0] >= 1 && x.shape[1] >= 1,
            fmt::format("{}: want N x D features, got rank {}", feat, x.shape.size()));
  const data::NpyRaw l = data::read_npy(lab);
  LPL_CHECK(l.dtype == "i8" && l.shape.size() == 2 && l.shape[1] == 6,
            fmt::format("{}: want N x 6 int64 factor labels", lab));
  LPL_CHECK(l.shape[0] == x.shape[0], fmt::format("{} has {} rows but {} has {}", feat, x.shape[0], lab, l.shape[0]));
  labels.assign(l.as<int64_t>(), l.as<int64_t>() + l.numel());
  for (size_t k = 0; k < 6; ++k) {
    int64_t top = -1;
    for (size_t i = k; i < labels.size(); i += 6) top = std::max(top, labels[i]);
    LPL_CHECK(top + 1 == a.sizes[k], fmt::format("{}: its {} labels go up to {}, but --sizes gives that factor {} values "
                                                 "(pass the data set's --sizes)", lab, factor(k), top, a.sizes[k]));
  }
  for (float v : x.data) LPL_CHECK(std::isfinite(v), fmt::format("{}: holds a non-finite value", feat));
  used = feat;
}

void write_disentanglement(const Args& a, nlohmann::ordered_json& summary) {
  CsvTable scores({"label", "metric", "score", "std", "strict_score", "strict_std"});
  CsvTable probes({"label", "factor", "top1", "chance"});
  nlohmann::ordered_json runs = nlohmann::ordered_json::object();
  auto vote = [&](const std::string& label, const std::string& used, const std::vector<float>& x, int64_t n, int64_t d,
                  const std::vector<int64_t>& labels, const FactorSizes& sizes) {
    std::printf("%s: majority vote on %s (%lld x %lld), %d reps ...\n", label.c_str(), used.c_str(), static_cast<long long>(n),
                static_cast<long long>(d), a.vote.reps);
    std::fflush(stdout);
    VoteOptions o = a.vote;
    o.progress = [&](int rep, double sc) {
      std::printf("  repetition %d/%d: %.4f\n", rep + 1, o.reps, sc);
      std::fflush(stdout);
    };
    const VoteResult r = majority_vote_score(x, n, d, labels, sizes, o);
    std::printf("  score %.4f +- %.4f (strict %.4f +- %.4f); %lld constant features\n", r.score_mean, r.score_std,
                r.strict_mean, r.strict_std, static_cast<long long>(r.zero_variance));
    scores.add_cells({label, "majority_vote", csv_number(r.score_mean), csv_number(r.score_std), csv_number(r.strict_mean),
                      csv_number(r.strict_std)});
    nlohmann::ordered_json e;
    e["metric"] = "majority_vote";
    e["features"] = used;
    e["rows"] = n;
    e["dims"] = r.dims;
    e["constant_features"] = r.zero_variance;
    e["score"] = num(r.score_mean);
    e["score_std"] = num(r.score_std);
    e["strict_score"] = num(r.strict_mean);
    e["strict_score_std"] = num(r.strict_std);
    e["scores"] = r.scores;
    e["strict_scores"] = r.strict_scores;
    // Vote mass per factor of the features that got any votes (the rest are all zero).
    nlohmann::ordered_json votes = nlohmann::ordered_json::object();
    for (int64_t j = 0; j < r.dims; ++j) {
      std::vector<double> row(r.votes.begin() + j * 6, r.votes.begin() + j * 6 + 6);
      bool any = false;
      for (double v : row) any = any || v != 0;
      if (any) votes[std::to_string(j)] = row;
    }
    e["votes"] = votes;
    runs[label] = e;
  };
  for (const auto& [label, path] : a.features) {
    data::NpyArray x;
    std::vector<int64_t> labels;
    std::string used;
    load_features(a, path, x, labels, used);
    vote(label, used, x.data, x.shape[0], x.shape[1], labels, a.sizes);
  }
  if (!a.pixels.empty()) {
    data::DataOptions o;
    o.dataset = "shapes3d";
    o.data_dir = a.pixels;
    const data::DatasetSplits sp = data::load_dataset(o);
    const data::ImageSet set = data::first_images(sp.probe_train, a.pixels_rows);
    LPL_CHECK(sp.factor_sizes.size() == 6, "--pixels: the shapes3d loader gave no factor sizes");
    FactorSizes sizes{};
    for (size_t k = 0; k < 6; ++k) sizes[k] = sp.factor_sizes[k];
    const int64_t d = set.c * set.h * set.w;
    std::vector<float> x(set.pixels.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = set.pixels[i] / 255.0f;  // per-feature scaling makes normalisation moot
    const std::vector<int64_t> labels(set.factor_labels.begin(), set.factor_labels.end());
    vote("pixels", a.pixels + " (pixels)", x, set.n, d, labels, sizes);
  }
  bool pixels_done = false;
  for (const auto& [label, path] : a.evals) {
    const ProbeFactors p = read_probe_factors(path);
    scores.add_cells({label, "probe_mean", csv_number(p.score), "", "", ""});
    for (size_t k = 0; k < 6; ++k) probes.add_cells({label, factor(k), csv_number(p.top1[k]), csv_number(p.chance[k])});
    nlohmann::ordered_json e;
    e["metric"] = "probe_mean";
    e["eval"] = path;
    e["layer"] = p.layer;
    e["score"] = num(p.score);
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (size_t k = 0; k < 6; ++k) per[factor(k)] = num(p.top1[k]);
    e["top1"] = per;
    const std::string key = runs.contains(label) ? label + " (probes)" : label;
    runs[key] = e;
    std::printf("%s: probe mean over the factors (layer %d) %.4f\n", label.c_str(), p.layer, p.score);
    // The pixel probe once, from the first file that has it (unless a run is called "pixels").
    if (p.has_pixels && !pixels_done) {
      pixels_done = true;
      bool named = false;
      for (const auto& ev : a.evals) named = named || ev.first == "pixels";
      if (!named) {
        scores.add_cells({"pixels", "probe_mean", csv_number(p.pixels_score), "", "", ""});
        for (size_t k = 0; k < 6; ++k) probes.add_cells({"pixels", factor(k), csv_number(p.pixels_top1[k]), csv_number(p.chance[k])});
        std::printf("pixels: probe mean over the factors %.4f\n", p.pixels_score);
      }
    }
  }
  scores.write(out_path(a, "disentanglement.csv"));
  if (!a.evals.empty()) probes.write(out_path(a, "probe_factors.csv"));
  summary["disentanglement"] = runs;
  // The paper's numbers (spec §8; the majority-vote metric) for the plot's reference marks.
  summary["paper_majority_vote"] = {{"LPL", 0.953}, {"pred_off", 0.162}, {"random", 0.271}, {"pixels", 0.877}};
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    make_dirs(a.out);
    nlohmann::ordered_json summary;
    summary["sizes"] = a.sizes;
    if (!a.trajectories.empty()) write_trajectory_outputs(a, summary);
    if (!a.evals.empty() || !a.features.empty() || !a.pixels.empty()) write_disentanglement(a, summary);
    const std::string js = out_path(a, "shapes3d_figures.json");
    atomic_write_file(js, summary.dump(2) + "\n");
    std::printf("results: %s\n", a.out.c_str());
    std::fflush(stdout);
    if (!a.no_plot) {
      std::vector<std::string> args = {a.out};
      if (!a.h5.empty()) args.insert(args.end(), {"--h5", a.h5});
      plot_and_report("plot_shapes3d.py", args, a.out + "/*.png");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lpl_shapes3d_figures: %s\n", e.what());
    return 1;
  }
}
