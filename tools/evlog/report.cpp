// tools/evlog/report.cpp — formatting and reporting helpers; see report.hpp.
#include "report.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace evlog::cli {

double percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1]);
}

LatencySummary summarize(const std::vector<std::int64_t>& sorted) {
  return {sorted.size(),
          percentile(sorted, 0.5),
          percentile(sorted, 0.9),
          percentile(sorted, 0.99),
          percentile(sorted, 0.999),
          percentile(sorted, 1.0)};
}

nlohmann::json to_json(const LatencySummary& s) {
  return {{"calls", s.calls}, {"p50_ns", s.p50},    {"p90_ns", s.p90},
          {"p99_ns", s.p99},  {"p99_9_ns", s.p999}, {"max_ns", s.max}};
}

std::string format_ns(double ns) {
  const char* unit = ns >= 1e9 ? "s" : ns >= 1e6 ? "ms" : ns >= 1e3 ? "µs" : "ns";
  const double value = ns >= 1e9 ? ns / 1e9 : ns >= 1e6 ? ns / 1e6 : ns >= 1e3 ? ns / 1e3 : ns;
  std::array<char, 32> text{};
  const int decimals = value < 10 ? 2 : (value < 100 ? 1 : 0);
  std::snprintf(text.data(), text.size(), "%.*f %s", decimals, value, unit);
  return text.data();
}

std::string format_count(double n) {
  const std::string digits = std::to_string(std::llabs(std::llround(n)));
  std::string out = n < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format_ratio(double numerator, double denominator) {
  if (denominator <= 0) return "n/a";
  const double ratio = numerator / denominator;
  std::array<char, 32> text{};
  std::snprintf(text.data(), text.size(),
                ratio < 10    ? "%.2f×"
                : ratio < 100 ? "%.1f×"
                              : "%.0f×",
                ratio);
  return text.data();
}

const char* verdict(bool met) {
  return met ? "met" : "MISSED";
}

ProgressBar::ProgressBar(std::string label, std::uint64_t total)
    : label_(std::move(label)),
      total_(std::max<std::uint64_t>(total, 1)),
      enabled_(::isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::advance(std::uint64_t units, const std::string& what) {
  done_ = std::min(total_, done_ + units);
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done_ / total_);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::fprintf(stderr, "\r\033[K%s [%s] %3d%% %s", label_.c_str(), bar.c_str(),
               static_cast<int>(100 * done_ / total_), what.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

void write_json(const std::string& path, const nlohmann::json& document) {
  std::ofstream out(path);
  out << document.dump(2) << '\n';
  out.close();
  if (!out) throw std::runtime_error(path + ": cannot write the JSON report");
}

}  // namespace evlog::cli
