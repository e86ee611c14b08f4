#include "models/train_histograms.h"

#include <algorithm>

#include "data/loader.h"
#include "models/features.h"
#include "models/histograms.h"

namespace lpl {

int64_t log_feature_histograms(tb::EventWriter& tb, Vgg11& net, const data::DatasetSplits& splits, int64_t samples,
                               int64_t epoch_1based) {
  const data::ImageSet& full = splits.probe_train.n > 0 ? splits.probe_train : splits.ssl_train;
  const int64_t n = std::min(samples, full.n);
  if (n < 2) return 0;
  // The first n images, in order, as one split of their own.
  data::ImageSet set = full;
  set.n = n;
  set.pixels.resize(static_cast<size_t>(n * full.c * full.h * full.w));
  if (!set.labels.empty()) set.labels.resize(static_cast<size_t>(n));
  data::LoaderOptions lo;
  lo.batch_size = std::min<int64_t>(256, n);
  lo.shuffle = false;
  lo.drop_last = false;
  lo.augment = false;
  lo.device = net.device();
  lo.gpu_augment = false;
  data::Loader loader(set, splits, lo);
  loader.start_epoch(0);
  FeatureMatrix x;
  data::Batch b;
  while (loader.next(b)) {
    Tensor h = b.eval_view;
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      h = net.block_forward(k, h);
      if (k + 1 < Vgg11::kBlocks) net.release(k);
    }
    append_rows(x, net.pooled(Vgg11::kBlocks - 1));
    net.release(Vgg11::kBlocks - 1);
  }
  for (const auto& [tag, h] : metrics::named_histograms(x)) tb.add_histogram(tag, h.to_tb(), epoch_1based);
  tb.flush();
  return n;
}

}  // namespace lpl
