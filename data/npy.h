// NumPy .npy arrays (format versions 1-3, C order, little-endian): the dtypes the datasets use.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lpl::data {

struct NpyArray {
  std::string dtype;             // "f4", "u1", "i8", "i4" (byte order normalised away)
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;    // numel * itemsize, little-endian
  int64_t numel() const;
  template <class T>
  const T* as() const { return reinterpret_cast<const T*>(bytes.data()); }
};

// Reads `path`; fails naming the file on a bad magic, an unsupported dtype or order, or a size
// that does not match the header (truncated / trailing bytes).
NpyArray read_npy(const std::string& path);
// Writes a C-order array (tools and tests).
void write_npy(const std::string& path, const std::string& dtype, const std::vector<int64_t>& shape, const void* data);

}  // namespace lpl::data
