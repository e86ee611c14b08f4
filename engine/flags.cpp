#include "engine/flags.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "engine/common.h"

namespace lpl {

namespace {
std::string dashed(const std::string& flag) { return flag.rfind("--", 0) == 0 ? flag : "--" + flag; }
}  // namespace

int64_t parse_int_flag(const std::string& flag, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  LPL_CHECK(!v.empty() && end && *end == '\0' && errno == 0,
            fmt::format("{}: expected an integer, got '{}'", dashed(flag), v));
  return x;
}

double parse_float_flag(const std::string& flag, const std::string& v) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  LPL_CHECK(!v.empty() && end && *end == '\0' && errno == 0 && std::isfinite(x),
            fmt::format("{}: expected a finite number, got '{}'", dashed(flag), v));
  return x;
}

int64_t max_threads_flag() {
  const int64_t hw = std::thread::hardware_concurrency();
  return hw > 0 ? std::min<int64_t>(4 * hw, 1024) : 1024;
}

void check_threads_flag(const std::string& flag, int64_t v) {
  const std::string f = dashed(flag);
  LPL_CHECK(v >= 0, fmt::format("{} must be >= 0 (0: all cores), got {}", f, v));
  const int64_t hw = std::thread::hardware_concurrency();
  LPL_CHECK(v <= max_threads_flag(),
            fmt::format("{} {} is too many: at most {} (4 x the {} hardware threads of this machine, at most 1024)", f,
                        v, max_threads_flag(), hw));
}

void check_num_workers_flag(const std::string& flag, int64_t v) {
  const std::string f = dashed(flag);
  LPL_CHECK(v >= 0, fmt::format("{} must be >= 0, got {}", f, v));
  LPL_CHECK(v <= kMaxNumWorkers, fmt::format("{} {} is too many: at most {} loader threads", f, v, kMaxNumWorkers));
}

void FlagsSeen::add(const std::string& flag) {
  const std::string f = dashed(flag);
  LPL_CHECK(seen_.insert(f).second, fmt::format("flag {} given twice", f));
}

FlagLoop::FlagLoop(int argc, char** argv, std::string usage, std::set<std::string> repeatable)
    : argc_(argc), argv_(argv), usage_(std::move(usage)), repeatable_(std::move(repeatable)) {}

bool FlagLoop::next() {
  if (++i_ >= argc_) return false;
  flag_ = argv_[i_];
  if (flag_ == "--help" || flag_ == "-h") {
    std::fputs(usage_.c_str(), stdout);
    if (usage_.empty() || usage_.back() != '\n') std::fputc('\n', stdout);
    std::exit(0);
  }
  if (!repeatable_.count(flag_)) seen_.add(flag_);
  return true;
}

std::string FlagLoop::value() {
  LPL_CHECK(i_ + 1 < argc_, fmt::format("{} needs a value\n{}", flag_, usage_));
  return argv_[++i_];
}

}  // namespace lpl
