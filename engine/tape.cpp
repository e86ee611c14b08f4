// The reverse-mode tape (engine/tape.h). Every forward and backward here is a dispatched op of
// engine/ops.h, so the tape runs wherever its tensors live; it never touches tensor data itself.
#include "engine/tape.h"

#include <fmt/format.h>

#include <climits>
#include <utility>

#include "engine/common.h"

namespace lpl::ag {

namespace {

const char* op_name(int op) {
  static const char* const names[] = {"param",   "leaf", "conv2d", "relu",    "maxpool2d",  "global_avgpool",
                                      "adaptive_avgpool", "linear", "add", "dropout", "batch_norm", "custom"};
  return op >= 0 && op < static_cast<int>(sizeof(names) / sizeof(names[0])) ? names[op] : "?";
}

}  // namespace

// ---- bookkeeping --------------------------------------------------------------------------------------

int Tape::node_of(const Var& v, const char* op) const {
  if (v.node < 0) return -1;
  LPL_CHECK(static_cast<size_t>(v.node) < nodes_.size(),
            fmt::format("tape: {}: the Var refers to node {} but this tape holds {} node(s) now: a Var of an earlier "
                        "step (before clear()) or of another tape",
                        op, v.node, nodes_.size()));
  return v.node;
}

int Tape::push(Node&& n) {
  LPL_CHECK(nodes_.size() < static_cast<size_t>(INT_MAX), "tape: too many nodes");
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size() - 1);
}

Tensor& Tape::param_grad(int node) {
  Param& p = *nodes_[static_cast<size_t>(node)].param;
  if (!p.grad.defined()) p.grad = Tensor::zeros(p.value.shape(), p.value.device());
  LPL_CHECK(p.grad.dtype() == DType::F32 && p.grad.shape() == p.value.shape() && p.grad.device() == p.value.device(),
            fmt::format("tape: parameter '{}' ({}): its gradient {} {} does not match its value {} {}", p.name,
                        param_place(p), dtype_name(p.grad.dtype()), p.grad.shape().str(), dtype_name(p.value.dtype()),
                        p.value.shape().str()));
  return p.grad;
}

void Tape::accumulate(int node, const Tensor& g, bool owned) {
  if (node < 0) return;
  Node& n = nodes_[static_cast<size_t>(node)];
  LPL_CHECK(g.defined() && g.shape() == n.out_shape,
            fmt::format("tape: backward: a gradient of shape {} reached node {} ({}), whose value has shape {}",
                        g.defined() ? g.shape().str() : "(undefined)", node, op_name(static_cast<int>(n.op)),
                        n.out_shape.str()));
  if (n.op == Op::param) {
    axpy(1.f, g, param_grad(node));
  } else if (!n.grad.defined()) {
    n.grad = owned ? g : g.clone();
  } else {
    axpy(1.f, g, n.grad);
  }
}

void Tape::clear() {
  nodes_.clear();  // destroys the nodes (and their saved tensors), keeps the capacity
  custom_in_.clear();
  custom_grads_.clear();
  bn_saved_.clear();
}

void zero_grad(const std::vector<Param*>& params) {
  for (Param* p : params) {
    if (!p) continue;
    if (p->grad.defined())
      p->grad.zero_();
    else
      p->grad = Tensor::zeros(p->value.shape(), p->value.device());
  }
}

// ---- leaves -------------------------------------------------------------------------------------------

Var Tape::param(Param& p) {
  LPL_CHECK(p.value.defined(), fmt::format("tape: parameter '{}' has no value", p.name));
  if (!record_) return Var{p.value, -1};
  Node n;
  n.op = Op::param;
  n.param = &p;
  n.out_shape = p.value.shape();
  return Var{p.value, push(std::move(n))};
}

Var Tape::leaf(const Tensor& t) {
  if (!record_) return Var{t, -1};
  Node n;
  n.op = Op::leaf;
  n.saved[0] = t;
  n.out_shape = t.shape();
  return Var{t, push(std::move(n))};
}

Tensor Tape::grad(const Var& v) const {
  const int i = node_of(v, "grad");
  if (i < 0) return Tensor::zeros(v.shape(), v.value.device());
  const Node& n = nodes_[static_cast<size_t>(i)];
  LPL_CHECK(n.op == Op::leaf, fmt::format("tape: grad() reads the gradient of a leaf(); node {} is {} (a Param's "
                                          "gradient is in Param::grad)",
                                          i, op_name(static_cast<int>(n.op))));
  if (!n.grad.defined()) return Tensor::zeros(n.out_shape, n.saved[0].device());
  return n.grad;
}

// ---- ops ----------------------------------------------------------------------------------------------

Var Tape::conv2d(const Var& x, const Var& w, const Var* b, const Conv2dParams& p) {
  const int xi = node_of(x, "conv2d"), wi = node_of(w, "conv2d"), bi = b ? node_of(*b, "conv2d") : -1;
  Tensor y = conv2d_forward(x.value, w.value, b ? b->value : Tensor(), p);
  if (!record_ || (xi < 0 && wi < 0 && bi < 0)) return Var{y, -1};
  Node n;
  n.op = Op::conv2d;
  n.in[0] = xi;
  n.in[1] = wi;
  n.in[2] = bi;
  if (wi >= 0) n.saved[0] = x.value;  // for dW
  if (xi >= 0) n.saved[1] = w.value;  // for dX
  n.in_shape = x.shape();
  n.out_shape = y.shape();
  n.conv = p;
  n.has_bias = b != nullptr;
  return Var{y, push(std::move(n))};
}

Var Tape::relu(const Var& x) {
  const int xi = node_of(x, "relu");
  Tensor y = relu_forward(x.value);
  if (!record_ || xi < 0) return Var{y, -1};
  Node n;
  n.op = Op::relu;
  n.in[0] = xi;
  n.saved[0] = y;
  n.in_shape = x.shape();
  n.out_shape = y.shape();
  return Var{y, push(std::move(n))};
}

Var Tape::maxpool2d(const Var& x, const Pool2dParams& p) {
  const int xi = node_of(x, "maxpool2d");
  MaxPoolResult r = maxpool2d_forward(x.value, p);
  if (!record_ || xi < 0) return Var{r.y, -1};
  Node n;
  n.op = Op::maxpool2d;
  n.in[0] = xi;
  n.saved[0] = r.argmax;
  n.in_shape = x.shape();
  n.out_shape = r.y.shape();
  n.pool = p;
  return Var{r.y, push(std::move(n))};
}

Var Tape::global_avgpool(const Var& x) {
  const int xi = node_of(x, "global_avgpool");
  Tensor y = global_avgpool_forward(x.value);
  if (!record_ || xi < 0) return Var{y, -1};
  Node n;
  n.op = Op::global_avgpool;
  n.in[0] = xi;
  n.in_shape = x.shape();
  n.out_shape = y.shape();
  return Var{y, push(std::move(n))};
}

Var Tape::adaptive_avgpool(const Var& x, int out_h, int out_w) {
  const int xi = node_of(x, "adaptive_avgpool");
  Tensor y = adaptive_avgpool_forward(x.value, out_h, out_w);
  if (!record_ || xi < 0) return Var{y, -1};
  Node n;
  n.op = Op::adaptive_avgpool;
  n.in[0] = xi;
  n.in_shape = x.shape();
  n.out_shape = y.shape();
  return Var{y, push(std::move(n))};
}

Var Tape::linear(const Var& x, const Var& w, const Var* b) {
  const int xi = node_of(x, "linear"), wi = node_of(w, "linear"), bi = b ? node_of(*b, "linear") : -1;
  Tensor y = linear_forward(x.value, w.value, b ? b->value : Tensor());
  if (!record_ || (xi < 0 && wi < 0 && bi < 0)) return Var{y, -1};
  Node n;
  n.op = Op::linear;
  n.in[0] = xi;
  n.in[1] = wi;
  n.in[2] = bi;
  n.saved[0] = x.value;  // linear_backward reads both
  n.saved[1] = w.value;
  n.in_shape = x.shape();
  n.out_shape = y.shape();
  n.has_bias = b != nullptr;
  return Var{y, push(std::move(n))};
}

Var Tape::add(const Var& a, const Var& b) {
  const int ai = node_of(a, "add"), bi = node_of(b, "add");
  LPL_CHECK(a.value.defined() && b.value.defined() && a.shape() == b.shape(),
            fmt::format("tape: add: operands of shapes {} and {} differ", a.shape().str(), b.shape().str()));
  Tensor y = lpl::add(a.value, b.value);
  if (!record_ || (ai < 0 && bi < 0)) return Var{y, -1};
  Node n;
  n.op = Op::add;
  n.in[0] = ai;
  n.in[1] = bi;
  n.in_shape = a.shape();
  n.out_shape = y.shape();
  return Var{y, push(std::move(n))};
}

Var Tape::dropout(const Var& x, float p, uint64_t seed, uint64_t stream) {
  const int xi = node_of(x, "dropout");
  Tensor y = dropout_forward(x.value, p, seed, stream);
  if (!record_ || xi < 0) return Var{y, -1};
  Node n;
  n.op = Op::dropout;
  n.in[0] = xi;
  n.in_shape = x.shape();
  n.out_shape = y.shape();
  n.p = p;
  n.seed = seed;
  n.stream = stream;
  return Var{y, push(std::move(n))};
}

Var Tape::batch_norm(const Var& x, const Var& gamma, const Var& beta, Tensor& running_mean, Tensor& running_var,
                     const BatchNormParams& p, bool training, int groups) {
  const int xi = node_of(x, "batch_norm"), gi = node_of(gamma, "batch_norm"), bi = node_of(beta, "batch_norm");
  const bool rec = record_ && (xi >= 0 || gi >= 0 || bi >= 0);
  if (!training) {
    LPL_CHECK(!rec, "tape: batch_norm in evaluation mode has no backward: detach its inputs or stop recording");
    return Var{batch_norm_eval_forward(x.value, gamma.value, beta.value, running_mean, running_var, p), -1};
  }
  LPL_CHECK(groups >= 1 && x.value.ndim() == 4 && x.value.dim(0) % groups == 0,
            fmt::format("tape: batch_norm: a batch of shape {} does not split into {} equal groups", x.shape().str(),
                        groups));
  const int64_t per = x.value.dim(0) / groups;
  Node n;
  n.custom_first = static_cast<int>(bn_saved_.size());
  n.custom_count = groups;
  Tensor y;
  if (groups == 1) {
    BatchNormSaved s;
    y = batch_norm_train_forward(x.value, gamma.value, beta.value, running_mean, running_var, p, rec ? &s : nullptr);
    if (rec) {
      bn_saved_.push_back(s.mean);
      bn_saved_.push_back(s.invstd);
    }
  } else {
    y = Tensor::empty(x.shape(), x.value.device());
    for (int g = 0; g < groups; ++g) {
      BatchNormSaved s;
      Tensor yg = batch_norm_train_forward(x.value.slice0(g * per, per), gamma.value, beta.value, running_mean,
                                           running_var, p, rec ? &s : nullptr);
      Tensor out = y.slice0(g * per, per);
      out.copy_from(yg);
      if (rec) {
        bn_saved_.push_back(s.mean);
        bn_saved_.push_back(s.invstd);
      }
    }
  }
  if (!rec) return Var{y, -1};
  n.op = Op::batch_norm;
  n.in[0] = xi;
  n.in[1] = gi;
  n.in[2] = bi;
  n.saved[0] = x.value;
  n.saved[1] = gamma.value;
  n.in_shape = x.shape();
  n.out_shape = y.shape();
  n.bn = p;
  n.groups = groups;
  return Var{y, push(std::move(n))};
}

Var Tape::custom(const std::vector<Var>& inputs, const Tensor& out, CustomBackward* bw) {
  LPL_CHECK(bw != nullptr, "tape: custom: the backward object is null");
  bool any = false;
  for (const Var& v : inputs) any = node_of(v, "custom") >= 0 || any;
  if (!record_ || !any) return Var{out, -1};
  Node n;
  n.op = Op::custom;
  n.custom = bw;
  n.custom_first = static_cast<int>(custom_in_.size());
  n.custom_count = static_cast<int>(inputs.size());
  for (const Var& v : inputs) custom_in_.push_back(v.node);
  n.out_shape = out.shape();
  return Var{out, push(std::move(n))};
}

// ---- backward -----------------------------------------------------------------------------------------

void Tape::backward(const Var& y, const Tensor& dy) {
  const int top = node_of(y, "backward");
  LPL_CHECK(dy.defined() && dy.shape() == y.shape(),
            fmt::format("tape: backward: dy of shape {} does not match y of shape {}",
                        dy.defined() ? dy.shape().str() : "(undefined)", y.shape().str()));
  if (top < 0) return;  // nothing recorded leads to y: every gradient is zero
  check_same_device(dy, y.value, "tape backward");
  check_f32(dy, "tape backward", "dy");
  // Forget what an interrupted pass may have left (leaves keep theirs: they accumulate across passes).
  for (int i = 0; i <= top; ++i)
    if (nodes_[static_cast<size_t>(i)].op != Op::leaf) nodes_[static_cast<size_t>(i)].grad = Tensor();
  accumulate(top, dy, /*owned=*/false);  // cloned: later contributions must not write into the caller's dy
  for (int i = top; i >= 0; --i) {
    Node& n = nodes_[static_cast<size_t>(i)];
    if (n.op == Op::param || n.op == Op::leaf || !n.grad.defined()) continue;
    Tensor g = std::move(n.grad);  // consumed: freed when this node is done
    n.grad = Tensor();
    backward_node(n, g);
  }
}

// dy is this node's complete gradient, owned by the tape (no one else holds it).
void Tape::backward_node(Node& n, const Tensor& dy) {
  switch (n.op) {
    case Op::param:
    case Op::leaf:
      break;
    case Op::conv2d: {
      const int xi = n.in[0], wi = n.in[1], bi = n.in[2];
      bool bias_done = bi < 0;
      if (wi >= 0) {
        if (is_param(wi)) {
          // Straight into Param::grad; the bias too when it is a parameter.
          Tensor* db = is_param(bi) ? &param_grad(bi) : nullptr;
          conv2d_backward_filter(n.saved[0], dy, param_grad(wi), db, n.conv, /*accumulate=*/true);
          bias_done = bias_done || db != nullptr;
        } else {
          Tensor dw = Tensor::empty(nodes_[static_cast<size_t>(wi)].out_shape, dy.device());
          conv2d_backward_filter(n.saved[0], dy, dw, nullptr, n.conv, /*accumulate=*/false);
          accumulate(wi, dw, true);
        }
      }
      if (!bias_done) {
        if (is_param(bi)) {
          bias_backward(dy, param_grad(bi), /*accumulate=*/true);
        } else {
          Tensor db = Tensor::empty(nodes_[static_cast<size_t>(bi)].out_shape, dy.device());
          bias_backward(dy, db, /*accumulate=*/false);
          accumulate(bi, db, true);
        }
      }
      if (xi >= 0) accumulate(xi, conv2d_backward_data(dy, n.saved[1], n.in_shape, n.conv), true);
      break;
    }
    case Op::relu:
      accumulate(n.in[0], relu_backward(dy, n.saved[0]), true);
      break;
    case Op::maxpool2d:
      accumulate(n.in[0], maxpool2d_backward(dy, n.saved[0], n.in_shape, n.pool), true);
      break;
    case Op::global_avgpool:
      accumulate(n.in[0], global_avgpool_backward(dy, n.in_shape), true);
      break;
    case Op::adaptive_avgpool:
      accumulate(n.in[0], adaptive_avgpool_backward(dy, n.in_shape), true);
      break;
    case Op::linear: {
      const int xi = n.in[0], wi = n.in[1], bi = n.in[2];
      const LinearGrads g = linear_backward(n.saved[0], n.saved[1], dy, xi >= 0, bi >= 0);
      if (wi >= 0) accumulate(wi, g.dw, true);
      if (bi >= 0) accumulate(bi, g.db, true);
      if (xi >= 0) accumulate(xi, g.dx, true);
      break;
    }
    case Op::add: {
      // dy flows to both operands. b gets a copy first, then a takes dy itself: for add(v, v) the
      // second contribution is then added into a copy, never into dy read in place.
      const int ai = n.in[0], bi = n.in[1];
      if (bi >= 0) accumulate(bi, dy, /*owned=*/ai < 0);
      if (ai >= 0) accumulate(ai, dy, /*owned=*/true);
      break;
    }
    case Op::custom: {
      custom_grads_.clear();
      custom_grads_.resize(static_cast<size_t>(n.custom_count));
      n.custom->backward(dy, custom_grads_);
      LPL_CHECK(custom_grads_.size() == static_cast<size_t>(n.custom_count),
                fmt::format("tape: custom node: backward returned {} input gradients for {} inputs",
                            custom_grads_.size(), n.custom_count));
      for (int k = 0; k < n.custom_count; ++k) {
        const int in = custom_in_[static_cast<size_t>(n.custom_first + k)];
        Tensor& g = custom_grads_[static_cast<size_t>(k)];
        // Owned only when the node says its gradients are new tensors (it may hand out dy or one it keeps).
        if (in >= 0 && g.defined()) accumulate(in, g, /*owned=*/n.custom->returns_new_tensors());
        g = Tensor();
      }
      break;
    }
    case Op::dropout:
      accumulate(n.in[0], dropout_backward(dy, n.p, n.seed, n.stream), true);
      break;
    case Op::batch_norm: {
      const int xi = n.in[0], gi = n.in[1], bi = n.in[2];
      const Shape& cs = n.saved[1].shape();  // [C]
      // dgamma / dbeta accumulate (+=) over the groups: into Param::grad directly, or into scratch zeros.
      Tensor dgamma_tmp, dbeta_tmp;
      if (!is_param(gi)) dgamma_tmp = Tensor::zeros(cs, dy.device());
      if (!is_param(bi)) dbeta_tmp = Tensor::zeros(cs, dy.device());
      Tensor& dgamma = is_param(gi) ? param_grad(gi) : dgamma_tmp;
      Tensor& dbeta = is_param(bi) ? param_grad(bi) : dbeta_tmp;
      const int64_t per = n.in_shape[0] / n.groups;
      Tensor dx;
      if (n.groups > 1 && xi >= 0) dx = Tensor::empty(n.in_shape, dy.device());
      for (int g = 0; g < n.groups; ++g) {
        const BatchNormSaved s{bn_saved_[static_cast<size_t>(n.custom_first + 2 * g)],
                               bn_saved_[static_cast<size_t>(n.custom_first + 2 * g + 1)], n.bn.comm};
        Tensor dxg = n.groups == 1 ? batch_norm_backward(dy, n.saved[0], n.saved[1], s, dgamma, dbeta)
                                   : batch_norm_backward(dy.slice0(g * per, per), n.saved[0].slice0(g * per, per),
                                                         n.saved[1], s, dgamma, dbeta);
        if (n.groups == 1) {
          dx = dxg;
        } else if (xi >= 0) {
          Tensor part = dx.slice0(g * per, per);
          part.copy_from(dxg);
        }
      }
      if (gi >= 0 && !is_param(gi)) accumulate(gi, dgamma_tmp, true);
      if (bi >= 0 && !is_param(bi)) accumulate(bi, dbeta_tmp, true);
      if (xi >= 0) accumulate(xi, dx, true);
      break;
    }
  }
}

}  // namespace lpl::ag
