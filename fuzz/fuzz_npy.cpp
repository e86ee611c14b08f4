// Both .npy readers: the dataset one (any dtype) and the float one (eval_linear --embed).
#include "data/npy.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s = lpl_fuzz_string(data, size);
  lpl_fuzz_expect_error_or_success([&] { lpl::data::parse_npy(s, "fuzz.npy"); });
  return lpl_fuzz_expect_error_or_success([&] { lpl::data::parse_npy_f32(s, "fuzz.npy"); });
}
