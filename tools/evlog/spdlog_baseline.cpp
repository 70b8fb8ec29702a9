// tools/evlog/spdlog_baseline.cpp — spdlog's async logger with a null sink; see the header.
#include "spdlog_baseline.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/null_sink.h>

namespace evlog::cli {

struct SpdlogAsyncBaseline::State {
  std::shared_ptr<spdlog::details::thread_pool> pool =
      std::make_shared<spdlog::details::thread_pool>(8192, 1);  // spdlog's defaults
  std::shared_ptr<spdlog::async_logger> logger = std::make_shared<spdlog::async_logger>(
      "evlog-bench", std::make_shared<spdlog::sinks::null_sink_mt>(), pool,
      spdlog::async_overflow_policy::block);
};

SpdlogAsyncBaseline::SpdlogAsyncBaseline() : state_(std::make_unique<State>()) {}

SpdlogAsyncBaseline::~SpdlogAsyncBaseline() {
  state_->logger->flush();
  state_->logger.reset();
  state_->pool.reset();  // the worker drains what is queued, then joins
}

void SpdlogAsyncBaseline::log(const evlog::Event& event) {
  state_->logger->info("{} {} {} {}", event.type, event.user_id.value_or(0), event.user_type,
                       event.metadata);
}

}  // namespace evlog::cli
