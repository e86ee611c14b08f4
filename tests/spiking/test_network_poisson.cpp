// The network with its own Poisson inputs (rate files of tests/data/spiking, seeded connectivity):
// input rates, determinism per seed, the --poisson_quirk, the feedforward variant and output files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "models/spiking/network.h"
#include "models/spiking/spike_io.h"
#include "spiking_test_util.h"

using namespace lpl::spiking;

namespace {
NetworkConfig small_run(const std::string& out, uint64_t seed) {
  NetworkConfig c = run_snn_config(1, 7);  // 3 s priming + 7 s learning
  c.dir = out;
  c.input_dir = test::data_dir();  // rates0..4.dat(.gz) and local_inh_connectivity.wmat(.gz) of spiking-ref
  c.seed = seed;
  c.collect_spikes = true;
  return c;
}
}  // namespace

TEST_CASE("network with Poisson inputs: rates, determinism, seeds, quirk") {
  const std::string out = test::temp_dir("net_pois");
  const NetworkResult a = run_network(small_run(out + "/a", 5));
  const NetworkResult b = run_network(small_run(out + "/b", 5));
  const NetworkResult c = run_network(small_run(out + "/c", 6));
  CHECK(a.steps == 100'000);
  CHECK(a.exc == b.exc);  // same seed: identical runs
  CHECK(a.inh == b.inh);
  CHECK(a.w_in.pre != c.w_in.pre);  // another seed draws other connectivity
  CHECK(a.w_in.size() == doctest::Approx(5000).epsilon(0.05));
  CHECK(a.w_ie.size() == doctest::Approx(1250).epsilon(0.08));
  // 500 inputs at about 5 Hz for 10 s (P1/P3 means 5.19/5.11 Hz).
  CHECK(a.input_spikes / (500.0 * 10.0) == doctest::Approx(5.1).epsilon(0.03));
  const auto in = read_spikes(out + "/a/input_group.0.spk");
  REQUIRE(in.size() == a.input_spikes);
  CHECK(in.front().first >= 1);  // rate 0 at step 0: no input spike at step 0
  size_t unit0 = 0;
  for (auto [s, u] : in) unit0 += u % 100 == 0;
  CHECK(unit0 / (5.0 * 10.0) == doctest::Approx(5.0).epsilon(0.35));
  // Auryn's quirk: unit 0 of every group at about half rate.
  NetworkConfig q = small_run(out + "/q", 5);
  q.poisson_quirk = true;
  const NetworkResult rq = run_network(q);
  const auto inq = read_spikes(out + "/q/input_group.0.spk");
  size_t unit0q = 0;
  for (auto [s, u] : inq) unit0q += u % 100 == 0;
  CHECK(unit0q / (5.0 * 10.0) == doctest::Approx(2.5).epsilon(0.35));
  CHECK(rq.input_spikes / (500.0 * 10.0) == doctest::Approx(5.1).epsilon(0.04));
  // Files of 9.1.
  for (const char* f : {"exc.0.spk", "inh.0.spk", "input_group.0.spk", "exc.0.prate", "inh.0.prate", "poisson0.0.prate",
                        "poisson4.0.prate", "con_ei.0.wmat", "con_ii.0.wmat", "input_con.0.wmat", "con_ie.0.wmat", "exc.0.nstate"})
    CHECK_MESSAGE(std::filesystem::exists(out + "/a/" + f), f);
}

TEST_CASE("network feedforward variant (--ni 0) and --fast") {
  const std::string out = test::temp_dir("net_ff");
  NetworkConfig c = small_run(out, 3);
  c.ni = 0;
  c.fast = true;
  c.simtime = 1;
  const NetworkResult r = run_network(c);
  CHECK(r.inh_spikes == 0);
  CHECK(r.w_ie.size() == 0);
  CHECK_FALSE(std::filesystem::exists(out + "/inh.0.spk"));
  CHECK_FALSE(std::filesystem::exists(out + "/input_con.0.wmat"));  // --fast: no end-of-run files
  CHECK(std::filesystem::exists(out + "/exc.0.spk"));
}

TEST_CASE("network: missing rate file or bad mask gives one clear error") {
  const std::string out = test::temp_dir("net_pois_err");
  NetworkConfig c = small_run(out, 1);
  c.plen = 5;  // rates5.dat does not exist
  CHECK_THROWS_WITH(run_network(c), doctest::Contains("rates5.dat"));
  c = small_run(out, 1);
  c.ne = 50;  // the 100 x 25 mask does not fit
  CHECK_THROWS_WITH(run_network(c), doctest::Contains("is 100 x 25, but the network needs 50 x 25"));
}
