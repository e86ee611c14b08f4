// What train_vgg11 checks after loading the data and before training, so that nothing after an
// epoch's training fails on its inputs: labels are class indices up to data::kMaxClassLabel, and
// the online probe sees at least 2 classes among the probe-training images it uses (--eval_samples).
#pragma once
#include "data/dataset.h"
#include "models/train_options.h"

namespace lpl {

void check_training_inputs(const TrainOptions& o, const data::DatasetSplits& splits, const data::ImageSet& train_set);

}  // namespace lpl
