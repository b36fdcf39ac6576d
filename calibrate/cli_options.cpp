#include "calibrate/cli_options.h"

#include <algorithm>
#include <charconv>

namespace zerosim::calib {

namespace {

int64_t parse_positive(const std::string& flag, const std::string& text, int64_t max) {
  int64_t v = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || v <= 0 || v > max)
    throw UsageError(flag + ": '" + text + "' is not an integer in 1.." + std::to_string(max));
  return v;
}

std::vector<int64_t> parse_list(const std::string& flag, const std::string& text, int64_t max) {
  std::vector<int64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    out.push_back(parse_positive(flag, item, max));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::string usage_text() {
  return R"(usage: zerosim-calibrate --backend cuda|cpu [options]
       zerosim-calibrate --host-only [--quick] [--repeats N] [--warmup N] [--out FILE]

Times the operations of a LoRA/DoRA training step at a model's own shapes on this machine
and writes a calibration file that `zerosim simulate` reads (docs/calibration.md).

  --backend cuda|cpu   cuda: this machine's GPU (bf16, cuBLAS + zerosim's kernels);
                       cpu: this machine's CPU (fp32, OpenBLAS) - the file says it timed a CPU
  --model M            preset name or a Hugging Face config.json (default llama2-7b)
  --tokens LIST        tokens per micro-batch T = micro_batch*seq_len (default 512,2048,8192)
  --ranks LIST         LoRA/DoRA ranks r (default 8,16,64)
  --seq-lens LIST      attention sequence lengths, each timed at every T it divides
                       (default: the --tokens values)
  --copy-mib LIST      sizes of the device-to-device copy in MiB (default 64,256,1024)
  --out FILE           output file (default calibration.yaml)
  --repeats N          timed runs per point, median recorded (default 10; 3 with --quick)
  --warmup N           untimed runs before timing (default 2; 1 with --quick)
  --device N           CUDA device index (default 0)
  --quick              one token count (the smallest), one rank (16 if requested, else the
                       smallest), one copy size: a first look in minutes
  --no-composites      skip the whole-module dora_fwd/dora_bwd checks
  --no-host            skip the host measurement (see below)
  --host-only          measure only the host: no --backend, no op timings; the file has
                       a host: section alone and serves a run on any GPU
  --help               this text

Host: with either backend (unless --no-host) the file also gets a host: section measured on
this machine's CPU: DeepSpeedCPUAdam's fp32 loop on one thread and on every thread, and a
triad for the memory bandwidth (64 Mi elements, 16 Mi with --quick; seconds). A simulated
run with CPU offload takes its CPU figures from it instead of the host catalogue.

Exit codes: 0 ok, 2 bad usage or no usable device for the backend, 1 internal error.
)";
}

CliOptions parse_cli(const std::vector<std::string>& args) {
  CliOptions o;
  bool repeats_set = false, warmup_set = false, copy_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UsageError(a + ": missing value (see --help)");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--backend") {
      o.backend = value();
      if (o.backend != "cuda" && o.backend != "cpu")
        throw UsageError("--backend: '" + o.backend + "' is not a backend; allowed: cuda, cpu");
    } else if (a == "--model") {
      o.model = value();
    } else if (a == "--tokens") {
      o.tokens = parse_list(a, value(), int64_t{1} << 24);
    } else if (a == "--ranks") {
      o.ranks = parse_list(a, value(), 4096);
    } else if (a == "--seq-lens") {
      o.seq_lens = parse_list(a, value(), int64_t{1} << 20);
    } else if (a == "--copy-mib") {
      o.memcpy_bytes.clear();
      copy_set = true;
      for (int64_t mib : parse_list(a, value(), 1 << 16)) o.memcpy_bytes.push_back(mib << 20);
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--repeats") {
      o.repeats = static_cast<int>(parse_positive(a, value(), 100000));
      repeats_set = true;
    } else if (a == "--warmup") {
      const std::string& v = value();
      o.warmup = v == "0" ? 0 : static_cast<int>(parse_positive(a, v, 1000));
      warmup_set = true;
    } else if (a == "--device") {
      const std::string& v = value();
      o.device = v == "0" ? 0 : static_cast<int>(parse_positive(a, v, 1024));
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--no-composites") {
      o.composites = false;
    } else if (a == "--no-host") {
      o.host = false;
    } else if (a == "--host-only") {
      o.host_only = true;
    } else {
      throw UsageError(
          "unknown argument '" + a +
          "'; allowed: --backend, --model, --tokens, --ranks, --seq-lens, "
          "--copy-mib, --out, --repeats, --warmup, --device, --quick, --no-composites, --no-host, "
          "--host-only, --help");
    }
  }
  if (o.help) return o;
  if (o.host_only && !o.host)
    throw UsageError("--host-only and --no-host: the file would be empty; drop one");
  if (o.backend.empty() && !o.host_only)
    throw UsageError("--backend: missing; allowed: cuda, cpu (or --host-only)");
  if (o.quick) {
    o.tokens = {o.tokens.front()};
    const bool has16 = std::find(o.ranks.begin(), o.ranks.end(), 16) != o.ranks.end();
    o.ranks = {has16 ? 16 : o.ranks.front()};
    if (!copy_set) o.memcpy_bytes = {int64_t{256} << 20};
    if (!repeats_set) o.repeats = 3;
    if (!warmup_set) o.warmup = 1;
  }
  if (o.seq_lens.empty()) o.seq_lens = o.tokens;
  return o;
}

}  // namespace zerosim::calib
