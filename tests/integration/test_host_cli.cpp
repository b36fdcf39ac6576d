// The training thread that launches kernels (docs/time-model.md, "The host that launches kernels"), end to
// end: a small model is host-bound, CUDA graphs remove the launches, ZeRO-3's hooks run on the host and
// synchronise at world size 1, and the trace has the host's own track.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "zerosim_json.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::simulate_json;
using zerosim::testing::zerosim_json_and_trace;

namespace {

// A plain loop: these cases are about the kernels' launches; HF Trainer's own host work per micro-step is
// test_training_loop_cli.cpp's.
const std::string kTiny = "--config tests/data/tiny-llama-dora.yaml --set train.loop=plain";
const std::string kSeed = "--config workloads/configs/seed-dora-7b.yaml --set train.loop=plain";

nlohmann::json time_of(const std::string& args) { return simulate_json(args)["time"]; }

double ms(const nlohmann::json& t, const char* key) { return t[key].get<double>() * 1e3; }

}  // namespace

TEST_CASE("a tiny model's kernels are shorter than their launches: the GPU waits for the host", "[host]") {
  const auto t = time_of(kTiny);
  // 128 tokens of a 256-wide model: every kernel is at the 4 µs floor, every launch 4-8 µs.
  CHECK(ms(t, "exposed_host_s") > 0.2 * ms(t, "step_s"));
  CHECK(ms(t, "step_s") ==
        Approx(ms(t, "forward_s") + ms(t, "backward_s") + ms(t, "optimizer_s") + ms(t, "exposed_host_s")));
  // Captured as CUDA graphs, nothing is launched per kernel: the GPU never waits and the step is its work.
  const auto g = time_of(kTiny + " --set train.cuda_graphs=true");
  CHECK(g["host_s"].get<double>() == 0.0);
  CHECK(g["exposed_host_s"].get<double>() == 0.0);
  CHECK(ms(g, "step_s") == Approx(ms(g, "forward_s") + ms(g, "backward_s") + ms(g, "optimizer_s")));
  CHECK(ms(g, "step_s") < ms(t, "step_s"));
}

TEST_CASE("a 7B model at 2048 tokens keeps the GPU busy: the launches are hidden", "[host]") {
  // DeepSpeed 0.17.5: stage 0's bf16 step is BF16_Optimizer's, which reads nothing on the host.
  const auto t = time_of(kSeed + " --set versions.deepspeed=0.17.5");
  CHECK(ms(t, "host_s") > 50);         // about 95 ms of launches per step (33 µs per forward kernel)
  CHECK(ms(t, "exposed_host_s") < 1);  // but the host runs ahead of a GPU busy for 360 ms
  CHECK(ms(t, "host_s") < ms(t, "step_s") / 3);
}

TEST_CASE("DeepSpeed >= 0.17.6 at stage 0: FP16_Optimizer's overflow check makes the GPU wait", "[host]") {
  // bf16 at stage 0 takes FP16_Optimizer from 0.17.6 (#7515): float(x.float().sum()) per trainable tensor,
  // 192 host reads for DoRA on q and v, and the step's per-parameter casts and copies issued one by one.
  const auto now = time_of(kSeed);
  const auto old = time_of(kSeed + " --set versions.deepspeed=0.17.5");
  // At least the check's 2 x 192 launches at 33 µs each are exposed: 12.7 ms.
  CHECK(ms(now, "exposed_host_s") - ms(old, "exposed_host_s") > 2 * 192 * 0.033);
  CHECK(ms(now, "step_s") > ms(old, "step_s") + 2 * 192 * 0.033);
  // ZeRO stages take their own optimizer: no such check in bf16.
  const auto z2 = time_of(kSeed + " --set zero.stage=2");
  CHECK(ms(z2, "exposed_host_s") < 1);
}

TEST_CASE("ZeRO-3's hooks are host work: hidden on 8 GPUs, exposed on one where every fetch synchronises",
          "[host][zero3]") {
  const auto one = time_of(kSeed + " --set zero.stage=3");
  const auto eight = time_of(kSeed + " --set zero.stage=3 --set cluster.gpus=8");
  // The same hooks on both (50 µs per module call), on the host.
  CHECK(ms(one, "overhead_s") == Approx(ms(eight, "overhead_s")));
  CHECK(ms(one, "overhead_s") > 10);
  CHECK(ms(one, "host_s") > ms(one, "overhead_s"));
  // NoGatherHandle.wait drains the stream at world size 1: the GPU waits for each hook and its launches.
  CHECK(ms(one, "exposed_host_s") > 0.5 * ms(one, "overhead_s"));
  // With 8 ranks the fetches are collectives; the host stays ahead and the hooks cost the GPU next to
  // nothing.
  CHECK(ms(eight, "exposed_host_s") < 0.05 * ms(eight, "overhead_s"));
}

TEST_CASE("the trace shows the host thread: each kernel starts after its launch began, hooks on the host",
          "[host][trace]") {
  const auto trace =
      zerosim_json_and_trace("simulate " + kSeed + " --set zero.stage=3", "/tmp/zerosim-test-host-trace.json")
          .second;
  std::map<std::string, double> launched;  // rank 0's host events: name -> start (µs)
  int64_t hooks = 0, checked = 0;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 0 && e["tid"] == 4) {
      launched[e["name"].get<std::string>()] = e["ts"].get<double>();
      hooks += e["name"].get<std::string>().find("zero3_hooks") != std::string::npos;
    }
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 0 && e["tid"] == 0) {
      const auto it = launched.find(e["name"].get<std::string>());
      REQUIRE(it != launched.end());  // every op on the GPU was launched by the host
      CHECK(e["ts"].get<double>() >= it->second);
      ++checked;
    }
  CHECK(checked > 100);
  CHECK(hooks > 100);  // the ZeRO-3 hooks are on the host track, not the GPU's
}

TEST_CASE("train.cuda_graphs: echoed, and refused where a graph cannot be captured", "[host][errors]") {
  auto r = run_zerosim("simulate " + kTiny + " --set train.cuda_graphs=true --format json");
  REQUIRE(r.exit_code == 0);
  CHECK(nlohmann::json::parse(r.out)["config"]["train"]["cuda_graphs"] == true);
  r = run_zerosim("simulate " + kTiny + " --set train.cuda_graphs=true --set zero.stage=3");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.cuda_graphs") && Catch::Contains("ZeRO-3"));
  r = run_zerosim("simulate " + kTiny +
                  " --set train.cuda_graphs=true --set zero.stage=2 --set zero.offload_optimizer=cpu");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.cuda_graphs") && Catch::Contains("offload"));
  r = run_zerosim("simulate " + kTiny + " --set train.cuda_graphs=maybe");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("train.cuda_graphs"));
}

TEST_CASE("compute beside a running collective loses the SMs NCCL holds: 24 of an A100's 108", "[overlap]") {
  const auto z3 = time_of(kSeed + " --set zero.stage=3 --set cluster.gpus=8");
  // While a collective runs beside compute, the compute stream keeps (108 - 24) / 108 of the GPU: each
  // second of overlapped communication costs 24 / 108 = 0.222 s of compute. Almost all of stage 3's
  // all-gathers are overlapped (comm_s - exposed_comm_s of them).
  const double overlapped = ms(z3, "comm_s") - ms(z3, "exposed_comm_s");
  CHECK(ms(z3, "overlap_slowdown_s") == Approx(24.0 / 108.0 * overlapped).epsilon(0.05));
  // The step is the sum of its parts, the slowdown one of them.
  CHECK(ms(z3, "step_s") ==
        Approx(ms(z3, "forward_s") + ms(z3, "backward_s") + ms(z3, "optimizer_s") + ms(z3, "exposed_comm_s") +
               ms(z3, "exposed_host_s") + ms(z3, "overlap_slowdown_s"))
            .epsilon(1e-9));
  // Nothing runs beside compute on one GPU; stage 2 reduces its one bucket after backward, not beside it.
  CHECK(time_of(kSeed + " --set zero.stage=3")["overlap_slowdown_s"].get<double>() == 0.0);
  CHECK(ms(time_of(kSeed + " --set zero.stage=2 --set cluster.gpus=8"), "overlap_slowdown_s") < 0.01);
}

TEST_CASE("the trace shows compute stretched while NCCL runs", "[overlap][trace]") {
  const auto [j, trace] =
      zerosim_json_and_trace("simulate " + kSeed + " --set zero.stage=3 --set cluster.gpus=8",
                             "/tmp/zerosim-test-overlap-trace.json");
  const auto& t = j["time"];
  double compute_us = 0;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e["pid"] == 0 && e["tid"] == 0) compute_us += e["dur"].get<double>();
  // The compute track holds the GPU work and what NCCL took from it.
  CHECK(compute_us / 1e3 ==
        Approx(ms(t, "forward_s") + ms(t, "backward_s") + ms(t, "optimizer_s") + ms(t, "overlap_slowdown_s"))
            .epsilon(1e-6));
}
