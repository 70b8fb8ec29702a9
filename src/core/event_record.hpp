// EventRecord — one admitted event as it sits in a queue slot and in the writer's batch.
//
// log() stores the binary parts (time, random bits of the id) and the caller's strings; the writer
// formats the id and timestamp text. Strings live in `inline_` when type + user_type + metadata fit
// in kInlineBytes (no allocation), else in one heap block the record owns.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "core/payload_pool.hpp"
#include "evlog/logger.hpp"
#include "writer/commit_ticket.hpp"

namespace evlog::detail {

struct EventRecord {
  std::int64_t unix_ns = 0;  // when log() was called
  std::uint64_t random = 0;  // the random bits of the UUIDv7
  std::int64_t user_id = 0;
  std::shared_ptr<CommitTicket> ticket;  // set for committed delivery: the caller waits on it
  char* heap = nullptr;  // owned (a PayloadPool block); the strings when they do not fit inline
  std::uint32_t metadata_len = 0;
  std::uint8_t type_len = 0;
  std::uint8_t user_type_len = 0;
  bool has_user_id = false;
  char inline_[kInlineBytes];

  EventRecord() = default;
  EventRecord(const EventRecord&) = delete;
  EventRecord& operator=(const EventRecord&) = delete;
  EventRecord(EventRecord&& other) noexcept { take_from(other); }
  EventRecord& operator=(EventRecord&& other) noexcept {
    if (this != &other) {
      release();
      take_from(other);
    }
    return *this;
  }
  ~EventRecord() { release(); }

  std::size_t text_bytes() const noexcept {
    return std::size_t{type_len} + user_type_len + metadata_len;
  }
  // Bytes of the heap block (counted against Options::max_queue_bytes): its size class.
  std::size_t heap_bytes() const noexcept {
    return heap ? PayloadPool::block_bytes(text_bytes()) : 0;
  }

  const char* text() const noexcept { return heap ? heap : inline_; }
  std::string_view type() const noexcept { return {text(), type_len}; }
  std::string_view user_type() const noexcept { return {text() + type_len, user_type_len}; }
  std::string_view metadata() const noexcept {
    return {text() + type_len + user_type_len, metadata_len};
  }

  // Moves `other` into this (empty) record, copying only the inline bytes in use.
  void take_from(EventRecord& other) noexcept {
    unix_ns = other.unix_ns;
    random = other.random;
    user_id = other.user_id;
    ticket = std::move(other.ticket);
    heap = other.heap;
    other.heap = nullptr;
    metadata_len = other.metadata_len;
    type_len = other.type_len;
    user_type_len = other.user_type_len;
    has_user_id = other.has_user_id;
    if (!heap) std::memcpy(inline_, other.inline_, text_bytes());
  }

  // Frees the heap block and the ticket reference; the record becomes empty.
  void release() noexcept {
    PayloadPool::release(heap);
    heap = nullptr;
    ticket.reset();
  }
};

}  // namespace evlog::detail
