#pragma once
// One function per input format: what its fuzz harness (fuzz_<name>.cpp) does with one input, and
// what tests/unit/test_fuzz_regressions.cpp replays for every crash the fuzzer found. Each either
// returns or throws zerosim::ConfigError; anything else is a bug.
#include <functional>
#include <map>
#include <string>

namespace zerosim::fuzz {

void run_config(const std::string& input);      // RUN.yaml, then lines after "#--set" as --set overrides
void hf_config(const std::string& input);       // Hugging Face config.json
void ds_config(const std::string& input);       // DeepSpeed ds_config.json on the tiny model
void adapter_config(const std::string& input);  // peft adapter_config.json on a LLaMA and a Qwen model
void sweep(const std::string& input);           // SWEEP.yaml (and the text as a --shard value)
void calibration(const std::string& input);     // calibration YAML, then lookups
void platform(const std::string& input);        // platform XML through sim/platform_check
void nccl_tests(const std::string& input);      // nccl-tests output for collective --compare
void import(const std::string& input);  // a front-end's config through every `zerosim import` importer

// Harness name (tests/fuzz/corpus/<name>/) → function.
const std::map<std::string, std::function<void(const std::string&)>>& targets();

}  // namespace zerosim::fuzz
