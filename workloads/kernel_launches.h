#pragma once
// The host side of every compute op: how many CUDA kernels eager PyTorch launches for it (counted from
// the code that runs: transformers' LLaMA modules, peft's LoRA/DoRA layers, flash-attn, the loss) and
// how long the training thread takes to issue them. The engine runs a host timeline next to the GPU's:
// a kernel cannot start before the host has issued it (docs/time-model.md, "The host that launches
// kernels"). No SimGrid here.
#include "workloads/run_config.h"
#include "workloads/step_program.h"

namespace zerosim {

// Training-thread seconds per kernel launched (docs/time-model.md, "The host that launches kernels", for
// the sources). Forward and recompute ops are issued from Python (nn.Module calls, the dispatcher, the
// launch); backward kernels from autograd's C++ engine, without the Python layer.
struct HostLaunchCosts {
  double forward_kernel_s =
      33e-6;  // vllm-omni PR #6516 (Nsight, eager forward): 31-35 µs between kernel launches
  double backward_kernel_s = 4e-6;  // [est] the dispatcher and launch without Python (pytorch#41383: about
                                    // half of an eager op's host time is the Python layer)
};

// Host seconds per parameter DeepSpeed's count_used_parameters_in_backward visits (its Python loop:
// _get_grad_fn_or_grad_acc, a set, _will_engine_execute_node). From DeepSpeed PR #7886's measurement: 147
// trainable tensors, ZeRO-2 on 8xH100, 0.1265 s per iteration with a count in every hook (0.18.5) against
// 0.0505 with one per backward: 0.076 s over 147 x 146 extra visits = 3.5 µs each.
inline constexpr double kHookCountVisitSeconds = 3.5e-6;

// DeepSpeed's ZeRO gradient hooks' parameter counts (framework_behaviour.h GradHookCount), added to the host
// time of the backward ops whose gradients fire them: every hook walks all trainable tensors in
// 0.18.5-0.18.6, the backward's first hook once in the other releases from 0.18.3.
void annotate_gradient_hooks(StepProgram& program, const RunConfig& config);

// Kernels one op launches (>= 1). The counts per op are listed, with the code they come from, in
// docs/time-model.md; ops zerosim does not list count one.
int kernels_launched(const ComputeOp& op, const RunConfig& config);

// Host seconds to issue the op's kernels: 0 with train.cuda_graphs (a captured graph is replayed by one
// launch per micro-step, docs/time-model.md).
double host_issue_seconds(const ComputeOp& op, int kernels, const RunConfig& config,
                          const HostLaunchCosts& costs = {});

// Host seconds to issue kernels from Python code outside autograd's engine (framework hooks, optimizer
// loops): the forward's cost per kernel, whatever the phase; 0 with train.cuda_graphs.
double python_issue_seconds(int kernels, const RunConfig& config, const HostLaunchCosts& costs = {});

// Sets the op's `kernels` and `host_s`; for every op of the program.
void annotate_host_launch(ComputeOp& op, const RunConfig& config);
void annotate_host_launches(StepProgram& program, const RunConfig& config);

}  // namespace zerosim
