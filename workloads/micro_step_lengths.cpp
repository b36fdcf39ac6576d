#include "workloads/micro_step_lengths.h"

#include <algorithm>

namespace zerosim {

std::vector<int64_t> micro_step_lengths(const TrainSpec& t) {
  const auto steps = static_cast<size_t>(std::max<int64_t>(1, t.grad_accum));
  if (t.seq_len_distribution.empty()) return std::vector<int64_t>(steps, t.seq_len);
  std::vector<int64_t> sorted = t.seq_len_distribution;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  std::vector<int64_t> out;
  out.reserve(steps);
  for (size_t k = 0; k < steps; ++k) {
    // Group k: the sorted lengths [k·n/GA, (k+1)·n/GA); a list shorter than grad_accum repeats lengths.
    size_t begin = k * n / steps, end = (k + 1) * n / steps;
    if (end <= begin) end = begin + 1;
    int64_t sum = 0;
    for (size_t i = begin; i < end; ++i) sum += sorted[i];
    const auto count = static_cast<int64_t>(end - begin);
    out.push_back((sum + count - 1) / count);
  }
  return out;
}

MicroStepPrograms micro_step_programs(const RunConfig& c, const StepProgram& program) {
  MicroStepPrograms out;
  const std::vector<int64_t> lengths = micro_step_lengths(c.train);
  std::vector<int64_t> built;
  for (const int64_t len : lengths) {
    const StepProgram* p = &program;
    if (!c.train.seq_len_distribution.empty()) {
      const auto it = std::find(built.begin(), built.end(), len);
      if (it == built.end()) {
        RunConfig at = c;
        at.train.seq_len = len;
        at.train.seq_len_distribution.clear();
        out.distinct.push_back(std::make_unique<StepProgram>(build_step_program(at)));
        built.push_back(len);
        p = out.distinct.back().get();
      } else {
        p = out.distinct[static_cast<size_t>(it - built.begin())].get();
      }
      out.per_micro_step.push_back(p);
    }
    const double tokens = static_cast<double>(c.train.micro_batch * len);
    out.tokens += tokens;
    out.model_flops += tokens * p->model_flops_per_token;
  }
  return out;
}

}  // namespace zerosim
