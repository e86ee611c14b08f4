#include "models/data_parallel.h"

#include <algorithm>

namespace lpl {

void GradientSync::all_reduce(const std::vector<Param*>& params) {
  size_t i = 0;
  while (i < params.size()) {
    // The next bucket: consecutive gradients up to cap_ floats (a larger one goes alone, in place).
    const Device d = params[i]->grad.device();
    size_t j = i;
    int64_t n = 0;
    while (j < params.size() && params[j]->grad.device() == d && (j == i || n + params[j]->grad.numel() <= cap_))
      n += params[j++]->grad.numel();
    if (j == i + 1) {
      comm_.all_reduce_sum(params[i]->grad.f(), n, d);
      i = j;
      continue;
    }
    if (!bucket_.defined() || bucket_.numel() < n || bucket_.device() != d)
      bucket_ = Tensor::empty({std::max(n, bucket_.defined() ? bucket_.numel() : 0)}, d);
    int64_t off = 0;
    for (size_t k = i; k < j; ++k) {
      const Tensor& g = params[k]->grad;
      memcpy_bytes(bucket_.f() + off, d, g.f(), d, static_cast<size_t>(g.numel()) * sizeof(float));
      off += g.numel();
    }
    comm_.all_reduce_sum(bucket_.f(), n, d);
    off = 0;
    for (size_t k = i; k < j; ++k) {
      Tensor& g = params[k]->grad;
      memcpy_bytes(g.f(), d, bucket_.f() + off, d, static_cast<size_t>(g.numel()) * sizeof(float));
      off += g.numel();
    }
    i = j;
  }
}

void GradientSync::start(const std::vector<Param*>& params) {
  for (Param* p : params) comm_.all_reduce_sum_async(p->grad.f(), p->grad.numel(), p->grad.device());
}

void GradientSync::finish(Device d) { comm_.finish_async(d); }

void broadcast_weights(Encoder& net, Communicator& comm, int root) {
  std::vector<Tensor*> ts;
  for (Param* p : net.params()) ts.push_back(&p->value);
  for (Buffer* b : net.buffers()) ts.push_back(&b->value);
  for (Tensor* t : ts) {
    Tensor h = t->to(cpu());  // host staging: broadcast moves host bytes
    comm.broadcast(h.data<void>(), static_cast<size_t>(h.numel()) * dtype_size(h.dtype()), root);
    t->copy_from(h);
  }
}

bool any_rank(bool flag, Communicator* comm) {
  if (!comm) return flag;
  double v = flag ? 1.0 : 0.0;
  comm->all_reduce_sum(&v, 1, cpu());
  return v > 0;
}

}  // namespace lpl
