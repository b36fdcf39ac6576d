#pragma once
// The --format option every reporting subcommand shares; the formats themselves live in
// sim/report/output_format.h.
#include <string>

namespace CLI {
class Option;
class App;
}  // namespace CLI

namespace zerosim {

// Adds --format with the allowed values to a subcommand.
CLI::Option* add_format_option(CLI::App& cmd, std::string& target,
                               const std::string& allowed = "table,json,csv");

}  // namespace zerosim
