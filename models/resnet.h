// ResNet-50 encoder as the original's models/resnets.py resnet50 (torchvision's layout): a stem
// conv7x7 s2 p3 -> batch norm -> ReLU -> max-pool 3x3 s2 p1, then 3, 4, 6, 3 bottlenecks (1x1 ->
// ReLU -> 3x3 (stride in the first of a stage) -> ReLU -> 1x1, plus the identity or a 1x1 strided
// conv + batch norm downsample, then ReLU). As in the original the bottlenecks have no batch norm;
// the stem and the downsample branches do (running statistics, training / evaluation mode). The
// original trains it end-to-end only, exposes one layer (the global average of the last stage's
// 2048 channels), has no projector, and keeps torchvision's unused fc layer (saved, never trained).
// Weight names: network.encoder.conv1.weight, network.encoder.layer1.0.conv1.weight,
// network.encoder.bn1.running_mean, ... (torchvision's state_dict under network.encoder).
#pragma once
#include <memory>

#include "models/encoder.h"

namespace lpl {

std::unique_ptr<Encoder> make_resnet50(const EncoderOptions& o, uint64_t seed, Device d);

}  // namespace lpl
