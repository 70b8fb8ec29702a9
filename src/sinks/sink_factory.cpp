#include "sinks/sink_factory.hpp"

#include "evlog/error.hpp"
#include "sinks/postgres/postgres_sink.hpp"
#include "sinks/sqlite/sqlite_sink.hpp"

namespace evlog::detail {

namespace {

bool names_postgres(const std::string& database) {
  return database.starts_with("postgresql://") || database.starts_with("postgres://") ||
         database.find("dbname=") != std::string::npos ||
         database.find("host=") != std::string::npos;
}

}  // namespace

std::unique_ptr<Sink> make_sink(const Options& options) {
  if (options.make_sink) {
    auto sink = options.make_sink();
    if (!sink) throw Error("Options::make_sink returned no sink");
    return sink;
  }
  if (names_postgres(options.database)) {
    return std::make_unique<PostgresSink>(options.database, options.table, options.db_timeout);
  }
  return std::make_unique<SqliteSink>(options.database, options.table, options.durability,
                                      options.db_timeout);
}

void release_for_fork(Sink& sink) noexcept {
  if (auto* sqlite = dynamic_cast<SqliteSink*>(&sink)) sqlite->close_for_fork();
}

void give_up_at(Sink& sink, std::chrono::steady_clock::time_point when) noexcept {
  if (auto* postgres = dynamic_cast<PostgresSink*>(&sink)) postgres->give_up_at(when);
}

void abandon_sink(std::unique_ptr<Sink> sink) noexcept {
  if (auto* sqlite = dynamic_cast<SqliteSink*>(sink.get())) sqlite->abandon();
  if (auto* postgres = dynamic_cast<PostgresSink*>(sink.get())) postgres->abandon();
  // A sink of the user's own (Options::make_sink) is theirs to make fork-safe; it is released
  // without its destructor, like the built-in ones, so nothing of the parent's is closed.
  (void)sink.release();
}

}  // namespace evlog::detail
