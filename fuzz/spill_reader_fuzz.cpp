// R11: libFuzzer target for the spill-file parser (what replay and `evlog inspect` run on files
// that may be torn, corrupt or not spill files at all).
//
// Besides "never crash, never leak, never loop" (ASan, UBSan, libFuzzer's timeout), it checks what
// the reader promises about its answer: corrupt spans are in file order, do not overlap, lie
// inside the file; every record decoded starts inside the file at an increasing offset with
// lengths the format allows; a torn tail is the last span and reaches the end of the file; records
// behind a damaged header come only from a file known or marked (by its magic) as a spill file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "spill/spill_format.hpp"
#include "spill/spill_reader.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_contents(std::string_view bytes, bool known_spill_file) {
  const std::size_t size = bytes.size();
  const evlog::detail::SpillContents contents = evlog::detail::parse_spill(bytes, known_spill_file);

  check(contents.records.size() == contents.offsets.size());
  // Records behind a damaged header only from a file with the spill magic, or one the caller
  // knows to be a spill file.
  const bool magic =
      size >= sizeof evlog::detail::kSpillMagic &&
      bytes.substr(0, sizeof evlog::detail::kSpillMagic) ==
          std::string_view(evlog::detail::kSpillMagic, sizeof evlog::detail::kSpillMagic);
  check(contents.header_ok || contents.records.empty() || magic || known_spill_file);
  check(contents.header_ok || !contents.corrupt.empty());
  std::uint64_t previous_end = 0;
  for (const evlog::detail::CorruptSpan& span : contents.corrupt) {
    check(span.offset >= previous_end);
    check(span.offset + span.length <= size);
    check(!span.reason.empty());
    previous_end = span.offset + span.length;
  }
  if (contents.torn_tail) {
    check(!contents.corrupt.empty());
    check(contents.corrupt.back().offset + contents.corrupt.back().length == size);
  }
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i < contents.records.size(); ++i) {
    const evlog::detail::EventRecord& r = contents.records[i];
    check(contents.offsets[i] < size);
    check(i == 0 || contents.offsets[i] > previous);
    previous = contents.offsets[i];
    check(r.type_len >= 1 && r.type_len <= 64 && r.user_type_len <= 64);
    check(contents.offsets[i] + evlog::detail::kRecordHeaderBytes +
              evlog::detail::kPayloadFixedBytes + r.text_bytes() <=
          size);
    // Touch every decoded byte, so ASan sees any read past the record's block.
    volatile char sink = 0;
    for (char c : r.type()) sink = static_cast<char>(sink ^ c);
    for (char c : r.user_type()) sink = static_cast<char>(sink ^ c);
    for (char c : r.metadata()) sink = static_cast<char>(sink ^ c);
    (void)sink;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_contents(bytes, false);  // what `evlog inspect` and another process read
  check_contents(bytes, true);   // what the process that wrote the file reads
  return 0;
}
