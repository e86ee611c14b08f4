#include "models/spiking/options.h"

#include <climits>
#include <cmath>
#include <cstdlib>

#include "engine/common.h"

namespace lpl::spiking {

void Options::add(const std::string& name, const std::string& default_value, const std::string& help) {
  order_.push_back(name);
  opts_[name] = Opt{default_value, help, false, false, {}};
}

void Options::add_switch(const std::string& name, const std::string& help) {
  order_.push_back(name);
  opts_[name] = Opt{"", help, true, false, {}};
}

bool Options::parse(int argc, char** argv) {
  for (int a = 1; a < argc; ++a) {
    std::string arg = argv[a];
    if (arg == "--help" || arg == "-h") return false;
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) fail(strf("unexpected argument '%s' (options are --name value)", arg.c_str()));
    std::string name = arg.substr(2), value;
    bool inline_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    std::string match;
    if (opts_.count(name)) {
      match = name;
    } else {
      std::vector<std::string> cands;
      for (const auto& [k, o] : opts_)
        if (k.rfind(name, 0) == 0) cands.push_back(k);
      if (cands.empty()) fail(strf("unknown option '--%s' (see --help)", name.c_str()));
      if (cands.size() > 1) {
        std::string list;
        for (const auto& c : cands) list += " --" + c;
        fail(strf("ambiguous option '--%s': could be%s", name.c_str(), list.c_str()));
      }
      match = cands[0];
    }
    Opt& o = opts_[match];
    if (o.given) fail(strf("option '--%s' given more than once", match.c_str()));
    o.given = true;
    if (o.is_switch) {
      if (inline_value) fail(strf("option '--%s' takes no value", match.c_str()));
      continue;
    }
    if (!inline_value) {
      if (a + 1 >= argc) fail(strf("option '--%s' needs a value", match.c_str()));
      value = argv[++a];
    }
    o.value = value;
  }
  return true;
}

std::string Options::help(const std::string& program) const {
  std::string out = "Usage: " + program + " [--option value ...]\nOptions:\n";
  for (const auto& name : order_) {
    const Opt& o = opts_.at(name);
    std::string left = "  --" + name + (o.is_switch ? "" : " arg (=" + o.def + ")");
    if (left.size() < 34) left.resize(34, ' ');
    out += left + " " + o.help + "\n";
  }
  return out;
}

const Options::Opt& Options::get(const std::string& name) const {
  auto it = opts_.find(name);
  if (it == opts_.end()) fail(strf("internal: option '%s' not declared", name.c_str()));
  return it->second;
}

bool Options::given(const std::string& name) const { return get(name).given; }

std::string Options::str(const std::string& name) const {
  const Opt& o = get(name);
  return o.given ? o.value : o.def;
}

double Options::num(const std::string& name) const {
  const std::string s = str(name);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    fail(strf("option '--%s' needs a finite number, got '%s'", name.c_str(), s.c_str()));
  return v;
}

long long Options::integer(const std::string& name) const {
  const double v = num(name);
  if (v != std::floor(v) || std::fabs(v) > 9e15)
    fail(strf("option '--%s' needs an integer, got '%s'", name.c_str(), str(name).c_str()));
  return static_cast<long long>(v);
}

}  // namespace lpl::spiking

namespace lpl::spiking {

int Options::int32(const std::string& name) const {
  const long long v = integer(name);
  if (v < INT_MIN || v > INT_MAX)
    fail(strf("option '--%s' needs an integer in %d..%d, got '%s'", name.c_str(), INT_MIN, INT_MAX, str(name).c_str()));
  return static_cast<int>(v);
}

}  // namespace lpl::spiking
