#include "engine/param.h"

#include <fmt/format.h>

namespace lpl {

std::string param_place(const Param& p) {
  switch (p.part) {
    case ParamPart::encoder: return p.layer >= 0 ? fmt::format("layer {}", p.layer + 1) : p.name;
    case ParamPart::projector: return fmt::format("layer {} projector", p.layer + 1);
    case ParamPart::head: return fmt::format("classifier head {}", p.layer);
  }
  return p.name;
}

}  // namespace lpl
