// gzip IDX files as the Fashion-MNIST reader sees them: gzip decoding (CRC32, length), then IDX.
#include "data/readers.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return lpl_fuzz_expect_error_or_success([&] {
    const std::vector<uint8_t> raw = lpl::data::detail::gunzip(data, size, "fuzz.gz");
    // The IDX magic's last byte (1 labels, 3 images) picks the reader, as the file name would.
    if (raw.size() > 3 && raw[3] == 1) lpl::data::detail::parse_idx_labels(raw, "fuzz.gz");
    else lpl::data::detail::parse_idx_images(raw, "fuzz.gz");
  });
}
