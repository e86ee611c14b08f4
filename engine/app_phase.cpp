#include "engine/app_phase.h"

#include <new>
#include <stdexcept>

#include <fmt/format.h>

namespace lpl {

namespace {
std::string& phase() {
  static std::string p = "starting";
  return p;
}
}  // namespace

void set_app_phase(const std::string& what) { phase() = what; }
const std::string& app_phase() { return phase(); }

std::string describe_failure(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e))
    return fmt::format("out of memory ({}) while {}: an input or a size flag asks for more memory than this machine has",
                       e.what(), phase());
  if (dynamic_cast<const std::length_error*>(&e))
    return fmt::format("a size too large to allocate ({}) while {}: check the inputs and size flags of this step",
                       e.what(), phase());
  return e.what();
}

}  // namespace lpl
