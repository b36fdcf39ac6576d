#pragma once
// Row-major bf16 GEMMs on cuBLAS with fp32 accumulation (CUBLAS_COMPUTE_32F), the precision
// PyTorch uses for bf16 matmuls: C = alpha·op(A)·op(B) + beta·C, leading dimensions = row strides.
#include "calibrate/cuda/cuda_util.cuh"

namespace zerosim::calib::cuda {

enum class Op { none, transpose };

void gemm(const Context& ctx, Op op_a, Op op_b, int64_t m, int64_t n, int64_t k, float alpha, const bf16* a,
          int64_t lda, const bf16* b, int64_t ldb, float beta, bf16* c, int64_t ldc);

// Row-major shorthand with packed leading dimensions.
inline void gemm(const Context& ctx, Op op_a, Op op_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const bf16* a, const bf16* b, float beta, bf16* c) {
  gemm(ctx, op_a, op_b, m, n, k, alpha, a, op_a == Op::none ? k : m, b, op_b == Op::none ? n : k, beta, c, n);
}

// Batched over independent (A, B, C) pointer triples held in device memory.
void gemm_batched(const Context& ctx, Op op_a, Op op_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const bf16* const* a, int64_t lda, const bf16* const* b, int64_t ldb, float beta,
                  bf16* const* c, int64_t ldc, int64_t batch);

}  // namespace zerosim::calib::cuda
