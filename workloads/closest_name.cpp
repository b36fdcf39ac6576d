#include "workloads/closest_name.h"

#include <algorithm>

namespace zerosim {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::string closest_name(const std::string& key, const std::vector<std::string>& names) {
  const size_t limit = std::max<size_t>(2, key.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto& n : names) {
    const size_t d = edit_distance(key, n);
    if (d < best_distance) best = n, best_distance = d;
  }
  return best;
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& names) {
  const std::string best = closest_name(key, names);
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

}  // namespace zerosim
