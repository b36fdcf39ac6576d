#include "sim/report/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace zerosim {

namespace {
using Clock = std::chrono::steady_clock;
// Redraw a terminal bar at most this often; print a log line at most this often.
constexpr double kTtyRedrawS = 0.1;
constexpr double kLogLineS = 5.0;
}  // namespace

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

ProgressBar::ProgressBar(std::string label, size_t total, std::FILE* out)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      tty_(isatty(fileno(out)) != 0),
      start_(Clock::now()),
      last_draw_(start_) {
  if (tty_) draw(false);
}

double ProgressBar::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void ProgressBar::advance() {
  ++done_;
  const double since = std::chrono::duration<double>(Clock::now() - last_draw_).count();
  if (since >= (tty_ ? kTtyRedrawS : kLogLineS) || (tty_ && done_ == total_)) draw(false);
}

void ProgressBar::finish() { draw(true); }

void ProgressBar::draw(bool final) {
  last_draw_ = Clock::now();
  const double t = elapsed_s();
  const double rate = t > 0 ? static_cast<double>(done_) / t : 0.0;
  char figures[160];
  if (final)
    std::snprintf(figures, sizeof figures, "%zu/%zu points in %.1f s, %.2f points/s", done_, total_, t, rate);
  else
    std::snprintf(figures, sizeof figures, "%zu/%zu points, %.2f points/s, ETA %s", done_, total_, rate,
                  rate > 0 ? format_duration(static_cast<double>(total_ - done_) / rate).c_str() : "?");
  std::string line;
  if (tty_) {
    constexpr size_t width = 30;
    const size_t filled = total_ ? done_ * width / total_ : width;
    line = "\r" + label_ + " [" + std::string(filled, '#') + std::string(width - filled, '.') + "] " +
           figures + "\033[K" + (final ? "\n" : "");
  } else {
    line = label_ + ": " + figures + "\n";
  }
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

}  // namespace zerosim
