// Robustness end to end (issue 7): simulate's JSON is byte-identical across runs, sizes at the
// arithmetic limits give exit 0 with finite numbers or exit 2 naming the key, and a sweep killed
// (SIGKILL) many times in a row and resumed each time ends byte-identical to an uninterrupted run
// with no lost, duplicated or torn rows at any stage. (test_sweep_cli.cpp covers -j 1 vs 2, one kill
// per run then --resume, and shards + merge.)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "run_command.h"
#include "unit/test_support.h"

using zerosim::testing::run_zerosim;
using zerosim::testing::TempDir;

namespace {

const std::string kTiny = "--config tests/data/tiny-llama-dora.yaml";
const std::string kGrid = "--config tests/data/sweeps/tiny-grid.yaml";  // 10 points

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

pid_t start_sweep(const std::string& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    if (chdir(ZEROSIM_SOURCE_DIR) != 0) _exit(126);
    execl(ZEROSIM_BINARY, ZEROSIM_BINARY, "sweep", "--config", "tests/data/sweeps/tiny-grid.yaml", "-j", "2",
          "--out", args.c_str(), "--resume", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("simulate JSON is byte-identical across runs (1 and 16 GPUs, ZeRO-3)",
          "[robustness][determinism]") {
  for (const char* sets : {"", " --set zero.stage=3 --set cluster.gpus=16 --set train.grad_accum=2"}) {
    INFO(sets);
    const auto a = run_zerosim("simulate " + kTiny + sets + " --format json");
    const auto b = run_zerosim("simulate " + kTiny + sets + " --format json");
    INFO(a.err);
    REQUIRE(a.exit_code == 0);
    CHECK(a.out == b.out);
  }
}

TEST_CASE(
    "at the largest micro-batch and sequence (2^32 tokens, eager attention) simulate gives finite numbers",
    "[robustness][limits]") {
  const auto r = run_zerosim("simulate " + kTiny +
                             " --set train.micro_batch=4096 --set train.seq_len=1048576"
                             " --set train.flash_attention=false --format json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k : {"step_s", "forward_s", "backward_s"}) {
    INFO(k);
    CHECK(std::isfinite(j["time"][k].get<double>()));
    CHECK(j["time"][k].get<double>() > 0);
  }
  CHECK(j["memory"]["peak_bytes"].get<int64_t>() > 0);
  CHECK(std::isfinite(j["throughput"]["mfu"].get<double>()));
}

TEST_CASE("absurd sizes on the command line are exit 2 naming the key and the limit",
          "[robustness][limits]") {
  struct Case {
    std::string set, key, limit;
  };
  for (const Case& c : {Case{"train.seq_len=1048577", "train.seq_len", "1048576"},
                        Case{"train.micro_batch=9223372036854775807", "train.micro_batch", "4096"},
                        Case{"cluster.gpus=65537", "cluster.gpus", "65536"},
                        Case{"train.grad_accum=1e30", "train.grad_accum", "integer"},
                        Case{"train.seq_len=1048576 --set train.micro_batch=4096 --set model=llama2-70b",
                             "train.micro_batch", "2^60"}}) {
    INFO(c.set);
    for (const char* cmd : {"memory ", "simulate "}) {
      const auto r = run_zerosim(cmd + kTiny + " --set " + c.set);
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.err, Catch::Contains(c.key));
      CHECK_THAT(r.err, Catch::Contains(c.limit));
    }
  }
}

TEST_CASE("a sweep SIGKILLed many times in a row, resumed each time, never loses, repeats or tears a row",
          "[robustness][sweep][resume]") {
  const TempDir dir;
  const auto ref = run_zerosim("sweep " + kGrid + " -j 2 --out " + dir.path("ref.csv"));
  REQUIRE(ref.exit_code == 0);
  const std::vector<std::string> want = lines_of(zerosim::testing::read_file(dir.path("ref.jsonl")));
  REQUIRE(want.size() == 10);
  const std::set<std::string> want_set(want.begin(), want.end());

  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run_zerosim("sweep " + kGrid + " -j 2 --out " + dir.path("time.csv")).exit_code == 0);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> moment(0.05 * wall_s, 0.6 * wall_s);
  const std::string out = dir.path("r.csv");
  size_t kills = 0;
  for (int round = 0; round < 6; ++round) {
    const double delay = moment(rng);
    const pid_t pid = start_sweep(out);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    kills += WIFSIGNALED(status) ? 1 : 0;
    // Between kills: every complete line is a row of the uninterrupted run, none twice; only the last
    // line may be torn (no newline yet), and --resume drops it.
    const std::string text = zerosim::testing::read_file(dir.path("r.jsonl"));
    std::vector<std::string> lines = lines_of(text);
    if (!text.empty() && text.back() != '\n') lines.pop_back();
    std::set<std::string> seen;
    for (const auto& l : lines) {
      INFO("round " << round << " killed after " << delay << " s: " << l);
      CHECK(want_set.count(l) == 1);
      CHECK(seen.insert(l).second);
    }
  }
  INFO(kills << " of 6 runs were killed before finishing (an uninterrupted run takes " << wall_s << " s)");
  CHECK(kills >= 1);
  const auto r = run_zerosim("sweep " + kGrid + " -j 3 --resume --out " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(zerosim::testing::read_file(dir.path("r.jsonl")) ==
        zerosim::testing::read_file(dir.path("ref.jsonl")));
  CHECK(zerosim::testing::read_file(dir.path("r.csv")) == zerosim::testing::read_file(dir.path("ref.csv")));
}

TEST_CASE("a platform our check accepts but SimGrid's DTD rejects is exit 2, not an internal error",
          "[robustness][platform]") {
  // Found by fuzz_platform: a DOCTYPE with a mangled system id, which pugixml ignores.
  const auto r =
      run_zerosim("platform --check tests/fuzz/corpus/platform/accepted-then-simgrid-parse-error.xml");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("accepted-then-simgrid-parse-error.xml"));
}

TEST_CASE(
    "platforms that crashed SimGrid 3.32 after our check accepted them are exit 2 naming the route or prop",
    "[robustness][platform]") {
  // Found by fuzz_platform: a DijkstraCache zone declaring node0-nvswitch -> node0-gpu0 twice made
  // SimGrid segfault (DijkstraZone::new_edge formats "already exists" through a null pointer).
  const std::string dup = "tests/fuzz/corpus/platform/regression-duplicate-route-dijkstra-segv.xml";
  const auto r = run_zerosim("platform --check " + dup + " --ring");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains(dup) &&
                        Catch::Contains("zone 'cluster' route node0-nvswitch -> node0-gpu0") &&
                        Catch::Contains("already declared") && Catch::Contains("routing='DijkstraCache'"));
  // Found by fuzz_platform under UBSan: memory_bytes of 1.8e19 overflowed the conversion to int64.
  const std::string mem = "tests/fuzz/corpus/platform/regression-memory-bytes-over-int64.xml";
  const auto m = run_zerosim("platform --check " + mem + " --ring");
  CHECK(m.exit_code == 2);
  CHECK_THAT(m.err, Catch::Contains(mem) && Catch::Contains("host 'node0-gpu0'") &&
                        Catch::Contains("memory_bytes") && Catch::Contains("1 PiB"));
}

TEST_CASE("an adapter_config.json regex std::regex backtracked on for minutes is exit 2 at once",
          "[robustness][peft]") {
  // Found by fuzz_adapter_config (over its 10 s timeout): target_modules ".?*\.(...)", which Python's
  // re rejects as "multiple repeat" and libstdc++'s std::regex took exponential time to match.
  TempDir dir;
  const std::string adapter = zerosim::testing::source_path(
      "tests/fuzz/corpus/adapter_config/regression-regex-multiple-repeat-timeout.json");
  const std::string config =
      dir.write("run.yaml", "model: llama2-7b\ncluster: {gpus: 1}\npeft: {adapter: " + adapter + "}\n");
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_zerosim("memory --config " + config);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains(adapter) && Catch::Contains("'target_modules'") &&
                        Catch::Contains("multiple repeat at position 2") &&
                        Catch::Contains("'.?*\\.(self_aatpt\\n_self|"));  // the newline shown escaped
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);               // one line
  CHECK(seconds < 5.0);
}
