#pragma once
// One optimizer step of one data-parallel rank as a DAG (Boost.Graph): compute ops on the compute
// stream, ZeRO collectives on the communication stream, with the dependencies CUDA events and NCCL
// ordering impose. Every rank runs the same graph; the engine executes it on the platform, so overlap
// and exposed communication come out of the simulation rather than out of a formula.
#include <boost/graph/adjacency_list.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workloads/run_config.h"
#include "workloads/step_program.h"

namespace zerosim {

// compute: the CUDA compute stream and the training thread that feeds it; comm: the stream(s) DeepSpeed
// runs collectives on — and, with CPU offload, the copies it issues on those same streams
// (docs/time-model.md, "CPU offload").
enum class Stream { compute, comm };
// hook: CPU-side framework work that stalls the compute stream; transfer: a copy between GPU memory and
// pinned host memory over PCIe (comm stream); host: CPU work on the training thread — DeepSpeedCPUAdam —
// while the GPU waits (compute stream).
enum class TaskKind { compute, collective, hook, transfer, host };
enum class TransferDirection { to_host, to_device };
enum class CollectiveKind { all_reduce, all_gather, reduce_scatter, broadcast };

const char* collective_name(CollectiveKind k);
// Every collective's name ("all_reduce", "all_gather", "reduce_scatter", "broadcast"), and the reverse.
const std::vector<std::string>& collective_names();
std::optional<CollectiveKind> collective_kind(const std::string& name);

struct Task {
  TaskKind kind = TaskKind::compute;
  Stream stream = Stream::compute;
  std::string name;
  int micro_step = 0;
  Phase phase = Phase::forward;
  int op = -1;  // compute: index into StepGraph::ops
  CollectiveKind collective = CollectiveKind::all_reduce;
  int64_t bytes = 0;  // collective: the full buffer size S per rank (all-gather: the gathered output)
  double hook_s = 0;  // hook: CPU time on the training thread
  // hook: it waits for the GPU to finish what was issued before it runs (ZeRO-3 at world size 1:
  // NoGatherHandle.wait synchronises the stream, partition_parameters.py)
  bool host_sync = false;
  TransferDirection direction = TransferDirection::to_host;  // transfer: bytes = what each rank copies
  bool pinned = true;                                        // transfer: page-locked host buffer
  int64_t host_elements = 0;          // host: fp32 elements DeepSpeedCPUAdam updates on this rank
  int64_t host_bytes = 0;             // host: the step's host memory traffic on this rank
  int64_t host_pinned_bytes = 0;      // host: the part of host_bytes in pinned (page-locked) buffers
  int64_t host_pinned_footprint = 0;  // host: all the rank has pinned (HostMemory::pinned_per_rank)
};

using TaskGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, Task>;
using TaskId = TaskGraph::vertex_descriptor;

struct StepGraph {
  TaskGraph graph;
  std::vector<ComputeOp> ops;         // compute ops referenced by tasks
  std::vector<TaskId> compute_order;  // program order of the compute stream
  std::vector<TaskId> comm_order;     // issue order of the communication stream (same on every rank)
  // Further communicators, each with its own stream (used to run concurrent collectives, e.g. two
  // jobs' worth of traffic sharing links).
  std::vector<std::vector<TaskId>> extra_comm_streams;
  int64_t ranks = 1;
};

// DeepSpeed's per-module fetch/release hook cost under ZeRO-3 (Python, on the training thread).
constexpr double kZero3HookSeconds = 50e-6;

// `paged_evicted_bytes`: a paged optimizer's states the driver keeps on the host (MemoryResult's), moved
// in before the update and out after it. `micro_programs`: variable-length batches, micro-step k's program
// (micro_step_lengths.h); empty: every micro-step runs `program`.
StepGraph build_step_graph(const RunConfig& config, const StepProgram& program,
                           int64_t paged_evicted_bytes = 0,
                           const std::vector<const StepProgram*>& micro_programs = {});

// Throws std::logic_error if the graph has a cycle or a collective lacks a rank; returns a topological order.
std::vector<TaskId> check_step_graph(const StepGraph& g);

// Longest path through the DAG with the given per-task durations (seconds): the critical path.
struct CriticalPath {
  double length_s = 0;
  double compute_s = 0;  // compute and hook tasks on it
  double comm_s = 0;     // collectives on it
  std::vector<TaskId> tasks;
};
CriticalPath critical_path(const StepGraph& g, const std::vector<double>& durations);

// Bytes each rank sends for one collective over a ring of N ranks (docs/time-model.md).
int64_t ring_bytes_per_rank(CollectiveKind k, int64_t bytes, int64_t ranks);

}  // namespace zerosim
