// File formats of SPIKING.md section 9: Auryn binary spike files (.spk), MatrixMarket weight
// matrices (.wmat), population-rate files (.prate), and the text inputs (rate files, spikes.ras,
// post_voltage.dat, initial voltages). Readers accept gzip-compressed files transparently.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "models/spiking/synapses.h"

namespace lpl::spiking {

// Whole file as text (gzip or plain). Errors name the file.
std::string read_text_file(const std::string& path);
// Numeric rows of a whitespace-separated text file; '#' and '%' lines are skipped. Every row must
// have at least `min_cols` numbers.
std::vector<std::vector<double>> read_numeric_rows(const std::string& path, size_t min_cols);

class SpikeWriter {
 public:
  SpikeWriter() = default;
  explicit SpikeWriter(const std::string& path);
  SpikeWriter(const SpikeWriter&) = delete;
  SpikeWriter& operator=(const SpikeWriter&) = delete;
  SpikeWriter(SpikeWriter&& o) noexcept { *this = std::move(o); }
  SpikeWriter& operator=(SpikeWriter&& o) noexcept {
    std::swap(f_, o.f_);
    std::swap(path_, o.path_);
    std::swap(buf_, o.buf_);
    return *this;
  }
  ~SpikeWriter();
  void write(int64_t step, const std::vector<uint32_t>& units, uint32_t offset = 0);
  void close();

 private:
  void flush();
  std::FILE* f_ = nullptr;
  std::string path_;
  std::vector<uint32_t> buf_;
};

// Streams the records of a .spk file (optionally .gz) step by step.
class SpikeReader {
 public:
  SpikeReader(const std::string& path, uint32_t n_units);
  ~SpikeReader();
  SpikeReader(const SpikeReader&) = delete;
  SpikeReader& operator=(const SpikeReader&) = delete;
  // Appends the units of all records with step == n (records must be in non-decreasing step order).
  void spikes_at(int64_t n, std::vector<uint32_t>& out);

 private:
  bool next();
  void* gz_ = nullptr;
  std::string path_;
  uint32_t n_units_;
  std::vector<uint32_t> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t record_ = 0;
  bool have_ = false, eof_ = false;
  uint32_t step_ = 0, unit_ = 0;
  int64_t last_step_ = -1;
};

// All records of a .spk file (for tests and tools; do not use on multi-GB files).
std::vector<std::pair<uint32_t, uint32_t>> read_spikes(const std::string& path);
// The same on a file's (decompressed) bytes; `path` only names it in errors (fuzzing, tests).
std::vector<std::pair<uint32_t, uint32_t>> parse_spikes(const std::string& raw, const std::string& path);

// Sizes beyond 32-bit unit indices, or more entries than rows x cols, are refused.
Synapses read_wmat(const std::string& path);
Synapses parse_wmat(const std::string& text, const std::string& path);  // from memory, like parse_spikes
void write_wmat(const std::string& path, const Synapses& s, const std::string& connection_name);

// Population rate monitor: counts spikes each step, writes "t rate" every `bin_steps` steps.
class RateMonitor {
 public:
  RateMonitor() = default;
  RateMonitor(const std::string& path, int64_t bin_steps, int n_units);
  RateMonitor(const RateMonitor&) = delete;
  RateMonitor& operator=(const RateMonitor&) = delete;
  RateMonitor(RateMonitor&& o) noexcept { *this = std::move(o); }
  RateMonitor& operator=(RateMonitor&& o) noexcept;
  ~RateMonitor();
  void record(int64_t n, size_t spikes);

 private:
  std::FILE* f_ = nullptr;
  int64_t bin_ = 1;
  int n_units_ = 1;
  int64_t count_ = 0;
};

// Opens a file for writing; the error names the file.
std::FILE* open_output(const std::string& path);
void close_output(std::FILE* f, const std::string& path);
// Creates the output directory if needed.
void ensure_directory(const std::string& dir);

// Initial E voltages: a "neuron value [hex]" text file (spiking-ref init_vmem_exc.txt), or the
// built-in 100 values of Auryn's seeded draw (extended with own seed-42 normal draws beyond 100).
std::vector<float> default_initial_voltages(int n);
std::vector<float> read_initial_voltages(const std::string& path, int n);

}  // namespace lpl::spiking
