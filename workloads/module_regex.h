#pragma once
// peft's regex target_modules: a Python `re` pattern that must match a module path in full
// (re.fullmatch(target_modules, "model.layers.0.self_attn.q_proj")).
//
// std::regex is not used: it backtracks, so a pattern like `.?*x` (which libstdc++ accepts and Python
// rejects) takes time exponential in the path length, and its compiler and matcher recurse, so a long or
// deeply nested pattern overflows the stack. This is a Thompson NFA simulation (no backtracking): time
// O(pattern x path), memory O(pattern), recursion only as deep as the pattern's groups nest (bounded).
//
// Syntax is Python's re for str patterns, what a peft user writes: literals, `.`, [classes] with ranges
// and \d \w \s, groups ( ), (?: ), (?P<name> ), alternation, * + ? {m} {m,} {,n} {m,n} and their lazy
// forms, anchors ^ $ \A \Z \b \B, lookahead and fixed-width lookbehind, (?#comments), flags i m s x a u
// (global at the start or scoped (?i: )). Patterns Python rejects are rejected with Python's reason
// (e.g. "multiple repeat"); back-references, conditionals, atomic groups, possessive quantifiers and
// non-ASCII characters (module paths are ASCII) are rejected as unsupported.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "workloads/error.h"

namespace zerosim {

// A pattern that is invalid, unsupported or over the limits; what() says which and where. Callers
// that know the pattern's file and key wrap it in a ConfigError.
class RegexError : public Error {
 public:
  using Error::Error;
};

class ModuleRegex {
 public:
  static constexpr size_t kMaxPatternLength = 4096;  // characters
  static constexpr size_t kMaxProgramSize = 20000;   // NFA instructions after expanding {m,n}
  static constexpr int kMaxNesting = 100;            // nested groups / lookarounds

  explicit ModuleRegex(const std::string& pattern);  // throws RegexError
  ~ModuleRegex();
  ModuleRegex(ModuleRegex&&) noexcept;
  ModuleRegex& operator=(ModuleRegex&&) noexcept;

  // re.fullmatch(pattern, text) is not None
  bool full_match(std::string_view text) const;

  struct Program;

 private:
  std::unique_ptr<Program> program_;
};

}  // namespace zerosim
