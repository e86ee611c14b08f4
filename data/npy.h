// NumPy .npy files (format versions 1-3, C order, little-endian): what users pass to
// `eval_linear --embed` and what `--save_features` writes for np.load.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lpl::data {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // float32 (float64 files are converted)
};
// Reads a '<f4' or '<f8' array; fails with lpl::Error naming the file and the problem (not an .npy,
// unsupported dtype, Fortran order, truncated data).
NpyArray load_npy_f32(const std::string& path);
// Refuses a non-finite value in n_images images of per_image floats, naming `what` (the file) and
// the image: a NaN pixel would otherwise surface as a diverged loss.
void check_finite_images(const float* x, int64_t n_images, int64_t per_image, const std::string& what);
// load_npy_f32 on the bytes of a file (fuzzing, tests); `path` only names it in errors.
NpyArray parse_npy_f32(std::string_view bytes, const std::string& path);

// Writes atomically (tmp + rename).
void save_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void save_npy_i64(const std::string& path, const std::vector<int64_t>& data);

// Any of the dtypes the datasets use, raw (the `pairs` views and labels, Shapes3D trajectories).
struct NpyRaw {
  std::string dtype;             // "f4", "u1", "i8", "i4" (byte order normalised away)
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;    // numel * itemsize, little-endian
  int64_t numel() const;
  template <class T>
  const T* as() const { return reinterpret_cast<const T*>(bytes.data()); }
};
// Reads `path`; fails naming the file on a bad magic, an unsupported dtype or order, or a size
// that does not match the header (truncated / trailing bytes).
NpyRaw read_npy(const std::string& path);
NpyRaw parse_npy(std::string_view bytes, const std::string& path);  // from memory, like parse_npy_f32
// Writes a C-order array of dtype "f4", "u1", "i8" or "i4" (tools and tests).
void write_npy(const std::string& path, const std::string& dtype, const std::vector<int64_t>& shape, const void* data);

}  // namespace lpl::data
