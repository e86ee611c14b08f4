#include "engine/common.h"

namespace lpl {
void fail(const std::string& msg) { throw Error(msg); }
}  // namespace lpl
