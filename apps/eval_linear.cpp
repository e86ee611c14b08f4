// eval_linear: linear-probe evaluation of a VGG-11 encoder layer by layer (spec §5), the engine's
// counterpart of the original's eval.py. See --help, and apps/eval_linear/ for the parts.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "apps/eval_linear/args.h"
#include "apps/eval_linear/extract.h"
#include "apps/eval_linear/report.h"
#include "apps/eval_linear/run_dir.h"
#include "data/dataset.h"
#include "data/npy.h"
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

int layer_number(const EvalArgs& a, size_t i) { return a.last_layer_only ? Vgg11::kBlocks : static_cast<int>(i) + 1; }

void save_split(const std::string& dir, const SplitFeatures& f, const EvalArgs& a) {
  make_dirs(dir);
  for (size_t i = 0; i < f.layers.size(); ++i)
    data::save_npy_f32(fmt::format("{}/layer_{}.npy", dir, layer_number(a, i)), f.layers[i].x.data(),
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

// The first n images of a split (n = 0: all).
void truncate(data::ImageSet& s, int64_t n) {
  if (n <= 0 || n >= s.n) return;
  s.pixels.resize(static_cast<size_t>(n * s.c * s.h * s.w));
  if (!s.labels.empty()) s.labels.resize(static_cast<size_t>(n));
  s.n = n;
}

int embed(const EvalArgs& a, const Locations& loc, Device dev) {
  const auto t0 = std::chrono::steady_clock::now();
  const data::NpyArray img = data::load_npy_f32(a.embed);
  auto net = load_network(loc.weights, a.random_init, a.random_seed, dev);
  const auto feats = embed_images(*net, img.data, img.shape, a.batch_size, a.last_layer_only, dev);
  make_dirs(a.save_features);
  for (size_t i = 0; i < feats.size(); ++i) {
    const std::string p = fmt::format("{}/layer_{}.npy", a.save_features, layer_number(a, i));
    data::save_npy_f32(p, feats[i].x.data(), {feats[i].n, feats[i].d});
    std::printf("%s: %lld x %lld\n", p.c_str(), static_cast<long long>(feats[i].n), static_cast<long long>(feats[i].d));
  }
  std::printf("embedded %lld images in %.1f s\n", static_cast<long long>(img.shape[0]), seconds_since(t0));
  return 0;
}

int run(int argc, char** argv) {
  const EvalArgs a = parse_eval_args(argc, argv);
  if (a.help) {
    std::fputs(eval_usage().c_str(), stdout);
    return 0;
  }
  if (a.threads > 0) set_num_threads(a.threads);
  const Device dev = a.device.empty() ? (cuda_device_count() > 0 ? cuda(0) : cpu()) : parse_device(a.device);
  const Locations loc = resolve_locations(a);
  if (!a.embed.empty()) return embed(a, loc, dev);

  // Fail on an unwritable output before the long part, not after it.
  const fs::path json_dir = fs::absolute(fs::path(loc.json)).parent_path();
  make_dirs(json_dir.string());
  const auto t0 = std::chrono::steady_clock::now();
  auto net = load_network(loc.weights, a.random_init, a.random_seed, dev);
  data::DataOptions dopt;
  dopt.dataset = a.dataset;
  dopt.data_dir = a.data_dir;
  dopt.split_seed = a.split_seed;
  dopt.downsample_images = a.downsample_images;
  data::DatasetSplits splits = data::load_dataset(dopt);
  truncate(splits.probe_train, a.limit_probe_train);
  truncate(splits.test, a.limit_test);
  std::printf("%s: probe-train %lld, test %lld images of %d px; device %s\n", splits.name.c_str(),
              static_cast<long long>(splits.probe_train.n), static_cast<long long>(splits.test.n), splits.image_size,
              a.device.empty() ? (dev == cpu() ? "cpu" : "cuda") : a.device.c_str());
  const SplitFeatures train = extract_split(*net, splits.probe_train, "probe-training", splits, a, dev, a.evaluate_pixel_acc);
  const SplitFeatures test = extract_split(*net, splits.test, "test", splits, a, dev, a.evaluate_pixel_acc);
  std::printf("features extracted in %.1f s\n", seconds_since(t0));
  if (!a.save_features.empty()) {
    save_split(a.save_features + "/probe_train", train, a);
    save_split(a.save_features + "/test", test, a);
  }

  EvalResults r;
  r.dataset = splits.name;
  r.weights = a.random_init ? fmt::format("random_init(seed={})", a.random_seed) : loc.weights;
  r.model_type = a.model_type;
  r.num_classes = std::max(splits.probe_train.num_classes, splits.test.num_classes);
  r.probe_train_size = splits.probe_train.n;
  r.test_size = splits.test.n;
  ProbeOptions po;
  po.epochs = a.probe_epochs;
  po.batch_size = a.probe_batch_size;
  po.lr = a.probe_lr;
  po.seed = a.probe_seed;
  po.device = dev;
  for (size_t i = 0; i < train.layers.size(); ++i) {
    const auto tl = std::chrono::steady_clock::now();
    LayerResult l;
    l.layer = layer_number(a, i);
    l.dim = train.layers[i].d;
    try {
      l.probe = run_probe(train.layers[i], train.labels, test.layers[i], test.labels, r.num_classes, a, po);
      if (!a.no_metrics)
        for (const auto& [k, v] : metrics::named_representation_metrics(train.layers[i], train.labels))
          l.metrics.emplace_back(metric_key(k), v);
      // eval.py: PR as the mean over test batches of --batch_size, mean activation of the test features.
      l.metrics.emplace_back("participation_ratio", metrics::batch_mean_participation_ratio(test.layers[i], a.batch_size));
      l.metrics.emplace_back("mean_activation", metrics::mean_activation(test.layers[i]));
    } catch (const Error& e) {
      fail(fmt::format("layer {}: {}", l.layer, e.what()));
    }
    std::printf("layer %d (%lld): top-1 %.4f top-5 %.4f  [%.1f s]\n", l.layer, static_cast<long long>(l.dim),
                l.probe.top1, l.probe.top5, seconds_since(tl));
    std::fflush(stdout);
    r.layers.push_back(std::move(l));
  }
  if (a.evaluate_pixel_acc) {
    r.has_pixels = true;
    r.pixels = run_probe(train.pixels, train.labels, test.pixels, test.labels, r.num_classes, a, po);
  }

  std::printf("\n%s\n", results_table(r).c_str());
  atomic_write_file(loc.json, results_json(r));
  std::printf("results: %s\n", loc.json.c_str());
  if (a.yaml) {
    if (append_results_yaml(loc.yaml, loc.yaml_key, r))
      std::printf("results.yaml: %s (key '%s')\n", loc.yaml.c_str(), loc.yaml_key.c_str());
    else
      std::printf("results.yaml: %s already has '%s' (left as it is, as eval.py does)\n", loc.yaml.c_str(),
                  loc.yaml_key.c_str());
  }
  if (!a.no_plot) {
    const std::string why = draw_plots(loc.json);
    if (why.empty()) {
      const fs::path stem = fs::path(loc.json).replace_extension("");
      std::printf("plots: %s_accuracy.png, %s_participation_ratio.png\n", stem.c_str(), stem.c_str());
    } else {
      std::printf("plots skipped: %s\n", why.c_str());
    }
  }
  std::printf("done in %.1f s\n", seconds_since(t0));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up when redirected to a log
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
