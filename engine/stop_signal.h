// SIGINT / SIGTERM (Ctrl-C, a cluster's pre-emption notice) ask the training loop to stop: the
// handler only sets a flag, which the loop checks between steps to write a checkpoint and exit.
// A second signal ends the process at once (the default action), for a user who means it.
#pragma once

namespace lpl {

void install_stop_handlers();   // SIGINT and SIGTERM
bool stop_requested();          // a signal arrived since install (or since reset)
int stop_signal();              // which one (0 when none)
const char* stop_signal_name(); // "SIGINT" / "SIGTERM" / ""
void reset_stop_request();      // tests, and a loop that handled the request and goes on
void uninstall_stop_handlers(); // back to the default actions

}  // namespace lpl
