// DatabaseName: the back end is chosen by the explicit form of Options::database, never by a
// guess from its text; an unknown scheme is refused naming the forms evlog knows, without
// repeating the string (it may hold a password).
#include "core/database_name.hpp"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "evlog/evlog.hpp"
#include "test_support.hpp"

namespace {

using evlog::detail::DatabaseName;
using evlog::detail::parse_database_name;
using evlog_test::count_rows;
using evlog_test::kLongWait;
using evlog_test::options_for;
using evlog_test::TempDir;

std::string refusal(const std::string& database) {
  try {
    (void)parse_database_name(database);
  } catch (const evlog::Error& e) {
    return e.what();
  }
  return {};
}

TEST(DatabaseName, ABarePathIsSqliteWhateverItHolds) {
  for (const std::string path : {"analytics.db", "/var/lib/app/analytics.db", "dbname=x.db",
                                 "host=db.internal", "a:b.db", "./postgresql", "file.db?x=1"}) {
    const DatabaseName name = parse_database_name(path);
    EXPECT_EQ(name.kind, DatabaseName::Kind::sqlite) << path;
    EXPECT_EQ(name.target, path);
  }
}

TEST(DatabaseName, TheSqlitePrefixNamesAFile) {
  const DatabaseName name = parse_database_name("sqlite:postgresql.db");
  EXPECT_EQ(name.kind, DatabaseName::Kind::sqlite);
  EXPECT_EQ(name.target, "postgresql.db");
}

TEST(DatabaseName, PostgresqlUrisAndThePrefixedKeyValueForm) {
  if (!evlog::detail::built_with_postgres()) {
    EXPECT_NE(refusal("postgresql://h/db").find("no PostgreSQL support"), std::string::npos);
    return;
  }
  for (const std::string uri :
       {"postgresql://app:pw@db.internal:5432/classroom?sslmode=require", "postgres://db/x"}) {
    const DatabaseName name = parse_database_name(uri);
    EXPECT_EQ(name.kind, DatabaseName::Kind::postgres) << uri;
    EXPECT_EQ(name.target, uri);
  }
  const DatabaseName kv = parse_database_name("postgresql:host=db dbname=classroom");
  EXPECT_EQ(kv.kind, DatabaseName::Kind::postgres);
  EXPECT_EQ(kv.target, "host=db dbname=classroom");
}

TEST(DatabaseName, AnUnknownSchemeIsRefusedNamingTheKnownForms) {
  const std::string message = refusal("mysql://app:hunter2@db/x");
  EXPECT_NE(message.find("Options::database: the scheme 'mysql://' is not one evlog knows"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("postgresql://"), std::string::npos) << message;
  EXPECT_NE(message.find("sqlite:PATH"), std::string::npos) << message;
  EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
}

// The Logger itself, and validate_options(), follow the rule: a file named "dbname=x.db" is a
// SQLite file (it once went to a PostgreSQL server), and an unknown scheme is an evlog::Error.
TEST(DatabaseName, TheLoggerWritesAFileNamedLikeAConnectionString) {
  TempDir dir;
  const std::string path = dir.file("dbname=x.db");
  {
    evlog::Logger logger(options_for(path));
    ASSERT_TRUE(logger.log({"page_view", 1, "", ""}).ok());
    ASSERT_TRUE(logger.flush(kLongWait));
  }
  EXPECT_EQ(count_rows(path), 1);
  evlog::Options options = options_for(dir.file("unused.db"));
  options.database = "sqlite:" + dir.file("prefixed.db");
  {
    evlog::Logger logger(options);
    ASSERT_TRUE(logger.log({"page_view", 1, "", ""}).ok());
  }
  EXPECT_EQ(count_rows(dir.file("prefixed.db")), 1);
  options.database = "mysql://db/x";
  EXPECT_THROW(evlog::validate_options(options), evlog::Error);
  EXPECT_THROW(evlog::Logger logger(options), evlog::Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("unused.db")));
}

}  // namespace
