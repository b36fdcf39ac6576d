#include "workloads/zero3_schedule.h"

#include <algorithm>
#include <map>

namespace zerosim {

int64_t zero3_partition_numel(int64_t numel, int64_t ranks) { return (numel + ranks - 1) / ranks; }

int64_t optimizer_partition_numel(const std::vector<ParamModule>& modules, int stage, int64_t ranks) {
  int64_t trainable = 0, per_tensor = 0;
  for (const auto& m : modules)
    if (m.trainable) {
      trainable += m.numel;
      per_tensor += m.copies * zero3_partition_numel(m.numel_per_copy(), ranks);
    }
  if (stage == 0) return trainable;
  return stage == 3 ? per_tensor : zero3_partition_numel(trainable, ranks);
}

std::vector<int64_t> optimizer_partition_tensors(const std::vector<ParamModule>& modules, int stage,
                                                 int64_t ranks) {
  std::vector<int64_t> all;
  for (const auto& m : modules)
    if (m.trainable)
      for (const int64_t numel : m.tensor_numels()) all.push_back(numel);
  if (stage == 0 || ranks <= 1) return all;
  std::vector<int64_t> mine;
  if (stage == 3) {
    for (const int64_t numel : all) mine.push_back(zero3_partition_numel(numel, ranks));
    return mine;
  }
  // Stages 1-2: rank 0's slice [0, P) of the flat group, P = ⌈Σ/N⌉; a tensor crossing P is cut there.
  int64_t total = 0;
  for (const int64_t numel : all) total += numel;
  const int64_t slice = zero3_partition_numel(total, ranks);
  int64_t offset = 0;
  for (const int64_t numel : all) {
    if (offset >= slice) break;
    mine.push_back(std::min(numel, slice - offset));
    offset += numel;
  }
  return mine;
}

std::vector<int64_t> optimizer_sub_groups(const std::vector<ParamModule>& modules, int64_t ranks,
                                          int64_t sub_group_size) {
  std::vector<int64_t> groups;
  int64_t current = 0;
  for (const auto& m : modules) {
    if (!m.trainable) continue;
    // A module's tensors: its weight (largest_tensor) and the rest (a bias), in registration order.
    for (const int64_t numel : m.tensor_numels()) {
      current += zero3_partition_numel(numel, ranks);
      if (current >= sub_group_size) {
        groups.push_back(current);
        current = 0;
      }
    }
  }
  if (current > 0) groups.push_back(current);
  return groups;
}

std::vector<int64_t> optimizer_flat_partitions(const std::vector<ParamModule>& modules, int stage,
                                               int64_t ranks, int64_t sub_group_size) {
  if (stage == 3) return optimizer_sub_groups(modules, ranks, sub_group_size);
  const int64_t numel = optimizer_partition_numel(modules, stage, ranks);
  return numel > 0 ? std::vector<int64_t>{numel} : std::vector<int64_t>{};
}

int64_t largest_optimizer_sub_group(const std::vector<ParamModule>& modules, int64_t ranks,
                                    int64_t sub_group_size) {
  int64_t largest = 0;
  for (const int64_t g : optimizer_sub_groups(modules, ranks, sub_group_size)) largest = std::max(largest, g);
  return largest;
}

bool zero3_persistent(int64_t tensor_numel, int64_t threshold) { return tensor_numel <= threshold; }

int64_t zero3_gathered_numel(const ParamModule& module, int64_t threshold) {
  // Each tensor is checked on its own: a module's weight and its bias, per copy.
  int64_t gathered = 0;
  for (const int64_t numel : module.zero3_tensor_numels())
    if (!zero3_persistent(numel, threshold)) gathered += numel;
  return gathered;
}

Zero3Schedule plan_zero3(const StepProgram& program, const ZeroSpec& zero) {
  Zero3Schedule s;
  for (const auto& m : program.modules)
    s.gathered_numel.push_back(zero3_gathered_numel(m, zero.stage3_param_persistence_threshold));

  std::vector<const ComputeOp*> ops;
  for (const auto& op : program.forward) ops.push_back(&op);
  for (const auto& op : program.backward) ops.push_back(&op);
  const size_t n = ops.size();
  s.fetch_before.resize(n), s.prefetch_after.resize(n), s.release_after.resize(n);

  // The trace: every (op, module) use of a partitioned module, with a running element count.
  struct Use {
    size_t op;
    int module;
  };
  std::vector<Use> trace;
  std::vector<std::vector<size_t>> uses_of_op(n);
  for (size_t i = 0; i < n; ++i)
    for (int m : ops[i]->modules)
      if (m >= 0 && s.gathered_numel[static_cast<size_t>(m)] > 0) {
        uses_of_op[i].push_back(trace.size());
        trace.push_back({i, m});
      }
  std::vector<int64_t> prefix(trace.size() + 1, 0);
  for (size_t k = 0; k < trace.size(); ++k)
    prefix[k + 1] = prefix[k] + s.gathered_numel[static_cast<size_t>(trace[k].module)];
  std::vector<size_t> next_use(trace.size(), trace.size());
  std::map<int, size_t> seen;
  for (size_t k = trace.size(); k-- > 0;) {
    if (auto it = seen.find(trace[k].module); it != seen.end()) next_use[k] = it->second;
    seen[trace[k].module] = k;
  }

  std::vector<bool> resident(program.modules.size(), false);
  int64_t live = 0;
  auto gather = [&](int m, std::vector<int>& into) {
    resident[static_cast<size_t>(m)] = true;
    live += s.gathered_numel[static_cast<size_t>(m)];
    s.gathered_numel_per_micro_step += s.gathered_numel[static_cast<size_t>(m)];
    into.push_back(m);
  };
  for (size_t i = 0; i < n; ++i) {
    for (size_t k : uses_of_op[i])
      if (!resident[static_cast<size_t>(trace[k].module)]) gather(trace[k].module, s.fetch_before[i]);
    // Prefetch along the trace (DeepSpeed keeps adding while below the budget, so it may overshoot by one).
    if (!uses_of_op[i].empty()) {
      const int64_t budget =
          std::min(zero.stage3_max_live_parameters - live, zero.stage3_prefetch_bucket_size);
      int64_t prefetching = 0;
      for (size_t k = uses_of_op[i].back() + 1; k < trace.size() && prefetching < budget; ++k) {
        const int m = trace[k].module;
        if (resident[static_cast<size_t>(m)]) continue;
        prefetching += s.gathered_numel[static_cast<size_t>(m)];
        gather(m, s.prefetch_after[i]);
      }
    }
    for (size_t k : uses_of_op[i]) {
      const int m = trace[k].module;
      if (!resident[static_cast<size_t>(m)]) continue;
      const size_t next = next_use[k];
      // Kept if used again by this same op, or reused within the distance.
      const bool keep = next < trace.size() && (trace[next].op == i || prefix[next] - prefix[k + 1] <=
                                                                           zero.stage3_max_reuse_distance);
      if (keep) continue;
      resident[static_cast<size_t>(m)] = false;
      live -= s.gathered_numel[static_cast<size_t>(m)];
      s.release_after[i].push_back(m);
    }
  }
  return s;
}

}  // namespace zerosim
