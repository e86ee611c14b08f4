// Shapes3D figures (experiments/shapes3d_figures.h, apps/lpl_shapes3d_figures.cpp): trajectory
// statistics against hand counts of a hand-made trajectory array and against a float64 re-count of
// generated trajectories, the majority-vote disentanglement score against hand values, eval_linear's
// per-factor results from a fixture file, and the program's error paths.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "data/npy.h"
#include "data/shapes3d.h"
#include "engine/common.h"
#include "engine/file_util.h"
#include "experiments/shapes3d_figures.h"
#include "cli_util.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::exp;
namespace fs = std::filesystem;

namespace {

const FactorSizes kTiny = {4, 3, 3, 3, 2, 3};

// Five sequences of five frames, as factor values (floor, wall, object, scale, shape, orientation):
//  0: floor hue moves around the cycle 0-2-1-3-0      1: scale 0,1,2,1,0
//  2: orientation by 2: 0,2,0,2,0                     3: nothing moves
//  4: floor and wall hue both change once
Shapes3dTrajectories tiny() {
  const std::vector<std::array<int, 6>> frames = {
      {0, 0, 0, 0, 0, 0}, {2, 0, 0, 0, 0, 0}, {1, 0, 0, 0, 0, 0}, {3, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0},
      {1, 0, 0, 0, 1, 0}, {1, 0, 0, 1, 1, 0}, {1, 0, 0, 2, 1, 0}, {1, 0, 0, 1, 1, 0}, {1, 0, 0, 0, 1, 0},
      {0, 1, 2, 1, 0, 0}, {0, 1, 2, 1, 0, 2}, {0, 1, 2, 1, 0, 0}, {0, 1, 2, 1, 0, 2}, {0, 1, 2, 1, 0, 0},
      {3, 2, 2, 2, 1, 2}, {3, 2, 2, 2, 1, 2}, {3, 2, 2, 2, 1, 2}, {3, 2, 2, 2, 1, 2}, {3, 2, 2, 2, 1, 2},
      {0, 0, 0, 0, 0, 0}, {2, 1, 0, 0, 0, 0}, {2, 1, 0, 0, 0, 0}, {2, 1, 0, 0, 0, 0}, {2, 1, 0, 0, 0, 0}};
  Shapes3dTrajectories t;
  t.sequences = 5;
  t.frames = 5;
  for (const auto& v : frames) t.index.push_back(data::shapes3d_flat_index(v, kTiny));
  return t;
}

struct TmpDir {
  fs::path path;
  TmpDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("lpl_test_shapes3d_fig_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TmpDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

using Cli = test::CmdResult;
Cli run_program(const std::string& args) { return test::run_program("lpl_shapes3d_figures", args); }

}  // namespace

TEST_CASE("shapes3d trajectory statistics match hand counts of a hand-made array") {
  const TrajectoryStats s = trajectory_stats(tiny(), kTiny, false);
  CHECK(s.moving == std::array<int64_t, 6>{1, 0, 0, 1, 0, 1});
  CHECK(s.still == 1);
  CHECK(s.several == 1);
  // Floor hue: its cycle 0-2-1-3 is recovered; wall and object hue have too few moves for a cycle.
  CHECK(s.order_recovered[0]);
  CHECK(s.order[0] == std::vector<int>{0, 2, 1, 3});
  CHECK_FALSE(s.order_recovered[1]);
  CHECK(s.order[1] == std::vector<int>{0, 1, 2});
  // Steps in positions of the order: floor 1,1,1 and 3 -> 1 around the cycle; scale 1 x4; orientation 2 x4.
  CHECK(s.step_hist[0] == std::vector<int64_t>{0, 4, 0, 0});
  CHECK(s.step_hist[3] == std::vector<int64_t>{0, 4, 0});
  CHECK(s.step_hist[5] == std::vector<int64_t>{0, 0, 4});
  CHECK(s.step_hist[4] == std::vector<int64_t>{0, 0});
  // Floor-hue transitions within sequences (20 frame pairs), counted by hand.
  CHECK(s.counts[0] == std::vector<int64_t>{4, 0, 2, 0, /**/ 0, 4, 0, 1, /**/ 0, 1, 3, 0, /**/ 1, 0, 0, 4});
  const std::vector<double> p = {4. / 6, 0, 2. / 6, 0, 0, 4. / 5, 0, 1. / 5, 0, 1. / 4, 3. / 4, 0, 1. / 5, 0, 0, 4. / 5};
  for (size_t i = 0; i < p.size(); ++i) CHECK(!(std::abs(s.probs[0][i] - p[i]) > 1e-15));
  // Shape never changes within a sequence: identity transitions.
  CHECK(s.counts[4] == std::vector<int64_t>{12, 0, 0, 8});
  // Across sequence boundaries (the notebook's count): 0->1, 1->0, 0->3, 3->0 added.
  const TrajectoryStats a = trajectory_stats(tiny(), kTiny, true);
  CHECK(a.counts[0] == std::vector<int64_t>{4, 1, 2, 1, /**/ 1, 4, 0, 1, /**/ 0, 1, 3, 0, /**/ 2, 0, 0, 4});
  CHECK(a.counts[4] == std::vector<int64_t>{12, 2, 2, 8});  // shape 0->1, 1->0, 0->1, 1->0 at the boundaries
}

TEST_CASE("shapes3d transition probabilities sum to 1 and match a float64 re-count of generated trajectories") {
  const FactorSizes sizes = data::kShapes3dFactorSizes;
  Shapes3dTrajectories t;
  t.sequences = 400;
  t.frames = 17;
  t.index = data::make_shapes3d_trajectories(7, t.sequences, static_cast<int>(t.frames), sizes);
  const TrajectoryStats s = trajectory_stats(t, sizes, false);
  // Independent decoding: strides of the flat index (spec §4) and double counts.
  int64_t stride[6];
  stride[5] = 1;
  for (int f = 4; f >= 0; --f) stride[f] = stride[f + 1] * sizes[static_cast<size_t>(f + 1)];
  for (size_t f = 0; f < 6; ++f) {
    const int n = sizes[f];
    std::vector<double> c(static_cast<size_t>(n * n), 0.0);
    for (int64_t q = 0; q < t.sequences; ++q)
      for (int64_t k = 0; k + 1 < t.frames; ++k) {
        const int64_t a = t.index[static_cast<size_t>(q * t.frames + k)], b = t.index[static_cast<size_t>(q * t.frames + k + 1)];
        c[static_cast<size_t>((a / stride[f]) % n * n + (b / stride[f]) % n)] += 1.0;
      }
    for (int i = 0; i < n; ++i) {
      double row = 0, psum = 0;
      for (int j = 0; j < n; ++j) row += c[static_cast<size_t>(i * n + j)];
      REQUIRE(row > 0);
      for (int j = 0; j < n; ++j) {
        const size_t ij = static_cast<size_t>(i * n + j);
        CHECK(static_cast<double>(s.counts[f][ij]) == c[ij]);
        CHECK(!(std::abs(s.probs[f][ij] - c[ij] / row) > 1e-14));
        psum += s.probs[f][ij];
      }
      CHECK(!(std::abs(psum - 1.0) > 1e-12));
    }
  }
  // Every sequence moves exactly one factor, never the shape; hues move along one shared cycle by 1 or 2.
  CHECK(s.moving[0] + s.moving[1] + s.moving[2] + s.moving[3] + s.moving[5] == t.sequences);
  CHECK(s.moving[4] == 0);
  CHECK(s.still == 0);
  CHECK(s.several == 0);
  for (size_t f = 0; f < 3; ++f) {
    CHECK(s.order_recovered[f]);
    CHECK(s.order[f] == s.order[0]);
    CHECK(s.step_hist[f][0] == 0);
    int64_t moves = 0;
    for (size_t d = 3; d < s.step_hist[f].size(); ++d) CHECK(s.step_hist[f][d] == 0);
    moves = s.step_hist[f][1] + s.step_hist[f][2];
    CHECK(moves == s.moving[f] * (t.frames - 1));
  }
  // Scale and orientation reflect at the ends: steps 0 (a step of 2 bouncing back), 1 or 2.
  for (size_t f : {size_t{3}, size_t{5}})
    for (size_t d = 3; d < s.step_hist[f].size(); ++d) CHECK(s.step_hist[f][d] == 0);
}

TEST_CASE("recover_cycle_order finds a shuffled cycle and refuses what is not one") {
  const int n = 5;
  const std::vector<int> cycle = {0, 3, 1, 4, 2};
  std::vector<int64_t> c(n * n, 0);
  for (int k = 0; k < n; ++k) {
    const int a = cycle[static_cast<size_t>(k)], b = cycle[static_cast<size_t>((k + 1) % n)], e = cycle[static_cast<size_t>((k + 2) % n)];
    c[static_cast<size_t>(a * n + b)] += 6;  // step 1
    c[static_cast<size_t>(a * n + e)] += 2;  // step 2
    c[static_cast<size_t>(a * n + a)] += 50;
  }
  CHECK(recover_cycle_order(c, n) == std::vector<int>{0, 2, 4, 1, 3});  // the same cycle, from 0 towards 2
  std::vector<int64_t> path(n * n, 0);  // 0-1-2-3-4 without closing
  for (int k = 0; k + 1 < n; ++k) path[static_cast<size_t>(k * n + k + 1)] = 5;
  CHECK(recover_cycle_order(path, n).empty());
  CHECK(recover_cycle_order(std::vector<int64_t>(n * n, 0), n).empty());
}

TEST_CASE("shapes3d trajectory files: missing, corrupt, wrong dtype or shape, index out of range") {
  TmpDir d;
  CHECK(error_of([&] { load_shapes3d_trajectories(d / "missing.npy", kTiny); }).find("missing.npy") != std::string::npos);
  {
    std::ofstream(d / "corrupt.npy") << "not an npy file at all";
  }
  CHECK(error_of([&] { load_shapes3d_trajectories(d / "corrupt.npy", kTiny); }).find("corrupt.npy") != std::string::npos);
  const std::vector<float> f(10, 0.f);
  data::write_npy(d / "float.npy", "f4", {2, 5}, f.data());
  CHECK(error_of([&] { load_shapes3d_trajectories(d / "float.npy", kTiny); }).find("int64") != std::string::npos);
  const std::vector<int64_t> one = {0, 1, 2};
  data::write_npy(d / "rank1.npy", "i8", {3}, one.data());
  CHECK(error_of([&] { load_shapes3d_trajectories(d / "rank1.npy", kTiny); }).find("rank 1") != std::string::npos);
  data::write_npy(d / "oneframe.npy", "i8", {3, 1}, one.data());
  CHECK(error_of([&] { load_shapes3d_trajectories(d / "oneframe.npy", kTiny); }).find("two frames") != std::string::npos);
  std::vector<int64_t> bad = tiny().index;
  bad[7] = 4 * 3 * 3 * 3 * 2 * 3;  // one past the grid
  data::write_npy(d / "range.npy", "i8", {5, 5}, bad.data());
  const std::string e = error_of([&] { load_shapes3d_trajectories(d / "range.npy", kTiny); });
  CHECK(e.find("sequence 1, frame 2") != std::string::npos);
  CHECK(e.find("outside") != std::string::npos);
  bad[7] = -1;
  data::write_npy(d / "negative.npy", "i8", {5, 5}, bad.data());
  CHECK(error_of([&] { load_shapes3d_trajectories(d / "negative.npy", kTiny); }).find("index -1") != std::string::npos);
  const Shapes3dTrajectories ok = load_shapes3d_trajectories((data::write_npy(d / "ok.npy", "i8", {5, 5}, tiny().index.data()), d / "ok.npy"), kTiny);
  CHECK(ok.index == tiny().index);
}

TEST_CASE("majority vote: the least variable feature and the classifier's accuracy by hand") {
  // Three rows, three features; scales 1, 2, 1; feature 2 is constant over the data set (skipped).
  const std::vector<float> batch = {0, 0, 5, /**/ 1, 4, 5, /**/ 2, 8, 5};
  // Variances after scaling: feature 0: var(0,1,2) = 2/3; feature 1: var(0,2,4) = 8/3.
  CHECK(least_variable_feature(batch, 3, 3, {1, 2, 1}, {false, false, true}) == 0);
  // With scale 8 on feature 1: var(0, .5, 1) = 1/6 < 2/3.
  CHECK(least_variable_feature(batch, 3, 3, {1, 8, 1}, {false, false, true}) == 1);
  CHECK(least_variable_feature(batch, 3, 3, {1, 2, 1}, {false, false, false}) == 2);
  CHECK(least_variable_feature(batch, 3, 3, {1, 2, 1}, {true, true, true}) == -1);

  const std::vector<double> votes = {2, 0, 0, 0, 0, 0, /**/ 0, 1, 1, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0};
  const std::vector<std::pair<int64_t, int>> test = {{0, 0}, {1, 1}, {1, 2}, {2, 3}, {-1, 4}};
  const FactorSizes ones = {1, 1, 1, 1, 1, 1};
  // Plain: right on (0,0) and (1,1) (the first maximum); feature 2 has no votes, -1 never votes.
  CHECK(!(std::abs(vote_accuracy(votes, 3, test, false, ones) - 2.0 / 5) > 1e-15));
  // Strict, one feature per factor: factors 3..5 have all-zero columns and take the last feature (2).
  CHECK(!(std::abs(vote_accuracy(votes, 3, test, true, ones) - 3.0 / 5) > 1e-15));
}

TEST_CASE("majority vote score: disentangled, entangled and constant features against hand values") {
  const FactorSizes sizes = {3, 3, 3, 2, 2, 3};
  int64_t n = 1;
  for (int s : sizes) n *= s;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < n; ++i) {
    const auto v = shapes3d_factor_values(i, sizes);
    labels.insert(labels.end(), v.begin(), v.end());
  }
  VoteOptions o;
  o.batch_size = 64;
  o.per_value = 3;
  o.reps = 2;
  o.seed = 5;
  // Feature k = factor k's value: fixing factor k makes feature k the one constant feature of the batch.
  std::vector<float> clean;
  for (int64_t v : labels) clean.push_back(static_cast<float>(v));
  const VoteResult r = majority_vote_score(clean, n, 6, labels, sizes, o);
  CHECK(r.score_mean == 1.0);
  // Strict: each factor keeps its top n_k features by votes, ties (zero votes) taken from the highest
  // index as a stable ascending sort leaves them; features 4 and 5 then also belong to factor 0 (the
  // first maximum), so factor 4's 2 and factor 5's 3 test values are wrong: 11 of 16.
  CHECK(!(std::abs(r.strict_mean - 11.0 / 16) > 1e-15));
  CHECK(r.score_std == 0.0);
  for (int64_t j = 0; j < 6; ++j)  // every vote of factor k on feature k: votes per value (3) after / n_k
    for (int k = 0; k < 6; ++k) CHECK(r.votes[static_cast<size_t>(j * 6 + k)] == (j == k ? 3.0 : 0.0));
  // One feature mixing everything: it gets every vote, predicts factor 0 (first maximum of equal
  // columns), right for factor 0's share of the test votes: 3 of the 16 factor values.
  std::vector<float> mixed;
  for (int64_t i = 0; i < n; ++i) {
    float s = 0;
    for (int k = 0; k < 6; ++k) s += static_cast<float>(labels[static_cast<size_t>(i * 6 + k)]) * static_cast<float>(k + 1);
    mixed.push_back(s);
  }
  const VoteResult m = majority_vote_score(mixed, n, 1, labels, sizes, o);
  CHECK(!(std::abs(m.score_mean - 3.0 / 16) > 1e-15));
  // A constant feature never votes (and is counted); the other one behaves like `mixed`.
  std::vector<float> withc;
  for (int64_t i = 0; i < n; ++i) withc.insert(withc.end(), {7.f, mixed[static_cast<size_t>(i)]});
  const VoteResult c = majority_vote_score(withc, n, 2, labels, sizes, o);
  CHECK(c.zero_variance == 1);
  CHECK(!(std::abs(c.score_mean - 3.0 / 16) > 1e-15));
  CHECK(c.votes[0] == 0.0);
  // Deterministic in the seed.
  CHECK(majority_vote_score(mixed, n, 1, labels, sizes, o).scores == m.scores);
  // Bad input: a label out of range, a value that never occurs, mismatched sizes.
  std::vector<int64_t> bad = labels;
  bad[6 * 5 + 3] = 2;
  CHECK(error_of([&] { majority_vote_score(clean, n, 6, bad, sizes, o); }).find("value 2") != std::string::npos);
  std::vector<int64_t> missing = labels;
  for (int64_t i = 0; i < n; ++i)
    if (missing[static_cast<size_t>(i * 6 + 5)] == 2) missing[static_cast<size_t>(i * 6 + 5)] = 1;
  CHECK(error_of([&] { majority_vote_score(clean, n, 6, missing, sizes, o); }).find("no image has factor 5 at value 2") != std::string::npos);
  CHECK(error_of([&] { majority_vote_score(clean, n, 5, labels, sizes, o); }).find("N x D") != std::string::npos);
}

TEST_CASE("eval_linear's per-factor results: the probe mean against hand values of a fixture file") {
  const ProbeFactors p = read_probe_factors(test::data_path("experiments/shapes3d_eval.json"));
  const std::array<double, 6> top1 = {0.9, 0.8, 0.7, 0.5, 1.0, 0.2};  // the last layer (8), not layer 7
  for (size_t k = 0; k < 6; ++k) CHECK(p.top1[k] == top1[k]);
  CHECK(p.layer == 8);
  CHECK(!(std::abs(p.score - 4.1 / 6) > 1e-12));
  CHECK(p.has_pixels);
  CHECK(!(std::abs(p.pixels_score - 3.8 / 6) > 1e-12));
  CHECK(!(std::abs(p.chance[5] - 1.0 / 15) > 1e-15));
  CHECK(error_of([] { parse_probe_factors("{not json", "x.json"); }).find("x.json: not valid JSON") != std::string::npos);
  CHECK(error_of([] { parse_probe_factors("{\"layers\": []}", "y.json"); }).find("no \"factors\"") != std::string::npos);
  CHECK(error_of([] { parse_probe_factors(R"({"factors": {"floor_hue": {"layers": [{"top1": 1}]}}})", "z.json"); })
            .find("no results for factor wall_hue") != std::string::npos);
  CHECK(error_of([] { read_probe_factors("/nonexistent/eval.json"); }).find("/nonexistent/eval.json") != std::string::npos);
}

TEST_CASE("lpl_shapes3d_figures writes its tables, refuses to overwrite and names bad input") {
  TmpDir d;
  data::write_npy(d / "traj.npy", "i8", {5, 5}, tiny().index.data());
  const std::string base = "--sizes 4,3,3,3,2,3 --no_plot --trajectories " + (d / "traj.npy");
  Cli r = run_program("--out " + (d / "out") + " " + base + " --eval LPL=" + test::data_path("experiments/shapes3d_eval.json"));
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const char* f : {"moving_factors.csv", "step_sizes.csv", "transitions.csv", "example_trajectories.csv",
                        "disentanglement.csv", "probe_factors.csv", "shapes3d_figures.json"})
    CHECK(fs::exists(d / ("out/" + std::string(f))));
  const std::string moving = read_file(d / "out/moving_factors.csv");
  CHECK(moving.find("floor_hue,1,0.2") != std::string::npos);
  CHECK(moving.find("several,1,0.2") != std::string::npos);
  const std::string dis = read_file(d / "out/disentanglement.csv");
  CHECK(dis.find("LPL,probe_mean,0.68333") != std::string::npos);
  CHECK(dis.find("pixels,probe_mean,0.63333") != std::string::npos);
  // A second run into the same directory is refused without --overwrite.
  r = run_program("--out " + (d / "out") + " " + base);
  CHECK(r.status != 0);
  CHECK(r.output.find("--overwrite") != std::string::npos);
  CHECK(run_program("--out " + (d / "out") + " " + base + " --overwrite").status == 0);
  // Index out of range for the given sizes; missing file; bad flags.
  r = run_program("--out " + (d / "o2") + " --no_plot --sizes 2,3,3,3,2,3 --trajectories " + (d / "traj.npy"));
  CHECK(r.status != 0);
  CHECK(r.output.find("outside") != std::string::npos);
  r = run_program("--out " + (d / "o3") + " --trajectories " + (d / "none.npy"));
  CHECK(r.status != 0);
  CHECK(r.output.find("none.npy") != std::string::npos);
  CHECK(run_program("--out " + (d / "o4")).output.find("nothing to do") != std::string::npos);
  CHECK(run_program("--out " + (d / "o5") + " --sizes 1,2 " + base).output.find("--sizes") != std::string::npos);
  CHECK(run_program("--out " + (d / "o6") + " --eval LPL").output.find("LABEL=PATH") != std::string::npos);
  r = run_program("--out " + (d / "o7") + " --features LPL=" + (d / "traj.npy"));
  CHECK(r.status != 0);
  CHECK(r.output.find("--factor_labels") != std::string::npos);
}

TEST_CASE("make_shapes3d_trajectories --sizes writes trajectories of a smaller grid that the statistics accept") {
  TmpDir d;
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  const std::string bin = (exe.parent_path().parent_path() / "bin" / "make_shapes3d_trajectories").string();
  const std::string out = d / "t.npy";
  REQUIRE(std::system((bin + " --out " + out + " --sizes 4,4,4,3,2,4 --sequences 300 --frames 9 > /dev/null").c_str()) == 0);
  const FactorSizes sizes = {4, 4, 4, 3, 2, 4};
  const Shapes3dTrajectories t = load_shapes3d_trajectories(out, sizes);
  CHECK(t.sequences == 300);
  CHECK(t.frames == 9);
  const TrajectoryStats s = trajectory_stats(t, sizes, false);
  CHECK(s.several == 0);
  CHECK(s.moving[4] == 0);
  CHECK(s.moving[0] + s.moving[1] + s.moving[2] + s.moving[3] + s.moving[5] + s.still == 300);
  CHECK(s.order_recovered[0]);
  // The same file is out of range for a grid with fewer orientations.
  CHECK(error_of([&] { load_shapes3d_trajectories(out, {4, 4, 4, 3, 2, 3}); }).find("outside") != std::string::npos);
  CHECK(std::system((bin + " --out " + (d / "u.npy") + " --sizes 4,4,4 > /dev/null 2>&1").c_str()) != 0);
}

TEST_CASE("lpl_shapes3d_figures --features reads a --save_features directory and checks its labels against --sizes") {
  TmpDir d;
  const FactorSizes sizes = {3, 3, 3, 2, 2, 3};
  int64_t n = 1;
  for (int s : sizes) n *= s;
  std::vector<int64_t> labels;
  std::vector<float> clean, noise;
  for (int64_t i = 0; i < n; ++i) {
    const auto v = shapes3d_factor_values(i, sizes);
    labels.insert(labels.end(), v.begin(), v.end());
    for (int x : v) clean.push_back(static_cast<float>(x));
    noise.push_back(static_cast<float>((i * 7919) % 101));
  }
  fs::create_directories(d / "feats");
  data::write_npy(d / "feats/factor_labels.npy", "i8", {n, 6}, labels.data());
  data::write_npy(d / "feats/layer_8.npy", "f4", {n, 6}, clean.data());
  data::write_npy(d / "feats/layer_2.npy", "f4", {n, 1}, noise.data());
  const std::string common = " --no_plot --vote_batch 32 --votes_per_value 2 --vote_reps 2 --features LPL=" + (d / "feats");
  Cli r = run_program("--out " + (d / "a") + " --sizes 3,3,3,2,2,3" + common);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("layer_8.npy") != std::string::npos);  // the highest layer
  CHECK(read_file(d / "a/disentanglement.csv").find("LPL,majority_vote,1,0,") != std::string::npos);
  // --layer 2: one feature gets every vote, right for floor hue's 3 of the 16 values.
  r = run_program("--out " + (d / "b") + " --sizes 3,3,3,2,2,3 --layer 2" + common);
  REQUIRE(r.status == 0);
  CHECK(read_file(d / "b/disentanglement.csv").find("LPL,majority_vote,0.1875,0,") != std::string::npos);
  r = run_program("--out " + (d / "c") + common);  // default sizes: the real file's
  CHECK(r.status != 0);
  CHECK(r.output.find("floor_hue labels go up to 2") != std::string::npos);
}
