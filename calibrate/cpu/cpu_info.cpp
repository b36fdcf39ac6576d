#include "calibrate/cpu/cpu_info.h"

#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

namespace zerosim::calib::cpu {

namespace {

// "key<tabs>: value" → (key, value); false for lines without a colon (the blank line between CPUs).
bool split_field(const std::string& line, std::string& key, std::string& value) {
  const auto colon = line.find(':');
  if (colon == std::string::npos) return false;
  key = line.substr(0, colon);
  while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
  value = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
  return true;
}

}  // namespace

CpuInfo parse_cpuinfo(const std::string& text) {
  CpuInfo info;
  std::set<std::pair<std::string, std::string>> cores;
  std::set<std::string> sockets;
  std::string socket, core;
  bool model_seen = false;
  auto end_processor = [&] {
    if (!socket.empty() && !core.empty()) cores.emplace(socket, core);
    if (!socket.empty()) sockets.insert(socket);
    socket.clear(), core.clear();
  };
  std::istringstream in(text);
  std::string line, key, value;
  while (std::getline(in, line)) {
    if (!split_field(line, key, value)) continue;
    if (key == "processor") {
      end_processor();
      ++info.logical;
    } else if (key == "model name" && !model_seen) {
      info.model = value;
      model_seen = true;
    } else if (key == "physical id") {
      socket = value;
    } else if (key == "core id") {
      core = value;
    }
  }
  end_processor();
  info.physical_cores = static_cast<int64_t>(cores.size());
  info.sockets = static_cast<int64_t>(sockets.size());
  return info;
}

CpuInfo read_cpu_info() {
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  CpuInfo info = parse_cpuinfo(text.str());
  if (info.logical == 0) info.logical = static_cast<int64_t>(std::thread::hardware_concurrency());
  return info;
}

}  // namespace zerosim::calib::cpu
