// Shared macros and error handling for host and device code.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#if defined(__CUDACC__)
#define LPL_HD __host__ __device__
#define LPL_DEVICE __device__
#else
#define LPL_HD
#define LPL_DEVICE
#endif

namespace lpl {

// Finite check on the bit pattern: identical on host and device, and immune to -ffast-math.
LPL_HD inline bool is_finite(float x) {
  union {
    float f;
    uint32_t u;
  } b{x};
  return ((b.u >> 23) & 0xFFu) != 0xFFu;
}

// Every user-facing failure is an lpl::Error with one clear message; apps print it and exit 1.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& msg);
// printf-style formatting for .cu files (nvcc cannot compile fmt's C++20 format checks).
std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace lpl

#define LPL_CHECK(cond, msg)                                                   \
  do {                                                                         \
    if (!(cond)) ::lpl::fail(std::string(msg));                                \
  } while (0)
