#pragma once
// What /proc/cpuinfo says about this machine's CPUs: the model name and, where the kernel lists the
// topology ("physical id", "core id"), the physical cores and sockets. Without the topology (some VMs,
// some ARM kernels) only logical CPUs can be counted, and the result says so.
#include <cstdint>
#include <string>

namespace zerosim::calib::cpu {

struct CpuInfo {
  std::string model = "unknown CPU";  // the first "model name"
  int64_t logical = 0;                // "processor" entries
  int64_t physical_cores = 0;         // distinct (physical id, core id) pairs; 0: no topology listed
  int64_t sockets = 0;                // distinct physical ids; 0: no topology listed
};

CpuInfo parse_cpuinfo(const std::string& text);
CpuInfo read_cpu_info();  // /proc/cpuinfo; logical falls back to std::thread::hardware_concurrency()

}  // namespace zerosim::calib::cpu
