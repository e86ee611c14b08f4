// NumPy .npy files (format versions 1-3, C order, little-endian): what users pass to
// `eval_linear --embed` and what `--save_features` writes for np.load.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lpl::data {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // float32 (float64 files are converted)
};
// Reads a '<f4' or '<f8' array; fails with lpl::Error naming the file and the problem (not an .npy,
// unsupported dtype, Fortran order, truncated data).
NpyArray load_npy_f32(const std::string& path);

// Writes atomically (tmp + rename).
void save_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void save_npy_i64(const std::string& path, const std::vector<int64_t>& data);

}  // namespace lpl::data
