// The programs lpl_toy2d and lpl_toy_digits end to end: tiny runs write their CSV / JSON files, and
// bad arguments, missing data and existing outputs end with one clear error and exit status 1.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/file_util.h"
#include "cli_util.h"
#include "test_util.h"

namespace fs = std::filesystem;
using lpl::test::check_refused;
using lpl::test::CmdResult;
using lpl::test::run_program;

namespace {

int64_t lines(const fs::path& p) {
  std::ifstream f(p);
  int64_t n = 0;
  std::string s;
  while (std::getline(f, s)) ++n;
  return n;
}

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("lpl_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void put_be32(std::string& s, uint32_t v) {
  for (int k = 3; k >= 0; --k) s += static_cast<char>((v >> (8 * k)) & 0xff);
}
// 28 x 28 uncompressed IDX training files with random pixels.
void write_idx(const fs::path& dir, const std::vector<int>& labels) {
  std::string img, lab;
  put_be32(img, 0x803);
  put_be32(img, static_cast<uint32_t>(labels.size()));
  put_be32(img, 28);
  put_be32(img, 28);
  uint32_t x = 12345;
  for (size_t i = 0; i < labels.size() * 784; ++i) {
    x = x * 1664525u + 1013904223u;
    img += static_cast<char>(x >> 24);
  }
  put_be32(lab, 0x801);
  put_be32(lab, static_cast<uint32_t>(labels.size()));
  for (int l : labels) lab += static_cast<char>(l);
  std::ofstream(dir / "train-images-idx3-ubyte", std::ios::binary) << img;
  std::ofstream(dir / "train-labels-idx1-ubyte", std::ios::binary) << lab;
}

}  // namespace

TEST_CASE("lpl_toy2d: a tiny run writes its files and refuses to overwrite them") {
  TempDir t("toy2d_app");
  const std::string out = (t.path / "out").string();
  const std::string args = "--out " + out + " --reps 2 --num_sigmas 3 --steps 40 --trajectory_sigmas 1,2 --record_every 10 "
                           "--rules lpl,oja --no_plot --threads 1";
  const CmdResult r = run_program("lpl_toy2d", args);
  REQUIRE_MESSAGE(r.status == 0, r.output);
  // sweep: 2 rules x 2 reps x 3 sigmas; trajectories: 2 rules x 2 reps x 2 sigmas x 5 samples (0..40)
  CHECK(lines(out + "/sweep.csv") == 1 + 2 * 2 * 3);
  CHECK(lines(out + "/trajectories.csv") == 1 + 2 * 2 * 2 * 5);
  const auto j = nlohmann::json::parse(lpl::read_file(out + "/toy2d.json"));
  CHECK(j["params"]["rules"] == nlohmann::json::array({"lpl", "oja"}));
  CHECK(j["results"]["lpl"]["sweep"].size() == 3);
  check_refused("lpl_toy2d", args, "exists; pass --overwrite");
  CHECK(run_program("lpl_toy2d", args + " --overwrite").status == 0);
}

TEST_CASE("lpl_toy2d: bad arguments are refused") {
  check_refused("lpl_toy2d", "--reps 2", "--out is required");
  check_refused("lpl_toy2d", "--out /tmp/x --rules lpl,hebb", "unknown rule 'hebb'");
  check_refused("lpl_toy2d", "--out /tmp/x --noise_p 2", "--noise_p must lie in [0, 1]");
  check_refused("lpl_toy2d", "--out /tmp/x --sigma_min 0", "--sigma_min must be > 0");
  check_refused("lpl_toy2d", "--out /tmp/x --steps x", "--steps: expected an integer, got 'x'");
  check_refused("lpl_toy2d", "--out /tmp/x --reps 1 --reps 2", "given twice");
}

TEST_CASE("lpl_toy_digits: a tiny run on IDX files writes its files") {
  TempDir t("toy_digits_app");
  write_idx(t.path, {3, 8, 3, 8, 3, 8, 3, 8, 8, 3});
  const std::string out = (t.path / "out").string();
  const std::string args = "--data_dir " + t.path.string() + " --classes 3,8 --per_class 5 --batch 4 --runs 2 --steps 6 "
                           "--eval_every 3 --out " + out + " --no_plot --threads 1";
  const CmdResult r = run_program("lpl_toy_digits", args);
  REQUIRE_MESSAGE(r.status == 0, r.output);
  // 3 rules x 2 sequences x 2 runs; measures at steps 0, 3, 6; activity every step
  CHECK(lines(out + "/final.csv") == 1 + 3 * 2 * 2);
  CHECK(lines(out + "/measures.csv") == 1 + 3 * 2 * 2 * 3);
  CHECK(lines(out + "/activity.csv") == 1 + 3 * 2 * 2 * 6);
  CHECK(fs::file_size(out + "/weights.npy") > 6 * 56 * 56 * 4);
  const auto j = nlohmann::json::parse(lpl::read_file(out + "/toy_digits.json"));
  CHECK(j["weights_npy"]["shape"] == nlohmann::json::array({6, 56, 56}));
  check_refused("lpl_toy_digits", args, "exists; pass --overwrite");
}

TEST_CASE("lpl_toy_digits: missing data and bad classes are refused") {
  TempDir t("toy_digits_bad");
  const std::string out = " --out " + (t.path / "out").string();
  check_refused("lpl_toy_digits", "--data_dir /nonexistent/mnist" + out, "data directory /nonexistent/mnist does not exist");
  check_refused("lpl_toy_digits", "--data_dir " + t.path.string() + out, "missing file");
  check_refused("lpl_toy_digits", "--data_dir " + t.path.string() + " --classes 5,10" + out, "must lie in 0..9");
  check_refused("lpl_toy_digits", "--data_dir " + t.path.string() + " --classes 5" + out, "--classes: expected two class indices");
  check_refused("lpl_toy_digits", "--data_dir " + t.path.string() + " --classes 4,4" + out, "must differ");
  check_refused("lpl_toy_digits", "--seqs digit,colour" + out, "unknown sequence 'colour'");
}
