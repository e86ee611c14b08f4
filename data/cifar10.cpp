// CIFAR-10, official binary version: cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin, each
// 10,000 records of 1 label byte + 3 x 32 x 32 pixel bytes (R, G, B planes, row-major).
// Splits: the 50,000 training images are permuted with split_seed (detail::seeded_permutation);
// the first 40,000 are the SSL split, the other 10,000 the probe-training and validation split;
// the 10,000 test images are the probe test split.
#include "data/cifar10.h"

#include "data/download.h"
#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
constexpr int64_t kRecord = 1 + 3 * 32 * 32;
}

ImageSet read_cifar10_batch(const std::string& path, int64_t records) {
  std::vector<uint8_t> raw = read_file(path, "cifar10");
  const int64_t want = records * kRecord;
  if (static_cast<int64_t>(raw.size()) != want)
    fail(strf("cifar10: %s has %zu bytes, want %lld (%lld records of %lld bytes)%s", path.c_str(), raw.size(),
              static_cast<long long>(want), static_cast<long long>(records), static_cast<long long>(kRecord),
              static_cast<int64_t>(raw.size()) < want ? ": truncated" : ": wrong size"));
  ImageSet s;
  s.n = records; s.c = 3; s.h = 32; s.w = 32;
  s.num_classes = 10;
  s.pixels.resize(static_cast<size_t>(records * (kRecord - 1)));
  s.labels.resize(static_cast<size_t>(records));
  for (int64_t i = 0; i < records; ++i) {
    const uint8_t* r = raw.data() + i * kRecord;
    if (r[0] > 9) fail(strf("cifar10: %s: label %u of record %lld is outside 0..9", path.c_str(), r[0], static_cast<long long>(i)));
    s.labels[static_cast<size_t>(i)] = r[0];
    std::copy(r + 1, r + kRecord, s.pixels.begin() + i * (kRecord - 1));
  }
  return s;
}

namespace {
ImageSet concat(const std::vector<ImageSet>& parts) {
  ImageSet out = parts.at(0);
  for (size_t k = 1; k < parts.size(); ++k) {
    out.n += parts[k].n;
    out.pixels.insert(out.pixels.end(), parts[k].pixels.begin(), parts[k].pixels.end());
    out.labels.insert(out.labels.end(), parts[k].labels.begin(), parts[k].labels.end());
  }
  return out;
}
}  // namespace

DatasetSplits load_cifar10_from(const std::string& folder, int64_t records_per_file, uint64_t split_seed) {
  DatasetSplits d;
  d.name = "cifar10";
  d.image_size = 32;
  d.norm = {{125.3f / 255, 123.0f / 255, 113.9f / 255}, {63.0f / 255, 62.1f / 255, 66.7f / 255}};
  std::vector<ImageSet> parts;
  for (int k = 1; k <= 5; ++k) parts.push_back(read_cifar10_batch(strf("%s/data_batch_%d.bin", folder.c_str(), k), records_per_file));
  ImageSet train = concat(parts);
  d.test = read_cifar10_batch(folder + "/test_batch.bin", records_per_file);
  const int64_t n_ssl = train.n * 4 / 5;  // 40,000 of 50,000
  auto perm = seeded_permutation(train.n, split_seed);
  d.ssl_train = subset(train, perm, 0, n_ssl);
  d.probe_train = subset(train, perm, n_ssl, train.n);
  d.validation = d.probe_train;
  return d;
}

DatasetSplits load_cifar10(const DataOptions& opt) {
  const std::string dir = opt.data_dir.empty() ? default_data_dir("cifar10") : opt.data_dir;
  // Accept the batch files directly in --data_dir, too.
  if (file_exists(dir + "/data_batch_1.bin")) return load_cifar10_from(dir, 10000, opt.split_seed);
  ensure_dataset({"cifar10", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                  "c32a1d4ab5d03f1284b67883e8d87530", "cifar-10-batches-bin/data_batch_1.bin"},
                 dir);
  return load_cifar10_from(dir + "/cifar-10-batches-bin", 10000, opt.split_seed);
}

}  // namespace lpl::data::detail
