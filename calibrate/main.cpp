// zerosim-calibrate: time the real LoRA/DoRA step operations on this machine's GPU (or CPU)
// and write the calibration file zerosim simulate reads. Errors become exit codes here only.
#include <fstream>
#include <iostream>
#include <optional>

#include "calibrate/backend.h"
#include "calibrate/calibrate_run.h"
#include "calibrate/cli_options.h"
#include "workloads/error.h"
#include "workloads/model_spec.h"

int main(int argc, char** argv) {
  using namespace zerosim::calib;
  try {
    const CliOptions options = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
    if (options.help) {
      std::cout << usage_text();
      return 0;
    }
    std::unique_ptr<Backend> backend;
    std::optional<zerosim::ModelSpec> model;
    if (!options.host_only) {
      model = zerosim::load_model(options.model, "", "--model");
      backend = options.backend == "cuda" ? make_cuda_backend(options.device) : make_cpu_backend();
    }
    std::ofstream probe(options.out, std::ios::app);  // fail before minutes of timing, not after
    if (!probe) {
      std::cerr << "zerosim-calibrate: --out: cannot write '" << options.out << "'\n";
      return 2;
    }
    probe.close();
    const CalibrationTable table = options.host_only ? run_host_calibration(options, std::cerr)
                                                     : run_calibration(*backend, *model, options, std::cerr);
    std::ofstream out(options.out, std::ios::trunc);
    out << to_yaml(table);
    if (!out) {
      std::cerr << "zerosim-calibrate: --out: writing '" << options.out << "' failed\n";
      return 1;
    }
    std::cerr << "wrote " << options.out << " (" << table.rows().size() << " timed points"
              << (table.host ? ", host section" : "") << ", " << table.device.kind << " '"
              << table.device.name << "')\n";
    return 0;
  } catch (const NoDeviceError& e) {
    std::cerr << "zerosim-calibrate: " << e.what()
              << "\n  To calibrate this machine's CPU instead (the file will say so), use --backend cpu.\n";
    return 2;
  } catch (const zerosim::Error& e) {  // bad usage or bad input (workloads/error.h)
    std::cerr << "zerosim-calibrate: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "zerosim-calibrate: internal error: " << e.what() << "\n";
    return 1;
  } catch (...) {  // not even a std::exception: still an internal error, never std::terminate
    std::cerr << "zerosim-calibrate: internal error: an unknown exception\n";
    return 1;
  }
}
