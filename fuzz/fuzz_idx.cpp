// Decoded (raw) IDX images and labels.
#include "data/readers.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> raw = lpl_fuzz_bytes(data, size);
  lpl_fuzz_expect_error_or_success([&] { lpl::data::detail::parse_idx_images(raw, "fuzz.idx"); });
  return lpl_fuzz_expect_error_or_success([&] { lpl::data::detail::parse_idx_labels(raw, "fuzz.idx"); });
}
