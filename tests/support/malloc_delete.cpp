// The global operator delete for binaries whose replaced operator new takes memory from malloc
// (counting_new.cpp, failing_alloc.cpp): linked beside either of them.
#include <cstddef>
#include <cstdlib>
#include <new>

void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
