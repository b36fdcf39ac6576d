#include <limits>

#include "calibrate/cuda/gemm.cuh"

namespace zerosim::calib::cuda {

namespace {

int narrow(int64_t v) {
  if (v < 0 || v > std::numeric_limits<int>::max())
    throw std::invalid_argument("gemm: dimension out of int range");
  return static_cast<int>(v);
}

cublasOperation_t cublas_op(Op op) { return op == Op::transpose ? CUBLAS_OP_T : CUBLAS_OP_N; }

}  // namespace

Context::Context() {
  check(cudaStreamCreate(&stream_), "cudaStreamCreate");
  check(cublasCreate(&blas_), "cublasCreate");
  check(cublasSetStream(blas_, stream_), "cublasSetStream");
}

Context::~Context() {
  cublasDestroy(blas_);
  cudaStreamDestroy(stream_);
}

// cuBLAS is column-major; a row-major matrix is its column-major transpose, so the row-major
// product C = op(A)·op(B) is computed as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap operands.
void gemm(const Context& ctx, Op op_a, Op op_b, int64_t m, int64_t n, int64_t k, float alpha, const bf16* a,
          int64_t lda, const bf16* b, int64_t ldb, float beta, bf16* c, int64_t ldc) {
  check(cublasGemmEx(ctx.blas(), cublas_op(op_b), cublas_op(op_a), narrow(n), narrow(m), narrow(k), &alpha, b,
                     CUDA_R_16BF, narrow(ldb), a, CUDA_R_16BF, narrow(lda), &beta, c, CUDA_R_16BF,
                     narrow(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

void gemm_batched(const Context& ctx, Op op_a, Op op_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const bf16* const* a, int64_t lda, const bf16* const* b, int64_t ldb, float beta,
                  bf16* const* c, int64_t ldc, int64_t batch) {
  check(cublasGemmBatchedEx(ctx.blas(), cublas_op(op_b), cublas_op(op_a), narrow(n), narrow(m), narrow(k),
                            &alpha, reinterpret_cast<const void* const*>(b), CUDA_R_16BF, narrow(ldb),
                            reinterpret_cast<const void* const*>(a), CUDA_R_16BF, narrow(lda), &beta,
                            reinterpret_cast<void* const*>(c), CUDA_R_16BF, narrow(ldc), narrow(batch),
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmBatchedEx");
}

}  // namespace zerosim::calib::cuda
