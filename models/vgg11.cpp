#include "models/vgg11.h"

#include <fmt/format.h>

namespace lpl {

namespace {
std::vector<ConvBlockSpec> vgg11_blocks() {
  std::vector<ConvBlockSpec> out;
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    ConvBlockSpec b;
    b.out_channels = Vgg11::kChannels[k];
    b.kernel = 3;
    b.conv.pad_h = b.conv.pad_w = 1;
    if (Vgg11::kPool[k]) b.pool = Pool2dParams{};  // 2x2, stride 2
    b.conv_name = fmt::format("network.encoder.blocks.{}.module.0", k);
    out.push_back(b);
  }
  return out;
}
}  // namespace

Vgg11::Vgg11(const EncoderOptions& opt, uint64_t seed, Device d) : ConvBlocksEncoder(opt, seed, d, vgg11_blocks()) {}

std::unique_ptr<Encoder> make_vgg11(const EncoderOptions& o, uint64_t seed, Device d) {
  return std::make_unique<Vgg11>(o, seed, d);
}

}  // namespace lpl
