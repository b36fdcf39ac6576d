#pragma once
// recommend's memory safety margin: the share of each GPU's memory a recommended configuration must
// leave free, so that a prediction that errs low still fits. Its default is the largest under-prediction
// among the memory rows `zerosim validate tests/validation` scores (known misses excluded):
// swift-qwen7b-lora-len512, 15.60 GiB predicted against 18.01 GiB measured, error (15.60 - 18.01) / 18.01
// = -13.4% (rounded up to 0.1%). A measured peak M and a prediction P = M (1 - e) fit a card of C bytes when
// P <= C (1 - e), so the margin is e itself. tests/integration/test_recommend_cli.cpp recomputes it from
// validate's JSON and fails when a modelling change moves it (docs/memory-model.md "Safety margin").
#include <cstdint>

namespace zerosim {

inline constexpr double kValidatedMemoryMargin = 0.134;
// `--memory-margin`'s range: below 0 would recommend more than the card holds, 0.5 and above throws away
// half of every card.
inline constexpr double kMaxMemoryMargin = 0.5;

// Whether a GPU peak fits `capacity_bytes` with `margin` of it kept free.
inline bool fits_with_margin(int64_t peak_bytes, int64_t capacity_bytes, double margin) {
  return static_cast<double>(peak_bytes) <= static_cast<double>(capacity_bytes) * (1.0 - margin);
}

}  // namespace zerosim
