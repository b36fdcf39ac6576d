#pragma once
// The memory part of the report: §4 JSON keys and a table for people.
#include <nlohmann/json.hpp>
#include <string>

#include "workloads/memory_model.h"
#include "workloads/param_inventory.h"

namespace zerosim {

nlohmann::json params_json(const ParamCounts& p);
nlohmann::json memory_json(const MemoryResult& m);  // with "host" where CPU offload uses host RAM
nlohmann::json host_memory_json(const HostMemory& h);
std::string host_memory_table(const HostMemory& h);
std::string memory_table(const RunConfig& c, const ParamCounts& p, const MemoryResult& m);
std::string run_title(const RunConfig& c);   // one line naming model, PEFT, ZeRO, cluster, batch
std::string peft_title(const RunConfig& c);  // "DoRA r=16 (q_proj,v_proj)" or "full fine-tuning"

}  // namespace zerosim
