// The swap-exposure experiment (experiments/swap_exposure.h): the canvas, the 13 x 1 pooling and the
// exposure objective against a float64 PyTorch re-derivation of the notebook's formulas
// (tools/make_swap_exposure_golden.py), the pairing of swap / non-swap / control by construction,
// the selectivity measure by hand, the effect of exposure on a small synthetic readout problem, and
// the program's refusals.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/common.h"
#include "engine/file_util.h"
#include "engine/ops.h"
#include "engine/safetensors.h"
#include "experiments/swap_exposure.h"
#include "cli_util.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::exp;

namespace {

nlohmann::json golden() {
  static const nlohmann::json j = nlohmann::json::parse(read_file(test::data_path("experiments/swap_exposure_golden.json")));
  return j;
}

std::vector<double> dvec(const nlohmann::json& j) { return j.get<std::vector<double>>(); }

std::vector<float> tensor_values(const Tensor& t) {
  const Tensor h = t.to(cpu());
  return std::vector<float>(h.f(), h.f() + h.numel());
}

// Relative agreement of float64 values: |a - b| <= tol (1 + |b|); NaN fails.
void check_rel(const std::vector<double>& a, const std::vector<double>& b, double tol, const char* what) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  bool nan = false;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = std::abs(a[i] - b[i]) / (1.0 + std::abs(b[i]));
    nan = nan || std::isnan(e);
    worst = std::max(worst, e);
  }
  INFO(what << ": worst relative error " << worst << (nan ? " (and a NaN)" : ""));
  CHECK(!nan);
  CHECK(worst <= tol);
}

}  // namespace

TEST_CASE("swap exposure: the canvas is the notebook's rolled zero-padded column") {
  const auto j = golden();
  const auto shape = j["canvas_shape"].get<std::vector<int64_t>>();
  const std::vector<double> img = dvec(j["canvas_images"]);
  const Tensor x = Tensor::from_vector(std::vector<float>(img.begin(), img.end()), {shape[0], shape[1], shape[2], shape[3]});
  for (int s : {0, 6, 12}) {
    const Tensor c = place_on_canvas(x, s);
    CHECK(c.dim(2) == 13 * shape[2]);
    CHECK(c.dim(3) == shape[3]);
    test::check_close(tensor_values(c), dvec(j["canvas_slot_" + std::to_string(s)]), 0, 1e-6, "canvas");
  }
  // By hand: image 1, channel 0, row 2 sits at canvas row 6 * 3 + 2 of slot 6; row 0 above it is empty.
  const Tensor c = place_on_canvas(x, std::vector<int>{12, 6});
  const int64_t H = 13 * shape[2], W = shape[3];
  const float* img1 = x.f() + 1 * shape[1] * shape[2] * W;
  CHECK(c.f()[(1 * shape[1] + 0) * H * W + (6 * 3 + 2) * W + 1] == img1[2 * W + 1]);
  CHECK(c.f()[(1 * shape[1] + 0) * H * W + 0] == 0.0f);
  CHECK(c.f()[(0 * shape[1] + 1) * H * W + (12 * 3) * W] == x.f()[(0 * shape[1] + 1) * shape[2] * W]);
  CHECK_THROWS_WITH_AS(place_on_canvas(x, 13), doctest::Contains("outside the canvas"), Error);
  CHECK_THROWS_WITH_AS(place_on_canvas(x, std::vector<int>{0}), doctest::Contains("1 slots given for 2 images"), Error);
}

TEST_CASE("swap exposure: 13 x 1 pooling is PyTorch's AdaptiveAvgPool2d, flattened channel-major") {
  const auto j = golden();
  const auto shape = j["pool_shape"].get<std::vector<int64_t>>();
  const std::vector<double> in = dvec(j["pool_input"]);
  const Tensor x = Tensor::from_vector(std::vector<float>(in.begin(), in.end()), {shape[0], shape[1], shape[2], shape[3]});
  const Tensor y = adaptive_avgpool_forward(x, kCanvasSlots, 1);
  test::check_close(tensor_values(y), dvec(j["pool_output"]), 1e-6, 1e-6, "pool");
}

TEST_CASE("swap exposure: the exposure objective and its gradient match the float64 re-derivation") {
  const auto j = golden();
  const int64_t P = j["exposure_pairs"].get<int64_t>(), M = j["exposure_units"].get<int64_t>();
  const std::vector<double> z = dvec(j["exposure_z"]);
  std::vector<double> dz;
  const SwapLossTerms t = swap_objective(z, 12 * P, M, 12 * P, exposure_pull_pairs(P), LplCoeffs{}, &dz);
  check_rel({t.pull, t.push, t.decorr}, dvec(j["exposure_terms"]), 1e-12, "exposure terms");
  check_rel(dz, dvec(j["exposure_dz"]), 1e-12, "exposure dz");
  // Without dz the terms are the same.
  const SwapLossTerms t2 = swap_objective(z, 12 * P, M, 12 * P, exposure_pull_pairs(P), LplCoeffs{}, nullptr);
  CHECK(t2.pull == t.pull);
  CHECK(t2.decorr == t.decorr);
}

TEST_CASE("swap exposure: the readout's pair objective (both views trained) matches the re-derivation") {
  const auto j = golden();
  const int64_t B = j["pair_b"].get<int64_t>(), M = j["exposure_units"].get<int64_t>();
  std::vector<double> dz;
  const SwapLossTerms t = swap_objective(dvec(j["pair_z"]), 2 * B, M, 2 * B, {PullPair{0, B, B, true}}, LplCoeffs{}, &dz);
  check_rel({t.pull, t.push, t.decorr}, dvec(j["pair_terms"]), 1e-12, "pair terms");
  check_rel(dz, dvec(j["pair_dz"]), 1e-12, "pair dz");
  CHECK_THROWS_WITH_AS(swap_objective(dvec(j["pair_z"]), 2 * B, M, 2 * B, {PullPair{0, B + 1, B, true}}, LplCoeffs{}, &dz),
                       doctest::Contains("outside z"), Error);
}

TEST_CASE("swap exposure: an SGD step of the readout moves its weights down the objective's gradient") {
  // d(total)/dW by central differences through readout_forward, against the SGD step's (w0 - w1) / lr.
  const int64_t B = 4, K = 6, M = 4;
  const Tensor x = test::random_tensor({2 * B, K}, 9);
  const std::vector<PullPair> pull = {PullPair{0, B, B, true}};
  const LplCoeffs c;
  const auto total = [&](const Readout& r) {
    return swap_objective(readout_forward(r, x), 2 * B, M, 2 * B, pull, c, nullptr).total(c);
  };
  Readout r = make_readout(K, M, 3, cpu());
  const std::vector<float> w0 = tensor_values(r.w), b0 = tensor_values(r.b);
  std::vector<double> num;
  const float h = 1e-2f;
  for (Tensor* p : {&r.w, &r.b})
    for (int64_t i = 0; i < p->numel(); ++i) {
      const float keep = p->f()[i];
      p->f()[i] = keep + h;
      const double up = total(r);
      p->f()[i] = keep - h;
      const double down = total(r);
      p->f()[i] = keep;
      num.push_back((up - down) / (2.0 * h));
    }
  std::vector<double> dz;
  swap_objective(readout_forward(r, x), 2 * B, M, 2 * B, pull, c, &dz);
  const double lr = 1e-3;
  readout_update(r, x, dz, false, lr, 0.0);
  const std::vector<float> w1 = tensor_values(r.w), b1 = tensor_values(r.b);
  std::vector<float> step;
  for (size_t i = 0; i < w0.size(); ++i) step.push_back((w0[i] - w1[i]) / static_cast<float>(lr));
  for (size_t i = 0; i < b0.size(); ++i) step.push_back((b0[i] - b1[i]) / static_cast<float>(lr));
  test::check_close(step, num, 2e-2, 2e-3, "SGD step vs numerical gradient");
}

TEST_CASE("swap exposure: swap, non-swap and control pairs by construction") {
  const std::vector<ExposureRow> rows = exposure_rows();
  REQUIRE(rows.size() == 12);
  const int64_t P = 3;
  // No control image is ever trained on.
  for (const auto& r : rows) CHECK((r.group != PC && r.group != NC));
  // The first four blocks are the centre views of P1, N1, P2, N2.
  for (int b = 0; b < 4; ++b) {
    CHECK(rows[b].slot == 1);
    CHECK(rows[b].group == b);
  }
  // Each pull pair: a detached centre view, paired with the same object where the set is not swapped
  // and with the other object of its pair where it is (set 1 at the top, set 2 at the bottom).
  const std::vector<PullPair> pairs = exposure_pull_pairs(P);
  REQUIRE(pairs.size() == 8);
  std::set<std::pair<int, int>> seen;
  for (const PullPair& p : pairs) {
    CHECK(p.n == P);
    CHECK(!p.grad_a);
    REQUIRE(p.a % P == 0);
    REQUIRE(p.b % P == 0);
    const ExposureRow ta = rows[static_cast<size_t>(p.a / P)], tb = rows[static_cast<size_t>(p.b / P)];
    CHECK(ta.slot == 1);
    CHECK(tb.slot != 1);
    const int set = ta.group / 2;
    CHECK(tb.group / 2 == set);
    const int swap_slot = set == 0 ? 0 : 2;
    if (tb.slot == swap_slot) CHECK(tb.group != ta.group);  // the swap: P <-> N
    else CHECK(tb.group == ta.group);                      // the normal pair
    seen.insert({static_cast<int>(p.a / P), static_cast<int>(p.b / P)});
  }
  CHECK(seen.size() == 8);
}

TEST_CASE("swap exposure: selectivity P - N with each unit's preference fixed at the centre, by hand") {
  // 1 pair, 2 units; z_slot[s] rows in group order P1 N1 P2 N2 PC NC.
  std::vector<double> z[3];
  z[1] = {1, 0, 0, 1,   // P1 - N1 = (1, -1): unit 0 prefers P1, unit 1 N1 (its sign flips)
          2, 2, 1, 3,   // P2 - N2 = (1, -1): the same
          0, 5, 4, 1};  // PC - NC = (-4, 4): unit 0 flips, unit 1 does not
  z[0] = {3, 1, 1, 2, 0, 0, 1, 1, 1, 1, 0, 2};
  z[2] = {0, 0, 2, 5, 4, 0, 1, 4, 2, 2, 3, 1};
  const std::vector<double> s = preference_signs(z[1], 1, 2);
  CHECK(s == std::vector<double>{1, -1, 1, -1, -1, 1});
  ExposureStep st;
  measure_selectivity(z, s, 1, 2, st);
  // Swap: set 1 at the top (P1 - N1 = (2, -1), signed (2, 1)), set 2 at the bottom ((3, -4) -> (3, 4)).
  CHECK(st.cond[kSwap].delta == std::vector<double>{2, 1, 3, 4});
  // Non-swap: set 1 at the bottom ((-2, -5) -> (-2, 5)), set 2 at the top ((-1, -1) -> (-1, 1)).
  CHECK(st.cond[kNonSwap].delta == std::vector<double>{-2, 5, -1, 1});
  // Control at top, centre, bottom: (1, -1), (-4, 4), (-1, 1), each signed (-1, 1).
  CHECK(st.cond[kControl].delta == std::vector<double>{-1, -1, 4, 4, 1, 1});
  CHECK(st.cond[kSwap].mean() == doctest::Approx(2.5));
  // Responses at the swap position to the preferred / other object: set 1 top P1 (3, 1), N1 (1, 2) with
  // unit 1 flipped -> preferred (3, 2), other (1, 1); set 2 bottom P2 (4, 0), N2 (1, 4) -> (4, 4), (1, 0).
  CHECK(st.swap_p == doctest::Approx((3 + 2 + 4 + 4) / 4.0));
  CHECK(st.swap_n == doctest::Approx((1 + 1 + 1 + 0) / 4.0));
  CHECK(st.swap_p - st.swap_n == doctest::Approx(st.cond[kSwap].mean()));
  // std (n - 1) of {2, 1, 3, 4} = sqrt(5 / 3), over sqrt(4).
  CHECK(st.cond[kSwap].sem() == doctest::Approx(std::sqrt(5.0 / 3.0) / 2.0));
  CHECK(st.cond[kControl].unit_means()[0] == doctest::Approx(4.0 / 3.0));
  CHECK(st.cond[kControl].unit_means()[1] == doctest::Approx(4.0 / 3.0));
}

TEST_CASE("swap exposure: on a synthetic readout problem exposure erodes selectivity at the swap position only") {
  // 6 groups of 8 objects, 24 features; an object's features at a slot: its own vector, a little
  // slot-specific mixing and a slot offset. A random readout of 8 units, then the exposure.
  const int64_t pairs = 8, K = 24, M = 8, n = kGroups * pairs;
  std::mt19937 g(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> obj(static_cast<size_t>(n * K));
  for (auto& v : obj) v = nd(g);
  ExposureInput in;
  in.pairs = pairs;
  for (int s = 0; s < 3; ++s) {
    std::vector<float> mix(static_cast<size_t>(K * K)), off(static_cast<size_t>(K)), f(static_cast<size_t>(n * K));
    for (auto& v : mix) v = 0.15f * nd(g);
    for (auto& v : off) v = 0.5f * nd(g);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t a = 0; a < K; ++a) {
        double acc = obj[static_cast<size_t>(i * K + a)] + off[static_cast<size_t>(a)];
        for (int64_t b = 0; b < K; ++b) acc += mix[static_cast<size_t>(a * K + b)] * obj[static_cast<size_t>(i * K + b)];
        f[static_cast<size_t>(i * K + a)] = static_cast<float>(acc);
      }
    in.slot_features[s] = Tensor::from_vector(f, {n, K});
  }
  Readout r = make_readout(K, M, 11, cpu());
  ExposureOptions o;
  o.steps = 300;
  o.lr = 2e-2;
  const std::vector<ExposureStep> res = run_exposure(r, in, o);
  REQUIRE(res.size() == 301);
  const auto change = [&](int c) { return res.back().cond[c].mean() - res.front().cond[c].mean(); };
  const double s0 = res.front().cond[kSwap].mean();
  INFO("initial swap " << s0 << ", changes: swap " << change(kSwap) << " non-swap " << change(kNonSwap) << " control "
                       << change(kControl));
  CHECK(s0 > 0);
  CHECK(change(kSwap) < -0.3 * s0);                                // the swap position loses selectivity
  CHECK(change(kSwap) < 2.0 * change(kNonSwap));                   // more than the non-swap position
  CHECK(std::abs(change(kControl)) < 0.5 * std::abs(change(kSwap)));  // and the control barely moves
  for (const auto& st : res) CHECK(std::isfinite(st.loss.total(o.coeffs)));
  // A learning rate far too large diverges, and says so instead of writing NaN selectivities.
  Readout r2 = make_readout(K, M, 11, cpu());
  o.lr = 1e4;
  CHECK_THROWS_WITH_AS(run_exposure(r2, in, o), doctest::Contains("the exposure diverged at step"), Error);
}

TEST_CASE("swap exposure: canvas features of a VGG encoder, and images too small for it") {
  EncoderOptions eo;
  auto net = make_encoder(eo, 24, cpu());
  const Tensor imgs = test::random_tensor({2, 3, 32, 32}, 4);
  const Tensor f = canvas_features(*net, place_on_canvas(imgs, std::vector<int>{kTopSlot, kBottomSlot}), 1);
  CHECK(f.dim(0) == 2);
  CHECK(f.dim(1) == 13 * 512);
  const std::vector<float> v = tensor_values(f);
  bool finite = true;
  for (float x : v) finite = finite && std::isfinite(x);
  CHECK(finite);
  const Tensor small = test::random_tensor({1, 3, 16, 16}, 5);
  CHECK_THROWS_WITH_AS(canvas_features(*net, place_on_canvas(small, 0), 4), doctest::Contains("at least 32 x 32"), Error);
  const Tensor gray = test::random_tensor({1, 1, 32, 32}, 6);
  CHECK_THROWS_WITH_AS(canvas_features(*net, place_on_canvas(gray, 0), 4), doctest::Contains("1 channels"), Error);
}

namespace {

using Cli = test::CmdResult;

Cli run_app(const std::string& args) { return test::run_program("lpl_swap_exposure", args); }

}  // namespace

TEST_CASE("lpl_swap_exposure: refuses a missing checkpoint, missing flags and existing results") {
  const auto tmp = std::filesystem::temp_directory_path() / ("lpl_test_swap_" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp);
  {
    const Cli r = run_app("--run_dir " + (tmp / "no_such_run").string() + " --out " + (tmp / "out").string());
    CHECK(r.status != 0);
    CHECK(r.output.find("no checkpoint at") != std::string::npos);
  }
  {
    const Cli r = run_app("--out " + (tmp / "out").string());
    CHECK(r.status != 0);
    CHECK(r.output.find("exactly one of --run_dir and --weights") != std::string::npos);
  }
  {
    const Cli r = run_app("--weights x.safetensors --out " + (tmp / "out").string() + " --pairs 0");
    CHECK(r.status != 0);
    CHECK(r.output.find("--pairs must be") != std::string::npos);
  }
  {
    const Cli r = run_app("--weights x.safetensors --out o --frobnicate");
    CHECK(r.status != 0);
    CHECK(r.output.find("unknown argument --frobnicate") != std::string::npos);
  }
  {
    // A file that is not a checkpoint.
    atomic_write_file((tmp / "bad.safetensors").string(), "not a safetensors file");
    const Cli r = run_app("--weights " + (tmp / "bad.safetensors").string() + " --out " + (tmp / "out").string());
    CHECK(r.status != 0);
    CHECK(r.output.find("error:") != std::string::npos);
  }
  {
    std::filesystem::create_directories(tmp / "old");
    atomic_write_file((tmp / "old" / "swap_exposure.json").string(), "{}");
    atomic_write_file((tmp / "ck.safetensors").string(), "x");
    const Cli r = run_app("--weights " + (tmp / "ck.safetensors").string() + " --out " + (tmp / "old").string());
    CHECK(r.status != 0);
    CHECK(r.output.find("exists (pass --overwrite") != std::string::npos);
  }
  std::filesystem::remove_all(tmp);
}

LPL_FASHION_MNIST_TEST_CASE("lpl_swap_exposure: a tiny run on Fashion-MNIST writes consistent CSV and JSON") {
  const auto tmp = std::filesystem::temp_directory_path() / ("lpl_test_swap_run_" + std::to_string(::getpid()));
  std::filesystem::create_directories(tmp / "run" / "checkpoints");
  EncoderOptions eo;
  eo.bias = false;  // as the paper's network: the empty canvas stays dark
  auto net = make_encoder(eo, 24, cpu());
  save_safetensors((tmp / "run" / "checkpoints" / "last.safetensors").string(), net->named_weights());
  const std::string out = (tmp / "out").string();
  const std::string args = "--run_dir " + (tmp / "run").string() + " --dataset fashion-mnist --out " + out +
                           " --pairs 1 --first_image 0 --readout_pool 4 --readout_steps 2 --readout_batch 2"
                           " --exposure_steps 3 --record_every 2 --threads 2 --no_plot";
  const Cli r = run_app(args);
  INFO(r.output);
  REQUIRE(r.status == 0);
  const auto j = nlohmann::json::parse(read_file(out + "/swap_exposure.json"));
  CHECK(j["units"].get<int>() == 512);
  CHECK(j["exposure"]["steps"].get<int>() == 3);
  // The CSV: 4 measurements x 3 conditions; the JSON's before / after are its first and last rows.
  const std::string csv = read_file(out + "/swap_exposure_mean.csv");
  std::vector<std::string> lines;
  for (size_t p = 0, q; (q = csv.find('\n', p)) != std::string::npos; p = q + 1) lines.push_back(csv.substr(p, q - p));
  REQUIRE(lines.size() == 1 + 4 * 3);
  CHECK(lines[0] == "step,condition,mean_delta,sem,n");
  const auto field = [](const std::string& line, int k) {
    size_t p = 0;
    for (int i = 0; i < k; ++i) p = line.find(',', p) + 1;
    return line.substr(p, line.find(',', p) - p);
  };
  CHECK(field(lines[1], 1) == "swap");
  CHECK(field(lines[1], 4) == "1024");  // 2 pairs (one per set) x 512 units
  CHECK(field(lines[3], 4) == "1536");  // the control pair at 3 slots x 512 units
  CHECK(std::stod(field(lines[1], 2)) == doctest::Approx(j["selectivity"]["swap"]["before"].get<double>()));
  CHECK(std::stod(field(lines[10], 2)) == doctest::Approx(j["selectivity"]["swap"]["after"].get<double>()));
  // Selectivity is signed to prefer P at the centre before exposure.
  CHECK(std::stod(field(lines[3], 2)) >= 0);
  // Per-unit rows at steps 0, 2 and the last (3): 3 x 3 conditions x 512 units.
  const std::string units = read_file(out + "/swap_exposure_units.csv");
  CHECK(std::count(units.begin(), units.end(), '\n') == 1 + 3 * 3 * 512);
  // Results are not overwritten without --overwrite; with it the run repeats exactly.
  CHECK(run_app(args).status != 0);
  REQUIRE(run_app(args + " --overwrite").status == 0);
  CHECK(read_file(out + "/swap_exposure_mean.csv") == csv);
  std::filesystem::remove_all(tmp);
}
