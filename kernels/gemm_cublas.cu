// CUDA GEMM through cuBLAS. cuBLAS is column-major: a row-major C = op(A) op(B) is the
// column-major C^T = op(B)^T op(A)^T, so the operands swap.
#include "engine/cuda_handles.h"
#include "kernels/backend.h"

namespace lpl::cuda_backend {

void gemm(Device d, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  LPL_CUBLAS_CHECK(cublasSgemm(cublas_handle(d), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                               static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, B,
                               static_cast<int>(ldb), A, static_cast<int>(lda), &beta, C, static_cast<int>(ldc)));
}

}  // namespace lpl::cuda_backend

namespace lpl::cuda_backend {

// bf16 operands on the tensor cores, float32 accumulation and output (cuBLAS's compute type 32F).
void gemm_bf16(Device d, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const uint16_t* A, int64_t lda,
               const uint16_t* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const float alpha = 1.f;
  LPL_CUBLAS_CHECK(cublasGemmEx(cublas_handle(d), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, B, CUDA_R_16BF,
                                static_cast<int>(ldb), A, CUDA_R_16BF, static_cast<int>(lda), &beta, C, CUDA_R_32F,
                                static_cast<int>(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

}  // namespace lpl::cuda_backend
