// Devices, memory, streams. CPU memory is 64-byte aligned (pinned when a GPU is present, so copies
// overlap); CUDA memory comes from a caching allocator so a training step never calls cudaMalloc.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace lpl {

enum class DeviceKind : uint8_t { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool operator==(const Device&) const = default;
  std::string str() const;
};
inline Device cpu() { return {}; }
inline Device cuda(int i = 0) { return {DeviceKind::CUDA, i}; }
// Parses "cpu", "cuda", "cuda:1"; fails with a clear message otherwise.
Device parse_device(const std::string& s);

// Whether this build has the CUDA backend, and how many GPUs are visible (0 when none / no CUDA).
bool cuda_built();
int cuda_device_count();
// Why the CUDA runtime reported no GPU, when it reported an error (a driver older than the runtime,
// no driver, ...); empty otherwise.
std::string cuda_device_count_error();
// A GPU's compute capability as major * 10 + minor (90 for an H100); 0 without a CUDA backend.
int cuda_compute_capability(Device d);

void* device_alloc(Device d, size_t bytes);
void device_free(Device d, void* p, size_t bytes);
// Host memory for staging (pinned when CUDA is available): used by loaders.
void* pinned_alloc(size_t bytes);
// Never throws (destructors call it): a failure is reported on stderr once per process and the
// memory is left to the process's end.
void pinned_free(void* p) noexcept;
// How a free path reports a failure it must not throw: one line on stderr (the first time), counted.
void report_free_failure(const char* what, const char* error) noexcept;
int64_t free_failures() noexcept;
// Test hook: makes the next free path report a failure as if the runtime had returned an error.
void inject_free_failure_for_test(bool on) noexcept;
bool take_injected_free_failure() noexcept;

// Byte copies between any two devices; ordered on the device's stream. sync() waits for it.
void memcpy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes);
void memset_zero(void* dst, Device d, size_t bytes);
// A read of values the host needs (a loss, a finite flag, labels) from memory on device sd: the
// copy, and on a GPU a wait for the stream to reach it. Every such read goes through here (and
// Tensor::copy_from from a GPU into host memory), so host_reads() counts the host's waits for the
// device; reads are counted on the CPU too (sd = cpu), so a CPU test sees what a GPU run would wait.
void read_to_host(void* dst, const void* src, Device sd, size_t bytes);
uint64_t host_reads();
// Counts one such read made without read_to_host (Tensor::copy_from from a GPU).
void count_host_read();
void synchronize(Device d);

// A point in a device's stream the host can wait for later, instead of waiting for the whole
// stream now: the loader marks each staging slot's uploads with one and waits only when a worker
// refills that slot. On the CPU a copy is done when memcpy_bytes returns: record and wait do nothing.
class StreamEvent {
 public:
  StreamEvent() = default;
  ~StreamEvent();  // never throws
  StreamEvent(const StreamEvent&) = delete;
  StreamEvent& operator=(const StreamEvent&) = delete;
  // After the work queued so far on d's stream.
  void record(Device d);
  // Blocks until the stream has passed the last record (returns at once when nothing was recorded).
  void wait();

 private:
  void* event_ = nullptr;  // cudaEvent_t, made on the first record on a GPU
  Device device_;
};

struct AllocatorStats {
  size_t bytes_in_use = 0, bytes_cached = 0, device_mallocs = 0, cache_hits = 0;
};
AllocatorStats allocator_stats(Device d);
// Returns cached blocks to the driver (e.g. before a large one-off allocation).
void empty_cache(Device d);

}  // namespace lpl
