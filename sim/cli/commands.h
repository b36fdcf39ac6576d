#pragma once
// The zerosim subcommands. Each registers itself on the root CLI11 app (cmd_*.cpp); all report bad
// input by throwing zerosim::ConfigError (exit code 2).

namespace CLI {
class App;
}

namespace zerosim {

void add_memory_command(CLI::App& root);
void add_simulate_command(CLI::App& root);
void add_collective_command(CLI::App& root);
void add_plot_command(CLI::App& root);
void add_recommend_command(CLI::App& root);
void add_sweep_command(CLI::App& root);
void add_merge_command(CLI::App& root);
void add_validate_command(CLI::App& root);
void add_platform_command(CLI::App& root);
void add_import_command(CLI::App& root);

}  // namespace zerosim
