#include "sim/engine/engine.h"

#include <array>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <simgrid/s4u.hpp>
#include <span>
#include <stdexcept>
#include <tuple>

#include "sim/engine/collective_selector.h"
#include "sim/engine/host_timeline.h"
#include "sim/engine/simgrid_engine.h"
#include "workloads/config_error.h"

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

// Routes between ranks as SimGrid's platform has them, for the collective planners.
RouteOf simgrid_routes(const std::vector<s4u::Host*>& hosts) {
  return [&hosts](int64_t from, int64_t to) {
    s4u::Host* src = hosts[static_cast<size_t>(from)];
    s4u::Host* dst = hosts[static_cast<size_t>(to)];
    std::vector<s4u::Link*> links;
    Route route;
    src->route_to(dst, links, &route.latency_s);
    if (links.empty() && dst != src)
      throw std::runtime_error("no route between " + src->get_name() + " and " + dst->get_name());
    for (const auto* link : links) route.links.push_back({link->get_name(), link->get_bandwidth()});
    return route;
  };
}

struct Shared {
  const StepGraph* graph = nullptr;
  const ComputeModel* compute = nullptr;
  const EngineOptions* options = nullptr;
  std::vector<s4u::Host*> hosts;
  Timeline timeline;
  std::vector<double> task_seconds;    // compute and hook durations (same on every rank)
  std::vector<char> chains_into_next;  // compute_order[k] feeds only compute_order[k+1], which needs only it
  CollectivePlans plans;
  // By task id: each collective's algorithm and flows, chosen once for all ranks (the choice depends only
  // on the collective and the plans); empty for a task with nothing to send.
  std::vector<std::optional<CollectiveSchedule>> schedules;
  // By task id: the earlier collective whose time this one replays (see plan_replays), or -1; and for a
  // collective that others replay, its time on rank 0 from its start to the end of run_collective.
  std::vector<int64_t> replay_of;
  std::vector<double> replayed_s;
  std::vector<std::vector<s4u::Mailbox*>> mailboxes;  // [comm stream][rank]
  // CPU offload: the CPU host of each rank (null: the platform has none) and the ranks that simulate
  // their copies and CPU Adam — node 0's; every node does the same inside itself (docs/time-model.md).
  std::vector<s4u::Host*> cpu_hosts;
  int64_t local_ranks = 1;
  // Rank 0's offload copies, and the intervals its compute stream waited for inputs: exposed offload
  // is the time the compute stream waited while a copy ran (run_step).
  std::vector<std::pair<double, double>> copy_intervals, compute_waits;
  double compute_end = 0;
  // The training thread's clock: when it will have issued everything it has issued so far. It runs ahead
  // of the GPU (launches are asynchronous) except where it synchronises (host_sync hooks, the CPU step).
  double host_clock = 0;
  // Rank 0's NCCL SM loads (NcclSmLoad): running now, and started so far.
  int nccl_loads_active = 0;
  int64_t nccl_loads_started = 0;
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

void record(Shared& s, int rank, Track track, const std::string& name, double start, double end,
            const char* algorithm = "") {
  if (s.options->record_trace) s.result.trace.push_back({rank, track, name, start, end, algorithm});
}

// Total overlap of two lists of intervals, each sorted by start and non-overlapping (one stream each).
double overlap_seconds(const std::vector<std::pair<double, double>>& a,
                       const std::vector<std::pair<double, double>>& b) {
  double total = 0;
  size_t j = 0;
  for (const auto& [a0, a1] : a) {
    while (j < b.size() && b[j].second <= a0) ++j;
    for (size_t k = j; k < b.size() && b[k].first < a1; ++k)
      total += std::max(0.0, std::min(a1, b[k].second) - std::max(a0, b[k].first));
  }
  return total;
}

// The CPU step (DeepSpeedCPUAdam and its unscale and cast passes) over the rank's partition. Every rank of
// a node runs its own at the same moment on the node's cores and memory, so all take the same time
// (offload_model.h); the training thread waits for it, so the compute stream idles.
void run_cpu_step(const Shared& s, const Task& task) {
  s4u::this_actor::sleep_for(s.options->offload.cpu_step_seconds(
      {task.host_elements, task.host_bytes, task.host_pinned_bytes, task.host_pinned_footprint}));
}

void record_all_ranks(Shared& s, Track track, const std::string& name, double start, double end,
                      const char* algorithm = "") {
  for (size_t r = 0; r < s.hosts.size(); ++r)
    record(s, static_cast<int>(r), track, name, start, end, algorithm);
}

// A block of the compute stream (its inputs ready at `start`), with the training thread that issues it:
// each op as launch_op (host_timeline.h) places it; the host moves on at once (launches are asynchronous). A
// hook is host time only, except that a hook that synchronises (ZeRO-3 at world size 1: NoGatherHandle.wait
// drains the stream) first waits for the GPU. Returns when the block ends: the GPU's last op, or the host's
// last hook where the block ends with one (its collectives are issued then). Adds the GPU's busy time to
// `gpu_busy` and each op's waits and GPU time to `spans` (the compute track is recorded once the block has
// run: concurrent NCCL may stretch it).
struct OpSpan {
  TaskId v;
  double wait, gpu;  // the GPU's wait for the op's launches, then its GPU time
};
double host_and_gpu_timeline(Shared& s, std::span<const TaskId> tasks, double start, double& gpu_busy,
                             std::vector<OpSpan>& spans) {
  const TaskGraph& g = s.graph->graph;
  double t = start;  // the GPU is free from t
  double end = start;
  for (const TaskId v : tasks) {
    const Task& task = g[v];
    const double h0 = task.host_sync ? std::max(s.host_clock, t) : s.host_clock;
    if (task.kind == TaskKind::hook) {
      s.host_clock = h0 + task.hook_s;
      record_all_ranks(s, Track::host, task.name, h0, s.host_clock);
      s.result.overhead_s += task.hook_s;
      s.result.host_s += task.hook_s;
      s.result.task_durations[v] = 0;  // host time: what it costs the GPU is in the next op's wait
      s.result.compute_tasks += 1;
      end = std::max(t, s.host_clock);
      if (v == tasks.back()) s.result.task_durations[v] = end - t;  // the GPU idles until it has run
      continue;
    }
    const ComputeOp& op = s.graph->ops[static_cast<size_t>(task.op)];
    const double gpu = s.task_seconds[v];
    const LaunchedOp run = launch_op(h0, t, op.host_s, op.kernels, gpu, op.synced_kernels);
    const double done = run.end;
    // The GPU idled, waiting for launches: before the first kernel, and between kernels (exact zeros when
    // the GPU is the slower, where `begin` is t and `end` is begin + gpu).
    const double wait = (run.begin - t) + (done - (run.begin + gpu));
    s.result.exposed_host_s += wait;
    if (op.host_s > 0) record_all_ranks(s, Track::host, task.name, h0, run.host_end);
    spans.push_back({v, wait, gpu});
    s.host_clock = run.host_end;
    s.result.host_s += op.host_s;
    if (task.phase == Phase::forward)
      s.result.forward_s += gpu;
    else if (task.phase == Phase::optimizer)
      s.result.optimizer_s += gpu;
    else
      s.result.backward_s += gpu;
    s.result.task_durations[v] = done - t;  // the critical path counts the wait for the launch too
    s.result.compute_tasks += 1;
    gpu_busy += gpu;
    t = done;
    end = t;
  }
  s.result.exposed_host_s += end - t;  // a closing hook the GPU waited for
  return end;
}

// The block's ops on the compute track: their waits for the host as placed, their GPU time stretched by
// the block's slowdown under concurrent NCCL (`stretch` >= 1, spread evenly over the block).
void record_block(Shared& s, const std::vector<OpSpan>& spans, double start, double stretch) {
  if (!s.options->record_trace) return;
  double cur = start;
  for (const OpSpan& op : spans) {
    cur += op.wait;
    record_all_ranks(s, Track::compute, s.graph->graph[op.v].name, cur, cur + op.gpu * stretch);
    cur += op.gpu * stretch;
  }
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
    const double ready = s4u::Engine::get_clock();
    wait_for_inputs(s, order[i]);
    const double start = s4u::Engine::get_clock();
    if (start > ready) s.compute_waits.emplace_back(ready, start);
    if (g[order[i]].kind == TaskKind::host) {  // never chained: see run_step
      run_cpu_step(s, g[order[i]]);
      const double end = s4u::Engine::get_clock();
      record_all_ranks(s, Track::cpu, g[order[i]].name, start, end);
      s.result.cpu_optimizer_s += end - start;
      s.host_clock = std::max(s.host_clock, end);  // the training thread ran it
      s.result.task_durations[order[i]] = end - start;
      s.result.compute_tasks += 1;
      finish(s, std::array<TaskId, 1>{order[i]});
      i = j;
      continue;
    }
    double gpu_busy = 0;
    std::vector<OpSpan> spans;
    const double t =
        host_and_gpu_timeline(s, std::span<const TaskId>(order.data() + i, j - i), start, gpu_busy, spans);
    // While a collective runs, NCCL's kernels hold some of the SMs (the load comm_actor puts on this host):
    // the execution then takes longer than gpu_busy, by what SimGrid's sharing of the host gives them.
    const int64_t loads_before = s.nccl_loads_started;
    const bool loaded = s.nccl_loads_active > 0;
    s4u::this_actor::execute(gpu_busy * speed);
    if (loaded || s.nccl_loads_started != loads_before) {
      const double ran = s4u::Engine::get_clock() - start;
      s.result.overlap_slowdown_s += std::max(0.0, ran - gpu_busy);
      record_block(s, spans, start, gpu_busy > 0 ? std::max(1.0, ran / gpu_busy) : 1.0);
      if (const double idle = (t - start) - gpu_busy; idle > 0) s4u::this_actor::sleep_for(idle);
    } else {  // nothing beside it: the block ends where the host and GPU timelines put it
      record_block(s, spans, start, 1.0);
      if (const double idle = t - s4u::Engine::get_clock(); idle > 0) s4u::this_actor::sleep_for(idle);
    }
    finish(s, std::span<const TaskId>(order.data() + i, j - i));
    i = j;
  }
  s.compute_end = s4u::Engine::get_clock();
  s.rank_end[0] = std::max(s.rank_end[0], s.compute_end);
}

// One round of a collective's flows from this rank: a put to each peer's mailbox and a get for each flow
// arriving here. Mailbox comms rather than Comm::sendto: SimGrid 3.32 keeps host-to-host comms in one
// list that each completion scans, which made a 1,024-flow collective cost O(flows²).
void exchange(Shared& s, size_t stream, int rank, const CollectiveSchedule& schedule) {
  static char payload = 0;
  static char* landed = nullptr;  // the payload pointer each get writes; never read
  const auto& boxes = s.mailboxes[stream];
  const auto& sends = schedule.plan->sends[static_cast<size_t>(rank)];
  const int receives = schedule.plan->receives[static_cast<size_t>(rank)];
  std::vector<s4u::CommPtr> flows;
  flows.reserve(sends.size() + static_cast<size_t>(receives));
  for (const auto& send : sends) {
    const uint64_t bytes = schedule.wire_bytes(send);
    s4u::CommPtr flow = boxes[static_cast<size_t>(send.to_rank)]->put_init(&payload, bytes);
    if (schedule.min_flow_s > 0)  // the kernel's pace (CollectiveSchedule::min_flow_s)
      flow->set_rate(static_cast<double>(bytes) / schedule.min_flow_s);
    flow->vetoable_start();  // what Mailbox::put_async does after put_init
    flows.push_back(std::move(flow));
  }
  for (int k = 0; k < receives; ++k) flows.push_back(boxes[static_cast<size_t>(rank)]->get_async(&landed));
  for (auto& f : flows) f->wait();
}

// Runs one collective's flows on this rank; returns the latency still to add to its end (see below).
double run_collective(Shared& s, size_t stream, int rank, const CollectiveSchedule& schedule,
                      const s4u::BarrierPtr& group) {
  const CommModel& cm = s.options->comm;
  if (schedule.stepwise) {
    s4u::this_actor::sleep_for(cm.launch_s);
    for (int64_t round = 0; round < schedule.rounds; ++round) {
      exchange(s, stream, rank, schedule);
      group->wait();  // a ring step ends when every rank has received its chunk
      s4u::this_actor::sleep_for(cm.step_overhead_s);
    }
    return 0;
  }
  exchange(s, stream, rank, schedule);
  group->wait();  // the collective finishes when its slowest flow does
  // After the closing barrier every rank waits out the same latency. Only rank 0 sleeps it: the others
  // would just meet rank 0 at the next start barrier anyway, so they note it and skip the simcalls.
  if (rank != 0) return schedule.settle_s;
  s4u::this_actor::sleep_for(schedule.settle_s);
  return 0;
}

// While one of rank 0's collectives runs, its kernels occupy `ctas` of the GPU's SMs (docs/time-model.md,
// "Compute slowed by concurrent NCCL"): an execution on rank 0's GPU host with priority ctas / (SMs - ctas),
// so that SimGrid's weighted sharing leaves the compute stream (SMs - ctas) / SMs of the GPU's speed. Only
// rank 0 carries it: its compute timeline stands for every rank's (compute_actor).
class NcclSmLoad {
 public:
  NcclSmLoad(Shared& s, int rank, const CollectiveSchedule& schedule) : s_(s) {
    const CommModel& cm = s.options->comm;
    const int64_t ctas =
        schedule.algorithm == NcclAlgorithm::nvls || schedule.algorithm == NcclAlgorithm::nvls_tree
            ? cm.nvls_channels
            : cm.ctas_per_collective;
    const int64_t sms = s.compute->gpu().sms;
    if (rank != 0 || ctas <= 0 || sms <= ctas) return;
    load_ = s4u::this_actor::exec_init(std::numeric_limits<double>::max());
    load_->set_priority(static_cast<double>(ctas) / static_cast<double>(sms - ctas));
    load_->set_name("nccl-sm-load");
    load_->start();
    ++s_.nccl_loads_active;
    ++s_.nccl_loads_started;
  }
  ~NcclSmLoad() {
    if (!load_) return;
    load_->cancel();
    --s_.nccl_loads_active;
  }
  NcclSmLoad(const NcclSmLoad&) = delete;
  NcclSmLoad& operator=(const NcclSmLoad&) = delete;

 private:
  Shared& s_;
  s4u::ExecPtr load_;
};

// Rank 0 speaks for every rank in the result: the collective's counts, then its time on the NCCL stream.
void count_collective(SimResult& result, const CollectiveSchedule& schedule) {
  result.comm_bytes_per_rank += schedule.bytes_per_rank;
  result.flows += schedule.flows;
  if (schedule.algorithm == NcclAlgorithm::nvls)
    result.nvls_collectives += 1;
  else if (schedule.algorithm == NcclAlgorithm::nvls_tree)
    result.nvls_tree_collectives += 1;
  else if (schedule.algorithm == NcclAlgorithm::collnet)
    result.collnet_collectives += 1;
  else if (schedule.algorithm == NcclAlgorithm::pat)
    result.pat_collectives += 1;
  else if (schedule.algorithm == NcclAlgorithm::tree)
    result.tree_collectives += 1;
  else
    result.ring_collectives += 1;
}

void finish_collective(Shared& s, TaskId v, double start, double end) {
  s.result.comm_s += end - start;
  s.result.collectives += 1;
  s.result.task_durations[v] = end - start;
  finish(s, std::array<TaskId, 1>{v});
}

// One offload copy, issued by DeepSpeed on the stream that reduces or gathers (docs/time-model.md): node 0's
// ranks move their bytes between GPU and pinned host memory at once, over the platform's PCIe links where
// it has CPU hosts; it ends for everyone when the slowest has finished (the closing barrier).
void run_offload_copy(Shared& s, int rank, TaskId v, const s4u::BarrierPtr& group) {
  const Task& t = s.graph->graph[v];
  const OffloadModel& om = s.options->offload;
  const double start = s4u::Engine::get_clock();
  if (rank < s.local_ranks) {
    s4u::Host* gpu = s.hosts[static_cast<size_t>(rank)];
    if (s4u::Host* cpu = s.cpu_hosts[static_cast<size_t>(rank)]) {
      const auto wire = static_cast<uint64_t>(om.wire_bytes(t.bytes, t.pinned));
      const bool to_host = t.direction == TransferDirection::to_host;
      s4u::Comm::sendto_async(to_host ? gpu : cpu, to_host ? cpu : gpu, wire)->wait();
    } else {
      s4u::this_actor::sleep_for(om.copy_seconds(t.bytes, t.pinned));
    }
  }
  if (s.plans.layout.ranks > 1) group->wait();
  const double end = s4u::Engine::get_clock();
  record(s, rank, Track::pcie, t.name, start, end);
  if (rank != 0) return;
  s.result.offload_copy_s += end - start;
  s.result.offload_copy_bytes_per_rank += t.bytes;
  s.result.task_durations[v] = end - start;
  s.copy_intervals.emplace_back(start, end);
  finish(s, std::array<TaskId, 1>{v});
}

// A collective whose flows another already ran, on a network that nothing else uses meanwhile (one NCCL
// stream: see plan_replays): rank 0 alone waits out the first one's time, and speaks for every rank.
void replay_collective(Shared& s, TaskId v, const CollectiveSchedule& schedule) {
  const double start = s4u::Engine::get_clock();
  {
    const NcclSmLoad load(s, 0, schedule);
    s4u::this_actor::sleep_for(s.replayed_s[static_cast<size_t>(s.replay_of[v])]);
  }
  count_collective(s.result, schedule);
  const double end = s4u::Engine::get_clock();
  record_all_ranks(s, Track::nccl, s.graph->graph[v].name, start, end,
                   nccl_algorithm_name(schedule.algorithm));
  finish_collective(s, v, start, end);
}

// The NCCL stream of one rank: collectives in issue order, each with the algorithm the selector picks
// (collective_selector.h), its flows as planned by nccl_ring.h, nccl_tree.h or nccl_nvls.h.
void comm_actor(Shared& s, int rank, size_t stream, const std::vector<TaskId>& order,
                const s4u::BarrierPtr& group) {
  const TaskGraph& g = s.graph->graph;
  const int64_t n = s.plans.layout.ranks;
  for (TaskId v : order) {
    const bool replayed = s.replay_of[v] >= 0;
    if (replayed && rank != 0) continue;  // rank 0 replays it alone
    // Only rank 0 tracks the (identical) compute timeline; the others meet it at the start barrier.
    if (rank == 0) wait_for_inputs(s, v);
    if (replayed) {
      replay_collective(s, v, *s.schedules[v]);
      continue;
    }
    const Task& t = g[v];
    if (n > 1) group->wait();  // NCCL kernels start together
    if (t.kind == TaskKind::transfer) {
      run_offload_copy(s, rank, v, group);
      continue;
    }
    const double start = s4u::Engine::get_clock();
    double tail_s = 0;
    const char* algorithm = "";
    if (const auto& chosen = s.schedules[v]) {
      const CollectiveSchedule& schedule = *chosen;
      const NcclSmLoad load(s, rank, schedule);
      tail_s = run_collective(s, stream, rank, schedule, group);
      if (rank == 0) count_collective(s.result, schedule);
      if (rank == 0) s.replayed_s[v] = s4u::Engine::get_clock() - start;
      algorithm = nccl_algorithm_name(schedule.algorithm);
    }
    const double end = s4u::Engine::get_clock() + tail_s;
    record(s, rank, Track::nccl, t.name, start, end, algorithm);
    if (rank == 0) finish_collective(s, v, start, end);
  }
  s.rank_end[static_cast<size_t>(rank)] =
      std::max(s.rank_end[static_cast<size_t>(rank)], s4u::Engine::get_clock());
}

// A forced NCCL_ALGO that NCCL would run but zerosim cannot, and one that NCCL cannot run where it fails
// the call instead of running the ring (before 2.19.3 and from 2.24.3): both refused.
void refuse_unrunnable_forced_algorithm(const EngineOptions& options, const CollectivePlans& plans,
                                        CollectiveKind kind) {
  const CommModel& cm = options.comm;
  if (cm.algorithm == NcclAlgorithm::automatic || cm.stepwise_ring) return;
  const std::string algo = nccl_algorithm_name(cm.algorithm);
  if (const std::string unmodelled = forced_algorithm_unmodelled(cm, plans, kind, cm.algorithm);
      !unmodelled.empty())
    throw ConfigError(options.nccl_algo_file, options.nccl_algo_key,
                      algo + ": NCCL " + cm.nccl_release + " would run " + unmodelled +
                          " for this job, which zerosim does not model (allowed here: auto or ring)");
  if (cm.forced_fallback || algorithm_runs(cm, plans, kind, cm.algorithm)) return;
  throw ConfigError(
      options.nccl_algo_file, options.nccl_algo_key,
      algo + " cannot run this job's " + collective_name(kind) + " on this platform, and NCCL " +
          cm.nccl_release +
          " fails the call ('no algorithm/protocol available') instead of falling back to the "
          "ring, which it does only from 2.19.3 to 2.24.2 (versions.nccl; allowed here: auto or "
          "ring)");
}

// Which collectives replay an earlier one's time instead of running their flows. With one NCCL stream
// the network carries one collective (or one offload copy) at a time: the compute stream and NCCL's SM
// load are executions on the GPU hosts, which SimGrid shares apart from the links. A collective's time
// from its start barrier then depends only on its flows (who sends how many bytes to whom over which
// routes, every round, at which capped rate) and on what follows them in run_collective (the rounds'
// overheads, the settle latency): two collectives with the same plan, algorithm, rounds, settle latency, rate
// cap and bytes on every send take the same time, so only the first is simulated. Concurrent streams
// (collective --concurrent) share links: there every collective runs its flows.
void plan_replays(Shared& s, const std::vector<const std::vector<TaskId>*>& streams) {
  const size_t n_tasks = s.schedules.size();
  s.replay_of.assign(n_tasks, -1);
  s.replayed_s.assign(n_tasks, 0.0);
  if (streams.size() != 1) return;
  using Key =
      std::tuple<const FlowPlan*, NcclAlgorithm, bool, int64_t, double, double, std::vector<uint64_t>>;
  std::map<Key, TaskId> first;
  for (TaskId v : *streams.front()) {
    const auto& schedule = s.schedules[v];
    if (!schedule) continue;
    std::vector<uint64_t> bytes;
    for (const auto& sends : schedule->plan->sends)
      for (const auto& send : sends) bytes.push_back(schedule->wire_bytes(send));
    const auto [it, inserted] =
        first.try_emplace(Key{schedule->plan, schedule->algorithm, schedule->stepwise, schedule->rounds,
                              schedule->settle_s, schedule->min_flow_s, std::move(bytes)},
                          v);
    if (!inserted) s.replay_of[v] = static_cast<int64_t>(it->second);
  }
}

}  // namespace

SimResult run_step(const StepGraph& graph, const ComputeModel& compute, const EngineOptions& options) {
  const auto engine = options.generate_platform ? start_simgrid_engine(options.generate_platform)
                                                : start_simgrid_engine(options.platform_file);

  Shared s;
  s.graph = &graph;
  s.compute = &compute;
  s.options = &options;
  for (const auto& h : options.rank_hosts) {
    s4u::Host* host = s4u::Host::by_name_or_null(h);
    if (!host) throw std::runtime_error("platform has no host '" + h + "'");
    s.hosts.push_back(host);
  }
  for (size_t r = 0; r < s.hosts.size(); ++r) {
    const std::string name = r < options.rank_cpu_hosts.size() ? options.rank_cpu_hosts[r] : "";
    s4u::Host* cpu = name.empty() ? nullptr : s4u::Host::by_name_or_null(name);
    if (!name.empty() && !cpu) throw std::runtime_error("platform has no CPU host '" + name + "'");
    s.cpu_hosts.push_back(cpu);
  }
  s.local_ranks = std::min<int64_t>(options.gpus_per_node, static_cast<int64_t>(s.hosts.size()));
  const size_t n_tasks = boost::num_vertices(graph.graph);
  s.timeline.done.assign(n_tasks, 0);
  s.task_seconds.assign(n_tasks, 0.0);
  for (size_t v = 0; v < n_tasks; ++v) {
    const Task& t = graph.graph[v];
    if (t.kind == TaskKind::compute)
      s.task_seconds[v] = compute.seconds(graph.ops[static_cast<size_t>(t.op)]);
    else if (t.kind == TaskKind::hook)
      s.task_seconds[v] = t.hook_s;
  }
  s.result.task_durations.assign(n_tasks, 0.0);
  const auto& order = graph.compute_order;
  s.chains_into_next.assign(order.size(), 0);
  for (size_t k = 0; k + 1 < order.size(); ++k)
    s.chains_into_next[k] =
        graph.graph[order[k]].kind != TaskKind::host && graph.graph[order[k + 1]].kind != TaskKind::host &&
        boost::out_degree(order[k], graph.graph) == 1 && boost::in_degree(order[k + 1], graph.graph) == 1 &&
        boost::edge(order[k], order[k + 1], graph.graph).second;
  s.rank_end.assign(s.hosts.size(), 0.0);
  // One barrier per communicator: every collective joins all ranks of the data-parallel group.
  std::vector<const std::vector<TaskId>*> streams = {&graph.comm_order};
  for (const auto& extra : graph.extra_comm_streams) streams.push_back(&extra);
  std::vector<s4u::BarrierPtr> groups;
  for (size_t i = 0; i < streams.size(); ++i)
    groups.push_back(s4u::Barrier::create(static_cast<unsigned>(s.hosts.size())));
  s.plans = plan_collectives(static_cast<int64_t>(s.hosts.size()), options.gpus_per_node, options.nvls,
                             simgrid_routes(s.hosts), options.comm);
  s.schedules.resize(n_tasks);
  for (const auto* stream_order : streams)
    for (TaskId v : *stream_order)
      if (const Task& t = graph.graph[v];
          t.kind == TaskKind::collective && s.hosts.size() > 1 && t.bytes > 0) {
        refuse_unrunnable_forced_algorithm(options, s.plans, t.collective);
        s.schedules[v] = schedule_collective(options.comm, s.plans, t.collective, t.bytes);
      }
  plan_replays(s, streams);
  s.mailboxes.resize(streams.size());
  for (size_t i = 0; i < streams.size(); ++i)
    for (size_t r = 0; r < s.hosts.size(); ++r)
      s.mailboxes[i].push_back(s4u::Mailbox::by_name("nccl" + std::to_string(i) + "-" + std::to_string(r)));
  for (size_t r = 0; r < s.hosts.size(); ++r) {
    const int rank = static_cast<int>(r);
    if (r == 0) s4u::Actor::create("compute", s.hosts[r], [&s] { compute_actor(s); });
    for (size_t i = 0; i < streams.size(); ++i)
      s4u::Actor::create(
          "comm" + std::to_string(i) + "-" + std::to_string(r), s.hosts[r],
          [&s, rank, i, order = streams[i], group = groups[i]] { comm_actor(s, rank, i, *order, group); });
  }
  engine->run();
  for (double e : s.rank_end) s.result.step_s = std::max(s.result.step_s, e);
  // The compute stream idles while it waits for inputs and once it is done, until the step ends: the
  // part of that during which an offload copy ran is exposed offload, the rest exposed communication.
  s.compute_waits.emplace_back(s.compute_end, s.result.step_s);
  s.result.exposed_offload_copy_s = overlap_seconds(s.compute_waits, s.copy_intervals);
  const double busy = s.result.forward_s + s.result.backward_s + s.result.optimizer_s +
                      s.result.cpu_optimizer_s + s.result.overlap_slowdown_s;
  s.result.exposed_comm_s =
      std::max(0.0, s.result.step_s - busy - s.result.exposed_offload_copy_s - s.result.exposed_host_s);
  return s.result;
}

}  // namespace zerosim
