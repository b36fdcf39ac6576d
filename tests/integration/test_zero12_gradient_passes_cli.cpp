// DeepSpeed ZeRO-1/2's own passes over gradients through the binary (docs/time-model.md, "ZeRO-1/2's
// gradient passes"): on the trace around each bucket's collective, and priced at the same DRAM rate as
// the optimizer step they share their bytes' arithmetic with.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "zerosim_json.h"

using zerosim::testing::simulate_json;

namespace {

// LLaMA-2-7B (6,738,415,616 parameters) fully fine-tuned under ZeRO-2 on two A100-80GB.
const std::string kZero2 =
    "--config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set zero.stage=2 "
    "--set cluster.gpus=2";

}  // namespace

TEST_CASE("ZeRO-2's bucket passes sit around the bucket's all-reduce on rank 0's compute stream",
          "[zero12][trace]") {
  const auto trace =
      zerosim::testing::zerosim_json_and_trace("simulate " + kZero2, "/tmp/zerosim-test-zero12-trace.json")
          .second;
  std::map<std::string, std::pair<double, double>> span;  // name -> (start, end), rank 0
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 0) {
      const double ts = e["ts"].get<double>();
      span[e["name"].get<std::string>()] = {ts, ts + e["dur"].get<double>()};
    }
  REQUIRE(span.count("grads.bucket0.fill") == 1);
  REQUIRE(span.count("grads.bucket0.all_reduce") == 1);
  REQUIRE(span.count("grads.bucket0.copy_back") == 1);
  CHECK(span["grads.bucket0.fill"].second <= span["grads.bucket0.all_reduce"].first + 1e-3);
  CHECK(span["grads.bucket0.all_reduce"].second <= span["grads.bucket0.copy_back"].first + 1e-3);
}

TEST_CASE("contiguous_gradients false saves 4 B per gradient element, at the optimizer's DRAM rate",
          "[zero12]") {
  const auto contiguous = simulate_json(kZero2);
  const auto loose = simulate_json(kZero2 + " --set zero.contiguous_gradients=false");
  // With contiguous gradients a bucket costs 12 B per element before its all-reduce and 8 B per element of
  // the rank's half after it (4 B per element); without, 8 B before and 4 B after: 4 B per element less.
  // The step's update costs 70 B per element of the half. Both are memory-bound at the same rate, so the
  // backward's difference over the optimizer's time is (4 x 2) / 70.
  const double saved =
      contiguous["time"]["backward_s"].get<double>() - loose["time"]["backward_s"].get<double>();
  CHECK(saved / contiguous["time"]["optimizer_s"].get<double>() == Approx(8.0 / 70.0).epsilon(0.01));
  CHECK(contiguous["time"]["optimizer_s"] == loose["time"]["optimizer_s"]);
}

TEST_CASE("with overlap_comm the copies back do not make the backward wait for the all-reduce", "[zero12]") {
  // Full fine-tuning on 8 H100s: 6.7e9 gradient elements in buckets of 5e8, all-reduced while the backward
  // goes on when overlap_comm is set (the copies back run on DeepSpeed's reduction stream).
  const std::string run = kZero2 + " --set cluster.gpus=8 --set cluster.gpu=h100-80gb-sxm";
  const auto serial = simulate_json(run + " --set zero.overlap_comm=false");
  const auto overlapped = simulate_json(run + " --set zero.overlap_comm=true");
  CHECK(serial["time"]["exposed_comm_s"].get<double>() ==
        Approx(serial["time"]["comm_s"].get<double>()).epsilon(1e-6));
  CHECK(overlapped["time"]["exposed_comm_s"].get<double>() <
        0.5 * overlapped["time"]["comm_s"].get<double>());
  CHECK(overlapped["time"]["step_s"].get<double>() < serial["time"]["step_s"].get<double>());
  // The passes' bytes are the same either way.
  CHECK(overlapped["time"]["backward_s"] == serial["time"]["backward_s"]);
}

TEST_CASE(
    "DeepSpeed 0.12.3's sharded parameter all-gather: shards on the trace, allgather_bucket_size counts",
    "[zero12][trace]") {
  // 3,369,207,808 elements per rank on 2 GPUs; allgather_bucket_size 1e9: 6,738,415,616 // 1e9 = 6 shards,
  // each gathered and then copied out of torch's flat temporary after the update.
  const auto [json, trace] = zerosim::testing::zerosim_json_and_trace(
      "simulate " + kZero2 + " --set versions.deepspeed=0.12.3 --set zero.allgather_bucket_size=1000000000",
      "/tmp/zerosim-test-zero12-allgather-trace.json");
  std::map<std::string, double> start;  // name -> start, rank 0
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 0) start[e["name"].get<std::string>()] = e["ts"].get<double>();
  CHECK(start.count("params.all_gather.shard5") == 1);
  CHECK(start.count("params.all_gather.shard6") == 0);
  REQUIRE(start.count("params.all_gather.shard0.copy_out") == 1);
  CHECK(start["params.all_gather.shard0"] < start["params.all_gather.shard0.copy_out"]);
  CHECK(start["params.all_gather.shard0.copy_out"] < start["params.all_gather.shard1"]);
  // From 0.12.4 one gather, no copies, and a shorter step; allgather_bucket_size no longer matters.
  const auto now = simulate_json(kZero2 + " --set versions.deepspeed=0.12.4");
  const auto now_big =
      simulate_json(kZero2 + " --set versions.deepspeed=0.12.4 --set zero.allgather_bucket_size=1000");
  CHECK(now["time"]["step_s"].get<double>() < json["time"]["step_s"].get<double>());
  CHECK(now["time"]["step_s"] == now_big["time"]["step_s"]);
}
