// The network under evaluation and its per-layer features: the globally average-pooled output of
// every VGG-11 block (or only the last), batch by batch, on the chosen device.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "apps/eval_linear/args.h"
#include "data/dataset.h"
#include "engine/device.h"
#include "models/features.h"
#include "models/vgg11.h"

namespace lpl::eval {

// --random_init: PyTorch-default init from random_seed; otherwise the weights of `file` (biases
// when the file has them; projector and classifier-head weights are not needed: features are
// taken before the projector).
std::unique_ptr<Vgg11> load_network(const std::string& file, bool random_init, uint64_t random_seed, Device dev);

struct SplitFeatures {
  std::vector<FeatureMatrix> layers;  // one per evaluated block
  std::vector<int32_t> labels;
  FeatureMatrix pixels;               // flattened normalised evaluation view (when asked)
};

// Evaluation views of `set` (resize 1.1x, centre crop, normalise), in order, batches of batch_size.
SplitFeatures extract_split(Vgg11& net, const data::ImageSet& set, const std::string& split_name,
                            const data::DatasetSplits& meta, const EvalArgs& args, Device dev, bool pixels);

// Features of an N x 3 x H x W float32 batch (already normalised), in batches of batch_size.
std::vector<FeatureMatrix> embed_images(Vgg11& net, const std::vector<float>& images, const std::vector<int64_t>& shape,
                                        int64_t batch_size, bool last_layer_only, Device dev);

}  // namespace lpl::eval
