// VGG-11 encoder of LPL (spec §1): 8 blocks conv3x3 (pad 1, bias unless --no_biases) -> ReLU ->
// [maxpool 2x2 s2 after blocks 1, 2, 4, 6, 8], optional projector MLP per layer, PyTorch-default
// initialisation from a seeded counter-based RNG. Layer-local: every block has explicit forward
// and backward calls, and nothing crosses a block boundary backwards.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/param.h"
#include "engine/safetensors.h"
#include "engine/tensor.h"

namespace lpl {

struct Vgg11Options {
  int in_channels = 3;
  bool bias = true;             // false: --no_biases (convs and projector linears)
  bool projector = false;       // --use_projector_mlp
  int mlp_hidden = 2048;        // --mlp_hidden_size
  int projection = 256;         // --projection_size
  // --train_end_to_end: the objective sees only the final layer (projector 8, one classifier head).
  bool end_to_end = false;
  // --train_with_supervision: a linear classifier head (with bias) on each trained layer's
  // representation to `classes` outputs, named classifier_heads.<i> (0 = no heads).
  int classes = 0;
};

class Vgg11 {
 public:
  static constexpr int kBlocks = 8;
  static constexpr std::array<int, kBlocks> kChannels{64, 128, 256, 256, 512, 512, 512, 512};
  static constexpr std::array<bool, kBlocks> kPool{true, true, false, true, false, true, false, true};

  Vgg11(const Vgg11Options& opt, uint64_t seed, Device d);

  const Vgg11Options& options() const { return opt_; }
  Device device() const { return dev_; }
  int channels(int k) const { return kChannels[k]; }
  // Width of the representation the objective sees at layer k (projector output when enabled).
  int objective_width(int k) const { return opt_.projector ? opt_.projection : kChannels[k]; }

  // Block k: conv -> ReLU -> [maxpool]. Keeps what its backward needs; returns the block output,
  // which is the next block's input with the gradient stopped.
  Tensor block_forward(int k, const Tensor& x);
  // The block output of the last block_forward(k).
  Tensor block_output(int k) const { return saved_[k].y; }
  // The layer's pooled representation z_k [N, C] (global average of the block output).
  Tensor pooled(int k) const;
  // Projector MLP of layer k on z [N, C] -> [N, projection]; keeps its activations.
  Tensor projector_forward(int k, const Tensor& z);
  // Backprop through the projector: parameter gradients, and returns dL/dz [N, C].
  Tensor projector_backward(int k, const Tensor& dp);
  // g = dL/d(representation): [N, C] (pooled) or the block output's shape (pooled = false).
  // Writes block k's weight (and bias) gradient; with need_dx (end-to-end) also returns dL/d(block
  // input) through the conv's backward-data pass (otherwise an undefined tensor).
  Tensor block_backward(int k, const Tensor& g, bool pooled, bool need_dx = false);

  // Classifier heads (--train_with_supervision): head i reads the representation of layer
  // head_layer(i) (every layer, or only the final one end-to-end).
  int num_heads() const { return static_cast<int>(heads_.size()); }
  int head_layer(int i) const { return opt_.end_to_end ? kBlocks - 1 : i; }
  // logits [N, classes] of head i on r [N, objective_width]
  Tensor head_forward(int i, const Tensor& r);
  // Head i's weight and bias gradients from dlogits; returns dL/dr.
  Tensor head_backward(int i, const Tensor& r, const Tensor& dlogits);
  Param& head_weight(int i) { return heads_[i].w; }
  Param& head_bias(int i) { return heads_[i].b; }
  // The parameters the objective trains: all of params() except, end-to-end, the projectors of
  // layers 1..7 (unused there: like PyTorch's Adam on parameters without a gradient, left alone).
  std::vector<Param*> trained_params();
  // Frees block k's saved activations.
  void release(int k);

  std::vector<Param*> params();
  Param& conv_weight(int k) { return conv_w_[k]; }
  Param& conv_bias(int k) { return conv_b_[k]; }

  // Weights under the original's names (spec §6b), and loading them back (checks names and shapes).
  NamedTensors named_weights() const;
  void load_weights(const SafetensorsFile& f, const std::string& file);

 private:
  struct Saved {
    Tensor x, a, argmax, y;  // block input, ReLU output, pool arg-max, block output
    Tensor z, h, p;          // pooled representation, projector hidden (after ReLU) and output
  };
  struct ProjectorParams {
    Param w1, b1, w2, b2;
  };
  struct HeadParams {
    Param w, b;
  };
  Vgg11Options opt_;
  Device dev_;
  std::array<Param, kBlocks> conv_w_, conv_b_;
  std::vector<ProjectorParams> proj_;
  std::vector<HeadParams> heads_;
  std::array<Saved, kBlocks> saved_;
};

// PyTorch-default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from the counter RNG (seed, stream).
Tensor uniform_init(const Shape& s, int64_t fan_in, uint64_t seed, uint64_t stream, Device d);

}  // namespace lpl
