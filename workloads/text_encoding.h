#pragma once
// Whether text read from a user's file is UTF-8. Every string zerosim echoes ends up in JSON, which must
// be UTF-8 (nlohmann::json throws on anything else), and XML and YAML are UTF-8 by definition: a file
// that is not is refused where it is read, naming the place (exit 2), never left to fail later.
#include <cstddef>
#include <optional>
#include <string_view>

namespace zerosim {

// The offset of the first byte that does not start or continue a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF included); nullopt when all of `text` is UTF-8.
std::optional<size_t> invalid_utf8_offset(std::string_view text);

// "line N" of `offset` in `text` (1-based), for messages.
size_t line_at(std::string_view text, size_t offset);

}  // namespace zerosim
