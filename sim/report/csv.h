#pragma once
// The one CSV writer (RFC 4180): a cell is quoted, with its quotes doubled, when it holds a comma, a
// quote or a line break; otherwise it is written as it is.
#include <string>
#include <vector>

namespace zerosim {

std::string csv_cell(const std::string& text);

// The cells, each through csv_cell, joined by commas, ended by a newline.
std::string csv_row(const std::vector<std::string>& cells);

}  // namespace zerosim
