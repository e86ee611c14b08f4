#include "models/spiking/static_connection.h"

#include <algorithm>
#include <cmath>

#include "engine/common.h"
#include "models/spiking/constants.h"
#include "models/spiking/finite.h"

namespace lpl::spiking {

StaticConnection::StaticConnection(Synapses syn) : s_(std::move(syn)) {
  ptr_ = row_pointers(s_);
  for (size_t k = 0; k < s_.size(); ++k)
    LPL_CHECK(s_.post[k] < static_cast<uint32_t>(s_.n_post), strf("synapse %zu targets unit %u of %d", k, s_.post[k], s_.n_post));
}

template <class Real>
IstdpConnectionT<Real>::IstdpConnectionT(Synapses syn, const IstdpParams& p) : StaticConnection(std::move(syn)), p_(p) {
  LPL_CHECK(p.tau_stdp > 0 && p.wmax > 0, "iSTDP: tau_stdp and wmax must be > 0");
  fudge_ = 2.0 * p.kappa * p.tau_stdp;
  decay_ = static_cast<Real>(std::exp(-kDt / p.tau_stdp));
  w_.assign(s_.w.begin(), s_.w.end());
  x_pre_.assign(s_.n_pre, Real(0));
  x_post_.assign(s_.n_post, Real(0));
  post_ptr_.assign(static_cast<size_t>(s_.n_post) + 1, 0);
  for (size_t k = 0; k < s_.size(); ++k) ++post_ptr_[s_.post[k] + 1];
  for (int i = 0; i < s_.n_post; ++i) post_ptr_[i + 1] += post_ptr_[i];
  std::vector<uint32_t> fill(post_ptr_.begin(), post_ptr_.end() - 1);
  post_syn_.resize(s_.size());
  for (size_t k = 0; k < s_.size(); ++k) post_syn_[fill[s_.post[k]]++] = static_cast<uint32_t>(k);
}

template <class Real>
void IstdpConnectionT<Real>::transmit_and_learn(const std::vector<uint32_t>& delayed_pre,
                                                const std::vector<uint32_t>& post_now, Real* g_target) {
  if (!p_.plastic) {
    transmit(delayed_pre, g_target);
    return;
  }
  const Real wmax = static_cast<Real>(p_.wmax);
  for (uint32_t j : delayed_pre)
    for (uint32_t k = ptr_[j]; k < ptr_[j + 1]; ++k) {
      Real& w = w_[k];
      g_target[s_.post[k]] += w;
      w = w + static_cast<Real>(p_.zeta * (static_cast<double>(x_post_[s_.post[k]]) - fudge_));
      w = std::max(w, Real(0));
    }
  for (uint32_t i : post_now)
    for (uint32_t q = post_ptr_[i]; q < post_ptr_[i + 1]; ++q) {
      const uint32_t k = post_syn_[q];
      Real& w = w_[k];
      w = w + static_cast<Real>(p_.zeta * static_cast<double>(x_pre_[s_.pre[k]]));
      w = std::min(w, wmax);
    }
}

template <class Real>
void IstdpConnectionT<Real>::update_traces(const std::vector<uint32_t>& delayed_pre, const std::vector<uint32_t>& post_now) {
  for (uint32_t j : delayed_pre) x_pre_[j] += Real(1);
  for (auto& x : x_pre_) x *= decay_;
  for (uint32_t i : post_now) x_post_[i] += Real(1);
  for (auto& x : x_post_) x *= decay_;
}

template <class Real>
Synapses IstdpConnectionT<Real>::synapses() const {
  Synapses s = s_;
  for (size_t k = 0; k < w_.size(); ++k) s.w[k] = static_cast<float>(w_[k]);
  return s;
}

template <class Real>
bool IstdpConnectionT<Real>::all_finite() const {
  for (Real w : w_)
    if (!finite_value(w)) return false;
  return true;
}

template class IstdpConnectionT<float>;
template class IstdpConnectionT<double>;

}  // namespace lpl::spiking
