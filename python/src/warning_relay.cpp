#include "warning_relay.hpp"

#include <pthread.h>

#include <cstdio>
#include <new>

#include "core/fork.hpp"

namespace evlog::python {

namespace {

void write_stderr(std::string_view line, std::string_view note) noexcept {
  std::string text;
  try {
    text.reserve(line.size() + note.size() + 1);
    text.append(line).append(note).push_back('\n');
  } catch (...) {
    return;
  }
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace

struct WarningRelay::Channel {
  explicit Channel(std::uint64_t g) : generation(g) {}

  const std::uint64_t generation;
  std::mutex mu;
  std::condition_variable wake;      // lines to deliver, or stopping
  std::condition_variable progress;  // lines finished, or the thread ended
  std::vector<std::string> pending;  // guarded by mu, as is everything below
  std::uint64_t pushed = 0;          // lines queued for the thread, ever
  std::uint64_t finished = 0;        // of those, handed to the callable or to stderr
  bool stopping = false;
  bool thread_ended = false;
  std::thread thread;  // started by the first push()
  std::thread::id thread_id;
};

WarningRelay::WarningRelay(PyObject* callback)
    : callback_(callback), channel_(new Channel(detail::fork_generation())) {}

WarningRelay::~WarningRelay() {
  // Only reached once stop() joined the thread (the owner leaks a relay whose thread it could
  // not join). A channel left from before a fork() is leaked: its mutex may be locked.
  Channel* channel = channel_.load(std::memory_order_acquire);
  if (channel->generation == detail::fork_generation()) delete channel;
}

WarningRelay::Channel* WarningRelay::current() noexcept {
  Channel* channel = channel_.load(std::memory_order_acquire);
  const std::uint64_t generation = detail::fork_generation();
  if (channel->generation == generation) [[likely]] {
    return channel;
  }
  // In a child process after fork(): a fresh channel (invariant 3). Two threads of the child may
  // get here at once; the CAS picks one channel and the other is deleted unused.
  Channel* fresh = new (std::nothrow) Channel(generation);
  if (fresh == nullptr) return nullptr;
  if (channel_.compare_exchange_strong(channel, fresh, std::memory_order_acq_rel)) return fresh;
  delete fresh;
  return channel->generation == generation ? channel : nullptr;
}

void WarningRelay::push(std::string_view line) noexcept {
  Channel* channel = current();
  if (channel == nullptr) {
    write_stderr(line, "");
    return;
  }
  {
    std::lock_guard lock(channel->mu);
    if (!channel->stopping && channel->pending.size() < kMaxPending) {
      try {
        if (!channel->thread.joinable()) {
          channel->thread = std::thread([this, channel] { run(channel); });
          channel->thread_id = channel->thread.get_id();
        }
        channel->pending.emplace_back(line);
        ++channel->pushed;
        channel->wake.notify_one();
        return;
      } catch (...) {
        // No thread or no memory: the line goes to stderr below.
      }
    }
  }
  write_stderr(line, channel->stopping ? "" : " (on_warning has fallen behind)");
}

void WarningRelay::run(Channel* channel) {
  pthread_setname_np(pthread_self(), "evlog-warnings");
  for (;;) {
    std::vector<std::string> lines;
    {
      std::unique_lock lock(channel->mu);
      channel->wake.wait(lock, [&] { return !channel->pending.empty() || channel->stopping; });
      if (channel->pending.empty()) {
        channel->thread_ended = true;
        channel->progress.notify_all();
        return;
      }
      lines.swap(channel->pending);
    }
    deliver(lines);  // takes the GIL, with the mutex not held (invariant 1)
    {
      std::lock_guard lock(channel->mu);
      channel->finished += lines.size();
    }
    channel->progress.notify_all();
  }
}

void WarningRelay::deliver(std::vector<std::string>& lines) {
  // A thread that asks for the GIL while the interpreter finalizes is ended by it; the lines go
  // to stderr instead (the binding shuts its loggers down before that, at exit).
  if (_Py_IsFinalizing()) {
    for (const std::string& line : lines) write_stderr(line, "");
    return;
  }
  const PyGILState_STATE gil = PyGILState_Ensure();
  for (const std::string& line : lines) {
    if (callback_ == nullptr) {
      write_stderr(line, "");
      continue;
    }
    PyObject* text =
        PyUnicode_DecodeUTF8(line.data(), static_cast<Py_ssize_t>(line.size()), "replace");
    PyObject* answer = text != nullptr ? PyObject_CallOneArg(callback_, text) : nullptr;
    if (answer == nullptr) {
      // "An exception it raises is reported on stderr and stops nothing": sys.unraisablehook,
      // which prints the traceback, as CPython does for errors in callbacks it cannot propagate.
      PyErr_WriteUnraisable(callback_);
    }
    Py_XDECREF(answer);
    Py_XDECREF(text);
  }
  PyGILState_Release(gil);
}

bool WarningRelay::drain(Clock::time_point deadline) {
  Channel* channel = current();
  if (channel == nullptr) return true;
  if (channel->thread_id == std::this_thread::get_id()) return false;  // a callable shutting down
  std::vector<std::string> late;
  bool all = false;
  Py_BEGIN_ALLOW_THREADS;  // the relay's thread needs the GIL to deliver what we wait for
  {
    std::unique_lock lock(channel->mu);
    const std::uint64_t target = channel->pushed;
    all = channel->progress.wait_until(lock, deadline, [&] { return channel->finished >= target; });
    if (!all) {
      late.swap(channel->pending);
      channel->finished += late.size();
    }
  }
  Py_END_ALLOW_THREADS;
  for (const std::string& line : late) write_stderr(line, " (on_warning did not take it in time)");
  return all;
}

bool WarningRelay::stop(Clock::time_point deadline) {
  if (gave_up_) return false;  // the callable did not return before an earlier deadline
  drain(deadline);
  Channel* channel = current();
  if (channel == nullptr) return true;
  if (channel->thread_id == std::this_thread::get_id()) return false;
  bool ended = false;
  Py_BEGIN_ALLOW_THREADS;  // the thread may be delivering a last batch, which needs the GIL
  {
    std::unique_lock lock(channel->mu);
    channel->stopping = true;
    channel->wake.notify_one();
    ended = !channel->thread.joinable() ||
            channel->progress.wait_until(lock, deadline, [&] { return channel->thread_ended; });
  }
  if (ended && channel->thread.joinable()) channel->thread.join();
  Py_END_ALLOW_THREADS;
  gave_up_ = !ended;
  return ended;
}

void WarningRelay::release_callback() noexcept {
  Py_CLEAR(callback_);
}

void release_relay(std::shared_ptr<WarningRelay>& relay, WarningRelay::Clock::time_point deadline) {
  if (!relay) return;
  if (relay->stop(deadline)) {
    relay->release_callback();
  } else {
    // Never freed, never waited for without bound.
    new std::shared_ptr<WarningRelay>(std::move(relay));
  }
  relay.reset();
}

}  // namespace evlog::python
