// Engine-wide math modes (TF32 on/off, the convolutions' precision), read by the convolution and
// GEMM wrappers at each call.
#include <atomic>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "engine/common.h"
#include "engine/device.h"
#include "engine/ops.h"

namespace lpl {
namespace {
std::atomic<bool> g_allow_tf32{false};
std::atomic<Precision> g_precision{Precision::fp32};
}  // namespace
void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }
namespace {
std::atomic<bool> g_allow_winograd{false};
}  // namespace
void set_allow_winograd(bool allow) { g_allow_winograd.store(allow); }
bool allow_winograd() {
  const char* off = std::getenv("LPL_NO_WINOGRAD");
  return g_allow_winograd.load() && !(off && std::string(off) == "1");
}

bool cpu_has_bf16() {
  const char* off = std::getenv("LPL_NO_BF16");
  if (off && std::string(off) == "1") return false;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

void set_precision(Precision p, Device d) {
  if (p == Precision::bf16 && d.is_cuda()) {
    const int cc = cuda_compute_capability(d);
    LPL_CHECK(cc >= 80, fmt::format("--precision bf16: {} has compute capability {}.{}; bf16 tensor cores need 8.0 "
                                    "or newer (A100, H100, ...); use --precision fp32",
                                    d.str(), cc / 10, cc % 10));
  } else if (p == Precision::bf16) {
    LPL_CHECK(LPL_HAVE_DNNL, "--precision bf16 on the CPU needs the oneDNN backend (this build has none)");
    LPL_CHECK(cpu_has_bf16(),
              "--precision bf16: this CPU has no AVX512-BF16 or AMX-BF16 instructions (grep avx512_bf16 /proc/cpuinfo); "
              "use --precision fp32");
  }
  g_precision.store(p);
}
Precision precision() { return g_precision.load(); }
const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }
Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "bf16") return Precision::bf16;
  fail("--precision must be fp32 or bf16, got '" + s + "'");
}
}  // namespace lpl
