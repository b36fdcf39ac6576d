#include <algorithm>

#include "calibrate/counter_random.h"
#include "calibrate/cuda/kernels.cuh"

namespace zerosim::calib::cuda {

namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(
      std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 1 << 20)));
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

__device__ float to_f(bf16 v) { return __bfloat162float(v); }
__device__ bf16 to_bf(float v) { return __float2bfloat16(v); }

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide reductions (blockDim.x a multiple of 32, ≤ 1024); every thread gets the result.
__device__ float block_sum(float v) {
  __shared__ float partial[32];
  __syncthreads();  // the buffer may still be read by a previous reduction
  v = warp_sum(v);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
  __syncthreads();
  const int warps = static_cast<int>(blockDim.x >> 5);
  float total = threadIdx.x < static_cast<unsigned>(warps) ? partial[threadIdx.x] : 0.0f;
  if (threadIdx.x < 32) total = warp_sum(total);
  if (threadIdx.x == 0) partial[0] = total;
  __syncthreads();
  return partial[0];
}
__device__ float block_max(float v) {
  __shared__ float partial[32];
  __syncthreads();
  v = warp_max(v);
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
  __syncthreads();
  const int warps = static_cast<int>(blockDim.x >> 5);
  float m = threadIdx.x < static_cast<unsigned>(warps) ? partial[threadIdx.x] : -INFINITY;
  if (threadIdx.x < 32) m = warp_max(m);
  if (threadIdx.x == 0) partial[0] = m;
  __syncthreads();
  return partial[0];
}

#define GRID_STRIDE(i, n)                                                                \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

__global__ void fill_uniform_k(bf16* out, int64_t n, uint64_t seed, float scale) {
  GRID_STRIDE(i, n) out[i] = to_bf(scale * (2.0f * uniform01(seed, static_cast<uint64_t>(i)) - 1.0f));
}
__global__ void fill_value_k(float* out, int64_t n, float v) { GRID_STRIDE(i, n) out[i] = v; }
__global__ void fill_eye_k(bf16* out, int64_t d) {
  GRID_STRIDE(i, d * d) out[i] = to_bf(i / d == i % d ? 1.0f : 0.0f);
}
__global__ void scale_k(const bf16* in, float c, bf16* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = to_bf(c * to_f(in[i]));
}
__global__ void add_k(const bf16* a, const bf16* b, bf16* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = to_bf(to_f(a[i]) + to_f(b[i]));
}
__global__ void mul_k(const bf16* a, const bf16* b, bf16* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = to_bf(to_f(a[i]) * to_f(b[i]));
}
__global__ void mul_row_broadcast_k(const bf16* in, const float* v, bf16* out, int64_t rows, int64_t cols) {
  GRID_STRIDE(i, rows * cols) out[i] = to_bf(v[i % cols] * to_f(in[i]));
}
__global__ void add_scalar_vec_k(const float* v, float c, float* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = v[i] + c;
}
__global__ void div_vec_k(const float* a, const float* b, float* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = a[i] / b[i];
}
__global__ void add_vec_k(const float* a, const float* b, float* out, int64_t n) {
  GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

// Column sums split over row chunks (gridDim.y) so that short, wide matrices still fill the GPU.
__global__ void sum_over_rows_k(const bf16* in, float* out, int64_t rows, int64_t cols) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= cols) return;
  const int64_t chunk = (rows + gridDim.y - 1) / gridDim.y;
  const int64_t r0 = blockIdx.y * chunk, r1 = min(rows, r0 + chunk);
  float acc = 0.0f;
  for (int64_t t = r0; t < r1; ++t) acc += to_f(in[t * cols + j]);
  atomicAdd(&out[j], acc);
}

constexpr int kTile = 32;
__global__ void add_transposed_k(const bf16* W0, const bf16* in_t, bf16* out, int64_t rows, int64_t cols) {
  __shared__ float tile[kTile][kTile + 1];  // +1: no shared-memory bank conflicts on the transposed read
  const int64_t i0 = blockIdx.y * static_cast<int64_t>(kTile), j0 = blockIdx.x * static_cast<int64_t>(kTile);
  // Read in_t[j][i] for the tile, coalesced along i.
  for (int dy = threadIdx.y; dy < kTile; dy += blockDim.y) {
    const int64_t j = j0 + dy, i = i0 + threadIdx.x;
    if (j < cols && i < rows) tile[dy][threadIdx.x] = to_f(in_t[j * rows + i]);
  }
  __syncthreads();
  for (int dy = threadIdx.y; dy < kTile; dy += blockDim.y) {
    const int64_t i = i0 + dy, j = j0 + threadIdx.x;
    if (i < rows && j < cols) out[i * cols + j] = to_bf(to_f(W0[i * cols + j]) + tile[threadIdx.x][dy]);
  }
}

__global__ void row_l2_norm_k(const bf16* W, float* out, int64_t cols) {
  const bf16* row = W + blockIdx.x * cols;
  float acc = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    const float v = to_f(row[j]);
    acc += v * v;
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[blockIdx.x] = sqrtf(acc);
}

// ROWS output rows per block share each column of A loaded from memory; B's rows sit in shared
// memory. Work per element: r FMAs for (B·A)_ij, then (W0_ij + c·(BA)_ij)² accumulated in fp32.
template <int ROWS>
__global__ void fused_weight_norm_k(const bf16* W0, const bf16* A, const bf16* B, const float* m, float c,
                                    float* n, float* s, int64_t d_in, int64_t d_out, int64_t r) {
  extern __shared__ float b_rows[];  // ROWS × r
  const int64_t row0 = blockIdx.x * static_cast<int64_t>(ROWS);
  for (int64_t idx = threadIdx.x; idx < ROWS * r; idx += blockDim.x) {
    const int64_t i = row0 + idx / r;
    b_rows[idx] = i < d_out ? to_f(B[i * r + idx % r]) : 0.0f;
  }
  __syncthreads();
  float sq[ROWS];
  for (int q = 0; q < ROWS; ++q) sq[q] = 0.0f;
  for (int64_t j = threadIdx.x; j < d_in; j += blockDim.x) {
    float dot[ROWS];
    for (int q = 0; q < ROWS; ++q) dot[q] = 0.0f;
    for (int64_t k = 0; k < r; ++k) {
      const float a = to_f(A[k * d_in + j]);
      for (int q = 0; q < ROWS; ++q) dot[q] += b_rows[q * r + k] * a;
    }
    for (int q = 0; q < ROWS; ++q)
      if (row0 + q < d_out) {
        const float w = to_f(W0[(row0 + q) * d_in + j]) + c * dot[q];
        sq[q] += w * w;
      }
  }
  for (int q = 0; q < ROWS; ++q) {
    const float total = block_sum(sq[q]);
    if (threadIdx.x == 0 && row0 + q < d_out) {
      const float norm = sqrtf(total);
      n[row0 + q] = norm;
      s[row0 + q] = m[row0 + q] / norm;
    }
  }
}

__global__ void dropout_forward_k(const bf16* x, bf16* x_d, int64_t n, float p, uint64_t seed) {
  const float keep_scale = 1.0f / (1.0f - p);
  GRID_STRIDE(i, n)
  x_d[i] = to_bf(dropout_keep(seed, static_cast<uint64_t>(i), p) ? to_f(x[i]) * keep_scale : 0.0f);
}
__global__ void dropout_backward_accumulate_k(const bf16* g, bf16* dx, int64_t n, float p, uint64_t seed) {
  const float keep_scale = 1.0f / (1.0f - p);
  GRID_STRIDE(i, n) {
    const float mask = dropout_keep(seed, static_cast<uint64_t>(i), p) ? keep_scale : 0.0f;
    dx[i] = to_bf(to_f(dx[i]) + mask * to_f(g[i]));
  }
}

__global__ void rmsnorm_forward_k(const bf16* x, const bf16* w, bf16* y, float* rstd, int64_t cols,
                                  float eps) {
  const bf16* xr = x + blockIdx.x * cols;
  float ss = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) ss += to_f(xr[j]) * to_f(xr[j]);
  const float r = rsqrtf(block_sum(ss) / static_cast<float>(cols) + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    y[blockIdx.x * cols + j] = to_bf(to_f(xr[j]) * r * to_f(w[j]));
}
__global__ void rmsnorm_backward_k(const bf16* dy, const bf16* x, const bf16* w, const float* rstd, bf16* dx,
                                   int64_t cols) {
  const int64_t base = blockIdx.x * cols;
  const float r = rstd[blockIdx.x];
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    dot += to_f(w[j]) * to_f(dy[base + j]) * to_f(x[base + j]);
  const float coef = block_sum(dot) / static_cast<float>(cols) * r * r * r;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    dx[base + j] = to_bf(r * to_f(w[j]) * to_f(dy[base + j]) - to_f(x[base + j]) * coef);
}

__device__ float sigmoidf(float v) { return 1.0f / (1.0f + __expf(-v)); }
__global__ void swiglu_forward_k(const bf16* gate, const bf16* up, bf16* h, int64_t n) {
  GRID_STRIDE(i, n) {
    const float g = to_f(gate[i]);
    h[i] = to_bf(g * sigmoidf(g) * to_f(up[i]));
  }
}
__global__ void swiglu_backward_k(const bf16* dh, const bf16* gate, const bf16* up, bf16* dgate, bf16* dup,
                                  int64_t n) {
  GRID_STRIDE(i, n) {
    const float g = to_f(gate[i]), sg = sigmoidf(g), d = to_f(dh[i]);
    dup[i] = to_bf(d * g * sg);
    dgate[i] = to_bf(d * to_f(up[i]) * sg * (1.0f + g * (1.0f - sg)));
  }
}

__global__ void rotary_k(bf16* qk, const float* cos, const float* sin, int64_t rows, int64_t width,
                         int64_t head_dim, float sign) {
  const int64_t half = head_dim / 2, per_row = width / 2;
  GRID_STRIDE(idx, rows * per_row) {
    const int64_t t = idx / per_row, rem = idx % per_row, head = rem / half, i = rem % half;
    bf16* x = qk + t * width + head * head_dim;
    const float x1 = to_f(x[i]), x2 = to_f(x[i + half]);
    const float c1 = cos[t * head_dim + i], s1 = sign * sin[t * head_dim + i];
    const float c2 = cos[t * head_dim + i + half], s2 = sign * sin[t * head_dim + i + half];
    x[i] = to_bf(x1 * c1 - x2 * s1);
    x[i + half] = to_bf(x2 * c2 + x1 * s2);
  }
}

// One block per score row: row i of its matrix sees keys 0..i (HF eager: softmax in fp32).
__global__ void causal_softmax_k(bf16* scores, int64_t seq, float scale) {
  const int64_t row = blockIdx.x, i = row % seq;
  bf16* p = scores + row * seq;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j <= i; j += blockDim.x) mx = fmaxf(mx, scale * to_f(p[j]));
  mx = block_max(mx);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j <= i; j += blockDim.x) sum += __expf(scale * to_f(p[j]) - mx);
  const float inv = 1.0f / block_sum(sum);
  for (int64_t j = threadIdx.x; j < seq; j += blockDim.x)
    p[j] = to_bf(j <= i ? __expf(scale * to_f(p[j]) - mx) * inv : 0.0f);
}
__global__ void softmax_backward_k(const bf16* P, bf16* dP, int64_t seq) {
  const int64_t base = blockIdx.x * seq;
  float dot = 0.0f;
  for (int64_t j = threadIdx.x; j < seq; j += blockDim.x) dot += to_f(P[base + j]) * to_f(dP[base + j]);
  dot = block_sum(dot);
  for (int64_t j = threadIdx.x; j < seq; j += blockDim.x)
    dP[base + j] = to_bf(to_f(P[base + j]) * (to_f(dP[base + j]) - dot));
}

__global__ void cross_entropy_forward_k(const bf16* logits, const int32_t* targets, float* lse, float* loss,
                                        int64_t vocab) {
  const bf16* row = logits + blockIdx.x * vocab;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) mx = fmaxf(mx, to_f(row[j]));
  mx = block_max(mx);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) sum += __expf(to_f(row[j]) - mx);
  sum = block_sum(sum);
  if (threadIdx.x == 0) {
    const float l = mx + logf(sum);
    lse[blockIdx.x] = l;
    loss[blockIdx.x] = l - to_f(row[targets[blockIdx.x]]);
  }
}
__global__ void cross_entropy_backward_k(const bf16* logits, const int32_t* targets, const float* lse,
                                         bf16* dlogits, int64_t vocab, float inv_rows) {
  const int64_t base = blockIdx.x * vocab;
  const float l = lse[blockIdx.x];
  const int32_t target = targets[blockIdx.x];
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) {
    const float p = __expf(to_f(logits[base + j]) - l);
    dlogits[base + j] = to_bf((p - (j == target ? 1.0f : 0.0f)) * inv_rows);
  }
}

unsigned rows_grid(int64_t rows) {
  if (rows <= 0 || rows > 0x7fffffff) throw std::invalid_argument("kernel: row count out of grid range");
  return static_cast<unsigned>(rows);
}

}  // namespace

void fill_uniform(const Context& ctx, bf16* out, int64_t n, uint64_t seed, float scale) {
  fill_uniform_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(out, n, seed, scale);
  check_launch("fill_uniform");
}
void fill_value(const Context& ctx, float* out, int64_t n, float value) {
  fill_value_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(out, n, value);
  check_launch("fill_value");
}
void fill_eye(const Context& ctx, bf16* out, int64_t d) {
  fill_eye_k<<<blocks_for(d * d), kThreads, 0, ctx.stream()>>>(out, d);
  check_launch("fill_eye");
}
void scale(const Context& ctx, const bf16* in, float c, bf16* out, int64_t n) {
  scale_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(in, c, out, n);
  check_launch("scale");
}
void add(const Context& ctx, const bf16* a, const bf16* b, bf16* out, int64_t n) {
  add_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(a, b, out, n);
  check_launch("add");
}
void mul(const Context& ctx, const bf16* a, const bf16* b, bf16* out, int64_t n) {
  mul_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(a, b, out, n);
  check_launch("mul");
}
void mul_row_broadcast(const Context& ctx, const bf16* in, const float* v, bf16* out, int64_t rows,
                       int64_t cols) {
  mul_row_broadcast_k<<<blocks_for(rows * cols), kThreads, 0, ctx.stream()>>>(in, v, out, rows, cols);
  check_launch("mul_row_broadcast");
}
void add_scalar_vec(const Context& ctx, const float* v, float c, float* out, int64_t n) {
  add_scalar_vec_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(v, c, out, n);
  check_launch("add_scalar_vec");
}
void div_vec(const Context& ctx, const float* a, const float* b, float* out, int64_t n) {
  div_vec_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(a, b, out, n);
  check_launch("div_vec");
}
void add_vec(const Context& ctx, const float* a, const float* b, float* out, int64_t n) {
  add_vec_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(a, b, out, n);
  check_launch("add_vec");
}
void sum_over_rows(const Context& ctx, const bf16* in, float* out, int64_t rows, int64_t cols) {
  check(cudaMemsetAsync(out, 0, sizeof(float) * static_cast<size_t>(cols), ctx.stream()),
        "sum_over_rows memset");
  const dim3 grid(static_cast<unsigned>((cols + kThreads - 1) / kThreads),
                  static_cast<unsigned>(std::min<int64_t>(rows, 64)));
  sum_over_rows_k<<<grid, kThreads, 0, ctx.stream()>>>(in, out, rows, cols);
  check_launch("sum_over_rows");
}
void add_transposed(const Context& ctx, const bf16* W0, const bf16* in_t, bf16* out, int64_t rows,
                    int64_t cols) {
  const dim3 grid(static_cast<unsigned>((cols + kTile - 1) / kTile),
                  static_cast<unsigned>((rows + kTile - 1) / kTile));
  add_transposed_k<<<grid, dim3(kTile, 8), 0, ctx.stream()>>>(W0, in_t, out, rows, cols);
  check_launch("add_transposed");
}
void row_l2_norm(const Context& ctx, const bf16* W, float* out, int64_t rows, int64_t cols) {
  row_l2_norm_k<<<rows_grid(rows), kThreads, 0, ctx.stream()>>>(W, out, cols);
  check_launch("row_l2_norm");
}
void fused_weight_norm(const Context& ctx, const bf16* W0, const bf16* A, const bf16* B, const float* m,
                       float c, float* n, float* s, int64_t d_in, int64_t d_out, int64_t r) {
  // 8 rows per block while their B rows fit in 32 KiB of shared memory, otherwise 1.
  if (r <= 1024) {
    const size_t smem = sizeof(float) * 8 * static_cast<size_t>(r);
    fused_weight_norm_k<8>
        <<<rows_grid((d_out + 7) / 8), kThreads, smem, ctx.stream()>>>(W0, A, B, m, c, n, s, d_in, d_out, r);
  } else if (r <= 12288) {
    const size_t smem = sizeof(float) * static_cast<size_t>(r);
    fused_weight_norm_k<1>
        <<<rows_grid(d_out), kThreads, smem, ctx.stream()>>>(W0, A, B, m, c, n, s, d_in, d_out, r);
  } else {
    throw std::invalid_argument("fused_weight_norm: r > 12288 does not fit in shared memory");
  }
  check_launch("fused_weight_norm");
}
void dropout_forward(const Context& ctx, const bf16* x, bf16* x_d, int64_t n, float p, uint64_t seed) {
  dropout_forward_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(x, x_d, n, p, seed);
  check_launch("dropout_forward");
}
void dropout_backward_accumulate(const Context& ctx, const bf16* g, bf16* dx, int64_t n, float p,
                                 uint64_t seed) {
  dropout_backward_accumulate_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(g, dx, n, p, seed);
  check_launch("dropout_backward_accumulate");
}
void rmsnorm_forward(const Context& ctx, const bf16* x, const bf16* w, bf16* y, float* rstd, int64_t rows,
                     int64_t cols, float eps) {
  rmsnorm_forward_k<<<rows_grid(rows), kThreads, 0, ctx.stream()>>>(x, w, y, rstd, cols, eps);
  check_launch("rmsnorm_forward");
}
void rmsnorm_backward(const Context& ctx, const bf16* dy, const bf16* x, const bf16* w, const float* rstd,
                      bf16* dx, int64_t rows, int64_t cols) {
  rmsnorm_backward_k<<<rows_grid(rows), kThreads, 0, ctx.stream()>>>(dy, x, w, rstd, dx, cols);
  check_launch("rmsnorm_backward");
}
void swiglu_forward(const Context& ctx, const bf16* gate, const bf16* up, bf16* h, int64_t n) {
  swiglu_forward_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(gate, up, h, n);
  check_launch("swiglu_forward");
}
void swiglu_backward(const Context& ctx, const bf16* dh, const bf16* gate, const bf16* up, bf16* dgate,
                     bf16* dup, int64_t n) {
  swiglu_backward_k<<<blocks_for(n), kThreads, 0, ctx.stream()>>>(dh, gate, up, dgate, dup, n);
  check_launch("swiglu_backward");
}
void rotary(const Context& ctx, bf16* qk, const float* cos, const float* sin, int64_t rows, int64_t width,
            int64_t head_dim, bool inverse) {
  if (width % head_dim || head_dim % 2)
    throw std::invalid_argument("rotary: width must be a multiple of head_dim");
  rotary_k<<<blocks_for(rows * width / 2), kThreads, 0, ctx.stream()>>>(qk, cos, sin, rows, width, head_dim,
                                                                        inverse ? -1.0f : 1.0f);
  check_launch("rotary");
}
void causal_softmax(const Context& ctx, bf16* scores, int64_t matrices, int64_t seq, float scale) {
  causal_softmax_k<<<rows_grid(matrices * seq), kThreads, 0, ctx.stream()>>>(scores, seq, scale);
  check_launch("causal_softmax");
}
void softmax_backward(const Context& ctx, const bf16* P, bf16* dP, int64_t matrices, int64_t seq) {
  softmax_backward_k<<<rows_grid(matrices * seq), kThreads, 0, ctx.stream()>>>(P, dP, seq);
  check_launch("softmax_backward");
}
void cross_entropy_forward(const Context& ctx, const bf16* logits, const int32_t* targets, float* lse,
                           float* loss, int64_t rows, int64_t vocab) {
  cross_entropy_forward_k<<<rows_grid(rows), kThreads * 2, 0, ctx.stream()>>>(logits, targets, lse, loss,
                                                                              vocab);
  check_launch("cross_entropy_forward");
}
void cross_entropy_backward(const Context& ctx, const bf16* logits, const int32_t* targets, const float* lse,
                            bf16* dlogits, int64_t rows, int64_t vocab) {
  cross_entropy_backward_k<<<rows_grid(rows), kThreads * 2, 0, ctx.stream()>>>(
      logits, targets, lse, dlogits, vocab, 1.0f / static_cast<float>(rows));
  check_launch("cross_entropy_backward");
}

}  // namespace zerosim::calib::cuda
