// AlexNet encoder as the original's models/encoders.py AlexNetEncoder (spec §1): 7 blocks
//   conv11 s4 p2 64 + maxpool3 s2; conv5 p2 192 + maxpool3 s2; conv3 p1 384; conv3 p1 256;
//   conv3 p2 256 + maxpool3 s2; adaptive-avgpool 6x6 + dropout 0.5 + conv6 4096; dropout 0.5 + conv1 4096
// (each conv followed by ReLU), module names network.encoder.blocks.<i>.<j> as the original's
// nn.Sequential blocks. Dropout draws come from the counter RNG, so runs stay reproducible.
#pragma once
#include <memory>

#include "models/conv_blocks.h"

namespace lpl {

class AlexNet : public ConvBlocksEncoder {
 public:
  // The original attaches projectors to blocks 5 and 7 even end-to-end (only the 7th is used there).
  AlexNet(const EncoderOptions& opt, uint64_t seed, Device d);
};

std::unique_ptr<Encoder> make_alexnet(const EncoderOptions& o, uint64_t seed, Device d);

}  // namespace lpl
