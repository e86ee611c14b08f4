// CPU GEMM through oneDNN's row-major sgemm (same JIT kernels PyTorch's CPU matmul uses).
#include <dnnl.hpp>
#include <fmt/format.h>
#include <omp.h>

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

}  // namespace lpl::cpu_backend
