// private_files_probe — run by fault_test as an unprivileged user (setpriv --reuid=65534) to show
// that evlog's files are private (R21). Root ignores file modes, so this must not run as root.
//
//   private_files_probe open PATH...  exit 0 when every PATH is refused (EACCES) for reading (a
//                                     directory: for listing); 1 when one can be read.
//   private_files_probe logger DB     exit 0 when a Logger on DB throws evlog::Error; else 1.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "evlog/evlog.hpp"

int main(int argc, char** argv) {
  if (::geteuid() == 0) {
    std::fprintf(stderr, "private_files_probe: refusing to run as root (modes mean nothing)\n");
    return 2;
  }
  if (argc >= 3 && std::strcmp(argv[1], "open") == 0) {
    int readable = 0;
    for (int i = 2; i < argc; ++i) {
      const int fd = ::open(argv[i], O_RDONLY | O_CLOEXEC);
      bool denied = fd < 0 && errno == EACCES;
      if (fd >= 0) {
        if (DIR* d = ::fdopendir(fd)) {
          ::closedir(d);  // a directory we could open for listing
        } else {
          ::close(fd);
        }
      }
      std::printf("%s: %s\n", argv[i], denied ? "denied" : "READABLE");
      if (!denied) ++readable;
    }
    return readable == 0 ? 0 : 1;
  }
  if (argc == 3 && std::strcmp(argv[1], "logger") == 0) {
    try {
      evlog::Options options;
      options.database = argv[2];
      evlog::Logger logger(options);
      std::printf("a logger opened %s\n", argv[2]);
      return 1;
    } catch (const evlog::Error& e) {
      std::printf("refused: %s\n", e.what());
      return 0;
    }
  }
  std::fprintf(stderr, "usage: %s open PATH... | logger DB\n", argv[0]);
  return 2;
}
