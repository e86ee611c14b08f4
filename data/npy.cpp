#include "data/npy.h"

#include <cstring>
#include <fstream>
#include <regex>

#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data {

namespace {
size_t itemsize(const std::string& d) { return d == "u1" ? 1 : (d == "i4" || d == "f4") ? 4 : 8; }
}

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyArray read_npy(const std::string& path) {
  if (!detail::file_exists(path)) fail("npy: missing file " + path);
  std::vector<uint8_t> raw = detail::read_file(path, "npy");
  if (raw.size() < 10 || std::memcmp(raw.data(), "\x93NUMPY", 6) != 0) fail("npy: " + path + " is not a .npy file (bad magic)");
  const int major = raw[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = raw[8] | (size_t{raw[9]} << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (raw.size() < 12) fail("npy: " + path + ": truncated header");
    hlen = raw[8] | (size_t{raw[9]} << 8) | (size_t{raw[10]} << 16) | (size_t{raw[11]} << 24);
    hstart = 12;
  } else {
    fail(strf("npy: %s: unsupported format version %d", path.c_str(), major));
  }
  if (hstart + hlen > raw.size()) fail("npy: " + path + ": truncated header");
  const std::string header(reinterpret_cast<const char*>(raw.data() + hstart), hlen);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([<>|=])([a-z])(\d+)')")))
    fail("npy: " + path + ": header without 'descr'");
  const std::string order = m[1], kind = m[2], size = m[3];
  NpyArray a;
  a.dtype = kind + size;
  if (a.dtype != "f4" && a.dtype != "u1" && a.dtype != "i8" && a.dtype != "i4")
    fail("npy: " + path + ": dtype " + order + kind + size + " not supported (float32, uint8, int64, int32)");
  if (order == ">" && a.dtype != "u1") fail("npy: " + path + ": big-endian data not supported");
  if (std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*True)")))
    fail("npy: " + path + ": Fortran-order arrays not supported (save with np.ascontiguousarray)");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) fail("npy: " + path + ": header without 'shape'");
  std::string dims = m[1];
  std::regex num(R"(\d+)");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), num); it != std::sregex_iterator(); ++it)
    a.shape.push_back(std::stoll(it->str()));
  const size_t want = static_cast<size_t>(a.numel()) * itemsize(a.dtype), have = raw.size() - hstart - hlen;
  if (have != want)
    fail(strf("npy: %s: %zu data bytes, the header's shape and dtype want %zu%s", path.c_str(), have, want,
              have < want ? " (truncated)" : " (wrong size)"));
  a.bytes.assign(raw.begin() + static_cast<ptrdiff_t>(hstart + hlen), raw.end());
  return a;
}

void write_npy(const std::string& path, const std::string& dtype, const std::vector<int64_t>& shape, const void* data) {
  std::string descr = dtype == "u1" ? "|u1" : "<" + dtype;
  std::string sh = "(";
  int64_t n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    sh += std::to_string(shape[i]) + (shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
    n *= shape[i];
  }
  sh += ")";
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + sh + ", }";
  while ((10 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) fail("npy: cannot write " + path);
  f.write("\x93NUMPY\x01\x00", 8);
  const uint16_t hl = static_cast<uint16_t>(h.size());
  const char len[2] = {static_cast<char>(hl & 0xff), static_cast<char>(hl >> 8)};
  f.write(len, 2);
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(static_cast<size_t>(n) * itemsize(dtype)));
  if (!f) fail("npy: cannot write " + path);
}

}  // namespace lpl::data
