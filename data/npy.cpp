#include "data/npy.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string_view>

#include <fmt/format.h>

#include "engine/checked_size.h"
#include "engine/common.h"
#include "engine/file_util.h"
#include "data/readers.h"

namespace lpl::data {
namespace {

// The value text of 'key': ... in the header dict (up to the next top-level comma or brace).
std::string dict_value(const std::string& h, const std::string& key, const std::string& who) {
  const std::string k1 = "'" + key + "'", k2 = "\"" + key + "\"";
  size_t p = h.find(k1);
  if (p == std::string::npos) p = h.find(k2);
  if (p == std::string::npos) fail(fmt::format("{}: .npy header has no '{}'", who, key));
  p = h.find(':', p);
  if (p == std::string::npos) fail(fmt::format("{}: malformed .npy header", who));
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

// The parts of an .npy header both readers need. `who` starts every error ("'x.npy'", "npy: x.npy").
struct Header {
  std::string descr;  // e.g. "<f4", quotes stripped
  bool fortran = false;
  std::string shape_text;
  std::vector<int64_t> shape;
  size_t data_at = 0;  // offset of the data
};

Header parse_header(std::string_view f, const std::string& who) {
  const int major = static_cast<unsigned char>(f[6]);
  size_t hlen = 0, hstart = 0;
  if (major == 1) {
    hstart = 10;
  } else if (major == 2 || major == 3) {
    hstart = 12;
  } else {
    fail(fmt::format("{}: unsupported .npy format version {}", who, major));
  }
  if (f.size() < hstart) fail(fmt::format("{}: truncated .npy header", who));
  for (size_t i = 8; i < hstart; ++i) hlen |= static_cast<size_t>(static_cast<unsigned char>(f[i])) << (8 * (i - 8));
  if (f.size() - hstart < hlen) fail(fmt::format("{}: truncated .npy header", who));
  const std::string h(f.substr(hstart, hlen));
  Header out;
  out.data_at = hstart + hlen;
  out.descr = dict_value(h, "descr", who);
  if (out.descr.size() >= 2) out.descr = out.descr.substr(1, out.descr.size() - 2);  // strip quotes
  out.fortran = dict_value(h, "fortran_order", who) != "False";
  const std::string& sh = out.shape_text = dict_value(h, "shape", who);
  if (sh.size() < 2 || sh.front() != '(' || sh.back() != ')') fail(fmt::format("{}: malformed shape {}", who, sh));
  for (size_t p = 1; p < sh.size() - 1;) {
    if (sh[p] == ' ' || sh[p] == ',') {
      ++p;
      continue;
    }
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(sh.data() + p, sh.data() + sh.size() - 1, v);
    if (ec == std::errc::result_out_of_range)
      fail(fmt::format("{}: declared shape {} is too large (a dimension overflows 64 bits)", who, sh));
    if (ec != std::errc() || end == sh.data() + p) fail(fmt::format("{}: malformed shape {}", who, sh));
    if (v < 0) fail(fmt::format("{}: negative dimension in shape {}", who, sh));
    out.shape.push_back(v);
    p = static_cast<size_t>(end - sh.data());
  }
  return out;
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

NpyArray load_npy_f32(const std::string& path) { return parse_npy_f32(read_file(path), path); }

NpyArray parse_npy_f32(std::string_view f, const std::string& path) {
  const std::string who = "'" + path + "'";
  if (f.size() < 10 || std::memcmp(f.data(), "\x93NUMPY", 6) != 0)
    fail(fmt::format("'{}' is not a NumPy .npy file (bad magic)", path));
  const Header h = parse_header(f, who);
  if (h.fortran) fail(fmt::format("'{}': Fortran-order arrays are not supported (save with np.ascontiguousarray)", path));
  size_t item = 0;
  if (h.descr == "<f4") item = 4;
  else if (h.descr == "<f8") item = 8;
  else fail(fmt::format("'{}': dtype '{}' is not supported (need float32 '<f4' or float64 '<f8')", path, h.descr));
  NpyArray a;
  a.shape = h.shape;
  const size_t need = static_cast<size_t>(checked_nbytes(h.shape, static_cast<int64_t>(item), who));
  const size_t have = f.size() - h.data_at;
  if (have < need)
    fail(fmt::format("'{}': truncated: shape {} needs {} bytes of data, the file has {}", path, h.shape_text, need, have));
  const size_t count = need / item;
  a.data.resize(count);
  const char* d = f.data() + h.data_at;
  if (item == 4) {
    if (need) std::memcpy(a.data.data(), d, need);
  } else {
    for (size_t i = 0; i < count; ++i) {
      double v;
      std::memcpy(&v, d + 8 * i, 8);
      a.data[i] = static_cast<float>(v);
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
  const std::vector<uint8_t> raw = detail::read_file(path, "npy");
  return parse_npy(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()), path);
}

NpyRaw parse_npy(std::string_view raw, const std::string& path) {
  const std::string who = "npy: " + path;
  if (raw.size() < 10 || std::memcmp(raw.data(), "\x93NUMPY", 6) != 0) fail(who + " is not a .npy file (bad magic)");
  const Header h = parse_header(raw, who);
  const std::string& d = h.descr;
  NpyRaw a;
  if (d.size() >= 2) a.dtype = d.substr(1);
  if (d.empty() || std::string_view("<>|=").find(d[0]) == std::string_view::npos ||
      (a.dtype != "f4" && a.dtype != "u1" && a.dtype != "i8" && a.dtype != "i4"))
    fail(who + ": dtype " + d + " not supported (float32, uint8, int64, int32)");
  if (d[0] == '>' && a.dtype != "u1") fail(who + ": big-endian data not supported");
  if (h.fortran) fail(who + ": Fortran-order arrays not supported (save with np.ascontiguousarray)");
  a.shape = h.shape;
  const size_t want = static_cast<size_t>(checked_nbytes(a.shape, static_cast<int64_t>(raw_itemsize(a.dtype)), who));
  const size_t have = raw.size() - h.data_at;
  if (have != want)
    fail(strf("%s: %zu data bytes, the header's shape and dtype want %zu%s", who.c_str(), have, want,
              have < want ? " (truncated)" : " (wrong size)"));
  a.bytes.assign(raw.begin() + static_cast<ptrdiff_t>(h.data_at), raw.end());
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
