#pragma once
// What the rows of a chart share and where they differ, so that a chart never claims a value that only
// its first row had, and never draws two rows as one point.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zerosim {

// The sweep axes (each row's "axes") whose values differ between `rows`, in first-seen order, leaving
// out `drawn` (the keys the chart shows: --x, --series).
std::vector<std::string> varying_axes(const std::vector<nlohmann::json>& rows,
                                      const std::vector<std::string>& drawn);

// Refuses (ConfigError on `results`, keyed by the first axis that still varies) when two rows have the
// same values of every key in `drawn`: the chart would draw them as one point, or one bar. The message
// names the axes that differ between them and suggests --where KEY=VALUE or --series KEY.
void require_one_row_per_point(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& drawn,
                               const std::string& results);

// "tiny-llama.json, DoRA r=8, 2x a100-80gb-sxm, ZeRO-3": only what every row has in common, leaving out
// `drawn`; then "differs between points: KEY, ..." for the axes that vary with the drawn keys.
std::string plot_title(const std::vector<nlohmann::json>& rows, const std::vector<std::string>& drawn);

}  // namespace zerosim
