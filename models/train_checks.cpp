#include "models/train_checks.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "engine/common.h"

namespace lpl {

namespace {

void check_labels(const data::DatasetSplits& splits, const char* split, const data::ImageSet& s) {
  for (size_t i = 0; i < s.labels.size(); ++i) {
    const int64_t y = s.labels[i];
    LPL_CHECK(y >= 0 && y <= data::kMaxClassLabel,
              fmt::format("{}: label {} of {} image {} is not a class index in 0..{} (the probe and the supervised "
                          "heads hold one row per class)", splits.name, y, split, i, data::kMaxClassLabel));
  }
}

}  // namespace

void check_training_inputs(const TrainOptions& o, const data::DatasetSplits& splits, const data::ImageSet& train_set) {
  check_labels(splits, "training", train_set);
  check_labels(splits, "probe-training", splits.probe_train);
  check_labels(splits, "test", splits.test);
  const auto& probe = splits.probe_train;
  if (o.eval_every == 0 || probe.labels.empty() || splits.test.labels.empty()) return;  // no online probe
  const int64_t n = o.eval_samples > 0 ? std::min(o.eval_samples, probe.n) : probe.n;
  const std::set<int32_t> classes(probe.labels.begin(), probe.labels.begin() + n);
  LPL_CHECK(classes.size() >= 2,
            fmt::format("online evaluation needs at least 2 classes among the first {} probe-training images{}, found "
                        "{}: use more images, labels of 2 or more classes, or --eval_every 0",
                        n, o.eval_samples > 0 ? fmt::format(" (--eval_samples {})", o.eval_samples) : "", classes.size()));
}

}  // namespace lpl
