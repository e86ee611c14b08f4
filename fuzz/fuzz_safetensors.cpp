// safetensors checkpoints and weights (--init_from, --resume).
#include "engine/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s = lpl_fuzz_string(data, size);
  return lpl_fuzz_expect_error_or_success([&] { lpl::parse_safetensors(s, "fuzz.safetensors"); });
}
