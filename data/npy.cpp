#include "data/npy.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <string_view>

#include <fmt/format.h>

#include "engine/common.h"
#include "engine/file_util.h"
#include "data/readers.h"

namespace lpl::data {
namespace {

// The value text of 'key': ... in the header dict (up to the next top-level comma or brace).
std::string dict_value(const std::string& h, const std::string& key, const std::string& path) {
  const std::string k1 = "'" + key + "'", k2 = "\"" + key + "\"";
  size_t p = h.find(k1);
  if (p == std::string::npos) p = h.find(k2);
  if (p == std::string::npos) fail(fmt::format("'{}': .npy header has no '{}'", path, key));
  p = h.find(':', p);
  if (p == std::string::npos) fail(fmt::format("'{}': malformed .npy header", path));
  ++p;
  int depth = 0;
  size_t e = p;
  for (; e < h.size(); ++e) {
    const char c = h[e];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) break;
  }
  std::string v = h.substr(p, e - p);
  const size_t a = v.find_first_not_of(" \t"), b = v.find_last_not_of(" \t");
  return a == std::string::npos ? "" : v.substr(a, b - a + 1);
}

std::string header_for(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += fmt::format("{}{}", shape[i], shape.size() == 1 ? "," : (i + 1 < shape.size() ? ", " : ""));
  s += ")";
  std::string h = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, s);
  // Magic (6) + version (2) + length (2) + header + '\n' padded to a multiple of 64.
  const size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>((h.size() >> 8) & 0xff);
  return out + h;
}

}  // namespace

NpyArray load_npy_f32(const std::string& path) {
  const std::string f = read_file(path);
  if (f.size() < 10 || std::memcmp(f.data(), "\x93NUMPY", 6) != 0)
    fail(fmt::format("'{}' is not a NumPy .npy file (bad magic)", path));
  const int major = static_cast<unsigned char>(f[6]);
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(f[8]) | (static_cast<size_t>(static_cast<unsigned char>(f[9])) << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (f.size() < 12) fail(fmt::format("'{}': truncated .npy header", path));
    for (int i = 0; i < 4; ++i) hlen |= static_cast<size_t>(static_cast<unsigned char>(f[8 + i])) << (8 * i);
    hstart = 12;
  } else {
    fail(fmt::format("'{}': unsupported .npy format version {}", path, major));
  }
  if (f.size() < hstart + hlen) fail(fmt::format("'{}': truncated .npy header", path));
  const std::string h = f.substr(hstart, hlen);
  std::string descr = dict_value(h, "descr", path);
  if (descr.size() >= 2) descr = descr.substr(1, descr.size() - 2);  // strip quotes
  const std::string fortran = dict_value(h, "fortran_order", path);
  if (fortran != "False") fail(fmt::format("'{}': Fortran-order arrays are not supported (save with np.ascontiguousarray)", path));
  size_t item = 0;
  if (descr == "<f4") item = 4;
  else if (descr == "<f8") item = 8;
  else fail(fmt::format("'{}': dtype '{}' is not supported (need float32 '<f4' or float64 '<f8')", path, descr));
  NpyArray a;
  const std::string sh = dict_value(h, "shape", path);
  if (sh.size() < 2 || sh.front() != '(' || sh.back() != ')') fail(fmt::format("'{}': malformed shape {}", path, sh));
  int64_t count = 1;
  size_t p = 1;
  while (p < sh.size() - 1) {
    while (p < sh.size() - 1 && (sh[p] == ' ' || sh[p] == ',')) ++p;
    if (p >= sh.size() - 1) break;
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(sh.substr(p), &used);
    } catch (const std::exception&) {
      fail(fmt::format("'{}': malformed shape {}", path, sh));
    }
    if (v < 0) fail(fmt::format("'{}': negative dimension in shape {}", path, sh));
    a.shape.push_back(v);
    count *= v;
    p += used;
  }
  const size_t need = static_cast<size_t>(count) * item, have = f.size() - hstart - hlen;
  if (have < need)
    fail(fmt::format("'{}': truncated: shape {} needs {} bytes of data, the file has {}", path, sh, need, have));
  a.data.resize(static_cast<size_t>(count));
  const char* d = f.data() + hstart + hlen;
  if (item == 4) {
    std::memcpy(a.data.data(), d, need);
  } else {
    for (int64_t i = 0; i < count; ++i) {
      double v;
      std::memcpy(&v, d + 8 * i, 8);
      a.data[static_cast<size_t>(i)] = static_cast<float>(v);
    }
  }
  return a;
}

void save_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t s : shape) count *= s;
  const std::string h = header_for("<f4", shape);
  atomic_write_file(path, {std::string_view(h),
                           std::string_view(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * 4)});
}

void save_npy_i64(const std::string& path, const std::vector<int64_t>& data) {
  const std::string h = header_for("<i8", {static_cast<int64_t>(data.size())});
  atomic_write_file(path, {std::string_view(h),
                           std::string_view(reinterpret_cast<const char*>(data.data()), data.size() * 8)});
}

}  // namespace lpl::data

// ---- raw arrays of the dataset dtypes ------------------------------------------------------------
namespace lpl::data {

namespace {
size_t raw_itemsize(const std::string& d) { return d == "u1" ? 1 : (d == "i4" || d == "f4") ? 4 : 8; }
}

int64_t NpyRaw::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

NpyRaw read_npy(const std::string& path) {
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
  NpyRaw a;
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
  const size_t want = static_cast<size_t>(a.numel()) * raw_itemsize(a.dtype), have = raw.size() - hstart - hlen;
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
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(static_cast<size_t>(n) * raw_itemsize(dtype)));
  if (!f) fail("npy: cannot write " + path);
}

void check_finite_images(const float* x, int64_t n_images, int64_t per_image, const std::string& what) {
  for (int64_t i = 0; i < n_images * per_image; ++i)
    if (!std::isfinite(x[i]))
      fail(strf("%s: image %lld holds a non-finite value (%s)", what.c_str(), static_cast<long long>(i / per_image),
                std::isnan(x[i]) ? "nan" : "inf"));
}

}  // namespace lpl::data
