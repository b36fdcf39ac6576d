#pragma once
// The routing zone of the platforms zerosim generates. SimGrid's DijkstraCache zone routes them
// correctly but costs one shortest-path tree over the whole platform per sending host, on SimGrid's
// generic graph (xbt_graph: a heap seeded with every vertex, edge lookups by scanning out-edges, routes
// built by inserting at the front): at 4,096 GPUs (5,761 vertices) that was most of a 10 s simulation
// (perf, docs/architecture.md "Generated platforms"). This zone takes the same one-hop routes and the
// same rule — a path of fewest links, each edge weighing its link count (DijkstraZone.cpp, SimGrid 3.32)
// — with Boost.Graph's Dijkstra on compressed sparse rows, one shortest-path tree per source kept as
// 4-byte predecessor edges. The generator makes every route the engine asks for the unique shortest
// one (platform_builder.cpp), so any correct search returns the routes DijkstraCache returns;
// tests/unit/test_shortest_path_zone.cpp compares both on generated platforms, link by link.
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <memory>
#include <simgrid/kernel/routing/NetPoint.hpp>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <simgrid/s4u/Link.hpp>
#include <unordered_map>
#include <vector>

namespace zerosim {

class ShortestPathZone : public simgrid::kernel::routing::NetZoneImpl {
 public:
  using NetPoint = simgrid::kernel::routing::NetPoint;
  explicit ShortestPathZone(const std::string& name) : NetZoneImpl(name) {}

  // As SimGrid's routed zones: src -> dst with the links in order; symmetrical adds dst -> src with the
  // links reversed and each split-duplex link's other half.
  void add_route(NetPoint* src, NetPoint* dst, NetPoint* gw_src, NetPoint* gw_dst,
                 const std::vector<simgrid::s4u::LinkInRoute>& link_list, bool symmetrical) override;
  // Throws std::invalid_argument when dst cannot be reached (SimGrid's "No route from ... to ...").
  void get_local_route(const NetPoint* src, const NetPoint* dst, simgrid::kernel::routing::Route* into,
                       double* latency) override;

 private:
  struct Edge {
    unsigned long from = 0, to = 0;
    std::vector<simgrid::kernel::resource::StandardLinkImpl*> links;
    std::vector<double> latencies_s;  // of `links`, in their order
  };
  void add_edge(const NetPoint* src, const NetPoint* dst, const std::vector<simgrid::s4u::LinkInRoute>& hops,
                bool backroute);
  // Predecessor edge (index into edges_) of every vertex on the fewest-links paths from `source`;
  // kNone where unreachable. Computed on first use and kept.
  const std::vector<unsigned>& tree_of(unsigned long source);

  void index_edges();

  static constexpr unsigned kNone = ~0U;
  std::vector<Edge> edges_;
  size_t vertices_ = 0;  // 1 + the highest vertex id an edge names
  std::unordered_map<unsigned long, std::vector<unsigned>> trees_;
  // The edges as Boost.Graph's compressed sparse rows, built on the first search after the last route.
  struct EdgeWeight {
    unsigned links;  // the edge's link count: its weight
    unsigned edge;   // index into edges_
  };
  using Graph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, EdgeWeight>;
  std::unique_ptr<Graph> graph_;
};

}  // namespace zerosim
