// CPU offload through the binary (issue 14): offloaded runs cost what DeepSpeed's copies and CPU step
// cost, move with the PCIe rate and the CPU threads, share a PCIe switch where the machine does, and say
// when host RAM is too small (a result, not an error).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "run_command.h"
#include "unit/test_support.h"
#include "zerosim_json.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::TempDir;
using zerosim::testing::zerosim_json;

namespace {

// LLaMA-2-7B full fine-tuning, ZeRO-3 on 4 A100-80GB of a DGX A100 (GPUs 0-1 and 2-3 share a PCIe switch).
const std::string kFull7b =
    "--config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set zero.stage=3 "
    "--set cluster.gpus=4 --format json";

nlohmann::json simulate(const std::string& sets) { return zerosim_json("simulate " + kFull7b + " " + sets); }

double time_of(const nlohmann::json& j, const char* key) { return j["time"][key].get<double>(); }

}  // namespace

TEST_CASE("offloading the optimizer adds the CPU step and the copies, and moves host RAM", "[offload]") {
  const auto off = simulate("");
  const auto on = simulate("--set zero.offload_optimizer=cpu");
  CHECK(time_of(off, "cpu_optimizer_s") == 0.0);
  CHECK(time_of(off, "offload_copy_s") == 0.0);
  CHECK_FALSE(off["memory"].contains("host"));
  CHECK(time_of(on, "cpu_optimizer_s") > 0.5);  // 1.68e9 elements per rank on the host
  CHECK(time_of(on, "offload_copy_s") > 0.0);
  CHECK(time_of(on, "exposed_offload_copy_s") > 0.0);
  CHECK(time_of(on, "optimizer_s") == 0.0);  // no Adam on the GPU
  CHECK(time_of(on, "step_s") > time_of(off, "step_s") + time_of(on, "cpu_optimizer_s"));
  // The collectives are the same.
  CHECK(time_of(on, "comm_s") == Approx(time_of(off, "comm_s")).epsilon(1e-9));
  // GPU: no optimizer states; host: 18 B per partition element and more, for 4 ranks.
  CHECK(on["memory"]["breakdown"]["optimizer_states"] == 0);
  REQUIRE(on["memory"].contains("host"));
  CHECK(on["memory"]["host"]["ranks_per_node"] == 4);
  CHECK(on["memory"]["host"]["per_node_bytes"].get<int64_t>() > 4 * 18 * int64_t{1'684'000'000});
  CHECK(on["memory"]["fits"] == true);
  CHECK(on["config"]["zero"]["offload_optimizer_pin_memory"] == true);  // 0.19.5's default
}

TEST_CASE("offload copies take half as long on PCIe Gen5 as on Gen4", "[offload]") {
  const auto gen4 = simulate("--set zero.offload_optimizer=cpu");
  const auto gen5 = simulate("--set zero.offload_optimizer=cpu --set cluster.pcie_gen=5");
  CHECK(time_of(gen4, "offload_copy_s") / time_of(gen5, "offload_copy_s") == Approx(2.0).epsilon(0.02));
  CHECK(time_of(gen4, "cpu_optimizer_s") == Approx(time_of(gen5, "cpu_optimizer_s")));
}

TEST_CASE("the CPU step follows the threads each rank gets, until memory bandwidth limits it", "[offload]") {
  const std::string offload = "--set zero.offload_optimizer=cpu ";
  const auto four = simulate(offload + "--set cluster.cpu_threads_per_rank=4");
  const auto eight = simulate(offload + "--set cluster.cpu_threads_per_rank=8");
  // 4 vs 8 threads at 5e7 elements/s each: compute-bound, twice as long.
  CHECK(time_of(four, "cpu_optimizer_s") / time_of(eight, "cpu_optimizer_s") == Approx(2.0).epsilon(1e-6));
  // torchrun sets OMP_NUM_THREADS=1 with several processes per node.
  const auto torchrun = simulate(offload + "--set cluster.launcher=torchrun");
  const auto one = simulate(offload + "--set cluster.cpu_threads_per_rank=1");
  CHECK(time_of(torchrun, "cpu_optimizer_s") == Approx(time_of(one, "cpu_optimizer_s")));
  CHECK(torchrun["config"]["cluster"]["cpu_threads_per_rank"] == 1);
  // ... on the catalogue's per-core rate, a lower bound for one core: the run says so.
  REQUIRE(torchrun["warnings"].size() == 1);
  CHECK_THAT(torchrun["warnings"][0].get<std::string>(), Catch::Contains("zerosim-calibrate --host-only"));
  CHECK(simulate(offload)["warnings"].empty());  // every core busy: the rate is the node's
  // The DeepSpeed launcher leaves every core to every rank: 4 ranks share 128 cores and 2 x 140 GB/s of
  // memory; 42 B per element makes it memory-bound, so twice the cores change little.
  const auto all = simulate(offload);
  const auto twice = simulate(offload + "--set cluster.host_cpu_cores=256");
  CHECK(time_of(twice, "cpu_optimizer_s") > 0.9 * time_of(all, "cpu_optimizer_s"));
}

TEST_CASE("GPUs behind one PCIe switch share its uplink: 8 GPUs copy slower each than 1", "[offload]") {
  auto bandwidth = [](int gpus) {
    const auto r = run_zerosim(
        "simulate --config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set zero.stage=2 "
        "--set zero.offload_optimizer=cpu --set model=llama2-7b --set train.seq_len=512 --set cluster.gpus=" +
        std::to_string(gpus) + " --format json");
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(r.out);
    return static_cast<double>(j["time"]["offload_copy_bytes_per_rank"].get<int64_t>()) /
           j["time"]["offload_copy_s"].get<double>();
  };
  const double one = bandwidth(1), eight = bandwidth(8);
  CHECK(eight < 0.6 * one);                           // a DGX A100 puts two GPUs behind each x16 Gen4 uplink
  CHECK(one == Approx(0.80 * 31.5e9).epsilon(0.05));  // pinned copies at 80% of Gen4 x16
}

TEST_CASE("a host without the RAM for the offloaded states is a result: fits false, exit 0", "[offload]") {
  const std::string run =
      "memory --config workloads/configs/seed-dora-7b.yaml --set model=llama2-70b --set zero.stage=3 "
      "--set zero.offload_optimizer=cpu --set zero.offload_param=cpu --set cluster.host_memory_gib=64 "
      "--set train.seq_len=1024";  // the GPU fits: ZeRO-3 keeps every linear's input (74 GiB at 2048)
  const auto table = run_zerosim(run);
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("host RAM per node for CPU offload") &&
                            Catch::Contains("verdict: OUT OF HOST MEMORY"));
  const auto json = run_zerosim(run + " --format json");
  REQUIRE(json.exit_code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["memory"]["gpu_fits"] == true);
  CHECK(j["memory"]["fits"] == false);
  // 69e9 frozen parameters in bf16 on the host: at least 128 GiB.
  CHECK(j["memory"]["host"]["per_node_bytes"].get<int64_t>() > int64_t{128} << 30);
}

TEST_CASE("older DeepSpeed releases copy from pageable memory: slower copies", "[offload]") {
  const auto pinned = simulate("--set zero.offload_optimizer=cpu");
  const auto pageable = simulate("--set zero.offload_optimizer=cpu --set versions.deepspeed=0.16.4");
  CHECK(pageable["config"]["versions"]["deepspeed"] == "0.16.4");
  CHECK(pageable["config"]["zero"]["offload_optimizer_pin_memory"] == false);
  CHECK(time_of(pageable, "offload_copy_s") > 1.5 * time_of(pinned, "offload_copy_s"));
}

TEST_CASE("the trace has a cpu and a pcie track when offloading", "[offload][trace]") {
  TempDir dir;
  const std::string path = dir.path("trace.json");
  const auto r = run_zerosim("simulate " + kFull7b + " --set zero.offload_optimizer=cpu --trace " + path);
  REQUIRE(r.exit_code == 0);
  const auto trace = nlohmann::json::parse(zerosim::testing::read_file(path));
  int cpu = 0, pcie = 0, names = 0;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "thread_name" &&
        (e["args"]["name"] == "cpu" || e["args"]["name"] == "pcie"))
      ++names;
    if (e["ph"] != "X") continue;
    cpu += e["tid"] == 2 ? 1 : 0;
    pcie += e["tid"] == 3 ? 1 : 0;
  }
  CHECK(names == 2 * 4);  // two tracks per rank
  CHECK(cpu == 4);        // one CPU step per rank
  CHECK(pcie > 4);
}

TEST_CASE("pinned host buffers stream at one NUMA node's bandwidth: NPS4 vs NPS1", "[offload]") {
  // ZeRO-2 on 2 GPUs of a DGX A100, DeepSpeed 0.19.5 (pin_memory true): 3,369,209,856 elements per rank
  // (6,738,415,616 / 2). Cores: 64 per rank x 5e7 = 3.2e9 elements/s. Pinned: 26 B per element on one of
  // the 8 NPS4 NUMA nodes (280 GB/s / 8 = 35 GB/s), 26 / 35e9 = 0.743 ns per element against the cores'
  // 0.3125: the NUMA node decides, 2.377 x the cores' time. As NPS1 each rank has its socket's 140 GB/s:
  // 26 / 140e9 = 0.186 ns, below the cores' 0.3125 (and the node's 2 x 42 / 280e9 = 0.3 ns): the cores.
  const std::string zero2 = "--set zero.stage=2 --set cluster.gpus=2 --set zero.offload_optimizer=cpu ";
  const auto nps4 = simulate(zero2);
  const auto nps1 = simulate(zero2 + "--set cluster.host_numa_per_socket=1");
  CHECK(nps4["host_model"]["numa_nodes"] == 8);
  CHECK(nps1["host_model"]["numa_nodes"] == 2);
  CHECK(nps4["config"]["cluster"]["host_numa_per_socket"] == 4);
  CHECK(nps1["config"]["cluster"]["host_numa_per_socket"] == 1);
  CHECK(time_of(nps1, "cpu_optimizer_s") == Approx(3'369'209'856 / 3.2e9).epsilon(1e-6));
  CHECK(time_of(nps4, "cpu_optimizer_s") / time_of(nps1, "cpu_optimizer_s") ==
        Approx(26.0 / 35e9 * 3.2e9).epsilon(1e-6));
  // The text report names the NUMA nodes next to the host's rates.
  const auto text = run_zerosim("simulate " + kFull7b.substr(0, kFull7b.find(" --format")) + " " + zero2);
  CHECK_THAT(text.out, Catch::Contains("280.0 GB/s host memory per node over 8 NUMA nodes"));
}

TEST_CASE("bad offload input is refused with the key and the reason", "[offload][errors]") {
  TempDir dir;
  const std::string ds =
      dir.write("ds.json", R"({"zero_optimization": {"stage": 3, "offload_param": {"device": "nvme"}}})");
  const auto nvme = run_zerosim("memory --config workloads/configs/seed-dora-7b.yaml --set deepspeed=" + ds);
  CHECK(nvme.exit_code == 2);
  CHECK_THAT(nvme.err, Catch::Contains("zero_optimization.offload_param") && Catch::Contains("not modelled"));
  const auto version =
      run_zerosim("memory --config workloads/configs/seed-dora-7b.yaml --set versions.deepspeed=0.9.0");
  CHECK(version.exit_code == 2);
  CHECK_THAT(version.err, Catch::Contains("versions.deepspeed") && Catch::Contains("0.10.0 to 0.19.5"));
  const auto launcher =
      run_zerosim("memory --config workloads/configs/seed-dora-7b.yaml --set cluster.launcher=mpirun");
  CHECK(launcher.exit_code == 2);
  CHECK_THAT(launcher.err, Catch::Contains("cluster.launcher") && Catch::Contains("torchrun"));
  const auto numa =
      run_zerosim("memory --config workloads/configs/seed-dora-7b.yaml --set cluster.host_numa_per_socket=0");
  CHECK(numa.exit_code == 2);
  CHECK_THAT(numa.err, Catch::Contains("cluster.host_numa_per_socket") && Catch::Contains("1"));
}

TEST_CASE("a platform file without CPU hosts: a dedicated x16 per GPU, and a warning",
          "[offload][platform]") {
  TempDir dir;
  const std::string platform =
      dir.write("no-cpu.xml",
                "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
                "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\">"
                "<host id=\"g0\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>"
                "<host id=\"g1\" speed=\"312Tf\"><prop id=\"gpu\" value=\"a100-80gb-sxm\"/></host>"
                "<link id=\"l\" bandwidth=\"25GBps\" latency=\"1us\"/>"
                "<route src=\"g0\" dst=\"g1\"><link_ctn id=\"l\"/></route></zone></platform>\n");
  const auto r = run_zerosim(
      "simulate --config workloads/configs/seed-dora-7b.yaml --set peft.method=none --set zero.stage=2 "
      "--set zero.offload_optimizer=cpu --set train.seq_len=512 --set cluster.gpus=2 --set "
      "cluster.platform=" +
      platform + " --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["config"]["cluster"]["gpus"] == 2);
  REQUIRE(j["warnings"].size() == 1);
  CHECK_THAT(j["warnings"][0].get<std::string>(), Catch::Contains("has no CPU hosts"));
  // Both GPUs copy at once, each at 80% of its own Gen4 x16: nothing shared.
  const double bandwidth = static_cast<double>(j["time"]["offload_copy_bytes_per_rank"].get<int64_t>()) /
                           j["time"]["offload_copy_s"].get<double>();
  CHECK(bandwidth == Approx(0.80 * 31.5e9).epsilon(0.05));
}
