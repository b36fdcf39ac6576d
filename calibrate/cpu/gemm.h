#pragma once
// Row-major GEMM through OpenBLAS (cblas_sgemm): C = alpha·op(A)·op(B) + beta·C.
#include <cstdint>

#include "calibrate/cpu/matrix.h"

namespace zerosim::calib::cpu {

enum class Op { none, transpose };

// Shape-checked: throws std::invalid_argument when op(A), op(B) and C do not conform.
void gemm(Op op_a, Op op_b, float alpha, const Matrix& a, const Matrix& b, float beta, Matrix& c);

// Raw strided form for sub-blocks (attention heads): lda/ldb/ldc are row strides in elements.
void gemm_strided(Op op_a, Op op_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace zerosim::calib::cpu
