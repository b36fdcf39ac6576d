// zerosim import TOOL FILE [-o RUN.yaml] [--model NAME|config.json] [--peft adapter_config.json]
//                          [--seq-len N] [--gpu NAME] [--gpus N] [--gpus-per-node G]
// A training front-end's config (workloads/config_import.h) as a zerosim run config: YAML on stdout or in
// RUN.yaml, a comment per key saying where it came from, the fields that change neither time nor memory
// on stderr. The result is loaded as a run config before it is written, so what it says is what
// `zerosim simulate --config RUN.yaml` will read.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "sim/cli/commands.h"
#include "workloads/config_error.h"
#include "workloads/config_import.h"
#include "workloads/run_config.h"

namespace zerosim {
namespace {

const std::string kWhere = "zerosim import";

struct ImportCommand {
  std::string tool;
  std::string file;
  std::string out;
  ImportOptions options;
};

void run_import(ImportCommand c) {
  const auto& all = importers();
  const auto it = all.find(c.tool);
  if (it == all.end()) {
    std::string names;
    for (const auto& [name, fn] : all) names += (names.empty() ? "" : ", ") + name;
    throw ConfigError(kWhere, "TOOL", "'" + c.tool + "' (allowed: " + names + ")");
  }
  namespace fs = std::filesystem;
  c.options.out_dir = c.out.empty() ? std::string() : fs::absolute(fs::path(c.out)).parent_path().string();
  const ImportedConfig imported = it->second(c.file, c.options);
  const std::string text = render_run_config(imported);
  // What simulate will read: paths in it resolve against the output file (or the working directory).
  run_config_from_yaml(YAML::Load(text), c.out);
  for (const auto& line : imported.no_effect)
    std::cerr << "zerosim import: no effect on time or memory: " << line << "\n";
  if (c.out.empty()) {
    std::cout << text;
    return;
  }
  std::ofstream f(c.out);
  if (!(f << text)) throw ConfigError(kWhere, "-o", "cannot write '" + c.out + "'");
}

}  // namespace

void add_import_command(CLI::App& root) {
  auto c = std::make_shared<ImportCommand>();
  CLI::App* cmd = root.add_subcommand(
      "import", "a training front-end's config (axolotl, LLaMA-Factory, HF Trainer) as a zerosim run config");
  std::vector<std::string> tools;
  for (const auto& [name, fn] : importers()) tools.push_back(name);
  cmd->add_option("tool", c->tool, "the front-end whose config FILE is")
      ->required()
      ->check(CLI::IsMember(tools));
  cmd->add_option("file", c->file, "its config file (YAML, or JSON for hf-trainer)")->required();
  cmd->add_option("-o,--out", c->out, "write the run config to RUN.yaml instead of stdout")
      ->type_name("RUN.yaml");
  cmd->add_option(
      "--model", c->options.model,
      "the base model: a zerosim preset or a config.json path (instead of the file's; required where "
      "the file names none or a Hub id no preset matches)");
  cmd->add_option("--peft", c->options.peft_adapter,
                  "a peft adapter_config.json (hf-trainer files have no adapter)")
      ->type_name("adapter_config.json");
  cmd->add_option(
         "--weights-dtype", c->options.weights_dtype,
         "hf-trainer: the dtype the model was loaded in (from_pretrained's torch_dtype; default fp32)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
  cmd->add_option("--seq-len", c->options.seq_len, "tokens per sample, where the file does not say")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--gpu", c->options.gpu, "GPU catalogue id (training configs name no hardware)");
  cmd->add_option("--gpus", c->options.gpus, "GPUs in the job")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--gpus-per-node", c->options.gpus_per_node, "GPUs per node")
      ->check(CLI::Range(int64_t{1}, int64_t{64}));
  cmd->callback([c] { run_import(*c); });
}

}  // namespace zerosim
