#include "models/train_eval.h"

#include <algorithm>

#include "data/loader.h"

namespace lpl {

FeatureMatrix final_layer_features(Encoder& net, const data::DatasetSplits& splits, const data::ImageSet& set,
                                   int64_t limit, std::vector<int32_t>* labels) {
  FeatureMatrix x;
  const int64_t n = limit > 0 ? std::min(limit, set.n) : set.n;
  if (n == 0) return x;
  const data::ImageSet part = data::first_images(set, n);
  data::LoaderOptions lo;
  lo.batch_size = std::min<int64_t>(256, n);
  lo.shuffle = false;
  lo.drop_last = false;
  lo.augment = false;
  lo.device = net.device();
  lo.gpu_augment = false;
  data::Loader loader(part, splits, lo);
  loader.start_epoch(0);
  data::Batch b;
  while (loader.next(b)) {
    append_rows(x, net.pooled_features(b.eval_view, true).back());
    if (labels && b.labels.defined()) {
      auto y = labels_from_tensor(b.labels);
      labels->insert(labels->end(), y.begin(), y.end());
    }
  }
  return x;
}

std::vector<LplTerms> validation_terms(Encoder& net, const LplStepOptions& so, const data::DatasetSplits& splits,
                                       const data::ImageSet& set, int64_t batch_size, int64_t max_batches,
                                       uint64_t seed, int64_t epoch) {
  std::vector<LplTerms> mean(static_cast<size_t>(net.num_layers()));
  if (so.objective == StepObjective::supervised && set.labels.empty()) return {};
  const int64_t b = std::min(batch_size, set.n);
  if (b < 2) return mean;
  data::LoaderOptions lo;
  lo.batch_size = b;
  lo.seed = seed ^ 0x76616c69ull;  // "vali": other augmentations than the training views
  lo.shuffle = false;
  lo.augment = splits.augment;
  lo.eval_view = false;  // the validation loss reads the two views only
  lo.device = net.device();
  data::Loader loader(set, splits, lo);
  loader.start_epoch(epoch);
  LplStepOptions vo = so;
  vo.timer = nullptr;
  vo.training = false;  // as the original's validation loop: evaluation mode (no dropout, running statistics)
  vo.no_grad = true;
  LplStep step(net, vo);
  data::Batch batch;
  int64_t n = 0;
  while ((max_batches <= 0 || n < max_batches) && loader.next(batch)) {
    const std::vector<LplTerms> t = step.run(batch.views, n, batch.labels);
    for (size_t k = 0; k < mean.size(); ++k) {
      mean[k].pull += t[k].pull;
      mean[k].push += t[k].push;
      mean[k].decorr += t[k].decorr;
      mean[k].supervised += t[k].supervised;
    }
    ++n;
  }
  for (auto& m : mean) {
    m.pull /= std::max<int64_t>(n, 1);
    m.push /= std::max<int64_t>(n, 1);
    m.decorr /= std::max<int64_t>(n, 1);
    m.supervised /= std::max<int64_t>(n, 1);
  }
  return mean;
}

}  // namespace lpl
