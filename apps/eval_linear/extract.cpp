#include "apps/eval_linear/extract.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/loader.h"
#include "engine/common.h"
#include "engine/safetensors.h"
#include "models/weights_file.h"

namespace lpl::eval {
namespace {

// Appends the pooled representation of each wanted layer of x.
void forward_pooled(Encoder& net, const Tensor& x, bool last_layer_only, std::vector<FeatureMatrix>& out) {
  const std::vector<Tensor> z = net.pooled_features(x, last_layer_only);
  out.resize(z.size());
  for (size_t k = 0; k < z.size(); ++k) append_rows(out[k], z[k]);
}

}  // namespace

std::unique_ptr<Encoder> load_network(const std::string& file, bool random_init, const std::string& encoder,
                                      uint64_t random_seed, Device dev) {
  EncoderOptions o;
  o.kind = encoder.empty() ? "vgg" : encoder;
  if (random_init) return make_encoder(o, random_seed, dev);
  const SafetensorsFile f = read_weights_file(file, "weights file");
  o = encoder_options_of_weights(f);
  LPL_CHECK(encoder.empty() || same_encoder(encoder, o.kind),
            fmt::format("weights file '{}' holds weights of the {} encoder, but --encoder {} was given", file, o.kind, encoder));
  auto net = make_encoder(o, random_seed, dev);
  // A training run's projectors and classifier heads are not probed; anything else is foreign.
  load_checked_weights(*net, f, file, "weights file", {"network.encoder.projectors.", "classifier_heads."});
  return net;
}

SplitFeatures extract_split(Encoder& net, const data::ImageSet& set, const std::string& split_name,
                            const data::DatasetSplits& meta, const EvalArgs& args, Device dev, bool pixels) {
  LPL_CHECK(set.n > 0, fmt::format("eval_linear: the {} split of {} is empty", split_name, meta.name));
  LPL_CHECK(static_cast<int64_t>(set.labels.size()) == set.n,
            fmt::format("eval_linear: the {} split of {} has no labels", split_name, meta.name));
  data::LoaderOptions lo;
  lo.batch_size = args.batch_size;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.augment = false;
  lo.device = dev;
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  lo.threads = std::max(1, std::min(args.num_workers, hw));
  data::Loader loader(set, meta, lo);
  loader.start_epoch(0);
  SplitFeatures sf;
  sf.layer_numbers = probed_layers(net, args.last_layer_only);
  data::Batch b;
  while (loader.next(b)) {
    forward_pooled(net, b.eval_view, args.last_layer_only, sf.layers);
    const auto y = labels_from_tensor(b.labels);
    sf.labels.insert(sf.labels.end(), y.begin(), y.end());
    if (pixels) append_rows(sf.pixels, b.eval_view.reshape({b.eval_view.dim(0), b.eval_view.numel() / b.eval_view.dim(0)}));
  }
  LPL_CHECK(static_cast<int64_t>(sf.labels.size()) == set.n,
            fmt::format("eval_linear: the loader returned {} of {} images", sf.labels.size(), set.n));
  return sf;
}

std::vector<int> probed_layers(const Encoder& net, bool last_layer_only) {
  std::vector<int> out;
  for (int k = last_layer_only ? net.last_layer() : 0; k < net.num_layers(); ++k) out.push_back(k + 1);
  return out;
}

std::vector<FeatureMatrix> embed_images(Encoder& net, const std::vector<float>& images, const std::vector<int64_t>& shape,
                                        int64_t batch_size, bool last_layer_only, Device dev) {
  LPL_CHECK(shape.size() == 4 && shape[1] == 3 && shape[0] >= 1,
            fmt::format("eval_linear --embed: images must be N x 3 x H x W float32, got shape ({})", fmt::join(shape, ", ")));
  LPL_CHECK(shape[2] >= 32 && shape[3] >= 32,
            fmt::format("eval_linear --embed: images must be at least 32 x 32 (five 2x2 max-pools), got {} x {}", shape[2], shape[3]));
  for (size_t i = 0; i < images.size(); ++i)
    LPL_CHECK(std::isfinite(images[i]), fmt::format("eval_linear --embed: image {} has a non-finite value",
                                                    static_cast<int64_t>(i) / (shape[1] * shape[2] * shape[3])));
  const int64_t n = shape[0], per = shape[1] * shape[2] * shape[3];
  std::vector<FeatureMatrix> out;
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t len = std::min(batch_size, n - s);
    Tensor host = Tensor::wrap(const_cast<float*>(images.data() + s * per), {len, shape[1], shape[2], shape[3]}, cpu());
    forward_pooled(net, dev == cpu() ? host : host.to(dev), last_layer_only, out);
  }
  return out;
}

}  // namespace lpl::eval
