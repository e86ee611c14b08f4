// The Encoder interface: what training, evaluation, checkpoints and TensorBoard need of a network,
// so that none of them knows which network it is. An encoder is a stack of layers (blocks); layer k's
// representation is the global average of its output feature map (what the objective and the probes
// see), optionally through a projector MLP. Parameters carry their metadata (engine/param.h).
//
// Each encoder defines its layers once, on the tape (layer_forward): that serves evaluation (not
// recording), end-to-end training and layer-local training with detached block outputs. Encoders
// whose blocks have an analytic layer-local backward (VGG-11, AlexNet) also expose it (analytic()),
// which layer-local LPL uses: no tape, no backward-data pass.
//
// Adding an encoder: one file that derives from Encoder (or describes conv blocks, models/conv_blocks.h)
// and one line in models/encoder_registry.cpp (or register_encoder() at run time, as tests/ does).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/param.h"
#include "engine/safetensors.h"
#include "engine/tape.h"
#include "engine/tensor.h"

namespace lpl {

struct EncoderOptions {
  std::string kind = "vgg";     // --encoder
  int in_channels = 3;
  bool bias = true;             // false: --no_biases (convs and projector linears)
  bool projector = false;       // --use_projector_mlp
  int mlp_hidden = 2048;        // --mlp_hidden_size
  int projection = 256;         // --projection_size
  // --train_end_to_end: the objective sees only the final layer (one projector, one classifier head).
  bool end_to_end = false;
  // --train_with_supervision: a linear classifier head (with bias) on each trained layer's
  // representation to `classes` outputs, named classifier_heads.<i> (0 = no heads).
  int classes = 0;
};

// How a forward pass runs.
struct ForwardMode {
  bool training = false;  // dropout on; batch norm with the batch's statistics, updating the running ones
  int views = 1;          // the batch is `views` equal slices (batch norm normalises each on its own)
  uint64_t seed = 0;      // random draws (dropout) are a function of (seed, step, layer, element)
  int64_t step = 0;
  Communicator* comm = nullptr;  // several ranks: batch norm over the global batch (engine/ops.h BatchNormParams)
};

// The analytic layer-local path of encoders whose blocks have one: block_forward keeps what
// block_backward needs; nothing crosses a block boundary backwards.
class LayerLocalBlocks {
 public:
  virtual ~LayerLocalBlocks() = default;
  // Block k on x (the previous block's output, gradient stopped); returns the block output.
  virtual Tensor block_forward(int k, const Tensor& x, const ForwardMode& m) = 0;
  virtual Tensor block_output(int k) const = 0;
  // g = dL/d(representation): [N, C] (pooled) or the block output's shape (pooled = false). Writes
  // (overwrites) block k's parameter gradients.
  virtual void block_backward(int k, const Tensor& g, bool pooled) = 0;
  virtual void release(int k) = 0;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // ---- What each encoder defines ------------------------------------------------------------------
  virtual int num_layers() const = 0;
  // Width of layer k's pooled representation.
  virtual int channels(int k) const = 0;
  // Layer k on the tape: from the previous layer's output (the image for k = 0) to layer k's feature map.
  virtual ag::Var layer_forward(ag::Tape& t, int k, const ag::Var& x, const ForwardMode& m) = 0;
  // Whether layer-local training is possible (the original trains ResNet-50 end-to-end only).
  virtual bool supports_layer_local() const { return true; }
  // The analytic layer-local path, when the encoder has one.
  virtual LayerLocalBlocks* analytic() { return nullptr; }
  // Layers that get a projector MLP under --use_projector_mlp: every layer layer-local; end-to-end the
  // last and those in extra_end_to_end_projectors_ (the original's AlexNet also has one on its 5th
  // block there, unused: it is saved and left untrained).
  bool projector_at(int k) const;
  bool projector_used(int k) const { return projector_at(k) && layer_trained(k); }

  // ---- Common to all encoders ------------------------------------------------------------------------
  const EncoderOptions& options() const { return opt_; }
  const std::string& kind() const { return opt_.kind; }
  Device device() const { return dev_; }
  int last_layer() const { return num_layers() - 1; }
  bool has_projector(int k) const { return !proj_.empty() && proj_[static_cast<size_t>(k)].exists; }
  // Width of the representation the objective sees at layer k (projector output when it has one).
  int objective_width(int k) const { return has_projector(k) ? opt_.projection : channels(k); }
  // Layers whose objective trains (all layer-local, the last end-to-end).
  bool layer_trained(int k) const { return !opt_.end_to_end || k == last_layer(); }

  // Projector MLP of layer k: Linear -> ReLU -> Linear -> ReLU.
  ag::Var projector_forward(ag::Tape& t, int k, const ag::Var& z);
  // Classifier heads (--train_with_supervision): head i reads layer head_layer(i)'s representation.
  int num_heads() const { return static_cast<int>(heads_.size()); }
  int head_layer(int i) const { return opt_.end_to_end ? last_layer() : i; }
  ag::Var head_forward(ag::Tape& t, int i, const ag::Var& r);
  Param& head_weight(int i) { return *heads_.at(static_cast<size_t>(i)).w; }
  Param& head_bias(int i) { return *heads_.at(static_cast<size_t>(i)).b; }

  // Evaluation-mode representations (no dropout, running statistics, nothing recorded): the pooled
  // features [N, C_k] of every layer, or only of the last.
  std::vector<Tensor> pooled_features(const Tensor& x, bool last_only = false);

  // Every parameter (encoder, projectors, heads), in the order of the weights file.
  std::vector<Param*> params();
  // The parameters the objective trains (params() less those saved but never updated).
  std::vector<Param*> trained_params();
  std::vector<Buffer*> buffers();
  // Weights and buffers under the original's names, and loading them back (names and shapes checked).
  NamedTensors named_weights() const;
  void load_weights(const SafetensorsFile& f, const std::string& file);
  // Names a weights file of this encoder must hold (parameters, then buffers).
  std::vector<std::string> weight_names() const;

 protected:
  Encoder(const EncoderOptions& o, Device d);
  // Registers a parameter with PyTorch's default init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) drawn from the
  // counter RNG (seed, stream). Returned references stay valid (parameters live in a deque-like list).
  Param& add_param(const std::string& name, const Shape& s, int64_t fan_in, uint64_t seed, uint64_t stream, int layer,
                   ParamRole role, ParamPart part = ParamPart::encoder);
  // A parameter with given initial values (e.g. batch-norm weight 1, bias 0, or a custom init).
  Param& add_param_value(const std::string& name, Tensor value, int layer, ParamRole role,
                         ParamPart part = ParamPart::encoder);
  Buffer& add_buffer(const std::string& name, Tensor value, int layer);
  // Builds the projectors (names network.encoder.projectors.<k>.net.{0,2}) and the heads
  // (classifier_heads.<i>) once the layers exist: derived constructors call it last. Projector
  // weights draw from streams first_stream, first_stream + 1, ...; heads from 1000 on.
  void add_projectors_and_heads(uint64_t seed, uint64_t first_stream);
  std::vector<int> extra_end_to_end_projectors_;

 private:
  struct Projector {
    bool exists = false;
    Param *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
  };
  struct Head {
    Param *w = nullptr, *b = nullptr;
  };
  EncoderOptions opt_;
  Device dev_;
  std::vector<std::unique_ptr<Param>> params_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  std::vector<Projector> proj_;
  std::vector<Head> heads_;
};

// PyTorch-default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from the counter RNG (seed, stream).
Tensor uniform_init(const Shape& s, int64_t fan_in, uint64_t seed, uint64_t stream, Device d);

// ---- Registry -----------------------------------------------------------------------------------------
using EncoderFactory = std::function<std::unique_ptr<Encoder>(const EncoderOptions&, uint64_t seed, Device)>;
// What an encoder supports, known before building it (so flags are checked before data is loaded).
struct EncoderTraits {
  bool layer_local = true;  // false: end-to-end only (the original's ResNet-50)
  bool projector = true;    // false: --use_projector_mlp is refused
};
// Builds the encoder o.kind names ("vgg", "alexnet", "resnet", or one registered at run time).
std::unique_ptr<Encoder> make_encoder(const EncoderOptions& o, uint64_t seed, Device d);
// Adds (or replaces) an encoder under `name`; aliases are other names for it (e.g. "vgg11").
void register_encoder(const std::string& name, EncoderFactory f, EncoderTraits traits = {});
std::vector<std::string> encoder_names();
bool encoder_known(const std::string& name);
// The traits of a known encoder (refuses an unknown name).
EncoderTraits encoder_traits(const std::string& name);
// The option combinations an encoder refuses, as one message ("" when fine).
std::string encoder_options_problem(const EncoderOptions& o);
// Whether two names denote the same encoder ("vgg11" and "vgg").
bool same_encoder(const std::string& a, const std::string& b);
// The encoder a weights file holds: its "encoder" metadata entry, else recognised from its tensor
// names (the original's checkpoints converted by tools/ckpt_to_safetensors.py), else "vgg".
std::string encoder_of_weights(const SafetensorsFile& f);
// The encoder options a weights file was written with, as far as its tensors tell: the encoder and
// whether its conv blocks have biases (--no_biases). Projector and head sizes are not needed to
// read features, which come before them.
EncoderOptions encoder_options_of_weights(const SafetensorsFile& f);

}  // namespace lpl
