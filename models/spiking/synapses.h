// Sparse connectivity as a list of synapses sorted by presynaptic, then postsynaptic unit (the
// order of Auryn's .wmat files), plus the builders used by both programs.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lpl::spiking {

struct Synapses {
  int n_pre = 0, n_post = 0;
  std::vector<uint32_t> pre, post;
  std::vector<float> w;
  size_t size() const { return w.size(); }
};

// Independent Bernoulli(p) per (pre, post) pair, weight w0; optionally without i == j pairs.
Synapses random_synapses(int n_pre, int n_post, double p, float w0, bool no_self, std::mt19937_64& rng);
// Synapses at the non-zero entries of `mask` (n_pre x n_post), weight mask * w0.
Synapses masked_synapses(const Synapses& mask, float w0);

// Pre-major compressed rows: for each presynaptic unit, the range of its synapses in `s`.
std::vector<uint32_t> row_pointers(const Synapses& s);

}  // namespace lpl::spiking
