// evlog-classroom: the educational web app of docs/background.md, logging through evlog.
//   evlog-classroom seed  --database FILE [--password PW]
//   evlog-classroom serve --database FILE [--host 127.0.0.1] [--port 8080] [--token TOKEN]
//                         [--logging off|sync|async|evlog] [--served-over-tls]
//                         [--login-failures-per-user 5] [--login-failures-per-address 20]
//                         [--login-window-seconds 300]
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "seed.hpp"
#include "server.hpp"

namespace {

int run_seed(const std::string& database, const std::string& password) {
  const classroom::SeedCounts counts = classroom::seed_database(database, password);
  std::printf("seeded %s: %d users, %d tasks, %d quizzes created\n", database.c_str(), counts.users,
              counts.tasks, counts.quizzes);
  return 0;
}

int run_serve(classroom::ServerConfig config) {
  // SQLite keeps memory statistics (sqlite3_memory_used) under one mutex for the whole process,
  // taken on every allocation: the request threads' queries and evlog's writer, inserting
  // hundreds of rows per commit, would queue on it. The app reads none of them. This must come
  // before the process's first SQLite call.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

  // Block SIGINT/SIGTERM in every thread (all are started after this), and take them in one
  // thread with sigwait: no work happens in a signal handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  classroom::ClassroomServer server(config);
  const int port = server.bind();
  std::printf("evlog-classroom: listening on http://%s:%d (logging %s)\n", config.host.c_str(),
              port, std::string(classroom::to_string(config.logging)).c_str());
  std::fflush(stdout);

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    if (done.load()) return;
    std::fprintf(stderr, "evlog-classroom: signal %d, finishing in-flight requests\n", signal);
    // stop() is a no-op until the server is serving: repeat until run() has returned.
    while (!done.load()) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  server.run();
  done.store(true);
  kill(getpid(), SIGTERM);  // wakes the waiter if no signal came (it is blocked, so harmless)
  waiter.join();

  const bool complete = server.finish(std::chrono::seconds(10));
  const auto stats = server.app().analytics.stats();
  std::fprintf(stderr, "evlog-classroom: stopped; analytics %s",
               complete ? "flushed" : "NOT flushed");
  if (stats) {
    std::fprintf(stderr, " (written %llu, lost %llu, dropped %llu)",
                 static_cast<unsigned long long>(stats->written),
                 static_cast<unsigned long long>(stats->lost),
                 static_cast<unsigned long long>(stats->dropped));
  }
  std::fprintf(stderr, "\n");
  return complete ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"evlog-classroom: an educational web app whose analytics go through evlog"};
  cli.require_subcommand(1);

  std::string seed_database;
  std::string password = "classroom";
  CLI::App* seed = cli.add_subcommand("seed", "create the demo users, tasks and quizzes");
  seed->add_option("--database", seed_database, "SQLite file")->required();
  seed->add_option("--password", password, "password of every seeded user")->capture_default_str();

  classroom::ServerConfig config;
  std::string logging = "evlog";
  CLI::App* serve = cli.add_subcommand("serve", "serve the app over HTTP");
  serve->add_option("--database", config.database, "SQLite file")->required();
  serve->add_option("--host", config.host, "address to listen on")->capture_default_str();
  serve->add_option("--port", config.port, "port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve->add_option("--token", config.token,
                    "token for /metrics and /analytics (default: $EVLOG_CLASSROOM_TOKEN; "
                    "without one both answer 401)");
  serve->add_option("--logging", logging, "how analytics events are written")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "sync", "async", "evlog"}));

  serve
      ->add_option("--event-threads", config.event_threads,
                   "threads that read and write connections and serve the pages that never wait")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  serve
      ->add_option("--threads", config.threads,
                   "threads that run the requests that may wait (writes, logins, the dashboard)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  serve
      ->add_option("--connections-per-address", config.connections_per_address,
                   "open connections one client address may hold; more are closed at once")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  serve
      ->add_option("--max-connections", config.max_connections,
                   "open connections from all clients (also bounded by the open-file limit)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  serve
      ->add_option("--head-timeout-seconds", config.head_timeout_seconds,
                   "time a client has for a whole request head, and a keep-alive connection "
                   "for its next request, before it is closed")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  serve->add_flag("--served-over-tls", config.security.served_over_tls,
                  "the app is reached over HTTPS (through a TLS proxy): the session cookie is "
                  "Secure and named __Host-classroom_session, and Origin must be https://");
  int per_user = config.security.login.failures_per_user;
  int per_address = config.security.login.failures_per_address;
  int window = static_cast<int>(config.security.login.window.count());
  serve
      ->add_option("--login-failures-per-user", per_user,
                   "failed logins for one user name, per window, before 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  serve
      ->add_option("--login-failures-per-address", per_address,
                   "failed logins from one client address, per window, before 429")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  serve->add_option("--login-window-seconds", window, "the window the failures are counted in")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));

  CLI11_PARSE(cli, argc, argv);
  config.security.login.failures_per_user = per_user;
  config.security.login.failures_per_address = per_address;
  config.security.login.window = std::chrono::seconds(window);

  try {
    if (*seed) return run_seed(seed_database, password);
    if (config.token.empty()) {
      if (const char* env = std::getenv("EVLOG_CLASSROOM_TOKEN")) config.token = env;
    }
    if (!config.token.empty() && config.token.size() < classroom::kMinTokenChars) {
      std::fprintf(stderr,
                   "evlog-classroom: --token: must be at least %zu characters (it has %zu); "
                   "for example: openssl rand -hex 16\n",
                   classroom::kMinTokenChars, config.token.size());
      return 2;
    }
    config.logging = *classroom::parse_logging_mode(logging);
    return run_serve(config);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "evlog-classroom: %s\n", error.what());
    return 1;
  }
}
