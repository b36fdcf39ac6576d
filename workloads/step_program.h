#pragma once
// The compute ops one rank runs in one micro-step, in execution order, each with the FLOPs and
// bytes that turn into time and the tensors it keeps or briefly needs that turn into memory.
// The memory model walks it; the step graph turns it into a DAG with collectives.
#include <cstdint>
#include <string>
#include <vector>

#include "workloads/framework_behaviour.h"
#include "workloads/param_inventory.h"
#include "workloads/run_config.h"

namespace zerosim {

enum class Phase { forward, recompute, backward, optimizer };

// How the roofline treats the op when no calibration entry exists.
// gemm_int8: an int8 tensor-core GEMM (LLM.int8()), at the GPU's INT8 peak.
enum class OpClass { gemm, gemm_int8, attention, memory_bound };

// The arithmetic an op runs in: 16-bit (bf16/fp16 tensor cores: every precision but fp32), or in fp32
// training fp32 on the CUDA cores, or TF32 on the tensor cores (train.tf32). GEMMs and attention take that
// peak; a calibration file (timed in bf16) applies to 16-bit ops only.
enum class MatmulMath { tensor16, fp32, tf32 };
MatmulMath matmul_math(const RunConfig& config);

struct ComputeOp {
  std::string name;  // unique within a micro-step, e.g. "L3.q_proj.lora_fwd"
  std::string op;    // calibration key (docs/calibration.md): linear_fwd, dora_weight_norm, ...
  int64_t tokens = 0, d_in = 0, d_out = 0, r = 0;  // calibration key shape
  Phase phase = Phase::forward;
  OpClass cls = OpClass::memory_bound;
  MatmulMath math = MatmulMath::tensor16;
  int layer = -1;            // decoder layer, -1 for embedding / head / loss / optimizer
  std::vector<int> modules;  // ParamModule indices whose full parameters the op reads (ZeRO-3 fetches)
  double flops = 0;
  double bytes = 0;             // DRAM traffic
  int64_t saved_bytes = 0;      // tensors kept for backward (forward and recompute ops)
  int64_t transient_bytes = 0;  // workspace and outputs freed by the end of the op
  int64_t releases_bytes = 0;   // saved tensors freed when this backward op ends
  // Tensors saved first in the micro-step (a loop's hold on the previous micro-step's outputs, charged to the
  // first forward op) freed when this op ends.
  int64_t releases_oldest_bytes = 0;
  // The separate tensors behind saved_bytes and transient_bytes where the op makes several (flash
  // attention keeps q, k, v, out and the log-sum-exp); empty: one tensor of the whole amount. The caching
  // allocator replay allocates them one by one (memory_model, docs/memory-model.md §5).
  std::vector<int64_t> saved_tensors, transient_tensors;
  // The host side (kernel_launches.h): CUDA kernels the op launches (the GPU-time floor is one launch
  // floor per kernel) and the training thread's seconds to issue them.
  int kernels = 1;
  double host_s = 0;
  // Identical instances the op stands for, one after the other (a mixture-of-experts layer's experts, each
  // on its share of the tokens): flops and bytes count all of them, the calibration key (`tokens`) is one
  // instance's, and a calibrated time is multiplied by it.
  int64_t instances = 1;
  // The training thread waits for the GPU before issuing it (a device-to-host read such as torch.where's).
  bool host_sync = false;
  // The last `synced_kernels` of its kernels are each followed by torch.cuda.synchronize(): host and GPU
  // take turns on them (host_timeline.h).
  int synced_kernels = 0;
};

// An op with its name, calibration key, roofline class, phase, FLOPs and DRAM bytes; the rest default.
ComputeOp compute_op(const std::string& name, const std::string& key, OpClass cls, Phase phase, double flops,
                     double bytes);

// The tensors an op allocates for what it saves (or needs briefly): its list, completed by one tensor of
// whatever the bytes exceed it by, or one tensor of the whole amount.
std::vector<int64_t> saved_allocations(const ComputeOp& op);
std::vector<int64_t> transient_allocations(const ComputeOp& op);

struct StepProgram {
  std::vector<ParamModule> modules;
  std::vector<ComputeOp> forward;          // embedding → loss
  std::vector<ComputeOp> backward;         // loss → embedding; recompute ops precede each layer's backward
  int64_t checkpoint_bytes_per_layer = 0;  // with activation checkpointing: the saved layer input
  double model_flops_per_token = 0;        // 6·Ψ-style useful FLOPs for MFU (see docs)
};

StepProgram build_step_program(const RunConfig& config);

// A backward op that writes a trainable parameter's .grad (the first one fires DeepSpeed's gradient
// hooks): it reads a trainable module and is not a base linear's input gradient.
bool produces_trainable_gradient(const ComputeOp& op, const StepProgram& program);

// Ops of decoder layer 3 are named "L3.<op>". A module gets the same prefix in the names of the tasks
// that move it ("layers.3.q_proj.lora_A" -> "L3.q_proj.lora_A"), so a trace shows a module's all-gather
// under the name of the ops that use it; modules outside the layers keep their name.
std::string layer_prefix(int layer);
std::string module_task_name(const ParamModule& module);

// Formulas (docs/reference/dora-zero.md §1, docs/memory-model.md, docs/time-model.md), one function per
// quantity, unit-tested.
double linear_flops(int64_t tokens, int64_t d_in, int64_t d_out);  // 2·T·d_in·d_out
double lora_forward_flops(int64_t tokens, int64_t d_in, int64_t d_out,
                          int64_t r);  // 2·T·r·(d_in+d_out) + 2·T·d_out
double lora_backward_flops(int64_t tokens, int64_t d_in, int64_t d_out,
                           int64_t r);  // 4·T·r·(d_in+d_out) + T·d_out
double dora_weight_norm_flops(int64_t d_in, int64_t d_out,
                              int64_t r);  // 2·d_in·r·(d_in+d_out) + 3·d_in·d_out
// bf16 adapters 2·(2·d_in² + 7·d_in·d_out) + r terms; fp32 8·d_in² + 34·d_in·d_out; fp32 under autocast
// 12·d_in² + 38·d_in·d_out (the derivations in step_program.cpp).
double dora_weight_norm_bytes(int64_t d_in, int64_t d_out, int64_t r,
                              AdapterDtype dtype = AdapterDtype::base);
// bf16 adapters 2·(d_in² + d_in·r + 3·d_in·d_out); fp32 4·(d_in² + d_in·r + 4·d_in·d_out); fp32 under
// autocast 2·d_in² + 2·d_in·r + 16·d_in·d_out (docs/memory-model.md §4 and §8).
int64_t dora_weight_norm_transient_bytes(int64_t d_in, int64_t d_out, int64_t r,
                                         AdapterDtype dtype = AdapterDtype::base);
double attention_forward_flops(int64_t batch, int64_t seq, int64_t q_dim, bool causal_flash);
// DRAM bytes per trainable element of one Adam step (see the derivation in step_program.cpp).
double adam_step_bytes_per_param(Precision precision, OptimizerImpl impl);

}  // namespace zerosim
