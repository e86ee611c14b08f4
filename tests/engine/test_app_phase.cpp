// describe_failure: the standard exceptions that name nothing (std::bad_alloc, std::length_error
// from a vector sized by an input) are reported with what the app was doing.
#include <new>
#include <stdexcept>

#include "engine/app_phase.h"
#include "test_util.h"

using namespace lpl;

TEST_CASE("bad_alloc and length_error name the phase; other exceptions keep their message") {
  set_app_phase("online evaluation after epoch 3");
  CHECK(describe_failure(std::bad_alloc()) ==
        "out of memory (std::bad_alloc) while online evaluation after epoch 3: an input or a size flag asks for more "
        "memory than this machine has");
  CHECK(describe_failure(std::length_error("vector::_M_default_append")) ==
        "a size too large to allocate (vector::_M_default_append) while online evaluation after epoch 3: check the "
        "inputs and size flags of this step");
  CHECK(describe_failure(std::runtime_error("named")) == "named");
}
