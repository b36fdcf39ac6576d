#include "sim/report/gnuplot_chart.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "workloads/config_error.h"

namespace zerosim {

namespace {

std::string terminal_for(const std::string& out) {
  auto ends = [&](const std::string& ext) {
    return out.size() >= ext.size() && out.compare(out.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (ends(".svg"))
    return "set terminal svg size 900,560 dynamic enhanced font 'Helvetica,13' background '#ffffff'";
  if (ends(".png")) return "set terminal pngcairo size 1100,680 enhanced font 'Helvetica,12'";
  throw ConfigError("-o", out, "output must end in .svg or .png");
}

// Ten distinguishable colours (gnuplot's default cycle repeats after eight).
const char* colour(size_t i) {
  static const char* palette[] = {"#4e79a7", "#59a14f", "#9c755f", "#f28e2b", "#edc948",
                                  "#76b7b2", "#e15759", "#79706e", "#b07aa1", "#ff9da7"};
  return palette[i % 10];
}

std::string quoted(const std::string& text) {
  std::string q = "\"";
  for (char c : text)
    q += c == '\n' ? std::string("\\n") : (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return q + "\"";
}

// Marker and dash per series: filled and open shapes alternate (gnuplot's pt 7 filled circle, 4 open
// square, 9 filled triangle, 6 open circle, 13 filled diamond, 8 open triangle, 5 filled square, 12 open
// diamond) and dt 1-5 are solid, dashed, dotted, dash-dot, dash-dot-dot. Later series draw smaller
// markers, so a point hidden under a later one still shows around it.
std::string series_style(size_t i) {
  static const int point_types[] = {7, 4, 9, 6, 13, 8, 5, 12};
  std::ostringstream s;
  s << "with linespoints lw 2 pt " << point_types[i % 8] << " ps " << std::max(0.8, 1.8 - 0.3 * double(i % 8))
    << " dt " << i % 5 + 1 << " lc rgb " << quoted(colour(i));
  return s.str();
}

std::string title_line(const std::string& title) {
  return "set title " + quoted(join(wrapped(title), "\n")) + " noenhanced\n";
}

// Ticks at the x values themselves, when there are few enough to read.
std::string x_ticks(const LineChart& c) {
  std::set<double> xs;
  for (const auto& s : c.series)
    for (const auto& [x, y] : s.points) xs.insert(x);
  if (xs.empty() || xs.size() > 16) return "";
  std::ostringstream t;
  t << "set xtics (";
  for (auto it = xs.begin(); it != xs.end(); ++it) t << (it == xs.begin() ? "" : ", ") << *it;
  t << ")\n";
  return t.str();
}

bool no_negative_y(const LineChart& c) {
  for (const auto& s : c.series)
    for (const auto& [x, y] : s.points)
      if (y < 0) return false;
  return true;
}

void run_gnuplot(const std::string& script, const std::string& out) {
  char path[] = "/tmp/zerosim-plot-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("cannot create a temporary gnuplot script");
  close(fd);
  std::ofstream(path) << script;
  const std::string cmd = std::string("gnuplot ") + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string output;
  if (p) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) output += buf;
  }
  const int status = p ? pclose(p) : -1;
  std::remove(path);
  if (status != 0)
    throw std::runtime_error("gnuplot failed drawing " + out +
                             " (is gnuplot-nox installed? scripts/setup.sh): " + output);
}

}  // namespace

void check_chart_path(const std::string& out) { terminal_for(out); }

bool log2_x_axis(const LineChart& c) {
  double lo = 0, hi = 0;
  for (const auto& s : c.series)
    for (const auto& [x, y] : s.points) {
      int exponent = 0;
      if (!(x > 0) || std::frexp(x, &exponent) != 0.5) return false;  // x = 0.5 * 2^exponent exactly
      lo = lo == 0 ? x : std::min(lo, x), hi = std::max(hi, x);
    }
  return lo > 0 && hi / lo >= 16;
}

std::vector<std::string> wrapped(const std::string& text, size_t width) {
  // The parts between the ", " outside parentheses, each with its comma.
  std::vector<std::string> parts(1);
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
    parts.back() += text[i];
    if (depth == 0 && text.compare(i, 2, ", ") == 0) parts.emplace_back(), ++i;
  }
  std::vector<std::string> lines(1);
  for (const auto& part : parts) {
    if (!lines.back().empty() && lines.back().size() + 1 + part.size() > width)
      lines.emplace_back(part);
    else
      lines.back() += (lines.back().empty() ? "" : " ") + part;
  }
  return lines;
}

void render(const LineChart& c, const std::string& out) {
  std::ostringstream s;
  const bool log_x = log2_x_axis(c);
  s << terminal_for(out) << "\nset encoding utf8\n"
    << "set output " << quoted(out) << "\n"
    << title_line(c.title) << "set xlabel " << quoted(c.x_label + (log_x ? " (log₂ scale)" : ""))
    << " noenhanced\n"
    << "set ylabel " << quoted(c.y_label) << " noenhanced\n"
    << "set key outside right top noenhanced\nset grid\n"
    << x_ticks(c);
  if (log_x) s << "set logscale x 2\n";
  if (no_negative_y(c)) s << "set yrange [0:*]\n";
  s << "set offsets graph 0.04, graph 0.04, graph 0.04, 0\n";  // the first and last x ticks off the border
  for (size_t i = 0; i < c.series.size(); ++i) {
    s << "$s" << i << " << EOD\n";
    for (const auto& [x, y] : c.series[i].points) s << x << " " << y << "\n";
    s << "EOD\n";
  }
  s << "plot ";
  for (size_t i = 0; i < c.series.size(); ++i)
    s << (i ? ", " : "") << "$s" << i << " using 1:2 " << series_style(i) << " title "
      << quoted(c.series[i].label);
  if (c.series.empty()) s << "NaN notitle";
  s << "\n";
  run_gnuplot(s.str(), out);
}

void render(const StackedBars& c, const std::string& out) {
  std::ostringstream s;
  s << terminal_for(out) << "\n"
    << "set output " << quoted(out) << "\n"
    << "set title " << quoted(c.title) << " noenhanced\n"
    << "set ylabel " << quoted(c.y_label) << " noenhanced\n"
    << "set style data histograms\nset style histogram rowstacked\nset style fill solid 0.85 border -1\n"
    << "set boxwidth 0.7\nset key outside right top noenhanced\nset grid ytics\nset xtics rotate by -30 "
       "noenhanced\n";
  s << "$d << EOD\n";
  for (size_t i = 0; i < c.categories.size(); ++i) {
    s << quoted(c.categories[i]);
    for (double v : c.values[i]) s << " " << v;
    s << "\n";
  }
  s << "EOD\nplot ";
  for (size_t k = 0; k < c.components.size(); ++k)
    s << (k ? ", " : "") << "$d using " << k + 2 << (k == 0 ? ":xtic(1)" : "") << " lc rgb "
      << quoted(colour(k)) << " title " << quoted(c.components[k]);
  s << "\n";
  run_gnuplot(s.str(), out);
}

}  // namespace zerosim
