// Internal helpers shared by the dataset readers (not part of the trainer's interface).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace lpl::data::detail {

// ~/data/datasets/<name> (or $LPL_DATA_ROOT/<name>).
std::string default_data_dir(const std::string& name);
bool file_exists(const std::string& path);  // a regular file (not a directory)
// Fails "<what>: missing file <path>" or "<what>: <path> is a directory, expected a file".
void require_file(const std::string& path, const std::string& what);
// Whole file into memory; fails as require_file, or naming the path when unreadable.
std::vector<uint8_t> read_file(const std::string& path, const std::string& what);

// Seeded permutation of 0..n-1 (Fisher-Yates on the counter-based RNG, stream "split").
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);
// The images (and labels) of `set` at `idx`, in that order.
ImageSet subset(const ImageSet& set, const std::vector<int64_t>& idx, int64_t begin, int64_t end);
// Resize every image to size x size with PIL's bilinear filter (antialiased when shrinking).
ImageSet resize_images(const ImageSet& set, int size);
void resize_bilinear_u8(const uint8_t* src, int C, int H, int W, uint8_t* dst, int OH, int OW);
// 1-channel sets become 3-channel by replication.
ImageSet replicate_to_rgb(const ImageSet& set);

DatasetSplits load_fashion_mnist(const DataOptions& opt);  // fashion_mnist_zlib.cpp
DatasetSplits load_cifar10(const DataOptions& opt);        // cifar10.cpp
DatasetSplits load_stl10(const DataOptions& opt);          // stl10.cpp
DatasetSplits load_pairs(const DataOptions& opt);          // pairs.cpp
DatasetSplits load_imagenet(const DataOptions& opt);       // imagenet_stb.cpp

// Reads gzip IDX files (fashion_mnist_zlib.cpp): images N x rows x cols uint8, labels N uint8.
ImageSet read_idx_images_gz(const std::string& path);
std::vector<int32_t> read_idx_labels_gz(const std::string& path);
// The same from memory (fuzzing, tests): gzip decoding to the end of the last member (CRC32 and
// length checked), and IDX parsing of the decoded bytes. `path` names the file in errors.
std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& path);
ImageSet parse_idx_images(const std::vector<uint8_t>& raw, const std::string& path);
std::vector<int32_t> parse_idx_labels(const std::vector<uint8_t>& raw, const std::string& path);

}  // namespace lpl::data::detail
