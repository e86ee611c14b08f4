// Fig. S2 (notebook "S2 - Toy digits"): one linear neuron y = w . x on 56 x 56 inputs that show a
// 28 x 28 image of one of two classes in the top-left or the bottom-right quadrant. Two kinds of
// sequences: in the digit sequence each batch slot keeps its class while the exemplar and the
// location are redrawn every step; in the location sequence it keeps its location while the exemplar
// (of either class) is redrawn. LPL becomes selective to whatever persists (class or location);
// Hebbian-only learning ("Pred. off") and Oja's rule do not depend on the sequence.
//
// The objective is the notebook's (as in toy2d.h): MSE(y, stopgrad(y_past)) + -log(var(y) + 1e-8),
// with y_past the outputs of the previous step (computed before that step's update), SGD with
// weight decay; Oja's rule on inputs centred by the data mean. Written here in float64 on dense
// inputs; the engine's lpl_objective (symmetric pull, Hebbian on both views) is a different objective.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lpl::exp {

constexpr int kDigitSide = 28;                // one image
constexpr int kCanvasSide = 2 * kDigitSide;   // the input: 56 x 56
constexpr int64_t kCanvasPixels = int64_t{kCanvasSide} * kCanvasSide;

// Two classes of a 28 x 28 IDX training set: the first per_class images of class_a (label 0), then
// the first per_class of class_b (label 1), in file order; pixels / 255.
struct DigitsData {
  int class_a = 5, class_b = 6;
  int64_t per_class = 0;
  std::vector<float> images;  // [2 per_class, 28 * 28]
  std::vector<int> labels;    // 0 or 1
  int64_t n() const { return static_cast<int64_t>(labels.size()); }
};
// dir holds train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz) (MNIST, Fashion-MNIST).
// Fails naming the problem: a missing directory or file, class indices outside 0..9 or equal, too
// few images of a class, images that are not 28 x 28.
DigitsData load_digits_two_classes(const std::string& dir, int class_a, int class_b, int64_t per_class);
// Builds the set from images in memory (tests): [n, 28 * 28] in [0, 1], labels 0 / 1.
DigitsData digits_from_images(std::vector<float> images, std::vector<int> labels, int class_a, int class_b);

// The notebook's get_sample: image i at location 0 (top-left) or 1 (bottom-right) of a zero canvas.
void digits_canvas(const DigitsData& d, int64_t image, int location, float* out /* kCanvasPixels */);

enum class DigitsRule { kLpl, kPredOff, kHebbOff, kOja };
enum class DigitsSeq { kDigit, kLocation };
std::string digits_rule_name(DigitsRule r);  // "lpl", "pred_off", "hebb_off", "oja"
DigitsRule digits_rule_from_name(const std::string& s);
std::string digits_seq_name(DigitsSeq s);    // "digit", "location"
DigitsSeq digits_seq_from_name(const std::string& s);

// One learning step on inputs X [B, D] (row-major). y_past: the previous step's outputs (B), held
// constant. Returns this step's outputs y = X w computed before the update, the next y_past.
// Loss rules: w -= lr (dL/dw + wd w). Oja: y = X w, w += lr mean_b(y_b (x_b - y_b w)) (the notebook
// passes centred inputs and no weight decay for Oja; wd is ignored there).
struct DigitsStepOut {
  std::vector<double> y;
  double pred = 0, hebb = 0;
  double grad_norm = 0;
};
DigitsStepOut digits_step(std::vector<double>& w, const std::vector<float>& X, int64_t B,
                          const std::vector<double>& y_past, DigitsRule rule, double lr, double wd);

// The notebook's sensitivity of two output sets: |mean(a) - mean(b)| / (max(a, b) - min(a, b)).
double digits_sensitivity(const std::vector<double>& a, const std::vector<double>& b);
// location sensitivity: every image at location 0 vs at location 1; digit sensitivity: class-0
// images at both locations vs class-1 images at both (the notebook measures on the training images).
struct DigitsMeasures {
  double location = 0, digit = 0;
};
DigitsMeasures digits_measures(const DigitsData& d, const std::vector<double>& w);

struct DigitsRun {
  DigitsRule rule = DigitsRule::kLpl;
  DigitsSeq seq = DigitsSeq::kDigit;
  int64_t steps = 1000, batch = 200;
  double lr = 1e-2, weight_decay = 0.15;
  int64_t eval_every = 50;  // measures at step 0, every eval_every steps and at the end
  uint64_t seed = 1, stream = 0;
};
struct DigitsResult {
  std::vector<double> w;                  // final weights [kCanvasPixels]
  std::vector<double> activity;           // |mean y| per step (the notebook's activity_norms)
  std::vector<int64_t> eval_step;
  std::vector<DigitsMeasures> measures;   // at eval_step
};
// The notebook's trainer: nn.Linear(3136, 1, bias=False) init, an initial batch of random images at
// random locations whose locations (0 / 1) become each slot's persistent key (its class in the digit
// sequence, as the notebook passes them, or its location), then `steps` updates.
DigitsResult digits_train(const DigitsData& d, const DigitsRun& run);

}  // namespace lpl::exp
