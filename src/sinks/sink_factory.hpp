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

// Before fork(), in the parent: closes what must not be open across fork() (a SQLite
// connection); the sink opens again on its next open().
void release_for_fork(Sink& sink) noexcept;

// Shutdown's deadline: a sink whose single call may outlast it (PostgreSQL's 2 s floor) gives up
// waiting for the server at `when`. The others bound each call by db_timeout already.
void give_up_at(Sink& sink, std::chrono::steady_clock::time_point when) noexcept;

// Forgets a sink without running its destructor's clean-up, where that would touch resources a
// parent process owns (after fork()).
void abandon_sink(std::unique_ptr<Sink> sink) noexcept;

}  // namespace evlog::detail
