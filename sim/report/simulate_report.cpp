#include "sim/report/simulate_report.h"

#include <cstdio>
#include <optional>
#include <set>

namespace zerosim {

Throughput throughput(int64_t gpus, double tokens_per_gpu, double model_flops_per_gpu, const SimResult& r,
                      double peak_flops) {
  Throughput t;
  t.tokens_per_s_per_gpu = tokens_per_gpu / r.step_s;
  t.tokens_per_s = t.tokens_per_s_per_gpu * static_cast<double>(gpus);
  t.mfu = model_flops_per_gpu / (r.step_s * peak_flops);
  return t;
}

nlohmann::json time_json(const SimResult& r, const CriticalPath& cp) {
  return {{"step_s", r.step_s},
          {"forward_s", r.forward_s},
          {"backward_s", r.backward_s},
          {"optimizer_s", r.optimizer_s},
          {"comm_s", r.comm_s},
          {"exposed_comm_s", r.exposed_comm_s},
          {"overhead_s", r.overhead_s},
          {"host_s", r.host_s},
          {"exposed_host_s", r.exposed_host_s},
          {"overlap_slowdown_s", r.overlap_slowdown_s},
          {"cpu_optimizer_s", r.cpu_optimizer_s},
          {"offload_copy_s", r.offload_copy_s},
          {"exposed_offload_copy_s", r.exposed_offload_copy_s},
          {"offload_copy_bytes_per_rank", r.offload_copy_bytes_per_rank},
          {"collectives_per_rank", r.collectives},
          {"compute_tasks_per_rank", r.compute_tasks},
          {"comm_bytes_per_rank", r.comm_bytes_per_rank},
          {"flows", r.flows},
          {"algorithms",
           {{"ring", r.ring_collectives},
            {"tree", r.tree_collectives},
            {"nvls", r.nvls_collectives},
            {"nvlstree", r.nvls_tree_collectives},
            {"collnet", r.collnet_collectives},
            {"pat", r.pat_collectives}}},
          {"critical_path",
           {{"length_s", cp.length_s},
            {"compute_s", cp.compute_s},
            {"comm_s", cp.comm_s},
            {"tasks", cp.tasks.size()}}}};
}

nlohmann::json throughput_json(const Throughput& t) {
  return {{"tokens_per_s", t.tokens_per_s}, {"tokens_per_s_per_gpu", t.tokens_per_s_per_gpu}, {"mfu", t.mfu}};
}

std::string time_table(const SimResult& r, const Throughput& t, const CriticalPath& cp) {
  std::string out = "\nstep time breakdown (rank 0)          ms\n";
  char line[160];
  auto row = [&](const char* label, double s) {
    std::snprintf(line, sizeof line, "  %-30s %10.2f\n", label, s * 1e3);
    out += line;
  };
  row("step", r.step_s);
  row("forward compute", r.forward_s);
  row("backward compute (+recompute)", r.backward_s);
  row("optimizer", r.optimizer_s);
  row("host: issuing kernels, hooks", r.host_s);
  row("  of which hooks (ZeRO-3, loop)", r.overhead_s);
  row("exposed host (GPU waits)", r.exposed_host_s);
  row("communication (stream busy)", r.comm_s);
  row("exposed communication", r.exposed_comm_s);
  row("compute slowed by NCCL", r.overlap_slowdown_s);
  if (r.cpu_optimizer_s > 0 || r.offload_copy_s > 0) {
    row("CPU optimizer (offload)", r.cpu_optimizer_s);
    row("offload copies (PCIe, busy)", r.offload_copy_s);
    row("exposed offload copies", r.exposed_offload_copy_s);
  }
  std::snprintf(line, sizeof line, "throughput: %.0f tokens/s (%.0f per GPU), MFU %.1f%%\n", t.tokens_per_s,
                t.tokens_per_s_per_gpu, 100.0 * t.mfu);
  out += line;
  std::snprintf(
      line, sizeof line,
      "critical path: %.2f ms (compute %.2f ms, communication %.2f ms); %lld collectives, %lld flows\n",
      cp.length_s * 1e3, cp.compute_s * 1e3, cp.comm_s * 1e3, static_cast<long long>(r.collectives),
      static_cast<long long>(r.flows));
  out += line;
  if (r.ring_collectives + r.tree_collectives + r.nvls_collectives + r.nvls_tree_collectives +
          r.collnet_collectives + r.pat_collectives >
      0) {
    std::snprintf(line, sizeof line, "NCCL algorithms: %lld ring, %lld tree, %lld NVLS",
                  static_cast<long long>(r.ring_collectives), static_cast<long long>(r.tree_collectives),
                  static_cast<long long>(r.nvls_collectives));
    out += line;
    if (r.nvls_tree_collectives > 0) out += ", " + std::to_string(r.nvls_tree_collectives) + " NVLSTree";
    if (r.collnet_collectives > 0) out += ", " + std::to_string(r.collnet_collectives) + " CollNet";
    if (r.pat_collectives > 0) out += ", " + std::to_string(r.pat_collectives) + " PAT";
    out += "\n";
  }
  return out;
}

nlohmann::json compute_model_json(const StepGraph& g, const ComputeModel& model) {
  int64_t calibrated = 0, estimated = 0, extrapolated = 0;
  double calibrated_s = 0, estimated_s = 0;
  for (TaskId v : g.compute_order) {
    const Task& t = g.graph[v];
    if (t.kind != TaskKind::compute) continue;
    const OpTime time = model.time(g.ops[static_cast<size_t>(t.op)]);
    if (time.source == TimeSource::roofline) {
      ++estimated;
      estimated_s += time.seconds;
    } else {
      ++calibrated;
      calibrated_s += time.seconds;
      extrapolated += time.extrapolated ? 1 : 0;
    }
  }
  nlohmann::json j = {{"source", !model.calibration() ? "roofline"
                                 : model.transfers()  ? "calibration-transfer"
                                                      : "calibration"},
                      {"gpu", model.gpu().id},
                      {"calibrated_ops", calibrated},
                      {"estimated_ops", estimated},
                      {"extrapolated_ops", extrapolated},
                      {"calibrated_compute_s", calibrated_s},
                      {"estimated_compute_s", estimated_s}};
  if (model.calibration()) j["calibration_device"] = model.calibration()->device.name;
  return j;
}

std::string compute_model_line(const nlohmann::json& cm) {
  std::string out = "compute times: " + cm["source"].get<std::string>();
  if (cm.contains("calibration_device")) {
    out += " (" + cm["calibration_device"].get<std::string>() +
           (cm["source"] == "calibration-transfer" ? " -> " + cm["gpu"].get<std::string>() : "") + ")";
    out += "; " + std::to_string(cm["calibrated_ops"].get<int64_t>()) + " ops calibrated (" +
           std::to_string(cm["extrapolated_ops"].get<int64_t>()) + " extrapolated), " +
           std::to_string(cm["estimated_ops"].get<int64_t>()) + " from the roofline";
  }
  return out + "\n";
}

nlohmann::json host_model_json(const HostSpec& host, const calib::CalibrationTable* calibration) {
  const bool measured = host.rates_source == "calibration" && calibration && calibration->host;
  return {{"source", host.rates_source},
          {"cpu", measured ? calibration->host->cpu : host.name},
          {"cpu_adam_elements_per_s_per_core", host.cpu_adam_elements_per_s_per_core},
          {"mem_bw_bytes_s", host.mem_bw_bytes_s * static_cast<double>(host.sockets)},
          {"numa_nodes", host.numa_nodes()}};
}

std::string host_model_line(const nlohmann::json& hm) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g elements/s per core, %.1f GB/s",
                hm["cpu_adam_elements_per_s_per_core"].get<double>(),
                hm["mem_bw_bytes_s"].get<double>() / 1e9);
  return "CPU step figures: " + hm["source"].get<std::string>() + " (" + hm["cpu"].get<std::string>() +
         "): DeepSpeedCPUAdam " + buf + " host memory per node over " +
         std::to_string(hm["numa_nodes"].get<int64_t>()) + " NUMA nodes\n";
}

namespace {
// Chrome's trace format wants numeric pid and tid; the names come from "M" (metadata) events.
int track_tid(Track t) { return static_cast<int>(t); }

const char* track_name(Track t) {
  switch (t) {
    case Track::compute:
      return "compute";
    case Track::nccl:
      return "nccl";
    case Track::cpu:
      return "cpu";
    case Track::pcie:
      return "pcie";
    case Track::host:
      return "host";
  }
  return "?";
}

nlohmann::json metadata_event(const char* name, int rank, std::optional<Track> track,
                              const std::string& value) {
  nlohmann::json e = {{"name", name}, {"ph", "M"}, {"pid", rank}, {"args", {{"name", value}}}};
  if (track) e["tid"] = track_tid(*track);
  return e;
}
}  // namespace

nlohmann::json chrome_trace(const SimResult& r) {
  nlohmann::json events = nlohmann::json::array();
  std::set<int> ranks;
  std::set<Track> offload_tracks;  // named only where a run has them (host: unless CUDA graphs)
  for (const auto& e : r.trace) {
    ranks.insert(e.rank);
    if (e.track == Track::cpu || e.track == Track::pcie || e.track == Track::host)
      offload_tracks.insert(e.track);
  }
  for (int rank : ranks) {
    events.push_back(metadata_event("process_name", rank, std::nullopt, "rank " + std::to_string(rank)));
    events.push_back(metadata_event("thread_name", rank, Track::compute, "compute"));
    events.push_back(metadata_event("thread_name", rank, Track::nccl, "nccl"));
    for (Track t : offload_tracks) events.push_back(metadata_event("thread_name", rank, t, track_name(t)));
  }
  for (const auto& e : r.trace)
    events.push_back({{"name", e.name},
                      {"ph", "X"},
                      {"ts", e.start_s * 1e6},
                      {"dur", (e.end_s - e.start_s) * 1e6},
                      {"pid", e.rank},
                      {"tid", track_tid(e.track)},
                      {"args", e.algorithm.empty() ? nlohmann::json::object()
                                                   : nlohmann::json{{"algorithm", e.algorithm}}}});
  return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

}  // namespace zerosim
