#include "sim/engine/engine.h"
#include "sim/engine/nccl_nvls.h"
#include "sim/engine/nccl_tree.h"
#include "sim/engine/simgrid_engine.h"
#include "workloads/config_error.h"

#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <array>
#include <cmath>
#include <functional>
#include <span>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace zerosim {

namespace s4u = simgrid::s4u;

namespace {

// Which tasks of the (shared, see compute_actor) rank timeline have finished, and who sleeps on it.
struct Timeline {
  s4u::MutexPtr mutex = s4u::Mutex::create();
  s4u::ConditionVariablePtr changed = s4u::ConditionVariable::create();
  std::vector<char> done;
  int waiting = 0;  // actors sleeping on `changed`
};

// Who each rank sends to in one round of a collective, and which fraction of the data.
struct FlowSend {
  s4u::Host* to;
  int64_t to_rank;
  double fraction;
};
struct FlowPlan {
  std::vector<std::vector<FlowSend>> sends;  // per rank
  std::vector<int> receives;                 // flows arriving at each rank per round
  int64_t flows = 0;                         // all ranks' sends per round
  double latency_s = 0;         // the largest route latency among the hops
  double seconds_per_byte = 0;  // busiest link direction: Σ fractions of the flows crossing it / its rate
  double hop_bandwidth = 0;     // bottleneck link rate of rank 0's first hop (B/s), for NVLS
};
struct CollectivePlans {
  FlowPlan ring;  // fractions of the per-rank ring volume (ring_bytes_per_rank)
  FlowPlan tree;  // fractions of the buffer; multi-node all-reduce only
  int64_t nodes = 1;
  int64_t tree_steps = 0;  // NCCL tree all-reduce: up and down the intra-node chain and the node tree
};

// GPUs on `node` when n ranks fill nodes of G in order (the last node may be partial).
int64_t node_size(int64_t n, int64_t G, int64_t node) { return std::min(G, n - node * G); }

int64_t ring_steps(CollectiveKind k, int64_t n) { return k == CollectiveKind::all_reduce ? 2 * (n - 1) : n - 1; }

// Routes every send once: receive counts, the largest latency, and the static load of the busiest link,
// which is what NCCL's tuner-style choice between algorithms needs (the simulation itself shares links).
void measure(FlowPlan& plan, const std::vector<s4u::Host*>& hosts) {
  plan.receives.assign(hosts.size(), 0);
  std::unordered_map<const s4u::Link*, double> load;
  for (size_t r = 0; r < hosts.size(); ++r)
    for (const auto& send : plan.sends[r]) {
      ++plan.receives[static_cast<size_t>(send.to_rank)];
      ++plan.flows;
      std::vector<s4u::Link*> links;
      double latency = 0;
      hosts[r]->route_to(send.to, links, &latency);
      if (links.empty() && send.to != hosts[r])
        throw std::runtime_error("no route between " + hosts[r]->get_name() + " and " + send.to->get_name());
      plan.latency_s = std::max(plan.latency_s, latency);
      for (const auto* link : links) {
        load[link] += send.fraction;
        if (r == 0 && &send == &plan.sends[0].front())
          plan.hop_bandwidth = plan.hop_bandwidth == 0 ? link->get_bandwidth()
                                                       : std::min(plan.hop_bandwidth, link->get_bandwidth());
      }
    }
  for (const auto& [link, fraction] : load)
    if (link->get_bandwidth() > 0) plan.seconds_per_byte = std::max(plan.seconds_per_byte, fraction / link->get_bandwidth());
}

// Rings as NCCL builds them: inside one node a single ring; across nodes one ring per NIC (channel), each
// crossing nodes on its own rail, so a rank sends (G−1)/G of its share to a node neighbour over
// NVLink/PCIe and 1/G over its NIC to the same local rank of the next node.
FlowPlan plan_rings(const std::vector<s4u::Host*>& hosts, int64_t G, int64_t nodes) {
  FlowPlan plan;
  const auto n = static_cast<int64_t>(hosts.size());
  plan.sends.resize(hosts.size());
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G, size = node_size(n, G, node);
    auto& sends = plan.sends[static_cast<size_t>(r)];
    if (nodes == 1) {
      if (n > 1) sends.push_back({hosts[static_cast<size_t>((r + 1) % n)], (r + 1) % n, 1.0});
      continue;
    }
    const int64_t next_node = (node + 1) % nodes;
    const int64_t peer = next_node * G + std::min(local, node_size(n, G, next_node) - 1);
    const int64_t local_next = node * G + (local + 1) % size;
    if (size > 1) sends.push_back({hosts[static_cast<size_t>(local_next)], local_next,
                                   static_cast<double>(size - 1) / static_cast<double>(size)});
    sends.push_back({hosts[static_cast<size_t>(peer)], peer, 1.0 / static_cast<double>(size)});
  }
  measure(plan, hosts);
  return plan;
}

// NCCL's tree all-reduce in its pipelined steady state. Channel j's chain runs through the node starting at
// GPU j, whose NIC (rail j) joins the node to its parent and children in NCCL's double binary tree over
// nodes; each of the two trees carries half of the channel's 1/G of the buffer, reduced going up and
// broadcast coming down. Summed over the G channels a GPU sends (G−1)/G of the buffer to each chain
// neighbour, and its NIC 1/(2G) to each tree neighbour of its node on its rail.
FlowPlan plan_trees(const std::vector<s4u::Host*>& hosts, int64_t G, int64_t nodes) {
  FlowPlan plan;
  const auto n = static_cast<int64_t>(hosts.size());
  plan.sends.resize(hosts.size());
  auto rank_of = [&](int64_t node, int64_t local) { return node * G + std::min(local, node_size(n, G, node) - 1); };
  auto send = [&](int64_t from, int64_t to, double fraction) {
    plan.sends[static_cast<size_t>(from)].push_back({hosts[static_cast<size_t>(to)], to, fraction});
  };
  const double per_tree = 0.5 / static_cast<double>(G);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t node = r / G, local = r % G, size = node_size(n, G, node);
    if (size > 1) {
      const double chain = static_cast<double>(size - 1) / static_cast<double>(size);
      const int64_t next = node * G + (local + 1) % size, prev = node * G + (local - 1 + size) % size;
      if (next == prev) send(r, next, 2 * chain);
      else {
        send(r, next, chain);
        send(r, prev, chain);
      }
    }
    for (int64_t parent : dtree_parents(nodes, node))
      if (parent >= 0) {
        send(r, rank_of(parent, local), per_tree);  // reduce, up
        send(rank_of(parent, local), r, per_tree);  // broadcast, down
      }
  }
  measure(plan, hosts);
  return plan;
}

CollectivePlans plan_collectives(const std::vector<s4u::Host*>& hosts, int64_t gpus_per_node) {
  CollectivePlans plans;
  const auto n = static_cast<int64_t>(hosts.size());
  const int64_t G = std::max<int64_t>(1, std::min(gpus_per_node, n));
  plans.nodes = (n + G - 1) / G;
  plans.ring = plan_rings(hosts, G, plans.nodes);
  if (plans.nodes > 1) plans.tree = plan_trees(hosts, G, plans.nodes);
  int64_t depth = 0;
  while ((int64_t{1} << depth) < plans.nodes) ++depth;
  plans.tree_steps = 2 * ((G - 1) + depth);
  return plans;
}

// NVLS's fixed costs on top of its wire time: NCCL's start-up latency, then one synchronisation per
// handshake for every chunk each concurrent operation moves (NCCL's chunk size grows with the message).
double nvls_overhead_s(const CommModel& cm, int64_t bytes, int64_t n) {
  const int64_t rounds = nvls_chunk_rounds(bytes, cm.nvls_channels * n);
  return cm.nvls_latency_s + static_cast<double>(rounds * cm.nvls_chunk_handshakes) * cm.step_overhead_s;
}

// NCCL-tuner-style estimate: NVLS moves (1 + 1/N)·S per direction after its fixed costs; the ring moves
// 2(N−1)/N·S with one latency per step.
bool nvls_is_faster(const CommModel& cm, const FlowPlan& ring, int64_t bytes, int64_t n) {
  if (ring.hop_bandwidth <= 0) return false;
  const double s = static_cast<double>(bytes), nn = static_cast<double>(n);
  const double ring_s = 2.0 * (nn - 1) / nn * s / (cm.efficiency * ring.hop_bandwidth) +
                        2.0 * (nn - 1) * (ring.latency_s + cm.step_overhead_s);
  const double nvls_s = (1.0 + 1.0 / nn) * s / (cm.nvls_efficiency * ring.hop_bandwidth) + nvls_overhead_s(cm, bytes, n);
  return nvls_s < ring_s;
}

// NCCL's choice between ring and tree for a multi-node all-reduce, made the way its tuner makes it
// (src/graph/tuning.cc: predicted time = latency + bytes / bandwidth, the lower wins), with the
// bandwidths and latencies of this platform's routes.
bool tree_is_faster(const CommModel& cm, const CollectivePlans& p, int64_t bytes, int64_t n) {
  const double s = static_cast<double>(bytes);
  const double ring_s = p.ring.seconds_per_byte * static_cast<double>(ring_bytes_per_rank(CollectiveKind::all_reduce, bytes, n)) /
                            cm.efficiency +
                        static_cast<double>(ring_steps(CollectiveKind::all_reduce, n)) * (p.ring.latency_s + cm.step_overhead_s);
  const double tree_s = p.tree.seconds_per_byte * s / (cm.efficiency * cm.tree_efficiency) +
                        static_cast<double>(p.tree_steps) * (p.tree.latency_s + cm.step_overhead_s);
  return tree_s < ring_s;
}

struct Shared {
  const StepGraph* graph = nullptr;
  const ComputeModel* compute = nullptr;
  const EngineOptions* options = nullptr;
  std::vector<s4u::Host*> hosts;
  Timeline timeline;
  std::vector<double> task_seconds;  // compute and hook durations (same on every rank)
  std::vector<char> chains_into_next;  // compute_order[k] feeds only compute_order[k+1], which needs only it
  CollectivePlans plans;
  std::vector<std::vector<s4u::Mailbox*>> mailboxes;  // [comm stream][rank]
  SimResult result;
  std::vector<double> rank_end;
};

// SimGrid runs actors one at a time in one OS thread, so the done flags can be read without the mutex;
// the mutex and condition variable are only needed to sleep until a flag changes.
bool inputs_done(const Shared& s, TaskId v) {
  for (auto [e, end] = boost::in_edges(v, s.graph->graph); e != end; ++e)
    if (!s.timeline.done[boost::source(*e, s.graph->graph)]) return false;
  return true;
}

void wait_for_inputs(Shared& s, TaskId v) {
  Timeline& tl = s.timeline;
  if (inputs_done(s, v)) return;
  std::unique_lock<s4u::Mutex> lock(*tl.mutex);
  ++tl.waiting;
  while (!inputs_done(s, v)) tl.changed->wait(lock);
  --tl.waiting;
}

// Marks tasks done and wakes the sleeping actors once (not once per task).
template <class Tasks>
void finish(Shared& s, const Tasks& tasks) {
  Timeline& tl = s.timeline;
  for (TaskId v : tasks) tl.done[v] = 1;
  if (tl.waiting == 0) return;  // nobody to wake: skip the simcalls
  std::unique_lock<s4u::Mutex> lock(*tl.mutex);
  tl.changed->notify_all();
}

void record(Shared& s, int rank, Stream stream, const std::string& name, double start, double end,
            const char* algorithm = "") {
  if (s.options->record_trace) s.result.trace.push_back({rank, stream, name, start, end, algorithm});
}

// The CUDA compute stream: ops in program order, each after its inputs. Every rank runs the same ops
// for the same time, and every collective starts and ends on all ranks at once (comm_actor's barriers),
// so all ranks' compute timelines are identical: one actor (rank 0) simulates them all, and the trace
// repeats its events for the other ranks. Simulating n copies cost n× the events for the same answer.
void compute_actor(Shared& s) {
  const TaskGraph& g = s.graph->graph;
  const auto& order = s.graph->compute_order;
  const double speed = s4u::this_actor::get_host()->get_speed();
  for (size_t i = 0; i < order.size();) {
    // A block: consecutive tasks that nothing outside the compute stream waits on or feeds into run as
    // one execution — the same timeline with far fewer simulation events.
    size_t j = i + 1;
    while (j < order.size() && s.chains_into_next[j - 1]) ++j;
    wait_for_inputs(s, order[i]);
    const double start = s4u::Engine::get_clock();
    double block_s = 0;
    for (size_t k = i; k < j; ++k) block_s += s.task_seconds[order[k]];
    s4u::this_actor::execute(block_s * speed);
    double t = start;
    for (size_t k = i; k < j; ++k) {
      const TaskId v = order[k];
      const double end = t + s.task_seconds[v];
      for (size_t r = 0; r < s.hosts.size(); ++r) record(s, static_cast<int>(r), Stream::compute, g[v].name, t, end);
      const Task& task = g[v];
      const double d = end - t;
      if (task.kind == TaskKind::hook) s.result.overhead_s += d;  // CPU-side hook: the GPU idles
      else if (task.phase == Phase::forward) s.result.forward_s += d;
      else if (task.phase == Phase::optimizer) s.result.optimizer_s += d;
      else s.result.backward_s += d;
      s.result.task_durations[v] = d;
      s.result.compute_tasks += 1;
      t = end;
    }
    finish(s, std::span<const TaskId>(order.data() + i, j - i));
    i = j;
  }
  s.rank_end[0] = std::max(s.rank_end[0], s4u::Engine::get_clock());
}

// One round of a collective's flows from this rank: a put to each peer's mailbox and a get for each flow
// arriving here. Mailbox comms rather than Comm::sendto: SimGrid 3.32 keeps host-to-host comms in one
// list that each completion scans, which made a 1,024-flow collective cost O(flows²).
void exchange(Shared& s, size_t stream, int rank, const FlowPlan& plan, const std::vector<FlowSend>& sends,
              const std::function<uint64_t(const FlowSend&)>& bytes_of) {
  static char payload = 0;
  static char* landed = nullptr;  // the payload pointer each get writes; never read
  const auto& boxes = s.mailboxes[stream];
  const int receives = plan.receives[static_cast<size_t>(rank)];
  std::vector<s4u::CommPtr> flows;
  flows.reserve(sends.size() + static_cast<size_t>(receives));
  for (const auto& send : sends)
    flows.push_back(boxes[static_cast<size_t>(send.to_rank)]->put_async(&payload, bytes_of(send)));
  for (int k = 0; k < receives; ++k) flows.push_back(boxes[static_cast<size_t>(rank)]->get_async(&landed));
  for (auto& f : flows) f->wait();
}

// The NCCL stream of one rank: collectives in issue order. A pipelined ring in steady state is N
// concurrent neighbour flows, each carrying the rank's share, plus one latency per ring step. Across
// nodes NCCL runs one ring per NIC (channel), each crossing nodes on its own rail: per rank that is
// (G−1)/G of the share over NVLink/PCIe to a node neighbour and 1/G over its NIC to the same local
// rank of the next node (plan_rings). A multi-node all-reduce runs NCCL's double binary tree instead
// where NCCL's tuner would pick it (plan_trees, tree_is_faster).
void comm_actor(Shared& s, int rank, size_t stream, const std::vector<TaskId>& order, const s4u::BarrierPtr& group) {
  const TaskGraph& g = s.graph->graph;
  const auto n = static_cast<int64_t>(s.hosts.size());
  const CommModel& cm = s.options->comm;
  const auto& ring = s.plans.ring;
  const auto& sends = ring.sends[static_cast<size_t>(rank)];
  for (TaskId v : order) {
    // Only rank 0 tracks the (identical) compute timeline; the others meet it at the start barrier.
    if (rank == 0) wait_for_inputs(s, v);
    const Task& t = g[v];
    if (n > 1) group->wait();  // NCCL kernels start together
    const double start = s4u::Engine::get_clock();
    // After the closing barrier every rank waits out the same latency. Only rank 0 sleeps it: the others
    // would just meet rank 0 at the next start barrier anyway, so they note it and skip the simcalls.
    double tail_s = 0;
    auto settle = [&](double seconds) {
      if (rank == 0) s4u::this_actor::sleep_for(seconds);
      else tail_s = seconds;
    };
    // NVLS for all-reduce inside one NVLS-capable node, where NCCL's tuner would pick it.
    const bool automatic = cm.algorithm == NcclAlgorithm::automatic && !cm.stepwise_ring;
    const bool nvls = s.options->nvls && s.plans.nodes == 1 && n > 2 && t.collective == CollectiveKind::all_reduce &&
                      !cm.stepwise_ring &&
                      (cm.algorithm == NcclAlgorithm::nvls || (automatic && nvls_is_faster(cm, ring, t.bytes, n)));
    const bool tree = !nvls && s.plans.nodes > 1 && t.collective == CollectiveKind::all_reduce && !cm.stepwise_ring &&
                      (cm.algorithm == NcclAlgorithm::tree || (automatic && tree_is_faster(cm, s.plans, t.bytes, n)));
    if (n > 1 && t.bytes > 0 && nvls) {
      const int64_t bytes = t.bytes + (t.bytes + n - 1) / n;
      const auto wire = static_cast<uint64_t>(std::llround(static_cast<double>(bytes) / cm.nvls_efficiency));
      exchange(s, stream, rank, ring, {sends.front()}, [wire](const FlowSend&) { return wire; });
      group->wait();
      settle(cm.launch_s + nvls_overhead_s(cm, t.bytes, n));
      if (rank == 0) {
        s.result.comm_bytes_per_rank += bytes;
        s.result.flows += n;
        s.result.nvls_collectives += 1;
      }
    } else if (n > 1 && t.bytes > 0 && tree) {
      const FlowPlan& plan = s.plans.tree;
      const double buffer = static_cast<double>(t.bytes);
      exchange(s, stream, rank, plan, plan.sends[static_cast<size_t>(rank)], [&](const FlowSend& send) {
        return static_cast<uint64_t>(std::llround(buffer * send.fraction / (cm.efficiency * cm.tree_efficiency)));
      });
      group->wait();  // the tree finishes when its slowest flow does
      settle(cm.launch_s + cm.step_overhead_s +
             static_cast<double>(s.plans.tree_steps - 1) * (plan.latency_s + cm.step_overhead_s));
      if (rank == 0) {
        double fraction = 0;
        for (const auto& send : plan.sends[0]) fraction += send.fraction;
        s.result.comm_bytes_per_rank += std::llround(buffer * fraction);
        s.result.flows += plan.flows;
        s.result.tree_collectives += 1;
      }
    } else if (n > 1 && t.bytes > 0) {
      const int64_t bytes = ring_bytes_per_rank(t.collective, t.bytes, n);
      const int64_t steps = ring_steps(t.collective, n);
      auto wire = [&](double fraction, int64_t parts) {
        return static_cast<uint64_t>(
            std::llround(static_cast<double>(bytes) * fraction / static_cast<double>(parts) / cm.efficiency));
      };
      if (cm.stepwise_ring) {
        s4u::this_actor::sleep_for(cm.launch_s);
        for (int64_t step = 0; step < steps; ++step) {
          exchange(s, stream, rank, ring, sends, [&](const FlowSend& send) { return wire(send.fraction, steps); });
          group->wait();  // a ring step ends when every rank has received its chunk
          s4u::this_actor::sleep_for(cm.step_overhead_s);
        }
      } else {
        exchange(s, stream, rank, ring, sends, [&](const FlowSend& send) { return wire(send.fraction, 1); });
        group->wait();  // the ring finishes when its slowest flow does
        settle(cm.launch_s + cm.step_overhead_s +
               static_cast<double>(steps - 1) * (ring.latency_s + cm.step_overhead_s));
      }
      if (rank == 0) {
        s.result.comm_bytes_per_rank += bytes;
        s.result.flows += ring.flows * (cm.stepwise_ring ? steps : 1);
        s.result.ring_collectives += 1;
      }
    }
    const double end = s4u::Engine::get_clock() + tail_s;
    record(s, rank, Stream::comm, t.name, start, end, n == 1 || t.bytes == 0 ? "" : nvls ? "nvls" : tree ? "tree" : "ring");
    if (rank == 0) {
      s.result.comm_s += end - start;
      s.result.collectives += 1;
      s.result.task_durations[v] = end - start;
      finish(s, std::array<TaskId, 1>{v});
    }
  }
  s.rank_end[static_cast<size_t>(rank)] = std::max(s.rank_end[static_cast<size_t>(rank)], s4u::Engine::get_clock());
}

}  // namespace

NcclAlgorithm nccl_algorithm(const std::string& name) {
  if (name == "ring") return NcclAlgorithm::ring;
  if (name == "tree") return NcclAlgorithm::tree;
  if (name == "nvls") return NcclAlgorithm::nvls;
  return NcclAlgorithm::automatic;
}

SimResult run_step(const StepGraph& graph, const ComputeModel& compute, const EngineOptions& options) {
  const auto engine = start_simgrid_engine(options.platform_file);

  Shared s;
  s.graph = &graph;
  s.compute = &compute;
  s.options = &options;
  for (const auto& h : options.rank_hosts) {
    s4u::Host* host = s4u::Host::by_name_or_null(h);
    if (!host) throw std::runtime_error("platform has no host '" + h + "'");
    s.hosts.push_back(host);
  }
  const size_t n_tasks = boost::num_vertices(graph.graph);
  s.timeline.done.assign(n_tasks, 0);
  s.task_seconds.assign(n_tasks, 0.0);
  for (size_t v = 0; v < n_tasks; ++v) {
    const Task& t = graph.graph[v];
    if (t.kind == TaskKind::compute) s.task_seconds[v] = compute.seconds(graph.ops[static_cast<size_t>(t.op)]);
    else if (t.kind == TaskKind::hook) s.task_seconds[v] = t.hook_s;
  }
  s.result.task_durations.assign(n_tasks, 0.0);
  const auto& order = graph.compute_order;
  s.chains_into_next.assign(order.size(), 0);
  for (size_t k = 0; k + 1 < order.size(); ++k)
    s.chains_into_next[k] = boost::out_degree(order[k], graph.graph) == 1 &&
                            boost::in_degree(order[k + 1], graph.graph) == 1 &&
                            boost::edge(order[k], order[k + 1], graph.graph).second;
  s.rank_end.assign(s.hosts.size(), 0.0);
  // One barrier per communicator: every collective joins all ranks of the data-parallel group.
  std::vector<const std::vector<TaskId>*> streams = {&graph.comm_order};
  for (const auto& extra : graph.extra_comm_streams) streams.push_back(&extra);
  std::vector<s4u::BarrierPtr> groups;
  for (size_t i = 0; i < streams.size(); ++i) groups.push_back(s4u::Barrier::create(static_cast<unsigned>(s.hosts.size())));
  s.plans = plan_collectives(s.hosts, options.gpus_per_node);
  s.mailboxes.resize(streams.size());
  for (size_t i = 0; i < streams.size(); ++i)
    for (size_t r = 0; r < s.hosts.size(); ++r)
      s.mailboxes[i].push_back(s4u::Mailbox::by_name("nccl" + std::to_string(i) + "-" + std::to_string(r)));
  for (size_t r = 0; r < s.hosts.size(); ++r) {
    const int rank = static_cast<int>(r);
    if (r == 0) s4u::Actor::create("compute", s.hosts[r], [&s] { compute_actor(s); });
    for (size_t i = 0; i < streams.size(); ++i)
      s4u::Actor::create("comm" + std::to_string(i) + "-" + std::to_string(r), s.hosts[r],
                         [&s, rank, i, order = streams[i], group = groups[i]] { comm_actor(s, rank, i, *order, group); });
  }
  engine->run();
  for (double e : s.rank_end) s.result.step_s = std::max(s.result.step_s, e);
  const double busy = s.result.forward_s + s.result.backward_s + s.result.optimizer_s + s.result.overhead_s;
  s.result.exposed_comm_s = std::max(0.0, s.result.step_s - busy);
  return s.result;
}

}  // namespace zerosim
