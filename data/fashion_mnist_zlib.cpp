// Fashion-MNIST from the gzip IDX files of Debian's dataset-fashion-mnist package (or --data_dir):
// 28 px grayscale resized bilinearly to 32 px and replicated to 3 channels (spec §4).
// Splits: the 60,000 training images are permuted with split_seed (detail::seeded_permutation);
// the first 50,000 are the SSL split, the other 10,000 the probe-training and validation split;
// the 10,000 test images are the probe test split.
#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
constexpr const char* kDebianDir = "/usr/share/datasets/fashion-mnist";

ImageSet read_split(const std::string& dir, const std::string& prefix) {
  ImageSet s = read_idx_images_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  std::string lp = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  s.labels = read_idx_labels_gz(lp);
  if (static_cast<int64_t>(s.labels.size()) != s.n)
    fail(strf("fashion-mnist: %s holds %zu labels but its images file holds %lld images", lp.c_str(), s.labels.size(),
              static_cast<long long>(s.n)));
  s.num_classes = 10;
  return replicate_to_rgb(resize_images(s, 32));
}
}  // namespace

DatasetSplits load_fashion_mnist(const DataOptions& opt) {
  const std::string dir = opt.data_dir.empty() ? kDebianDir : opt.data_dir;
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                        "t10k-labels-idx1-ubyte.gz"})
    if (!file_exists(dir + "/" + f))
      fail(strf("fashion-mnist: missing %s/%s (install Debian's dataset-fashion-mnist with scripts/setup.sh, "
                "or point --data_dir at a folder with the four gzip IDX files)", dir.c_str(), f));
  DatasetSplits d;
  d.name = "fashion-mnist";
  d.image_size = 32;
  d.norm = {{0.2860f, 0.2860f, 0.2860f}, {0.3530f, 0.3530f, 0.3530f}};
  ImageSet train = read_split(dir, "train");
  d.test = read_split(dir, "t10k");
  // The real files have 60,000 training images; smaller (test) files keep the 5:1 proportion.
  const int64_t n_ssl = train.n == 60000 ? 50000 : train.n * 5 / 6;
  auto perm = seeded_permutation(train.n, opt.split_seed);
  d.ssl_train = subset(train, perm, 0, n_ssl);
  d.probe_train = subset(train, perm, n_ssl, train.n);
  d.validation = d.probe_train;
  return d;
}

}  // namespace lpl::data::detail
