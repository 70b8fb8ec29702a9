#include "sinks/sink_factory.hpp"

#include "core/database_name.hpp"
#include "evlog/error.hpp"
#include "sinks/sqlite/sqlite_sink.hpp"
#if EVLOG_WITH_POSTGRES
#include "sinks/postgres/postgres_sink.hpp"
#endif
#if EVLOG_WITH_CLICKHOUSE
#include "sinks/clickhouse/clickhouse_sink.hpp"
#endif

namespace evlog::detail {

std::unique_ptr<Sink> make_sink(const Options& options) {
  if (options.make_sink) {
    auto sink = options.make_sink();
    if (!sink) throw Error("Options::make_sink returned no sink");
    return sink;
  }
  DatabaseName name = parse_database_name(options.database);
#if EVLOG_WITH_POSTGRES
  if (name.kind == DatabaseName::Kind::postgres) {
    return std::make_unique<PostgresSink>(std::move(name.target), options.table,
                                          options.db_timeout);
  }
#endif
#if EVLOG_WITH_CLICKHOUSE
  if (name.kind == DatabaseName::Kind::clickhouse) {
    return std::make_unique<ClickHouseSink>(name.target, options.table, options.db_timeout);
  }
#endif
  return std::make_unique<SqliteSink>(std::move(name.target), options.table, options.durability,
                                      options.db_timeout);
}

void abandon_sink(std::unique_ptr<Sink> sink) noexcept {
  if (!sink) return;
  sink->abandon();
  // Released without its destructor, so that nothing of the parent's is closed.
  (void)sink.release();
}

}  // namespace evlog::detail
