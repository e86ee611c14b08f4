// MatrixMarket weight matrices (.wmat) of the spiking simulations.
#include "fuzz_util.h"
#include "models/spiking/spike_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s = lpl_fuzz_string(data, size);
  return lpl_fuzz_expect_error_or_success([&] { lpl::spiking::parse_wmat(s, "fuzz.wmat"); });
}
