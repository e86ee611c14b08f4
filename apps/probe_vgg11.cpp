// probe_vgg11: a minimal final-layer linear probe (spec §5: linear layer + softmax CE, Adam lr 1e-3,
// 20 epochs, batch 512) on the globally average-pooled output of VGG-11's last block, for trained
// weights and for the untrained network of the same seed, side by side. (The full per-layer
// evaluation with metrics is eval_linear's job.)
//   probe_vgg11 --weights RUN/checkpoints/last.safetensors --dataset fashion-mnist --threads 2
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/flags.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/safetensors.h"
#include "models/features.h"
#include "models/linear_probe.h"
#include "models/encoder.h"

using namespace lpl;

namespace {

struct Args {
  std::string dataset = "fashion-mnist", data_dir, weights, device = "cpu", encoder = "vgg";
  int64_t threads = 0, train_images = 0, test_images = 0, epochs = 20;
  uint64_t seed = 24;
  bool no_biases = false, compare_untrained = true;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto val = [&]() -> std::string {
      LPL_CHECK(i + 1 < argc, fmt::format("{} needs a value", f));
      return argv[++i];
    };
    auto num = [&]() -> int64_t {
      const std::string v = val();
      const int64_t x = parse_int_flag(f, v);
      LPL_CHECK(x >= 0, fmt::format("{}: expected a non-negative integer, got '{}'", f, v));
      return x;
    };
    if (f == "--dataset") a.dataset = val();
    else if (f == "--data_dir") a.data_dir = val();
    else if (f == "--weights") a.weights = val();
    else if (f == "--device") a.device = val();
    else if (f == "--threads") {
      a.threads = num();
      check_threads_flag(f, a.threads);
    }
    else if (f == "--train_images") a.train_images = num();
    else if (f == "--test_images") a.test_images = num();
    else if (f == "--epochs") a.epochs = num();
    else if (f == "--random_seed") a.seed = static_cast<uint64_t>(num());
    else if (f == "--no_biases") a.no_biases = true;
    else if (f == "--encoder") a.encoder = val();
    else if (f == "--no_untrained") a.compare_untrained = false;
    else if (f == "--help") {
      std::puts(
          "probe_vgg11 [--weights FILE.safetensors] [--dataset fashion-mnist] [--data_dir DIR] [--device cpu|cuda]\n"
          "            [--threads N] [--train_images N] [--test_images N] [--epochs 20] [--random_seed 24]\n"
          "            [--no_biases] [--encoder vgg|alexnet|resnet] [--no_untrained]\n"
          "Final-layer linear probe of an encoder with the given weights, beside the untrained network of the same\n"
          "seed. With --weights the encoder (and its biases) are the file's; --encoder and --no_biases shape the\n"
          "untrained network when no weights are given.");
      std::exit(0);
    } else {
      fail(fmt::format("unknown flag {} (see --help)", f));
    }
  }
  return a;
}

// Final-layer pooled features of the evaluation view of (at most `limit`) images of a split.
void features(Encoder& net, const data::ImageSet& set, const data::DatasetSplits& meta, Device dev, int64_t limit,
              FeatureMatrix& x, std::vector<int32_t>& y) {
  data::LoaderOptions lo;
  lo.batch_size = 256;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.augment = false;
  lo.device = dev;
  lo.threads = std::max(1, num_threads());
  data::Loader loader(set, meta, lo);
  loader.start_epoch(0);
  data::Batch b;
  while (loader.next(b) && (limit == 0 || x.n < limit)) {
    append_rows(x, net.pooled_features(b.eval_view, true).back());
    auto l = labels_from_tensor(b.labels);
    y.insert(y.end(), l.begin(), l.end());
  }
  if (limit > 0 && x.n > limit) {
    x.n = limit;
    x.x.resize(static_cast<size_t>(limit * x.d));
    y.resize(static_cast<size_t>(limit));
  }
}

double probe(Encoder& net, const data::DatasetSplits& d, const Args& a, Device dev) {
  FeatureMatrix trx, tex;
  std::vector<int32_t> try_, tey;
  features(net, d.probe_train, d, dev, a.train_images, trx, try_);
  features(net, d.test, d, dev, a.test_images, tex, tey);
  ProbeOptions po;
  po.epochs = static_cast<int>(a.epochs);
  po.seed = a.seed;
  po.device = dev;
  return train_and_test_probe(trx, try_, tex, tey, d.test.num_classes, po).top1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    set_num_threads(static_cast<int>(a.threads));
    const Device dev = parse_device(a.device);
    data::DataOptions dopt;
    dopt.dataset = a.dataset;
    dopt.data_dir = a.data_dir;
    const data::DatasetSplits d = data::load_dataset(dopt);
    LPL_CHECK(!d.probe_train.labels.empty() && !d.test.labels.empty(),
              fmt::format("{}: the probe needs labelled probe-training and test splits", a.dataset));
    EncoderOptions vo;
    vo.kind = a.encoder;
    vo.bias = !a.no_biases;
    nlohmann::json j;
    const auto t0 = std::chrono::steady_clock::now();
    if (!a.weights.empty()) {
      const SafetensorsFile f = load_safetensors(a.weights);
      vo = encoder_options_of_weights(f);  // the untrained network below is the same encoder
      auto net = make_encoder(vo, a.seed, dev);
      net->load_weights(f, a.weights);
      j["trained_top1"] = probe(*net, d, a, dev);
      std::printf("final-layer linear probe, trained (%s): top-1 %.2f %%\n", a.weights.c_str(),
                  100 * j["trained_top1"].get<double>());
    }
    if (a.compare_untrained || a.weights.empty()) {
      auto net = make_encoder(vo, a.seed, dev);
      j["untrained_top1"] = probe(*net, d, a, dev);
      std::printf("final-layer linear probe, untrained (seed %llu): top-1 %.2f %%\n",
                  static_cast<unsigned long long>(a.seed), 100 * j["untrained_top1"].get<double>());
    }
    j["dataset"] = a.dataset;
    j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s\n", j.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
