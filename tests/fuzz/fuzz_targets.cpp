#include "fuzz_targets.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "calibrate/calibration_table.h"
#include "sim/batch/nccl_tests_log.h"
#include "sim/batch/sweep_spec.h"
#include "sim/platform/platform_check.h"
#include "workloads/config_error.h"
#include "workloads/config_import.h"
#include "workloads/deepspeed_config.h"
#include "workloads/memory_model.h"
#include "workloads/model_spec.h"
#include "workloads/peft_spec.h"
#include "workloads/run_config.h"
#include "workloads/step_program.h"
#include "workloads/yaml_read.h"

namespace zerosim::fuzz {

namespace {

// Loaders that only take a path (ds_config.json, adapter_config.json) read the input from a file, one
// per process so parallel fuzzing jobs do not share it.
std::string write_scratch(const std::string& text, const char* suffix) {
  const char* dir = std::getenv("TMPDIR");
  const std::string path =
      std::string(dir && *dir ? dir : "/tmp") + "/zerosim-fuzz-" + std::to_string(getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

struct Scratch {
  std::string path;
  ~Scratch() { std::remove(path.c_str()); }
};

// A resolved config always needs memory and an op list; a violated promise is a finding.
void check_memory(const RunConfig& c) {
  const StepProgram program = build_step_program(c);
  const MemoryResult memory = predict_memory(c, program);
  if (memory.peak_bytes <= 0 || program.forward.empty()) std::abort();
}

}  // namespace

void run_config(const std::string& input) {
  std::string yaml = input;
  std::vector<Override> overrides;
  if (const auto at = input.find("#--set\n"); at != std::string::npos) {
    yaml = input.substr(0, at);
    std::stringstream rest(input.substr(at + 7));
    for (std::string line; std::getline(rest, line);) overrides.push_back(parse_override(line));
  }
  // Relative paths (model: models/tiny-llama.json, deepspeed: ...) resolve against tests/data.
  const RunConfig c = run_config_from_yaml(parse_yaml_text(yaml, "fuzz.yaml"),
                                           ZEROSIM_SOURCE_DIR "/tests/data/fuzz.yaml", overrides);
  check_memory(c);
  (void)c.echo().dump();
}

void hf_config(const std::string& input) {
  const ModelSpec m = model_from_hf_config(input, "config.json");
  // Parameter counts are int64 products of the user's numbers: UBSan reports an overflow here.
  if (m.total_params() <= 0 || m.layer_linear_params() <= 0 || m.q_dim() <= 0) std::abort();
}

void ds_config(const std::string& input) {
  static const RunConfig base =
      run_config_from_yaml(parse_yaml_text("model: models/tiny-llama.json\ncluster: {gpus: 4}\n", "base"),
                           ZEROSIM_SOURCE_DIR "/tests/data/fuzz.yaml");
  const Scratch file{write_scratch(input, "-ds_config.json")};
  RunConfig c = base;
  apply_deepspeed_config(file.path, YAML::Node(), c);
  apply_zero_section(YAML::Node(), "fuzz.yaml", c);
  check_memory(c);
}

void adapter_config(const std::string& input) {
  static const ModelSpec llama = load_model(ZEROSIM_SOURCE_DIR "/tests/data/models/tiny-llama.json");
  static const ModelSpec qwen = load_model(ZEROSIM_SOURCE_DIR "/tests/data/models/qwen-7b.json");
  const Scratch file{write_scratch(input, "-adapter_config.json")};
  const PeftSpec p = peft_from_adapter_config(file.path);
  // Both models, even when the first rejects the targets.
  std::string first_error;
  for (const ModelSpec* m : {&llama, &qwen}) {
    PeftSpec q = p;
    try {
      resolve_targets(q, *m, "fuzz.yaml");
    } catch (const ConfigError& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (!first_error.empty()) throw ConfigError("adapter_config.json", "", first_error);
}

void sweep(const std::string& input) {
  try {
    (void)parse_shard(input);
  } catch (const ConfigError&) {
  }
  const Sweep s = sweep_from_yaml(parse_yaml_text(input, "sweep.yaml"),
                                  ZEROSIM_SOURCE_DIR "/tests/data/sweeps/fuzz.yaml");
  if (s.points.empty()) std::abort();  // load_sweep promises at least one point
}

void calibration(const std::string& input) {
  const auto table = calib::parse_calibration(input, "calibration.yaml");
  for (const auto& row : table.rows()) {
    for (const int64_t scale : {1, 3}) {
      calib::OpKey k = row.key;
      k.tokens = k.tokens / scale + 1;
      (void)table.lookup(k);
      k.d_in += 7;
      k.r = k.r > 0 ? k.r + 1 : 0;
      (void)table.lookup(k);
    }
  }
  (void)calib::to_yaml(table);
}

void platform(const std::string& input) {
  const PlatformInfo info = check_platform_xml(input, "platform.xml");
  if (info.gpu_hosts.empty()) std::abort();  // the check promises at least one GPU host
}

void nccl_tests(const std::string& input) {
  // Every row kept must be usable: a positive size and finite, non-negative columns.
  const NcclTestsLog log = parse_nccl_tests_log(input, "run.log");
  if (log.ranks < 0) std::abort();
  for (const NcclTestsRow& r : log.rows)
    if (r.size_bytes <= 0 || !(r.in_busbw_gbps >= 0) || !(r.out_busbw_gbps >= 0) || !(r.in_time_s >= 0))
      std::abort();
}

void import(const std::string& input) {
  // Every importer on the same text (YAML, or JSON for hf-trainer), as `zerosim import` runs it: the run
  // config it renders must load, or the importer must have refused the file.
  const Scratch file{write_scratch(input, "-train.yaml")};
  ImportOptions o;
  o.model = "llama2-7b";
  o.seq_len = 512;
  o.gpus = 2;
  std::string first_error;
  for (const auto& [tool, run] : importers()) {
    try {
      const ImportedConfig c = run(file.path, o);
      (void)run_config_from_yaml(YAML::Load(render_run_config(c)), "");
    } catch (const ConfigError& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (!first_error.empty()) throw ConfigError("train.yaml", "", first_error);
}

const std::map<std::string, std::function<void(const std::string&)>>& targets() {
  static const std::map<std::string, std::function<void(const std::string&)>> t = {
      {"run_config", run_config}, {"hf_config", hf_config},
      {"ds_config", ds_config},   {"adapter_config", adapter_config},
      {"sweep", sweep},           {"calibration", calibration},
      {"platform", platform},     {"nccl_tests", nccl_tests},
      {"import", import}};
  return t;
}

}  // namespace zerosim::fuzz
