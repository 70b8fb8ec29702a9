// tools/evlog/spdlog_baseline.hpp — the baseline a C++ user would reach for: spdlog's async logger
// (its own worker thread and bounded queue, 8,192 slots, blocking when full) with a null sink, so
// that only the cost of handing a message over is measured. Keeps spdlog out of other files.
#pragma once

#include <evlog/event.hpp>
#include <memory>

namespace evlog::cli {

class SpdlogAsyncBaseline {
 public:
  SpdlogAsyncBaseline();
  ~SpdlogAsyncBaseline();  // drains the queue and joins the worker
  SpdlogAsyncBaseline(const SpdlogAsyncBaseline&) = delete;
  SpdlogAsyncBaseline& operator=(const SpdlogAsyncBaseline&) = delete;

  // Formats the event's fields into one info-level message and queues it. Any thread.
  void log(const evlog::Event& event);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace evlog::cli
