// Line 3 of an .nstate file: the spike delay buffer (parse_spike_delay_line).
#include "fuzz_util.h"
#include "models/spiking/state_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s = lpl_fuzz_string(data, size);
  return lpl_fuzz_expect_error_or_success([&] { lpl::spiking::parse_spike_delay_line(s); });
}
