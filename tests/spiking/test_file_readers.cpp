// The spiking file readers on bad input (issue 11): sizes beyond the integer types the port uses
// are refused instead of wrapping, and every error names the file.
#include <doctest/doctest.h>

#include <fstream>

#include "engine/common.h"
#include "models/spiking/spike_io.h"
#include "models/spiking/state_file.h"
#include "spiking_test_util.h"

using namespace lpl::spiking;

namespace {
std::string write_text(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}
const char* kMM = "%%MatrixMarket matrix coordinate real general\n";
}  // namespace

TEST_CASE(".wmat: a size line beyond 32 bits is refused, not wrapped (4294967396 rows read as 100)") {
  const std::string dir = test::temp_dir("wmat_sizes");
  const std::string p = write_text(dir, "a.wmat", std::string(kMM) + "4294967396 25 1\n1 1 0.5\n");
  CHECK_THROWS_WITH_AS(read_wmat(p), doctest::Contains((p + "': size line '4294967396 25 1': 4294967396 rows").c_str()), lpl::Error);
  const std::string q = write_text(dir, "b.wmat", std::string(kMM) + "10 99999999999999999999 1\n1 1 0.5\n");
  CHECK_THROWS_WITH_AS(read_wmat(q), doctest::Contains("bad size line"), lpl::Error);
  // More entries than a rows x cols matrix holds: refused before reserving memory for them.
  const std::string r = write_text(dir, "c.wmat", std::string(kMM) + "2 2 1000000000000000000\n1 1 0.5\n");
  CHECK_THROWS_WITH_AS(read_wmat(r), doctest::Contains("1000000000000000000 entries do not fit a 2 x 2 matrix"), lpl::Error);
  const std::string ok = write_text(dir, "d.wmat", std::string(kMM) + "3 2 2\n1 2 0.5\n3 1 -1\n");
  const Synapses s = read_wmat(ok);
  CHECK(s.n_pre == 3);
  CHECK(s.n_post == 2);
  CHECK(s.size() == 2);
}

TEST_CASE(".spk: headers and odd sizes are refused with the file name") {
  const std::string dir = test::temp_dir("spk_sizes");
  const std::string p = write_text(dir, "a.spk", std::string("\x10\x27\0\0\x12\x34\x2a\x11", 8) + "abc");
  CHECK_THROWS_WITH_AS(read_spikes(p), doctest::Contains(p.c_str()), lpl::Error);
  CHECK_THROWS_WITH_AS(SpikeReader(p, 10), doctest::Contains(p.c_str()), lpl::Error);
}

TEST_CASE(".nstate spike delay line: last_step below -1 is refused (no int64 wrap in the step window)") {
  CHECK_THROWS_WITH_AS(parse_spike_delay_line("# spike_delay_buffer last_step -9223372036854775808 delay 8 | 0: 1"),
                       doctest::Contains("last_step"), lpl::Error);
  CHECK_THROWS_WITH_AS(parse_spike_delay_line("# spike_delay_buffer last_step -5 delay 8"), doctest::Contains("last_step"),
                       lpl::Error);
  CHECK(parse_spike_delay_line("# spike_delay_buffer last_step -1 delay 8").pending.empty());
}
