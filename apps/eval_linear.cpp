// eval_linear: linear-probe evaluation of an encoder (VGG-11, AlexNet, ResNet-50) layer by layer (spec §5), the engine's
// counterpart of the original's eval.py. See --help, and apps/eval_linear/ for the parts.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "apps/eval_linear/args.h"
#include "apps/eval_linear/extract.h"
#include "apps/eval_linear/factors.h"
#include "apps/eval_linear/report.h"
#include "apps/eval_linear/run_dir.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "data/shapes3d.h"
#include "engine/app_phase.h"
#include "engine/comm.h"
#include "engine/common.h"
#include "engine/device.h"
#include "engine/file_util.h"
#include "engine/parallel.h"
#include "models/linear_probe.h"
#include "models/metrics.h"

using namespace lpl;
using namespace lpl::eval;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void save_split(const std::string& dir, const SplitFeatures& f) {
  make_dirs(dir);
  for (size_t i = 0; i < f.layers.size(); ++i)
    data::save_npy_f32(fmt::format("{}/layer_{}.npy", dir, f.layer_numbers[i]), f.layers[i].x.data(),
                       {f.layers[i].n, f.layers[i].d});
  data::save_npy_i64(dir + "/labels.npy", std::vector<int64_t>(f.labels.begin(), f.labels.end()));
}

ProbeResult run_probe(const FeatureMatrix& train, const std::vector<int32_t>& ytrain, const FeatureMatrix& test,
                      const std::vector<int32_t>& ytest, int classes, const EvalArgs& a, const ProbeOptions& po) {
  ProbeResult r;
  if (a.do_cross_val) {
    const CrossValidation cv = cross_validate_probe(train, ytrain, classes, a.folds, po, 0);
    r.cross_val = true;
    r.top1 = cv.top1_mean;
    r.top5 = cv.top5_mean;
    r.top1_std = cv.top1_std;
    r.top5_std = cv.top5_std;
    r.folds = cv.folds;
  } else {
    const ProbeAccuracy acc = train_and_test_probe(train, ytrain, test, ytest, classes, po);
    r.top1 = acc.top1;
    r.top5 = acc.top5;
  }
  return r;
}

int embed(const EvalArgs& a, const Locations& loc, Device dev) {
  const auto t0 = std::chrono::steady_clock::now();
  const data::NpyArray img = data::load_npy_f32(a.embed);
  int64_t per_image = 1;
  for (size_t i = 1; i < img.shape.size(); ++i) per_image *= img.shape[i];
  if (!img.shape.empty()) data::check_finite_images(img.data.data(), img.shape[0], per_image, "eval_linear --embed " + a.embed);
  auto net = load_network(loc.weights, a.random_init, a.encoder, a.random_seed, dev);
  const auto feats = embed_images(*net, img.data, img.shape, a.batch_size, a.last_layer_only, dev);
  const std::vector<int> numbers = probed_layers(*net, a.last_layer_only);
  make_dirs(a.save_features);
  for (size_t i = 0; i < feats.size(); ++i) {
    const std::string p = fmt::format("{}/layer_{}.npy", a.save_features, numbers[i]);
    data::save_npy_f32(p, feats[i].x.data(), {feats[i].n, feats[i].d});
    std::printf("%s: %lld x %lld\n", p.c_str(), static_cast<long long>(feats[i].n), static_cast<long long>(feats[i].d));
  }
  std::printf("embedded %lld images in %.1f s\n", static_cast<long long>(img.shape[0]), seconds_since(t0));
  return 0;
}

// The label sets one network is scored on: the dataset's labels, or (shapes3d) every factor's.
struct LabelSet {
  std::string factor;  // "" = the dataset's labels
  int classes = 0;
  std::vector<int32_t> train, test;
};

std::vector<int32_t> factor_column(const data::ImageSet& s, size_t k) {
  const size_t nf = s.n > 0 ? s.factor_labels.size() / static_cast<size_t>(s.n) : 0;
  LPL_CHECK(k < nf, fmt::format("eval_linear: the shapes3d split has no labels of factor {}", k));
  std::vector<int32_t> y(static_cast<size_t>(s.n));
  for (size_t i = 0; i < y.size(); ++i) y[i] = s.factor_labels[i * nf + k];
  return y;
}

std::vector<LabelSet> label_sets(const data::DatasetSplits& splits) {
  std::vector<LabelSet> out;
  if (splits.name != "shapes3d") {
    LabelSet l;
    l.classes = std::max(splits.probe_train.num_classes, splits.test.num_classes);
    out.push_back(l);
    return out;
  }
  LPL_CHECK(splits.factor_sizes.size() == 6, "eval_linear: the shapes3d loader gave no per-factor labels");
  for (size_t k = 0; k < 6; ++k) {
    LabelSet l;
    l.factor = data::kShapes3dFactorNames[k];
    l.classes = splits.factor_sizes[k];
    l.train = factor_column(splits.probe_train, k);
    l.test = factor_column(splits.test, k);
    out.push_back(std::move(l));
  }
  return out;
}

// What a layer's features give whatever the labels: computed once per layer.
struct LabelFree {
  double participation_ratio = 0, mean_activation = 0;
  metrics::PushMetrics push;  // on the probe-training features (unless --no_metrics)
};

// The probes of every layer (and of the pixels) on one label set.
EvalResults probe_layers(const EvalResults& header, const SplitFeatures& train, const SplitFeatures& test,
                         const LabelSet& y, const std::vector<LabelFree>& free, const EvalArgs& a,
                         const ProbeOptions& po) {
  EvalResults r = header;
  r.num_classes = y.classes;
  const auto& ytrain = y.factor.empty() ? train.labels : y.train;
  const auto& ytest = y.factor.empty() ? test.labels : y.test;
  const std::string prefix = y.factor.empty() ? "" : y.factor + " ";
  for (size_t i = 0; i < train.layers.size(); ++i) {
    const auto tl = std::chrono::steady_clock::now();
    LayerResult l;
    l.layer = train.layer_numbers[i];
    l.dim = train.layers[i].d;
    try {
      l.probe = run_probe(train.layers[i], ytrain, test.layers[i], ytest, r.num_classes, a, po);
      if (!a.no_metrics)
        for (const auto& [k, v] : metrics::named_representation_metrics(train.layers[i], ytrain, free[i].push))
          l.metrics.emplace_back(metric_key(k), v);
      l.metrics.emplace_back("participation_ratio", free[i].participation_ratio);
      l.metrics.emplace_back("mean_activation", free[i].mean_activation);
    } catch (const Error& e) {
      fail(fmt::format("{}layer {}: {}", prefix, l.layer, e.what()));
    }
    std::printf("%slayer %d (%lld): top-1 %.4f top-5 %.4f  [%.1f s]\n", prefix.c_str(), l.layer,
                static_cast<long long>(l.dim), l.probe.top1, l.probe.top5, seconds_since(tl));
    std::fflush(stdout);
    r.layers.push_back(std::move(l));
  }
  if (a.evaluate_pixel_acc) {
    r.has_pixels = true;
    r.pixels = run_probe(train.pixels, ytrain, test.pixels, ytest, r.num_classes, a, po);
    if (!y.factor.empty()) std::printf("%spixels: top-1 %.4f top-5 %.4f\n", prefix.c_str(), r.pixels.top1, r.pixels.top5);
  }
  return r;
}

void report_yaml(const std::string& path, const std::string& key, const EvalResults& r, const std::string& label) {
  if (append_results_yaml(path, key, r))
    std::printf("%s: %s (key '%s')\n", label.c_str(), path.c_str(), key.c_str());
  else
    std::printf("%s: %s already has '%s' (left as it is, as eval.py does)\n", label.c_str(), path.c_str(), key.c_str());
}

// Whether results.yaml (shapes3d: every results_<factor>.yaml) already holds the run.
bool already_evaluated(const Locations& loc, const std::string& dataset) {
  if (dataset != "shapes3d") return yaml_has_key(loc.yaml, loc.yaml_key);
  for (const char* f : data::kShapes3dFactorNames)
    if (!yaml_has_key(factor_yaml_path(loc.yaml, f), loc.yaml_key)) return false;
  return true;
}

// Evaluates the network of one run on the loaded splits and writes its files; returns its JSON.
std::string evaluate_run(const EvalArgs& a, const Locations& loc, std::unique_ptr<Encoder> net,
                         const data::DatasetSplits& splits, Device dev) {
  const auto t0 = std::chrono::steady_clock::now();
  const SplitFeatures train = extract_split(*net, splits.probe_train, "probe-training", splits, a, dev, a.evaluate_pixel_acc);
  const SplitFeatures test = extract_split(*net, splits.test, "test", splits, a, dev, a.evaluate_pixel_acc);
  net.reset();
  std::printf("features extracted in %.1f s\n", seconds_since(t0));
  if (!a.save_features.empty()) {
    save_split(a.save_features + "/probe_train", train);
    save_split(a.save_features + "/test", test);
    // Shapes3D: labels.npy holds the shape; factor_labels.npy every factor (N x 6, data/shapes3d.h order).
    for (const auto& [dir, set] : {std::pair{"/probe_train", &splits.probe_train}, std::pair{"/test", &splits.test}})
      if (!set->factor_labels.empty()) {
        const std::vector<int64_t> v(set->factor_labels.begin(), set->factor_labels.end());
        data::write_npy(a.save_features + dir + "/factor_labels.npy", "i8",
                        {set->n, static_cast<int64_t>(v.size()) / set->n}, v.data());
      }
  }

  EvalResults header;
  header.dataset = splits.name;
  header.weights = a.random_init ? fmt::format("random_init(seed={})", a.random_seed) : loc.weights;
  header.model_type = a.model_type;
  header.probe_train_size = splits.probe_train.n;
  header.test_size = splits.test.n;
  ProbeOptions po;
  po.epochs = a.probe_epochs;
  po.batch_size = a.probe_batch_size;
  po.lr = a.probe_lr;
  po.seed = a.probe_seed;
  po.device = dev;
  // eval.py: PR as the mean over test batches of --batch_size, mean activation of the test features.
  std::vector<LabelFree> free(test.layers.size());
  for (size_t i = 0; i < free.size(); ++i) {
    free[i].participation_ratio = metrics::batch_mean_participation_ratio(test.layers[i], a.batch_size);
    free[i].mean_activation = metrics::mean_activation(test.layers[i]);
    if (!a.no_metrics) free[i].push = metrics::push_metrics(train.layers[i]);
  }

  const auto sets = label_sets(splits);
  std::string json;
  if (sets.size() == 1 && sets[0].factor.empty()) {
    const EvalResults r = probe_layers(header, train, test, sets[0], free, a, po);
    std::printf("\n%s\n", results_table(r).c_str());
    json = results_json(r);
    atomic_write_file(loc.json, json);
    std::printf("results: %s\n", loc.json.c_str());
    if (a.yaml) report_yaml(loc.yaml, loc.yaml_key, r, "results.yaml");
    if (!a.no_plot) {
      const std::string why = draw_plots(loc.json);
      if (why.empty()) {
        const fs::path stem = fs::path(loc.json).replace_extension("");
        std::printf("plots: %s_accuracy.png, %s_participation_ratio.png\n", stem.c_str(), stem.c_str());
      } else {
        std::printf("plots skipped: %s\n", why.c_str());
      }
    }
  } else {
    std::vector<FactorResult> fr;
    for (const auto& y : sets) {
      FactorResult f{y.factor, probe_layers(header, train, test, y, free, a, po)};
      f.r.dataset = splits.name + " " + y.factor;
      std::printf("\n%s\n", results_table(f.r).c_str());
      f.r.dataset = splits.name;
      fr.push_back(std::move(f));
    }
    std::printf("%s\n", factors_table(fr).c_str());
    json = factors_json(fr);
    atomic_write_file(loc.json, json);
    std::printf("results: %s\n", loc.json.c_str());
    if (a.yaml)
      for (const auto& f : fr) {
        const std::string p = factor_yaml_path(loc.yaml, f.factor);
        report_yaml(p, loc.yaml_key, f.r, fs::path(p).filename().string());
      }
    if (!a.no_plot) std::printf("plots skipped: tools/plot_eval.py draws one label set, not the per-factor results\n");
  }
  std::printf("done in %.1f s\n", seconds_since(t0));
  return json;
}

// The experiment's JSON keyed by run name; entries of runs not evaluated this time are kept.
void write_combined(const std::string& path, const std::string& experiment_dir, const std::string& run,
                    const std::string& run_json) {
  nlohmann::ordered_json j;
  if (file_exists(path)) {
    try {
      j = nlohmann::ordered_json::parse(read_file(path));
    } catch (const std::exception&) {
      j = nlohmann::ordered_json();
    }
    if (!j.is_object() || !j.contains("runs") || !j["runs"].is_object()) j = nlohmann::ordered_json();
  }
  j["experiment_dir"] = experiment_dir;
  if (!j.contains("runs")) j["runs"] = nlohmann::ordered_json::object();
  j["runs"][run] = nlohmann::ordered_json::parse(run_json);
  atomic_write_file(path, j.dump(2) + "\n");
}

int run(int argc, char** argv) {
  const EvalArgs a = parse_eval_args(argc, argv);
  if (a.help) {
    std::fputs(eval_usage().c_str(), stdout);
    return 0;
  }
  if (a.threads > 0) set_num_threads(a.threads);
  const Device dev = a.device.empty() ? (cuda_device_count() > 0 ? cuda(0) : cpu()) : parse_device(a.device);
  const RunList runs = resolve_runs(a);
  if (!a.embed.empty()) {
    if (runs.several)
      fail(fmt::format("eval_linear: --embed takes one network, but '{}' holds {} runs; pass one of them as --experiment_dir",
                       a.experiment_dir, runs.runs.size()));
    return embed(a, runs.runs[0], dev);
  }
  if (runs.several && !a.save_features.empty())
    fail(fmt::format("eval_linear: --save_features takes one network, but '{}' holds {} runs; pass one of them as "
                     "--experiment_dir", a.experiment_dir, runs.runs.size()));

  // Fail on an unwritable output before the long part, not after it.
  for (const auto& loc : runs.runs) make_dirs(fs::absolute(fs::path(loc.json)).parent_path().string());
  if (runs.several) make_dirs(fs::absolute(fs::path(runs.combined_json)).parent_path().string());
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<const Locations*> todo;
  for (const auto& loc : runs.runs) {
    if (runs.several && already_evaluated(loc, a.dataset))
      std::printf("run '%s': already in %s, skipped (as eval.py does; remove its entry to evaluate it again)\n",
                  loc.yaml_key.c_str(),
                  a.dataset == "shapes3d" ? factor_yaml_path(loc.yaml, "<factor>").c_str() : loc.yaml.c_str());
    else
      todo.push_back(&loc);
  }
  if (runs.several)
    std::printf("%s: %zu runs, %zu to evaluate\n", a.experiment_dir.c_str(), runs.runs.size(), todo.size());
  if (todo.empty()) return 0;
  // One failing run of an experiment does not stop the others: each failure is reported as it
  // happens and again at the end, and the status is 1.
  std::vector<std::string> failures;
  const auto failed = [&](const Locations* loc, const std::exception& e) {
    failures.push_back(fmt::format("run '{}': {}", loc->yaml_key, describe_failure(e)));
    std::fprintf(stderr, "error: %s\n", failures.back().c_str());
  };
  const auto all_done = [&] {
    if (!failures.empty())
      fail(fmt::format("{} of {} runs failed: {}", failures.size(), todo.size(), fmt::join(failures, "; ")));
    return 0;
  };
  // Every network before the data, so that a bad checkpoint is reported at once (naming its run).
  std::vector<std::unique_ptr<Encoder>> nets(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) {
    try {
      set_app_phase(fmt::format("loading the weights {}", todo[i]->weights));
      nets[i] = load_network(todo[i]->weights, a.random_init, a.encoder, a.random_seed, dev);
    } catch (const std::exception& e) {
      if (!runs.several) throw;
      failed(todo[i], e);
    }
  }
  if (failures.size() == todo.size()) return all_done();

  data::DataOptions dopt;
  dopt.dataset = a.dataset;
  dopt.data_dir = a.data_dir;
  dopt.split_seed = a.split_seed;
  dopt.downsample_images = a.downsample_images;
  set_app_phase(fmt::format("loading the {} data", a.dataset));
  data::DatasetSplits splits = data::load_dataset(dopt);
  splits.probe_train = data::first_images(splits.probe_train, a.limit_probe_train);
  splits.test = data::first_images(splits.test, a.limit_test);
  std::printf("%s: probe-train %lld, test %lld images of %d px; device %s\n", splits.name.c_str(),
              static_cast<long long>(splits.probe_train.n), static_cast<long long>(splits.test.n), splits.image_size,
              a.device.empty() ? (dev == cpu() ? "cpu" : "cuda") : a.device.c_str());
  for (size_t i = 0; i < todo.size(); ++i) {
    const Locations* loc = todo[i];
    if (!nets[i]) continue;  // its failure is reported already
    if (runs.several) std::printf("\n== run '%s' (%s)\n", loc->yaml_key.c_str(), loc->weights.c_str());
    std::string json;
    try {
      set_app_phase(fmt::format("evaluating {}", loc->weights));
      json = evaluate_run(a, *loc, std::move(nets[i]), splits, dev);
    } catch (const std::exception& e) {
      if (!runs.several) throw;
      failed(loc, e);
      continue;
    }
    if (runs.several) {
      write_combined(runs.combined_json, fs::absolute(a.experiment_dir).lexically_normal().string(), loc->yaml_key, json);
      std::printf("experiment results: %s (key '%s')\n", runs.combined_json.c_str(), loc->yaml_key.c_str());
    }
  }
  if (runs.several) std::printf("all runs done in %.1f s\n", seconds_since(t0));
  return all_done();
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up when redirected to a log
  try {
    // Under mpirun (e.g. the job script of a data-parallel training run): rank 0 evaluates and writes
    // the files, the other ranks wait for it (features are not sharded over the ranks yet), and all
    // leave with rank 0's status.
    const DistInfo di = init_distributed(&argc, &argv);
    int rc = 0;
    if (di.rank == 0) {
      try {
        rc = run(argc, argv);
      } catch (const std::exception& e) {
        if (Communicator* c = world_comm()) c->abort("error: " + describe_failure(e));
        throw;
      }
    }
    if (Communicator* c = world_comm()) c->broadcast(&rc, sizeof rc, 0);
    finalize_distributed();
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", describe_failure(e).c_str());
    return 1;
  }
}
