// cifar10: official binary version (reader in progress).
#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {
DatasetSplits load_cifar10(const DataOptions&) { fail("--dataset cifar10: not implemented yet"); }
}  // namespace lpl::data::detail
