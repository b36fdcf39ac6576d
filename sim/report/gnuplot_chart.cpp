#include "sim/report/gnuplot_chart.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
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
  for (char c : text) q += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return q + "\"";
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

void render(const LineChart& c, const std::string& out) {
  std::ostringstream s;
  s << terminal_for(out) << "\n"
    << "set output " << quoted(out) << "\n"
    << "set title " << quoted(c.title) << " noenhanced\n"
    << "set xlabel " << quoted(c.x_label) << " noenhanced\n"
    << "set ylabel " << quoted(c.y_label) << " noenhanced\n"
    << "set key outside right top noenhanced\nset grid\n";
  if (c.log_x) s << "set logscale x 2\n";
  for (size_t i = 0; i < c.series.size(); ++i) {
    s << "$s" << i << " << EOD\n";
    for (const auto& [x, y] : c.series[i].points) s << x << " " << y << "\n";
    s << "EOD\n";
  }
  s << "plot ";
  for (size_t i = 0; i < c.series.size(); ++i)
    s << (i ? ", " : "") << "$s" << i << " using 1:2 with linespoints lw 2 pt 7 lc rgb " << quoted(colour(i))
      << " title " << quoted(c.series[i].label);
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
