#pragma once
// Every key DeepSpeed reads in the ds_config.json blocks zerosim reads, and what zerosim does with it:
// modelled, no effect on time or memory, or accepted only at DeepSpeed's default (other values change
// traffic or memory in ways zerosim does not model yet, so they are refused). docs/inputs.md lists them.
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace zerosim {

enum class DsKeyUse {
  modelled,      // read by deepspeed_config.cpp
  no_effect,     // no effect on step time or memory
  default_only,  // `accepted` values only (DeepSpeed's default); others refused with `why`
  if_enabled,    // a block refused (with `why`) when its "enabled" is true
  refused,       // refused whenever present (with `why`)
};

struct DsKey {
  const char* name;
  DsKeyUse use;
  const char* accepted = "";  // default_only: "|"-separated values (true, false, numbers, null)
  const char* why = "";
};

// The tables: top level, zero_optimization, offload_param, offload_optimizer, bf16, fp16.
const std::vector<DsKey>& ds_top_level_keys();
const std::vector<DsKey>& ds_zero_keys();
const std::vector<DsKey>& ds_offload_param_keys();
const std::vector<DsKey>& ds_offload_optimizer_keys();
const std::vector<DsKey>& ds_bf16_keys();
const std::vector<DsKey>& ds_fp16_keys();

// Refuses unknown keys (naming the closest known one) and values the table does not accept.
// `prefix` is the dotted path of `block` ("zero_optimization."), "" at the top level.
void check_ds_block(const YAML::Node& block, const std::vector<DsKey>& table, const std::string& file,
                    const std::string& prefix);

}  // namespace zerosim
