// zerosim merge SHARD.jsonl... -o RESULTS.jsonl
// Options only; the merge runs in sim/batch/sweep_merge.
#include <CLI/CLI.hpp>

#include "sim/batch/sweep_merge.h"
#include "sim/cli/commands.h"

namespace zerosim {

void add_merge_command(CLI::App& root) {
  auto* cmd = root.add_subcommand("merge",
                                  "combine the results.jsonl of sweep shards into one, checking for "
                                  "missing and duplicated points");
  auto o = std::make_shared<MergeOptions>();
  cmd->add_option("shards", o->shards, "results.jsonl of each shard (zerosim sweep --shard K/N --out ...)")
      ->required();
  cmd->add_option("-o,--out", o->out, "merged RESULTS.jsonl; the CSV goes next to it")->required();
  cmd->callback([o] { run_merge(*o); });
}

}  // namespace zerosim
