#include "core/clock.hpp"

#include <chrono>

namespace evlog::detail {

std::int64_t now_unix_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

void put_digits(char* out, std::int64_t value, int width) noexcept {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

}  // namespace

void format_created_at(std::int64_t unix_ns, char* out) noexcept {
  using namespace std::chrono;
  const sys_time<microseconds> t{duration_cast<microseconds>(nanoseconds{unix_ns})};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{floor<microseconds>(t - day)};
  put_digits(out, static_cast<int>(ymd.year()), 4);
  out[4] = '-';
  put_digits(out + 5, static_cast<unsigned>(ymd.month()), 2);
  out[7] = '-';
  put_digits(out + 8, static_cast<unsigned>(ymd.day()), 2);
  out[10] = 'T';
  put_digits(out + 11, hms.hours().count(), 2);
  out[13] = ':';
  put_digits(out + 14, hms.minutes().count(), 2);
  out[16] = ':';
  put_digits(out + 17, hms.seconds().count(), 2);
  out[19] = '.';
  put_digits(out + 20, hms.subseconds().count(), 6);
  out[26] = 'Z';
}

}  // namespace evlog::detail
