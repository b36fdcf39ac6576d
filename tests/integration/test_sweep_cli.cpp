// zerosim sweep and merge end to end on the tiny model: rows, determinism, kills at random moments
// then --resume, SIGINT, shards and merge (gaps, duplicates), a failing point, bad sweep files.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
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

const std::string kGrid = "--config tests/data/sweeps/tiny-grid.yaml";  // 10 points

std::vector<nlohmann::json> rows_of(const std::string& jsonl) {
  std::vector<nlohmann::json> rows;
  std::stringstream ss(zerosim::testing::read_file(jsonl));
  for (std::string line; std::getline(ss, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// `zerosim <args>` started in the background from the source tree, its output discarded, with TMPDIR
// set so its workers' scratch files (and command lines) are recognisable.
pid_t start_zerosim(const std::string& args, const std::string& tmpdir) {
  const std::string command = std::string("exec ") + ZEROSIM_BINARY + " " + args;
  const pid_t pid = fork();
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    if (chdir(ZEROSIM_SOURCE_DIR) != 0) _exit(126);
    setenv("TMPDIR", tmpdir.c_str(), 1);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Processes whose command line mentions `text` (here: a worker reading its point from our TMPDIR).
size_t processes_mentioning(const std::string& text) {
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = zerosim::testing::read_file(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(text) != std::string::npos) ++n;
  }
  return n;
}

// The uninterrupted run every other run must reproduce byte for byte.
struct Reference {
  TempDir dir;
  std::string jsonl, csv;
  double wall_s = 0;
  Reference() {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_zerosim("sweep " + kGrid + " -j 2 --out " + dir.path("ref.csv"));
    wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    jsonl = zerosim::testing::read_file(dir.path("ref.jsonl"));
    csv = zerosim::testing::read_file(dir.path("ref.csv"));
  }
};

}  // namespace

TEST_CASE("sweep writes one JSON row and one CSV row per point, with axes, hash and position",
          "[sweep][cli]") {
  const Reference ref;
  std::stringstream ss(ref.jsonl);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(ss, line);) rows.push_back(nlohmann::json::parse(line));
  REQUIRE(rows.size() == 10);
  std::set<std::string> points;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    CHECK(r["sweep"]["index"] == i);
    CHECK(r["sweep"]["points"] == 10);
    CHECK(r["error"].is_null());
    CHECK(r["time"]["step_s"].get<double>() > 0);
    CHECK(r["memory"]["peak_bytes"].get<int64_t>() > 0);
    CHECK(r["config"]["zero"]["stage"] == r["axes"]["zero.stage"]);
    CHECK(r["config"]["cluster"]["gpus"] == r["axes"]["cluster.gpus"]);
    points.insert(r["point"].get<std::string>());
  }
  CHECK(points.size() == 10);
  // The excluded (stage 2, 1 GPU) points are absent.
  for (const auto& r : rows) CHECK_FALSE((r["axes"]["zero.stage"] == 2 && r["axes"]["cluster.gpus"] == 1));
  std::stringstream csv(ref.csv);
  std::string header;
  std::getline(csv, header);
  CHECK(header ==
        "index,point,zero.stage,cluster.gpus,peft.r,peak_bytes,fits,step_s,tokens_per_s,tokens_per_s_per_gpu,"
        "mfu,exposed_comm_s,error");
  CHECK(std::count(ref.csv.begin(), ref.csv.end(), '\n') == 11);
}

TEST_CASE("results do not depend on -j: the files are byte-identical", "[sweep][cli]") {
  const Reference ref;
  const TempDir dir;
  const auto r = run_zerosim("sweep " + kGrid + " -j 1 --out " + dir.path("j1.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("10/10 points"));  // the progress line (stderr is not a terminal here)
  CHECK(zerosim::testing::read_file(dir.path("j1.jsonl")) == ref.jsonl);
  CHECK(zerosim::testing::read_file(dir.path("j1.csv")) == ref.csv);
}

TEST_CASE("a sweep killed with SIGKILL at a random moment, then resumed, gives the uninterrupted rows",
          "[sweep][cli][resume]") {
  const Reference ref;
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> moment(0.0, 1.2 * ref.wall_s);
  for (int attempt = 0; attempt < 3; ++attempt) {
    const TempDir dir;
    const std::string out = dir.path("r.csv");
    // Killed twice: once in the first run, once while resuming; then resumed to the end.
    std::vector<double> delays;
    for (const char* resume : {"", " --resume"}) {
      const double delay = moment(rng);
      delays.push_back(delay);
      const pid_t pid = start_zerosim("sweep " + kGrid + " -j 2 --out " + out + resume, dir.path(""));
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
      kill(pid, SIGKILL);
      wait_status(pid);
      // Its workers die with it (PR_SET_PDEATHSIG): none is left reading a point from our TMPDIR.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      CHECK(processes_mentioning(dir.path("zerosim-points-")) == 0);
    }
    INFO("killed after " << delays[0] << " s and " << delays[1] << " s (an uninterrupted run takes "
                         << ref.wall_s << " s)");
    const auto r = run_zerosim("sweep " + kGrid + " -j 2 --resume --out " + out);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(zerosim::testing::read_file(dir.path("r.jsonl")) == ref.jsonl);
    CHECK(zerosim::testing::read_file(dir.path("r.csv")) == ref.csv);
  }
}

TEST_CASE("SIGINT stops a sweep with the signal's status; --resume finishes it", "[sweep][cli][resume]") {
  const Reference ref;
  const TempDir dir;
  const std::string out = dir.path("r.csv");
  const pid_t pid = start_zerosim("sweep " + kGrid + " -j 1 --out " + out, dir.path(""));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  kill(pid, SIGINT);
  const int status = wait_status(pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
  CHECK(processes_mentioning(dir.path("zerosim-points-")) == 0);
  CHECK(rows_of(dir.path("r.jsonl")).size() < 10);
  const auto r = run_zerosim("sweep " + kGrid + " --resume --out " + out);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("already in"));
  CHECK(zerosim::testing::read_file(dir.path("r.jsonl")) == ref.jsonl);
}

TEST_CASE("sweep --resume drops a torn last line and reruns only that point", "[sweep][cli][resume]") {
  const Reference ref;
  const TempDir dir;
  // Rows 0-8 whole, row 9 cut in the middle (a write that a kill interrupted).
  std::string torn = ref.jsonl.substr(0, ref.jsonl.size() - 40);
  dir.write("r.jsonl", torn);
  const auto r = run_zerosim("sweep " + kGrid + " --resume --out " + dir.path("r.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("dropped 1 torn line") && Catch::Contains("9 already in") &&
                        Catch::Contains("1 to run"));
  CHECK(zerosim::testing::read_file(dir.path("r.jsonl")) == ref.jsonl);
  CHECK(zerosim::testing::read_file(dir.path("r.csv")) == ref.csv);
}

TEST_CASE("sweep --resume refuses rows of another sweep", "[sweep][cli][resume]") {
  const TempDir dir;
  REQUIRE(run_zerosim("sweep --config tests/data/sweeps/tiny-failing-point.yaml --out " + dir.path("r.csv"))
              .exit_code == 0);
  const auto r = run_zerosim("sweep " + kGrid + " --resume --out " + dir.path("r.csv"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("another sweep"));
}

TEST_CASE("shards K/N cover every point once and merge into the unsharded result", "[sweep][cli][shard]") {
  const Reference ref;
  const TempDir dir;
  std::multiset<size_t> indices;
  std::string shards;
  for (int k = 1; k <= 3; ++k) {
    const std::string out = dir.path("s" + std::to_string(k) + ".csv");
    const auto r = run_zerosim("sweep " + kGrid + " --shard " + std::to_string(k) + "/3 --out " + out);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    for (const auto& row : rows_of(dir.path("s" + std::to_string(k) + ".jsonl"))) {
      CHECK(row["sweep"]["index"].get<size_t>() % 3 == static_cast<size_t>(k - 1));
      indices.insert(row["sweep"]["index"].get<size_t>());
    }
    shards += " " + dir.path("s" + std::to_string(k) + ".jsonl");
  }
  CHECK(indices == std::multiset<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto m = run_zerosim("merge" + shards + " -o " + dir.path("merged.jsonl"));
  INFO(m.err);
  REQUIRE(m.exit_code == 0);
  CHECK(zerosim::testing::read_file(dir.path("merged.jsonl")) == ref.jsonl);
  CHECK(zerosim::testing::read_file(dir.path("merged.csv")) == ref.csv);

  SECTION("a missing shard is a gap: exit 2 listing the missing indices") {
    const auto r = run_zerosim("merge " + dir.path("s1.jsonl") + " " + dir.path("s2.jsonl") + " -o " +
                               dir.path("m.jsonl"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("missing 3 point(s), indices 2, 5, 8"));
    CHECK_FALSE(std::filesystem::exists(dir.path("m.jsonl")));
  }
  SECTION("a shard given twice duplicates its points: exit 2 listing them") {
    const auto r = run_zerosim("merge" + shards + " " + dir.path("s2.jsonl") + " -o " + dir.path("m.jsonl"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("3 point(s) appear more than once") && Catch::Contains("index 1 ") &&
                          Catch::Contains("index 7 "));
  }
  SECTION("shards of different sweeps do not merge") {
    REQUIRE(
        run_zerosim("sweep --config tests/data/sweeps/tiny-failing-point.yaml --out " + dir.path("other.csv"))
            .exit_code == 0);
    const auto r =
        run_zerosim("merge" + shards + " " + dir.path("other.jsonl") + " -o " + dir.path("m.jsonl"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("same SWEEP.yaml"));
  }
}

TEST_CASE("a point the config rejects records its error and the sweep goes on", "[sweep][cli]") {
  const TempDir dir;
  const auto r =
      run_zerosim("sweep --config tests/data/sweeps/tiny-failing-point.yaml --out " + dir.path("r.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("1 point(s) of this run failed"));
  const auto rows = rows_of(dir.path("r.jsonl"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[1]["axes"] == nlohmann::json{{"zero.stage", 0}, {"zero.offload_param", "cpu"}});
  CHECK_THAT(rows[1]["error"].get<std::string>(),
             Catch::Contains("zero.offload_param") && Catch::Contains("stage 3"));
  for (size_t i : {0, 2, 3}) {
    CHECK(rows[i]["error"].is_null());
    CHECK(rows[i]["time"]["step_s"].get<double>() > 0);
  }
  CHECK_THAT(zerosim::testing::read_file(dir.path("r.csv")),
             Catch::Contains(",0,cpu,,,,,,,,") && Catch::Contains("offload_param"));
}

TEST_CASE("an inline base resolves its paths from the sweep file; list values work as axes", "[sweep][cli]") {
  const TempDir dir;
  const auto r =
      run_zerosim("sweep --config tests/data/sweeps/tiny-inline-base.yaml --out " + dir.path("r.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto rows = rows_of(dir.path("r.jsonl"));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0]["config"]["peft"]["target_modules"] == nlohmann::json{"q_proj", "v_proj"});
  CHECK(rows[1]["config"]["peft"]["target_modules"].size() == 7);  // all-linear on a LLaMA block
  CHECK(rows[1]["params"]["trainable"].get<int64_t>() > rows[0]["params"]["trainable"].get<int64_t>());
}

TEST_CASE("a bad SWEEP.yaml exits 2 naming the key", "[sweep][cli][errors]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bad-unknown-axis.yaml", "axes.zero.stagee"},
      {"bad-empty-axis.yaml", "axes.peft.r"},
      {"bad-axis-not-list.yaml", "axes.zero.stage"},
      {"bad-value-type.yaml", "axes.cluster.gpus"},
      {"bad-top-key.yaml", "'axis'"},
      {"bad-exclude-key.yaml", "exclude[0].cluster.gpus"}};
  for (const auto& [file, key] : cases) {
    const TempDir dir;
    const auto r = run_zerosim("sweep --config tests/data/sweeps/" + file + " --out " + dir.path("r.csv"));
    INFO(file << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains(key) && Catch::Contains(file));
    CHECK_FALSE(std::filesystem::exists(dir.path("r.jsonl")));
  }
  for (const char* bad : {"--shard 4/3", "--shard 0/2", "-j 0"}) {
    const auto r = run_zerosim("sweep " + kGrid + " " + bad + " --out /tmp/zerosim-never-written.csv");
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
  }
}

TEST_CASE("a sweep leaves no scratch folder and removes those of sweeps that were killed", "[sweep][cli]") {
  const TempDir dir;
  // A SIGKILLed sweep's folder: its owner pid is pid_max, which no process has.
  long pid_max = 4194304;
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  const std::string stale =
      dir.write("zerosim-points-" + std::to_string(pid_max) + "-abcdef/point-3.yaml", "x");
  REQUIRE(std::filesystem::exists(stale));
  const auto r = zerosim::testing::run_command("cd " + zerosim::testing::source_path("") +
                                               " && TMPDIR=" + dir.path("") + " " + ZEROSIM_BINARY +
                                               " sweep " + kGrid + " -j 2 --out " + dir.path("r.csv"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir.path("")))
    if (e.path().filename().string().rfind("zerosim-points-", 0) == 0) left.push_back(e.path());
  CHECK(left.empty());
}
