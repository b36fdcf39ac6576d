#include "sim/engine/shortest_path_zone.h"

#include <algorithm>
#include <boost/graph/dijkstra_shortest_paths_no_color_map.hpp>
#include <stdexcept>
#include <utility>

namespace zerosim {

using simgrid::kernel::routing::NetPoint;
using simgrid::kernel::routing::Route;

void ShortestPathZone::add_edge(const NetPoint* src, const NetPoint* dst,
                                const std::vector<simgrid::s4u::LinkInRoute>& hops, bool backroute) {
  Edge e;
  e.from = src->id();
  e.to = dst->id();
  // The impl of each hop, the other half of a split-duplex link on the way back (get_link_list_impl);
  // the way back also takes the hops in reverse order, as RoutedZone::new_extended_route does.
  e.links = get_link_list_impl(hops, backroute);
  for (const auto& hop : hops) e.latencies_s.push_back(hop.get_link()->get_latency());
  if (backroute) {
    std::reverse(e.links.begin(), e.links.end());
    std::reverse(e.latencies_s.begin(), e.latencies_s.end());
  }
  vertices_ = std::max(vertices_, std::max(e.from, e.to) + 1);
  edges_.push_back(std::move(e));
}

void ShortestPathZone::add_route(NetPoint* src, NetPoint* dst, NetPoint* /*gw_src*/, NetPoint* /*gw_dst*/,
                                 const std::vector<simgrid::s4u::LinkInRoute>& link_list, bool symmetrical) {
  if (link_list.empty())
    throw std::invalid_argument("empty route between " + src->get_name() + " and " + dst->get_name());
  trees_.clear();
  graph_.reset();
  add_edge(src, dst, link_list, false);
  if (symmetrical) add_edge(dst, src, link_list, true);
}

void ShortestPathZone::index_edges() {
  std::vector<std::pair<unsigned, unsigned>> ends;
  std::vector<EdgeWeight> weights;
  for (unsigned e = 0; e < edges_.size(); ++e) {
    ends.emplace_back(static_cast<unsigned>(edges_[e].from), static_cast<unsigned>(edges_[e].to));
    weights.push_back({static_cast<unsigned>(edges_[e].links.size()), e});
  }
  graph_ = std::make_unique<Graph>(boost::edges_are_unsorted_multi_pass, ends.begin(), ends.end(),
                                   weights.begin(), vertices_);
}

// Boost.Graph's Dijkstra over the edges, each weighing its link count as in DijkstraZone; the visitor
// keeps the edge each vertex was last relaxed through (the tree's edges).
const std::vector<unsigned>& ShortestPathZone::tree_of(unsigned long source) {
  auto [it, inserted] = trees_.try_emplace(source);
  std::vector<unsigned>& pred = it->second;
  if (!inserted) return pred;
  const size_t n = vertices_;
  pred.assign(std::max<size_t>(n, source + 1), kNone);
  if (source >= n) return pred;  // a vertex no route names reaches nothing
  if (!graph_) index_edges();
  const Graph& g = *graph_;
  std::vector<unsigned> distance(n, kNone);
  std::vector<Graph::edge_descriptor> via(n);
  boost::dijkstra_shortest_paths_no_color_map(
      g, static_cast<unsigned>(source),
      boost::weight_map(boost::get(&EdgeWeight::links, g))
          .distance_map(
              boost::make_iterator_property_map(distance.begin(), boost::get(boost::vertex_index, g)))
          .distance_inf(kNone)
          .visitor(boost::make_dijkstra_visitor(boost::record_edge_predecessors(
              boost::make_iterator_property_map(via.begin(), boost::get(boost::vertex_index, g)),
              boost::on_edge_relaxed()))));
  for (size_t v = 0; v < n; ++v)
    if (distance[v] != kNone && v != source) pred[v] = g[via[v]].edge;
  return pred;
}

void ShortestPathZone::get_local_route(const NetPoint* src, const NetPoint* dst, Route* into,
                                       double* latency) {
  const unsigned long from = src->id(), to = dst->id();
  // A host to itself: no links. (DijkstraZone adds SimGrid's loopback link; the engine never sends to
  // itself, which the identical step times of both zones bear out.)
  if (from == to) return;
  const std::vector<unsigned>& pred = tree_of(from);
  if (to >= pred.size() || pred[to] == kNone)
    throw std::invalid_argument("No route from '" + src->get_name() + "' to '" + dst->get_name() + "'");
  // Links and latencies as DijkstraZone hands them over (NetworkModel.cpp, insert_link_latency): walking
  // back from the destination, each edge's links reversed and put in front, its latencies added one by
  // one. The same order keeps SimGrid's sums, and so every step time, bit for bit.
  for (unsigned long v = to; v != from; v = edges_[pred[v]].from) {
    const Edge& edge = edges_[pred[v]];
    into->link_list_.insert(into->link_list_.begin(), edge.links.rbegin(), edge.links.rend());
    if (latency)
      for (const double l : edge.latencies_s) *latency += l;
  }
}

}  // namespace zerosim
