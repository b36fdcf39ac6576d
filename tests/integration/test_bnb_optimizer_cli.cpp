// bitsandbytes' AdamW through the binary (issue 17): 8-bit states, paged states outside PyTorch's allocator,
// the driver's eviction of paged states when the GPU is full (a result with its migration time), the
// per-parameter synchronisation, and the combinations zerosim refuses.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "zerosim_json.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::zerosim_json;

namespace {

// LLaMA-2-7B full fine-tuning in pure bf16 with checkpointing, without DeepSpeed.
const std::string kFull7b =
    "--config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set train.engine=pytorch "
    "--set train.precision=bf16-pure --set train.activation_checkpointing=true --format json";

nlohmann::json simulate(const std::string& sets) { return zerosim_json("simulate " + kFull7b + " " + sets); }

int64_t bytes(const nlohmann::json& j, const char* key) { return j["memory"][key].get<int64_t>(); }

}  // namespace

TEST_CASE("bitsandbytes' AdamW: 8-bit states, paged states outside the allocator", "[bnb][optimizer]") {
  const nlohmann::json fused = simulate("--set train.optimizer=fused");
  const nlohmann::json eight = simulate("--set train.optimizer=bnb-8bit");
  const nlohmann::json paged = simulate("--set train.optimizer=bnb-paged-8bit");
  // 6,738,415,616 parameters: bf16 m and v (4 B) for torch's AdamW, 1 B each plus an fp32 absmax per 256
  // for bitsandbytes: about half the states.
  const int64_t states16 = fused["memory"]["breakdown"]["optimizer_states"];
  const int64_t states8 = eight["memory"]["breakdown"]["optimizer_states"];
  CHECK(states16 == 4 * int64_t{6'738'415'616});
  CHECK(states8 > 2 * int64_t{6'738'415'616});
  CHECK(states8 < 2 * int64_t{6'738'415'616} * 102 / 100);
  CHECK(bytes(eight, "peak_allocated_bytes") < bytes(fused, "peak_allocated_bytes"));
  // Paged: every tensor of 1e5+ elements has its states in unified memory: on the GPU (peak_bytes, the
  // breakdown) but not in max_memory_allocated.
  const int64_t in_uvm = paged["memory"]["paged_optimizer"]["bytes"];
  CHECK(in_uvm > 0);
  CHECK(paged["memory"]["paged_optimizer"]["evicted_bytes"] == 0);
  CHECK(bytes(eight, "peak_allocated_bytes") - bytes(paged, "peak_allocated_bytes") == in_uvm);
  CHECK(paged["memory"]["breakdown"]["optimizer_states"] == eight["memory"]["breakdown"]["optimizer_states"]);
  // One update per parameter, each followed by torch.cuda.synchronize(): the GPU waits for the host there.
  CHECK(eight["time"]["exposed_host_s"].get<double>() > fused["time"]["exposed_host_s"].get<double>());
}

TEST_CASE("paged states the GPU cannot hold are evicted: the run fits and migrates them every step",
          "[bnb][optimizer]") {
  // 32-bit paged states of 7B parameters (8 B each, 53.9 GB) next to 26.6 GiB of reserved blocks on a
  // 40 GB A100: the driver keeps the rest on the host instead of failing.
  const auto r = run_zerosim("simulate " + kFull7b +
                             " --set train.optimizer=bnb-paged-32bit --set cluster.gpu=a100-40gb-sxm");
  REQUIRE(r.exit_code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const int64_t evicted = j["memory"]["paged_optimizer"]["evicted_bytes"];
  CHECK(j["memory"]["fits"] == true);
  CHECK(evicted == bytes(j, "peak_bytes") - bytes(j, "capacity_bytes"));
  // In before the update and out after it: 2 x evicted over the GPU's PCIe link, on the critical path.
  CHECK(j["time"]["offload_copy_bytes_per_rank"] == 2 * evicted);
  CHECK(j["time"]["exposed_offload_copy_s"].get<double>() > 0.0);
  CHECK_THAT(r.err, Catch::Contains("paged optimizer's states fit only in part"));
}

TEST_CASE("bitsandbytes' AdamW under DeepSpeed: the client optimizer of the fp32 master partition",
          "[bnb][optimizer]") {
  const auto run = [](const std::string& sets) {
    const auto r = run_zerosim("simulate --config workloads/configs/seed-dora-7b.yaml --format json " + sets);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
  };
  const nlohmann::json fused = run("");
  const nlohmann::json eight = run("--set train.optimizer=bnb-8bit");
  // DoRA r16 on q and v: 32 x 2 x (16 x 4096 + 4096 x 16 + 4096) = 8,650,752 trainable elements, one flat
  // fp32 partition on one GPU. FusedAdam: master, m, v, 12 B each element. bitsandbytes: DeepSpeed's fp32
  // master (4 B) and the 8-bit states of that one tensor, 2 B + 2 fp32 absmax per 256 (270,336 B) + the two
  // quantile maps (2,048 B).
  const int64_t n = 8'650'752;
  CHECK(fused["memory"]["breakdown"]["optimizer_states"] == 12 * n);
  CHECK(eight["memory"]["breakdown"]["optimizer_states"] == 4 * n + 2 * n + 8 * (n / 256) + 2'048);
  // One update kernel for the flat tensor, then torch.cuda.synchronize() (against FusedAdam under DeepSpeed
  // 0.17.5, whose stage-0 bf16 step reads nothing on the host).
  const nlohmann::json fused_old = run("--set versions.deepspeed=0.17.5");
  const nlohmann::json eight_old = run("--set train.optimizer=bnb-8bit --set versions.deepspeed=0.17.5");
  CHECK(eight_old["time"]["exposed_host_s"].get<double>() >=
        fused_old["time"]["exposed_host_s"].get<double>());
  // Paged: the flat partition's states (over 1e5 elements) in unified memory.
  const nlohmann::json paged = run("--set train.optimizer=bnb-paged-8bit");
  CHECK(paged["memory"]["paged_optimizer"]["bytes"] == 2 * n);
}

TEST_CASE("bitsandbytes' AdamW: what is not modelled is exit 2", "[bnb][optimizer][errors]") {
  const std::string seed = "simulate --config workloads/configs/seed-dora-7b.yaml ";
  const auto offload = run_zerosim(seed +
                                   "--set train.optimizer=bnb-8bit --set zero.stage=2 "
                                   "--set zero.offload_optimizer=cpu");
  CHECK(offload.exit_code == 2);
  CHECK_THAT(offload.err, Catch::Contains("train.optimizer") && Catch::Contains("DeepSpeedCPUAdam"));
  const auto pure = run_zerosim(seed + "--set train.optimizer=bnb-8bit --set train.precision=bf16-pure");
  CHECK(pure.exit_code == 2);
  CHECK_THAT(pure.err, Catch::Contains("train.optimizer") && Catch::Contains("fp32 master"));
  const auto graphs = run_zerosim(seed +
                                  "--set train.engine=pytorch --set train.optimizer=bnb-8bit "
                                  "--set train.cuda_graphs=true");
  CHECK(graphs.exit_code == 2);
  CHECK_THAT(graphs.err, Catch::Contains("train.cuda_graphs") && Catch::Contains("synchronize"));
  const auto bad = run_zerosim(seed + "--set train.engine=pytorch --set train.optimizer=adamw8bit");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("train.optimizer") && Catch::Contains("bnb-paged-8bit"));
}
