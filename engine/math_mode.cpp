// Engine-wide math modes (TF32 on/off, the convolutions' precision), read by the convolution and
// GEMM wrappers at each call.
#include <atomic>
#include <cstdlib>
#include <string>

#include "engine/common.h"
#include "engine/ops.h"

namespace lpl {
namespace {
std::atomic<bool> g_allow_tf32{false};
std::atomic<Precision> g_precision{Precision::fp32};
}  // namespace
void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

bool cpu_has_bf16() {
  const char* off = std::getenv("LPL_NO_BF16");
  if (off && std::string(off) == "1") return false;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

void set_precision(Precision p) {
  LPL_CHECK(p != Precision::bf16 || cpu_has_bf16(),
            "--precision bf16: this CPU has no AVX512-BF16 or AMX-BF16 instructions (grep avx512_bf16 /proc/cpuinfo); "
            "use --precision fp32");
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
