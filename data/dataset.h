// Datasets as the trainer sees them: every split of a dataset decoded into uint8 NCHW memory, with
// its labels, the normalisation of spec §4 and whether the two views come from augmentation.
// load_dataset() reads the official on-disk formats (downloading CIFAR-10 / STL-10 when absent).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lpl::data {

// The largest class label accepted: the probes and the supervised heads hold one row per class, so a
// stray large label would make them allocate gigabytes long after training started.
constexpr int64_t kMaxClassLabel = 100000;

struct ImageSet {                 // one split, uint8 NCHW in memory
  int64_t n = 0, c = 3, h = 0, w = 0;
  std::vector<uint8_t> pixels;    // n*c*h*w
  std::vector<int32_t> labels;    // n, or empty when the split has no labels
  int num_classes = 0;
  std::vector<int32_t> factor_labels;  // shapes3d: n x 6 row-major, the class index of every factor
                                       // (labels = the column of --label_factor)
  // Data that brings its own views (DatasetSplits::augment == false):
  std::vector<uint8_t> pixels2;   // pairs, uint8: the second view of image i (same layout as pixels)
  std::vector<float> fpixels, fpixels2;  // pairs, float32 .npy: views used as given (pixels* empty then)
  std::vector<int64_t> sequence;  // shapes3d: image indices in trajectory order; a batch is a block of
                                  // B+1 consecutive entries, view 1 = entries 0..B-1, view 2 = 1..B
};
struct Normalization { std::array<float, 3> mean, std; };
struct DatasetSplits {
  std::string name;               // "cifar10", "stl10", "fashion-mnist", "shapes3d", "imagenet2012", "pairs"
  int image_size = 32;            // h of the views fed to the network
  Normalization norm;
  ImageSet ssl_train;             // self-supervised training split
  ImageSet validation;            // held out for validation losses (may be empty)
  ImageSet probe_train;           // linear-probe training split (labels)
  ImageSet test;                  // probe test split (labels)
  bool augment = true;            // false for shapes3d / pairs (views come from the data itself)
  std::vector<int> factor_sizes;  // shapes3d: classes of each factor (columns of factor_labels)
};
struct DataOptions {
  std::string dataset = "cifar10";
  std::string data_dir;           // empty = default (~/data/datasets/<name>, Debian path for fashion-mnist)
  uint64_t split_seed = 42;
  bool downsample_images = false;
  int label_factor = -1;          // shapes3d
};
DatasetSplits load_dataset(const DataOptions& opt);   // throws lpl::Error with a clear message
// The first n images of a split, every per-image array cut alike (n <= 0 or >= set.n: all of it).
ImageSet first_images(const ImageSet& set, int64_t n);

}  // namespace lpl::data
