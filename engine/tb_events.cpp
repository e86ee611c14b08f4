#include "engine/tb_events.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <unistd.h>

#include "engine/common.h"
#include "engine/file_util.h"

namespace lpl::tb {

// ---- CRC-32C (Castagnoli), table driven ----------------------------------------------------------
uint32_t crc32c(const void* data, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

// ---- Protobuf encoding (only what Event/Summary need) ---------------------------------------------
namespace {
void put_varint(std::string& s, uint64_t v) {
  while (v >= 0x80) {
    s.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  s.push_back(static_cast<char>(v));
}
void put_tag(std::string& s, int field, int wire) { put_varint(s, (static_cast<uint64_t>(field) << 3) | wire); }
void put_fixed64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_fixed32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
// proto3: a field holding its default (0) is not written; python's protobuf does the same.
void put_double(std::string& s, int field, double d) {
  if (d == 0.0 && !std::signbit(d)) return;
  uint64_t u;
  std::memcpy(&u, &d, 8);
  put_tag(s, field, 1);
  put_fixed64(s, u);
}
void put_bytes(std::string& s, int field, const std::string& b) {
  put_tag(s, field, 2);
  put_varint(s, b.size());
  s += b;
}
void put_packed_doubles(std::string& s, int field, const std::vector<double>& v) {
  if (v.empty()) return;
  std::string p;
  for (double d : v) {
    uint64_t u;
    std::memcpy(&u, &d, 8);
    put_fixed64(p, u);
  }
  put_bytes(s, field, p);
}
std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_double(e, 1, wall_time);  // (0 is omitted, as proto3 does)
  if (step != 0) {
    put_tag(e, 2, 0);
    put_varint(e, static_cast<uint64_t>(step));
  }
  return e;
}
double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string encode_file_version_event(double wall_time) {
  std::string e = event_header(wall_time, 0);
  put_bytes(e, 3, "brain.Event:2");
  return e;
}

std::string encode_session_start_event(int64_t step, double wall_time) {
  std::string log;
  put_tag(log, 1, 0);  // SessionLog.status = START (1)
  put_varint(log, 1);
  std::string e = event_header(wall_time, step);
  put_bytes(e, 7, log);  // Event.session_log
  return e;
}

std::string encode_scalar_event(const std::string& tag, float value, int64_t step, double wall_time) {
  std::string v;
  put_bytes(v, 1, tag);
  uint32_t u;
  std::memcpy(&u, &value, 4);
  // simple_value sits in a oneof: written even when 0 (TensorBoard ignores a value without it).
  put_tag(v, 2, 5);
  put_fixed32(v, u);
  std::string summary;
  put_bytes(summary, 1, v);
  std::string e = event_header(wall_time, step);
  put_bytes(e, 5, summary);
  return e;
}

std::string encode_histogram_event(const std::string& tag, const Histogram& h, int64_t step, double wall_time) {
  std::string hp;
  put_double(hp, 1, h.min);
  put_double(hp, 2, h.max);
  put_double(hp, 3, h.num);
  put_double(hp, 4, h.sum);
  put_double(hp, 5, h.sum_squares);
  put_packed_doubles(hp, 6, h.bucket_limit);
  put_packed_doubles(hp, 7, h.bucket);
  std::string v;
  put_bytes(v, 1, tag);
  put_bytes(v, 5, hp);
  std::string summary;
  put_bytes(summary, 1, v);
  std::string e = event_header(wall_time, step);
  put_bytes(e, 5, summary);
  return e;
}

Histogram make_histogram(const std::vector<double>& values) {
  // tensorboard's default buckets: +-1e-12 * 1.1^k up to 1e20, plus the limits at -DBL_MAX/DBL_MAX.
  static const std::vector<double> limits = [] {
    std::vector<double> pos;
    for (double v = 1e-12; v < 1e20; v *= 1.1) pos.push_back(v);
    std::vector<double> l;
    for (auto it = pos.rbegin(); it != pos.rend(); ++it) l.push_back(-*it);
    l.push_back(0.0);
    for (double v : pos) l.push_back(v);
    l.push_back(1.7976931348623157e308);
    return l;
  }();
  Histogram h;
  if (values.empty()) return h;
  h.min = values[0];
  h.max = values[0];
  std::vector<double> counts(limits.size(), 0.0);
  for (double v : values) {
    h.min = std::min(h.min, v);
    h.max = std::max(h.max, v);
    h.sum += v;
    h.sum_squares += v * v;
    size_t k = static_cast<size_t>(std::upper_bound(limits.begin(), limits.end(), v) - limits.begin());
    if (k >= limits.size()) k = limits.size() - 1;
    counts[k] += 1;
  }
  h.num = static_cast<double>(values.size());
  // Keep only the used range of buckets (as tensorboard does), so files stay small.
  size_t first = 0, last = counts.size();
  while (first < counts.size() && counts[first] == 0) ++first;
  while (last > first && counts[last - 1] == 0) --last;
  for (size_t k = first; k < last; ++k) {
    h.bucket_limit.push_back(limits[k]);
    h.bucket.push_back(counts[k]);
  }
  return h;
}

// ---- Writer ----------------------------------------------------------------------------------------
EventWriter::EventWriter(const std::string& dir, double wall_time) {
  make_dirs(dir);
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  double t = wall_time >= 0 ? wall_time : now();
  for (int n = 0;; ++n) {
    path_ = (std::filesystem::path(dir) /
             fmt::format("events.out.tfevents.{}.{}.{}.{}", static_cast<int64_t>(t), host, ::getpid(), n))
                .string();
    if (!file_exists(path_)) break;
  }
  f_ = std::fopen(path_.c_str(), "wb");
  if (!f_) fail(fmt::format("cannot create TensorBoard event file '{}': {}", path_, std::strerror(errno)));
  write_record(encode_file_version_event(t));
  flush();
}

EventWriter::~EventWriter() {
  if (f_) std::fclose(f_);
}

void EventWriter::write_record(const std::string& event) {
  std::string rec;
  uint64_t n = event.size();
  put_fixed64(rec, n);
  put_fixed32(rec, masked_crc32c(rec.data(), 8));
  rec += event;
  put_fixed32(rec, masked_crc32c(event.data(), event.size()));
  if (std::fwrite(rec.data(), 1, rec.size(), f_) != rec.size())
    fail(fmt::format("cannot write TensorBoard event file '{}'", path_));
}

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  if (skip_.count({tag, step})) return;
  write_record(encode_scalar_event(tag, static_cast<float>(value), step, wall_time >= 0 ? wall_time : now()));
}

void EventWriter::add_histogram(const std::string& tag, const Histogram& h, int64_t step, double wall_time) {
  if (skip_.count({tag, step})) return;
  write_record(encode_histogram_event(tag, h, step, wall_time >= 0 ? wall_time : now()));
}

void EventWriter::add_session_start(int64_t step, double wall_time) {
  write_record(encode_session_start_event(step, wall_time >= 0 ? wall_time : now()));
}

void EventWriter::flush() {
  if (f_) std::fflush(f_);
}

// ---- Reader ----------------------------------------------------------------------------------------
namespace {
struct Cursor {
  const unsigned char* p;
  const unsigned char* end;
  const std::string& file;
  [[noreturn]] void bad(const std::string& why) const { fail(fmt::format("invalid event in '{}': {}", file, why)); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end) bad("truncated varint");
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    bad("varint too long");
  }
  uint64_t fixed(int n) {
    if (end - p < n) bad("truncated fixed field");
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    p += n;
    return v;
  }
  std::string bytes() {
    uint64_t n = varint();
    if (static_cast<uint64_t>(end - p) < n) bad("truncated length-delimited field");
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
  void skip(int wire) {
    if (wire == 0) varint();
    else if (wire == 1) fixed(8);
    else if (wire == 5) fixed(4);
    else if (wire == 2) bytes();
    else bad(fmt::format("unsupported wire type {}", wire));
  }
};
double as_double(uint64_t u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}
std::vector<double> packed_doubles(const std::string& s) {
  std::vector<double> v(s.size() / 8);
  std::memcpy(v.data(), s.data(), v.size() * 8);
  return v;
}
Histogram decode_histo(const std::string& s, const std::string& file) {
  Histogram h;
  Cursor c{reinterpret_cast<const unsigned char*>(s.data()), reinterpret_cast<const unsigned char*>(s.data()) + s.size(), file};
  while (c.p < c.end) {
    uint64_t key = c.varint();
    int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (wire == 1 && field >= 1 && field <= 5) {
      double d = as_double(c.fixed(8));
      double* dst[] = {&h.min, &h.max, &h.num, &h.sum, &h.sum_squares};
      *dst[field - 1] = d;
    } else if (wire == 2 && field == 6) {
      h.bucket_limit = packed_doubles(c.bytes());
    } else if (wire == 2 && field == 7) {
      h.bucket = packed_doubles(c.bytes());
    } else {
      c.skip(wire);
    }
  }
  return h;
}
Event decode_event(const std::string& s, const std::string& file) {
  Event e;
  Cursor c{reinterpret_cast<const unsigned char*>(s.data()), reinterpret_cast<const unsigned char*>(s.data()) + s.size(), file};
  while (c.p < c.end) {
    uint64_t key = c.varint();
    int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field == 1 && wire == 1) e.wall_time = as_double(c.fixed(8));
    else if (field == 2 && wire == 0) e.step = static_cast<int64_t>(c.varint());
    else if (field == 3 && wire == 2) e.file_version = c.bytes();
    else if (field == 7 && wire == 2) {  // session_log
      std::string log = c.bytes();
      Cursor lc{reinterpret_cast<const unsigned char*>(log.data()), reinterpret_cast<const unsigned char*>(log.data()) + log.size(),
                file};
      while (lc.p < lc.end) {
        uint64_t k = lc.varint();
        if ((k >> 3) == 1 && (k & 7) == 0) e.session_start = lc.varint() == 1;
        else lc.skip(static_cast<int>(k & 7));
      }
    }
    else if (field == 5 && wire == 2) {
      std::string summary = c.bytes();
      Cursor sc{reinterpret_cast<const unsigned char*>(summary.data()),
                reinterpret_cast<const unsigned char*>(summary.data()) + summary.size(), file};
      while (sc.p < sc.end) {
        uint64_t k = sc.varint();
        if ((k >> 3) == 1 && (k & 7) == 2) {
          std::string vb = sc.bytes();
          Event::Value v;
          Cursor vc{reinterpret_cast<const unsigned char*>(vb.data()),
                    reinterpret_cast<const unsigned char*>(vb.data()) + vb.size(), file};
          while (vc.p < vc.end) {
            uint64_t kk = vc.varint();
            int f = static_cast<int>(kk >> 3), w = static_cast<int>(kk & 7);
            if (f == 1 && w == 2) v.tag = vc.bytes();
            else if (f == 2 && w == 5) {
              uint32_t u = static_cast<uint32_t>(vc.fixed(4));
              std::memcpy(&v.simple_value, &u, 4);
              v.has_simple = true;
            } else if (f == 5 && w == 2) {
              v.histo = decode_histo(vc.bytes(), file);
              v.has_histo = true;
            } else vc.skip(w);
          }
          e.values.push_back(std::move(v));
        } else {
          sc.skip(static_cast<int>(k & 7));
        }
      }
    } else c.skip(wire);
  }
  return e;
}
}  // namespace

namespace {
uint64_t read_le64(const std::string& b, size_t pos) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(b[pos + i])) << (8 * i);
  return n;
}
}  // namespace

std::vector<std::string> read_records(const std::string& path, bool allow_truncated_tail) {
  std::string b = read_file(path);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < b.size()) {
    if (allow_truncated_tail && (b.size() - pos < 12 || b.size() - pos - 12 < read_le64(b, pos) + 4)) break;
    if (b.size() - pos < 12) fail(fmt::format("invalid event file '{}': truncated record header at byte {}", path, pos));
    const uint64_t n = read_le64(b, pos);
    uint32_t hcrc = 0;
    for (int i = 0; i < 4; ++i) hcrc |= static_cast<uint32_t>(static_cast<unsigned char>(b[pos + 8 + i])) << (8 * i);
    if (hcrc != masked_crc32c(b.data() + pos, 8))
      fail(fmt::format("invalid event file '{}': length CRC mismatch in record {}", path, out.size()));
    if (b.size() - pos - 12 < n + 4)
      fail(fmt::format("invalid event file '{}': truncated record {}", path, out.size()));
    std::string data = b.substr(pos + 12, n);
    uint32_t dcrc = 0;
    for (int i = 0; i < 4; ++i)
      dcrc |= static_cast<uint32_t>(static_cast<unsigned char>(b[pos + 12 + n + i])) << (8 * i);
    if (dcrc != masked_crc32c(data.data(), data.size()))
      fail(fmt::format("invalid event file '{}': data CRC mismatch in record {}", path, out.size()));
    out.push_back(std::move(data));
    pos += 12 + n + 4;
  }
  return out;
}

std::vector<Event> read_events(const std::string& path, bool allow_truncated_tail) {
  std::vector<Event> ev;
  for (const auto& r : read_records(path, allow_truncated_tail)) ev.push_back(decode_event(r, path));
  return ev;
}

std::vector<Event> read_run_events(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<Event> out;
  for (const auto& f : files)
    for (auto& ev : read_events(f, true)) {
      if (ev.session_start)
        out.erase(std::remove_if(out.begin(), out.end(), [&](const Event& x) { return x.step >= ev.step; }), out.end());
      out.push_back(std::move(ev));
    }
  return out;
}

}  // namespace lpl::tb
