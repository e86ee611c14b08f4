// Command-line options in the style of the original programs (Boost program_options): "--name value"
// or "--name=value", unambiguous prefixes accepted (--prime for --primetime), switches without value.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace lpl::spiking {

class Options {
 public:
  // A value option with its default (printed by --help) and description.
  void add(const std::string& name, const std::string& default_value, const std::string& help);
  void add_switch(const std::string& name, const std::string& help);
  // Parses argv; returns false when --help was given (the caller prints help() and exits 1).
  // Unknown/ambiguous names, missing values and repeated options throw lpl::Error.
  bool parse(int argc, char** argv);
  std::string help(const std::string& program) const;

  bool given(const std::string& name) const;
  bool flag(const std::string& name) const { return given(name); }
  std::string str(const std::string& name) const;
  double num(const std::string& name) const;  // finite number, else an error naming the option
  long long integer(const std::string& name) const;
  int int32(const std::string& name) const;  // integer() within int's range (no silent truncation)

 private:
  struct Opt {
    std::string def, help;
    bool is_switch = false, given = false;
    std::string value;
  };
  const Opt& get(const std::string& name) const;
  std::vector<std::string> order_;
  std::map<std::string, Opt> opts_;
};

}  // namespace lpl::spiking
