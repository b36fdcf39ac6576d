#pragma once
// How a zerosim child tells its parent (`zerosim validate`) why it rejected its input. The parent
// sets kWorkerErrorsEnv in the child's environment; the child's command boundary then writes its
// ConfigError to stderr as one JSON object with the error's file, key and message, and the parent
// rebuilds the error from those fields instead of reading the human-facing "zerosim: error: " line.
#include <optional>
#include <string>

#include "workloads/config_error.h"

namespace zerosim {

inline constexpr const char* kWorkerErrorsEnv = "ZEROSIM_WORKER_ERRORS";

// kWorkerErrorsEnv=json, for a child's environment.
std::string worker_errors_setting();

// Whether this process is such a child.
bool reporting_errors_to_parent();

// {"file": ..., "key": ..., "message": ...} and a newline.
std::string worker_error_json(const ConfigError& e);

// The error a child wrote with worker_error_json as the last line of its stderr; nothing when that
// line is not one (the child failed before its command boundary, e.g. on a command line its parser
// rejected).
std::optional<ConfigError> read_worker_error(const std::string& stderr_text);

}  // namespace zerosim
