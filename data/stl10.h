// STL-10 binary reader internals (exposed for tests with small generated files).
#pragma once
#include <string>

#include "data/dataset.h"

namespace lpl::data::detail {
// X files: n images of 3 x 96 x 96 bytes, each channel stored column-major; y files: n labels 1..10.
ImageSet read_stl10_images(const std::string& path, int64_t n);
std::vector<int32_t> read_stl10_labels(const std::string& path, int64_t n);
struct Stl10Counts {
  int64_t unlabeled = 100000, train = 5000, test = 8000;
};
DatasetSplits load_stl10_from(const std::string& folder, const Stl10Counts& counts, uint64_t split_seed, bool downsample);
}  // namespace lpl::data::detail
