#include "sim/platform_check.h"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "workloads/config_error.h"

namespace zerosim {
namespace {

// ---- values with units, as SimGrid's DTD 4 defines them (simgrid.dtd header) ----
using UnitTable = std::vector<std::pair<std::string, double>>;

UnitTable speed_units() {
  return {{"f", 1},     {"flops", 1},        {"kf", 1e3},  {"kiloflops", 1e3},
          {"Mf", 1e6},  {"megaflops", 1e6},  {"Gf", 1e9},  {"gigaflops", 1e9},
          {"Tf", 1e12}, {"teraflops", 1e12}, {"Pf", 1e15}, {"petaflops", 1e15},
          {"Ef", 1e18}, {"exaflops", 1e18},  {"Zf", 1e21}, {"zettaflops", 1e21},
          {"Yf", 1e24}, {"yottaflops", 1e24}};
}
UnitTable bandwidth_units() {
  UnitTable t = {{"Bps", 1}, {"bps", 0.125}};
  const std::vector<std::pair<std::string, int>> dec = {{"k", 1}, {"K", 1}, {"M", 2}, {"G", 3},
                                                        {"T", 4}, {"P", 5}, {"E", 6}};
  for (const auto& [p, e] : dec) {
    t.push_back({p + "Bps", std::pow(1000.0, e)});
    t.push_back({p + "bps", std::pow(1000.0, e) / 8});
  }
  for (const auto& [p, e] : std::vector<std::pair<std::string, int>>{
           {"Ki", 1}, {"Mi", 2}, {"Gi", 3}, {"Ti", 4}, {"Pi", 5}, {"Ei", 6}}) {
    t.push_back({p + "Bps", std::pow(1024.0, e)});
    t.push_back({p + "bps", std::pow(1024.0, e) / 8});
  }
  return t;
}
UnitTable latency_units() {
  return {{"s", 1},     {"w", 604800}, {"d", 86400}, {"h", 3600},  {"m", 60},
          {"ms", 1e-3}, {"us", 1e-6},  {"ns", 1e-9}, {"ps", 1e-12}};
}

// Number followed by an optional unit from `units` (unit-less numbers are accepted, as SimGrid does).
std::optional<double> parse_with_unit(const std::string& text, const UnitTable& units) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(v)) return std::nullopt;
  const std::string unit(end);
  if (unit.empty()) return v;
  for (const auto& [name, factor] : units)
    if (unit == name) return v * factor;
  return std::nullopt;
}

std::vector<std::string> unit_names(const UnitTable& units) {
  std::vector<std::string> names;
  for (const auto& u : units) names.push_back(u.first);
  return names;
}

// Hosts a platform may declare through <cluster radical=...>: twice the largest run (cluster.gpus).
constexpr long kMaxClusterHosts = 131072;

// ---- the checker: walks the zones once, collects netpoints, links and adjacency ----
class Checker {
 public:
  explicit Checker(std::string origin) : origin_(std::move(origin)) {}

  PlatformInfo run(const pugi::xml_document& doc, int64_t requested) {
    const pugi::xml_node root = doc.document_element();
    if (std::string(root.name()) != "platform")
      fail("", "root element is <" + std::string(root.name()) + ">, expected <platform version=\"4.1\">");
    const std::string version = root.attribute("version").as_string();
    const double v = std::atof(version.c_str());
    if (version.empty() || v < 4.0 || v >= 5.0)
      fail("platform.version",
           "DTD version '" + version +
               "' is not supported; SimGrid 3.32 reads version 4 to 4.x (write <platform version=\"4.1\">)");

    for (const pugi::xml_node child : root.children()) {
      const std::string name = child.name();
      if (name == "zone" || name == "AS") {
        zone(child, true);
      } else if (name == "cluster") {
        cluster(child);
      } else if (name == "config" || name == "trace" || name == "trace_connect" || name == "actor" ||
                 name == "process" || name.empty()) {
        continue;  // not part of the topology
      } else {
        fail("platform", "unexpected element <" + name + "> at top level (expected <zone>)");
      }
    }
    return finish(requested);
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw ConfigError(origin_, key, message);
  }

  size_t vertex(const std::string& id) {
    const auto [it, inserted] = vertex_of_.try_emplace(id, vertex_of_.size());
    return it->second;
  }
  void edge(const std::string& a, const std::string& b) { edges_.emplace_back(vertex(a), vertex(b)); }

  void netpoint(const std::string& id, const std::string& what) {
    if (id.empty()) fail(what, "<" + what + "> without an id");
    if (!netpoints_.insert(id).second) fail(what + " '" + id + "'", "id '" + id + "' is declared twice");
    vertex(id);
  }

  void check_value(const pugi::xml_node& n, const char* attr, const UnitTable& units, bool required,
                   const std::string& key) {
    const pugi::xml_attribute a = n.attribute(attr);
    if (!a) {
      if (required) fail(key, "missing attribute '" + std::string(attr) + "'");
      return;
    }
    const auto value = parse_with_unit(a.as_string(), units);
    if (!value || *value < 0)
      fail(key, std::string(attr) + "='" + a.as_string() + "' is not a non-negative number with a unit (" +
                    join(unit_names(units)) + ")");
  }

  void link(const pugi::xml_node& n, const std::string& kind) {
    const std::string id = n.attribute("id").as_string();
    if (id.empty()) fail(kind, "<" + kind + "> without an id");
    if (!links_.insert(id).second) fail(kind + " '" + id + "'", "link id '" + id + "' is declared twice");
    check_value(n, "bandwidth", bandwidth_units(), true, kind + " '" + id + "'");
    check_value(n, "latency", latency_units(), false, kind + " '" + id + "'");
  }

  void host(const pugi::xml_node& n, const std::string& zone_vertex, bool implicit) {
    const std::string id = n.attribute("id").as_string();
    netpoint(id, "host");
    check_value(n, "speed", speed_units(), true, "host '" + id + "'");
    std::map<std::string, std::string> props;
    for (const pugi::xml_node p : n.children("prop"))
      props[p.attribute("id").as_string()] = p.attribute("value").as_string();
    hosts_.push_back({id, props, n.attribute("speed").as_string()});
    if (implicit) edge(id, zone_vertex);
  }

  // A <cluster> expands to prefix<i>suffix hosts for every i in `radical` ("0-7", "0-3,8,10-11"), all
  // reachable through the cluster's backbone; its <prop>s apply to every host.
  void cluster(const pugi::xml_node& n) {
    const std::string id = n.attribute("id").as_string();
    const std::string key = "cluster '" + id + "'";
    netpoint(id, "cluster");
    check_value(n, "speed", speed_units(), true, key);
    check_value(n, "bw", bandwidth_units(), true, key);
    check_value(n, "lat", latency_units(), true, key);
    std::map<std::string, std::string> props;
    for (const pugi::xml_node p : n.children("prop"))
      props[p.attribute("id").as_string()] = p.attribute("value").as_string();
    const std::string prefix = n.attribute("prefix").as_string(), suffix = n.attribute("suffix").as_string();
    std::stringstream radical(n.attribute("radical").as_string());
    std::string part;
    while (std::getline(radical, part, ',')) {
      const auto dash = part.find('-');
      char* end = nullptr;
      const long lo = std::strtol(part.c_str(), &end, 10);
      const long hi = dash == std::string::npos ? lo : std::strtol(part.c_str() + dash + 1, &end, 10);
      if (part.empty() || hi < lo || lo < 0)
        fail(key, "radical '" + std::string(n.attribute("radical").as_string()) +
                      "' is not a list of ranges like 0-7");
      // A typo like 0-70000000000 would otherwise expand to billions of hosts (and at LONG_MAX the
      // loop counter would overflow); zerosim runs at most 65536 GPUs.
      if (hi - lo >= kMaxClusterHosts || hosts_.size() + static_cast<size_t>(hi - lo) >= kMaxClusterHosts)
        fail(key, "radical '" + std::string(n.attribute("radical").as_string()) + "' declares more than " +
                      std::to_string(kMaxClusterHosts) + " hosts (the limit)");
      for (long i = lo; i <= hi; ++i) {
        const std::string h = prefix + std::to_string(i) + suffix;
        netpoint(h, "host");
        hosts_.push_back({h, props, n.attribute("speed").as_string()});
        edge(h, id);
      }
    }
    const std::string router = n.attribute("router_id").as_string();
    edge(router.empty() ? prefix + id + "_router" + suffix : router, id);
  }

  void links_of(const pugi::xml_node& route, const std::string& key) {
    for (const pugi::xml_node l : route.children("link_ctn")) {
      const std::string id = l.attribute("id").as_string();
      if (!links_.count(id)) pending_links_.push_back({id, key});
    }
  }

  void zone(const pugi::xml_node& z, bool top) {
    const std::string id = z.attribute("id").as_string();
    const std::string key = "zone '" + id + "'";
    netpoint(id, "zone");
    const std::string routing = z.attribute("routing").as_string();
    static const std::set<std::string> routed = {"Full", "Floyd", "Dijkstra", "DijkstraCache"};
    static const std::set<std::string> implicit = {
        "Cluster", "ClusterTorus", "ClusterFatTree", "ClusterDragonfly", "Vivaldi", "Wifi", "Star", "None"};
    if (!routed.count(routing) && !implicit.count(routing))
      fail(key, "routing='" + routing + "' is not a SimGrid routing (" +
                    join({"Full", "Floyd", "Dijkstra", "DijkstraCache", "Cluster", "Vivaldi", "Wifi", "Star",
                          "None"}) +
                    ")");
    // Every element of an implicitly routed zone reaches every other one (except with None).
    const bool connected_by_zone = implicit.count(routing) && routing != "None";

    if (top)
      for (const pugi::xml_node p : z.children("prop"))
        zone_props_[p.attribute("id").as_string()] = p.attribute("value").as_string();

    for (const pugi::xml_node c : z.children()) {
      const std::string name = c.name();
      if (name == "host") {
        host(c, id, connected_by_zone);
      } else if (name == "router") {
        netpoint(c.attribute("id").as_string(), "router");
        if (connected_by_zone) edge(c.attribute("id").as_string(), id);
      } else if (name == "link" || name == "backbone") {
        link(c, name);
      } else if (name == "zone" || name == "AS") {
        zone(c, false);
      } else if (name == "cluster") {
        cluster(c);
        if (connected_by_zone) edge(c.attribute("id").as_string(), id);
      } else if (name == "route" || name == "bypassRoute") {
        const std::string src = c.attribute("src").as_string(), dst = c.attribute("dst").as_string();
        const std::string rkey = key + " route " + src + " -> " + dst;
        pending_points_.push_back({src, rkey});
        pending_points_.push_back({dst, rkey});
        links_of(c, rkey);
        edge(src, dst);
      } else if (name == "zoneRoute" || name == "ASroute" || name == "bypassZoneRoute" ||
                 name == "bypassASroute") {
        const std::string src = c.attribute("src").as_string(), dst = c.attribute("dst").as_string();
        const std::string gsrc = c.attribute("gw_src").as_string(), gdst = c.attribute("gw_dst").as_string();
        const std::string rkey = key + " zoneRoute " + src + " -> " + dst;
        for (const auto& p : {src, dst, gsrc, gdst}) pending_points_.push_back({p, rkey});
        links_of(c, rkey);
        // Traffic enters and leaves the child zones through their gateways.
        edge(gsrc, gdst);
        edge(src, gsrc);
        edge(dst, gdst);
      } else if (name == "host_link") {
        pending_points_.push_back({c.attribute("id").as_string(), key + " host_link"});
        for (const char* a : {"up", "down"}) {
          const std::string l = c.attribute(a).as_string();
          if (!links_.count(l)) pending_links_.push_back({l, key + " host_link"});
        }
      }
    }
  }

  PlatformInfo finish(int64_t requested) {
    // Routes may name elements declared later in the file: resolve references once everything is known.
    for (const auto& [id, where] : pending_points_)
      if (!netpoints_.count(id)) fail(where, "'" + id + "' is not a declared host, router or zone");
    for (const auto& [id, where] : pending_links_)
      if (!links_.count(id)) fail(where, "link '" + id + "' is not declared");

    PlatformInfo info;
    info.file = origin_;
    info.hosts = static_cast<int64_t>(hosts_.size());
    info.intra = zone_props_.count("intra") ? zone_props_["intra"] : "";
    info.nvls = zone_props_.count("nvls") && zone_props_["nvls"] == "true";
    info.inter = zone_props_.count("inter") ? zone_props_["inter"] : "";
    if (zone_props_.count("gpus_per_node"))
      info.gpus_per_node = std::atoll(zone_props_["gpus_per_node"].c_str());

    for (const auto& h : hosts_)
      if (auto g = gpu_host(h)) info.gpu_hosts.push_back(*g);
    if (info.gpu_hosts.empty())
      fail("host", "no GPU hosts: " + std::to_string(hosts_.size()) +
                       " host(s), none with a <prop id=\"gpu\" value=\"...\"/> naming a catalogue GPU (" +
                       join(gpu_ids()) + ") or memory_bytes/bf16_flops/mem_bw_bytes_s props");

    const bool ranked =
        std::all_of(info.gpu_hosts.begin(), info.gpu_hosts.end(),
                    [](const PlatformGpuHost& h) { return h.node >= 0 && h.local_rank >= 0; });
    if (ranked) {
      std::stable_sort(info.gpu_hosts.begin(), info.gpu_hosts.end(), [](const auto& a, const auto& b) {
        return std::pair(a.node, a.local_rank) < std::pair(b.node, b.local_rank);
      });
      for (size_t i = 1; i < info.gpu_hosts.size(); ++i)
        if (info.gpu_hosts[i].node == info.gpu_hosts[i - 1].node &&
            info.gpu_hosts[i].local_rank == info.gpu_hosts[i - 1].local_rank)
          fail("host '" + info.gpu_hosts[i].host + "'", "same node/local_rank (" +
                                                            std::to_string(info.gpu_hosts[i].node) + "/" +
                                                            std::to_string(info.gpu_hosts[i].local_rank) +
                                                            ") as host '" + info.gpu_hosts[i - 1].host + "'");
    }

    if (requested > static_cast<int64_t>(info.gpu_hosts.size()))
      fail("cluster.gpus", "the platform has " + std::to_string(info.gpu_hosts.size()) +
                               " GPU host(s), but " + std::to_string(requested) + " GPUs are requested");

    check_connected(info);
    return info;
  }

  // Every GPU host must reach every other: SimGrid would only fail (abort) at the first transfer.
  void check_connected(const PlatformInfo& info) {
    using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
    Graph g(vertex_of_.size());
    for (const auto& [a, b] : edges_) boost::add_edge(a, b, g);
    std::vector<int> component(boost::num_vertices(g));
    boost::connected_components(g, component.data());
    const int first = component[vertex_of_.at(info.gpu_hosts.front().host)];
    std::vector<std::string> unreachable;
    for (const auto& h : info.gpu_hosts)
      if (component[vertex_of_.at(h.host)] != first) unreachable.push_back(h.host);
    if (unreachable.empty()) return;
    const size_t shown = std::min<size_t>(unreachable.size(), 5);
    std::vector<std::string> list(unreachable.begin(), unreachable.begin() + static_cast<long>(shown));
    fail("route", std::to_string(unreachable.size()) + " GPU host(s) cannot be reached from '" +
                      info.gpu_hosts.front().host + "' through the routes in the file: " + join(list) +
                      (unreachable.size() > shown ? ", ..." : ""));
  }

  struct RawHost {
    std::string id;
    std::map<std::string, std::string> props;
    std::string speed;
  };

  // A host is a GPU host when it names a GPU or carries GPU numbers. Missing numbers come from the
  // catalogue entry its `gpu` prop names; without one, all three are required.
  std::optional<PlatformGpuHost> gpu_host(const RawHost& h) const {
    static const std::vector<std::string> numeric = {"memory_bytes", "bf16_flops", "mem_bw_bytes_s"};
    const bool has_gpu = h.props.count("gpu");
    const bool has_numbers =
        std::any_of(numeric.begin(), numeric.end(), [&](const auto& k) { return h.props.count(k); });
    if (!has_gpu && !has_numbers) return std::nullopt;
    const std::string key = "host '" + h.id + "'";

    PlatformGpuHost out;
    out.host = h.id;
    const auto ids = gpu_ids();
    const bool known = has_gpu && std::find(ids.begin(), ids.end(), h.props.at("gpu")) != ids.end();
    if (known) {
      out.gpu = find_gpu(h.props.at("gpu"), origin_, key);
    } else {
      std::vector<std::string> missing;
      for (const auto& k : numeric)
        if (!h.props.count(k)) missing.push_back(k);
      if (!missing.empty())
        fail(key, (has_gpu ? "gpu '" + h.props.at("gpu") + "' is not in the GPU catalogue (" + join(ids) + ")"
                           : std::string("no gpu prop")) +
                      " and props " + join(missing) + " are missing; give a catalogue gpu or all of " +
                      join(numeric));
      out.gpu.id = has_gpu ? h.props.at("gpu") : h.id;
      out.gpu.name = out.gpu.id;
      out.gpu.source = "platform file " + origin_;
      // A GPU the catalogue does not know: Ampere-class efficiencies, no wave quantization (sms 0),
      // and the catalogue's usual CUDA context, unless the host says otherwise (props below).
      out.gpu.gemm_efficiency = 0.78;
      out.gpu.attention_efficiency = 0.60;
      out.gpu.cuda_context_bytes = 512LL * 1048576;
    }
    auto number = [&](const std::string& k) {
      char* end = nullptr;
      const std::string& text = h.props.at(k);
      const double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !(v > 0))
        fail(key, "prop " + k + "='" + text + "' is not a positive number");
      return v;
    };
    if (h.props.count("memory_bytes")) out.gpu.memory_bytes = static_cast<int64_t>(number("memory_bytes"));
    if (h.props.count("bf16_flops")) out.gpu.bf16_flops = number("bf16_flops");
    if (h.props.count("mem_bw_bytes_s")) out.gpu.mem_bw_bytes_s = number("mem_bw_bytes_s");
    if (h.props.count("sms")) out.gpu.sms = static_cast<int64_t>(number("sms"));
    if (h.props.count("gemm_efficiency")) out.gpu.gemm_efficiency = std::min(1.0, number("gemm_efficiency"));
    if (h.props.count("attention_efficiency")) out.gpu.attention_efficiency = std::min(1.0, number("attention_efficiency"));
    auto index = [&](const std::string& k) -> int64_t {
      if (!h.props.count(k)) return -1;
      char* end = nullptr;
      const std::string& text = h.props.at(k);
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || v < 0)
        fail(key, "prop " + k + "='" + text + "' is not an index >= 0");
      return v;
    };
    out.node = index("node");
    out.local_rank = index("local_rank");
    return out;
  }

  std::string origin_;
  std::map<std::string, size_t> vertex_of_;
  std::vector<std::pair<size_t, size_t>> edges_;
  std::set<std::string> netpoints_, links_;
  std::vector<std::pair<std::string, std::string>> pending_points_, pending_links_;  // (id, where)
  std::vector<RawHost> hosts_;
  std::map<std::string, std::string> zone_props_;
};

PlatformInfo check_document(const pugi::xml_document& doc, const pugi::xml_parse_result& parsed,
                            const std::string& text, const std::string& origin, int64_t requested) {
  if (!parsed) {
    // pugixml reports a byte offset; users want a line.
    const auto offset = static_cast<size_t>(std::max<ptrdiff_t>(0, parsed.offset));
    const long line =
        1 + std::count(text.begin(), text.begin() + static_cast<long>(std::min(offset, text.size())), '\n');
    throw ConfigError(
        origin, "",
        "not a well-formed XML platform (line " + std::to_string(line) + ": " + parsed.description() + ")");
  }
  if (!doc.document_element()) throw ConfigError(origin, "", "not an XML platform: no root element");
  return Checker(origin).run(doc, requested);
}

}  // namespace

PlatformInfo check_platform_xml(const std::string& xml, const std::string& origin, int64_t requested_gpus) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  return check_document(doc, parsed, xml, origin, requested_gpus);
}

PlatformInfo check_platform_file(const std::string& path, int64_t requested_gpus) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw ConfigError(path, "", "platform file not found");
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path, "", "is a directory, expected a platform XML file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "", "cannot read platform file");
  std::stringstream ss;
  ss << in.rdbuf();
  return check_platform_xml(ss.str(), path, requested_gpus);
}

std::vector<std::string> gpu_hosts(const std::string& path, int64_t requested_gpus) {
  const PlatformInfo info = check_platform_file(path, requested_gpus);
  std::vector<std::string> out;
  const size_t n = requested_gpus > 0 ? static_cast<size_t>(requested_gpus) : info.gpu_hosts.size();
  for (size_t i = 0; i < n; ++i) out.push_back(info.gpu_hosts[i].host);
  return out;
}

}  // namespace zerosim
