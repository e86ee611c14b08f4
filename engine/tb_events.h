// TensorBoard event files written natively: TFRecord framing (length, masked CRC-32C) around
// hand-encoded tensorflow.Event protobufs with scalar and histogram summaries. The reader is used by
// the tests (and by tools) to check what was written.
#pragma once
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lpl::tb {

uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit, bucket;
};
// TensorBoard's default exponential buckets (as tensorboard's summary code builds them).
Histogram make_histogram(const std::vector<double>& values);

class EventWriter {
 public:
  // Creates <dir>/events.out.tfevents.<unix time>.<host>.<pid>.<n> and writes the file-version event.
  explicit EventWriter(const std::string& dir, double wall_time = -1);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time = -1);
  void add_histogram(const std::string& tag, const Histogram& h, int64_t step, double wall_time = -1);
  // SessionLog START at `step`: TensorBoard then discards every event of the run directory read
  // before it with a step >= `step` (a resumed run's marker: what a killed process logged after its
  // last checkpoint is dropped instead of being shown twice).
  void add_session_start(int64_t step, double wall_time = -1);
  void flush();
  const std::string& path() const { return path_; }
  // (tag, step) pairs the run directory already shows, not to be written again: a resumed run that
  // redoes an epoch's logging skips what the killed process got into TensorBoard (shown twice otherwise).
  void skip(std::set<std::pair<std::string, int64_t>> shown) { skip_ = std::move(shown); }

 private:
  void write_record(const std::string& event);
  std::string path_;
  std::FILE* f_ = nullptr;
  std::set<std::pair<std::string, int64_t>> skip_;
};

// One decoded event (the fields we write).
struct Event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  bool session_start = false;  // a SessionLog with status START
  struct Value {
    std::string tag;
    bool has_simple = false;
    float simple_value = 0;
    bool has_histo = false;
    Histogram histo;
  };
  std::vector<Value> values;
};
// Reads every record, checking both CRCs; fails with a message naming the file and record. With
// allow_truncated_tail, an incomplete last record (a writer killed mid-write) ends the file instead,
// as TensorBoard reads it.
std::vector<Event> read_events(const std::string& path, bool allow_truncated_tail = false);
// What TensorBoard shows for a run directory: the events of its event files in file-name order
// (an incomplete last record of a file ignored), where a SessionLog START at step s first drops
// every earlier event with step >= s (TensorBoard's purge of orphaned data).
std::vector<Event> read_run_events(const std::string& dir);
// Raw record payloads (for byte-level comparisons with a golden file).
std::vector<std::string> read_records(const std::string& path, bool allow_truncated_tail = false);

// Encodings (exposed for tests).
std::string encode_scalar_event(const std::string& tag, float value, int64_t step, double wall_time);
std::string encode_histogram_event(const std::string& tag, const Histogram& h, int64_t step, double wall_time);
std::string encode_file_version_event(double wall_time);
std::string encode_session_start_event(int64_t step, double wall_time);

}  // namespace lpl::tb
