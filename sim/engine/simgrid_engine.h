#pragma once
// The one place a SimGrid engine is created: every simulation (`simulate`, `collective`, sweeps) and
// `platform --check` load their platform through it, so they see the same network model.
#include <functional>
#include <memory>
#include <string>

#include "sim/platform/platform_sink.h"

namespace simgrid::s4u {
class Engine;
}

namespace zerosim {

// Creates the process's SimGrid engine (one per process: SimGrid's rule) with plain max-min sharing
// and the platform's own numbers (CM02, no cross-traffic, no TCP factors), loads `platform_file` and
// seals it so routes can be queried before run(). A file SimGrid's parser rejects is a ConfigError.
std::unique_ptr<simgrid::s4u::Engine> start_simgrid_engine(const std::string& platform_file);
// The same engine with a generated platform built in memory: `generate` emits it into a
// SimgridPlatformSink (no XML file, routes by ShortestPathZone).
std::unique_ptr<simgrid::s4u::Engine> start_simgrid_engine(
    const std::function<void(PlatformSink&)>& generate);

}  // namespace zerosim
