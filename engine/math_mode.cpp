// Engine-wide math mode (TF32 on/off), read by the cuDNN and cuBLAS wrappers at each call.
#include <atomic>

#include "engine/ops.h"

namespace lpl {
namespace {
std::atomic<bool> g_allow_tf32{false};
}
void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }
}  // namespace lpl
