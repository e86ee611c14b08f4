// The per-epoch progress bar of train_vgg11 (step, loss terms, images/s, ETA) on stderr: redrawn
// in place on a terminal, one line per tenth of the epoch otherwise (logs stay readable).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lpl {

class ProgressBar {
 public:
  // quiet: draws nothing (the ranks other than 0 of a data-parallel job).
  ProgressBar(int64_t epoch, int64_t max_epochs, int64_t steps, bool quiet = false);
  // After step `done` (1-based) of this epoch; images counts both views.
  void update(int64_t done, double loss, double pull, double push, double decorr, double images_per_s);
  void finish();

 private:
  int64_t epoch_, max_epochs_, steps_;
  bool tty_, quiet_;
  int64_t last_line_ = -1;
  std::chrono::steady_clock::time_point t0_;
};

std::string format_duration(double seconds);

}  // namespace lpl
