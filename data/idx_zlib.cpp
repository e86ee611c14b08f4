// gzip IDX files (Fashion-MNIST): gzip decoding to the end of the stream, so the trailer's CRC32 and
// length are checked, and IDX parsing that compares the sizes a header declares with the bytes
// present before allocating anything.
#include <zlib.h>

#include <algorithm>

#include "data/readers.h"
#include "engine/checked_size.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
// Reads IDX fields in order; fails naming the file when the data ends early.
struct IdxCursor {
  const std::vector<uint8_t>& raw;
  const std::string& path;
  size_t pos = 0;
  uint32_t be32(const char* what) {
    need(4, what);
    const uint8_t* b = raw.data() + pos;
    pos += 4;
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }
  void need(size_t n, const char* what) const {
    if (raw.size() - pos < n)
      fail(strf("fashion-mnist: %s: truncated (%s: wanted %zu bytes, file ends after %zu)", path.c_str(), what, n, raw.size() - pos));
  }
  // The rest must be exactly n bytes: the header's count, no more and no less.
  const uint8_t* rest(size_t n, const char* what) const {
    need(n, what);
    if (raw.size() - pos != n)
      fail(strf("fashion-mnist: %s: %zu bytes after the header, the header declares %zu (%s)", path.c_str(), raw.size() - pos,
                n, what));
    return raw.data() + pos;
  }
};
}  // namespace

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& path) {
  auto bad = [&](const std::string& why) { fail(strf("fashion-mnist: %s: %s", path.c_str(), why.c_str())); };
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) bad("cannot start zlib");
  std::vector<uint8_t> out;
  size_t in_pos = 0, n = 0;  // own counts: inflateReset() zeroes z.total_out between members
  int r = Z_OK;
  // Until the last member's trailer: zlib checks each member's CRC32 and ISIZE at its end.
  while (true) {
    if (out.size() - n < (1u << 16)) out.resize(std::max<size_t>(out.size() * 2, 1u << 16));
    z.next_in = const_cast<Bytef*>(data + in_pos);
    z.avail_in = static_cast<uInt>(std::min<size_t>(size - in_pos, 1u << 30));
    z.next_out = out.data() + n;
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - n, 1u << 30));
    const uInt avail_in = z.avail_in, avail_out = z.avail_out;
    r = inflate(&z, Z_NO_FLUSH);
    in_pos += avail_in - z.avail_in;
    n += avail_out - z.avail_out;
    if (r == Z_STREAM_END) {
      if (in_pos == size) break;
      inflateReset(&z);  // another gzip member follows (gzip files may be concatenated)
      continue;
    }
    if (r != Z_OK) break;  // Z_BUF_ERROR: the input ended inside a member
  }
  const std::string msg = z.msg ? z.msg : "";
  inflateEnd(&z);
  if (msg == "incorrect data check") bad("CRC mismatch (corrupt file)");
  if (msg == "incorrect length check") bad("length field mismatch (corrupt file)");
  if (r == Z_BUF_ERROR) bad("truncated gzip stream (file cut short?)");
  if (r != Z_STREAM_END) bad("corrupt gzip data (" + (msg.empty() ? std::to_string(r) : msg) + ")");
  out.resize(n);
  return out;
}

ImageSet parse_idx_images(const std::vector<uint8_t>& raw, const std::string& path) {
  IdxCursor c{raw, path};
  const uint32_t magic = c.be32("header");
  if (magic != 0x00000803u) fail(strf("fashion-mnist: %s: wrong magic number 0x%08x (IDX uint8 images have 0x00000803)", path.c_str(), magic));
  const uint32_t n = c.be32("header"), rows = c.be32("header"), cols = c.be32("header");
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || n > 10000000u)
    fail(strf("fashion-mnist: %s: implausible size %u x %u x %u", path.c_str(), n, rows, cols));
  const size_t bytes = static_cast<size_t>(checked_nbytes({n, rows, cols}, 1, "fashion-mnist: " + path));
  const uint8_t* px = c.rest(bytes, "pixels");  // checked before allocating: the header alone proves nothing
  ImageSet s;
  s.n = n; s.c = 1; s.h = rows; s.w = cols;
  s.pixels.assign(px, px + bytes);
  return s;
}

std::vector<int32_t> parse_idx_labels(const std::vector<uint8_t>& raw, const std::string& path) {
  IdxCursor c{raw, path};
  const uint32_t magic = c.be32("header");
  if (magic != 0x00000801u) fail(strf("fashion-mnist: %s: wrong magic number 0x%08x (IDX uint8 labels have 0x00000801)", path.c_str(), magic));
  const uint32_t n = c.be32("header");
  if (n > 10000000u) fail(strf("fashion-mnist: %s: implausible label count %u", path.c_str(), n));
  const uint8_t* lab = c.rest(n, "labels");
  std::vector<int32_t> out(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (lab[i] > 9) fail(strf("fashion-mnist: %s: label %u of image %u is outside 0..9", path.c_str(), lab[i], i));
    out[i] = lab[i];
  }
  return out;
}

namespace {
std::vector<uint8_t> read_gz(const std::string& path) {
  const std::vector<uint8_t> gz = read_file(path, "fashion-mnist");
  return gunzip(gz.data(), gz.size(), path);
}
}  // namespace

ImageSet read_idx_images_gz(const std::string& path) { return parse_idx_images(read_gz(path), path); }
std::vector<int32_t> read_idx_labels_gz(const std::string& path) { return parse_idx_labels(read_gz(path), path); }

}  // namespace lpl::data::detail
