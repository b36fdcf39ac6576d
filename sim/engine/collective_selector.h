#pragma once
// Chooses the NCCL algorithm for each collective as NCCL's tuner does (src/graph/tuning.cc: predicted
// time = latency + bytes / bandwidth, the lowest wins), from the plans of every algorithm on this
// platform's routes; honours a forced NCCL_ALGO, falling back to the ring where it cannot run and the
// NCCL release does (forced_fallback; the engine refuses the rest).
#include <cstdint>
#include <string>

#include "sim/engine/collective_plan.h"
#include "sim/engine/comm_model.h"
#include "workloads/step_graph.h"

namespace zerosim {

// Every algorithm's flows for one communicator, planned once per simulation.
struct CollectivePlans {
  RankLayout layout;
  bool nvls_capable = false;  // the node's NVSwitch reduces in-network (H100/H200 SXM)
  FlowPlan ring;
  FlowPlan tree;  // multi-node layouts only
  int64_t tree_steps = 0;
  FlowPlan nvls_tree;  // multi-node layouts of full NVLS-capable nodes only (nvls_tree_possible)
  FlowPlan collnet;    // multi-node layouts of full nodes with in-network reduction only (collnet_possible)
  FlowPlan nvls_collnet;  // the same on NVLS-capable nodes of more than two GPUs: multi-node NVLS
};
// `cm` gives the efficiencies the plans weigh node-leaving and NVLS flows by.
CollectivePlans plan_collectives(int64_t ranks, int64_t gpus_per_node, bool nvls_capable,
                                 const RouteOf& route_of, const CommModel& cm = {});

// Ring, tree, NVLS or NVLSTree for a `bytes`-byte collective on more than one rank. NVLS only for an
// all-reduce on more than two ranks inside one NVLS-capable node, the tree only for a multi-node
// all-reduce, NVLSTree only for a multi-node all-reduce on full NVLS-capable nodes of more than two
// GPUs; the stepwise ring validation mode always runs the ring.
NcclAlgorithm choose_algorithm(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                               int64_t bytes);

// Whether `algorithm` can run for a `kind` collective on these plans with this NCCL release (the ring
// always can). A forced NCCL_ALGO that cannot run falls back to the ring in NCCL 2.19.3-2.24.2 and fails
// the call before and after (CommModel::forced_fallback).
bool algorithm_runs(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                    NcclAlgorithm algorithm);

// Where NCCL would run `algorithm`, forced, for a `kind` collective that zerosim has no model of, what
// it would run (else ""): NVLS's all-gather and reduce-scatter inside one NVLS-capable node
// (src/device/all_gather.h and reduce_scatter.h, RunWorkColl NVLS, NCCL 2.17.1+), and the tree
// all-reduce inside one node (NCCL builds its tree there too). Running the ring instead would be a
// silent wrong answer, so the engine refuses these.
std::string forced_algorithm_unmodelled(const CommModel& cm, const CollectivePlans& plans,
                                        CollectiveKind kind, NcclAlgorithm algorithm);

// The chosen algorithm's schedule for that collective (it points into `plans`).
CollectiveSchedule schedule_collective(const CommModel& cm, const CollectivePlans& plans, CollectiveKind kind,
                                       int64_t bytes);

}  // namespace zerosim
