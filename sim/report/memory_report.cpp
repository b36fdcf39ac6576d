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
  nlohmann::json j = {{"peak_bytes", m.peak_bytes},
                      {"peak_allocated_bytes", m.peak_allocated_bytes},
                      {"peak_reserved_bytes", m.peak_reserved_bytes},
                      {"capacity_bytes", m.capacity_bytes},
                      {"fits", m.fits},
                      {"gpu_fits", m.gpu_fits},
                      {"peak_at", m.peak_at},
                      {"breakdown", breakdown}};
  if (m.reserved_compute_stream_bytes)
    j["reserved_by_stream"] = {{"compute", *m.reserved_compute_stream_bytes},
                               {"all_gather", m.reserved_all_gather_stream_bytes.value_or(0)}};
  if (m.states.paged_optimizer_states > 0)
    j["paged_optimizer"] = {{"bytes", m.states.paged_optimizer_states},
                            {"evicted_bytes", m.paged_evicted_bytes}};
  if (m.host.per_rank_total() > 0) j["host"] = host_memory_json(m.host);
  return j;
}

nlohmann::json host_memory_json(const HostMemory& h) {
  nlohmann::json per_rank = nlohmann::json::object();
  for (size_t i = 0; i < kHostMemComponents; ++i)
    per_rank[host_mem_component_name(static_cast<HostMemComponent>(i))] = h.per_rank[i];
  return {{"per_rank", per_rank},
          {"ranks_per_node", h.ranks_per_node},
          {"per_node_bytes", h.per_node_bytes()},
          {"capacity_bytes", h.capacity_bytes},
          {"fits", h.fits()}};
}

std::string host_memory_table(const HostMemory& h) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "\nhost RAM per node for CPU offload (%lld ranks)\n",
                static_cast<long long>(h.ranks_per_node));
  out += line;
  std::snprintf(line, sizeof line, "  %-22s %10s %10s\n", "component", "GiB/rank", "GiB/node");
  out += line;
  for (size_t i = 0; i < kHostMemComponents; ++i) {
    std::snprintf(line, sizeof line, "  %-22s %10s %10s\n",
                  host_mem_component_name(static_cast<HostMemComponent>(i)), gib(h.per_rank[i]).c_str(),
                  gib(h.per_rank[i] * h.ranks_per_node).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "  %-22s %10s %10s\n", "total", gib(h.per_rank_total()).c_str(),
                gib(h.per_node_bytes()).c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-22s %21s\n", "host RAM", gib(h.capacity_bytes).c_str());
  out += line;
  out += "  (offload buffers only: the processes' own RAM and the model load at start-up come on top)\n";
  return out;
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
  const bool paged = m.states.paged_optimizer_states > 0;
  std::snprintf(line, sizeof line, "  %-22s %10s\n",
                paged ? "peak (+runtime+paged)" : "peak (reserved+runtime)", gib(m.peak_bytes).c_str());
  out += line;
  if (paged) {
    std::snprintf(line, sizeof line, "  %-22s %10s  (unified memory; %s GiB evicted to host)\n",
                  "paged optimizer states", gib(m.states.paged_optimizer_states).c_str(),
                  gib(m.paged_evicted_bytes).c_str());
    out += line;
  }
  std::snprintf(line, sizeof line, "  %-22s %10s\n", "GPU capacity", gib(m.capacity_bytes).c_str());
  out += line;
  if (m.host.per_rank_total() > 0) out += host_memory_table(m.host);
  const double headroom =
      static_cast<double>(m.capacity_bytes - (m.peak_bytes - m.paged_evicted_bytes)) / kBytesPerGiB;
  const char* verdict = !m.gpu_fits ? "OUT OF MEMORY" : !m.fits ? "OUT OF HOST MEMORY" : "fits";
  const bool host = m.host.per_rank_total() > 0;
  std::snprintf(line, sizeof line, "verdict: %s (%+.2f GiB %sheadroom", verdict, headroom,
                host ? "GPU " : "");
  out += line;
  if (host) {
    std::snprintf(line, sizeof line, ", %+.2f GiB host headroom",
                  static_cast<double>(m.host.capacity_bytes - m.host.per_node_bytes()) / kBytesPerGiB);
    out += line;
  }
  out += ")\n";
  return out;
}

}  // namespace zerosim
