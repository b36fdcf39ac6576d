#include "sim/platform/interconnect_catalogue.h"

#include "workloads/config_error.h"
#include "workloads/yaml_read.h"

namespace zerosim {
namespace embedded {
const std::map<std::string, std::string>& platform_data();  // generated from platforms/*.yaml
}

namespace {
const std::string kFile = "platforms/interconnect.yaml";

double gbps(const YAML::Node& n, const std::string& key) { return read_double(n, kFile, key) * 1e9; }
double usec(const YAML::Node& n, const std::string& key) { return read_double(n, kFile, key) * 1e-6; }

InterconnectCatalogue load() {
  const YAML::Node root = parse_yaml_text(embedded::platform_data().at("interconnect.yaml"), kFile);
  InterconnectCatalogue c;

  for (const auto& kv : root["gpus"]) {
    const std::string id = kv.first.Scalar();
    const std::string key = "gpus." + id;
    const YAML::Node& g = kv.second;
    check_keys(g, {"pcie_gen", "nvswitch_gbps", "nvlink_bridge_gbps", "nvls", "source"}, kFile, key);
    GpuLinks l;
    if (g["nvls"]) l.nvls = read_bool(g["nvls"], kFile, key + ".nvls");
    l.gpu = id;
    l.pcie_gen = static_cast<int>(read_int(g["pcie_gen"], kFile, key + ".pcie_gen"));
    if (g["nvswitch_gbps"]) l.nvswitch_bytes_s = gbps(g["nvswitch_gbps"], key + ".nvswitch_gbps");
    if (g["nvlink_bridge_gbps"])
      l.nvlink_bridge_bytes_s = gbps(g["nvlink_bridge_gbps"], key + ".nvlink_bridge_gbps");
    l.source = read_string(g["source"], kFile, key + ".source");
    c.gpus[id] = l;
  }

  const YAML::Node& pcie = root["pcie"];
  const double lanes = read_double(pcie["lanes"], kFile, "pcie.lanes");
  const double encoding = read_double(pcie["encoding"], kFile, "pcie.encoding");
  for (const auto& kv : pcie["gens"]) {
    const int gen = kv.first.as<int>();
    const std::string key = "pcie.gens." + kv.first.Scalar();
    // GT/s per lane x lanes x line-coding efficiency / 8 bits per byte.
    c.pcie_x16_bytes_s[gen] =
        read_double(kv.second["gt_s"], kFile, key + ".gt_s") * 1e9 * lanes * encoding / 8.0;
    c.pcie_sources[gen] = read_string(kv.second["source"], kFile, key + ".source");
  }
  c.pcie_link_latency_s = usec(pcie["link_latency_us"], "pcie.link_latency_us");
  c.pcie_latency_source = read_string(pcie["link_latency_source"], kFile, "pcie.link_latency_source");
  c.pcie_switch_uplink_latency_s = usec(pcie["switch_uplink_latency_us"], "pcie.switch_uplink_latency_us");
  c.pcie_switch_uplink_source =
      read_string(pcie["switch_uplink_latency_source"], kFile, "pcie.switch_uplink_latency_source");

  const YAML::Node& host = root["host"];
  c.root_complex_latency_s = usec(host["root_complex_latency_us"], "host.root_complex_latency_us");
  c.root_complex_source = read_string(host["root_complex_source"], kFile, "host.root_complex_source");
  c.socket_link_bytes_s = gbps(host["socket_link_gbps"], "host.socket_link_gbps");
  c.socket_link_latency_s = usec(host["socket_link_latency_us"], "host.socket_link_latency_us");
  c.socket_link_source = read_string(host["socket_link_source"], kFile, "host.socket_link_source");
  c.max_gpus_single_socket = static_cast<int>(
      read_int_in(host["max_gpus_single_socket"], kFile, "host.max_gpus_single_socket", 1, 1024));
  c.memory_latency_s = usec(host["memory_latency_us"], "host.memory_latency_us");
  c.memory_latency_source = read_string(host["memory_latency_source"], kFile, "host.memory_latency_source");

  const YAML::Node& nv = root["nvlink"];
  c.nvlink_port_latency_s = usec(nv["port_latency_us"], "nvlink.port_latency_us");
  c.nvswitch_latency_s = usec(nv["switch_latency_us"], "nvlink.switch_latency_us");
  c.nvlink_bridge_latency_s = usec(nv["bridge_latency_us"], "nvlink.bridge_latency_us");
  c.nvlink_latency_source = read_string(nv["latency_source"], kFile, "nvlink.latency_source");

  for (const auto& kv : root["fabrics"]) {
    const std::string id = kv.first.Scalar();
    const std::string key = "fabrics." + id;
    const YAML::Node& f = kv.second;
    check_keys(f,
               {"port_gbps", "nic_latency_us", "switch_ports", "switch_latency_us", "nic_pcie_gen",
                "nccl_net_efficiency", "nccl_net_efficiency_source", "sharp", "sharp_source", "source"},
               kFile, key);
    FabricSpec s;
    s.id = id;
    s.port_bytes_s = gbps(f["port_gbps"], key + ".port_gbps");
    s.nic_latency_s = usec(f["nic_latency_us"], key + ".nic_latency_us");
    s.switch_ports = static_cast<int>(read_int_in(f["switch_ports"], kFile, key + ".switch_ports", 2, 4096));
    s.switch_latency_s = usec(f["switch_latency_us"], key + ".switch_latency_us");
    s.nic_pcie_gen = static_cast<int>(read_int(f["nic_pcie_gen"], kFile, key + ".nic_pcie_gen"));
    s.nccl_net_efficiency = read_double(f["nccl_net_efficiency"], kFile, key + ".nccl_net_efficiency");
    if (!(s.nccl_net_efficiency > 0 && s.nccl_net_efficiency <= 1))
      throw ConfigError(kFile, key + ".nccl_net_efficiency", "must be in (0, 1]");
    s.nccl_net_efficiency_source =
        read_string(f["nccl_net_efficiency_source"], kFile, key + ".nccl_net_efficiency_source");
    if (f["sharp"]) {
      s.sharp = read_bool(f["sharp"], kFile, key + ".sharp");
      s.sharp_source = read_string(f["sharp_source"], kFile, key + ".sharp_source");
    }
    s.source = read_string(f["source"], kFile, key + ".source");
    c.fabrics[id] = s;
  }
  return c;
}
}  // namespace

const InterconnectCatalogue& interconnect_catalogue() {
  static const InterconnectCatalogue catalogue = load();
  return catalogue;
}

const GpuLinks& InterconnectCatalogue::gpu_links(const std::string& gpu_id, const std::string& file,
                                                 const std::string& key) const {
  const auto it = gpus.find(gpu_id);
  if (it != gpus.end()) return it->second;
  std::vector<std::string> known;
  for (const auto& kv : gpus) known.push_back(kv.first);
  throw ConfigError(
      file, key,
      "no interconnect data for GPU '" + gpu_id + "' in " + kFile + " (known: " + join(known) + ")");
}

const FabricSpec& InterconnectCatalogue::fabric(const std::string& id, const std::string& file,
                                                const std::string& key) const {
  const auto it = fabrics.find(id);
  if (it != fabrics.end()) return it->second;
  throw ConfigError(file, key,
                    "unknown inter-node fabric '" + id + "' (allowed: " + join(inter_kinds()) + ")");
}

double InterconnectCatalogue::pcie_rate(int gen) const {
  const auto it = pcie_x16_bytes_s.find(gen);
  if (it == pcie_x16_bytes_s.end())
    throw ConfigError(kFile, "pcie.gens", "no PCIe generation " + std::to_string(gen) + " in the table");
  return it->second;
}

std::vector<std::string> intra_kinds() { return {"nvswitch", "nvlink-bridge", "pcie"}; }

std::vector<std::string> inter_kinds() {
  std::vector<std::string> kinds;
  for (const auto& kv : interconnect_catalogue().fabrics) kinds.push_back(kv.first);
  kinds.push_back("none");
  return kinds;
}

}  // namespace zerosim
