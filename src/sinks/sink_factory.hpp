// Chooses the sink a logger writes through, from Options.
#pragma once

#include <chrono>
#include <memory>

#include "evlog/options.hpp"
#include "evlog/sink.hpp"

namespace evlog::detail {

// Options::make_sink when set; otherwise the sink `database` names (a SQLite file path).
// Throws evlog::Error for a database string no sink understands.
std::unique_ptr<Sink> make_sink(const Options& options);

// After fork(), in the child: Sink::abandon(), then the sink is leaked without its destructor,
// which would touch resources the parent process owns.
void abandon_sink(std::unique_ptr<Sink> sink) noexcept;

}  // namespace evlog::detail
