#include "calibrate/cpu/gemm.h"

#include <cblas.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace zerosim::calib::cpu {

namespace {

blasint narrow(int64_t v) {
  if (v < 0 || v > std::numeric_limits<blasint>::max())
    throw std::invalid_argument("gemm: dimension " + std::to_string(v) + " does not fit the BLAS integer");
  return static_cast<blasint>(v);
}

CBLAS_TRANSPOSE cblas_op(Op op) { return op == Op::transpose ? CblasTrans : CblasNoTrans; }

}  // namespace

void gemm_strided(Op op_a, Op op_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, cblas_op(op_a), cblas_op(op_b), narrow(m), narrow(n), narrow(k), alpha, a,
              narrow(lda), b, narrow(ldb), beta, c, narrow(ldc));
}

void gemm(Op op_a, Op op_b, float alpha, const Matrix& a, const Matrix& b, float beta, Matrix& c) {
  const int64_t m = op_a == Op::none ? a.rows : a.cols;
  const int64_t k = op_a == Op::none ? a.cols : a.rows;
  const int64_t kb = op_b == Op::none ? b.rows : b.cols;
  const int64_t n = op_b == Op::none ? b.cols : b.rows;
  if (k != kb || c.rows != m || c.cols != n)
    throw std::invalid_argument("gemm: shapes do not conform (" + std::to_string(m) + "×" +
                                std::to_string(k) + " · " + std::to_string(kb) + "×" + std::to_string(n) +
                                " → " + std::to_string(c.rows) + "×" + std::to_string(c.cols) + ")");
  gemm_strided(op_a, op_b, m, n, k, alpha, a.data(), a.cols, b.data(), b.cols, beta, c.data(), c.cols);
}

}  // namespace zerosim::calib::cpu
