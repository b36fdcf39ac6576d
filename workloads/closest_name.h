#pragma once
// "did you mean ...?" for a misspelt key: the allowed name nearest in edit distance.
#include <string>
#include <vector>

namespace zerosim {

// Levenshtein distance (insertions, deletions, substitutions, each 1).
size_t edit_distance(const std::string& a, const std::string& b);

// The name of `names` nearest to `key`, or "" when none is within max(2, |key|/3) edits (a guess
// further away than that is noise, not help).
std::string closest_name(const std::string& key, const std::vector<std::string>& names);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& names);

}  // namespace zerosim
