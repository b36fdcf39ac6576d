// CPU offload's copies, CPU step and host RAM per DeepSpeed release (docs/reference/deepspeed-offload.md;
// workloads/zero_offload.h, workloads/host_memory.h), on the seed case (LLaMA-2-7B, DoRA r=16 on q,v).
#include <bit>
#include <catch2/catch.hpp>

#include "workloads/config_error.h"
#include "workloads/host_memory.h"
#include "workloads/memory_model.h"
#include "workloads/step_graph.h"
#include "workloads/zero_offload.h"

using namespace zerosim;

namespace {

const char* kSeed = R"(
model: llama2-7b
peft: {method: dora, r: 16, alpha: 32, target_modules: [q_proj, v_proj]}
train: {micro_batch: 1, seq_len: 2048}
cluster: {gpu: a100-80gb-sxm, gpus: 1}
)";

RunConfig offloaded(int stage, int64_t gpus, const std::string& release, std::vector<Override> more = {}) {
  more.push_back({"zero.stage", std::to_string(stage)});
  more.push_back({"cluster.gpus", std::to_string(gpus)});
  more.push_back({"zero.offload_optimizer", "cpu"});
  more.push_back({"versions.deepspeed", release});
  return run_config_from_yaml(YAML::Load(kSeed), "seed.yaml", more);
}

std::string describe(const std::vector<OffloadCopy>& copies) {
  std::string out;
  for (const auto& c : copies)
    out += std::string(c.direction == TransferDirection::to_host ? "D2H" : "H2D") +
           std::to_string(c.bytes_per_element) + (c.pinned ? "" : "p") + (c.blocks_compute ? "!" : "") + " ";
  return out;  // e.g. "D2H2 H2D2 D2H4! ": direction, bytes per element, p = pageable, ! = compute waits
}

constexpr int64_t kTrainable = 8'650'752;  // Ψt of DoRA r=16 on q,v (test_peft_counts)

}  // namespace

TEST_CASE("ZeRO-3 offload: bf16 round trip every micro-step, fp32 down at the boundary", "[offload]") {
  // 0.19.5 (#8207): pin_memory defaults to true and the boundary fp32 copy is non_blocking.
  const RunConfig c = offloaded(3, 8, "0.19.5");
  const OffloadPlan p = plan_offload(c, build_step_program(c));
  CHECK(describe(p.grad_copies[2]) == "D2H2 H2D2 D2H4 ");
  CHECK(describe(p.after_step) == "H2D2p! ");  // blocking copy_ through a pageable fp32 -> bf16 temporary
  // 0.16.4: pin_memory false by default, so every "non_blocking" copy is staged, and the boundary copy
  // blocks.
  const RunConfig old = offloaded(3, 8, "0.16.4");
  CHECK(describe(plan_offload(old, build_step_program(old)).grad_copies[2]) == "D2H2p! H2D2p! D2H4p! ");
  // 0.15.3 and older: a blocking bf16 copy into a pageable temporary, cast on the CPU.
  const RunConfig older = offloaded(3, 8, "0.15.3");
  CHECK(describe(plan_offload(older, build_step_program(older)).grad_copies[2]) == "D2H2p! H2D2p! D2H2p! ");
}

TEST_CASE("ZeRO-1/2 offload with accumulation follows each release's copies", "[offload]") {
  const std::vector<Override> ga4 = {{"train.grad_accum", "4"}};
  // 0.17.0: the later micro-steps lost their D2H (#6550, 0.15.2-0.18.x); pageable by default; overlap_comm
  // off (stage 2 default), so the copies run on the compute stream: every one blocks.
  const RunConfig c = offloaded(2, 8, "0.17.0", ga4);
  const OffloadPlan p = plan_offload(c, build_step_program(c));
  CHECK(describe(p.grad_copies[0]) == "D2H2p! ");
  CHECK(describe(p.grad_copies[1]) == "H2D2p! ");
  CHECK(describe(p.grad_copies[2]) == "H2D2p! D2H4p! ");
  CHECK(describe(p.after_step) == "H2D2p! ");  // #7309: bf16 staging buffer, pageable unless pin_memory
  // 0.19.0 restored the D2H (#7967) and added it at the boundary.
  const RunConfig v19 = offloaded(2, 8, "0.19.0", ga4);
  const OffloadPlan q = plan_offload(v19, build_step_program(v19));
  CHECK(describe(q.grad_copies[1]) == "H2D2p! D2H2p! ");
  CHECK(describe(q.grad_copies[2]) == "H2D2p! D2H2p! D2H4p! ");
  // With overlap_comm and pinned buffers (0.19.5's default) the bf16 copies run beside backward; the fp32
  // boundary copy still waits for the per-parameter overflow check.
  const RunConfig overlapped =
      offloaded(2, 8, "0.19.5", {{"train.grad_accum", "4"}, {"zero.overlap_comm", "true"}});
  CHECK(describe(plan_offload(overlapped, build_step_program(overlapped)).grad_copies[2]) ==
        "H2D2 D2H2 D2H4! ");
  // 0.14.1-0.16.x copied the fp32 partition to the GPU (#5301): 4 B per element, and no CPU cast pass.
  const RunConfig fp32_back = offloaded(2, 8, "0.15.0");
  const OffloadPlan r = plan_offload(fp32_back, build_step_program(fp32_back));
  CHECK(describe(r.after_step) == "H2D4! ");
  CHECK(r.cpu_step_bytes_per_element == 28 + 8);  // Adam 28 + unscale 8, no 6-byte cast
  CHECK(p.cpu_step_bytes_per_element == 28 + 8 + 6);
}

TEST_CASE("the CPU step's bytes in pinned buffers follow each release's pinning", "[offload]") {
  // 0.18.0 stage 2, pin_memory true: the master (always pinned 0.14.1-0.18.2) read and written by Adam (8)
  // and read by the cast (4); the gradient read by Adam (4) and by unscale_and_clip_grads, read and written
  // (8); the bf16 staging buffer written by the cast (2): 26 of the 42 bytes.
  RunConfig pinned = offloaded(2, 2, "0.18.0");
  pinned.zero.offload_optimizer_pin_memory = true;
  CHECK(plan_offload(pinned, build_step_program(pinned)).cpu_step_pinned_bytes_per_element == 26);
  // pin_memory false: only the always-pinned master, 8 + 4 = 12.
  RunConfig pageable = pinned;
  pageable.zero.offload_optimizer_pin_memory = false;
  CHECK(plan_offload(pageable, build_step_program(pageable)).cpu_step_pinned_bytes_per_element == 12);
  // 0.18.3 (#7689) pins the master as pin_memory says: nothing pinned with false.
  RunConfig later = offloaded(2, 2, "0.18.3");  // pin_memory false by default up to 0.19.4
  CHECK(plan_offload(later, build_step_program(later)).cpu_step_pinned_bytes_per_element == 0);
  // 0.15.0 (#5301, master pinned; no CPU cast; the gradient pageable by default): 8.
  const RunConfig copy_back = offloaded(2, 2, "0.15.0");
  CHECK(plan_offload(copy_back, build_step_program(copy_back)).cpu_step_pinned_bytes_per_element == 8);
  // Stage 3, 0.19.5 (pin_memory true by default): only the gradient, 4 + 8 = 12; the master is not pinned.
  const RunConfig stage3 = offloaded(3, 2, "0.19.5");
  CHECK(plan_offload(stage3, build_step_program(stage3)).cpu_step_pinned_bytes_per_element == 12);
}

TEST_CASE("the optimizer partition is what CPU Adam updates", "[offload]") {
  // Stages 1-2 split the flat trainable group: ⌈8,650,752 / 8⌉ = 1,081,344 elements per rank.
  const RunConfig c = offloaded(2, 8, "0.19.5");
  CHECK(plan_offload(c, build_step_program(c)).optimizer_numel == 1'081'344);
}

TEST_CASE("offload_param alone copies GPU Adam's fp32 result down", "[offload]") {
  RunConfig c =
      run_config_from_yaml(YAML::Load(kSeed), "seed.yaml",
                           {{"zero.stage", "3"}, {"cluster.gpus", "8"}, {"zero.offload_param", "cpu"}});
  const OffloadPlan p = plan_offload(c, build_step_program(c));
  CHECK_FALSE(p.optimizer);
  CHECK(describe(p.after_step) == "D2H4p! ");
  CHECK(describe({p.fetch}) == "H2D2! ");  // pinned flat buffer, one blocking .to() per parameter
}

TEST_CASE("host RAM per rank: the buffers of each stage, pinned ones rounded to a power of two",
          "[offload]") {
  // Stage 2, 8 GPUs, 0.19.5 (pin_memory true): P = 1,081,344 elements.
  const RunConfig c = offloaded(2, 8, "0.19.5");
  const HostMemory h = predict_host_memory(c, build_step_program(c));
  constexpr int64_t P = 1'081'344;
  auto at = [&](HostMemComponent k) { return h.per_rank[static_cast<size_t>(k)]; };
  CHECK(at(HostMemComponent::master_params) == 4 * P);     // 4,325,376
  CHECK(at(HostMemComponent::gradients) == 4 * P);         // fp32 .grad; no bf16 accumulator at grad_accum 1
  CHECK(at(HostMemComponent::optimizer_states) == 8 * P);  // exp_avg + exp_avg_sq, fp32
  CHECK(at(HostMemComponent::staging_buffers) == 2 * P);   // 0.17.0+
  // Pinned: master 4,325,376 -> 8,388,608 (+4,063,232), .grad the same, staging 2,162,688 -> 4,194,304
  // (+2,031,616): 10,158,080 bytes of rounding.
  CHECK(at(HostMemComponent::pinned_rounding) == 2 * 4'063'232 + 2'031'616);
  CHECK(h.ranks_per_node == 8);
  CHECK(h.per_node_bytes() == 8 * (18 * P + 10'158'080));
  // What the rank pins in all, with the rounding: 8,388,608 + 8,388,608 + 4,194,304 (Adam's states are not
  // pinned).
  CHECK(h.pinned_per_rank == 20'971'520);
  // Stage 3 adds the always-allocated bf16 gradient buffer; its fp32 master is not pinned.
  const RunConfig z3 = offloaded(3, 8, "0.16.4");  // pin_memory false: nothing pinned but param buffers
  const HostMemory h3 = predict_host_memory(z3, build_step_program(z3));
  const int64_t P3 = plan_offload(z3, build_step_program(z3)).optimizer_numel;
  CHECK(h3.per_rank_total() == (4 + 4 + 2 + 8) * P3);
  CHECK(h3.pinned_per_rank == 0);
  CHECK(P3 >= kTrainable / 8);
}

TEST_CASE("offloaded optimizer: no gradient partition on the GPU, host RAM decides the fit", "[offload]") {
  const RunConfig on = offloaded(2, 8, "0.19.5");
  RunConfig off = on;
  off.zero.offload_optimizer = "none";
  const MemoryResult a = predict_memory(on), b = predict_memory(off);
  CHECK(b.states.gradients == 2 * 1'081'344);
  CHECK(a.states.gradients == 0);
  CHECK(a.states.optimizer_states == 0);
  CHECK(a.host.per_rank_total() > 0);
  CHECK(b.host.per_rank_total() == 0);
  RunConfig tiny_host = on;
  tiny_host.host.memory_bytes = 1;
  const MemoryResult t = predict_memory(tiny_host);
  CHECK(t.gpu_fits);
  CHECK_FALSE(t.fits);
}

TEST_CASE("versions.deepspeed outside the modelled releases is refused", "[offload][config]") {
  for (const char* bad : {"0.9.5", "0.20.0", "1.0", "latest"}) {
    INFO(bad);
    CHECK_THROWS_AS(offloaded(2, 8, bad), ConfigError);
  }
  CHECK(offloaded(2, 8, "v0.16.4+cu121").versions.deepspeed == Version{0, 16, 4});
  CHECK(offloaded(2, 8, "0.18").versions.deepspeed == Version{0, 18, 0});
}

TEST_CASE("CPU Adam's threads per rank follow the launcher unless set", "[offload][config]") {
  // DeepSpeed launcher: OMP_NUM_THREADS unset, every core (the engine shares them among the node's ranks).
  CHECK(offloaded(2, 8, "0.19.5").cluster.cpu_threads(128) == 128);
  // torchrun: OMP_NUM_THREADS=1 with more than one process per node; one process keeps every core.
  CHECK(offloaded(2, 8, "0.19.5", {{"cluster.launcher", "torchrun"}}).cluster.cpu_threads(128) == 1);
  CHECK(offloaded(2, 1, "0.19.5", {{"cluster.launcher", "torchrun"}}).cluster.cpu_threads(128) == 128);
  CHECK(offloaded(2, 8, "0.19.5", {{"cluster.cpu_threads_per_rank", "6"}}).cluster.cpu_threads(128) == 6);
  CHECK(offloaded(2, 8, "0.19.5", {{"cluster.cpu_threads_per_rank", "auto"}}).cluster.cpu_threads(128) ==
        128);
  CHECK_THROWS_AS(offloaded(2, 8, "0.19.5", {{"cluster.cpu_threads_per_rank", "0"}}), ConfigError);
  CHECK_THROWS_AS(offloaded(2, 8, "0.19.5", {{"cluster.launcher", "mpirun"}}), ConfigError);
}
