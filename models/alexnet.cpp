#include "models/alexnet.h"

#include <fmt/format.h>

namespace lpl {

namespace {
ConvBlockSpec block(int k, int index_in_block, int out, int kernel, int stride, int pad, bool pool) {
  ConvBlockSpec b;
  b.out_channels = out;
  b.kernel = kernel;
  b.conv.stride_h = b.conv.stride_w = stride;
  b.conv.pad_h = b.conv.pad_w = pad;
  if (pool) {
    Pool2dParams p;
    p.kernel_h = p.kernel_w = 3;
    p.stride_h = p.stride_w = 2;
    b.pool = p;
  }
  b.conv_name = fmt::format("network.encoder.blocks.{}.{}", k, index_in_block);
  return b;
}

std::vector<ConvBlockSpec> alexnet_blocks() {
  std::vector<ConvBlockSpec> b = {
      block(0, 0, 64, 11, 4, 2, true), block(1, 0, 192, 5, 1, 2, true), block(2, 0, 384, 3, 1, 1, false),
      block(3, 0, 256, 3, 1, 1, false), block(4, 0, 256, 3, 1, 2, true),
      block(5, 2, 4096, 6, 1, 0, false),  // (0: adaptive average pool, 1: dropout)
      block(6, 1, 4096, 1, 1, 0, false),  // (0: dropout)
  };
  b[5].adaptive_pool = 6;
  b[5].dropout = 0.5f;
  b[6].dropout = 0.5f;
  return b;
}
}  // namespace

AlexNet::AlexNet(const EncoderOptions& opt, uint64_t seed, Device d)
    : ConvBlocksEncoder(opt, seed, d, alexnet_blocks(), {4}) {}

std::unique_ptr<Encoder> make_alexnet(const EncoderOptions& o, uint64_t seed, Device d) {
  return std::make_unique<AlexNet>(o, seed, d);
}

}  // namespace lpl
