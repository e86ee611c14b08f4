// End-of-run outputs added by the port: line 3 of .nstate (the pending spikes of the 8-step delay
// buffer, SPIKING.md 9.5 "own layout"), the g_adapt1 column with --adapt, and ee_con.0.wmat with
// --wee > 0 (the original never writes the E->E weights).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "models/spiking/network.h"
#include "models/spiking/spike_io.h"
#include "models/spiking/state_file.h"
#include "models/spiking/stdp_protocol.h"
#include "spiking_test_util.h"

using namespace lpl::spiking;

namespace {
std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);) out.push_back(l);
  return out;
}

// Short network run on the bundled rate files (3 s priming + 1 s).
NetworkConfig short_run(const std::string& out) {
  NetworkConfig c = run_snn_config(1, 1);
  c.dir = out;
  c.input_dir = test::data_dir();
  c.collect_spikes = true;
  return c;
}
}  // namespace

TEST_CASE("spike delay line: pending spikes of the last 8 steps, round trip through the parser") {
  SpikeRing r;
  CHECK(spike_delay_line(r) == "# spike_delay_buffer last_step -1 delay 8");
  CHECK(parse_spike_delay_line(spike_delay_line(r)).pending.empty());
  for (int64_t n = 0; n <= 20; ++n) {
    r.begin_step(n);
    if (n == 3) r.now() = {7};
    if (n == 12) r.now() = {1, 5};  // delivered at step 20: no longer pending
    if (n == 13) r.now() = {2};
    if (n == 20) r.now() = {0, 9, 4};
  }
  const std::string line = spike_delay_line(r);
  CHECK(line == "# spike_delay_buffer last_step 20 delay 8 | 13: 2 | 14: | 15: | 16: | 17: | 18: | 19: | 20: 0 9 4");
  const SpikeDelayBuffer b = parse_spike_delay_line(line);
  CHECK(b.last_step == 20);
  REQUIRE(b.pending.size() == 8);
  for (size_t k = 0; k < 8; ++k) {
    CHECK(b.pending[k].first == static_cast<int64_t>(13 + k));
    CHECK(b.pending[k].second == r.at(13 + static_cast<int64_t>(k)));
  }
  // A run of 3 steps: only steps 0..2 exist.
  SpikeRing s;
  for (int64_t n = 0; n < 3; ++n) s.begin_step(n);
  s.now() = {3};
  CHECK(spike_delay_line(s) == "# spike_delay_buffer last_step 2 delay 8 | 0: | 1: | 2: 3");
  CHECK(parse_spike_delay_line(spike_delay_line(s)).pending.back().second == std::vector<uint32_t>{3});
}

TEST_CASE("spike delay line: malformed lines give one clear error") {
  CHECK_THROWS_WITH(parse_spike_delay_line("# lpl port: the spike delay buffer is not stored"),
                    doctest::Contains("does not start with '# spike_delay_buffer last_step '"));
  CHECK_THROWS_WITH(parse_spike_delay_line("# spike_delay_buffer last_step 20 delay 5"),
                    doctest::Contains("expected 'last_step <step> delay 8'"));
  CHECK_THROWS_WITH(parse_spike_delay_line("# spike_delay_buffer last_step 20 delay 8 | 12: 3"),
                    doctest::Contains("bad or out-of-order step '12:'"));
  CHECK_THROWS_WITH(parse_spike_delay_line("# spike_delay_buffer last_step 20 delay 8 | 14: | 13:"),
                    doctest::Contains("bad or out-of-order step '13:'"));
  CHECK_THROWS_WITH(parse_spike_delay_line("# spike_delay_buffer last_step 20 delay 8 | 20: 4 x"), doctest::Contains("bad unit 'x'"));
  CHECK_THROWS_WITH(parse_spike_delay_line("# spike_delay_buffer last_step 20 delay 8 | 20: -4"), doctest::Contains("bad unit '-4'"));
  CHECK_THROWS_WITH(parse_spike_delay_line("# spike_delay_buffer last_step 20 delay 8 7"), doctest::Contains("unit '7' before the first step"));
}

TEST_CASE("network .nstate: line 3 holds the E spikes of the last 8 steps; mem stays at its column") {
  const std::string out = test::temp_dir("nstate");
  const NetworkResult r = run_network(short_run(out));
  const auto L = lines_of(out + "/exc.0.nstate");
  REQUIRE(L.size() == 3 + 100);
  CHECK(L[1] ==
        "# Default field order (might be overwritten): avgsqrerr err g_ampa g_gaba g_nmda mem thr (plus traces: "
        "mean_rate_trace istdp_post_trace)");
  const SpikeDelayBuffer b = parse_spike_delay_line(L[2]);
  CHECK(b.last_step == r.steps - 1);
  REQUIRE(b.pending.size() == 8);
  for (const auto& [step, units] : b.pending) {
    std::vector<uint32_t> expect;
    for (auto [s, u] : r.exc)
      if (s == step) expect.push_back(u);
    CHECK(units == expect);
  }
  // mem (6th column) is a membrane potential of every neuron.
  for (size_t i = 3; i < L.size(); ++i) {
    std::istringstream in(L[i]);
    double col[6];
    for (double& x : col) in >> x;
    CHECK(col[5] >= -0.080);
    CHECK(col[5] <= -0.030);
  }
}

TEST_CASE("STDP protocol .nstate: a post spike 4 steps before the end is pending on line 3") {
  const std::string out = test::temp_dir("nstate_stdp");
  StdpConfig c;
  c.dir = out;
  c.input_dir = test::data_dir() + "/stdp/short_T20ms_f5";  // first pairing: post spike at step 1000
  c.simtime = 0.1005;
  c.wext = 0.5;
  c.psize = 100;
  c.lpl = stdp_default_lpl();
  c.lpl.tau_mean = 600;
  const StdpResult r = run_stdp_protocol(c);
  REQUIRE(r.post_spike_steps == std::vector<int64_t>{1000});
  const auto L = lines_of(out + "/exc.0.nstate");
  REQUIRE(L.size() == 4);
  const SpikeDelayBuffer b = parse_spike_delay_line(L[2]);
  REQUIRE(b.last_step == r.steps - 1);
  REQUIRE(b.last_step - 1000 < 8);
  for (const auto& [step, units] : b.pending) CHECK(units == (step == 1000 ? std::vector<uint32_t>{0} : std::vector<uint32_t>{}));
  CHECK(L[2].find(" | 1000: 0 | ") != std::string::npos);
}

TEST_CASE("network with --adapt: g_adapt1 column, fewer E spikes than the IF group") {
  const std::string out = test::temp_dir("adapt");
  NetworkConfig c = short_run(out);
  c.neuron.adapt = true;
  const NetworkResult a = run_network(c);
  const auto L = lines_of(out + "/exc.0.nstate");
  REQUIRE(L.size() == 103);
  CHECK(L[1].find("avgsqrerr err g_adapt1 g_ampa g_gaba g_nmda mem thr (plus traces:") != std::string::npos);
  size_t adapted = 0;
  for (size_t i = 3; i < L.size(); ++i) {
    std::istringstream in(L[i]);
    double col[8];
    for (double& x : col) in >> x;
    CHECK(col[2] >= 0.0);   // g_adapt1
    CHECK(col[6] >= -0.080);  // mem
    CHECK(col[6] <= 0.0);
    adapted += col[2] > 0;
  }
  CHECK(adapted > 0);
  const NetworkResult plain = run_network(short_run(test::temp_dir("adapt_ref")));
  MESSAGE("E spikes in 4 s: IF " << plain.exc_spikes << ", adaptive " << a.exc_spikes);
  CHECK(a.exc_spikes < plain.exc_spikes);
}

TEST_CASE("network with --wee > 0 writes the E->E weights to ee_con.0.wmat (not with --fast)") {
  const std::string out = test::temp_dir("wee");
  NetworkConfig c = short_run(out);
  c.wee = 0.1;
  c.lpl.eta = 1.0;  // large, so that the E->E weights move in 1 s
  const NetworkResult r = run_network(c);
  REQUIRE(r.w_ee.size() > 0);
  CHECK(r.w_ee.n_pre == 100);
  CHECK(r.w_ee.n_post == 100);
  const Synapses f = read_wmat(out + "/ee_con.0.wmat");
  REQUIRE(f.size() == r.w_ee.size());
  size_t moved = 0;
  for (size_t k = 0; k < f.size(); ++k) {
    CHECK(f.pre[k] == r.w_ee.pre[k]);
    CHECK(f.post[k] == r.w_ee.post[k]);
    CHECK(f.pre[k] != f.post[k]);  // no autapses
    CHECK(std::abs(f.w[k] - r.w_ee.w[k]) <= 1e-7 * (1 + r.w_ee.w[k]));
    moved += f.w[k] != 0.15f;  // initial weight = --wext
  }
  CHECK(moved > 0);
  const std::string fast = test::temp_dir("wee_fast");
  c.dir = fast;
  c.fast = true;
  run_network(c);
  CHECK(!std::ifstream(fast + "/ee_con.0.wmat").good());
  CHECK(!std::ifstream(fast + "/input_con.0.wmat").good());
}
