// Reading a weights file into an encoder (train_vgg11 --init_from, eval_linear's weights), refusing
// by name what would otherwise fail obscurely or be ignored silently: a directory, tensors the
// network does not have, and non-finite values (which would surface as a diverged loss).
#pragma once
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "models/encoder.h"

namespace lpl {

// Reads `path`; `what` names it in errors ("--init_from", "weights file").
SafetensorsFile read_weights_file(const std::string& path, const std::string& what);
// Copies the network's tensors from `f` after the checks; tensors whose name starts with one of
// `ignored_prefixes` may be present without being used (e.g. a training run's projectors).
void load_checked_weights(Encoder& net, const SafetensorsFile& f, const std::string& path, const std::string& what,
                          const std::vector<std::string>& ignored_prefixes = {});

}  // namespace lpl
