#include "workloads/host_catalogue.h"

#include <cmath>
#include <map>

#include "workloads/config_error.h"
#include "workloads/units.h"
#include "workloads/yaml_read.h"

namespace zerosim {
namespace embedded {
const std::map<std::string, std::string>& platform_data();  // generated from platforms/*.yaml
}

std::vector<HostSpec> host_catalogue() {
  static const std::vector<HostSpec> catalogue = [] {
    const std::string file = "platforms/hosts.yaml";
    const YAML::Node root = parse_yaml_text(embedded::platform_data().at("hosts.yaml"), file);
    std::vector<HostSpec> out;
    for (const auto& kv : root["hosts"]) {
      const std::string id = kv.first.Scalar();
      const YAML::Node& h = kv.second;
      const std::string key = "hosts." + id;
      check_keys(h,
                 {"name", "sockets", "cores_per_socket", "numa_per_socket", "memory_gib", "mem_bw_gbps",
                  "cpu_adam_elements_per_s_per_core", "gpus_per_pcie_switch", "source"},
                 file, key);
      HostSpec spec;
      spec.id = id;
      spec.name = read_string(h["name"], file, key + ".name");
      spec.sockets = read_int_in(h["sockets"], file, key + ".sockets", 1, 64);
      spec.cores_per_socket = read_int_in(h["cores_per_socket"], file, key + ".cores_per_socket", 1, 4096);
      spec.numa_per_socket = read_int_in(h["numa_per_socket"], file, key + ".numa_per_socket", 1, 64);
      spec.memory_bytes =
          std::llround(read_double(h["memory_gib"], file, key + ".memory_gib") * kBytesPerGiB);
      spec.mem_bw_bytes_s = read_double(h["mem_bw_gbps"], file, key + ".mem_bw_gbps") * 1e9;
      spec.cpu_adam_elements_per_s_per_core =
          read_double(h["cpu_adam_elements_per_s_per_core"], file, key + ".cpu_adam_elements_per_s_per_core");
      spec.gpus_per_pcie_switch =
          read_int_in(h["gpus_per_pcie_switch"], file, key + ".gpus_per_pcie_switch", 1, 64);
      spec.source = read_string(h["source"], file, key + ".source");
      out.push_back(spec);
    }
    return out;
  }();
  return catalogue;
}

std::vector<std::string> host_ids() {
  std::vector<std::string> ids;
  for (const auto& h : host_catalogue()) ids.push_back(h.id);
  return ids;
}

HostSpec find_host(const std::string& id, const std::string& file, const std::string& key) {
  for (const auto& h : host_catalogue())
    if (h.id == id) return h;
  throw ConfigError(file, key, "unknown host '" + id + "' (known: " + join(host_ids()) + ")");
}

}  // namespace zerosim
