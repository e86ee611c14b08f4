// tools/plot_deep_nets.py (Fig. 3 panels) on small eval_linear results under
// tests/data/experiments/deep_nets/: the aggregated CSV numbers against means and standard errors
// worked out by hand, its errors on missing, corrupt or inconsistent inputs, and the PNGs. Without
// /usr/bin/python3 every case is skipped (the binary exits 77); without matplotlib the plot case is.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli_util.h"
#include "test_util.h"

using namespace lpl;

namespace {

std::string fixture(const std::string& f) { return test::data_path("experiments/deep_nets/" + f); }

test::CmdResult run_tool(const std::string& args) {
  return test::run_cmd("/usr/bin/python3 " + test::tool_script("plot_deep_nets.py") + " " + args);
}

// The standard case: three LPL seeds, two pred-off seeds, one supervised results.yaml run with two
// folds per layer, and the pixel readout of two seeds.
std::string standard_runs() {
  return "--run lpl=" + fixture("lpl_s1.json") + " --run lpl=" + fixture("lpl_s2.json") + " --run lpl=" +
         fixture("lpl_s3.json") + " --run pred_off=" + fixture("pred_off_s1.json") + " --run pred_off=" +
         fixture("pred_off_s2.json") + " --run supervised=" + fixture("results.yaml") + " --run pixels=" +
         fixture("lpl_s1.json") + " --run pixels=" + fixture("lpl_s2.json");
}

// CSV rows keyed "label/layer" -> column -> value.
std::map<std::string, std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  std::vector<std::string> cols;
  {
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, ',');) cols.push_back(c);
  }
  std::map<std::string, std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::map<std::string, std::string> r;
    size_t i = 0;
    for (std::string c; std::getline(ss, c, ',');) r[cols.at(i++)] = c;
    rows[r["label"] + "/" + r["layer"]] = r;
  }
  return rows;
}

double num(const std::map<std::string, std::string>& r, const std::string& c) { return std::stod(r.at(c)); }

}  // namespace

TEST_SUITE("deep_nets" * doctest::skip(!test::have_python3())) {

TEST_CASE("plot_deep_nets: means and standard errors per label and layer") {
  test::TmpDir tmp("deep_nets");
  const auto r = run_tool("--no_plot --out " + tmp.path.string() + " " + standard_runs());
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto last = read_csv(tmp / "deep_nets_last_layer.csv");
  REQUIRE(last.size() == 4);
  // lpl layer 3: 0.60, 0.62, 0.67 -> mean 0.63; np.std = sqrt((0.03^2 + 0.01^2 + 0.04^2) / 3);
  // error = np.std / sqrt(3) = sqrt(0.0026) / 3.
  const auto& lpl = last.at("lpl/3");
  CHECK(lpl.at("n_runs") == "3");
  CHECK(num(lpl, "acc_mean") == doctest::Approx(0.63).epsilon(1e-12));
  CHECK(num(lpl, "acc_sem") == doctest::Approx(std::sqrt(0.0026) / 3).epsilon(1e-9));
  // pred_off layer 3: 0.30, 0.34 -> 0.32 +- 0.02 / sqrt(2).
  const auto& po = last.at("pred_off/3");
  CHECK(num(po, "acc_mean") == doctest::Approx(0.32).epsilon(1e-12));
  CHECK(num(po, "acc_sem") == doctest::Approx(0.02 / std::sqrt(2.0)).epsilon(1e-9));
  // supervised (results.yaml, one run, folds 0.9 and 0.94 at layer 3) -> 0.92, no spread.
  const auto& sup = last.at("supervised/3");
  CHECK(sup.at("n_runs") == "1");
  CHECK(num(sup, "acc_mean") == doctest::Approx(0.92).epsilon(1e-12));
  CHECK(num(sup, "acc_sem") == 0.0);
  // pixels: 0.35 and 0.37 -> 0.36 +- 0.01 / sqrt(2); no layer.
  const auto& px = last.at("pixels/");
  CHECK(num(px, "acc_mean") == doctest::Approx(0.36).epsilon(1e-12));
  CHECK(num(px, "acc_sem") == doctest::Approx(0.01 / std::sqrt(2.0)).epsilon(1e-9));

  const auto layers = read_csv(tmp / "deep_nets_layers.csv");
  CHECK(layers.size() == 9);  // 3 labels x 3 layers, no pixels
  CHECK(layers.count("pixels/") == 0);
  // lpl layer 1: 0.40, 0.42, 0.44 -> 0.42 +- sqrt(0.0008 / 3) / sqrt(3); PR 10, 12, 14 -> 12.
  const auto& l1 = layers.at("lpl/1");
  CHECK(num(l1, "acc_mean") == doctest::Approx(0.42).epsilon(1e-12));
  CHECK(num(l1, "acc_sem") == doctest::Approx(std::sqrt(0.0008) / 3).epsilon(1e-9));
  CHECK(num(l1, "pr_mean") == doctest::Approx(12.0).epsilon(1e-12));
  CHECK(num(l1, "pr_sem") == doctest::Approx(std::sqrt(8.0) / 3).epsilon(1e-9));
  // lpl layer 3 PR: seed 3 has none (null) -> over the two that have it: 30, 30.
  CHECK(num(layers.at("lpl/3"), "pr_mean") == doctest::Approx(30.0).epsilon(1e-12));
  CHECK(num(layers.at("lpl/3"), "pr_sem") == 0.0);
  // supervised layer 1 folds 0.7, 0.72 -> 0.71.
  CHECK(num(layers.at("supervised/1"), "acc_mean") == doctest::Approx(0.71).epsilon(1e-12));
}

TEST_CASE("plot_deep_nets: missing, corrupt or inconsistent inputs are refused with one message") {
  test::TmpDir tmp("deep_nets");
  const std::string out = " --no_plot --out " + tmp.path.string();
  auto r = run_tool(out + " --run lpl=" + fixture("no_such_run.json"));
  CHECK(r.status == 1);
  CHECK(r.output.find("no_such_run.json: no such file") != std::string::npos);
  r = run_tool(out + " --run lpl=" + fixture("corrupt.json"));
  CHECK(r.status == 1);
  CHECK(r.output.find("corrupt.json: not valid JSON") != std::string::npos);
  r = run_tool(out + " --run lpl=" + fixture("lpl_s1.json") + " --run lpl=" + fixture("two_layers.json"));
  CHECK(r.status == 1);
  CHECK(r.output.find("two_layers.json: layers [1, 2] differ") != std::string::npos);
  r = run_tool(out + " --run pixels=" + fixture("lpl_s3.json"));
  CHECK(r.status == 1);
  CHECK(r.output.find("no pixel readout") != std::string::npos);
  r = run_tool(out + " --run supervised=" + fixture("results.yaml") + "#lpl");
  CHECK(r.status == 1);
  CHECK(r.output.find("no run 'lpl' (has supervised)") != std::string::npos);
  r = run_tool(out + " --run " + fixture("lpl_s1.json"));
  CHECK(r.status == 2);
  CHECK(r.output.find("LABEL=PATH") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(tmp / "deep_nets_last_layer.csv"));  // nothing written on errors
  // Outputs are kept unless --overwrite.
  REQUIRE(run_tool(out + " --run lpl=" + fixture("lpl_s1.json")).status == 0);
  r = run_tool(out + " --run lpl=" + fixture("lpl_s2.json"));
  CHECK(r.status == 1);
  CHECK(r.output.find("exists (pass --overwrite") != std::string::npos);
  CHECK(run_tool(out + " --overwrite --run lpl=" + fixture("lpl_s2.json")).status == 0);
}

TEST_CASE("plot_deep_nets: draws the bar, layer and PR panels" * doctest::skip(!test::have_matplotlib())) {
  test::TmpDir tmp("deep_nets");
  const auto r = run_tool("--out " + tmp.path.string() + " --title fixture " + standard_runs());
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const char* f : {"deep_nets_last_layer.png", "deep_nets_layers.png", "deep_nets_pr.png"}) {
    CAPTURE(f);
    CHECK(std::filesystem::exists(tmp / f));
    CHECK(std::filesystem::file_size(tmp / f) > 5000);
  }
}

}  // TEST_SUITE
