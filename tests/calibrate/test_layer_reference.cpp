// Backward passes of the CPU layer reference against finite differences of their forward.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>

#include "calibrate/cpu/layer_reference.h"

using namespace zerosim::calib;
using cpu::Matrix;

namespace {

Matrix random(int64_t rows, int64_t cols, uint64_t seed, float scale = 1.0f) {
  Matrix m(rows, cols);
  cpu::fill_uniform(m, seed, scale);
  return m;
}

double dot(const Matrix& a, const Matrix& b) {
  double s = 0;
  for (size_t i = 0; i < a.v.size(); ++i) s += static_cast<double>(a.v[i]) * b.v[i];
  return s;
}

// Checks analytic[i] against the central difference of loss() in input[i], for every element.
void check_gradient(std::vector<float>& input, const std::vector<float>& analytic,
                    const std::function<double()>& loss, float h = 1e-2f) {
  double scale = 0;
  for (float g : analytic) scale = std::max(scale, static_cast<double>(std::abs(g)));
  for (size_t i = 0; i < input.size(); ++i) {
    const float saved = input[i];
    input[i] = saved + h;
    const double up = loss();
    input[i] = saved - h;
    const double down = loss();
    input[i] = saved;
    REQUIRE(analytic[i] == Approx((up - down) / (2.0 * h)).margin(2e-3 * scale + 1e-4));
  }
}

}  // namespace

TEST_CASE("RMSNorm backward is the derivative of its forward", "[layer]") {
  Matrix x = random(5, 16, 1), dy = random(5, 16, 2);
  std::vector<float> w(16);
  cpu::fill_uniform(w, 3, 1.0f);
  Matrix y(5, 16), dx(5, 16);
  std::vector<float> rstd;
  cpu::rmsnorm_forward(x, w, y, rstd);
  cpu::rmsnorm_backward(dy, x, w, rstd, dx);
  check_gradient(x.v, dx.v, [&] {
    cpu::rmsnorm_forward(x, w, y, rstd);
    return dot(y, dy);
  });
}

TEST_CASE("SwiGLU backward is the derivative of its forward", "[layer]") {
  Matrix g = random(4, 10, 11, 3.0f), u = random(4, 10, 12), dh = random(4, 10, 13), h(4, 10), dg(4, 10),
         du(4, 10);
  cpu::swiglu_backward(dh, g, u, dg, du);
  auto loss = [&] {
    cpu::swiglu_forward(g, u, h);
    return dot(h, dh);
  };
  check_gradient(g.v, dg.v, loss);
  check_gradient(u.v, du.v, loss);
}

TEST_CASE("rotary backward undoes the forward rotation and is its transpose", "[layer]") {
  const auto tab = cpu::rotary_tables(6, 8);
  Matrix qk = random(6, 24, 21), orig = qk;
  cpu::rotary_forward(qk, tab);
  double moved = 0;
  for (size_t i = 0; i < qk.v.size(); ++i) moved += std::abs(qk.v[i] - orig.v[i]);
  CHECK(moved > 0.1);  // positions > 0 rotate
  cpu::rotary_backward(qk, tab);
  for (size_t i = 0; i < qk.v.size(); ++i) REQUIRE(qk.v[i] == Approx(orig.v[i]).margin(1e-5));
}

TEST_CASE("causal attention: forward matches a naive softmax, backward its finite differences", "[layer]") {
  // 2 sequences of 5, 4 query heads sharing 2 KV heads of dim 4.
  const auto s = cpu::attention_shape(10, 5, 16, 8, 4);
  Matrix q = random(10, 16, 31), k = random(10, 8, 32), v = random(10, 8, 33), dout = random(10, 16, 34);
  Matrix out(10, 16), lse(10, 4), dq(10, 16), dk(10, 8), dv(10, 8);
  cpu::attention_forward(s, q, k, v, out, lse);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < 4; ++h)
      for (int64_t i = 0; i < 5; ++i) {
        const int64_t g = h / 2, qi = b * 5 + i;
        std::vector<double> p(static_cast<size_t>(i + 1));
        double sum = 0;
        for (int64_t j = 0; j <= i; ++j) {
          double sc = 0;
          for (int64_t d = 0; d < 4; ++d)
            sc += static_cast<double>(q.at(qi, h * 4 + d)) * k.at(b * 5 + j, g * 4 + d);
          sum += p[static_cast<size_t>(j)] = std::exp(sc / 2.0);
        }
        for (int64_t d = 0; d < 4; ++d) {
          double o = 0;
          for (int64_t j = 0; j <= i; ++j) o += p[static_cast<size_t>(j)] / sum * v.at(b * 5 + j, g * 4 + d);
          REQUIRE(out.at(qi, h * 4 + d) == Approx(o).margin(1e-5));
        }
      }
  cpu::attention_backward(s, q, k, v, out, lse, dout, dq, dk, dv);
  auto loss = [&] {
    cpu::attention_forward(s, q, k, v, out, lse);
    return dot(out, dout);
  };
  check_gradient(q.v, dq.v, loss);
  check_gradient(k.v, dk.v, loss);
  check_gradient(v.v, dv.v, loss);
}

TEST_CASE("cross-entropy: mean NLL and its gradient", "[layer]") {
  Matrix logits = random(4, 7, 41, 3.0f);
  const std::vector<int32_t> targets = {0, 6, 3, 3};
  std::vector<float> lse;
  const double l = cpu::cross_entropy_forward(logits, targets, lse);
  double ref = 0;
  for (int64_t t = 0; t < 4; ++t) {
    double z = 0;
    for (int64_t j = 0; j < 7; ++j) z += std::exp(static_cast<double>(logits.at(t, j)));
    ref += std::log(z) - logits.at(t, targets[static_cast<size_t>(t)]);
  }
  CHECK(l == Approx(ref / 4).epsilon(1e-6));
  Matrix d(4, 7);
  cpu::cross_entropy_backward(logits, targets, lse, d);
  check_gradient(logits.v, d.v, [&] {
    std::vector<float> tmp;
    return cpu::cross_entropy_forward(logits, targets, tmp);
  });
}
