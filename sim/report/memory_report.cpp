#include "sim/report/memory_report.h"

#include <cstdio>

#include "sim/report/output_format.h"
#include "workloads/units.h"

namespace zerosim {

nlohmann::json params_json(const ParamCounts& p) {
  return {{"total", p.total}, {"trainable", p.trainable}, {"frozen", p.frozen}};
}

nlohmann::json memory_json(const MemoryResult& m) {
  nlohmann::json breakdown = nlohmann::json::object();
  for (size_t i = 0; i < kMemComponents; ++i)
    breakdown[mem_component_name(static_cast<MemComponent>(i))] = m.breakdown.bytes[i];
  return {{"peak_bytes", m.peak_bytes},
          {"peak_allocated_bytes", m.peak_allocated_bytes},
          {"peak_reserved_bytes", m.peak_reserved_bytes},
          {"capacity_bytes", m.capacity_bytes},
          {"fits", m.fits},
          {"peak_at", m.peak_at},
          {"breakdown", breakdown}};
}

std::string peft_title(const RunConfig& c) {
  if (c.peft.method == PeftMethod::none) return "full fine-tuning";
  std::string targets;
  for (size_t i = 0; i < c.model.layer_linears.size(); ++i)
    if (c.peft.adapted[i] && targets.find(c.model.layer_linears[i].name) == std::string::npos)
      targets += (targets.empty() ? "" : ",") + c.model.layer_linears[i].name;
  return std::string(c.peft.method == PeftMethod::dora ? "DoRA" : "LoRA") + " r=" + std::to_string(c.peft.r) +
         " (" + targets + ")";
}

std::string run_title(const RunConfig& c) {
  return c.model.name + ", " + peft_title(c) + ", ZeRO-" + std::to_string(c.zero.stage) + ", " +
         std::to_string(c.cluster.gpus) + "x " + c.gpu.id + ", micro_batch " +
         std::to_string(c.train.micro_batch) + " x seq " + std::to_string(c.train.seq_len) +
         (c.train.activation_checkpointing ? ", checkpointing" : "") + ", " +
         precision_name(c.train.precision);
}

std::string memory_table(const RunConfig& c, const ParamCounts& p, const MemoryResult& m) {
  std::string out;
  char line[256];
  out += run_title(c) + "\n";
  std::snprintf(line, sizeof line, "parameters: %lld total, %lld trainable (%.4f%%), %lld frozen\n",
                static_cast<long long>(p.total), static_cast<long long>(p.trainable),
                100.0 * static_cast<double>(p.trainable) / static_cast<double>(p.total),
                static_cast<long long>(p.frozen));
  out += line;
  out += "\nper-GPU memory at the peak (" + m.peak_at + ")\n";
  std::snprintf(line, sizeof line, "  %-22s %10s\n", "component", "GiB");
  out += line;
  for (size_t i = 0; i < kMemComponents; ++i) {
    std::snprintf(line, sizeof line, "  %-22s %10s\n", mem_component_name(static_cast<MemComponent>(i)),
                  gib(m.breakdown.bytes[i]).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "  %-22s %10s\n", "peak (allocated)", gib(m.peak_allocated_bytes).c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-22s %10s\n", "peak (reserved+runtime)", gib(m.peak_bytes).c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-22s %10s\n", "GPU capacity", gib(m.capacity_bytes).c_str());
  out += line;
  const double headroom = static_cast<double>(m.capacity_bytes - m.peak_bytes) / kBytesPerGiB;
  std::snprintf(line, sizeof line, "verdict: %s (%+.2f GiB headroom)\n", m.fits ? "fits" : "OUT OF MEMORY",
                headroom);
  out += line;
  return out;
}

}  // namespace zerosim
