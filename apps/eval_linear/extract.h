// The network under evaluation and its per-layer features: the globally average-pooled output of
// every layer of the encoder (or only the last), batch by batch, on the chosen device.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "apps/eval_linear/args.h"
#include "data/dataset.h"
#include "engine/device.h"
#include "models/features.h"
#include "models/encoder.h"

namespace lpl::eval {

// --random_init: PyTorch-default init from random_seed; otherwise the weights of `file` (biases
// when the file has them; projector and classifier-head weights are not needed: features are
// taken before the projector).
// encoder: the kind for --random_init ("" = vgg); with a file, the file's kind, which must match a
// non-empty `encoder`.
std::unique_ptr<Encoder> load_network(const std::string& file, bool random_init, const std::string& encoder,
                                      uint64_t random_seed, Device dev);

struct SplitFeatures {
  std::vector<FeatureMatrix> layers;  // one per evaluated layer
  std::vector<int> layer_numbers;     // their 1-based layer numbers
  std::vector<int32_t> labels;
  FeatureMatrix pixels;               // flattened normalised evaluation view (when asked)
};

// Evaluation views of `set` (resize 1.1x, centre crop, normalise), in order, batches of batch_size.
SplitFeatures extract_split(Encoder& net, const data::ImageSet& set, const std::string& split_name,
                            const data::DatasetSplits& meta, const EvalArgs& args, Device dev, bool pixels);

// The 1-based numbers of the layers probed: all, or only the last.
std::vector<int> probed_layers(const Encoder& net, bool last_layer_only);

// Features of an N x 3 x H x W float32 batch (already normalised), in batches of batch_size.
std::vector<FeatureMatrix> embed_images(Encoder& net, const std::vector<float>& images, const std::vector<int64_t>& shape,
                                        int64_t batch_size, bool last_layer_only, Device dev);

}  // namespace lpl::eval
