#pragma once
// Looking up a step program's ops by name in the unit tests.
#include <catch2/catch.hpp>
#include <string>

#include "workloads/step_program.h"

namespace zerosim::testing {

// The op of the micro-step named `name` (forward list first); fails the test when there is none.
inline const ComputeOp& find_op(const StepProgram& p, const std::string& name) {
  for (const auto* list : {&p.forward, &p.backward})
    for (const auto& op : *list)
      if (op.name == name) return op;
  FAIL("no op named " << name);
  return p.forward.front();
}

}  // namespace zerosim::testing
