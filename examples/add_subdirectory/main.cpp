// subproject_app DB — logs one event into DB through evlog built as a subproject without
// PostgreSQL, and checks that a PostgreSQL URI is refused with a clear evlog::Error.
#include <cstdio>
#include <cstring>
#include <evlog/evlog.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DATABASE\n", argv[0]);
    return 2;
  }
  evlog::Options options;
  options.database = argv[1];
  {
    evlog::Logger logger(options);
    const evlog::Result r = logger.log(
        {.type = "page_view", .user_id = 1, .user_type = "student", .metadata = R"({"path":"/"})"});
    if (!r.ok() || !logger.flush(std::chrono::seconds(10))) return 1;
  }
  options.database = "postgresql://app@db.internal/classroom";
  try {
    evlog::Logger logger(options);
    std::fprintf(stderr, "a PostgreSQL URI was accepted by a build without PostgreSQL\n");
    return 1;
  } catch (const evlog::Error& e) {
    if (std::strstr(e.what(), "no PostgreSQL support") == nullptr) {
      std::fprintf(stderr, "unexpected message: %s\n", e.what());
      return 1;
    }
  }
  std::puts("logged one event; a PostgreSQL URI is refused");
  return 0;
}
