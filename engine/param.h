// A trainable tensor with its gradient and the metadata everything else needs (optimiser, divergence
// guard, checkpoints, TensorBoard): which layer and part of the network it belongs to, its role, and
// whether L2 weight decay applies. Nothing parses parameter names. Buffers are the non-trained state
// saved with the weights (batch-norm running statistics).
#pragma once
#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace lpl {

enum class ParamRole : uint8_t { weight, bias, bn_weight, bn_bias };
// encoder: the encoder's own layers; projector: the projector MLP of a layer; head: a supervised
// classifier head.
enum class ParamPart : uint8_t { encoder, projector, head };

struct Param {
  std::string name;  // the original's PyTorch module name (spec §6b)
  Tensor value, grad;
  bool decay = true;      // L2 weight decay (the original exempts biases and batch-norm parameters)
  int layer = -1;         // 0-based layer (block) of the encoder, or head index for heads
  ParamRole role = ParamRole::weight;
  ParamPart part = ParamPart::encoder;
  bool trained = true;    // false: saved with the weights but never updated (e.g. ResNet's unused fc)
};

struct Buffer {
  std::string name;  // e.g. network.encoder.bn1.running_mean
  Tensor value;      // float32, or int64 for num_batches_tracked
  int layer = -1;
};

// "layer 3", "layer 3 projector", "classifier head 2": how messages name a parameter's place.
std::string param_place(const Param& p);

}  // namespace lpl
