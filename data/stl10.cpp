// stl10: official binary version (reader in progress).
#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {
DatasetSplits load_stl10(const DataOptions&) { fail("--dataset stl10: not implemented yet"); }
}  // namespace lpl::data::detail
