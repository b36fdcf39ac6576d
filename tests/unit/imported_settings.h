#pragma once
// Lookups into an importer's result (workloads/config_import.h) for the `zerosim import` unit tests.
#include <algorithm>
#include <string>

#include "workloads/config_import.h"

namespace zerosim::testing {

inline const ImportedSetting* find_setting(const ImportedConfig& c, const std::string& key) {
  for (const auto& s : c.settings)
    if (s.key == key) return &s;
  return nullptr;
}

// The value (YAML text) or the origin of `key`, "<unset>" when the importer did not set it.
inline std::string value(const ImportedConfig& c, const std::string& key) {
  const auto* s = find_setting(c, key);
  return s ? s->value : "<unset>";
}
inline std::string origin(const ImportedConfig& c, const std::string& key) {
  const auto* s = find_setting(c, key);
  return s ? s->origin : "<unset>";
}

// Whether `field` is among the fields listed as having no effect on time or memory.
inline bool lists_no_effect(const ImportedConfig& c, const std::string& field) {
  return std::any_of(c.no_effect.begin(), c.no_effect.end(),
                     [&](const std::string& line) { return line.rfind(field + ": ", 0) == 0; });
}

}  // namespace zerosim::testing
