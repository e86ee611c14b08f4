#include "models/spiking/spike_io.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>

#include "engine/common.h"
#include "models/spiking/constants.h"

namespace lpl::spiking {

namespace {

gzFile open_gz(const std::string& path) {
  // A missing file is also looked for as <path>.gz (compressed test data, reference bundles).
  const std::string gz = path + ".gz";
  const bool use_gz = !std::filesystem::exists(path) && std::filesystem::exists(gz);
  gzFile g = gzopen((use_gz ? gz : path).c_str(), "rb");
  if (!g) fail(strf("cannot open '%s': %s", path.c_str(), std::strerror(errno)));
  gzbuffer(g, 1 << 17);
  return g;
}

}  // namespace

std::string read_text_file(const std::string& path) {
  gzFile g = open_gz(path);
  std::string out;
  char buf[1 << 16];
  int r;
  while ((r = gzread(g, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(r));
  int err = 0;
  const char* msg = gzerror(g, &err);
  const bool bad = r < 0 || (err != Z_OK && err != Z_STREAM_END);
  const std::string m = bad ? msg : "";
  gzclose(g);
  if (bad) fail(strf("cannot read '%s': %s (truncated or corrupt)", path.c_str(), m.c_str()));
  return out;
}

std::vector<std::vector<double>> read_numeric_rows(const std::string& path, size_t min_cols) {
  const std::string text = read_text_file(path);
  std::vector<std::vector<double>> rows;
  std::istringstream in(text);
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#' || line[first] == '%') continue;
    std::vector<double> row;
    const char* p = line.c_str();
    char* end = nullptr;
    while (true) {
      while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
      if (!*p) break;
      double v;
      if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {  // hex bit pattern column (initial voltages)
        v = static_cast<double>(std::strtoull(p, &end, 16));
      } else {
        v = std::strtod(p, &end);
      }
      if (end == p) fail(strf("%s:%zu: not a number: '%s'", path.c_str(), lineno, line.c_str()));
      row.push_back(v);
      p = end;
    }
    if (row.size() < min_cols)
      fail(strf("%s:%zu: expected at least %zu columns, got %zu", path.c_str(), lineno, min_cols, row.size()));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) fail(strf("'%s' holds no data rows", path.c_str()));
  return rows;
}

// ---- spike files -------------------------------------------------------------------------------

std::FILE* open_output(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail(strf("cannot write '%s': %s", path.c_str(), std::strerror(errno)));
  return f;
}

void close_output(std::FILE* f, const std::string& path) {
  if (!f) return;
  const bool bad = std::ferror(f) != 0;
  if (std::fclose(f) != 0 || bad) fail(strf("error writing '%s' (disk full?)", path.c_str()));
}

void ensure_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    fail(strf("cannot create output directory '%s': %s", dir.c_str(), ec.message().c_str()));
}

SpikeWriter::SpikeWriter(const std::string& path) : f_(open_output(path)), path_(path) {
  buf_ = {kSpkStepsPerSecond, kSpkFormatTag};
}

SpikeWriter::~SpikeWriter() {
  if (f_) {
    flush();
    std::fclose(f_);
  }
}

void SpikeWriter::write(int64_t step, const std::vector<uint32_t>& units, uint32_t offset) {
  if (!f_) return;
  for (uint32_t u : units) {
    buf_.push_back(static_cast<uint32_t>(step));
    buf_.push_back(u + offset);
  }
  if (buf_.size() >= (1u << 16)) flush();
}

void SpikeWriter::flush() {
  if (!buf_.empty() && std::fwrite(buf_.data(), sizeof(uint32_t), buf_.size(), f_) != buf_.size())
    fail(strf("error writing '%s' (disk full?)", path_.c_str()));
  buf_.clear();
}

void SpikeWriter::close() {
  if (!f_) return;
  flush();
  std::FILE* f = f_;
  f_ = nullptr;
  close_output(f, path_);
}

SpikeReader::SpikeReader(const std::string& path, uint32_t n_units) : path_(path), n_units_(n_units) {
  gz_ = open_gz(path);
  try {  // a constructor that throws runs no destructor: close the file here (fuzz/ found the leak)
    buf_.resize(1 << 16);
    uint32_t hdr[2];
    const int r = gzread(static_cast<gzFile>(gz_), hdr, sizeof hdr);
    if (r != static_cast<int>(sizeof hdr)) fail(strf("'%s': too short for a spike file (no header)", path.c_str()));
    if (hdr[0] != kSpkStepsPerSecond || hdr[1] != kSpkFormatTag)
      fail(strf("'%s': not an Auryn 0.8.2 spike file (header %u %u, expected %u %u)", path.c_str(), hdr[0], hdr[1],
                kSpkStepsPerSecond, kSpkFormatTag));
    have_ = next();
  } catch (...) {
    gzclose(static_cast<gzFile>(gz_));
    gz_ = nullptr;
    throw;
  }
}

SpikeReader::~SpikeReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

bool SpikeReader::next() {
  if (pos_ + 2 > len_) {
    if (eof_) return false;
    const size_t keep = len_ - pos_;
    if (keep) std::memmove(buf_.data(), buf_.data() + pos_, keep * sizeof(uint32_t));
    const int r = gzread(static_cast<gzFile>(gz_), buf_.data() + keep, static_cast<unsigned>((buf_.size() - keep) * 4));
    if (r < 0) fail(strf("'%s': read error (corrupt file)", path_.c_str()));
    if (r % 4 != 0 || (r == 0 && keep != 0)) fail(strf("'%s': truncated spike file", path_.c_str()));
    len_ = keep + static_cast<size_t>(r) / 4;
    pos_ = 0;
    if (r == 0) eof_ = true;
    if (len_ < 2) {
      if (len_ == 1 && eof_) fail(strf("'%s': truncated spike file", path_.c_str()));
      if (eof_) return false;
      return next();
    }
  }
  step_ = buf_[pos_];
  unit_ = buf_[pos_ + 1];
  pos_ += 2;
  ++record_;
  if (unit_ >= n_units_)
    fail(strf("'%s': record %llu has unit %u, but the group has %u units", path_.c_str(),
              static_cast<unsigned long long>(record_), unit_, n_units_));
  if (static_cast<int64_t>(step_) < last_step_)
    fail(strf("'%s': record %llu goes back in time (step %u after %lld)", path_.c_str(),
              static_cast<unsigned long long>(record_), step_, static_cast<long long>(last_step_)));
  last_step_ = step_;
  return true;
}

void SpikeReader::spikes_at(int64_t n, std::vector<uint32_t>& out) {
  while (have_ && static_cast<int64_t>(step_) <= n) {
    if (static_cast<int64_t>(step_) == n) out.push_back(unit_);
    have_ = next();
  }
}

std::vector<std::pair<uint32_t, uint32_t>> read_spikes(const std::string& path) { return parse_spikes(read_text_file(path), path); }

std::vector<std::pair<uint32_t, uint32_t>> parse_spikes(const std::string& raw, const std::string& path) {
  if (raw.size() < 8 || raw.size() % 8 != 0)
    fail(strf("'%s': not a spike file (size %zu is not a positive multiple of 8)", path.c_str(), raw.size()));
  std::vector<uint32_t> a(raw.size() / 4);
  std::memcpy(a.data(), raw.data(), raw.size());
  if (a[0] != kSpkStepsPerSecond || a[1] != kSpkFormatTag)
    fail(strf("'%s': not an Auryn 0.8.2 spike file (header %u %u)", path.c_str(), a[0], a[1]));
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (size_t k = 2; k + 1 < a.size(); k += 2) out.emplace_back(a[k], a[k + 1]);
  return out;
}

// ---- weight matrices ---------------------------------------------------------------------------

namespace {
// "rows cols nnz" as 64-bit decimals; false on anything else (an out-of-range number included).
bool parse_size_line(const std::string& line, long long& rows, long long& cols, long long& nnz) {
  const char* p = line.c_str();
  for (long long* v : {&rows, &cols, &nnz}) {
    char* end = nullptr;
    errno = 0;
    *v = std::strtoll(p, &end, 10);
    if (end == p || errno == ERANGE) return false;
    p = end;
  }
  return true;
}
}  // namespace

Synapses read_wmat(const std::string& path) { return parse_wmat(read_text_file(path), path); }

Synapses parse_wmat(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line.rfind("%%MatrixMarket matrix coordinate", 0) != 0)
    fail(strf("'%s': not a MatrixMarket coordinate matrix (first line '%s')", path.c_str(), line.c_str()));
  do {
    if (!std::getline(in, line)) fail(strf("'%s': missing size line", path.c_str()));
  } while (line.empty() || line[0] == '%');
  long long rows = 0, cols = 0, nnz = 0;
  if (!parse_size_line(line, rows, cols, nnz) || rows <= 0 || cols <= 0 || nnz < 0)
    fail(strf("'%s': bad size line '%s'", path.c_str(), line.c_str()));
  // Unit indices are 32-bit and group sizes int: refuse, never truncate (4294967396 became 100).
  if (rows > INT32_MAX || cols > INT32_MAX)
    fail(strf("'%s': size line '%s': %lld rows x %lld columns exceed the limit of %d", path.c_str(), line.c_str(), rows, cols,
              INT32_MAX));
  if (nnz > rows * cols)  // both <= 2^31: no overflow
    fail(strf("'%s': size line '%s': %lld entries do not fit a %lld x %lld matrix", path.c_str(), line.c_str(), nnz, rows, cols));
  struct E {
    uint32_t i, j;
    float w;
  };
  std::vector<E> e;
  e.reserve(std::min(static_cast<size_t>(nnz), text.size() / 6));  // an entry line has >= 6 characters
  while (static_cast<long long>(e.size()) < nnz && std::getline(in, line)) {
    if (line.empty() || line[0] == '%') continue;
    long long i, j;
    double w;
    if (std::sscanf(line.c_str(), "%lld %lld %lf", &i, &j, &w) != 3)
      fail(strf("'%s': bad entry line '%s'", path.c_str(), line.c_str()));
    if (i < 1 || i > rows || j < 1 || j > cols)
      fail(strf("'%s': entry (%lld, %lld) outside %lld x %lld", path.c_str(), i, j, rows, cols));
    if (!std::isfinite(w)) fail(strf("'%s': non-finite weight at (%lld, %lld)", path.c_str(), i, j));
    e.push_back({static_cast<uint32_t>(i - 1), static_cast<uint32_t>(j - 1), static_cast<float>(w)});
  }
  if (static_cast<long long>(e.size()) != nnz)
    fail(strf("'%s': truncated: %zu of %lld entries", path.c_str(), e.size(), nnz));
  std::stable_sort(e.begin(), e.end(), [](const E& a, const E& b) { return a.i != b.i ? a.i < b.i : a.j < b.j; });
  Synapses s;
  s.n_pre = static_cast<int>(rows);
  s.n_post = static_cast<int>(cols);
  for (size_t k = 0; k < e.size(); ++k) {
    if (k > 0 && e[k].i == e[k - 1].i && e[k].j == e[k - 1].j)
      fail(strf("'%s': duplicate entry (%u, %u)", path.c_str(), e[k].i + 1, e[k].j + 1));
    s.pre.push_back(e[k].i);
    s.post.push_back(e[k].j);
    s.w.push_back(e[k].w);
  }
  return s;
}

void write_wmat(const std::string& path, const Synapses& s, const std::string& connection_name) {
  std::FILE* f = open_output(path);
  std::fprintf(f, "%%%%MatrixMarket matrix coordinate real general\n");
  std::fprintf(f, "%% Auryn weight matrix. Has to be kept in row major order for load operation.\n");
  std::fprintf(f, "%% Connection name: %s\n%% Locked range: 1\n%%\n", connection_name.c_str());
  std::fprintf(f, "%d %d %zu\n", s.n_pre, s.n_post, s.size());
  for (size_t k = 0; k < s.size(); ++k)
    std::fprintf(f, "%u %u %.7e\n", s.pre[k] + 1, s.post[k] + 1, static_cast<double>(s.w[k]));
  close_output(f, path);
}

// ---- rate monitor ------------------------------------------------------------------------------

RateMonitor::RateMonitor(const std::string& path, int64_t bin_steps, int n_units)
    : f_(open_output(path)), bin_(bin_steps), n_units_(n_units) {}

RateMonitor& RateMonitor::operator=(RateMonitor&& o) noexcept {
  std::swap(f_, o.f_);
  bin_ = o.bin_;
  n_units_ = o.n_units_;
  count_ = o.count_;
  return *this;
}

RateMonitor::~RateMonitor() {
  if (f_) std::fclose(f_);
}

void RateMonitor::record(int64_t n, size_t spikes) {
  if (!f_) return;
  count_ += static_cast<int64_t>(spikes);
  if (n % bin_ == 0) {
    const double bin_s = static_cast<double>(bin_) * kDt;
    std::fprintf(f_, "%g %g\n", static_cast<double>(n) * kDt, static_cast<double>(count_) / (bin_s * n_units_));
    count_ = 0;
  }
}

// ---- initial voltages --------------------------------------------------------------------------

namespace {
// Auryn's draw: Boost mt19937 seeded 42, normal(-60 mV, 10 mV), float32 (spiking-ref/net_init).
constexpr uint32_t kInitVmemBits[100] = {
    0xbd87f5fb, 0xbd8c0490, 0xbd831567, 0xbd8cae8e, 0xbd8ec998, 0xbd8a6c44, 0xbd9597da, 0xbd436184, 0xbd6b8b6c,
    0xbd6a02be, 0xbd5be8fa, 0xbcff7b7e, 0xbd670c2f, 0xbd7529da, 0xbd4b3cdb, 0xbdad22ed, 0xbd50a03a, 0xbd6fb6de,
    0xbd706bcb, 0xbd83c312, 0xbd835cc0, 0xbd627191, 0xbd595dc3, 0xbd53103f, 0xbd54739a, 0xbd9293e4, 0xbd7b0e56,
    0xbda08775, 0xbd385049, 0xbd964018, 0xbd8e81b9, 0xbd9b2d5d, 0xbd7b4f6f, 0xbd544ca4, 0xbd4a92cc, 0xbd73a0fe,
    0xbd82ac08, 0xbda01513, 0xbd2eb707, 0xbd8ab495, 0xbd8dbd45, 0xbd7fa700, 0xbd848fb2, 0xbd7080d4, 0xbd5d4cf8,
    0xbd72bf11, 0xbd38bc32, 0xbd4cd48d, 0xbd500750, 0xbd5fc219, 0xbd8b9ea1, 0xbd5fd06d, 0xbd6d0f3b, 0xbd62c4f3,
    0xbd172669, 0xbd3e4ddb, 0xbd5d9aae, 0xbd7bffe6, 0xbd819ee4, 0xbd2e30cf, 0xbd4e612a, 0xbd5d3e57, 0xbd995b70,
    0xbd4d3202, 0xbd66ccb8, 0xbd794fea, 0xbd866137, 0xbd962ce0, 0xbd9c42ca, 0xbd85bc71, 0xbd8d655f, 0xbd730f35,
    0xbd90cc14, 0xbd82d520, 0xbd42e534, 0xbd7ed985, 0xbd8df9e4, 0xbd5bc82a, 0xbd935788, 0xbd45b286, 0xbd4c904c,
    0xbd1e3951, 0xbd84d419, 0xbd698116, 0xbd94fad4, 0xbd67dd2a, 0xbd83af28, 0xbd7898d6, 0xbd964b12, 0xbd55627e,
    0xbdb5b9c1, 0xbd552d82, 0xbd764d2f, 0xbd842abf, 0xbd835672, 0xbd6697b9, 0xbd3e1c0b, 0xbd8106e8, 0xbd6f1fbb,
    0xbd81769a};

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
}  // namespace

std::vector<float> default_initial_voltages(int n) {
  std::vector<float> v(static_cast<size_t>(std::max(n, 0)));
  std::mt19937 gen(42);
  std::normal_distribution<double> normal(-0.06, 0.01);
  for (int i = 0; i < n; ++i) v[i] = i < 100 ? from_bits(kInitVmemBits[i]) : static_cast<float>(normal(gen));
  return v;
}

std::vector<float> read_initial_voltages(const std::string& path, int n) {
  const auto rows = read_numeric_rows(path, 2);
  if (static_cast<int>(rows.size()) < n)
    fail(strf("'%s': %zu initial voltages, but the group has %d neurons", path.c_str(), rows.size(), n));
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) {
    const double x = rows[i].size() >= 3 ? static_cast<double>(from_bits(static_cast<uint32_t>(rows[i][2]))) : rows[i][1];
    if (!std::isfinite(x) || x < -1.0 || x > 1.0)
      fail(strf("'%s': initial voltage of neuron %d is %g V (not a membrane potential)", path.c_str(), i, x));
    v[i] = static_cast<float>(x);
  }
  return v;
}

}  // namespace lpl::spiking
