#pragma once
// Binary byte units. The double forms keep floating-point arithmetic where a value is scaled to or
// from GiB (an integer constant there would turn a division into an integer one).
#include <cstdint>

namespace zerosim {

inline constexpr int64_t kKiB = 1024;
inline constexpr int64_t kMiB = 1024 * kKiB;
inline constexpr int64_t kGiB = 1024 * kMiB;
inline constexpr int64_t kTiB = 1024 * kGiB;

inline constexpr double kBytesPerGiB = static_cast<double>(kGiB);

}  // namespace zerosim
