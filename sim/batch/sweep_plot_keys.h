#pragma once
// The keys of `zerosim plot` as users write them (an axis, a config key, a headline figure or a path in
// a sweep row) and how each is shown: an axis label in words with its unit, and the scale from the
// row's SI value (seconds, bytes) to that unit.
#include <nlohmann/json.hpp>
#include <string>

namespace zerosim {

// The value of `key` in a sweep row, looked up as an axis, a path in the row, a path in its config, a
// headline figure (sweep_results.h), then a path in time / throughput / memory / memory.breakdown;
// nullptr when absent.
const nlohmann::json* plot_lookup(const nlohmann::json& row, const std::string& key);

// A value as written in --where and in legends: strings bare, the rest as JSON.
std::string plot_text(const nlohmann::json& value);

struct PlotAxis {
  std::string label;  // "peak memory per GPU (GiB)"
  double scale = 1;   // multiplies the row's value (bytes → GiB, s → ms, fraction → %)
};
// From a table of the known metrics and config keys; unknown keys keep their name, with (ms) or (GiB)
// for the *_s and *_bytes figures.
PlotAxis plot_axis(const std::string& key);

}  // namespace zerosim
