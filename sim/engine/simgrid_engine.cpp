#include "sim/engine/simgrid_engine.h"

#include <xbt/log.h>

#include <simgrid/Exception.hpp>
#include <simgrid/s4u.hpp>

#include "sim/engine/simgrid_platform_sink.h"
#include "workloads/config_error.h"

namespace zerosim {

namespace {

std::unique_ptr<simgrid::s4u::Engine> new_engine() {
  int argc = 1;
  char name[] = "zerosim";
  char* argv[] = {name, nullptr};
  auto engine = std::make_unique<simgrid::s4u::Engine>(&argc, argv);
  xbt_log_control_set("root.thres:critical");
  simgrid::s4u::Engine::set_config("network/model:CM02");
  simgrid::s4u::Engine::set_config("network/crosstraffic:0");
  return engine;
}

}  // namespace

std::unique_ptr<simgrid::s4u::Engine> start_simgrid_engine(const std::string& platform_file) {
  auto engine = new_engine();
  // SimGrid's parser validates against its DTD, which sim/platform/platform_check does not fully
  // replicate (unknown attributes, the DOCTYPE's system id): its ParseError is bad input too, exit 2.
  try {
    engine->load_platform(platform_file);
  } catch (const simgrid::ParseError& e) {
    throw ConfigError(platform_file, "", std::string("SimGrid cannot read this platform: ") + e.what());
  }
  // DijkstraZone builds its routing graph when sealed, which run() would do; routes are queried before.
  engine->seal_platform();
  return engine;
}

std::unique_ptr<simgrid::s4u::Engine> start_simgrid_engine(
    const std::function<void(PlatformSink&)>& generate) {
  auto engine = new_engine();
  SimgridPlatformSink sink;
  generate(sink);
  sink.finish();
  engine->seal_platform();
  return engine;
}

}  // namespace zerosim
