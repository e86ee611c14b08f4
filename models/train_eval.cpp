#include "models/train_eval.h"

#include <algorithm>

#include "data/loader.h"

namespace lpl {

namespace {
// The first n images of `full` as a split of their own.
data::ImageSet head(const data::ImageSet& full, int64_t n) {
  data::ImageSet set = full;
  set.n = n;
  const auto values = static_cast<size_t>(n * full.c * full.h * full.w);
  // Each non-empty pixel store (float32 pairs use fpixels, pairs the second views too) keeps n images.
  for (auto* p : {&set.pixels, &set.pixels2})
    if (!p->empty()) p->resize(values);
  for (auto* p : {&set.fpixels, &set.fpixels2})
    if (!p->empty()) p->resize(values);
  if (!set.labels.empty()) set.labels.resize(static_cast<size_t>(n));
  return set;
}
}  // namespace

FeatureMatrix final_layer_features(Vgg11& net, const data::DatasetSplits& splits, const data::ImageSet& set,
                                   int64_t limit, std::vector<int32_t>* labels) {
  FeatureMatrix x;
  const int64_t n = limit > 0 ? std::min(limit, set.n) : set.n;
  if (n == 0) return x;
  const data::ImageSet part = n == set.n ? set : head(set, n);
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
    Tensor h = b.eval_view;
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      h = net.block_forward(k, h);
      if (k + 1 < Vgg11::kBlocks) net.release(k);
    }
    append_rows(x, net.pooled(Vgg11::kBlocks - 1));
    net.release(Vgg11::kBlocks - 1);
    if (labels && b.labels.defined()) {
      auto y = labels_from_tensor(b.labels);
      labels->insert(labels->end(), y.begin(), y.end());
    }
  }
  return x;
}

std::vector<LplTerms> validation_terms(Vgg11& net, const LplStepOptions& so, const data::DatasetSplits& splits,
                                       const data::ImageSet& set, int64_t batch_size, int64_t max_batches,
                                       uint64_t seed, int64_t epoch) {
  std::vector<LplTerms> mean(Vgg11::kBlocks);
  if (so.objective == StepObjective::supervised && set.labels.empty()) return {};
  const int64_t b = std::min(batch_size, set.n);
  if (b < 2) return mean;
  data::LoaderOptions lo;
  lo.batch_size = b;
  lo.seed = seed ^ 0x76616c69ull;  // "vali": other augmentations than the training views
  lo.shuffle = false;
  lo.augment = splits.augment;
  lo.device = net.device();
  data::Loader loader(set, splits, lo);
  loader.start_epoch(epoch);
  LplStepOptions vo = so;
  vo.timer = nullptr;
  LplStep step(net, vo);
  data::Batch batch;
  int64_t n = 0;
  while ((max_batches <= 0 || n < max_batches) && loader.next(batch)) {
    const std::vector<LplTerms> t = step.run(stack_views(batch.view1, batch.view2), n, batch.labels);
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
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
