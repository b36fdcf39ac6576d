// The CPU DoRA reference against closed-form math (naive double loops) and finite
// differences, for several shapes and ranks, lora_dropout on and off.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "calibrate/counter_random.h"
#include "calibrate/cpu/dora_reference.h"

using namespace zerosim::calib;
using cpu::Matrix;

namespace {

struct Shape {
  int64_t T, d_in, d_out, r;
};
const std::vector<Shape> kShapes = {{7, 5, 6, 2}, {16, 12, 9, 4}, {9, 20, 14, 8}};

Matrix random(int64_t rows, int64_t cols, uint64_t seed) {
  Matrix m(rows, cols);
  cpu::fill_uniform(m, seed, 1.0f);
  return m;
}

// ‖W0 + c·B·A‖ per row, in double.
std::vector<double> naive_norm(const cpu::DoraWeights& w) {
  std::vector<double> n(static_cast<size_t>(w.W0.rows));
  for (int64_t i = 0; i < w.W0.rows; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < w.W0.cols; ++j) {
      double ba = 0;
      for (int64_t k = 0; k < w.A.rows; ++k) ba += static_cast<double>(w.B.at(i, k)) * w.A.at(k, j);
      const double v = w.W0.at(i, j) + w.scaling * ba;
      ss += v * v;
    }
    n[static_cast<size_t>(i)] = std::sqrt(ss);
  }
  return n;
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

// x_d as peft's nn.Dropout with the shared counter-based mask.
std::vector<double> dropped(const Matrix& x, const cpu::Dropout& d) {
  std::vector<double> out(x.v.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = d.p > 0 ? (dropout_keep(d.seed, i, d.p) ? x.v[i] / (1.0 - d.p) : 0.0) : x.v[i];
  return out;
}

// y = x·W0ᵀ + (s−1)⊙(x_d·W0ᵀ) + c·s⊙(x_d·Aᵀ·Bᵀ): the DoRA output written out by hand.
std::vector<double> naive_forward(const cpu::DoraWeights& w, const Matrix& x, const cpu::Dropout& d) {
  const std::vector<double> n = naive_norm(w), xd = dropped(x, d);
  const int64_t T = x.rows, di = x.cols, dout = w.W0.rows, r = w.A.rows;
  std::vector<double> y(static_cast<size_t>(T * dout));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < dout; ++i) {
      const double s = w.m[static_cast<size_t>(i)] / n[static_cast<size_t>(i)];
      double base = 0, base_d = 0, lora = 0;
      for (int64_t j = 0; j < di; ++j) {
        base += static_cast<double>(x.at(t, j)) * w.W0.at(i, j);
        base_d += xd[static_cast<size_t>(t * di + j)] * w.W0.at(i, j);
        double ba = 0;
        for (int64_t k = 0; k < r; ++k) ba += static_cast<double>(w.B.at(i, k)) * w.A.at(k, j);
        lora += xd[static_cast<size_t>(t * di + j)] * ba;
      }
      y[static_cast<size_t>(t * dout + i)] = base + (s - 1) * base_d + w.scaling * s * lora;
    }
  return y;
}

// Σ G⊙y with the norm held fixed (peft detaches it), in double.
double loss(const cpu::DoraWeights& w, const Matrix& x, const Matrix& G, const cpu::Dropout& d,
            const cpu::WeightNorm& fixed_norm) {
  auto st = cpu::make_dora_forward_state(x.rows, x.cols, w.W0.rows, w.A.rows, d);
  cpu::dora_forward(w, x, d, st, &fixed_norm);
  double l = 0;
  for (size_t i = 0; i < G.v.size(); ++i) l += static_cast<double>(G.v[i]) * st.y.v[i];
  return l;
}

// Central difference of the loss in one float, all other inputs fixed. The loss is linear in
// each of x, A, B, m once the norm is fixed, so a large step is exact up to rounding.
template <class Perturb>
double finite_difference(float& value, Perturb&& eval) {
  const float h = 0.25f, saved = value;
  value = saved + h;
  const double up = eval();
  value = saved - h;
  const double down = eval();
  value = saved;
  return (up - down) / (2.0 * h);
}

}  // namespace

TEST_CASE("peft's weight norm (eye trick) and the fused norm equal ‖W0 + c·B·A‖ per row", "[dora]") {
  for (const Shape& s : kShapes) {
    const auto w = cpu::random_dora_weights(s.d_in, s.d_out, s.r, 1.5f, 100 + static_cast<uint64_t>(s.r));
    const std::vector<double> ref = naive_norm(w);
    cpu::WeightNorm peft, fused;
    auto ws = cpu::make_weight_norm_workspace(s.d_in, s.d_out, s.r);
    cpu::dora_weight_norm_peft(w, ws, peft);
    cpu::dora_weight_norm_fused(w, fused);
    for (int64_t i = 0; i < s.d_out; ++i) {
      const auto k = static_cast<size_t>(i);
      CHECK(peft.n[k] == Approx(ref[k]).epsilon(1e-5));
      CHECK(fused.n[k] == Approx(ref[k]).epsilon(1e-5));
      CHECK(peft.s[k] == Approx(w.m[k] / ref[k]).epsilon(1e-5));
    }
  }
}

TEST_CASE("DoRA forward matches the closed form, dropout off and on", "[dora]") {
  for (const Shape& s : kShapes)
    for (float p : {0.0f, 0.3f}) {
      CAPTURE(s.T, s.d_in, s.d_out, s.r, p);
      const auto w = cpu::random_dora_weights(s.d_in, s.d_out, s.r, 2.0f, 7);
      const Matrix x = random(s.T, s.d_in, 8);
      const cpu::Dropout d{p, 9};
      auto st = cpu::make_dora_forward_state(s.T, s.d_in, s.d_out, s.r, d);
      cpu::dora_forward(w, x, d, st);
      const std::vector<double> ref = naive_forward(w, x, d);
      for (size_t i = 0; i < ref.size(); ++i) REQUIRE(st.y.v[i] == Approx(ref[i]).margin(1e-4).epsilon(1e-4));
    }
}

TEST_CASE("without dropout DoRA equals a linear layer with the merged weight m/n·(W0 + c·B·A)", "[dora]") {
  const Shape s = kShapes[1];
  const auto w = cpu::random_dora_weights(s.d_in, s.d_out, s.r, 2.0f, 21);
  const Matrix x = random(s.T, s.d_in, 22);
  const std::vector<double> n = naive_norm(w);
  Matrix merged(s.d_out, s.d_in);
  for (int64_t i = 0; i < s.d_out; ++i)
    for (int64_t j = 0; j < s.d_in; ++j) {
      double ba = 0;
      for (int64_t k = 0; k < s.r; ++k) ba += static_cast<double>(w.B.at(i, k)) * w.A.at(k, j);
      merged.at(i, j) = static_cast<float>(w.m[static_cast<size_t>(i)] / n[static_cast<size_t>(i)] *
                                           (w.W0.at(i, j) + w.scaling * ba));
    }
  Matrix y(s.T, s.d_out);
  cpu::linear_forward(x, merged, y);
  auto st = cpu::make_dora_forward_state(s.T, s.d_in, s.d_out, s.r, {});
  cpu::dora_forward(w, x, {}, st);
  for (size_t i = 0; i < y.v.size(); ++i) REQUIRE(st.y.v[i] == Approx(y.v[i]).margin(1e-5).epsilon(1e-4));
}

TEST_CASE("DoRA backward matches finite differences with the norm detached, dropout off and on", "[dora]") {
  for (const Shape& s : kShapes)
    for (float p : {0.0f, 0.25f}) {
      CAPTURE(s.T, s.d_in, s.d_out, s.r, p);
      auto w = cpu::random_dora_weights(s.d_in, s.d_out, s.r, 2.0f, 31);
      Matrix x = random(s.T, s.d_in, 32);
      const Matrix G = random(s.T, s.d_out, 33);
      const cpu::Dropout d{p, 34};
      auto fwd = cpu::make_dora_forward_state(s.T, s.d_in, s.d_out, s.r, d);
      cpu::dora_forward(w, x, d, fwd);
      const cpu::WeightNorm norm = fwd.norm;
      auto bwd = cpu::make_dora_backward_state(s.T, s.d_in, s.d_out, s.r);
      cpu::dora_backward(w, x, d, fwd, G, bwd);
      auto eval = [&] { return loss(w, x, G, d, norm); };
      // m enters through s = m/n with n fixed: perturbing m must not touch n.
      auto eval_m = [&] {
        cpu::WeightNorm nm = norm;
        for (size_t i = 0; i < nm.s.size(); ++i) nm.s[i] = w.m[i] / nm.n[i];
        return loss(w, x, G, d, nm);
      };
      const double tol_x = 1e-3 * max_abs(bwd.grads.dx.v), tol_a = 1e-3 * max_abs(bwd.grads.dA.v);
      const double tol_b = 1e-3 * max_abs(bwd.grads.dB.v), tol_m = 1e-3 * max_abs(bwd.grads.dm);
      for (size_t i = 0; i < x.v.size(); ++i)
        REQUIRE(bwd.grads.dx.v[i] == Approx(finite_difference(x.v[i], eval)).margin(tol_x));
      for (size_t i = 0; i < w.A.v.size(); ++i)
        REQUIRE(bwd.grads.dA.v[i] == Approx(finite_difference(w.A.v[i], eval)).margin(tol_a));
      for (size_t i = 0; i < w.B.v.size(); ++i)
        REQUIRE(bwd.grads.dB.v[i] == Approx(finite_difference(w.B.v[i], eval)).margin(tol_b));
      for (size_t i = 0; i < w.m.size(); ++i)
        REQUIRE(bwd.grads.dm[i] == Approx(finite_difference(w.m[i], eval_m)).margin(tol_m));
    }
}

TEST_CASE("DoRA backward without dropout matches the closed form dX = (G⊙s)·W0 + ((c·G⊙s)·B)·A", "[dora]") {
  for (const Shape& s : kShapes) {
    const auto w = cpu::random_dora_weights(s.d_in, s.d_out, s.r, 0.5f, 41);
    const Matrix x = random(s.T, s.d_in, 42), G = random(s.T, s.d_out, 43);
    auto fwd = cpu::make_dora_forward_state(s.T, s.d_in, s.d_out, s.r, {});
    cpu::dora_forward(w, x, {}, fwd);
    auto bwd = cpu::make_dora_backward_state(s.T, s.d_in, s.d_out, s.r);
    cpu::dora_backward(w, x, {}, fwd, G, bwd);
    const std::vector<double> n = naive_norm(w);
    for (int64_t t = 0; t < s.T; ++t)
      for (int64_t j = 0; j < s.d_in; ++j) {
        double dx = 0;
        for (int64_t i = 0; i < s.d_out; ++i) {
          const double gs = G.at(t, i) * w.m[static_cast<size_t>(i)] / n[static_cast<size_t>(i)];
          double ba = 0;
          for (int64_t k = 0; k < s.r; ++k) ba += static_cast<double>(w.B.at(i, k)) * w.A.at(k, j);
          dx += gs * (w.W0.at(i, j) + w.scaling * ba);
        }
        REQUIRE(bwd.grads.dx.at(t, j) == Approx(dx).margin(1e-4).epsilon(1e-4));
      }
    // dm_i = Σ_t G_ti·(x·(W0 + c·B·A)ᵀ)_ti / n_i
    for (int64_t i = 0; i < s.d_out; ++i) {
      double dm = 0;
      for (int64_t t = 0; t < s.T; ++t) {
        double v = 0;
        for (int64_t j = 0; j < s.d_in; ++j) {
          double ba = 0;
          for (int64_t k = 0; k < s.r; ++k) ba += static_cast<double>(w.B.at(i, k)) * w.A.at(k, j);
          v += x.at(t, j) * (w.W0.at(i, j) + w.scaling * ba);
        }
        dm += G.at(t, i) * v;
      }
      REQUIRE(bwd.grads.dm[static_cast<size_t>(i)] ==
              Approx(dm / n[static_cast<size_t>(i)]).margin(1e-4).epsilon(1e-4));
    }
  }
}

TEST_CASE("detaching the norm changes dB: peft's gradient is not the full derivative", "[dora]") {
  const Shape s = kShapes[1];
  auto w = cpu::random_dora_weights(s.d_in, s.d_out, s.r, 2.0f, 51);
  const Matrix x = random(s.T, s.d_in, 52), G = random(s.T, s.d_out, 53);
  auto fwd = cpu::make_dora_forward_state(s.T, s.d_in, s.d_out, s.r, {});
  cpu::dora_forward(w, x, {}, fwd);
  auto bwd = cpu::make_dora_backward_state(s.T, s.d_in, s.d_out, s.r);
  cpu::dora_backward(w, x, {}, fwd, G, bwd);
  auto full_loss = [&] {  // norm recomputed from the perturbed B: the undetached function
    auto st = cpu::make_dora_forward_state(s.T, s.d_in, s.d_out, s.r, {});
    cpu::dora_forward(w, x, {}, st);
    double l = 0;
    for (size_t i = 0; i < G.v.size(); ++i) l += static_cast<double>(G.v[i]) * st.y.v[i];
    return l;
  };
  double max_gap = 0;
  for (size_t i = 0; i < w.B.v.size(); ++i) {
    const float saved = w.B.v[i], h = 1e-2f;
    w.B.v[i] = saved + h;
    const double up = full_loss();
    w.B.v[i] = saved - h;
    const double down = full_loss();
    w.B.v[i] = saved;
    max_gap = std::max(max_gap, std::abs((up - down) / (2 * h) - bwd.grads.dB.v[i]));
  }
  CHECK(max_gap > 1e-2 * max_abs(bwd.grads.dB.v));
}

TEST_CASE("LoRA forward and backward match the closed form", "[lora]") {
  for (const Shape& s : kShapes) {
    const auto w = cpu::random_dora_weights(s.d_in, s.d_out, s.r, 2.0f, 61);
    const Matrix x = random(s.T, s.d_in, 62), G = random(s.T, s.d_out, 63);
    Matrix y(s.T, s.d_out), dA(s.r, s.d_in), dB(s.d_out, s.r), dx(s.T, s.d_in);
    cpu::LoraForwardBuffers fb{Matrix(s.T, s.r), Matrix(s.T, s.d_out)};
    cpu::lora_forward(x, w.A, w.B, w.scaling, fb, y);
    cpu::LoraBackwardBuffers bb{Matrix(s.T, s.d_out), Matrix(s.T, s.r), Matrix(s.T, s.d_in)};
    cpu::lora_backward(G, x, w.A, w.B, fb.h, w.scaling, bb, dA, dB, dx);
    for (int64_t k = 0; k < s.r; ++k)
      for (int64_t j = 0; j < s.d_in; ++j) {  // dA = c·Bᵀ·Gᵀ·x
        double v = 0;
        for (int64_t t = 0; t < s.T; ++t)
          for (int64_t i = 0; i < s.d_out; ++i) v += w.scaling * w.B.at(i, k) * G.at(t, i) * x.at(t, j);
        REQUIRE(dA.at(k, j) == Approx(v).margin(1e-4).epsilon(1e-4));
      }
    for (int64_t t = 0; t < s.T; ++t)
      for (int64_t i = 0; i < s.d_out; ++i) {  // y = c·x·Aᵀ·Bᵀ (y started at 0)
        double v = 0;
        for (int64_t k = 0; k < s.r; ++k) v += w.scaling * fb.h.at(t, k) * w.B.at(i, k);
        REQUIRE(y.at(t, i) == Approx(v).margin(1e-5).epsilon(1e-4));
      }
  }
}
