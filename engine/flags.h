// The command-line checks every app shares: numbers that name the flag and the value when they do
// not parse, bounds on thread counts (far beyond the machine, libgomp crashes at --threads 100000,
// thread creation aborts at --num_workers 50000, and --threads 5000 crawls), and flags given twice
// (which would otherwise silently take the last value).
#pragma once
#include <cstdint>
#include <set>
#include <string>

namespace lpl {

// "--flag: expected an integer, got 'v'" unless v is a whole integer in int64 range.
int64_t parse_int_flag(const std::string& flag, const std::string& v);
// "--flag: expected a finite number, got 'v'" unless v is a whole finite number.
double parse_float_flag(const std::string& flag, const std::string& v);

// The most threads a --threads flag may ask for: 4 x this machine's hardware threads (1024 when
// unknown), never more than 1024.
int64_t max_threads_flag();
constexpr int64_t kMaxNumWorkers = 256;  // loader threads (--num_workers)
// Refuse a negative value, or one above the bound, naming the flag, the value and the bound.
void check_threads_flag(const std::string& flag, int64_t v);
void check_num_workers_flag(const std::string& flag, int64_t v);

// Remembers the flags given so far; the second of a name is refused: "flag --x given twice".
class FlagsSeen {
 public:
  void add(const std::string& flag);  // flag with or without its leading dashes

 private:
  std::set<std::string> seen_;
};

// The flag loop of the small apps:
//   for (FlagLoop f(argc, argv, kUsage); f.next();) { if (f.flag() == "--out") a.out = f.value(); ... }
// next() moves to the next argument: --help / -h prints the usage and exits 0, and a flag given twice
// is refused (FlagsSeen) unless it is one of `repeatable`. value() takes the argument after the flag,
// or fails with "<flag> needs a value" and the usage.
class FlagLoop {
 public:
  FlagLoop(int argc, char** argv, std::string usage, std::set<std::string> repeatable = {});
  bool next();
  const std::string& flag() const { return flag_; }
  std::string value();

 private:
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string usage_, flag_;
  std::set<std::string> repeatable_;
  FlagsSeen seen_;
};

}  // namespace lpl
