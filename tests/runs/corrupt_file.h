// Damage done to checkpoint files by the corruption tests: flipped bytes inside one tensor's data,
// and an edited header value of the same length (the file stays well-formed safetensors).
#pragma once
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace lpl::test {

inline std::string file_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
inline void write_bytes(const std::string& p, const std::string& b) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << b;
}

// Inverts `count` bytes in the middle of the data of the first tensor whose name starts with `prefix`.
inline void flip_tensor_bytes(const std::string& path, const std::string& prefix, int count) {
  std::string b = file_bytes(path);
  REQUIRE(b.size() >= 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
  const auto header = nlohmann::json::parse(b.substr(8, n));
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key().rfind(prefix, 0) != 0) continue;
    const uint64_t begin = it.value()["data_offsets"][0], end = it.value()["data_offsets"][1];
    REQUIRE(end - begin >= static_cast<uint64_t>(count));
    const uint64_t at = 8 + n + begin + (end - begin - count) / 2;
    for (int i = 0; i < count; ++i) b[at + i] = static_cast<char>(~b[at + i]);
    write_bytes(path, b);
    return;
  }
  FAIL("no tensor named " << prefix << "* in " << path);
}

// Replaces the one occurrence of `from` in the file by `to` (same length).
inline void replace_once(const std::string& path, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  std::string b = file_bytes(path);
  const size_t at = b.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from << " not in " << path);
  REQUIRE(b.find(from, at + 1) == std::string::npos);
  b.replace(at, from.size(), to);
  write_bytes(path, b);
}

}  // namespace lpl::test
