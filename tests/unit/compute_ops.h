#pragma once
// A compute op by name in a step program's or a step graph's list of ops (tests only).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "workloads/step_program.h"

namespace zerosim::testing {

inline const ComputeOp* find_op(const std::vector<ComputeOp>& ops, const std::string& name) {
  for (const auto& op : ops)
    if (op.name == name) return &op;
  return nullptr;
}

// The op, or the test fails naming it.
inline const ComputeOp& op_named(const std::vector<ComputeOp>& ops, const std::string& name) {
  const ComputeOp* op = find_op(ops, name);
  if (!op) FAIL("no op named " << name);
  return *op;
}

}  // namespace zerosim::testing
