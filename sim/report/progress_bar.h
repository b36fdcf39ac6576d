#pragma once
// Progress of a long batch on stderr: done/total, rate and ETA. On a terminal one line is redrawn in
// place (`\r`); otherwise (a log file, a SLURM job's output) a plain line is printed every few
// seconds, so logs stay readable.
#include <chrono>
#include <cstdio>
#include <string>

namespace zerosim {

class ProgressBar {
 public:
  // `total` items to do in this run; `label` starts every line ("sweep").
  ProgressBar(std::string label, size_t total, std::FILE* out = stderr);
  void advance();  // one more item done
  void finish();   // the final line (and the newline a redrawn bar needs)
  double elapsed_s() const;

 private:
  void draw(bool final);

  std::string label_;
  size_t total_;
  size_t done_ = 0;
  std::FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "0:37", "1:02:05"
std::string format_duration(double seconds);

}  // namespace zerosim
