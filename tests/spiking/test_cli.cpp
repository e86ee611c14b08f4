// The programs as users run them: options of the original scripts, exit status and one clear
// message on bad input, and sim_sweep running jobs in parallel.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <sys/wait.h>

#include "spiking_test_util.h"

namespace fs = std::filesystem;
using namespace lpl::spiking;

namespace {
// Programs are built next to the tests: <build>/bin/<name>.
fs::path bin(const std::string& name) { return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "bin" / name; }
bool have_programs() { return fs::exists(bin("sim_lpl_stdp_protocol")) && fs::exists(bin("sim_sweep")); }

int run(const std::string& cmd, const std::string& log) {
  const int st = std::system((cmd + " > " + log + " 2>&1").c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
std::string slurp(const std::string& f) {
  std::ifstream in(f);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
// Each command (output folder DIR/out<k>) exits 1, prints its message (and `also`), simulates nothing.
struct Refusal {
  std::string cmd, message;
};
void check_refused(const std::string& dir, const std::vector<Refusal>& cases, const std::string& also = "") {
  int k = 0;
  for (const auto& c : cases) {
    const std::string log = dir + "/log" + std::to_string(k), out = dir + "/out" + std::to_string(k++);
    CHECK_MESSAGE(run(c.cmd + " --dir " + out, log) == 1, c.cmd);
    const std::string text = slurp(log);
    CHECK_MESSAGE(text.find(c.message) != std::string::npos, text);
    CHECK_MESSAGE(text.find(also) != std::string::npos, text);
    CHECK_MESSAGE(!fs::exists(out + "/exc.0.spk"), c.cmd);
  }
}
}  // namespace

TEST_CASE("sim_lpl_stdp_protocol runs with run_stdp.sh options; bad options exit 1 with a message" *
          doctest::skip(!have_programs())) {
  const std::string dir = test::temp_dir("cli");
  const std::string in = fs::absolute(test::data_dir() + "/stdp/short_T20ms_f5").string();
  const std::string common = bin("sim_lpl_stdp_protocol").string() +
                             " --prime 0.0 --simtime 1 --sparsenes 1.0 --wext 0.5 --wee 0.0 --psize 100 --plen 4"
                             " --tau_mean 600 --tau_sigma2 20 --lambda 1 --eta 5e-3 --initmean 20 --initsigma2 0.1";
  CHECK(run("cd " + dir + " && " + common + " --dir out --input_dir " + in, dir + "/log1") == 0);
  for (const char* f : {"exc.0.spk", "input_group.0.spk", "exc.0.prate", "input_con.0.syn", "con_lpl.0.sig2",
                        "input_con.0.wmat", "exc.0.nstate", "sim_lpl_stdp_protocol.0.log"})
    CHECK_MESSAGE(fs::exists(dir + "/out/" + f), f);
  CHECK(run(common + " --dir " + dir + "/o2 --input_dir " + in + " --bogus 3", dir + "/log2") == 1);
  CHECK(slurp(dir + "/log2").find("unknown option '--bogus'") != std::string::npos);
  CHECK(run("cd " + dir + " && " + common + " --dir o3", dir + "/log3") == 1);  // no spikes.ras here
  CHECK(slurp(dir + "/log3").find("cannot open './spikes.ras'") != std::string::npos);
  CHECK(run(common + " --help", dir + "/log4") == 1);
  CHECK(slurp(dir + "/log4").find("--initsigma2") != std::string::npos);
}

TEST_CASE("sim_lpl_stdp_protocol accepts --double and --adapt (port additions)" * doctest::skip(!have_programs())) {
  const std::string dir = test::temp_dir("cli_modes");
  const std::string in = fs::absolute(test::data_dir() + "/stdp/short_T20ms_f5").string();
  const std::string common = bin("sim_lpl_stdp_protocol").string() + " --simtime 1 --psize 100 --wext 0.5 --input_dir " + in;
  CHECK(run(common + " --dir " + dir + "/f64 --double --adapt", dir + "/log1") == 0);
  std::ifstream ns(dir + "/f64/exc.0.nstate");
  std::string l1, l2, l3;
  std::getline(ns, l1);
  std::getline(ns, l2);
  std::getline(ns, l3);
  CHECK(l2.find("avgsqrerr err g_adapt1 g_ampa") != std::string::npos);
  CHECK(l3.rfind("# spike_delay_buffer last_step 9999 delay 8 | 9992:", 0) == 0);
  CHECK(run(common + " --help", dir + "/log2") == 1);
  CHECK(slurp(dir + "/log2").find("--double") != std::string::npos);
  CHECK(run(common + " --dir " + dir + "/x --double=1", dir + "/log3") == 1);
  CHECK(slurp(dir + "/log3").find("option '--double' takes no value") != std::string::npos);
}

TEST_CASE("durations whose step count would overflow are refused before simulating (issue 11)" *
          doctest::skip(!have_programs() || !fs::exists(bin("sim_lpl_spiking")))) {
  // --simtime 1e15 s is 1e19 steps of 0.1 ms: the count went negative, nothing ran, and the
  // programs exited 0. A run may have at most 2^32 - 1 steps (the .spk step field is 32-bit).
  const std::string dir = test::temp_dir("cli_durations");
  const std::string data = fs::absolute(test::data_dir()).string(), stdp = data + "/stdp/short_T20ms_f5";
  const std::string net = bin("sim_lpl_spiking").string() + " --quiet --fast --input_dir " + data;
  const std::string pro = bin("sim_lpl_stdp_protocol").string() + " --quiet --fast --psize 100 --input_dir " + stdp;
  check_refused(dir,
                {
                    {net + " --simtime 1e15", "--simtime 1e+15 s is 1e+19 steps"},
                    {net + " --tau_mean 1e300", "--tau_mean 1e+300 s (priming 3 x --tau_mean) is"},
                    {net + " --tau_mean 100000 --simtime 200000",
                     "priming (--tau_mean 100000) and learning (--simtime 200000) are 5000000000 steps"},
                    {pro + " --simtime 1e15", "--simtime 1e+15 s is 1e+19 steps"},
                    {pro + " --primetime 1e300", "--primetime 1e+300 s is"},
                },
                "at most 4294967295 steps");
}

TEST_CASE("time constants too long for the mean trace are refused by name (issue 11)" *
          doctest::skip(!have_programs() || !fs::exists(bin("sim_lpl_spiking")))) {
  // The STDP protocol has no priming, so --tau_mean 1e300 passed the step-count check and the mean
  // trace (rate x tau) overflowed: "non-finite LPL state ... check --eta, --initsigma2, --lambda".
  const std::string dir = test::temp_dir("cli_tau");
  const std::string stdp = fs::absolute(test::data_dir() + "/stdp/short_T20ms_f5").string();
  const std::string pro = bin("sim_lpl_stdp_protocol").string() + " --quiet --psize 100 --wext 0.5 --simtime 1 --input_dir " + stdp;
  const std::string net = bin("sim_lpl_spiking").string() + " --quiet --simtime 1 --input_dir " + fs::absolute(test::data_dir()).string();
  check_refused(dir, {{pro + " --tau_mean 1e300", "--tau_mean must be at most 1e+09 s, got 1e+300"},
                     // (the protocol ignores --tau_sigma2, as the original does)
                     {net + " --tau_sigma2 1e300", "--tau_sigma2 must be at most 1e+09 s, got 1e+300"}});
  CHECK(run(pro + " --tau_mean 1e9 --dir " + dir + "/ok", dir + "/log_ok") == 0);  // the bound itself runs
}

TEST_CASE("counts beyond int are refused, not truncated (issue 11: --ne 4294967297 ran with 1 neuron)" *
          doctest::skip(!have_programs() || !fs::exists(bin("sim_lpl_spiking")))) {
  const std::string dir = test::temp_dir("cli_counts");
  const std::string data = fs::absolute(test::data_dir()).string(), stdp = data + "/stdp/short_T20ms_f5";
  const std::string pro = bin("sim_lpl_stdp_protocol").string() + " --quiet --fast --simtime 0.01 --psize 100 --input_dir " + stdp;
  const std::string net = bin("sim_lpl_spiking").string() + " --quiet --fast --simtime 0.01 --tau_mean 0.001 --input_dir " + data;
  check_refused(dir, {
                         {pro + " --ne 4294967297", "option '--ne' needs an integer in -2147483648..2147483647, got '4294967297'"},
                         {net + " --psize 4294967496", "option '--psize' needs an integer in -2147483648..2147483647, got '4294967496'"},
                         {net + " --psize 2000000000 --plen 3", "--psize 2000000000 x (--plen 3 + 1) input units exceed 2147483647"},
                     });
}

TEST_CASE("sim_sweep runs every job in its folder and reports failures" * doctest::skip(!have_programs())) {
  const std::string dir = test::temp_dir("sweep");
  const std::string in = fs::absolute(test::data_dir() + "/stdp/short_T20ms_f5").string();
  {
    std::ofstream jobs(dir + "/jobs.txt");
    jobs << "# two good runs and a bad one\n";
    for (const char* m : {"0", "50"})
      jobs << dir << "/run_" << m << " " << bin("sim_lpl_stdp_protocol").string() << " --simtime 0.5 --psize 100 --dir . --initmean "
           << m << " --input_dir " << in << "\n";
    jobs << dir << "/bad " << bin("sim_lpl_stdp_protocol").string() << " --simtime -1\n";
  }
  CHECK(run(bin("sim_sweep").string() + " -j 2 " + dir + "/jobs.txt", dir + "/log") == 1);
  const std::string log = slurp(dir + "/log");
  CHECK(log.find("3 jobs, 1 failed") != std::string::npos);
  CHECK(fs::exists(dir + "/run_0/input_con.0.wmat"));
  CHECK(fs::exists(dir + "/run_50/input_con.0.wmat"));
  CHECK(slurp(dir + "/bad/sweep_job.log").find("--simtime and --primetime must be >= 0") != std::string::npos);
}
