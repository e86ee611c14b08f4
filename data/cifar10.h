// CIFAR-10 binary reader internals (exposed for tests with small generated files).
#pragma once
#include <string>

#include "data/dataset.h"

namespace lpl::data::detail {
// One batch file of `records` records (10,000 in the official files).
ImageSet read_cifar10_batch(const std::string& path, int64_t records);
// The splits from a folder holding data_batch_1..5.bin and test_batch.bin.
DatasetSplits load_cifar10_from(const std::string& folder, int64_t records_per_file, uint64_t split_seed);
}  // namespace lpl::data::detail
