// CUDA memory: a caching allocator (size-bucketed free lists, one stream per device so a freed
// block is safe to reuse by the next op on that stream), pinned host memory, copies, streams.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/cuda_check.h"
#include "engine/device.h"
#include "engine/stream.h"

namespace lpl {

void cuda_fail(const char* what, const char* msg, const char* file, int line) {
  fail(strf("CUDA error: %s (%s) at %s:%d", msg, what, file, line));
}

namespace detail {
void* cpu_alloc(size_t bytes);
void cpu_free(void* p);
void* cpu_tensor_alloc(size_t bytes);
void cpu_tensor_free(void* p, size_t bytes);
}  // namespace detail

namespace {

constexpr int kMaxDevices = 16;

// The calling thread's current device, cached: every cudaSetDevice of the engine goes through here,
// so the cache cannot go stale, and stream() can make its device current at the cost of a compare.
thread_local int current_device = -1;
}  // namespace

void set_current_device(int dev) {
  if (current_device == dev) return;
  LPL_CUDA_CHECK(cudaSetDevice(dev));
  current_device = dev;
}

namespace {

// Round sizes so that blocks of nearby sizes are interchangeable: 512 B granules below 1 MiB,
// 2 MiB granules above.
size_t round_size(size_t b) {
  if (b < (1u << 20)) return ((b + 511) / 512) * 512;
  return ((b + (2u << 20) - 1) / (2u << 20)) * (2u << 20);
}

struct CachingAllocator {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // size -> block
  AllocatorStats stats;

  void* alloc(int dev, size_t bytes) {
    size_t n = round_size(bytes == 0 ? 1 : bytes);
    std::lock_guard<std::mutex> lock(mu);
    // Exact-size reuse keeps fragmentation low; a block up to 2x larger is also fine.
    auto it = free_blocks.lower_bound(n);
    if (it != free_blocks.end() && it->first <= 2 * n) {
      void* p = it->second;
      stats.bytes_cached -= it->first;
      stats.bytes_in_use += it->first;
      sizes[p] = it->first;
      free_blocks.erase(it);
      ++stats.cache_hits;
      return p;
    }
    set_current_device(dev);
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, n);
    if (e != cudaSuccess) {
      // Give cached blocks back and try once more before reporting out-of-memory.
      (void)cudaGetLastError();
      release_locked();
      e = cudaMalloc(&p, n);
      if (e != cudaSuccess) {
        (void)cudaGetLastError();
        fail(strf("out of GPU memory on cuda:%d allocating %.1f MiB (%zu MiB in use)", dev, n / 1048576.0,
                  stats.bytes_in_use >> 20));
      }
    }
    ++stats.device_mallocs;
    stats.bytes_in_use += n;
    sizes[p] = n;
    return p;
  }
  void free(void* p) {
    if (!p) return;
    std::lock_guard<std::mutex> lock(mu);
    auto it = sizes.find(p);
    if (it == sizes.end()) return;
    size_t n = it->second;
    sizes.erase(it);
    stats.bytes_in_use -= n;
    stats.bytes_cached += n;
    free_blocks.emplace(n, p);
  }
  void release_locked() {
    for (auto& [n, p] : free_blocks) cudaFree(p);
    free_blocks.clear();
    stats.bytes_cached = 0;
  }
  std::map<void*, size_t> sizes;
};

CachingAllocator& allocator(int dev) {
  static CachingAllocator a[kMaxDevices];
  LPL_CHECK(dev >= 0 && dev < kMaxDevices, strf("invalid CUDA device index %d", dev));
  return a[dev];
}

std::string g_device_count_error;  // why cudaGetDeviceCount failed, if it did

[[noreturn]] void no_gpu(Device d) {
  const int n = cuda_device_count();
  fail(strf("device %s requested but only %d CUDA GPU(s) are visible%s%s", d.str().c_str(), n,
            g_device_count_error.empty() ? "" : ": CUDA says ", g_device_count_error.c_str()));
}

void check_cuda_device(Device d) {
  if (d.index >= cuda_device_count()) no_gpu(d);
}

}  // namespace

bool cuda_built() { return true; }

std::string cuda_device_count_error() {
  (void)cuda_device_count();
  return g_device_count_error;
}

int cuda_compute_capability(Device d) {
  check_cuda_device(d);
  int major = 0, minor = 0;
  LPL_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, d.index));
  LPL_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, d.index));
  return major * 10 + minor;
}

int cuda_device_count() {
  static int n = [] {
    int c = 0;
    const cudaError_t e = cudaGetDeviceCount(&c);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      // Kept for the message of a run that asks for a GPU (no_gpu): a driver older than this runtime
      // or a broken install must not read as "0 GPUs visible" without a reason.
      g_device_count_error = strf("%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
      return 0;
    }
    return c;
  }();
  return n;
}

void* device_alloc(Device d, size_t bytes) {
  if (d.is_cpu()) return detail::cpu_tensor_alloc(bytes);
  check_cuda_device(d);
  return allocator(d.index).alloc(d.index, bytes);
}

void device_free(Device d, void* p, size_t bytes) {
  if (d.is_cpu()) return detail::cpu_tensor_free(p, bytes);
  allocator(d.index).free(p);
}

void* pinned_alloc(size_t bytes) {
  if (cuda_device_count() == 0) return detail::cpu_alloc(bytes);
  void* p = nullptr;
  LPL_CUDA_CHECK(cudaHostAlloc(&p, bytes == 0 ? 64 : bytes, cudaHostAllocPortable));
  return p;
}

void pinned_free(void* p) noexcept {
  if (cuda_device_count() == 0) {
    if (take_injected_free_failure()) return report_free_failure("pinned_free", "injected failure (test hook)");
    return detail::cpu_free(p);
  }
  if (!p) return;
  // Called from destructors (loader buffers): after a sticky CUDA error this fails too, and throwing
  // here would end the process in std::terminate blaming cudaFreeHost instead of the real error.
  const cudaError_t e = cudaFreeHost(p);
  if (take_injected_free_failure()) return report_free_failure("cudaFreeHost", "injected failure (test hook)");
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    report_free_failure("cudaFreeHost", cudaGetErrorString(e));
  }
}

void memcpy_bytes(void* dst, Device dd, const void* src, Device sd, size_t bytes) {
  if (bytes == 0) return;
  if (dd.is_cpu() && sd.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  Device g = dd.is_cuda() ? dd : sd;
  check_cuda_device(g);
  cudaStream_t s = stream(g);  // (makes g current)
  LPL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
  // Copies into host memory are visible to the caller only after the stream has reached them.
  if (dd.is_cpu()) LPL_CUDA_CHECK(cudaStreamSynchronize(s));
}

void memset_zero(void* dst, Device d, size_t bytes) {
  if (bytes == 0) return;
  if (d.is_cpu()) {
    std::memset(dst, 0, bytes);
    return;
  }
  LPL_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream(d)));
}

void synchronize(Device d) {
  if (d.is_cpu()) return;
  LPL_CUDA_CHECK(cudaStreamSynchronize(stream(d)));
}

StreamEvent::~StreamEvent() {
  if (!event_) return;
  const cudaError_t e = cudaEventDestroy(static_cast<cudaEvent_t>(event_));
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    report_free_failure("cudaEventDestroy", cudaGetErrorString(e));
  }
}

void StreamEvent::record(Device d) {
  if (d.is_cpu()) return;
  cudaStream_t s = stream(d);  // (makes d current: the event is made on d)
  if (!event_) {
    cudaEvent_t e = nullptr;
    LPL_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    event_ = e;
    device_ = d;
  }
  LPL_CHECK(d == device_, "StreamEvent::record: an event stays on the device it was first recorded on");
  LPL_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event_), s));
}

void StreamEvent::wait() {
  if (event_) LPL_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event_)));
}

AllocatorStats allocator_stats(Device d) {
  if (d.is_cpu()) return {};
  auto& a = allocator(d.index);
  std::lock_guard<std::mutex> lock(a.mu);
  return a.stats;
}

void empty_cache(Device d) {
  if (d.is_cpu()) return;
  auto& a = allocator(d.index);
  std::lock_guard<std::mutex> lock(a.mu);
  a.release_locked();
}

cudaStream_t stream(Device d) {
  static cudaStream_t streams[kMaxDevices] = {};
  static std::once_flag once[kMaxDevices];
  check_cuda_device(d);
  // Kernels launch on the current device: make d current (cuda:1 must not run on device 0).
  set_current_device(d.index);
  std::call_once(once[d.index],
                 [&] { LPL_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[d.index], cudaStreamNonBlocking)); });
  return streams[d.index];
}

}  // namespace lpl
