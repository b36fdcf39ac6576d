// zerosim: predicts step time and per-GPU memory of LLM fine-tuning (none / LoRA / DoRA) under
// DeepSpeed ZeRO on a simulated cluster. Subcommands live in cmd_*.cpp; this file only dispatches
// and maps errors to exit codes: 0 ok, 2 bad usage or bad input, 1 internal error.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "sim/batch/child_process.h"
#include "sim/batch/worker_error.h"
#include "sim/cli/commands.h"
#include "workloads/error.h"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"zerosim: simulate DoRA/LoRA fine-tuning under DeepSpeed ZeRO on a GPU cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "zerosim 0.1.0");
  zerosim::add_memory_command(app);
  zerosim::add_simulate_command(app);
  zerosim::add_collective_command(app);
  zerosim::add_plot_command(app);
  zerosim::add_recommend_command(app);
  zerosim::add_sweep_command(app);
  zerosim::add_merge_command(app);
  zerosim::add_validate_command(app);
  zerosim::add_platform_command(app);
  zerosim::add_import_command(app);
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const zerosim::ConfigError& e) {
    // A child of `zerosim validate` hands its parent the error's parts (sim/batch/worker_error.h).
    std::cerr << (zerosim::reporting_errors_to_parent() ? zerosim::worker_error_json(e)
                                                        : "zerosim: error: " + std::string(e.what()) + "\n");
    return 2;
  } catch (const zerosim::Error& e) {  // bad usage or bad input (workloads/error.h)
    std::cerr << "zerosim: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "zerosim: internal error: " << e.what() << "\n";
    return 1;
  }
}

int main_entry(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {  // not even a std::exception: still an internal error, never std::terminate
    std::cerr << "zerosim: internal error: an unknown exception\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Sweep, recommend and validate workers run this same dispatcher in their forked child.
  zerosim::set_self_entry(&main_entry);
  return main_entry(argc, argv);
}
