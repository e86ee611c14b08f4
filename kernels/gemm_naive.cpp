// CPU GEMM for builds without oneDNN (the CUDA-only GPU-check configuration): plain loops, so
// the CPU tests and the CPU-vs-CUDA comparisons of gemm/linear/gram still have a CPU side there.
// Normal builds use oneDNN (kernels/gemm_dnnl.cpp).
#if !LPL_HAVE_DNNL
#include "engine/parallel.h"
#include "kernels/backend.h"
#include "kernels/convert.h"

namespace lpl::cpu_backend {

void gemm(Device, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cpu_for(
      M,
      [&](int64_t i) {
        float* c = C + i * ldc;
        for (int64_t j = 0; j < N; ++j) c[j] = beta == 0.f ? 0.f : beta * c[j];  // beta 0: C may hold NaN
        for (int64_t k = 0; k < K; ++k) {
          const float a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
          if (tb)
            for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
          else
            for (int64_t j = 0; j < N; ++j) c[j] += a * B[k * ldb + j];
        }
      },
      N * K);
}

// bf16 operands (ops.cpp refuses --precision bf16 on the CPU of this build; kept for completeness).
void gemm_bf16(Device, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cpu_for(
      M,
      [&](int64_t i) {
        float* c = C + i * ldc;
        for (int64_t j = 0; j < N; ++j) {
          float acc = 0.f;
          for (int64_t k = 0; k < K; ++k)
            acc += kern::bf16_to_f32(ta ? A[k * lda + i] : A[i * lda + k]) *
                   kern::bf16_to_f32(tb ? B[j * ldb + k] : B[k * ldb + j]);
          c[j] = beta == 0.f ? acc : acc + beta * c[j];
        }
      },
      N * K);
}

}  // namespace lpl::cpu_backend
#endif
