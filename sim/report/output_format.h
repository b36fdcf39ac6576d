#pragma once
// The three output formats of `memory` and `simulate`: a table for people (GiB, ms, labelled),
// JSON and CSV for machines (bytes and seconds, exact). docs/architecture.md fixes the JSON keys.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace zerosim {

enum class OutputFormat { table, json, csv };

OutputFormat parse_format(const std::string& text);

// Deterministic JSON text (keys sorted by nlohmann's default map, shortest round-trip doubles).
std::string json_text(const nlohmann::json& j);

// One CSV header line and one row from a JSON object, flattening nested keys with dots.
std::string csv_from_json(const nlohmann::json& j);

std::string gib(int64_t bytes, int decimals = 2);  // "12.55"

// The document in the chosen format: JSON text, one CSV header and row, or the table for people
// (built only when asked for).
std::string formatted(OutputFormat format, const nlohmann::json& j,
                      const std::function<std::string()>& table);

}  // namespace zerosim
