// Stop signals (flag, then a second signal terminates) and the divergence guard with NaN injection.
#include <csignal>
#include <cstdlib>
#include <limits>

#include <sys/wait.h>
#include <unistd.h>

#include "engine/divergence.h"
#include "engine/stop_signal.h"
#include "test_util.h"

using namespace lpl;

TEST_CASE("SIGTERM and SIGINT set the stop flag instead of killing the process") {
  install_stop_handlers();
  CHECK(!stop_requested());
  CHECK(stop_signal() == 0);
  std::raise(SIGTERM);
  CHECK(stop_requested());
  CHECK(stop_signal() == SIGTERM);
  CHECK(std::string(stop_signal_name()) == "SIGTERM");
  reset_stop_request();
  std::raise(SIGINT);
  CHECK(stop_signal() == SIGINT);
  CHECK(std::string(stop_signal_name()) == "SIGINT");
  reset_stop_request();
  uninstall_stop_handlers();
}

TEST_CASE("a second signal terminates at once") {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    install_stop_handlers();
    std::raise(SIGINT);
    if (!stop_requested()) ::_exit(3);
    std::raise(SIGINT);  // must not return
    ::_exit(4);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
}

static void divergence_on(Device d) {
  DivergenceGuard g;
  g.at(4, 123);
  CHECK_NOTHROW(g.check_loss("layer 2", "pull loss", 1.5));
  CHECK_THROWS_WITH_AS(g.check_loss("layer 2", "push loss", std::numeric_limits<double>::quiet_NaN()),
                       doctest::Contains("training diverged at epoch 4, step 123: layer 2 push loss is nan"),
                       DivergenceError);
  CHECK_THROWS_WITH_AS(g.check_loss("final layer", "decorr loss", -std::numeric_limits<double>::infinity()),
                       doctest::Contains("final layer decorr loss is -inf"), DivergenceError);
  CHECK_THROWS_WITH_AS(g.check_loss("layer 1", "pull loss", std::nan("")),
                       doctest::Contains("no checkpoint had been written yet"), DivergenceError);

  Tensor w = test::random_tensor({8, 3, 3, 3}, 3, d);
  CHECK_NOTHROW(g.check_tensor("layer 1", "weight", "network.encoder.blocks.0.module.0.weight", w));
  std::vector<float> v = w.to_vector();
  v[100] = std::numeric_limits<float>::infinity();
  v[150] = std::numeric_limits<float>::quiet_NaN();
  Tensor bad = Tensor::from_vector(v, w.shape(), d);
  g.set_last_checkpoint("run/checkpoints/epoch=3-step=100.safetensors");
  CHECK_THROWS_WITH_AS(
      g.check_tensor("layer 1", "weight gradient", "network.encoder.blocks.0.module.0.weight", bad),
      doctest::Contains("layer 1 weight gradient ('network.encoder.blocks.0.module.0.weight', shape [8, 3, 3, 3]) has "
                        "2 non-finite value(s) of 216 (first: inf at index 100)"),
      DivergenceError);
  CHECK_THROWS_WITH_AS(g.check_tensor("layer 1", "weight", "w", bad),
                       doctest::Contains("the last good checkpoint 'run/checkpoints/epoch=3-step=100.safetensors' is untouched"),
                       DivergenceError);
}
LPL_TEST_ON_DEVICES("the divergence guard names epoch, step, layer, term and the tensor", divergence_on)

static void injection_on(Device d) {
  ::setenv("LPL_INJECT_NAN", "3@17", 1);
  NanInjection n = NanInjection::from_env();
  CHECK(n.layer == 3);
  CHECK(n.step == 17);
  Tensor a = test::random_tensor({2, 4, 3, 3}, 5, d);
  std::vector<float> before = a.to_vector();
  n.inject(2, 17, a);
  n.inject(3, 16, a);
  CHECK(a.to_vector() == before);
  n.inject(3, 17, a);
  std::vector<float> after = a.to_vector();
  CHECK(std::isnan(after[0]));
  CHECK(std::vector<float>(after.begin() + 1, after.end()) == std::vector<float>(before.begin() + 1, before.end()));
  DivergenceGuard g;
  CHECK_THROWS_AS(g.check_tensor("layer 3", "activations", "block 3 output", a), DivergenceError);

  ::setenv("LPL_INJECT_NAN", "layer3", 1);
  CHECK_THROWS_WITH_AS(NanInjection::from_env(), doctest::Contains("is not of the form <layer>@<step>"), Error);
  ::setenv("LPL_INJECT_NAN", "0@5", 1);
  CHECK_THROWS_AS(NanInjection::from_env(), Error);
  ::unsetenv("LPL_INJECT_NAN");
  CHECK(NanInjection::from_env().layer == 0);
}
LPL_TEST_ON_DEVICES("LPL_INJECT_NAN writes one NaN into the named layer at the named step", injection_on)
