// Encoders that are a stack of conv blocks, described by a table (VGG-11, AlexNet, and the small
// encoder of the README's example):
//   [adaptive average pool to n x n] -> [dropout p, training only] -> conv -> ReLU -> [max-pool]
// Both the tape (end-to-end, evaluation) and the analytic layer-local path come from the table. The
// analytic block backward uses the fused block delta for 2x2 stride-2 pools (and none) and the
// generic max-pool backward otherwise; it never needs a backward-data pass.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/encoder.h"

namespace lpl {

struct ConvBlockSpec {
  int out_channels = 0;
  int kernel = 3;
  Conv2dParams conv;                // stride and padding
  int adaptive_pool = 0;            // > 0: adaptive average pool to n x n before the conv
  float dropout = 0;                // > 0: dropout on the conv input (training only)
  std::optional<Pool2dParams> pool;  // max-pool after the ReLU
  std::string conv_name;            // the conv's module name, e.g. "network.encoder.blocks.0.module.0"
};

class ConvBlocksEncoder : public Encoder, public LayerLocalBlocks {
 public:
  // Conv weights and biases draw from the counter RNG streams 0, 1, ... in block order (weight, then
  // bias), then the projectors continue the numbering.
  // extra_end_to_end_projectors: layers besides the last that carry a (saved, untrained) projector
  // end-to-end.
  ConvBlocksEncoder(const EncoderOptions& o, uint64_t seed, Device d, std::vector<ConvBlockSpec> blocks,
                    std::vector<int> extra_end_to_end_projectors = {});

  int num_layers() const override { return static_cast<int>(blocks_.size()); }
  int channels(int k) const override { return blocks_[static_cast<size_t>(k)].out_channels; }
  ag::Var layer_forward(ag::Tape& t, int k, const ag::Var& x, const ForwardMode& m) override;
  LayerLocalBlocks* analytic() override { return this; }
  Tensor block_forward(int k, const Tensor& x) { return block_forward(k, x, ForwardMode{}); }

  // The analytic layer-local path.
  Tensor block_forward(int k, const Tensor& x, const ForwardMode& m) override;
  Tensor block_output(int k) const override { return saved_[static_cast<size_t>(k)].y; }
  void block_backward(int k, const Tensor& g, bool pooled) override;
  void release(int k) override { saved_[static_cast<size_t>(k)] = Saved{}; }

  const ConvBlockSpec& block(int k) const { return blocks_[static_cast<size_t>(k)]; }
  Param& conv_weight(int k) { return *conv_w_[static_cast<size_t>(k)]; }
  Param& conv_bias(int k) { return *conv_b_[static_cast<size_t>(k)]; }
  // The layer's pooled representation [N, C] of the last block_forward(k).
  Tensor pooled(int k) const;

  // The dropout draws of block k at a step: a pure function of (seed, step, block).
  static uint64_t dropout_stream(int64_t step, int k);

 private:
  struct Saved {
    Tensor x, a, argmax, y;  // conv input (after adaptive pool and dropout), ReLU output, pool arg-max, block output
    CentredBf16 x16;         // --precision bf16: what the conv's forward read of x, for its weight gradient
  };
  // ReLU (+ a 2x2 max-pool) on the tape as one custom node whose backward is the fused block delta
  // (kernels/lpl_block.h): ReLU in place and one backward pass instead of the ReLU and max-pool
  // nodes. One per block: a block is recorded once per step (the node lives until the step's backward).
  struct FusedReluPool : ag::CustomBackward {
    Tensor a, argmax;
    Pool2dParams pool;
    bool has_pool = false;
    void backward(const Tensor& dy, std::vector<Tensor>& dinputs) override;
    bool returns_new_tensors() const override { return true; }  // lpl_block_delta allocates its result
  };
  std::vector<FusedReluPool> fused_;
  std::vector<ConvBlockSpec> blocks_;
  std::vector<Param*> conv_w_, conv_b_;
  std::vector<Saved> saved_;
};

}  // namespace lpl
