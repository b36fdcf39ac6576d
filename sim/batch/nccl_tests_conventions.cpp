#include "sim/batch/nccl_tests_conventions.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "workloads/config_error.h"
#include "workloads/units.h"

namespace zerosim {

int64_t parse_size(const std::string& text, const std::string& flag) {
  if (text.empty()) throw ConfigError("zerosim collective", flag, "empty size");
  double mult = 1;
  std::string digits = text;
  const char unit = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
  if (unit == 'K' || unit == 'M' || unit == 'G' || unit == 'T') {
    digits = text.substr(0, text.size() - 1);
    const int64_t unit_bytes = unit == 'K' ? kKiB : unit == 'M' ? kMiB : unit == 'G' ? kGiB : kTiB;
    mult = static_cast<double>(unit_bytes);
  }
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  if (end == digits.c_str() || *end != '\0' || !(v > 0) || v * mult > 1e15)
    throw ConfigError("zerosim collective", flag,
                      "'" + text + "' is not a size (e.g. 1K, 64M, 8G; at most 1 PB)");
  return static_cast<int64_t>(std::llround(v * mult));
}

double bus_factor(CollectiveKind kind, int64_t ranks) {
  const double n = static_cast<double>(ranks);
  switch (kind) {
    case CollectiveKind::all_reduce:
      return 2.0 * (n - 1) / n;
    case CollectiveKind::all_gather:
    case CollectiveKind::reduce_scatter:
      return (n - 1) / n;
    case CollectiveKind::broadcast:
      return 1.0;
  }
  return 1.0;
}

}  // namespace zerosim
