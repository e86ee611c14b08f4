// Shapes3D figures (ED Figs. 5-6, the original's notebook "E5 - 3D shapes"): statistics of the
// trajectory file (which factor moves in each sequence, step sizes, per-factor transition
// probabilities between factor values) and disentanglement scores of trained networks.
//
// Two scores, because the engine has two:
//  - the notebook's (the paper's 95.3 / 16.2 / 27.1 / 87.7 %): the majority-vote metric of Kim & Mnih
//    (2018) on a network's features: fix one factor at one value, sample a batch with the other
//    factors random, divide every feature by its standard deviation over the data set, and take the
//    feature of least variance in the batch; that feature votes for the fixed factor. A feature
//    predicts the factor it got most votes for (votes divided by the factor's number of values);
//    the score is the accuracy of those predictions on fresh batches. Chance is 1/6.
//  - eval_linear's "factor_probe_mean": the mean over the six factors of the last layer's
//    linear-probe top-1 test accuracy (read from its eval.json).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lpl::exp {

using FactorSizes = std::array<int, 6>;

// The trajectory file: sequences x frames flat image indices (spec §4).
struct Shapes3dTrajectories {
  int64_t sequences = 0, frames = 0;
  std::vector<int64_t> index;  // sequence-major
};

// Reads an int64 .npy of rank 2 (frames >= 2); every index must lie in [0, product of sizes).
// Errors name the file and the problem (wrong dtype or rank, index out of range with its position).
Shapes3dTrajectories load_shapes3d_trajectories(const std::string& path, const FactorSizes& sizes);
// The same checks on an array already in memory (`what` names it in errors).
void check_shapes3d_trajectories(const Shapes3dTrajectories& t, const FactorSizes& sizes, const std::string& what);

// The factor values of a flat index (inverse of data::shapes3d_flat_index).
std::array<int, 6> shapes3d_factor_values(int64_t index, const FactorSizes& sizes);

struct TrajectoryStats {
  FactorSizes sizes{};
  int64_t sequences = 0, frames = 0;
  bool across_sequences = false;         // transitions also from a sequence's last frame to the next's first
  std::array<int64_t, 6> moving{};       // sequences in which this factor changes (and only this one)
  int64_t still = 0;                     // sequences in which no factor changes
  int64_t several = 0;                   // sequences in which more than one factor changes
  // Per factor, the order of its values along which it moves: hues are shuffled once (spec §4), so
  // their order is recovered from the transition counts (each value's two most frequent other
  // successors are its neighbours on a cycle); identity for the other factors, or when no
  // consistent cycle is found (order_recovered false).
  std::array<std::vector<int>, 6> order;
  std::array<bool, 6> order_recovered{};
  // Step sizes of the moving factor within its sequence, in positions of `order` (hues: around the
  // cycle, the shorter way): step_hist[f][d] = number of frame pairs in sequences moving f whose
  // step is d (0 where a reflection at an end lands on the same value).
  std::array<std::vector<int64_t>, 6> step_hist;
  // counts[f][i * n + j] = frame pairs (t, t+1) with factor f at value i then j; probs the rows
  // normalised to sum to 1 (NaN in a row never left).
  std::array<std::vector<int64_t>, 6> counts;
  std::array<std::vector<double>, 6> probs;
};

TrajectoryStats trajectory_stats(const Shapes3dTrajectories& t, const FactorSizes& sizes, bool across_sequences);

// The cycle order of n values from symmetric neighbour counts (n x n, any diagonal): starts at 0,
// goes first to the smaller-numbered of 0's two neighbours. Empty when the counts do not form one cycle.
std::vector<int> recover_cycle_order(const std::vector<int64_t>& counts, int n);

// ---- disentanglement: the notebook's majority-vote metric ----

struct VoteOptions {
  int64_t batch_size = 4000;      // images per vote (notebook: 4000)
  int per_value = 10;             // votes per factor value, training and test each (notebook: 10)
  int reps = 10;                  // independent repetitions (notebook: 10)
  uint64_t seed = 0;
  std::function<void(int rep, double score)> progress;  // called after each repetition (may be empty)
};

struct VoteResult {
  std::vector<double> scores, strict_scores;  // one per repetition
  double score_mean = 0, score_std = 0, strict_mean = 0, strict_std = 0;
  int64_t dims = 0;
  int64_t zero_variance = 0;                  // features constant over the data (never vote)
  std::vector<double> votes;                  // dims x 6, mean over repetitions (column / factor size)
};

// features: N x D (row i = image with factor values labels[i*6 .. i*6+5]); each factor value of
// `sizes` must occur. Batches are drawn with replacement from the rows having the fixed value.
// Feature scales: the standard deviation over all N rows (population). Deterministic in seed.
VoteResult majority_vote_score(const std::vector<float>& features, int64_t n, int64_t d,
                               const std::vector<int64_t>& labels, const FactorSizes& sizes, const VoteOptions& opt);

// One repetition's pieces, exposed for tests:
// the feature of least variance in a batch (rows of `batch`, D wide) after dividing by scale[j]
// (= std + 1e-8), skipping features whose data-set variance is 0; -1 when every feature is constant.
int64_t least_variable_feature(const std::vector<float>& batch, int64_t rows, int64_t d, const std::vector<double>& scale,
                               const std::vector<bool>& constant);
// Accuracy of the majority-vote classifier `votes` (D x 6) on test votes (feature, true factor):
// prediction = argmax over factors of votes[feature] (first on ties), wrong when the row is all zero
// or the feature is -1. strict: only each factor's top n_f features (by votes, stable) keep a 1.
double vote_accuracy(const std::vector<double>& votes, int64_t d, const std::vector<std::pair<int64_t, int>>& test,
                     bool strict, const FactorSizes& sizes);

// ---- disentanglement: eval_linear's per-factor probe results ----

struct ProbeFactors {
  std::array<double, 6> top1{};         // last probed layer, per factor (NaN when missing)
  std::array<double, 6> pixels_top1{};  // the pixel probe (NaN when not evaluated)
  std::array<double, 6> chance{};
  bool has_pixels = false;
  int layer = 0;
  double score = 0, pixels_score = 0;  // means over the six factors (NaN if one is missing)
  std::string weights;
};

// Reads eval_linear's shapes3d eval.json ("factors": {name: {chance, layers[..].top1, pixels.top1}}).
ProbeFactors read_probe_factors(const std::string& path);
ProbeFactors parse_probe_factors(const std::string& json_text, const std::string& what);

}  // namespace lpl::exp
