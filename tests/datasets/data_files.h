// Test helpers: a temporary folder and writers of every on-disk dataset format the readers accept,
// so each test builds exactly the files (and the corruptions) it needs.
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace lpl::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/lpl_data_test_XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& f) const { return path + "/" + f; }
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
// mode "wb0" stores the data uncompressed (deflate level 0).
inline void write_gz(const std::string& path, const std::vector<uint8_t>& b, const char* mode = "wb") {
  gzFile g = gzopen(path.c_str(), mode);
  gzwrite(g, b.data(), static_cast<unsigned>(b.size()));
  gzclose(g);
}
inline void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}
// IDX uint8 images (magic 0x803) / labels (0x801), uncompressed bytes.
inline std::vector<uint8_t> idx_images(uint32_t n, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& px,
                                       uint32_t magic = 0x803) {
  std::vector<uint8_t> v;
  put_be32(v, magic); put_be32(v, n); put_be32(v, rows); put_be32(v, cols);
  v.insert(v.end(), px.begin(), px.end());
  return v;
}
inline std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels, uint32_t magic = 0x801) {
  std::vector<uint8_t> v;
  put_be32(v, magic); put_be32(v, static_cast<uint32_t>(labels.size()));
  v.insert(v.end(), labels.begin(), labels.end());
  return v;
}

}  // namespace lpl::test
