// The compute model's roofline (sim/engine/compute_model.h) for an H100 SXM from the GPU catalogue
// (platforms/gpus.yaml: 989.4 TFLOP/s BF16 dense, 3,350 GB/s, 132 SMs, GEMM efficiency 0.62), worked by
// hand: a compute-bound GEMM, a memory-bound elementwise op and one below the launch floor.
#include <catch2/catch.hpp>

#include "sim/engine/compute_model.h"
#include "workloads/gpu_catalogue.h"

using namespace zerosim;

TEST_CASE("compute model: a 4096³ GEMM is compute-bound, at the GEMM efficiency times wave utilisation",
          "[engine][compute]") {
  const ComputeModel model(find_gpu("h100-80gb-sxm"));
  REQUIRE(model.gpu().bf16_flops == Approx(989.4e12));
  REQUIRE(model.gpu().mem_bw_bytes_s == Approx(3350e9));
  ComputeOp op;
  op.op = "linear_fwd";
  op.cls = OpClass::gemm;
  op.tokens = op.d_in = op.d_out = 4096;
  op.flops = 2.0 * 4096 * 4096 * 4096;  // 137,438,953,472
  op.bytes = 3.0 * 2 * 4096 * 4096;     // bf16 input, weight and output: 100,663,296 B
  // 128×128 tiles: 32 × 32 = 1,024 tiles in ⌈1024 / 132⌉ = 8 waves of 132: 1024 / 1056 = 0.9697 busy.
  CHECK(gemm_wave_utilization(4096, 4096, 132) == Approx(1024.0 / 1056.0));
  // Compute: 1.374e11 / (989.4e12 · 0.62 · 0.9697) = 231.05 µs; memory: 1.007e8 / (3350e9 · 0.80) = 37.56 µs.
  const OpTime t = model.time(op);
  CHECK(t.seconds == Approx(231.05e-6).epsilon(1e-4));
  CHECK(t.source == TimeSource::roofline);
}

TEST_CASE(
    "compute model: an elementwise op is memory-bound, at 0.80 of DRAM bandwidth; tiny ops pay the launch",
    "[engine][compute]") {
  const ComputeModel model(find_gpu("h100-80gb-sxm"));
  ComputeOp op;
  op.op = "rmsnorm";
  op.cls = OpClass::memory_bound;
  op.flops = 4.0 * 4096 * 4096;      // 6.7e7 FLOPs: 6.7e7 / (989.4e12 · 0.62) = 0.11 µs
  op.bytes = 2.0 * 2 * 4096 * 4096;  // read and write 4096 × 4096 bf16: 67,108,864 B
  // 67,108,864 / (3350e9 · 0.80) = 67,108,864 / 2.68e12 = 25.04 µs.
  CHECK(model.seconds(op) == Approx(25.04e-6).epsilon(1e-3));
  // 1 KiB: 1024 / 2.68e12 = 0.4 ns, below the 4 µs launch floor.
  op.flops = 0;
  op.bytes = 1024;
  CHECK(model.seconds(op) == Approx(4e-6));
  // An op of 8 kernels (an RMSNorm) cannot take less than 8 launch floors: 32 µs.
  op.kernels = 8;
  CHECK(model.seconds(op) == Approx(32e-6));
}

TEST_CASE("roofline_seconds: the larger of compute and memory time, never below the floor",
          "[engine][compute]") {
  // 1e12 FLOPs at 1e15 · 0.5 = 2 ms; 1e9 B at 1e12 · 0.8 = 1.25 ms: compute-bound, 2 ms.
  CHECK(roofline_seconds(1e12, 1e9, 1e15, 0.5, 1e12, 0.8, 4e-6) == Approx(2e-3));
  // 4e9 B at 1e12 · 0.8 = 5 ms beats the 2 ms of compute: memory-bound.
  CHECK(roofline_seconds(1e12, 4e9, 1e15, 0.5, 1e12, 0.8, 4e-6) == Approx(5e-3));
  CHECK(roofline_seconds(1, 1, 1e15, 0.5, 1e12, 0.8, 4e-6) == Approx(4e-6));
}

TEST_CASE("compute model: tile quantization wastes the padded part of the last 128-row tile",
          "[engine][compute]") {
  // 4096 x 4096: whole tiles. 1304 rows fill 11 tiles of 128 = 1408: 1304 / 1408 = 0.9261.
  CHECK(gemm_tile_utilization(4096, 4096) == 1.0);
  CHECK(gemm_tile_utilization(1304, 4096) == Approx(1304.0 / 1408.0));
  // Both dimensions padded: 200 x 200 in 256 x 256.
  CHECK(gemm_tile_utilization(200, 200) == Approx(200.0 * 200.0 / (256.0 * 256.0)));
}

TEST_CASE("compute model: an int8 GEMM (LLM.int8()) runs at the GPU's INT8 tensor-core peak",
          "[engine][compute]") {
  const ComputeModel model(find_gpu("h100-80gb-sxm"));
  REQUIRE(model.gpu().int8_ops == Approx(1979e12));  // H100 datasheet: 3,958 TOPS with sparsity
  ComputeOp op;
  op.op = "linear_fwd_int8";
  op.cls = OpClass::gemm_int8;
  op.tokens = op.d_in = op.d_out = 4096;
  op.flops = 2.0 * 4096 * 4096 * 4096;
  op.bytes = 4096.0 * 4096 + 4096.0 * 4096 + 4.0 * 4096 * 4096;  // int8 input and weight, int32 output
  // 1.374e11 / (1979e12 · 0.62 · 0.9697) = 115.51 µs: the bf16 case above (231.05 µs) scaled by
  // 989.4 / 1979; memory 1.007e8 / (3350e9 · 0.80) = 37.56 µs.
  CHECK(model.time(op).seconds == Approx(231.05e-6 * 989.4 / 1979).epsilon(1e-3));
}
