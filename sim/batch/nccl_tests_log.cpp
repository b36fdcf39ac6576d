#include "sim/batch/nccl_tests_log.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "workloads/config_error.h"
#include "workloads/step_graph.h"

namespace zerosim {
namespace {

bool is_integer(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// A finite, non-negative number as nccl-tests prints it (e.g. 31392, 273.78, 0e+00); false otherwise.
bool to_number(const std::string& s, double& out) {
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0' && std::isfinite(out) && out >= 0;
}

}  // namespace

NcclTestsLog parse_nccl_tests_log(const std::string& text, const std::string& origin) {
  NcclTestsLog log;
  std::vector<NcclTestsRow>& rows = log.rows;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    // "#  Rank  3 Group  0 Pid ..." (or "#   Rank  3 Pid ..." in older versions): one line per rank.
    if (f.size() >= 3 && f[0] == "#" && f[1] == "Rank" && is_integer(f[2]))
      log.ranks = std::max<int64_t>(log.ranks, std::stoll(f[2]) + 1);
    if (f.size() >= 5 && f[0] == "#" && f[1] == "Collective" && f[2] == "test" && f[3] == "starting:") {
      std::string program = f[4];
      if (const auto slash = program.rfind('/'); slash != std::string::npos)
        program = program.substr(slash + 1);
      if (program.size() > 5 && program.compare(program.size() - 5, 5, "_perf") == 0)
        log.op = program.substr(0, program.size() - 5);
    }
    if (f.size() < 2 || !is_integer(f[0]) || !is_integer(f[1])) continue;  // not a result row
    const std::string where = "line " + std::to_string(number);
    // size count type [redop] [root] time algbw busbw #wrong time algbw busbw #wrong
    if (f.size() < 11)
      throw ConfigError(origin, where,
                        "an nccl-tests result row needs size, count, type and the out-of-place and in-place "
                        "columns (time algbw busbw #wrong, twice); this one has " +
                            std::to_string(f.size()) + " fields");
    const size_t k = f.size() - 8;
    double v[6];
    const size_t at[6] = {k, k + 1, k + 2, k + 4, k + 5, k + 6};
    for (int i = 0; i < 6; ++i)
      if (!to_number(f[at[i]], v[i]))
        throw ConfigError(
            origin, where,
            "'" + f[at[i]] + "' is not a time (us) or bandwidth (GB/s): expected a non-negative number");
    if (f.size() >= 12 && f[3] == "none") log.reduction_none = true;  // all_gather, broadcast, alltoall
    NcclTestsRow r;
    r.size_bytes = std::stoll(f[0]);
    r.out_time_s = v[0] * 1e-6;
    r.out_algbw_gbps = v[1];
    r.out_busbw_gbps = v[2];
    r.in_time_s = v[3] * 1e-6;
    r.in_algbw_gbps = v[4];
    r.in_busbw_gbps = v[5];
    if (r.size_bytes <= 0) continue;  // nccl-tests prints 0-byte rows for tiny -b; nothing to compare
    rows.push_back(r);
  }
  if (rows.empty())
    throw ConfigError(origin, "",
                      "no nccl-tests result rows found (lines like '  67108864  16777216  float  sum  -1  "
                      "324.6  206.73  361.78  0  ...' as all_reduce_perf prints them)");
  return log;
}

std::string collective_to_compare(const NcclTestsLog& log, const std::string& op, bool op_given,
                                  const std::string& origin) {
  if (log.op.empty()) {
    if (log.reduction_none && op == "all_reduce")
      throw ConfigError(
          origin, "redop",
          "the rows have redop 'none', so this is not all_reduce_perf output: pass --op all_gather, "
          "reduce_scatter or broadcast");
    return op;
  }
  if (!collective_kind(log.op))
    throw ConfigError(
        origin, "Collective test starting",
        "the file is " + log.op + "_perf output; zerosim simulates " + join(collective_names()));
  if (op_given && op != log.op)
    throw ConfigError(
        origin, "Collective test starting",
        "the file is " + log.op + "_perf output but --op is " + op + ": drop --op or pass --op " + log.op);
  return log.op;
}

}  // namespace zerosim
