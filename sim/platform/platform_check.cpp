#include "sim/platform/platform_check.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "sim/platform/interconnect_catalogue.h"
#include "sim/platform/platform_xml_writer.h"
#include "workloads/config_error.h"
#include "workloads/run_config.h"
#include "workloads/text_encoding.h"
#include "workloads/units.h"

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
    if (unit == name) return std::isfinite(v * factor) ? std::optional<double>(v * factor) : std::nullopt;
  return std::nullopt;
}

std::vector<std::string> unit_names(const UnitTable& units) {
  std::vector<std::string> names;
  for (const auto& u : units) names.push_back(u.first);
  return names;
}

// Hosts a platform may declare through <cluster radical=...>: twice the largest run (cluster.gpus).
constexpr long kMaxClusterHosts = 131072;
// GPU numbers from host props: memory up to 1 PiB (an int64 byte count, with room), SMs up to a million.
constexpr double kMaxMemoryBytes = 1125899906842624.0;
constexpr double kMaxSms = 1e6;

// Zone routings SimGrid 3.32 reads from XML that zerosim accepts. Routed zones take <route> and
// <zoneRoute>; Cluster connects its members itself (<host_link>); None connects nothing. (SimGrid's
// Vivaldi and Wifi zones need coordinates or access points zerosim does not model; Star and the
// Cluster* topologies are not zone routings in 3.32's XML: it aborts with "Not a valid model!".)
const std::vector<std::string> kRoutedZones = {"Full", "Floyd", "Dijkstra", "DijkstraCache"};
const std::vector<std::string> kZoneRoutings = {"Full",          "Floyd",   "Dijkstra",
                                                "DijkstraCache", "Cluster", "None"};

// The elements that declare a route; the bypass and AS spellings are SimGrid's too.
bool is_route_element(const std::string& name) {
  return name == "route" || name == "bypassRoute" || name == "zoneRoute" || name == "ASroute" ||
         name == "bypassZoneRoute" || name == "bypassASroute";
}

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
        (void)zone(child, true);
      } else if (name == "cluster") {
        (void)cluster(child);
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
  enum class Kind { host, router, zone };
  struct RawHost {
    std::string id;
    std::map<std::string, std::string> props;
    std::string speed, core;
    bool is_cpu() const { return props.count("kind") && props.at("kind") == "cpu"; }
  };
  struct Route {
    std::string element, key, src, dst, gw_src, gw_dst;
    bool zone_route = false, bypass = false, symmetrical = true;
    size_t links = 0;
    std::string tag() const { return "<" + element + ">"; }
  };
  struct Zone {
    std::string id, routing;
    std::set<std::string> members;   // hosts and routers declared directly in it
    std::set<std::string> children;  // zones and clusters declared directly in it
    std::vector<Route> routes;
    std::string key() const { return "zone '" + id + "'"; }
    std::string where() const { return key() + " (routing='" + routing + "')"; }
    // Every element of a Cluster zone reaches every other one.
    bool connected_by_zone() const { return routing == "Cluster"; }
    bool routed() const {
      return std::find(kRoutedZones.begin(), kRoutedZones.end(), routing) != kRoutedZones.end();
    }
  };

  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw ConfigError(origin_, key, message);
  }

  size_t vertex(const std::string& id) {
    const auto [it, inserted] = vertex_of_.try_emplace(id, vertex_of_.size());
    return it->second;
  }
  // Connectivity: `arc` one way (a route with symmetrical="NO", a bypass route), `edge` both ways.
  void arc(const std::string& a, const std::string& b) { arcs_.emplace_back(vertex(a), vertex(b)); }
  void edge(const std::string& a, const std::string& b) {
    arc(a, b);
    arc(b, a);
  }

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
    kind_[id] = Kind::host;
    check_value(n, "speed", speed_units(), true, "host '" + id + "'");
    std::map<std::string, std::string> props;
    for (const pugi::xml_node p : n.children("prop"))
      props[p.attribute("id").as_string()] = p.attribute("value").as_string();
    hosts_.push_back({id, props, n.attribute("speed").as_string(), n.attribute("core").as_string()});
    if (implicit) edge(id, zone_vertex);
  }

  // A <cluster> expands to prefix<i>suffix hosts for every i in `radical` ("0-7", "0-3,8,10-11"), all
  // reachable through the cluster's backbone; its <prop>s apply to every host.
  // Returns the hosts and the router inside it (gateways a <zoneRoute> may name).
  std::vector<std::string> cluster(const pugi::xml_node& n) {
    const std::string id = n.attribute("id").as_string();
    const std::string key = "cluster '" + id + "'";
    netpoint(id, "cluster");
    kind_[id] = Kind::zone;
    std::vector<std::string> inside;
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
        kind_[h] = Kind::host;
        hosts_.push_back({h, props, n.attribute("speed").as_string(), n.attribute("core").as_string()});
        edge(h, id);
        inside.push_back(h);
      }
    }
    const std::string router_id = n.attribute("router_id").as_string();
    const std::string router = router_id.empty() ? prefix + id + "_router" + suffix : router_id;
    netpoint(router, "router");  // SimGrid creates it: a gateway for <zoneRoute>s to the cluster
    kind_[router] = Kind::router;
    edge(router, id);
    inside.push_back(router);
    return inside;
  }

  void links_of(const pugi::xml_node& route, const std::string& key) {
    for (const pugi::xml_node l : route.children("link_ctn")) {
      const std::string id = l.attribute("id").as_string();
      if (!links_.count(id)) pending_links_.push_back({id, key});
    }
  }

  // One zone and everything in it; returns the hosts and routers inside it, at any depth (the
  // gateways a <zoneRoute> of the parent zone may name).
  std::vector<std::string> zone(const pugi::xml_node& z, bool top) {
    Zone info;
    info.id = z.attribute("id").as_string();
    info.routing = z.attribute("routing").as_string();
    netpoint(info.id, "zone");
    kind_[info.id] = Kind::zone;
    if (std::find(kZoneRoutings.begin(), kZoneRoutings.end(), info.routing) == kZoneRoutings.end())
      fail(info.key(),
           "routing='" + info.routing + "' is not supported (allowed: " + join(kZoneRoutings) + ")");
    if (top)
      for (const pugi::xml_node p : z.children("prop"))
        zone_props_[p.attribute("id").as_string()] = p.attribute("value").as_string();

    std::vector<std::string> inside;
    for (const pugi::xml_node c : z.children()) zone_element(c, info, inside);
    zones_.push_back(std::move(info));
    return inside;
  }

  // One element declared directly in zone `info`; hosts and routers it declares, at any depth, go to
  // `inside`. Elements that are not part of the topology are skipped.
  void zone_element(const pugi::xml_node& c, Zone& info, std::vector<std::string>& inside) {
    const std::string name = c.name();
    if (name == "host") {
      zone_host(c, info, inside);
    } else if (name == "router") {
      zone_router(c, info, inside);
    } else if (name == "link" || name == "backbone") {
      link(c, name);
    } else if (name == "zone" || name == "AS" || name == "cluster") {
      child_zone(c, name, info, inside);
    } else if (is_route_element(name)) {
      info.routes.push_back(route(c, name, info.key()));
    } else if (name == "host_link") {
      host_link(c, info.key());
    }
  }

  void zone_host(const pugi::xml_node& c, Zone& info, std::vector<std::string>& inside) {
    host(c, info.id, info.connected_by_zone());
    info.members.insert(c.attribute("id").as_string());
    inside.push_back(c.attribute("id").as_string());
  }

  void zone_router(const pugi::xml_node& c, Zone& info, std::vector<std::string>& inside) {
    const std::string r = c.attribute("id").as_string();
    netpoint(r, "router");
    kind_[r] = Kind::router;
    info.members.insert(r);
    inside.push_back(r);
    if (info.connected_by_zone()) edge(r, info.id);
  }

  // A <zone>, <AS> or <cluster> inside zone `info`.
  void child_zone(const pugi::xml_node& c, const std::string& name, Zone& info,
                  std::vector<std::string>& inside) {
    const std::string child = c.attribute("id").as_string();
    std::vector<std::string> below = name == "cluster" ? cluster(c) : zone(c, false);
    if (name == "cluster" && info.connected_by_zone()) edge(child, info.id);
    info.children.insert(child);
    inside.insert(inside.end(), below.begin(), below.end());
    inside_[child] = std::set<std::string>(below.begin(), below.end());
  }

  // A <route>, <zoneRoute> or one of their bypass/AS spellings, element `name` of the zone keyed
  // `zone_key`: its ends and links are resolved in finish(), its adjacency is recorded now.
  Route route(const pugi::xml_node& c, const std::string& name, const std::string& zone_key) {
    Route r;
    r.element = name;
    r.zone_route = name != "route" && name != "bypassRoute";
    r.bypass = name.rfind("bypass", 0) == 0;
    r.src = c.attribute("src").as_string();
    r.dst = c.attribute("dst").as_string();
    r.gw_src = c.attribute("gw_src").as_string();
    r.gw_dst = c.attribute("gw_dst").as_string();
    // SimGrid's DTD: YES (the default), NO, yes, no. Bypass routes are one way.
    const std::string sym = c.attribute("symmetrical").as_string();
    r.symmetrical = !r.bypass && sym != "NO" && sym != "no";
    r.links =
        static_cast<size_t>(std::distance(c.children("link_ctn").begin(), c.children("link_ctn").end()));
    r.key = zone_key + (r.zone_route ? " zoneRoute " : " route ") + r.src + " -> " + r.dst;
    if (r.zone_route) {
      for (const auto& p : {r.src, r.dst, r.gw_src, r.gw_dst}) pending_points_.push_back({p, r.key});
      // Traffic between the child zones enters and leaves them through their gateways.
      arc(r.gw_src, r.gw_dst);
      if (r.symmetrical) arc(r.gw_dst, r.gw_src);
    } else {
      pending_points_.push_back({r.src, r.key});
      pending_points_.push_back({r.dst, r.key});
      arc(r.src, r.dst);
      if (r.symmetrical) arc(r.dst, r.src);
    }
    links_of(c, r.key);
    return r;
  }

  void host_link(const pugi::xml_node& c, const std::string& zone_key) {
    pending_points_.push_back({c.attribute("id").as_string(), zone_key + " host_link"});
    for (const char* a : {"up", "down"}) {
      const std::string l = c.attribute(a).as_string();
      if (!links_.count(l)) pending_links_.push_back({l, zone_key + " host_link"});
    }
  }

  // SimGrid 3.32 adds each route to its zone's routing table with assertions that abort the process,
  // and a Dijkstra zone dereferences a null pointer formatting its "already exists" message: a route
  // declared twice, or whose symmetrical reverse repeats another route, crashes SimGrid. Checked here
  // against SimGrid's own rules (RoutedZone::add_route_check_params and each zone's add_route).
  // The checks of one route run in this order: the first failing one is the message users see.
  void check_routes(const Zone& z) const {
    std::set<std::pair<std::string, std::string>> table, bypass;
    for (const Route& r : z.routes) {
      check_placement(z, r);
      if (r.zone_route)
        check_zone_route_ends(z, r);
      else if (!r.bypass)
        check_route_ends(z, r);
      if (r.bypass)
        check_bypass_declared_once(z, r, bypass);
      else
        check_declared_once(z, r, table);
    }
  }

  // The zone's routing takes this kind of route, and the route lists links.
  void check_placement(const Zone& z, const Route& r) const {
    if (!z.routed() && (!r.bypass || z.routing == "None"))
      fail(r.key,
           r.tag() + " in " + z.where() + ": this routing takes no " +
               (z.routing == "None" ? std::string("routes") : "<route> or <zoneRoute> (use <host_link>)") +
               "; routes are allowed in zones with routing " + join(kRoutedZones));
    if (r.links == 0)
      fail(r.key, r.tag() + " without a <link_ctn>: SimGrid forbids empty routes (list at least one link)");
  }

  // A zone route joins two child zones of `z`, each through a gateway inside it.
  void check_zone_route_ends(const Zone& z, const Route& r) const {
    for (const auto& [attr, zone_id, gw] :
         {std::tuple{"src", r.src, r.gw_src}, std::tuple{"dst", r.dst, r.gw_dst}}) {
      if (!z.children.count(zone_id))
        fail(r.key, std::string(attr) + "='" + zone_id + "' is not a zone or cluster declared directly in " +
                        z.where() + " (a " + r.tag() +
                        " joins two of its child zones; between hosts or routers use " +
                        (r.bypass ? "<bypassRoute>" : "<route>") + ")");
      const auto inside = inside_.find(zone_id);
      if (inside == inside_.end() || !inside->second.count(gw))
        fail(r.key, "gw_" + std::string(attr) + "='" + gw + "' is not a host or router inside zone '" +
                        zone_id + "' (the gateway must belong to the zone it leaves or enters)");
    }
    if (r.gw_src == r.gw_dst)
      fail(r.key,
           "gw_src and gw_dst are both '" + r.gw_src + "' (a zone route joins two different gateways)");
  }

  // A (non-bypass) route joins hosts or routers declared directly in `z`.
  void check_route_ends(const Zone& z, const Route& r) const {
    for (const auto& [attr, point] : {std::pair{"src", r.src}, std::pair{"dst", r.dst}}) {
      const auto k = kind_.find(point);
      if (k != kind_.end() && k->second == Kind::zone)
        fail(r.key, std::string(attr) + "='" + point +
                        "' is a zone: a <route> joins hosts or routers (between zones use <zoneRoute> "
                        "with gateways)");
      if (!z.members.count(point))
        fail(r.key, std::string(attr) + "='" + point + "' is not a host or router declared directly in " +
                        z.where() +
                        " (a <route> joins the zone's own hosts and routers; across zones use <zoneRoute>)");
    }
  }

  // `bypass` holds the zone's bypass routes so far (src, dst).
  void check_bypass_declared_once(const Zone& z, const Route& r,
                                  std::set<std::pair<std::string, std::string>>& bypass) const {
    if (!bypass.insert({r.src, r.dst}).second)
      fail(r.key, "a bypass route from '" + r.src + "' to '" + r.dst + "' is already declared in " +
                      z.where() + "; declare each bypass route once");
  }

  // `table` holds the zone's routing table so far (src, dst): the route, then its symmetrical reverse.
  void check_declared_once(const Zone& z, const Route& r,
                           std::set<std::pair<std::string, std::string>>& table) const {
    if (!table.insert({r.src, r.dst}).second)
      fail(r.key, "a route from '" + r.src + "' to '" + r.dst + "' is already declared in " + z.where() +
                      "; declare each route once (a route is symmetrical unless symmetrical=\"NO\": it also "
                      "declares its reverse)");
    // Full skips the reverse of a route to itself; Floyd and Dijkstra add it again, which repeats it.
    if (!r.symmetrical || (r.src == r.dst && z.routing == "Full")) return;
    if (r.src == r.dst)
      fail(r.key, "a route from '" + r.src + "' to itself needs symmetrical=\"NO\" in " + z.where() +
                      ": its reverse is the same route, which would be declared twice");
    if (!table.insert({r.dst, r.src}).second)
      fail(r.key,
           "the reverse route from '" + r.dst + "' to '" + r.src + "' is already declared in " + z.where() +
               "; this route is symmetrical, so it would declare it again (add symmetrical=\"NO\" to both "
               "directions, or drop the explicit reverse route)");
  }

  PlatformInfo finish(int64_t requested) {
    // Routes may name elements declared later in the file: resolve references once everything is known.
    for (const auto& [id, where] : pending_points_)
      if (!netpoints_.count(id)) fail(where, "'" + id + "' is not a declared host, router or zone");
    for (const auto& [id, where] : pending_links_)
      if (!links_.count(id)) fail(where, "link '" + id + "' is not declared");
    for (const Zone& z : zones_) check_routes(z);

    PlatformInfo info;
    info.file = origin_;
    info.hosts = static_cast<int64_t>(hosts_.size());
    info.intra = zone_props_.count("intra") ? zone_props_["intra"] : "";
    info.nvls = zone_props_.count("nvls") && zone_props_["nvls"] == "true";
    info.inter = zone_props_.count("inter") ? zone_props_["inter"] : "";
    if (zone_props_.count("net_efficiency"))
      info.net_efficiency = zone_number("net_efficiency", 0.01, 1, "NCCL's fraction of the NIC line rate");
    if (zone_props_.count("nic_gbps")) info.nic_gbps = zone_number("nic_gbps", 1, 1600, "Gb/s per NIC");
    if (zone_props_.count("oversubscription"))
      info.oversubscription = zone_number("oversubscription", 1, 16, "leaf down:up bandwidth ratio");
    if (zone_props_.count("nics_per_node"))
      info.nics_per_node =
          whole_number("nics_per_node", "zone prop nics_per_node", zone_props_["nics_per_node"], 1, 64);
    if (zone_props_.count("collnet")) {
      const std::string& text = zone_props_["collnet"];
      if (text != "true" && text != "false")
        fail("collnet", "zone prop collnet='" + text + "' (allowed: true, false)");
      info.collnet = text == "true";
    }
    if (zone_props_.count("gpus_per_node")) {
      const std::string& text = zone_props_["gpus_per_node"];
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (end == text.c_str() || *end != '\0' || v < 1 || v > kMaxClusterHosts)
        fail("gpus_per_node", "zone prop gpus_per_node='" + text + "' is not a whole number from 1 to " +
                                  std::to_string(kMaxClusterHosts));
      info.gpus_per_node = v;
    }

    for (const auto& h : hosts_) {
      if (h.props.count("kind") && !h.is_cpu())
        fail("host '" + h.id + "'",
             "prop kind='" + h.props.at("kind") +
                 "' is not a host kind zerosim knows (allowed: cpu; GPU hosts have no kind)");
      if (h.is_cpu()) continue;
      if (auto g = gpu_host(h)) info.gpu_hosts.push_back(*g);
    }
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

    host_zone_props(info);
    const HostSpec base = find_host(info.host.empty() ? info.gpu_hosts.front().gpu.default_host : info.host);
    for (const auto& h : hosts_)
      if (h.is_cpu()) info.cpu_hosts.push_back(cpu_host(h, base));
    sort_cpu_hosts(info);
    assign_cpu_hosts(info);
    check_connected(info);
    return info;
  }

  // Zone props host, host_memory_bytes and pcie_gen: what the generator wrote, or the user's words.
  void host_zone_props(PlatformInfo& info) {
    if (zone_props_.count("host")) {
      const auto ids = host_ids();
      info.host = zone_props_["host"];
      if (std::find(ids.begin(), ids.end(), info.host) == ids.end())
        fail("host",
             "zone prop host='" + info.host + "' is not in the host catalogue (known: " + join(ids) + ")");
    }
    if (zone_props_.count("host_memory_bytes"))
      info.host_memory_bytes =
          whole_number("host_memory_bytes", "zone prop host_memory_bytes", zone_props_["host_memory_bytes"],
                       1, static_cast<int64_t>(kMaxMemoryBytes));
    if (zone_props_.count("pcie_gen")) {
      const auto& gens = interconnect_catalogue().pcie_x16_bytes_s;
      const int64_t gen = whole_number("pcie_gen", "zone prop pcie_gen", zone_props_["pcie_gen"], 1, 64);
      if (!gens.count(static_cast<int>(gen))) {
        std::vector<std::string> allowed;
        allowed.reserve(gens.size());
        for (const auto& kv : gens) allowed.push_back(std::to_string(kv.first));
        fail("pcie_gen", "zone prop pcie_gen='" + zone_props_["pcie_gen"] +
                             "' is not a PCIe generation zerosim has "
                             "rates for (allowed: " +
                             join(allowed) + ")");
      }
      info.pcie_gen = static_cast<int>(gen);
    }
  }

  // Zone prop `key` as a number in [lo, hi] (`what` says what it is), else a ConfigError under `key`.
  double zone_number(const std::string& key, double lo, double hi, const std::string& what) {
    const std::string& text = zone_props_[key];
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(v >= lo && v <= hi))
      fail(key, "zone prop " + key + "='" + text + "' is not a number in [" + format_number(lo, 6) + ", " +
                    format_number(hi, 6) + "] (" + what + ")");
    return v;
  }

  // `text` (what `what` names: "prop cores", "zone prop pcie_gen") as a whole number in [lo, hi], else
  // a ConfigError under `key`.
  int64_t whole_number(const std::string& key, const std::string& what, const std::string& text, int64_t lo,
                       int64_t hi) const {
    char* end = nullptr;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (end == text.c_str() || *end != '\0' || v < lo || v > hi)
      fail(key, what + "='" + text + "' is not a whole number from " + std::to_string(lo) + " to " +
                    std::to_string(hi));
    return v;
  }

  // Host prop `k` of `props` as a positive finite number, else a ConfigError under `key`.
  double positive_prop(const std::string& key, const std::map<std::string, std::string>& props,
                       const std::string& k) const {
    char* end = nullptr;
    const std::string& text = props.at(k);
    const double v = std::strtod(text.c_str(), &end);
    if (end == text.c_str() || *end != '\0' || !(v > 0) || !std::isfinite(v))
      fail(key, "prop " + k + "='" + text + "' is not a positive number");
    return v;
  }

  // A CPU host (kind=cpu): its props, checked, completed from `base` (the catalogue host).
  PlatformCpuHost cpu_host(const RawHost& h, const HostSpec& base) const {
    const std::string key = "host '" + h.id + "'";
    static const std::vector<std::string> allowed = {
        "kind",       "node",         "socket",         "cores",
        "numa_nodes", "memory_bytes", "mem_bw_bytes_s", "cpu_adam_elements_per_s_per_core"};
    for (const auto& [k, v] : h.props)
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        fail(key, "prop '" + k + "' is not a CPU host property (allowed: " + join(allowed) + ")");
    auto positive = [&](const std::string& k) { return positive_prop(key, h.props, k); };
    auto index = [&](const std::string& k) -> int64_t {
      return h.props.count(k) ? whole_number(key, "prop " + k, h.props.at(k), 0, kMaxClusterHosts) : -1;
    };
    PlatformCpuHost out;
    out.host = h.id;
    out.node = index("node");
    out.socket = index("socket");
    // SimGrid runs the CPU's work with the host's own core count and speed: the props may only repeat them.
    out.cores = h.core.empty() ? 1 : whole_number(key, "core", h.core, 1, 1 << 20);
    if (h.props.count("cores") &&
        whole_number(key, "prop cores", h.props.at("cores"), 1, 1 << 20) != out.cores)
      fail(key, "prop cores='" + h.props.at("cores") + "' differs from the host's core=\"" +
                    (h.core.empty() ? std::string("1") : h.core) +
                    "\" (SimGrid runs CPU Adam on core=; give both the same count)");
    if (h.props.count("numa_nodes"))
      out.numa_nodes = whole_number(key, "prop numa_nodes", h.props.at("numa_nodes"), 1, 64);
    out.cpu_adam_elements_per_s_per_core = *parse_with_unit(h.speed, speed_units());
    if (h.props.count("cpu_adam_elements_per_s_per_core")) {
      const double rate = positive("cpu_adam_elements_per_s_per_core");
      if (std::abs(rate - out.cpu_adam_elements_per_s_per_core) > 1e-9 * rate)
        fail(
            key,
            "prop cpu_adam_elements_per_s_per_core='" + h.props.at("cpu_adam_elements_per_s_per_core") +
                "' differs from the host's speed='" + h.speed +
                "' (SimGrid runs CPU Adam at speed = elements per second per core; give both the same rate)");
    }
    if (!(out.cpu_adam_elements_per_s_per_core > 0))
      fail(key, "speed='" + h.speed +
                    "' must be more than 0: a CPU host's speed is CPU Adam's elements per second per core");
    out.memory_bytes = h.props.count("memory_bytes")
                           ? static_cast<int64_t>(std::min(positive("memory_bytes"), kMaxMemoryBytes))
                           : base.memory_bytes / base.sockets;
    out.mem_bw_bytes_s = h.props.count("mem_bw_bytes_s") ? positive("mem_bw_bytes_s") : base.mem_bw_bytes_s;
    return out;
  }

  void sort_cpu_hosts(PlatformInfo& info) const {
    auto& cpus = info.cpu_hosts;
    if (!std::all_of(cpus.begin(), cpus.end(), [](const auto& c) { return c.node >= 0 && c.socket >= 0; }))
      return;
    std::stable_sort(cpus.begin(), cpus.end(), [](const auto& a, const auto& b) {
      return std::pair(a.node, a.socket) < std::pair(b.node, b.socket);
    });
    for (size_t i = 1; i < cpus.size(); ++i)
      if (cpus[i].node == cpus[i - 1].node && cpus[i].socket == cpus[i - 1].socket)
        fail("host '" + cpus[i].host + "'", "same node/socket (" + std::to_string(cpus[i].node) + "/" +
                                                std::to_string(cpus[i].socket) + ") as host '" +
                                                cpus[i - 1].host + "'");
  }

  // Each GPU's CPU host: on its node, the first one a route joins it to directly, else the first one.
  void assign_cpu_hosts(PlatformInfo& info) const {
    if (info.cpu_hosts.empty()) return;
    std::set<std::pair<size_t, size_t>> direct(arcs_.begin(), arcs_.end());
    for (auto& g : info.gpu_hosts) {
      const size_t gv = vertex_of_.at(g.host);
      const PlatformCpuHost *first = nullptr, *adjacent = nullptr;
      for (const auto& c : info.cpu_hosts) {
        if (g.node >= 0 && c.node >= 0 && g.node != c.node) continue;
        if (!first) first = &c;
        if (direct.count({gv, vertex_of_.at(c.host)})) {
          adjacent = &c;
          break;
        }
      }
      if (adjacent || first) g.cpu_host = (adjacent ? adjacent : first)->host;
    }
  }

  // Every GPU host must reach every other: SimGrid would only fail at the first transfer (abort, or
  // loop forever in a Dijkstra zone). Directed: a route with symmetrical="NO" only goes one way, so
  // every GPU host must be reachable from the first one and reach it back; so must the CPU hosts the
  // GPUs copy to.
  void check_connected(const PlatformInfo& info) const {
    const size_t n = vertex_of_.size();
    std::vector<std::vector<size_t>> forward(n), backward(n);
    for (const auto& [a, b] : arcs_) {
      forward[a].push_back(b);
      backward[b].push_back(a);
    }
    const size_t first = vertex_of_.at(info.gpu_hosts.front().host);
    auto reach = [&](const std::vector<std::vector<size_t>>& next) {
      std::vector<char> seen(n, 0);
      std::vector<size_t> stack = {first};
      seen[first] = 1;
      while (!stack.empty()) {
        const size_t v = stack.back();
        stack.pop_back();
        for (const size_t w : next[v])
          if (!seen[w]) {
            seen[w] = 1;
            stack.push_back(w);
          }
      }
      return seen;
    };
    auto missing = [&](const std::vector<char>& seen) {
      std::vector<std::string> out;
      for (const auto& h : info.gpu_hosts)
        if (!seen[vertex_of_.at(h.host)]) out.push_back(h.host);
      return out;
    };
    auto listed = [](const std::vector<std::string>& hosts) {
      const size_t shown = std::min<size_t>(hosts.size(), 5);
      return join(std::vector<std::string>(hosts.begin(), hosts.begin() + static_cast<long>(shown))) +
             (hosts.size() > shown ? ", ..." : "");
    };
    const std::string& from = info.gpu_hosts.front().host;
    const std::vector<char> reached = reach(forward), reaching = reach(backward);
    if (const auto unreachable = missing(reached); !unreachable.empty())
      fail("route", std::to_string(unreachable.size()) + " GPU host(s) cannot be reached from '" + from +
                        "' through the routes in the file: " + listed(unreachable));
    if (const auto no_way_back = missing(reaching); !no_way_back.empty())
      fail("route", std::to_string(no_way_back.size()) + " GPU host(s) have no route back to '" + from +
                        "' (routes with symmetrical=\"NO\" go one way): " + listed(no_way_back));
    // The GPUs reach each other: each GPU's CPU host must be reachable from them and reach them back.
    std::vector<std::string> cpus;
    for (const auto& h : info.gpu_hosts)
      if (!h.cpu_host.empty() && std::find(cpus.begin(), cpus.end(), h.cpu_host) == cpus.end())
        cpus.push_back(h.cpu_host);
    auto missing_cpus = [&](const std::vector<char>& seen) {
      std::vector<std::string> out;
      for (const auto& c : cpus)
        if (!seen[vertex_of_.at(c)]) out.push_back(c);
      return out;
    };
    if (const auto unreachable = missing_cpus(reached); !unreachable.empty())
      fail("route", std::to_string(unreachable.size()) +
                        " CPU host(s) that GPUs copy to cannot be reached from '" + from +
                        "' through the routes in the file: " + listed(unreachable));
    if (const auto no_way_back = missing_cpus(reaching); !no_way_back.empty())
      fail("route", std::to_string(no_way_back.size()) +
                        " CPU host(s) that GPUs copy to have no route back to '" + from +
                        "' (routes with symmetrical=\"NO\" go one way): " + listed(no_way_back));
  }

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
      out.gpu.cuda_context_bytes = 512 * kMiB;
      // Its node: the one of the run config's default GPU, unless the zone's `host` prop says otherwise.
      out.gpu.default_host = find_gpu(ClusterSpec{}.gpu).default_host;
    }
    auto number = [&](const std::string& k) { return positive_prop(key, h.props, k); };
    // Counts become integers: bounded first (a double beyond int64's range does not convert).
    auto count = [&](const std::string& k, double limit, const std::string& limit_text) {
      const double v = number(k);
      if (v > limit)
        fail(key, "prop " + k + "='" + h.props.at(k) + "' is over the limit (" + limit_text + ")");
      return static_cast<int64_t>(v);
    };
    if (h.props.count("memory_bytes"))
      out.gpu.memory_bytes = count("memory_bytes", kMaxMemoryBytes, "1125899906842624 bytes, 1 PiB");
    if (h.props.count("bf16_flops")) out.gpu.bf16_flops = number("bf16_flops");
    if (h.props.count("fp32_flops")) out.gpu.fp32_flops = number("fp32_flops");
    if (h.props.count("tf32_flops")) out.gpu.tf32_flops = number("tf32_flops");
    if (h.props.count("mem_bw_bytes_s")) out.gpu.mem_bw_bytes_s = number("mem_bw_bytes_s");
    if (h.props.count("sms")) out.gpu.sms = count("sms", kMaxSms, "1000000");
    if (h.props.count("gemm_efficiency")) out.gpu.gemm_efficiency = std::min(1.0, number("gemm_efficiency"));
    if (h.props.count("attention_efficiency"))
      out.gpu.attention_efficiency = std::min(1.0, number("attention_efficiency"));
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
    // A GPU host's props are all read above: a misspelt one would otherwise be a silent default.
    static const std::vector<std::string> host_props = {"gpu",
                                                        "memory_bytes",
                                                        "bf16_flops",
                                                        "mem_bw_bytes_s",
                                                        "sms",
                                                        "gemm_efficiency",
                                                        "attention_efficiency",
                                                        "node",
                                                        "local_rank",
                                                        "fp32_flops",
                                                        "tf32_flops"};
    for (const auto& [k, v] : h.props)
      if (std::find(host_props.begin(), host_props.end(), k) == host_props.end())
        fail(key, "prop '" + k + "' is not a GPU host property (allowed: " + join(host_props) + ")");
    return out;
  }

  std::string origin_;
  std::map<std::string, size_t> vertex_of_;
  std::vector<std::pair<size_t, size_t>> arcs_;
  std::map<std::string, Kind> kind_;
  std::map<std::string, std::set<std::string>> inside_;  // zone or cluster -> hosts and routers in it
  std::vector<Zone> zones_;
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

namespace {
// pugixml does not check the encoding, and the attribute values zerosim reads (ids, props) reach its JSON
// output, which must be UTF-8: a value that is not is refused, naming the element, attribute and line.
void refuse_non_utf8_attributes(const pugi::xml_node& node, const std::string& xml,
                                const std::string& origin) {
  for (const pugi::xml_attribute& a : node.attributes())
    if (const auto bad = invalid_utf8_offset(a.value())) {
      const auto at = static_cast<size_t>(std::max<std::ptrdiff_t>(0, node.offset_debug()));
      throw ConfigError(origin, std::string("<") + node.name() + "> " + a.name(),
                        "value is not UTF-8 at its byte " + std::to_string(*bad) + " (line " +
                            std::to_string(line_at(xml, at)) +
                            "): platform files are XML, which must be UTF-8");
    }
  for (const pugi::xml_node& child : node.children()) refuse_non_utf8_attributes(child, xml, origin);
}
}  // namespace

PlatformInfo check_platform_xml(const std::string& xml, const std::string& origin, int64_t requested_gpus) {
  pugi::xml_document doc;
  const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  PlatformInfo info = check_document(doc, parsed, xml, origin, requested_gpus);
  refuse_non_utf8_attributes(doc, xml, origin);  // after the checks that name a route or prop more precisely
  return info;
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
