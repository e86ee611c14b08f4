// A small reverse-mode tape over the dispatched ops (engine/ops.h), for the end-to-end and supervised
// baselines of any encoder. Layer-local LPL does not need it (its updates are analytic, models/lpl_step),
// but runs on it too when every block output is detached, which is how the two paths check each other.
//
//   Tape t;                          // one per training step (clear() keeps its storage)
//   Var h = t.conv2d(x, t.param(w), &b, cp);  h = t.relu(h);  ...
//   zero_grad(params);  t.backward(loss_input, dL_dinput);  // accumulates into every Param reached
//
// Each op calls the dispatched op (so it runs on the CPU and CUDA alike) and, when recording and an
// input needs a gradient, records a node with what its backward needs. Nodes live in one vector that
// clear() empties without freeing, so a step allocates no tape bookkeeping after the first.
// Hand-written fused kernels (the LPL objective, the fused block delta) enter as custom nodes.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/ops.h"
#include "engine/param.h"
#include "engine/tensor.h"

namespace lpl::ag {

// A value of the computation and the node that produced it (-1: no gradient flows to it: an input,
// a constant, a detached value, or anything computed while the tape was not recording).
struct Var {
  Tensor value;
  int node = -1;
  bool requires_grad() const { return node >= 0; }
  const Shape& shape() const { return value.shape(); }
};

// A hand-written node: the caller computed the output; backward maps dL/d(output) to dL/d(inputs).
class CustomBackward {
 public:
  virtual ~CustomBackward() = default;
  // dinputs has one slot per input, undefined on entry; set those the node can compute (inputs that
  // need no gradient may be left undefined).
  virtual void backward(const Tensor& dy, std::vector<Tensor>& dinputs) = 0;
  // true: the dinputs are new tensors nobody else holds, which the tape may keep and add into
  // (saves a copy); false: the tape copies them (a backward may hand out dy or a tensor it keeps).
  virtual bool returns_new_tensors() const { return false; }
};

class Tape {
 public:
  explicit Tape(bool record = true) : record_(record) {}
  bool recording() const { return record_; }
  void set_recording(bool r) { record_ = r; }

  static Var input(const Tensor& t) { return Var{t, -1}; }
  static Var detach(const Var& v) { return Var{v.value, -1}; }
  // A parameter leaf: backward accumulates (+=) into p.grad.
  Var param(Param& p);
  // A leaf whose gradient the caller reads after backward() with grad() (e.g. dL/dz of a
  // representation, which the analytic layer-local path carries on through its block).
  Var leaf(const Tensor& t);
  // dL/dv of a leaf() after backward() (zeros when nothing reached it).
  Tensor grad(const Var& v) const;

  // x [N, Ci, H, W], w [Co, Ci, KH, KW], b [Co] (nullptr: no bias)
  Var conv2d(const Var& x, const Var& w, const Var* b, const Conv2dParams& p);
  Var relu(const Var& x);
  Var maxpool2d(const Var& x, const Pool2dParams& p);
  Var global_avgpool(const Var& x);  // [N, C, H, W] -> [N, C]
  Var adaptive_avgpool(const Var& x, int out_h, int out_w);
  // x [N, I], w [O, I], b [O] (nullptr: no bias) -> [N, O]
  Var linear(const Var& x, const Var& w, const Var* b);
  Var add(const Var& a, const Var& b);  // same shapes
  // Inverted dropout (kept elements scaled by 1 / (1 - p)); element i is kept when the counter RNG's
  // draw (seed, stream, i) is >= p, so the mask is recomputed, never stored.
  Var dropout(const Var& x, float p, uint64_t seed, uint64_t stream);
  // Batch norm over (N, H, W) per channel. training: batch statistics, running statistics updated in
  // place; the batch is normalised as `groups` equal slices along dim 0, one after another (the
  // original runs the two views as separate forward passes: each has its own statistics and updates
  // the running statistics once). Evaluation (training = false): running statistics, no update, no
  // backward (an lpl::Error while recording with an input that needs a gradient; groups is ignored).
  Var batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
                 const BatchNormParams& p, bool training, int groups = 1);
  // out was computed by the caller from inputs; bw must outlive backward().
  Var custom(const std::vector<Var>& inputs, const Tensor& out, CustomBackward* bw);

  // dy = dL/dy (y's shape). Walks the nodes recorded up to y in reverse and accumulates into the
  // gradients of every Param reached (zero them first). The recorded graph stays until clear(), so a
  // second backward() accumulates again (leaf gradients too). y without a node (nothing recorded leads
  // to it): nothing to do. A Var of an earlier step or a dy of another shape is an lpl::Error.
  void backward(const Var& y, const Tensor& dy);
  // Forgets the graph and its saved tensors; keeps the node storage.
  void clear();
  size_t size() const { return nodes_.size(); }
  // Nodes the storage holds without growing (clear() keeps it: the next step allocates none).
  size_t capacity() const { return nodes_.capacity(); }

 private:
  enum class Op : uint8_t { param, leaf, conv2d, relu, maxpool2d, global_avgpool, adaptive_avgpool, linear, add, dropout,
                            batch_norm, custom };
  static constexpr int kMaxIn = 3;
  struct Node {
    Op op = Op::param;
    int in[kMaxIn] = {-1, -1, -1};  // producing nodes of the inputs (-1: no gradient)
    Tensor saved[4];                // what the backward needs (op-specific)
    Shape in_shape;                 // the (first) input's shape
    Shape out_shape;                // the output's shape: every gradient accumulated into grad has it
    Param* param = nullptr;
    CustomBackward* custom = nullptr;
    int custom_first = 0, custom_count = 0;  // custom inputs in custom_in_; batch-norm groups' statistics in bn_saved_
    Conv2dParams conv;
    Pool2dParams pool;
    BatchNormParams bn;
    float p = 0;
    uint64_t seed = 0, stream = 0;
    int groups = 1;
    bool has_bias = false;
    Tensor grad;  // dL/d(output), accumulated during backward (kept after backward for leaves only)
  };
  // Producing node of an input (-1: none), checked to belong to this step.
  int node_of(const Var& v, const char* op) const;
  // Appends a node (no allocation once the storage has grown to a step's size) and returns its index.
  int push(Node&& n);
  // Adds g (the output shape of `node`) into node's gradient: into Param::grad for a param node, else
  // into Node::grad (taking g on the first contribution when owned, cloning it otherwise).
  void accumulate(int node, const Tensor& g, bool owned);
  // A param node's Param::grad, checked against its value (defined, same shape and device).
  Tensor& param_grad(int node);
  bool is_param(int node) const { return node >= 0 && nodes_[static_cast<size_t>(node)].op == Op::param; }
  void backward_node(Node& n, const Tensor& dy);
  bool record_;
  std::vector<Node> nodes_;  // clear() empties it without freeing
  std::vector<int> custom_in_;
  std::vector<Tensor> custom_grads_;
  std::vector<Tensor> bn_saved_;  // batch norm: mean and invstd of each group
};

// Sets every parameter's gradient to zero (before a backward pass accumulates into them).
void zero_grad(const std::vector<Param*>& params);

}  // namespace lpl::ag
