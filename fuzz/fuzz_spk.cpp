// Auryn binary spike files (.spk): the whole-file reader, and the streaming reader that replays
// --input_spikes (it reads a path, so the bytes go to a per-process temporary file).
#include <unistd.h>

#include <cstdio>

#include "fuzz_util.h"
#include "models/spiking/spike_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s = lpl_fuzz_string(data, size);
  lpl_fuzz_expect_error_or_success([&] { lpl::spiking::parse_spikes(s, "fuzz.spk"); });
  static const std::string path = "/tmp/lpl_fuzz_spk_" + std::to_string(::getpid()) + ".spk";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  return lpl_fuzz_expect_error_or_success([&] {
    lpl::spiking::SpikeReader r(path, 64);
    std::vector<uint32_t> out;
    for (int64_t n = 0; n < 64; ++n) r.spikes_at(n, out);
  });
}
