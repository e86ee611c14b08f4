// The Li & DiCarlo (2008) swap-exposure experiment on a trained network (paper Fig. 4; the original's
// notebook "4 - Comparison to experimental data"). Images sit in one of 13 slots of a tall canvas
// (13 image heights x 1 width). A readout, Linear(13 C -> C) on the encoder's last feature map
// average-pooled to 13 x 1 bins, is first trained with LPL on augmented views placed at random slots
// (top 0, centre 6, bottom 12), which makes it position tolerant. Then the exposure: for pairs of
// objects (P, N), the temporal pairs across a "saccade" link P at the centre with P at the non-swap
// position but with N at the swap position (and N at the centre with P at the swap position); a few
// hundred SGD steps of the LPL objective on those pairs train the readout. Object selectivity is
// P - N per unit and pair, signed so that each unit prefers P at the centre before exposure; the
// experiment follows its mean at the swap, non-swap and control (never exposed objects) positions.
// As in the notebook the encoder itself is frozen (it trains there at lr 1e-7 with Adam: no effect).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/lpl_ops.h"
#include "engine/tensor.h"
#include "models/encoder.h"

namespace lpl::exp {

constexpr int kCanvasSlots = 13;
constexpr int kTopSlot = 0, kCentreSlot = 6, kBottomSlot = 12;

// images [N, C, H, W] (float, on any device) -> [N, C, slots H, W] on the same device: image i in
// rows slot[i] H .. slot[i] H + H - 1, zeros elsewhere (the notebook's roll of a zero-padded canvas).
Tensor place_on_canvas(const Tensor& images, const std::vector<int>& slot, int slots = kCanvasSlots);
Tensor place_on_canvas(const Tensor& images, int slot, int slots = kCanvasSlots);

// The readout's input: the encoder's last block output of each canvas, adaptively average-pooled to
// 13 x 1 and flattened channel-major ([N, 13 C], index c * 13 + bin, PyTorch's view order). Batches
// of `batch` canvases; evaluation mode. Refuses images too small for the encoder (VGG: 32 px).
Tensor canvas_features(Encoder& net, const Tensor& canvases, int64_t batch);

// ---- The objective on the readout's output (the notebook's formulas) -------------------------------
// Rows a .. a + n - 1 of z are pulled towards rows b .. b + n - 1: mean squared difference over n x M.
// grad_a = false: rows a are a detached target (the exposure's centre view); true: both get gradient.
struct PullPair {
  int64_t a = 0, b = 0, n = 0;
  bool grad_a = false;
};
struct SwapLossTerms {
  double pull = 0, push = 0, decorr = 0;  // unweighted; pull is the mean over the pairs
  double total(const LplCoeffs& c) const { return c.pull * pull + c.push * push + c.decorr * decorr; }
};
// z: [rows, m] row-major (float64). The pull term is the mean over `pairs` of their MSEs; the Hebbian
// term -mean_i log(var_i + 1e-4) and the decorrelation term sum_{i != k} C_ik^2 / (m^2 - m) are over
// rows 0 .. stat_rows - 1 together (the mean detached, variance and covariance unbiased). dz (resized
// to rows x m; rows >= stat_rows only get their pull gradient) = dL/dz of the weighted total.
SwapLossTerms swap_objective(const std::vector<double>& z, int64_t rows, int64_t m, int64_t stat_rows,
                             const std::vector<PullPair>& pairs, const LplCoeffs& c, std::vector<double>* dz);

// ---- The readout ------------------------------------------------------------------------------------
struct Readout {
  Tensor w, b;  // [M, K], [M]; PyTorch's default Linear init
  Tensor mw, vw, mb, vb;  // optimiser state (Adam moments; SGD uses mw / mb as its buffers)
  int64_t adam_step = 0;
};
Readout make_readout(int64_t in, int64_t out, uint64_t seed, Device d);
// z = x W^T + b, as float64 host rows.
std::vector<double> readout_forward(const Readout& r, const Tensor& x);
// Backward of dz (float64 host rows of x's batch) into W, b, then the update: Adam (lr, L2 decay on W,
// none on b) when adam, else plain SGD (no momentum) with the same decay rule.
void readout_update(Readout& r, const Tensor& x, const std::vector<double>& dz, bool adam, double lr,
                    double weight_decay);
// One step of the readout's position-tolerance training (the notebook's dense-layer fit): x [2B, K]
// holds view 1 of B images (each at a random slot) then view 2; the pull pairs the views (both
// trained), the Hebbian and decorrelation terms are over all 2B rows; then an Adam update.
SwapLossTerms readout_pair_step(Readout& r, const Tensor& x, const LplCoeffs& c, double lr, double weight_decay);

// ---- The exposure --------------------------------------------------------------------------------------
// The experiment's 6 groups of `pairs` images, in this order: P1, N1 (swapped at the top), P2, N2
// (swapped at the bottom), PC, NC (control, never exposed).
enum Group { P1 = 0, N1, P2, N2, PC, NC, kGroups };
// Conditions whose selectivity the experiment follows.
enum Condition { kSwap = 0, kNonSwap, kControl, kConditions };
const char* condition_name(int c);

// Features of the 6 x pairs images at the three slots: slot_features[s] is [6 pairs, K] with rows in
// group order, s = 0 top, 1 centre, 2 bottom.
struct ExposureInput {
  int64_t pairs = 8;
  Tensor slot_features[3];
};
// The training rows of an exposure step: 12 blocks of `pairs` rows, in this order:
// centre P1, N1, P2, N2; non-swap P1, N1, P2, N2; swap P1, N1, P2, N2.
// (set 1 is swapped at the top and not at the bottom; set 2 the other way round.)
struct ExposureRow {
  int group = 0;  // Group
  int slot = 0;   // 0 top, 1 centre, 2 bottom
};
std::vector<ExposureRow> exposure_rows();
// The 8 pull pairs over those blocks (in units of rows): the centre view of an object (detached
// target) with the same object at the non-swap position and with the other object of its pair at the
// swap position.
std::vector<PullPair> exposure_pull_pairs(int64_t pairs);

struct ExposureOptions {
  int64_t steps = 400;
  double lr = 2e-2;                // SGD on the readout
  double weight_decay = 1.5e-6;
  LplCoeffs coeffs;
};
// Selectivity P - N of every (pair, unit) of a condition, before the step's update. The sign of each
// (pair, unit) is fixed once, from the centre responses before exposure: flipped where N > P there.
struct Selectivity {
  int64_t rows = 0, units = 0;   // rows = pairs of the condition (swap, non-swap: 2 x pairs; control 3 x pairs)
  std::vector<double> delta;     // rows x units
  double mean() const;
  double sem() const;            // std (n - 1) / sqrt(n) over all rows x units
  std::vector<double> unit_means() const;  // per unit, over the rows
};
struct ExposureStep {
  Selectivity cond[kConditions];
  // Mean responses at the swap position (both sets) to each (pair, unit)'s preferred object P and to
  // the other, N (the notebook's response panel: they converge under swap exposure).
  double swap_p = 0, swap_n = 0;
  SwapLossTerms loss;            // the step's objective (before its update)
};
// The sign of each (set, pair, unit): +1 where P >= N at the centre, -1 where P < N (sets 1, 2, C).
std::vector<double> preference_signs(const std::vector<double>& z_centre, int64_t pairs, int64_t units);
// The selectivity of the three conditions from the readout output at the three slots (float64 rows
// [6 pairs, units] each, group order) and the signs.
void measure_selectivity(const std::vector<double> z_slot[3], const std::vector<double>& signs, int64_t pairs,
                         int64_t units, ExposureStep& out);
// Runs steps + 1 measurements (step 0 before any update) and `steps` updates; calls `progress` (may
// be null) after each measurement.
std::vector<ExposureStep> run_exposure(Readout& r, const ExposureInput& in, const ExposureOptions& o,
                                       void (*progress)(int64_t step, const ExposureStep& s) = nullptr);

}  // namespace lpl::exp
