#include "models/spiking/synapses.h"

#include "engine/common.h"

namespace lpl::spiking {

Synapses random_synapses(int n_pre, int n_post, double p, float w0, bool no_self, std::mt19937_64& rng) {
  LPL_CHECK(p >= 0 && p <= 1, strf("connection probability must be in [0, 1], got %g", p));
  Synapses s;
  s.n_pre = n_pre;
  s.n_post = n_post;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int j = 0; j < n_pre; ++j)
    for (int i = 0; i < n_post; ++i) {
      if (no_self && i == j) continue;
      if (p < 1.0 && !(u(rng) < p)) continue;
      s.pre.push_back(static_cast<uint32_t>(j));
      s.post.push_back(static_cast<uint32_t>(i));
      s.w.push_back(w0);
    }
  return s;
}

Synapses masked_synapses(const Synapses& mask, float w0) {
  Synapses s;
  s.n_pre = mask.n_pre;
  s.n_post = mask.n_post;
  for (size_t k = 0; k < mask.size(); ++k) {
    if (mask.w[k] == 0.f) continue;
    s.pre.push_back(mask.pre[k]);
    s.post.push_back(mask.post[k]);
    s.w.push_back(mask.w[k] * w0);
  }
  return s;
}

std::vector<uint32_t> row_pointers(const Synapses& s) {
  std::vector<uint32_t> ptr(static_cast<size_t>(s.n_pre) + 1, 0);
  for (size_t k = 0; k < s.size(); ++k) {
    LPL_CHECK(k == 0 || s.pre[k] > s.pre[k - 1] || (s.pre[k] == s.pre[k - 1] && s.post[k] > s.post[k - 1]),
              strf("synapse list not sorted by (pre, post) or has duplicates at entry %zu", k));
    ++ptr[s.pre[k] + 1];
  }
  for (int j = 0; j < s.n_pre; ++j) ptr[j + 1] += ptr[j];
  return ptr;
}

}  // namespace lpl::spiking
