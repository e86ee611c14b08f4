// The single neuron of Fig. S2 (experiments/toy_digits.h): its learning steps and the notebook's
// sensitivity measures against torch on the notebook's formulas (golden file from
// tools/make_toy_digits_golden.py), the IDX loading with its error paths, and the figure's behaviour
// on Fashion-MNIST (LPL is selective to what persists in the sequence).
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/file_util.h"
#include "experiments/toy_digits.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::exp;

namespace {

double rel_err(double a, double b) { return std::abs(a - b) / std::max(1e-12, std::abs(b)); }

// The golden script's closed-form inputs.
double image_pixel(int k, int p) { return ((p * 7 + k * 13) % 17) / 16.0 * (0.5 + 0.5 * std::sin(0.05 * p + k)); }
double weight(int i) { return std::sin(0.37 * i + 0.1) + 0.3 * std::cos(0.011 * i); }

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("lpl_toy_digits_" + std::to_string(::getpid()) + "_" +
                                                     std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

void put_be32(std::string& s, uint32_t v) {
  for (int k = 3; k >= 0; --k) s += static_cast<char>((v >> (8 * k)) & 0xff);
}
// Uncompressed IDX files: image i has every pixel = 10 i + 1; labels as given.
void write_idx(const std::filesystem::path& dir, const std::vector<int>& labels, int side = 28) {
  std::string img, lab;
  put_be32(img, 0x803);
  put_be32(img, static_cast<uint32_t>(labels.size()));
  put_be32(img, static_cast<uint32_t>(side));
  put_be32(img, static_cast<uint32_t>(side));
  for (size_t i = 0; i < labels.size(); ++i) img += std::string(static_cast<size_t>(side * side), static_cast<char>(10 * i + 1));
  put_be32(lab, 0x801);
  put_be32(lab, static_cast<uint32_t>(labels.size()));
  for (int l : labels) lab += static_cast<char>(l);
  std::ofstream(dir / "train-images-idx3-ubyte", std::ios::binary) << img;
  std::ofstream(dir / "train-labels-idx1-ubyte", std::ios::binary) << lab;
}

}  // namespace

TEST_CASE("toy digits: learning steps match torch on the notebook's trainer") {
  const auto g = nlohmann::json::parse(read_file(test::data_path("experiments/toy_digits_golden.json")));
  const int64_t B = g["B"], D = g["D"];
  const double lr = g["lr"], wd = g["weight_decay"];
  std::vector<std::vector<float>> xs;
  for (const auto& x : g["xs"]) {
    std::vector<float> v;
    for (const auto& row : x)
      for (const auto& e : row) v.push_back(static_cast<float>(e.get<double>()));
    xs.push_back(v);
  }
  for (const auto& [name, ref] : g["rules"].items()) {
    CAPTURE(name);
    const DigitsRule rule = digits_rule_from_name(name);
    std::vector<double> w = g["w0"].get<std::vector<double>>();
    std::vector<double> y_past(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
      double s = 0;
      for (int64_t i = 0; i < D; ++i) s += w[i] * xs[0][b * D + i];
      y_past[b] = s;
    }
    for (size_t t = 1; t < xs.size(); ++t) {
      DigitsStepOut o = digits_step(w, xs[t], B, y_past, rule, lr, wd);
      for (int64_t b = 0; b < B; ++b)
        CHECK_MESSAGE(rel_err(o.y[b], ref["y"][t - 1][b]) <= 1e-10, "step " << t << " y[" << b << "]");
      for (int64_t i = 0; i < D; ++i)
        CHECK_MESSAGE(rel_err(w[i], ref["w"][t - 1][i]) <= 1e-10,
                      "step " << t << " w[" << i << "] " << w[i] << " vs " << ref["w"][t - 1][i]);
      y_past = std::move(o.y);
    }
  }
}

TEST_CASE("toy digits: canvas layout and sensitivities match the notebook's get_sample and measures") {
  const auto g = nlohmann::json::parse(read_file(test::data_path("experiments/toy_digits_golden.json")));
  std::vector<float> images;
  for (int k = 0; k < 4; ++k)
    for (int p = 0; p < 784; ++p) images.push_back(static_cast<float>(image_pixel(k, p)));
  const DigitsData d = digits_from_images(images, {0, 0, 1, 1}, 5, 6);
  std::vector<double> w(static_cast<size_t>(kCanvasPixels));
  for (int64_t i = 0; i < kCanvasPixels; ++i) w[i] = weight(static_cast<int>(i));
  const DigitsMeasures m = digits_measures(d, w);
  CHECK_MESSAGE(rel_err(m.location, g["measures"]["location"]) <= 1e-9, m.location);
  CHECK_MESSAGE(rel_err(m.digit, g["measures"]["digit"]) <= 1e-9, m.digit);
  std::vector<float> canvas(static_cast<size_t>(kCanvasPixels));
  digits_canvas(d, 1, 1, canvas.data());
  double sum = 0, outside = 0;
  for (int r = 0; r < kCanvasSide; ++r)
    for (int c = 0; c < kCanvasSide; ++c) {
      const float v = canvas[r * kCanvasSide + c];
      sum += v;
      if (r < 28 || c < 28) outside += std::abs(v);
      else if (v != static_cast<float>(image_pixel(1, (r - 28) * 28 + (c - 28)))) FAIL_CHECK("pixel " << r << "," << c);
    }
  CHECK(outside == 0);
  CHECK(rel_err(sum, g["measures"]["canvas_sum_image1_loc1"]) <= 1e-6);
  // hand value: identical output sets have zero sensitivity; disjoint ones their gap over the range
  CHECK(digits_sensitivity({1, 2, 3}, {1, 2, 3}) == 0);
  CHECK(std::abs(digits_sensitivity({0, 1}, {3, 4}) - 3.0 / 4.0) <= 1e-15);
}

TEST_CASE("toy digits: IDX files load two classes in file order, gzip or not") {
  TempDir t;
  write_idx(t.path, {5, 6, 5, 1, 6, 5});
  const DigitsData d = load_digits_two_classes(t.path.string(), 5, 6, 2);
  REQUIRE(d.n() == 4);
  CHECK(d.labels == std::vector<int>{0, 0, 1, 1});
  // images 0, 2 (class 5) then 1, 4 (class 6): pixel values (10 i + 1) / 255
  const int want[] = {0, 2, 1, 4};
  for (int k = 0; k < 4; ++k) CHECK(d.images[k * 784 + 100] == static_cast<float>(10 * want[k] + 1) / 255.0f);
  CHECK_THROWS_WITH(load_digits_two_classes(t.path.string(), 5, 6, 3), doctest::Contains("has only 2 images of class 6"));
}

TEST_CASE("toy digits: bad data directories and class indices are refused with a clear message") {
  TempDir t;
  const std::string dir = t.path.string();
  CHECK_THROWS_WITH(load_digits_two_classes(dir + "/nope", 5, 6, 10), doctest::Contains("does not exist"));
  CHECK_THROWS_WITH(load_digits_two_classes(dir, 5, 6, 10), doctest::Contains("missing file"));
  CHECK_THROWS_WITH(load_digits_two_classes(dir, 10, 6, 10), doctest::Contains("must lie in 0..9"));
  CHECK_THROWS_WITH(load_digits_two_classes(dir, -1, 6, 10), doctest::Contains("must lie in 0..9"));
  CHECK_THROWS_WITH(load_digits_two_classes(dir, 3, 3, 10), doctest::Contains("must differ"));
  write_idx(t.path, {5, 6}, 10);
  CHECK_THROWS_WITH(load_digits_two_classes(dir, 5, 6, 1), doctest::Contains("expected 28 x 28"));
  CHECK_THROWS_WITH(digits_rule_from_name("hebb"), doctest::Contains("unknown rule 'hebb'"));
  CHECK_THROWS_WITH(digits_seq_from_name("colour"), doctest::Contains("unknown sequence 'colour'"));
  // a batch larger than a class
  write_idx(t.path, {5, 6, 5, 6});
  const DigitsData d = load_digits_two_classes(dir, 5, 6, 2);
  DigitsRun r;
  r.batch = 3;
  CHECK_THROWS_WITH(digits_train(d, r), doctest::Contains("at least --batch images"));
}

LPL_FASHION_MNIST_TEST_CASE("toy digits: LPL becomes selective to what persists; Hebbian-only learning does not") {
  const DigitsData d = load_digits_two_classes("/usr/share/datasets/fashion-mnist", 5, 6, 300);
  auto train = [&](DigitsRule rule, DigitsSeq seq) {
    DigitsRun r;
    r.rule = rule;
    r.seq = seq;
    r.steps = 150;
    r.batch = 100;
    r.eval_every = 150;
    r.seed = 2;
    return digits_train(d, r).measures.back();
  };
  const DigitsMeasures lpl_dig = train(DigitsRule::kLpl, DigitsSeq::kDigit);
  const DigitsMeasures lpl_loc = train(DigitsRule::kLpl, DigitsSeq::kLocation);
  const DigitsMeasures heb_dig = train(DigitsRule::kPredOff, DigitsSeq::kDigit);
  CHECK_MESSAGE(lpl_dig.digit >= 0.3, lpl_dig.digit);
  CHECK_MESSAGE(lpl_dig.location <= 0.1, lpl_dig.location);
  CHECK_MESSAGE(lpl_loc.location >= 0.3, lpl_loc.location);
  CHECK_MESSAGE(lpl_loc.digit <= 0.1, lpl_loc.digit);
  CHECK_MESSAGE(heb_dig.location >= 0.25, heb_dig.location);
  CHECK_MESSAGE(heb_dig.digit <= 0.5 * heb_dig.location, heb_dig.digit);
}
