// VGG-11 encoder of LPL (spec §1): 8 blocks conv3x3 (pad 1, bias unless --no_biases) -> ReLU ->
// [maxpool 2x2 s2 after blocks 1, 2, 4, 6, 8], optional projector MLP per layer, PyTorch-default
// initialisation from a seeded counter-based RNG. A table of conv blocks (models/conv_blocks.h).
#pragma once
#include <array>
#include <cstdint>
#include <memory>

#include "models/conv_blocks.h"

namespace lpl {

using Vgg11Options = EncoderOptions;

class Vgg11 : public ConvBlocksEncoder {
 public:
  static constexpr int kBlocks = 8;
  static constexpr std::array<int, kBlocks> kChannels{64, 128, 256, 256, 512, 512, 512, 512};
  static constexpr std::array<bool, kBlocks> kPool{true, true, false, true, false, true, false, true};

  Vgg11(const EncoderOptions& opt, uint64_t seed, Device d);
};

std::unique_ptr<Encoder> make_vgg11(const EncoderOptions& o, uint64_t seed, Device d);

}  // namespace lpl
