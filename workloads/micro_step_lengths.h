#pragma once
// Variable-length batches in time (train.seq_len_distribution, docs/time-model.md "Variable-length
// batches"): the sequence length each of the simulated optimizer step's grad_accum micro-steps runs at.
// The listed lengths are sorted and cut into grad_accum groups of (as nearly as possible) equal count, and
// micro-step k runs at the mean length of group k (rounded up): the step's micro-steps then sum to the
// list's mean step in every cost linear in the length (GEMMs, elementwise ops, gradients), and slightly
// under it in attention's quadratic part. With one micro-step per step it is the list's mean length. No
// SimGrid here.
#include <cstdint>
#include <memory>
#include <vector>

#include "workloads/run_config.h"
#include "workloads/step_program.h"

namespace zerosim {

// grad_accum lengths: each train.seq_len without a distribution.
std::vector<int64_t> micro_step_lengths(const TrainSpec& train);

// The programs of a step's micro-steps: without a distribution none (every micro-step runs the config's
// program); with one, a program per distinct micro-step length and which one each micro-step runs.
struct MicroStepPrograms {
  std::vector<std::unique_ptr<StepProgram>> distinct;
  std::vector<const StepProgram*> per_micro_step;  // empty without a distribution
  // Per GPU per optimizer step: the tokens of its micro-steps and their useful FLOPs (for MFU).
  double tokens = 0;
  double model_flops = 0;
};
MicroStepPrograms micro_step_programs(const RunConfig& config, const StepProgram& program);

}  // namespace zerosim
