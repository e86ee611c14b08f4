#include "engine/stop_signal.h"

#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "engine/common.h"

namespace lpl {

namespace {
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_signal != 0) {
    // Second request: the default action (terminate) right now.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_signal = sig;
}

void set_handler(int sig, void (*fn)(int)) {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking reads/writes in flight continue after the handler
  if (sigaction(sig, &sa, nullptr) != 0) fail(fmt::format("cannot install the handler for signal {}", sig));
}
}  // namespace

void install_stop_handlers() {
  g_signal = 0;
  set_handler(SIGINT, on_stop_signal);
  set_handler(SIGTERM, on_stop_signal);
}
void uninstall_stop_handlers() {
  set_handler(SIGINT, SIG_DFL);
  set_handler(SIGTERM, SIG_DFL);
}
bool stop_requested() { return g_signal != 0; }
int stop_signal() { return g_signal; }
const char* stop_signal_name() {
  switch (g_signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    default: return "";
  }
}
void reset_stop_request() { g_signal = 0; }

}  // namespace lpl
