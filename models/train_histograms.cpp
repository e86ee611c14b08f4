#include "models/train_histograms.h"

#include <algorithm>

#include "models/features.h"
#include "models/histograms.h"
#include "models/train_eval.h"

namespace lpl {

int64_t log_feature_histograms(tb::EventWriter& tb, Encoder& net, const data::DatasetSplits& splits, int64_t samples,
                               int64_t epoch_1based) {
  const data::ImageSet& full = splits.probe_train.n > 0 ? splits.probe_train : splits.ssl_train;
  const int64_t n = std::min(samples, full.n);
  if (n < 2) return 0;
  const FeatureMatrix x = final_layer_features(net, splits, full, n, nullptr);
  for (const auto& [tag, h] : metrics::named_histograms(x)) tb.add_histogram(tag, h.to_tb(), epoch_1based);
  tb.flush();
  return n;
}

}  // namespace lpl
