#include "engine/device.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "engine/common.h"

namespace lpl {

std::string Device::str() const { return is_cpu() ? "cpu" : fmt::format("cuda:{}", index); }

Device parse_device(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda" || s == "gpu") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    char* end = nullptr;
    long i = std::strtol(s.c_str() + 5, &end, 10);
    if (end && *end == '\0' && i >= 0) return cuda(static_cast<int>(i));
  }
  fail(fmt::format("unknown device '{}' (expected cpu, cuda or cuda:N)", s));
}

namespace {
std::atomic<uint64_t> g_host_reads{0};
}  // namespace
uint64_t host_reads() { return g_host_reads.load(std::memory_order_relaxed); }
void count_host_read() { g_host_reads.fetch_add(1, std::memory_order_relaxed); }
void read_to_host(void* dst, const void* src, Device sd, size_t bytes) {
  count_host_read();
  memcpy_bytes(dst, cpu(), src, sd, bytes);
}

namespace detail {

void* cpu_alloc(size_t bytes) {
  size_t n = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, n == 0 ? 64 : n);
  if (!p) fail(fmt::format("out of host memory allocating {} bytes", bytes));
  return p;
}
void cpu_free(void* p) { std::free(p); }

// Tensor memory on the CPU is cached like the GPU's: a training step allocates the same large
// activation buffers every step, and fresh pages cost a page fault each (as much as a ReLU pass).
// Blocks of 1 MiB and more are kept by size (rounded to 64 KiB) up to 8 GiB in all.
namespace {
constexpr size_t kCacheMin = 1u << 20, kGranule = 64u << 10, kCacheCap = size_t(8) << 30;
struct CpuCache {
  std::mutex mu;
  std::multimap<size_t, void*> blocks;
  size_t cached = 0;
  ~CpuCache() {
    for (auto& [n, p] : blocks) std::free(p);
  }
};
CpuCache& cpu_cache() {
  static CpuCache c;
  return c;
}
size_t cache_size(size_t bytes) { return (bytes + kGranule - 1) / kGranule * kGranule; }
}  // namespace

void* cpu_tensor_alloc(size_t bytes) {
  if (bytes < kCacheMin) return cpu_alloc(bytes);
  const size_t n = cache_size(bytes);
  CpuCache& c = cpu_cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.blocks.find(n);
    if (it != c.blocks.end()) {
      void* p = it->second;
      c.cached -= n;
      c.blocks.erase(it);
      return p;
    }
  }
  return cpu_alloc(n);
}

void cpu_tensor_free(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kCacheMin) return cpu_free(p);
  const size_t n = cache_size(bytes);
  CpuCache& c = cpu_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  if (c.cached + n > kCacheCap) return cpu_free(p);
  c.blocks.emplace(n, p);
  c.cached += n;
}
}  // namespace detail

namespace {
std::atomic<int64_t> g_free_failures{0};
std::atomic<bool> g_inject_free_failure{false};
}  // namespace

void report_free_failure(const char* what, const char* error) noexcept {
  if (g_free_failures.fetch_add(1) == 0)
    std::fprintf(stderr, "warning: %s failed: %s (the memory is left to the end of the process; an earlier "
                 "device error is the likely cause)\n", what, error);
}
int64_t free_failures() noexcept { return g_free_failures.load(); }

void inject_free_failure_for_test(bool on) noexcept { g_inject_free_failure.store(on); }
bool take_injected_free_failure() noexcept { return g_inject_free_failure.exchange(false); }

}  // namespace lpl

#if !LPL_HAVE_CUDA
// CPU-only build: the CUDA entry points exist and say clearly that there is no CUDA backend.
namespace lpl {
namespace {
[[noreturn]] void no_cuda() { fail("this build of lpl has no CUDA backend (CUDA toolkit not found at build time)"); }
}  // namespace
bool cuda_built() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_count_error() { return ""; }
int cuda_compute_capability(Device) { return 0; }
void* device_alloc(Device d, size_t bytes) {
  if (d.is_cuda()) no_cuda();
  return detail::cpu_tensor_alloc(bytes);
}
void device_free(Device d, void* p, size_t bytes) {
  if (d.is_cuda()) no_cuda();
  detail::cpu_tensor_free(p, bytes);
}
void* pinned_alloc(size_t bytes) { return detail::cpu_alloc(bytes); }
void pinned_free(void* p) noexcept {
  if (take_injected_free_failure()) return report_free_failure("pinned_free", "injected failure (test hook)");
  detail::cpu_free(p);
}
void memcpy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  if (dd.is_cuda() || sd.is_cuda()) no_cuda();
  if (bytes) std::memcpy(dst, src, bytes);
}
void memset_zero(void* dst, Device d, size_t bytes) {
  if (d.is_cuda()) no_cuda();
  if (bytes) std::memset(dst, 0, bytes);
}
void synchronize(Device d) {
  if (d.is_cuda()) no_cuda();
}
StreamEvent::~StreamEvent() = default;
void StreamEvent::record(Device d) {
  if (d.is_cuda()) no_cuda();
}
void StreamEvent::wait() {}
AllocatorStats allocator_stats(Device) { return {}; }
void empty_cache(Device) {}
}  // namespace lpl
#endif
