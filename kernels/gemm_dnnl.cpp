// CPU GEMM through oneDNN: the row-major sgemm (same JIT kernels PyTorch's CPU matmul uses) and, for
// --precision bf16, a matmul primitive on bfloat16 operands with a float32 result (AVX512-BF16 / AMX).
#include <dnnl.hpp>
#include <fmt/format.h>
#include <omp.h>

#include <array>
#include <map>
#include <mutex>

#include "engine/parallel.h"
#include "kernels/backend.h"

namespace lpl::cpu_backend {

void gemm(Device, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  // oneDNN reads OpenMP's per-thread setting: apply the engine's thread count on the calling thread.
  if (omp_get_max_threads() != num_threads()) omp_set_num_threads(num_threads());
  dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  LPL_CHECK(st == dnnl_success, fmt::format("oneDNN sgemm failed (status {}) for M={} N={} K={}",
                                            static_cast<int>(st), M, N, K));
}

namespace {
dnnl::engine& matmul_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
}  // namespace

// Transposes are strides of the operands' descriptors, beta a sum post-op; one primitive per shape
// (and thread count: oneDNN blocks for the threads present at creation).
void gemm_bf16(Device, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  using dnnl::memory;
  using dt = memory::data_type;
  if (omp_get_max_threads() != num_threads()) omp_set_num_threads(num_threads());
  const std::array<int64_t, 10> key{ta, tb, M, N, K, lda, ldb, ldc, beta != 0.f, num_threads()};
  struct Cached {
    memory::desc a, b, c;
    dnnl::matmul prim;
  };
  static std::mutex mu;
  static std::map<std::array<int64_t, 10>, Cached> cache;
  static dnnl::stream stream(matmul_engine());
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Cached c;
    c.a = memory::desc({M, K}, dt::bf16, ta ? memory::dims{1, lda} : memory::dims{lda, 1});
    c.b = memory::desc({K, N}, dt::bf16, tb ? memory::dims{1, ldb} : memory::dims{ldb, 1});
    c.c = memory::desc({M, N}, dt::f32, memory::dims{ldc, 1});
    dnnl::primitive_attr attr;
    if (beta != 0.f) {
      dnnl::post_ops po;
      po.append_sum(beta);
      attr.set_post_ops(po);
    }
    try {
      c.prim = dnnl::matmul(dnnl::matmul::primitive_desc(
          dnnl::matmul::desc(c.a, c.b, c.c), attr, matmul_engine()));
    } catch (const dnnl::error& e) {
      fail(fmt::format("oneDNN has no bf16 matmul for M={} N={} K={} on this CPU ({})", M, N, K, e.what()));
    }
    it = cache.emplace(key, std::move(c)).first;
  }
  const Cached& c = it->second;
  memory a(c.a, matmul_engine(), const_cast<uint16_t*>(A)), b(c.b, matmul_engine(), const_cast<uint16_t*>(B)),
      out(c.c, matmul_engine(), C);
  c.prim.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, out}});
  stream.wait();
}

}  // namespace lpl::cpu_backend
