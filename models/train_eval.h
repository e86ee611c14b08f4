// What train_vgg11 evaluates at the end of every --eval_every epochs (the original's SSLEvalCallback
// and validation loop): final-layer features of a split (evaluation view, no augmentation) for the
// online probe and metrics, and the LPL loss terms on augmented pairs of the validation split.
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "engine/lpl_ops.h"
#include "models/features.h"
#include "models/lpl_step.h"
#include "models/encoder.h"

namespace lpl {

// Final-layer pooled features of the first `limit` images of `set` (0: all), with their labels.
FeatureMatrix final_layer_features(Encoder& net, const data::DatasetSplits& splits, const data::ImageSet& set,
                                   int64_t limit, std::vector<int32_t>* labels);

// Mean unweighted loss terms per layer over at most `max_batches` batches (0: all) of augmented pairs
// of `set` (seeded by seed and epoch). Uses its own LplStep, so the training step's stale estimates
// are untouched; in evaluation mode (no dropout, batch-norm running statistics), no gradients.
// The supervised baseline needs the split's labels: without them the result is empty.
std::vector<LplTerms> validation_terms(Encoder& net, const LplStepOptions& so, const data::DatasetSplits& splits,
                                       const data::ImageSet& set, int64_t batch_size, int64_t max_batches,
                                       uint64_t seed, int64_t epoch);

}  // namespace lpl
